/**
 * The broker-version matrix's conformance suite: one Apache Kafka broker of the version named
 * by MATRIX_KAFKA_VERSION (default: the pinned one) in MATRIX_KAFKA_MODE (default: KRaft where
 * the version has it), started here from its Maven jars and stopped at the end.
 *
 * Run by test/matrix/run.mjs (`npm run test:brokers`) once per version, through the vitest
 * project "brokers" (no global setup). The file also writes what the table needs beyond pass and
 * fail (start-up error, negotiated versions, skip reasons) to MATRIX_INFO_FILE.
 *
 * Every record is produced by our real Producer and read back by Apache Kafka's own Java
 * consumer (test/broker/java-reader.ts), then compared byte for byte.
 */
import { writeFileSync } from "node:fs";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/client/logger.js";
import { murmur2, toPositive } from "../../src/producer/hash.js";
import { Producer } from "../../src/producer/producer.js";
import type { DeliveryReport, ProducerRecord } from "../../src/producer/record.js";
import { ApiKey } from "../../src/protocol/api-keys.js";
import {
  decodeApiVersionsResponse,
  encodeApiVersionsRequest,
} from "../../src/protocol/api-versions.js";
import { PRODUCE_MAX_NAME_VERSION, PRODUCE_VERSIONS } from "../../src/protocol/produce.js";
import type { RecordData } from "../../src/protocol/record-batch.js";
import {
  type BrokerVersions,
  CLIENT_API_VERSIONS,
  pickVersion,
  type VersionRange,
} from "../../src/protocol/versions.js";
import { type JavaRecord, javaConsume, text } from "../broker/java-reader.js";
import {
  compareVersions,
  defaultMode,
  type KafkaCluster,
  type KafkaMode,
  pinnedKafkaVersion,
  startCluster,
} from "../broker/kafka.js";
import { RawClient } from "../helpers/raw-client.js";
import { JAVA_MURMUR2_VECTORS } from "../helpers/records.js";
import { brokerVersions, uniqueTopic, waitForTopic as waitForTopicAt } from "../helpers/topics.js";

const version = process.env.MATRIX_KAFKA_VERSION || pinnedKafkaVersion();
const mode = (process.env.MATRIX_KAFKA_MODE || defaultMode(version)) as KafkaMode;
const infoFile = process.env.MATRIX_INFO_FILE;
const PARTITIONS = 6;
const zstdAvailable =
  typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === "function";

/** What run.mjs reads besides vitest's JSON report. */
interface MatrixInfo {
  version: string;
  mode: KafkaMode;
  node: string;
  startMs?: number;
  startError?: string;
  /** Our picks against this broker, and the broker's own ranges. */
  negotiated?: Record<"ApiVersions" | "Metadata" | "Produce", { picked: number } & VersionRange>;
  /** Test title -> why it was skipped. */
  skipped: Record<string, string>;
  /**
   * The transaction protocol: the cluster's finalized transaction.version (null: none
   * finalized, as in ZooKeeper mode), and the one our producer used (1, or 2: KIP-890).
   */
  transactions?: { finalized: number | null; used?: 1 | 2 };
}
const info: MatrixInfo = { version, mode, node: process.version, skipped: {} };
const saveInfo = (): void => {
  if (infoFile) writeFileSync(infoFile, `${JSON.stringify(info, null, 2)}\n`);
};

let cluster: KafkaCluster | undefined;
let client: RawClient;
let versions: BrokerVersions;
let bootstrap = "";

/** The Produce versions the producer sends with (topic names, so v13's topic ids not yet). */
const PRODUCER_PRODUCE_RANGE: VersionRange = {
  min: PRODUCE_VERSIONS.min,
  max: PRODUCE_MAX_NAME_VERSION,
};

beforeAll(async () => {
  saveInfo();
  const t0 = Date.now();
  try {
    cluster = await startCluster({
      version,
      mode,
      brokerProps: { "num.partitions": String(PARTITIONS) },
      startTimeoutMs: 120_000,
    });
  } catch (err) {
    info.startError = err instanceof Error ? err.message : String(err);
    saveInfo();
    throw err;
  }
  info.startMs = Date.now() - t0;
  bootstrap = cluster.bootstrap;
  console.log(
    `Kafka ${cluster.version} (${cluster.mode}) at ${bootstrap}, started in ${info.startMs} ms`,
  );
  client = await RawClient.connect(bootstrap.split(",")[0]!);
  versions = await brokerVersions(client);
  const range = (key: number) => versions.get(key) ?? { min: -1, max: -1 };
  const pick = (key: number, ours?: VersionRange) => {
    try {
      return pickVersion(key, versions, ours);
    } catch {
      return -1;
    }
  };
  info.negotiated = {
    ApiVersions: { picked: pick(ApiKey.ApiVersions), ...range(ApiKey.ApiVersions) },
    Metadata: { picked: pick(ApiKey.Metadata), ...range(ApiKey.Metadata) },
    Produce: { picked: pick(ApiKey.Produce, PRODUCER_PRODUCE_RANGE), ...range(ApiKey.Produce) },
  };
  saveInfo();
}, 300_000);

afterAll(async () => {
  client?.close();
  await cluster?.stop();
  saveInfo();
}, 60_000);

// ---------------------------------------------------------------------------------------------
// Helpers

function bytes(d: RecordData | null | undefined): Buffer | null {
  if (d === null || d === undefined) return null;
  return typeof d === "string" ? Buffer.from(d, "utf8") : Buffer.from(d);
}

/** Asks for `topic` at our Metadata version (auto-creating it) until every partition leads. */
function waitForTopic(topic: string) {
  return waitForTopicAt(client, topic, 30_000, pickVersion(ApiKey.Metadata, versions));
}

/**
 * Sends `records` through a real Producer, awaits every delivery report, reads them all back
 * with the Java consumer and checks each one byte for byte (key, value, headers, timestamp),
 * matched by partition and offset. Returns the reports and the Java records, in send order.
 */
async function roundTrip(
  topic: string,
  records: ProducerRecord[],
  config: Record<string, string | number> = {},
): Promise<{ reports: DeliveryReport[]; back: JavaRecord[]; bytesSent: number }> {
  const producer = new Producer({ "bootstrap.servers": bootstrap, "linger.ms": 10, ...config });
  let reports: DeliveryReport[];
  let bytesSent: number;
  try {
    reports = await Promise.all(records.map((r) => producer.send(r)));
    bytesSent = producer.stats().bytesSent;
  } finally {
    await producer.close(5_000);
  }
  const read = await javaConsume(bootstrap, topic, { count: records.length, timeoutMs: 30_000 });
  expect(read).toHaveLength(records.length);
  const byPlace = new Map(read.map((r) => [`${r.partition}:${r.offset}`, r]));
  const back = reports.map((rep, i) => {
    const got = byPlace.get(`${rep.partition}:${rep.offset}`);
    expect(got, `record ${i} at ${rep.partition}:${rep.offset} read back`).toBeDefined();
    const want = records[i]!;
    expect(got!.key, `record ${i} key`).toEqual(bytes(want.key));
    expect(got!.value, `record ${i} value`).toEqual(bytes(want.value));
    expect(got!.headers, `record ${i} headers`).toEqual(
      (want.headers ?? []).map((h) => ({ key: h.key, value: bytes(h.value) })),
    );
    if (want.timestamp !== undefined) expect(got!.timestamp, `record ${i} ts`).toBe(want.timestamp);
    expect(got!.timestampType).toBe("CreateTime");
    return got!;
  });
  return { reports, back, bytesSent };
}

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

/** A mix: null/empty/text/binary keys and values, Unicode, one large compressible value. */
function mixedRecords(topic: string, n = 300): ProducerRecord[] {
  const out: ProducerRecord[] = [];
  for (let i = 0; i < n; i++) {
    const key =
      i % 7 === 0
        ? null
        : i % 11 === 0
          ? Buffer.alloc(0)
          : i % 5 === 0
            ? Buffer.from([i, 0, 255])
            : `k${i % 17}`;
    const value =
      i % 13 === 0
        ? null
        : i % 9 === 0
          ? Buffer.alloc(0)
          : `{"seq":${i},"event":"E_DIALOG_START","ip":"10.0.${i % 256}.1","text":"значение ✓ 🎉"}`;
    out.push({ topic, key, value, timestamp: T0 + i });
  }
  const big = Buffer.from("0123456789abcdef".repeat(8 * 1024)); // 128 KiB, compressible
  out.push({ topic, key: "big", value: big, timestamp: T0 + n });
  const binary = Buffer.alloc(4096);
  for (let i = 0; i < binary.length; i++) binary[i] = (i * 131 + 7) & 0xff;
  out.push({ topic, key: binary.subarray(0, 64), value: binary, timestamp: T0 + n + 1 });
  return out;
}

const COMMITTED = { "isolation.level": "read_committed" };
const UNCOMMITTED = { "isolation.level": "read_uncommitted" };

/**
 * The protocol expected of this version: Transactions v2 (KIP-890) on 4.x, whose new clusters
 * finalize transaction.version 2; v1 before (3.9 and older finalize no transaction.version 2).
 */
const EXPECTED_TXN_PROTOCOL: 1 | 2 = compareVersions(version, "4.0.0") >= 0 ? 2 : 1;

/** The cluster's finalized transaction.version (ApiVersions v3); null when it finalizes none. */
async function finalizedTransactionVersion(): Promise<number | null> {
  const res = await client.request(
    ApiKey.ApiVersions,
    3,
    (w) =>
      encodeApiVersionsRequest(w, 3, {
        clientSoftwareName: "event-kafka-matrix",
        clientSoftwareVersion: "0.1.0",
      }),
    (r) => decodeApiVersionsResponse(r, 3),
  );
  const f = res.finalizedFeatures.find((x) => x.name === "transaction.version");
  return f === undefined ? null : f.maxVersionLevel;
}

/** A transactional producer, initialized; the caller closes it. */
async function transactionalProducer(): Promise<Producer> {
  const producer = new Producer(
    {
      "bootstrap.servers": bootstrap,
      "transactional.id": uniqueTopic("matrix-txn"),
      "linger.ms": 5,
    },
    { logger: silentLogger },
  );
  try {
    await producer.initTransactions(60_000);
  } catch (err) {
    await producer.close(5_000);
    throw err;
  }
  return producer;
}

/** Sends `values` alternately to partitions 0 and 1 of `topic`; resolves once all are acked. */
function sendOver2(producer: Producer, topic: string, values: string[]): Promise<unknown> {
  return Promise.all(values.map((value, i) => producer.send({ topic, partition: i % 2, value })));
}

/** `topic`'s values per partition in offset order, as "<partition>:<value>". */
async function readValues(topic: string, config: Record<string, string>): Promise<string[]> {
  const records = await javaConsume(bootstrap, topic, { config, timeoutMs: 30_000, settled: true });
  return records
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset)
    .map((r) => `${r.partition}:${text(r.value)}`);
}

/** `values` as sendOver2 places them, per partition in order. */
const placed = (values: string[]): string[] => [
  ...values.filter((_, i) => i % 2 === 0).map((v) => `0:${v}`),
  ...values.filter((_, i) => i % 2 === 1).map((v) => `1:${v}`),
];

// ---------------------------------------------------------------------------------------------

describe(`Kafka ${version} (${mode})`, () => {
  it("ApiVersions negotiation", async () => {
    const n = info.negotiated!;
    for (const [name, key] of [
      ["ApiVersions", ApiKey.ApiVersions],
      ["Metadata", ApiKey.Metadata],
      ["Produce", ApiKey.Produce],
    ] as const) {
      const ours = name === "Produce" ? PRODUCER_PRODUCE_RANGE : CLIENT_API_VERSIONS[key]!;
      const got = n[name];
      expect(got.min, `${name}: the broker lists it`).toBeGreaterThanOrEqual(0);
      expect(got.picked, `${name}: a version in common`).toBeGreaterThanOrEqual(ours.min);
      expect(got.picked).toBe(Math.min(ours.max, got.max));
    }
    // The broker answers ApiVersions at the version we pick, without an error.
    const v = n.ApiVersions.picked;
    const res = await client.request(
      ApiKey.ApiVersions,
      v,
      (w) =>
        encodeApiVersionsRequest(w, v, {
          clientSoftwareName: "event-kafka-matrix",
          clientSoftwareVersion: "0.1.0",
        }),
      (r) => decodeApiVersionsResponse(r, v),
    );
    expect(res.errorCode).toBe(0);
    expect(res.apiKeys.length).toBeGreaterThan(10);
  });

  it("Metadata: brokers, topic with partitions, leader", async () => {
    const topic = uniqueTopic("matrix-md");
    const { response, topic: t } = await waitForTopic(topic);
    const port = Number(bootstrap.split(",")[0]!.split(":")[1]);
    expect(response.brokers).toEqual([{ nodeId: 1, host: "127.0.0.1", port, rack: null }]);
    expect(response.controllerId).toBe(1);
    if (cluster!.clusterId) expect(response.clusterId).toBe(cluster!.clusterId);
    else expect(response.clusterId).toMatch(/^[\w-]{22}$/);
    expect(t.name).toBe(topic);
    expect(t.isInternal).toBe(false);
    expect(t.partitions.map((p) => p.partitionIndex).sort((a, b) => a - b)).toEqual(
      Array.from({ length: PARTITIONS }, (_, i) => i),
    );
    for (const p of t.partitions) {
      expect(p.leaderId).toBe(1);
      expect(p.replicaNodes).toEqual([1]);
      expect(p.isrNodes).toEqual([1]);
    }
  });

  for (const codec of ["none", "gzip", "snappy", "lz4", "zstd"] as const) {
    const title = `produce ${codec}`;
    const skip = codec === "zstd" && !zstdAvailable;
    if (skip) info.skipped[title] = "Node lacks zstd";
    it.skipIf(skip)(title, async () => {
      const topic = uniqueTopic(`matrix-${codec}`);
      await waitForTopic(topic);
      const records = mixedRecords(topic);
      const { bytesSent } = await roundTrip(topic, records, { "compression.codec": codec });
      const raw = records.reduce((s, r) => s + (bytes(r.value)?.length ?? 0), 0);
      // The broker took compressed batches (it decompresses each to validate it).
      if (codec !== "none") expect(bytesSent).toBeLessThan(raw / 2);
      else expect(bytesSent).toBeGreaterThan(raw);
    });
  }

  it("keyed placement: murmur2, as the Java client places keys", async () => {
    // apache/kafka UtilsTest.testMurmur2 vectors: our hash is the Java client's.
    for (const [key, hash] of JAVA_MURMUR2_VECTORS) expect(murmur2(Buffer.from(key))).toBe(hash);
    const topic = uniqueTopic("matrix-keys");
    await waitForTopic(topic);
    const keys: (string | Buffer)[] = ["21", "foobar", "a-little-bit-long-string", "abc", "ключ"];
    for (let i = 0; i < 60; i++) keys.push(`user-${i}`);
    keys.push(Buffer.from([0, 1, 2, 3, 254, 255]), Buffer.alloc(0));
    const records = keys.map((key, i) => ({ topic, key, value: `v${i}`, timestamp: T0 + i }));
    const { reports, back } = await roundTrip(topic, records);
    const expected = keys.map((k) => toPositive(murmur2(bytes(k)!)) % PARTITIONS);
    expect(reports.map((r) => r.partition)).toEqual(expected);
    expect(back.map((r) => r.partition)).toEqual(expected);
    // Known placements for 6 partitions (toPositive(murmur2) % 6).
    expect(expected.slice(0, 3)).toEqual(
      JAVA_MURMUR2_VECTORS.slice(0, 3).map(([, h]) => (h & 0x7fffffff) % PARTITIONS),
    );
    expect(new Set(expected).size).toBe(PARTITIONS);
  });

  it("headers, including empty and null values", async () => {
    const topic = uniqueTopic("matrix-headers");
    await waitForTopic(topic);
    const records: ProducerRecord[] = [
      {
        topic,
        key: "h1",
        value: "with headers",
        partition: 0,
        timestamp: T0,
        headers: [
          { key: "trace", value: "abc123" },
          { key: "empty-bytes", value: Buffer.alloc(0) },
          { key: "empty-text", value: "" },
          { key: "null", value: null },
          { key: "dup", value: "1" },
          { key: "dup", value: "2" },
          { key: "binary", value: Buffer.from([0, 255, 1, 128]) },
          { key: "émoji", value: "🙂" },
        ],
      },
      { topic, key: "h2", value: "no headers", partition: 0, timestamp: T0 + 1, headers: [] },
      {
        topic,
        key: null,
        value: Buffer.alloc(0),
        partition: 1,
        timestamp: T0 + 2,
        headers: [{ key: "", value: "" }],
      },
      {
        topic,
        key: "h4",
        value: null,
        partition: 2,
        timestamp: T0 + 3,
        headers: Array.from({ length: 50 }, (_, i) => ({ key: `h${i}`, value: "x".repeat(i) })),
      },
    ];
    const { back } = await roundTrip(topic, records);
    // Spelled out for the first record: empty stays empty, null stays null.
    const h = back[0]!.headers;
    expect(h.find((x) => x.key === "empty-bytes")!.value).toEqual(Buffer.alloc(0));
    expect(h.find((x) => x.key === "empty-text")!.value).toEqual(Buffer.alloc(0));
    expect(h.find((x) => x.key === "null")!.value).toBeNull();
    expect(back[1]!.headers).toEqual([]);
    expect(back[2]!.headers).toEqual([{ key: "", value: Buffer.alloc(0) }]);
    expect(back[3]!.value).toBeNull();
  });

  it("transactions: a committed transaction over 2 partitions is visible to read_committed", async () => {
    const topic = uniqueTopic("matrix-txn-commit");
    await waitForTopic(topic);
    const producer = await transactionalProducer();
    const values = Array.from({ length: 20 }, (_, i) => `c${i}`);
    try {
      producer.beginTransaction();
      expect(producer.transactionState?.version, "protocol").toBe(EXPECTED_TXN_PROTOCOL);
      await sendOver2(producer, topic, values);
      await producer.commitTransaction(60_000);
    } finally {
      await producer.close(5_000);
    }
    expect(await readValues(topic, COMMITTED)).toEqual(placed(values));
  });

  it("transactions: an aborted transaction is written (read_uncommitted) but invisible to read_committed", async () => {
    const topic = uniqueTopic("matrix-txn-abort");
    await waitForTopic(topic);
    const producer = await transactionalProducer();
    const aborted = Array.from({ length: 10 }, (_, i) => `a${i}`);
    const after = ["n0", "n1"];
    try {
      producer.beginTransaction();
      expect(producer.transactionState?.version, "protocol").toBe(EXPECTED_TXN_PROTOCOL);
      // Acknowledged: the records are in the log when the abort comes.
      await sendOver2(producer, topic, aborted);
      await producer.abortTransaction(60_000);
      // The producer goes on: a transaction after the abort commits.
      producer.beginTransaction();
      await sendOver2(producer, topic, after);
      await producer.commitTransaction(60_000);
    } finally {
      await producer.close(5_000);
    }
    expect(await readValues(topic, COMMITTED)).toEqual(placed(after));
    const all = await readValues(topic, UNCOMMITTED);
    expect(all).toEqual([
      ...placed(aborted).filter((v) => v.startsWith("0:")),
      ...placed(after).filter((v) => v.startsWith("0:")),
      ...placed(aborted).filter((v) => v.startsWith("1:")),
      ...placed(after).filter((v) => v.startsWith("1:")),
    ]);
  });

  it("transactions: the protocol used, v2 (KIP-890) where the cluster finalizes transaction.version 2 (4.x), else v1", async () => {
    const finalized = await finalizedTransactionVersion();
    info.transactions = { finalized };
    saveInfo();
    const producer = await transactionalProducer();
    try {
      producer.beginTransaction();
      const used = producer.transactionState!.version;
      info.transactions.used = used;
      saveInfo();
      // What the cluster finalizes decides, and for this version it is the expected one.
      expect(used, `transaction.version finalized: ${finalized}`).toBe(
        (finalized ?? 0) >= 2 ? 2 : 1,
      );
      expect(used, `Kafka ${version}`).toBe(EXPECTED_TXN_PROTOCOL);
      const topic = uniqueTopic("matrix-txn-protocol");
      await waitForTopic(topic);
      await producer.send({ topic, value: "v" });
      await producer.commitTransaction(60_000);
    } finally {
      await producer.close(5_000);
    }
  });
});
