/**
 * Compressed record batches against the real broker: for each codec, batches
 * built by `RecordBatchBuilder` (sync `finish()` and async `finishAsync()`) are
 * produced over a raw socket; the broker decompresses them to validate them
 * (a corrupt one is refused), and the Java reader (Apache Kafka's own
 * consumer, byte-exact) and KafkaJS read back the same records.
 *
 * KafkaJS has no built-in snappy or lz4: it gets kafkajs-snappy (snappyjs) and
 * a codec over lz4js, both pure JavaScript dev dependencies. Its zstd package
 * (@kafkajs/zstd) is native, so zstd is not read back by KafkaJS; on a Node
 * without zstd in node:zlib (before 22.15) the zstd cases are skipped.
 */
import { createRequire } from "node:module";
import { CompressionCodecs, CompressionTypes } from "kafkajs";
import lz4js from "lz4js";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ApiKey } from "../../src/protocol/api-keys.js";
import {
  compressionAvailable,
  ZSTD_UNAVAILABLE_MESSAGE,
} from "../../src/protocol/compression/index.js";
import { zstdDecompress } from "../../src/protocol/compression/zstd.js";
import { crc32c } from "../../src/protocol/crc32c.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import {
  decodeProduceResponse,
  encodeProduceRequest,
  type ProduceResponse,
} from "../../src/protocol/produce.js";
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_SIZE,
  type CompressionCodec,
  CRC_OFFSET,
  encodeRecordBatch,
  RecordBatchBuilder,
  type RecordInput,
} from "../../src/protocol/record-batch.js";
import { pickVersion } from "../../src/protocol/versions.js";
import { Writer } from "../../src/protocol/writer.js";
import { javaConsume } from "../broker/java-reader.js";
import { kafkajsConsume } from "../helpers/kafkajs-reader.js";
import { RawClient } from "../helpers/raw-client.js";
import { T0, variedRecords } from "../helpers/records.js";
import { brokerVersions, uniqueTopic, waitForTopic } from "../helpers/topics.js";
import { jsonLogLines, randomBytes } from "../protocol/compression/helpers.js";

const require = createRequire(import.meta.url);
const kafkajsSnappy = require("kafkajs-snappy") as () => unknown;

type KafkaJsCodec = () => {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
};
const lz4jsCodec: KafkaJsCodec = () => ({
  compress: async (encoder) => Buffer.from(lz4js.compress(encoder.buffer)),
  decompress: async (buffer) => Buffer.from(lz4js.decompress(buffer)),
});
const codecRegistry = CompressionCodecs as unknown as Record<number, unknown>;
codecRegistry[CompressionTypes.Snappy] = kafkajsSnappy;
codecRegistry[CompressionTypes.LZ4] = lz4jsCodec;

const bootstrap = inject("kafkaBootstrap");
const CODECS: CompressionCodec[] = ["gzip", "snappy", "lz4", "zstd"];
/** Codecs KafkaJS can read here (see the file comment). */
const KAFKAJS_CODECS = new Set<CompressionCodec>(["gzip", "snappy", "lz4"]);

let client: RawClient;
let produceVersion: number;

beforeAll(async () => {
  client = await RawClient.connect(bootstrap.split(",")[0]!);
  produceVersion = pickVersion(ApiKey.Produce, await brokerVersions(client), { min: 3, max: 12 });
});
afterAll(() => client?.close());

async function produce(topic: string, batches: Buffer[]): Promise<ProduceResponse> {
  return client.request(
    ApiKey.Produce,
    produceVersion,
    (w) =>
      encodeProduceRequest(w, produceVersion, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 15000,
        topicData: [
          { name: topic, partitionData: batches.map((records, index) => ({ index, records })) },
        ],
      }),
    (r) => decodeProduceResponse(r, produceVersion),
  );
}

function errorCodes(res: ProduceResponse): number[] {
  return res.responses[0]!.partitionResponses.sort((a, b) => a.index - b.index).map(
    (p) => p.errorCode,
  );
}

/** Partition 0: varied small records; 1: a 1 MB JSON value and a 200 kB random one; 2: 5000 tiny. */
function partitions(): RecordInput[][] {
  const varied = variedRecords();
  const big: RecordInput[] = [
    { key: "json-1mb", value: jsonLogLines(1 << 20), timestamp: T0 },
    { key: "random-200kb", value: randomBytes(200_000, 7), timestamp: T0 + 1 },
  ];
  const tiny: RecordInput[] = Array.from({ length: 5000 }, (_, i) => ({
    key: `key-${i}`,
    value: `v${i % 97}`,
    timestamp: T0 + i,
  }));
  return [varied, big, tiny];
}

const bytes = (d: RecordInput["value"] | undefined): Buffer | null =>
  d == null ? null : typeof d === "string" ? Buffer.from(d, "utf8") : Buffer.from(d);

/** Equal bytes, with null apart from empty. */
const sameBytes = (got: Buffer | null, want: Buffer | null): boolean =>
  got === null || want === null ? got === want : got.equals(want);

/** Builds one batch with `finishAsync()` (the producer's path) and checks `finish()` agrees. */
async function buildAsync(records: RecordInput[], codec: CompressionCodec): Promise<Buffer> {
  const w = new Writer();
  const b = new RecordBatchBuilder().begin(w, { baseTimestamp: T0, compression: codec });
  for (const r of records) b.append(r.key, r.value, r.timestamp!, r.headers);
  await b.finishAsync();
  const batch = Buffer.from(w.finish());
  const inPlace = encodeRecordBatch(records, { baseTimestamp: T0, compression: codec });
  if (codec === "zstd") expectSameZstdBatch(batch, inPlace);
  else expect(batch.equals(inPlace)).toBe(true);
  return batch;
}

/**
 * zstd through the thread pool streams the input and may cut its blocks
 * elsewhere than the one-shot call `finish()` makes in place: both are valid
 * frames of the same records, so the header and the decompressed records must
 * agree, and the CRC must cover what was sent.
 */
function expectSameZstdBatch(pooled: Buffer, inPlace: Buffer): void {
  expect(pooled.subarray(ATTRIBUTES_OFFSET, BATCH_HEADER_SIZE)).toEqual(
    inPlace.subarray(ATTRIBUTES_OFFSET, BATCH_HEADER_SIZE),
  );
  expect(pooled.readUInt32BE(CRC_OFFSET)).toBe(crc32c(pooled.subarray(ATTRIBUTES_OFFSET)));
  expect(zstdDecompress(pooled.subarray(BATCH_HEADER_SIZE))).toEqual(
    zstdDecompress(inPlace.subarray(BATCH_HEADER_SIZE)),
  );
}

const produced = new Map<CompressionCodec, { topic: string; records: RecordInput[][] }>();

describe.each(CODECS)("%s batches against the broker", (codec) => {
  const available = compressionAvailable(codec);

  it.skipIf(!available)("are accepted, and the Java reader reads back every record", async () => {
    const topic = uniqueTopic(`compression-${codec}`);
    await waitForTopic(client, topic);
    const records = partitions();
    const batches = [
      encodeRecordBatch(records[0]!, { baseTimestamp: T0, compression: codec }),
      await buildAsync(records[1]!, codec),
      await buildAsync(records[2]!, codec),
    ];
    // The batch is compressed: its attributes say so and it is smaller than the records.
    for (const b of batches) expect(b.readInt16BE(21) & 0x07).not.toBe(0);
    expect(batches[2]!.length).toBeLessThan(5000 * 12);

    const res = await produce(topic, batches);
    expect(errorCodes(res)).toEqual([0, 0, 0]);
    produced.set(codec, { topic, records });

    for (let p = 0; p < 3; p++) {
      const want = records[p]!;
      const back = await javaConsume(bootstrap, topic, { partition: p, timeoutMs: 60_000 });
      expect(back.length).toBe(want.length);
      const mismatches = back.flatMap((got, i) => {
        const w = want[i]!;
        const wantHeaders = w.headers ?? [];
        const ok =
          got.partition === p &&
          got.offset === i &&
          got.timestamp === w.timestamp &&
          got.timestampType === "CreateTime" &&
          sameBytes(got.key, bytes(w.key)) &&
          sameBytes(got.value, bytes(w.value)) &&
          got.headers.length === wantHeaders.length &&
          got.headers.every(
            (h, j) =>
              h.key === wantHeaders[j]!.key && sameBytes(h.value, bytes(wantHeaders[j]!.value)),
          );
        return ok ? [] : [`partition ${p} record ${i}`];
      });
      expect(mismatches).toEqual([]);
    }
  });

  it.skipIf(!available)("with corrupt compressed records (CRC re-signed) are refused", async () => {
    const topic = uniqueTopic(`compression-bad-${codec}`);
    await waitForTopic(client, topic);
    const batch = encodeRecordBatch(partitions()[0]!, { baseTimestamp: T0, compression: codec });
    batch.fill(0xa5, 61 + 6, 61 + 30); // inside the compressed stream, past its header
    batch.writeUInt32BE(crc32c(batch, 21, batch.length), 17); // a valid CRC: only the codec fails
    const res = await produce(topic, [batch]);
    const [code] = errorCodes(res);
    // Kafka 4.4.0 answers UNKNOWN_SERVER_ERROR (-1) when gzip or lz4 fails to decompress
    // (the codec's exception is not one it maps) and INVALID_RECORD (87) for snappy;
    // CORRUPT_MESSAGE (2) is what other versions may say.
    expect([
      ErrorCode.UNKNOWN_SERVER_ERROR,
      ErrorCode.CORRUPT_MESSAGE,
      ErrorCode.INVALID_RECORD,
    ]).toContain(code);
  });
});

describe.runIf(!compressionAvailable("zstd"))("zstd on a Node without it (before 22.15)", () => {
  it("cannot be configured: the error names the Node version needed", () => {
    expect(() => encodeRecordBatch([{ value: "v" }], { compression: "zstd" })).toThrow(
      ZSTD_UNAVAILABLE_MESSAGE,
    );
  });
});

describe("KafkaJS 2.2.4 reads the compressed batches back", () => {
  it("gets the same records for every codec it can decode", async () => {
    const wanted = [...produced].filter(([codec]) => KAFKAJS_CODECS.has(codec));
    expect(wanted.length).toBeGreaterThanOrEqual(3); // gzip, snappy, lz4 were produced above
    type Got = {
      partition: number;
      offset: number;
      key: Buffer | null;
      value: Buffer | null;
      ts: number;
      headers: string;
    };
    const total = wanted.reduce((n, [, p]) => n + p.records.flat().length, 0);
    const got = new Map<string, Got[]>();
    for (const m of await kafkajsConsume(
      bootstrap,
      wanted.map(([, p]) => p.topic),
      total,
    )) {
      const list = got.get(m.topic) ?? [];
      got.set(m.topic, list);
      list.push({
        partition: m.partition,
        offset: m.offset,
        key: m.key,
        value: m.value,
        ts: m.timestamp,
        headers: Object.entries(m.headers)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(","),
      });
    }

    for (const [codec, { topic, records }] of wanted) {
      const list = got.get(topic) ?? [];
      const mismatches: string[] = [];
      records.forEach((want, p) => {
        const inPartition = list
          .filter((g) => g.partition === p)
          .sort((a, b) => a.offset - b.offset);
        if (inPartition.length !== want.length) {
          mismatches.push(`${codec} partition ${p}: ${inPartition.length} of ${want.length}`);
          return;
        }
        inPartition.forEach((g, i) => {
          const w = want[i]!;
          const wantHeaders = (w.headers ?? []).map((h) => `${h.key}=${String(h.value)}`).join(",");
          const ok =
            g.offset === i &&
            g.ts === w.timestamp &&
            (g.key === null ? w.key == null : g.key.equals(bytes(w.key)!)) &&
            (g.value === null ? w.value == null : g.value.equals(bytes(w.value)!)) &&
            g.headers === wantHeaders;
          if (!ok) mismatches.push(`${codec} partition ${p} record ${i}`);
        });
      });
      expect(mismatches).toEqual([]);
    }
  });
});
