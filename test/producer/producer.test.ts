/**
 * The producer against the shared single-node broker: delivery and read-back
 * by an independent client, Java-compatible key placement, refusals at
 * enqueue, broker errors that must not be retried, deadlines, close(), and a
 * child process that must exit by itself after close().
 */
import { randomBytes } from "node:crypto";
import net from "node:net";
import { pathToFileURL } from "node:url";
import type { Admin } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { KafkaClientError } from "../../src/client/client-error.js";
import { ConfigError } from "../../src/config/index.js";
import { Producer } from "../../src/producer/producer.js";
import { KafkaProtocolError } from "../../src/protocol/errors.js";
import type { RecordData } from "../../src/protocol/record-batch.js";
import { javaConsume, text } from "../broker/java-reader.js";
import { freePorts } from "../broker/kafka.js";
import { peerTool } from "../helpers/peer-tools.js";
import { JAVA_MURMUR2_VECTORS } from "../helpers/records.js";
import { uniqueTopic } from "../helpers/topics.js";
import {
  connectAdmin,
  createTopic,
  DeliveryLedger,
  FAST,
  kafkajsProduce,
  kcatProduce,
  producerSet,
  recordingLogger,
  runNodeScript,
  transpileSources,
  waitFor,
} from "./helpers.js";

const bootstrap = inject("kafkaBootstrap");
const kcat = peerTool("kcat");
let admin: Admin;
/** Producers closed at the end of the file whatever happens in the test. */
const producers = producerSet(bootstrap);
const newProducer = producers.create;

/** A TCP server that accepts connections and never answers: a hung broker. */
async function silentBroker(): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}

beforeAll(async () => {
  admin = await connectAdmin(bootstrap);
});

afterAll(async () => {
  await producers.closeAll();
  await admin?.disconnect();
});

describe("delivery", () => {
  it("reports every record once, at the offset where the Java reader reads it back, in order per partition", async () => {
    const topic = uniqueTopic("p-deliver");
    await createTopic(admin, topic, { partitions: 4 });
    const producer = newProducer({ "linger.ms": 2 });
    const ledger = new DeliveryLedger();
    const n = 20000;
    for (let i = 0; i < n; i++) {
      // Keyed, keyless, explicit partitions, headers and binary keys.
      const record =
        i % 10 === 0
          ? { topic, partition: i % 4, value: `v${i}`, headers: [{ key: "i", value: String(i) }] }
          : i % 10 === 1
            ? { topic, key: null, value: `v${i}` }
            : i % 10 === 2
              ? { topic, key: Buffer.from([0xff, 0, i & 0xff]), value: `v${i}` }
              : { topic, key: `key-${i % 97}`, value: `v${i}` };
      ledger.produce(producer, record);
    }
    // send() too: a Promise of the report.
    const viaSend = await producer.send({ topic, key: "promise", value: `v${n}` });
    await ledger.waitAll(60_000);
    expect(ledger.notExactlyOnce()).toEqual([]);
    expect(ledger.failed()).toEqual([]);
    expect(viaSend.offset).toBeGreaterThanOrEqual(0);

    const byPartition = new Map<number, { offset: number; index: number }[]>();
    ledger.outcomes.forEach((o, i) => {
      const { report } = o[0]!;
      expect(report.topic).toBe(topic);
      const rec = ledger.records[i]!;
      if (rec.partition !== undefined) expect(report.partition).toBe(rec.partition);
      let list = byPartition.get(report.partition);
      if (list === undefined) {
        list = [];
        byPartition.set(report.partition, list);
      }
      list.push({ offset: report.offset, index: i });
    });
    expect([...byPartition.keys()].sort()).toEqual([0, 1, 2, 3]);

    const read = await javaConsume(bootstrap, topic);
    expect(read).toHaveLength(n + 1);
    const found = new Map(read.map((r) => [`${r.partition}/${r.offset}`, r]));
    const asBytes = (d: RecordData | null | undefined): Buffer | null =>
      d == null ? null : typeof d === "string" ? Buffer.from(d, "utf8") : Buffer.from(d);
    const sameBytes = (x: Buffer | null, y: Buffer | null): boolean =>
      x === null || y === null ? x === y : x.equals(y);
    const wrong: string[] = [];
    for (const [partition, list] of byPartition) {
      // Offsets follow the order the records were produced, from 0 and with no gap.
      expect(list.map((x) => x.offset)).toEqual(list.map((_, k) => k));
      for (const { offset, index } of list) {
        // Each record is at its reported offset with its own key, value and headers.
        const got = found.get(`${partition}/${offset}`);
        const want = ledger.records[index]!;
        const wantHeaders = (want.headers ?? []).map((h) => ({
          key: h.key,
          value: asBytes(h.value),
        }));
        const ok =
          got !== undefined &&
          text(got.value) === `v${index}` &&
          sameBytes(got.key, asBytes(want.key)) &&
          JSON.stringify(got.headers) === JSON.stringify(wantHeaders);
        if (!ok) wrong.push(`${partition}/${offset} (record ${index})`);
      }
      const readOrder = read.filter((r) => r.partition === partition && text(r.value) !== `v${n}`);
      expect(readOrder.map((r) => text(r.value))).toEqual(list.map((x) => `v${x.index}`));
    }
    expect(wrong).toEqual([]);
    expect(text(found.get(`${viaSend.partition}/${viaSend.offset}`)!.key)).toBe("promise");
    const stats = producer.stats();
    expect(stats).toMatchObject({ produced: n + 1, delivered: n + 1, failed: 0, queued: 0 });
    expect(stats.queuedBytes).toBe(0);
  });

  it("writes keys, values and headers byte for byte", async () => {
    const topic = uniqueTopic("p-bytes");
    await createTopic(admin, topic, { partitions: 1 });
    const producer = newProducer();
    const binary = randomBytes(300);
    const reports = await Promise.all([
      producer.send({ topic, key: "ключ", value: "значение ✓ 🎉" }),
      producer.send({ topic, key: binary.subarray(0, 7), value: binary }),
      producer.send({ topic, key: null, value: null }),
      producer.send({ topic, key: "", value: "", headers: [{ key: "h", value: "x" }] }),
    ]);
    expect(reports.map((r) => r.offset)).toEqual([0, 1, 2, 3]);
    const read = await javaConsume(bootstrap, topic, { count: 4 });
    expect(read.map((r) => r.key?.toString("hex") ?? null)).toEqual([
      Buffer.from("ключ").toString("hex"),
      binary.subarray(0, 7).toString("hex"),
      null,
      "",
    ]);
    expect(read[0]!.value).toEqual(Buffer.from("значение ✓ 🎉"));
    expect(read[1]!.value!.equals(binary)).toBe(true);
    expect(read[2]!.value).toBeNull();
    expect(read[3]!.value).toEqual(Buffer.alloc(0));
    expect(read.slice(0, 3).map((r) => r.headers)).toEqual([[], [], []]);
    expect(read[3]!.headers).toEqual([{ key: "h", value: Buffer.from("x") }]);
  });
});

describe("produceDelimited", () => {
  it("queues the records of a buffer with one key and headers, tallied per batch, read back in order", async () => {
    const topic = uniqueTopic("delimited");
    await createTopic(admin, topic, { partitions: 2 });
    const producer = newProducer({ "batch.num.messages": 700 });
    await producer.send({ topic, value: "first", partition: 1 });
    const lines = Array.from({ length: 5000 }, (_, i) => `line-${i}-${"z".repeat(i % 300)}`);
    const data = Buffer.from(`${lines.join("\n")}\npartial`);
    const tallies: [string | null, number][] = [];
    const result = producer.produceDelimited(
      { topic, data, key: "the-key", headers: [{ key: "h", value: "v" }], partition: 1 },
      (err, n) => tallies.push([err === null ? null : err.message, n]),
    );
    // Everything up to the bytes after the last delimiter.
    expect(result).toEqual({ offset: data.length - "partial".length, records: lines.length });
    await producer.flush(10_000);
    // One tally per batch: 5000 records at 700 a batch are 8 batches.
    expect(tallies.length).toBe(8);
    expect(tallies.every(([err]) => err === null)).toBe(true);
    expect(tallies.reduce((sum, [, n]) => sum + n, 0)).toBe(lines.length);
    const back = (await javaConsume(bootstrap, topic)).filter((r) => r.partition === 1);
    expect(back.map((r) => text(r.value))).toEqual(["first", ...lines]);
    for (const r of back.slice(1)) {
      expect(text(r.key)).toBe("the-key");
      expect(r.headers.map((h) => [h.key, text(h.value)])).toEqual([["h", "v"]]);
    }
  });

  it("stops at a record it cannot queue at once and says where, for produce() to take it", async () => {
    const topic = uniqueTopic("delimited-stop");
    await createTopic(admin, topic, { partitions: 1 });
    const producer = newProducer({ "queue.buffering.max.messages": 3, "message.max.bytes": 2000 });
    const tally = (): void => {};
    const data = Buffer.from("a\nb\n");
    // The topic's partitions are not known yet: the records wait as a copy (the buffer is reused).
    expect(producer.produceDelimited({ topic, data }, tally)).toEqual({ offset: 4, records: 2 });
    data.fill(0x21);
    await producer.send({ topic, value: "warm" });
    const big = Buffer.from(`x\n${"y".repeat(2500)}\nz\nw\nv\n`);
    // Too large for message.max.bytes: it stops before it (produce() would throw MSG_SIZE_TOO_LARGE).
    expect(producer.produceDelimited({ topic, data: big }, tally)).toEqual({
      offset: 2,
      records: 1,
    });
    const after = 2 + 2501;
    // The queue holds 3: two more fit, then it stops at "v".
    expect(producer.produceDelimited({ topic, data: big, start: after }, tally)).toEqual({
      offset: after + 4,
      records: 2,
    });
    expect(() => producer.produceDelimited({ topic, data: big, start: 5, end: 2 }, tally)).toThrow(
      /invalid range \[5, 2\)/,
    );
    expect(() => producer.produceDelimited({ topic, data: big, delimiter: "" }, tally)).toThrow(
      /delimiter is empty/,
    );
    await producer.flush(10_000);
    const back = await javaConsume(bootstrap, topic);
    expect(back.map((r) => text(r.value))).toEqual(["a", "b", "warm", "x", "z", "w"]);
  });
});

describe("acks", () => {
  it("acks=0: one report per record, offset -1, and the records are in the log", async () => {
    const topic = uniqueTopic("p-acks0");
    await createTopic(admin, topic, { partitions: 2 });
    const producer = newProducer({ acks: 0 });
    const ledger = new DeliveryLedger();
    for (let i = 0; i < 1000; i++)
      ledger.produce(producer, { topic, key: `k${i}`, value: `v${i}` });
    await ledger.waitAll(20_000);
    expect(ledger.notExactlyOnce()).toEqual([]);
    expect(ledger.failed()).toEqual([]);
    expect(ledger.delivered().every((o) => o.report.offset === -1)).toBe(true);
    // No response comes: the reader waits until the log holds all 1000 (and says how many it
    // found if they never arrive).
    const read = await javaConsume(bootstrap, topic, { count: 1000, timeoutMs: 30_000 });
    expect(read).toHaveLength(1000);
    expect(read.map((r) => `${text(r.key)}=${text(r.value)}`).sort()).toEqual(
      ledger.records.map((r) => `${String(r.key)}=${String(r.value)}`).sort(),
    );
  });
});

describe("keyed placement", () => {
  const javaHashes = JAVA_MURMUR2_VECTORS;
  const partitions = 6;
  const keys = [...javaHashes.map(([k]) => k)];
  for (let i = 0; i < 300; i++) keys.push(`key-${i}-${randomBytes(4).toString("hex")}`);
  keys.push("ключ-🎉");
  /** Where our producer put each key (set by the first test). */
  let ourPartition: Map<string, number> | undefined;

  it("puts each key where the Java client and KafkaJS's default partitioner put it", async () => {
    const ours = uniqueTopic("p-keys-ours");
    const theirs = uniqueTopic("p-keys-kafkajs");
    await createTopic(admin, ours, { partitions });
    await createTopic(admin, theirs, { partitions });

    const producer = newProducer();
    const reports = await Promise.all(
      keys.map((key) => producer.send({ topic: ours, key, value: key })),
    );
    const placed = new Map(keys.map((k, i) => [k, reports[i]!.partition]));
    for (const [key, hash] of javaHashes) {
      expect(placed.get(key), key).toBe((hash & 0x7fffffff) % partitions);
    }
    // The records are stored where the reports say.
    const readOurs = await javaConsume(bootstrap, ours);
    expect(readOurs).toHaveLength(keys.length);
    expect(readOurs.every((r) => text(r.key) === text(r.value))).toBe(true);
    expect(new Map(readOurs.map((r) => [text(r.key)!, r.partition]))).toEqual(placed);

    // KafkaJS's DefaultPartitioner is Java-compatible murmur2: the same partition per key.
    await kafkajsProduce(
      bootstrap,
      theirs,
      keys.map((k) => [k, k]),
    );
    const readTheirs = await javaConsume(bootstrap, theirs);
    expect(readTheirs).toHaveLength(keys.length);
    expect(new Map(readTheirs.map((r) => [text(r.key)!, r.partition]))).toEqual(placed);
    expect(new Set(placed.values()).size).toBe(partitions);
    ourPartition = placed;
  });

  it("puts each key where librdkafka's murmur2_random (kcat) puts it", async (ctx) => {
    kcat.need(ctx);
    expect(ourPartition, "the test above ran").toBeDefined();
    const theirs = uniqueTopic("p-keys-kcat");
    await createTopic(admin, theirs, { partitions });
    await kcatProduce(
      bootstrap,
      theirs,
      keys.map((k) => [k, k]),
      { partitioner: "murmur2_random" },
    );
    const readTheirs = await javaConsume(bootstrap, theirs);
    expect(readTheirs).toHaveLength(keys.length);
    expect(new Map(readTheirs.map((r) => [text(r.key)!, r.partition]))).toEqual(ourPartition);
  });
});

describe("bad input", () => {
  it("refuses unknown or invalid properties with an error naming the property", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ "no.such.property": "1" }, "no.such.property"],
      [{ "linger.ms": "soon" }, "linger.ms"],
      [{ "linger.ms": -1 }, "linger.ms"],
      [{ acks: "most" }, "acks"],
      [{ partitioner: "round_robin" }, "partitioner"],
    ];
    for (const [props, name] of cases) {
      let error: unknown;
      try {
        new Producer({ "bootstrap.servers": bootstrap, ...(props as Record<string, string>) });
      } catch (err) {
        error = err;
      }
      expect(error, name).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).property).toBe(name);
      expect((error as Error).message).toContain(`"${name}"`);
    }
    expect(() => new Producer({})).toThrow(/bootstrap\.servers/);
    expect(() => new Producer({ "bootstrap.servers": "host:99999" })).toThrow(/host:99999/);
  });

  it("refuses bad records at once, naming the input, with nothing queued or reported", async () => {
    const topic = uniqueTopic("p-bad");
    await createTopic(admin, topic, { partitions: 2 });
    // A topic that must not be created as a side effect of a refused record.
    const neverCreated = uniqueTopic("p-bad-never");
    const producer = newProducer();
    await producer.send({ topic, value: "warm-up" }); // metadata known: partition counts checked
    const calls: unknown[] = [];
    const cb = (err: unknown): void => {
      calls.push(err);
    };
    type AnyRecord = Parameters<Producer["produce"]>[0];
    const bad = (r: unknown): AnyRecord => r as AnyRecord;
    const cases: [AnyRecord, RegExp][] = [
      [bad({ topic: 42, value: "x" }), /topic name 42/],
      [bad({ value: "x" }), /topic name undefined/],
      [bad({ topic: "bad topic!", value: "x" }), /"bad topic!"/],
      [bad({ topic: "", value: "x" }), /topic name ""/],
      [bad({ topic: "x".repeat(250), value: "x" }), /topic name "x{250}"/],
      [bad({ topic: neverCreated, value: 12 }), /value .*number/],
      [bad({ topic: neverCreated, value: "x", key: { a: 1 } }), /key .*object/],
      [bad({ topic: neverCreated, value: "x", headers: "h" }), /headers/],
      [bad({ topic: neverCreated, value: "x", headers: [{ key: 1, value: "v" }] }), /header/],
      [bad({ topic, value: "x", partition: -2 }), /partition -2/],
      [bad({ topic, value: "x", partition: 1.5 }), /partition 1\.5/],
      [bad({ topic, value: "x", partition: 2 }), /partition 2 does not exist/],
      [bad({ topic, value: "x", timestamp: "now" }), /timestamp now/],
      [bad(null), /record/],
      [bad("a string"), /record/],
    ];
    for (const [record, message] of cases) {
      let error: unknown;
      try {
        producer.produce(record, cb);
      } catch (err) {
        error = err;
      }
      expect(error, JSON.stringify(record)).toBeInstanceOf(KafkaClientError);
      expect((error as KafkaClientError).message).toMatch(message);
    }
    expect(producer.stats()).toMatchObject({ produced: 1, queued: 0, queuedBytes: 0 });
    // A good record afterwards goes through; its report needs a metadata round trip that
    // would have asked for (and auto-created) a topic the refused records named.
    const other = uniqueTopic("p-bad-after");
    await producer.send({ topic: other, value: "after" });
    await producer.flush(10_000);
    expect(calls).toEqual([]);
    expect(await admin.listTopics()).not.toContain(neverCreated);
  });

  it("reports a partition the topic lacks as UNKNOWN_PARTITION once its metadata comes", async () => {
    const topic = uniqueTopic("p-nopart");
    await createTopic(admin, topic, { partitions: 2 });
    const producer = newProducer(); // knows nothing of the topic yet: cannot refuse at once
    const ledger = new DeliveryLedger();
    const bad = ledger.produce(producer, { topic, partition: 2, value: "x" });
    const good = ledger.produce(producer, { topic, partition: 1, value: "y" });
    await ledger.waitAll(20_000);
    expect(ledger.notExactlyOnce()).toEqual([]);
    const { err } = ledger.outcome(bad);
    expect(err).toMatchObject({ code: "UNKNOWN_PARTITION" });
    expect(err!.message).toMatch(/partition 2 does not exist .* 2 partition/);
    expect(ledger.outcome(good).err).toBeNull();
    // Now that the count is known, the same mistake is refused at once.
    expect(() => producer.produce({ topic, partition: 2, value: "x" })).toThrow(
      expect.objectContaining({ code: "UNKNOWN_PARTITION" }),
    );
  });

  it("a throwing delivery callback costs no other record its report", async () => {
    const topic = uniqueTopic("p-throw");
    await createTopic(admin, topic, { partitions: 1 });
    const producer = newProducer();
    const ledger = new DeliveryLedger();
    for (let i = 0; i < 10; i++) {
      producer.produce({ topic, value: `t${i}` }, () => {
        throw new Error("callback bug");
      });
      ledger.produce(producer, { topic, value: `v${i}` });
    }
    await ledger.waitAll(20_000);
    expect(ledger.notExactlyOnce()).toEqual([]);
    expect(ledger.failed()).toEqual([]);
    await producer.flush(10_000);
    expect(producer.stats()).toMatchObject({ produced: 20, delivered: 20, queued: 0 });
    const metrics = producer.prometheusMetrics({ labels: { client: "t" } }).split("\n");
    expect(metrics).toContain('event_kafka_producer_records_delivered_total{client="t"} 20');
    expect(metrics).toContain('event_kafka_producer_queue_records{client="t"} 0');
    // The one broker answered, so its round-trip time is there, in seconds.
    expect(
      metrics.some((l) =>
        l.startsWith('event_kafka_producer_broker_rtt_seconds{client="t",broker="'),
      ),
    ).toBe(true);
  });
});

describe("refusals at enqueue", () => {
  it("refuses records past queue.buffering.max.messages with QUEUE_FULL, then accepts again", async () => {
    const topic = uniqueTopic("p-qfull");
    await createTopic(admin, topic, { partitions: 1 });
    const producer = newProducer({ "queue.buffering.max.messages": 10, "linger.ms": 60_000 });
    const ledger = new DeliveryLedger();
    for (let i = 0; i < 10; i++) ledger.produce(producer, { topic, value: `v${i}` });
    expect(() => ledger.produce(producer, { topic, value: "one too many" })).toThrow(
      expect.objectContaining({
        code: "QUEUE_FULL",
        message: expect.stringMatching(/max\.messages/),
      }),
    );
    expect(producer.stats()).toMatchObject({ produced: 10, queued: 10 });
    expect(await producer.flush(20_000)).toBe(0);
    expect(ledger.notExactlyOnce()).toEqual([]);
    expect(ledger.failed()).toEqual([]);
    ledger.produce(producer, { topic, value: "room again" });
    await producer.flush(20_000);
    expect(ledger.notExactlyOnce()).toEqual([]);
    const read = await javaConsume(bootstrap, topic);
    expect(read.map((r) => text(r.value))).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `v${i}`),
      "room again",
    ]);
    expect(read.map((r) => r.offset)).toEqual(read.map((_, i) => i));
  });

  it.each([
    ["before metadata (records wait for it)", false],
    ["with metadata (records go into batches)", true],
  ])("refuses records past queue.buffering.max.kbytes with QUEUE_FULL, %s", async (_, warm) => {
    const topic = uniqueTopic("p-qbytes");
    await createTopic(admin, topic, { partitions: 1 });
    const producer = newProducer({ "queue.buffering.max.kbytes": 4, "linger.ms": 60_000 });
    if (warm) {
      const warmUp = producer.send({ topic, value: "warm-up" });
      expect(await producer.flush(20_000)).toBe(0); // linger.ms is long: flush sends now
      await warmUp;
      expect(producer.stats()).toMatchObject({ queued: 0, queuedBytes: 0 });
    }
    const ledger = new DeliveryLedger();
    const value = "x".repeat(900); // string data: counted as encoded, not 3 bytes a character
    let accepted = 0;
    let error: unknown;
    for (let i = 0; i < 10 && error === undefined; i++) {
      try {
        ledger.produce(producer, { topic, value });
        accepted++;
      } catch (err) {
        error = err;
      }
    }
    // 4 KiB holds four records of 900 bytes plus their overhead, not five.
    expect(accepted).toBe(4);
    expect(error).toMatchObject({ code: "QUEUE_FULL" });
    expect((error as Error).message).toMatch(/max\.kbytes/);
    const queuedBytes = producer.stats().queuedBytes;
    expect(queuedBytes).toBeGreaterThanOrEqual(4 * 900);
    expect(queuedBytes).toBeLessThanOrEqual(4096);
    await producer.flush(20_000);
    expect(ledger.notExactlyOnce()).toEqual([]);
    expect(ledger.delivered()).toHaveLength(4);
    expect(producer.stats()).toMatchObject({ queued: 0, queuedBytes: 0 });
  });

  it("refuses records over message.max.bytes with MSG_SIZE_TOO_LARGE and takes the next", async () => {
    const topic = uniqueTopic("p-oversize");
    await createTopic(admin, topic, { partitions: 1 });
    const producer = newProducer({ "message.max.bytes": 1000 });
    const ledger = new DeliveryLedger();
    for (const record of [
      { topic, value: "v".repeat(1000) },
      { topic, key: "k".repeat(600), value: "v".repeat(600) },
      { topic, value: "v", headers: [{ key: "h", value: "x".repeat(1000) }] },
      { topic, value: "é".repeat(500) }, // 1000 UTF-8 bytes
    ]) {
      expect(() => ledger.produce(producer, record)).toThrow(
        expect.objectContaining({
          code: "MSG_SIZE_TOO_LARGE",
          message: expect.stringMatching(/message\.max\.bytes \(1000\)/),
        }),
      );
    }
    ledger.produce(producer, { topic, value: "v".repeat(900) });
    await ledger.waitAll(20_000);
    expect(ledger.count).toBe(1);
    expect(ledger.failed()).toEqual([]);
    expect(producer.stats()).toMatchObject({ produced: 1, delivered: 1 });
    // The default limit (1 MB) applies too.
    const big = newProducer();
    expect(() => big.produce({ topic, value: Buffer.alloc(1_000_001) })).toThrow(
      expect.objectContaining({ code: "MSG_SIZE_TOO_LARGE" }),
    );
  });
});

describe("broker errors", () => {
  it("reports a record over the topic's max.message.bytes failed at once, without retrying", async () => {
    const topic = uniqueTopic("p-toolarge");
    await createTopic(admin, topic, { partitions: 2, configs: { "max.message.bytes": "2000" } });
    // Both leaders take writes first: a new partition's leader may answer a retriable error
    // once, which would be a retry, but not of the error under test.
    const warmUp = newProducer();
    await Promise.all(
      [0, 1].map((partition) => warmUp.send({ topic, partition, value: "warm-up" })),
    );
    const logger = recordingLogger();
    const producer = newProducer({ "message.timeout.ms": 60_000, "linger.ms": 0 }, { logger });
    const ledger = new DeliveryLedger();
    const big = ledger.produce(producer, { topic, partition: 0, value: "x".repeat(5000) });
    const small: number[] = [];
    for (let i = 0; i < 5; i++) {
      small.push(ledger.produce(producer, { topic, partition: 1, value: `small-${i}` }));
    }
    await ledger.waitAll(20_000);
    expect(ledger.notExactlyOnce()).toEqual([]);
    const { err, at } = ledger.outcome(big);
    expect(err).toBeInstanceOf(KafkaProtocolError);
    expect(["MESSAGE_TOO_LARGE", "RECORD_LIST_TOO_LARGE"]).toContain(
      (err as KafkaProtocolError).errorName,
    );
    expect(err!.retriable).toBe(false);
    expect(err!.message).toContain(`${topic}-0`);
    // Failed well before message.timeout.ms, after a single attempt.
    expect(at - ledger.producedAt[big]!).toBeLessThan(15_000);
    for (const i of small) expect(ledger.outcome(i).err).toBeNull();
    const retried = logger.lines.filter((l) => l.message === "retrying batch");
    expect(retried, JSON.stringify(retried)).toEqual([]);
    const stats = producer.stats();
    expect(stats).toMatchObject({ produced: 6, delivered: 5, failed: 1, retries: 0, sent: 6 });
    const read = await javaConsume(bootstrap, topic);
    expect(read.map((r) => text(r.value)).sort()).toEqual([
      ...small.map((_, i) => `small-${i}`),
      "warm-up",
      "warm-up",
    ]);
  });
});

describe("deadlines", () => {
  it("reports records failed at message.timeout.ms when no broker ever answers", async () => {
    const [port] = await freePorts(1);
    const hung = await silentBroker();
    try {
      const timeoutMs = 3000;
      for (const address of [`127.0.0.1:${port}`, hung.address]) {
        const producer = newProducer({
          "bootstrap.servers": address,
          "message.timeout.ms": timeoutMs,
          "socket.connection.setup.timeout.ms": 1000,
        });
        const ledger = new DeliveryLedger();
        for (let i = 0; i < 50; i++) {
          ledger.produce(producer, { topic: "never-there", value: `v${i}`, key: `k${i}` });
        }
        ledger.produce(producer, { topic: "never-there", value: "explicit", partition: 3 });
        await ledger.waitAll(20_000);
        expect(ledger.notExactlyOnce()).toEqual([]);
        expect(ledger.failureCodes()).toEqual({ MSG_TIMED_OUT: 51 });
        for (let i = 0; i < ledger.count; i++) {
          const { at, err, report } = ledger.outcome(i);
          const waited = at - ledger.producedAt[i]!;
          // At the deadline: not early, and not much later on a loaded machine.
          expect(waited, address).toBeGreaterThanOrEqual(timeoutMs - 5);
          expect(waited, address).toBeLessThan(timeoutMs + 3000);
          expect(err!.message).toContain("message.timeout.ms");
          expect(report.offset).toBe(-1);
        }
        expect(ledger.outcome(50).report.partition).toBe(3);
        expect(producer.stats()).toMatchObject({ produced: 51, failed: 51, queued: 0 });
      }
    } finally {
      await hung.close();
    }
  });
});

describe("close", () => {
  /** 30000 records queued on a 3-partition topic, at least one Produce request in flight. */
  async function produceUntilInFlight(topic: string) {
    await createTopic(admin, topic, { partitions: 3 });
    const producer = newProducer({ "linger.ms": 20 });
    const ledger = new DeliveryLedger();
    const n = 30000;
    for (let i = 0; i < n; i++)
      ledger.produce(producer, { topic, key: `k${i % 31}`, value: `v${i}` });
    await waitFor(
      "a Produce request in flight",
      () => (producer.stats().requests > 0 ? true : undefined),
      5000,
      1,
    );
    return { producer, ledger, n };
  }

  it("delivers the records still in flight before it resolves", async () => {
    const topic = uniqueTopic("p-close");
    const { producer, ledger, n } = await produceUntilInFlight(topic);
    expect(ledger.reportedCount).toBeLessThan(n);
    expect(await producer.close(30_000)).toBe(0);
    expect(ledger.reportedCount).toBe(n);
    expect(ledger.notExactlyOnce()).toEqual([]);
    expect(ledger.failed()).toEqual([]);
    expect(producer.isClosed).toBe(true);
    expect(() => producer.produce({ topic, value: "late" })).toThrow(
      expect.objectContaining({ code: "DESTROYED" }),
    );
    const read = await javaConsume(bootstrap, topic);
    expect(read).toHaveLength(n);
    expect(new Set(read.map((r) => text(r.value))).size).toBe(n);
    expect(ledger.extraReports).toBe(0);
  });

  it("reports what it could not deliver by its deadline as DESTROYED, once each", async () => {
    const topic = uniqueTopic("p-close0");
    const { producer, ledger, n } = await produceUntilInFlight(topic);
    const failed = await producer.close(0);
    expect(ledger.reportedCount).toBe(n);
    expect(ledger.notExactlyOnce()).toEqual([]);
    const codes = ledger.failureCodes();
    expect(Object.keys(codes).filter((c) => c !== "DESTROYED")).toEqual([]);
    expect(codes.DESTROYED ?? 0).toBe(failed);
    expect(ledger.delivered().length + failed).toBe(n);
    expect(producer.stats()).toMatchObject({ queued: 0, failed, delivered: n - failed });
    // Every success is really in the log.
    const read = await javaConsume(bootstrap, topic);
    const stored = new Set(read.map((r) => `${r.partition}/${r.offset}`));
    for (const { report } of ledger.delivered()) {
      expect(stored.has(`${report.partition}/${report.offset}`)).toBe(true);
    }
    expect(ledger.extraReports).toBe(0);
  });

  it("gives up on a hung broker at its deadline", async () => {
    const hung = await silentBroker();
    try {
      const producer = newProducer({ "bootstrap.servers": hung.address });
      const ledger = new DeliveryLedger();
      for (let i = 0; i < 100; i++) ledger.produce(producer, { topic: "hung", value: `v${i}` });
      const t0 = Date.now();
      expect(await producer.close(1000)).toBe(100);
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(990);
      expect(took).toBeLessThan(5000);
      expect(ledger.notExactlyOnce()).toEqual([]);
      expect(ledger.failureCodes()).toEqual({ DESTROYED: 100 });
    } finally {
      await hung.close();
    }
  });
});

describe("after close nothing keeps the process alive", () => {
  let build: Awaited<ReturnType<typeof transpileSources>>;
  beforeAll(async () => {
    build = await transpileSources();
  });
  afterAll(async () => {
    await build?.remove();
  });

  // Runs in a fresh `node` on the transpiled sources: produce, close, and the process must
  // then end by itself (no process.exit).
  const script = `
const { Producer } = await import(process.env.PRODUCER_URL);
const props = JSON.parse(process.env.PROPS);
const p = new Producer(props);
let ok = 0, failed = 0;
const n = Number(process.env.COUNT);
for (let i = 0; i < n; i++) {
  p.produce({ topic: process.env.TOPIC, key: "k" + (i % 7), value: "v" + i }, (err) => {
    if (err) failed++; else ok++;
  });
}
const lost = await p.close(Number(process.env.CLOSE_MS));
console.log("CLOSED " + JSON.stringify({ ok, failed, lost }));
`;

  async function runChild(
    name: string,
    props: Record<string, string | number>,
    count: number,
    closeMs: number,
  ): Promise<{ ok: number; failed: number; lost: number }> {
    const run = await runNodeScript(
      script,
      build.dir,
      {
        PRODUCER_URL: pathToFileURL(`${build.dir}/producer/producer.js`).href,
        PROPS: JSON.stringify({ ...FAST, ...props }),
        TOPIC: uniqueTopic(`p-exit-${name}`),
        COUNT: String(count),
        CLOSE_MS: String(closeMs),
      },
      40_000,
    );
    // Nothing on stderr but the default logger's lines (a broker that is down is warned about).
    const unexpected = run.stderr
      .split("\n")
      .filter((l) => l !== "" && !/^\d{4}-\d\d-\d\dT\S+Z (WARN|ERROR) /.test(l));
    expect(unexpected, name).toEqual([]);
    expect(run.signal, name).toBeNull();
    expect(run.code, name).toBe(0);
    expect(run.exitAfterCloseMs, name).toBeDefined();
    expect(run.exitAfterCloseMs!, name).toBeLessThan(3000);
    return JSON.parse(/^CLOSED (.*)$/m.exec(run.stdout)![1]!);
  }

  it("after delivering to a live broker", async () => {
    const result = await runChild("live", { "bootstrap.servers": bootstrap }, 2000, 30_000);
    expect(result).toEqual({ ok: 2000, failed: 0, lost: 0 });
  });

  it("with no broker listening", async () => {
    const [port] = await freePorts(1);
    const result = await runChild("down", { "bootstrap.servers": `127.0.0.1:${port}` }, 50, 500);
    expect(result).toEqual({ ok: 0, failed: 50, lost: 50 });
  });

  it("with a broker that accepts connections and never answers", async () => {
    const hung = await silentBroker();
    try {
      const result = await runChild(
        "hung",
        {
          "bootstrap.servers": hung.address,
          // Longer than the whole test: a connection attempt left behind would show.
          "socket.connection.setup.timeout.ms": 60_000,
        },
        50,
        500,
      );
      expect(result).toEqual({ ok: 0, failed: 50, lost: 50 });
    } finally {
      await hung.close();
    }
  });

  it("with nothing produced", async () => {
    const result = await runChild("idle", { "bootstrap.servers": bootstrap }, 0, 1000);
    expect(result).toEqual({ ok: 0, failed: 0, lost: 0 });
  });
});
