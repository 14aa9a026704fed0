/**
 * The Node idioms on the producer, against the shared broker and read back by
 * the Java consumer: sendBatch() (reports in input order, all or nothing
 * queued), createWriteStream() (backpressure from the queue, 'finish' after
 * every report, failures to the pipeline, RSS bounded over a million lines),
 * `await using` (the process exits by itself) and AbortSignal (the wait ends,
 * the records go on).
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline as pipelineCallback, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, inject, it } from "vitest";
import { KafkaClientError } from "../../src/client/client-error.js";
import { AbortError } from "../../src/producer/abort.js";
import type { ProducerRecord } from "../../src/producer/record.js";
import type { BatchReport } from "../../src/producer/send-batch.js";
import { EventKafka } from "../../src/socket/index.js";
import { javaConsume, javaDigest, text } from "../broker/java-reader.js";
import { startProxy } from "../faults/proxy.js";
import { uniqueTopic } from "../helpers/topics.js";
import { producerSet, runNodeScript, transpileSources } from "./helpers.js";

const bootstrap = inject("kafkaBootstrap");
const producers = producerSet(bootstrap);
const newProducer = producers.create;

afterAll(() => producers.closeAll());

/** A producer whose broker is behind a proxy that forwards nothing, records failing after 1 s. */
async function blackholed() {
  const [host, port] = bootstrap.split(":");
  const proxy = await startProxy({ host: host!, port: Number(port) });
  proxy.blackhole(true);
  const producer = newProducer({
    "bootstrap.servers": `127.0.0.1:${proxy.port}`,
    "message.timeout.ms": 1000,
  });
  return { proxy, producer };
}

/** Where each report says its record went, as "partition:offset". */
const placeOf = (r: BatchReport): string =>
  r.status === "fulfilled" ? `${r.value.partition}:${r.value.offset}` : "failed";

describe("sendBatch()", () => {
  it("gives 10,000 reports in input order, each where the Java consumer finds its record", async () => {
    const topic = uniqueTopic("send-batch");
    const producer = newProducer();
    const records: ProducerRecord[] = Array.from({ length: 10_000 }, (_, i) => ({
      topic,
      key: `key-${i % 37}`,
      value: `value-${i}`,
      opaque: i,
    }));
    const reports = await producer.sendBatch(records);
    expect(reports).toHaveLength(10_000);
    expect(reports.filter((r) => r.status !== "fulfilled")).toEqual([]);
    expect(reports.map((r) => (r.status === "fulfilled" ? r.value.opaque : -1))).toEqual(
      records.map((_, i) => i),
    );
    const read = await javaConsume(bootstrap, topic, { count: 10_000 });
    const valueAt = new Map(read.map((r) => [`${r.partition}:${r.offset}`, text(r.value)]));
    expect(reports.map((r) => valueAt.get(placeOf(r)))).toEqual(records.map((r) => r.value));
  });

  it("queues nothing when one record is bad, and names it", async () => {
    const topic = uniqueTopic("send-batch-bad");
    const producer = newProducer();
    const records: ProducerRecord[] = Array.from({ length: 10 }, (_, i) => ({
      topic,
      value: i === 7 ? (42 as unknown as string) : `v${i}`,
    }));
    const err = await producer.sendBatch(records).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KafkaClientError);
    expect((err as KafkaClientError).code).toBe("INVALID_ARG");
    expect((err as Error).message).toMatch(
      /^sendBatch\(\): record 7 of 10 \(topic "send-batch-bad-/,
    );
    expect((err as Error).message).toContain("record value must be a string, a Buffer");
    expect(producer.stats().produced).toBe(0);
  });

  it("queues nothing when the queue has no room for the whole batch, and names the record", async () => {
    const topic = uniqueTopic("send-batch-full");
    const producer = newProducer({ "queue.buffering.max.messages": 100 });
    const batch = (n: number): ProducerRecord[] =>
      Array.from({ length: n }, (_, i) => ({ topic, value: `v${i}` }));
    const err = await producer.sendBatch(batch(101)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as KafkaClientError).code).toBe("QUEUE_FULL");
    expect((err as Error).message).toMatch(/^sendBatch\(\): record 100 of 101 /);
    expect(producer.queueLength).toBe(0);
    expect(producer.stats().produced).toBe(0);
    // A batch that fits goes through whole.
    const reports = await producer.sendBatch(batch(100));
    expect(reports.every((r) => r.status === "fulfilled")).toBe(true);
    expect(await javaConsume(bootstrap, topic, { count: 100 })).toHaveLength(100);
  });

  it("reports failures in place, allSettled-style, each with its record's report", async () => {
    const { proxy, producer } = await blackholed();
    try {
      const topic = uniqueTopic("send-batch-fail");
      const reports = await producer.sendBatch([
        { topic, value: "a", opaque: "first" },
        { topic, value: "b", opaque: "second" },
      ]);
      expect(reports.map((r) => r.status)).toEqual(["rejected", "rejected"]);
      for (const [i, r] of reports.entries()) {
        if (r.status !== "rejected") continue;
        expect((r.reason as KafkaClientError).code).toBe("MSG_TIMED_OUT");
        expect(r.report).toMatchObject({ topic, offset: -1, opaque: ["first", "second"][i] });
      }
    } finally {
      await producer.close(0);
      await proxy.close();
    }
  });
});

describe("createWriteStream()", () => {
  it("returns false from write() once the queue is full, and 'drain' comes when there is room", async () => {
    const topic = uniqueTopic("stream-backpressure");
    const producer = newProducer({ "queue.buffering.max.messages": 100, "linger.ms": 50 });
    const stream = producer.createWriteStream({ topic });
    let written = 0;
    while (stream.write(`v${written}`)) written++;
    written++; // the write that returned false was taken too
    // The queue was full when write() said so: one write held, one buffered.
    expect(producer.queueLength).toBe(100);
    expect(written).toBe(102);
    await once(stream, "drain");
    expect(producer.queueLength).toBeLessThan(100);
    stream.end();
    await once(stream, "finish");
    expect(stream.delivered).toBe(written);
    expect(stream.pending).toBe(0);
    const read = await javaConsume(bootstrap, topic, { count: written });
    expect(new Set(read.map((r) => text(r.value))).size).toBe(written);
  });

  it("bytes mode cuts records at the delimiter across chunks, CR dropped, the last without one", async () => {
    const topic = uniqueTopic("stream-bytes");
    const producer = newProducer();
    const stream = producer.createWriteStream({
      topic,
      delimiter: "\n",
      stripCr: true,
      partition: 1,
      key: "k",
    });
    const chunks = ["al", "pha\r\nbra", "vo\n\ncharlie\r", "\ndel", "ta"];
    await pipeline(Readable.from(chunks.map((c) => Buffer.from(c))), stream);
    expect(stream.delivered).toBe(4);
    const read = await javaConsume(bootstrap, topic, { count: 4, partition: 1 });
    expect(read.map((r) => [text(r.key), text(r.value)])).toEqual([
      ["k", "alpha"],
      ["k", "bravo"],
      ["k", "charlie"],
      ["k", "delta"],
    ]);
  });

  it("takes whole records in object mode, and a bad one errors the stream naming why", async () => {
    const topic = uniqueTopic("stream-records");
    const producer = newProducer();
    const good = producer.createWriteStream();
    await pipeline(
      Readable.from([
        { topic, value: "one", partition: 0 },
        { topic, value: "two", partition: 0, headers: [{ key: "h", value: "x" }] },
      ]),
      good,
    );
    const read = await javaConsume(bootstrap, topic, { count: 2, partition: 0 });
    expect(read.map((r) => text(r.value))).toEqual(["one", "two"]);
    const bad = producer.createWriteStream();
    const err = await pipeline(Readable.from(["no topic"]), bad).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as KafkaClientError).code).toBe("INVALID_ARG");
    expect((err as Error).message).toContain("a write stream without a topic takes records");
  });

  describe("a failed delivery (message.timeout.ms, broker blackholed)", () => {
    it("reaches the pipeline's callback and destroys the stream", async () => {
      const { proxy, producer } = await blackholed();
      try {
        const stream = producer.createWriteStream({ topic: uniqueTopic("stream-blackhole") });
        const err = await new Promise<Error | null | undefined>((resolve) => {
          pipelineCallback(Readable.from(["a", "b", "c"]), stream, (e) => resolve(e));
        });
        expect(err).toBeInstanceOf(KafkaClientError);
        expect((err as KafkaClientError).code).toBe("MSG_TIMED_OUT");
        expect(stream.destroyed).toBe(true);
      } finally {
        await producer.close(0);
        await proxy.close();
      }
    });

    it('with failures: "count", ends once every record has its report, saying how many failed', async () => {
      const { proxy, producer } = await blackholed();
      try {
        const stream = producer.createWriteStream({
          topic: uniqueTopic("stream-blackhole-count"),
          failures: "count",
        });
        const err = await new Promise<Error | null | undefined>((resolve) => {
          pipelineCallback(Readable.from(["a", "b", "c"]), stream, (e) => resolve(e));
        });
        expect((err as KafkaClientError).code).toBe("DELIVERY_FAILED");
        expect((err as Error).message).toMatch(/^3 of 3 records written to the stream failed/);
        expect(((err as Error).cause as KafkaClientError).code).toBe("MSG_TIMED_OUT");
        expect([stream.failed, stream.delivered, stream.pending]).toEqual([3, 0, 0]);
      } finally {
        await producer.close(0);
        await proxy.close();
      }
    });
  });

  it("pipes a million lines from a file, the queue full, with peak RSS within its limit plus 30 MB", async () => {
    const dir = await mkdtemp(join(tmpdir(), "stream-rss-"));
    const build = await transpileSources();
    try {
      const lines = 1_000_000;
      const file = join(dir, "lines.txt");
      const pad = "x".repeat(90);
      const parts: string[] = [];
      for (let i = 0; i < lines; i++) parts.push(`${String(i).padStart(7, "0")} ${pad}\n`);
      const content = Buffer.from(parts.join(""));
      await writeFile(file, content);
      const sha256 = createHash("sha256").update(content).digest("hex");
      const queueKbytes = 16 * 1024;
      const queueRecords = 10_000;
      const topics = {
        bytes: uniqueTopic("stream-rss-bytes"),
        lines: uniqueTopic("stream-rss-lines"),
      };
      const run = await runNodeScript(
        RSS_SCRIPT,
        build.dir,
        {
          PRODUCER_URL: pathToFileURL(`${build.dir}/producer/producer.js`).href,
          PROPS: JSON.stringify({
            "bootstrap.servers": bootstrap,
            "queue.buffering.max.kbytes": queueKbytes,
            "queue.buffering.max.messages": queueRecords,
          }),
          FILE: file,
          TOPIC_BYTES: topics.bytes,
          TOPIC_LINES: topics.lines,
        },
        240_000,
      );
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const result = JSON.parse(/^RESULT (.*)$/m.exec(run.stdout)![1]!) as Record<
        "bytes" | "lines",
        { baseline: number; peak: number; fullest: number; delivered: number }
      >;
      const limit = queueKbytes * 1024 + 30 * 1024 * 1024;
      for (const mode of ["bytes", "lines"] as const) {
        expect(result[mode].delivered, mode).toBe(lines);
        // The reader outran the broker: the queue filled and held the pipeline back.
        expect(result[mode].fullest, mode).toBe(queueRecords);
        expect(result[mode].peak - result[mode].baseline, mode).toBeLessThan(limit);
      }
      for (const topic of [topics.bytes, topics.lines]) {
        const [digest] = await javaDigest(bootstrap, topic, { partition: 0, timeoutMs: 120_000 });
        expect(digest).toMatchObject({
          count: lines,
          firstOffset: 0,
          lastOffset: lines - 1,
          sha256,
        });
      }
    } finally {
      await build.remove();
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

/**
 * The file twice through a write stream to partition 0: in bytes mode, then
 * through a line splitter in object mode. Each starts with a warm-up run of
 * the file's first 5 MB to partition 1 (compiled code, buffer pools, the
 * heap's size: what any first run costs), then takes the RSS and samples its
 * peak while the whole file goes through.
 */
const RSS_SCRIPT = `
import fs from "node:fs";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
const { Producer } = await import(process.env.PRODUCER_URL);
const producer = new Producer(JSON.parse(process.env.PROPS));
const { FILE, TOPIC_BYTES, TOPIC_LINES } = process.env;
class Split extends Transform {
  rest = "";
  constructor() { super({ readableObjectMode: true }); }
  _transform(chunk, _encoding, callback) {
    const lines = (this.rest + chunk).split("\\n");
    this.rest = lines.pop();
    for (const line of lines) this.push(line);
    callback();
  }
  _flush(callback) { if (this.rest) this.push(this.rest); callback(); }
}
const modes = {
  bytes: (partition, end) => [
    fs.createReadStream(FILE, { end }),
    producer.createWriteStream({ topic: TOPIC_BYTES, delimiter: "\\n", partition }),
  ],
  lines: (partition, end) => [
    fs.createReadStream(FILE, { encoding: "utf8", end }),
    new Split(),
    producer.createWriteStream({ topic: TOPIC_LINES, partition }),
  ],
};
const result = {};
for (const [mode, streams] of Object.entries(modes)) {
  await pipeline(streams(1, 5_000_000));
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  let fullest = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
    fullest = Math.max(fullest, producer.queueLength);
  }, 5);
  const run = streams(0, undefined);
  await pipeline(run);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  result[mode] = { baseline, peak, fullest, delivered: run.at(-1).delivered };
}
await producer.close();
console.log("RESULT " + JSON.stringify(result));
`;

describe("await using", () => {
  it("in this process: the producer and the EventKafka are closed at the end of their scopes", async () => {
    const topic = uniqueTopic("await-using-here");
    let producer: { isClosed: boolean } | undefined;
    {
      await using scoped = newProducer();
      producer = scoped;
      scoped.produce({ topic, value: "scoped" });
    }
    expect(producer.isClosed).toBe(true);
    let kafka: EventKafka | undefined;
    {
      await using scoped = new EventKafka();
      kafka = scoped;
      scoped.publish(scoped.addBroker(`[k]kafka:${bootstrap}/${topic}`), "published");
      expect(scoped.producerCount).toBe(1);
    }
    expect(kafka.producerCount).toBe(0);
    const read = await javaConsume(bootstrap, topic, { count: 2 });
    expect(read.map((r) => text(r.value)).sort()).toEqual(["published", "scoped"]);
  });

  it("closes the producer and the EventKafka at the end of the scope, and the process exits", async () => {
    const build = await transpileSources(["producer/producer.ts", "socket/index.ts"]);
    try {
      const ts = (await import("typescript")).default;
      // Lowered to ES2022 as a user's TypeScript would be for Node 20.
      const script = ts.transpileModule(USING_SCRIPT, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      const topic = uniqueTopic("await-using");
      const run = await runNodeScript(
        script,
        build.dir,
        {
          PRODUCER_URL: pathToFileURL(`${build.dir}/producer/producer.js`).href,
          SOCKET_URL: pathToFileURL(`${build.dir}/socket/index.js`).href,
          BOOTSTRAP: bootstrap,
          TOPIC: topic,
        },
        40_000,
      );
      expect(run.stderr).toBe("");
      expect(run.signal).toBeNull();
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("PRODUCER CLOSED true");
      expect(run.stdout).toContain("EVENT_KAFKA CLOSED 0");
      // Nothing kept the process alive once the scopes closed.
      expect(run.exitAfterCloseMs).toBeDefined();
      expect(run.exitAfterCloseMs!).toBeLessThan(3000);
      const read = await javaConsume(bootstrap, topic, { count: 101 });
      expect(read.map((r) => text(r.value)).sort()).toEqual(
        [...Array.from({ length: 100 }, (_, i) => `v${i}`), "published"].sort(),
      );
    } finally {
      await build.remove();
    }
  });
});

const USING_SCRIPT = `
const { Producer } = await import(process.env.PRODUCER_URL!);
const { EventKafka } = await import(process.env.SOCKET_URL!);
let closed: { isClosed: boolean } | undefined;
{
  await using producer = new Producer({ "bootstrap.servers": process.env.BOOTSTRAP! });
  closed = producer;
  for (let i = 0; i < 100; i++) producer.produce({ topic: process.env.TOPIC!, value: "v" + i });
}
console.log("PRODUCER CLOSED " + closed.isClosed);
let kafka: { producerCount: number } | undefined;
{
  await using events = new EventKafka();
  kafka = events;
  const id = events.addBroker("[out]kafka:" + process.env.BOOTSTRAP! + "/" + process.env.TOPIC!);
  events.publish(id, "published");
}
console.log("EVENT_KAFKA CLOSED " + kafka.producerCount);
console.log("CLOSED");
`;

describe("AbortSignal", () => {
  it("rejects flush() within 10 ms, while its records are still delivered afterwards", async () => {
    const topic = uniqueTopic("abort-flush");
    const producer = newProducer();
    await producer.send({ topic, value: "warm-up", partition: 0 });
    const outcomes: (Error | null)[] = [];
    for (let i = 0; i < 5000; i++) {
      producer.produce({ topic, value: `v${i}`, partition: 1 }, (err) => outcomes.push(err));
    }
    const controller = new AbortController();
    const flushing = producer.flush({ signal: controller.signal });
    const start = performance.now();
    controller.abort(new Error("the caller gave up"));
    // Rejected in the turn of the event loop that aborted: no timer, no I/O first.
    let nextTurn = false;
    setImmediate(() => {
      nextTurn = true;
    });
    const err = await flushing.then(
      () => undefined,
      (e: unknown) => e,
    );
    const elapsedMs = performance.now() - start;
    const queuedAtAbort = producer.queueLength;
    expect(nextTurn).toBe(false);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).name).toBe("AbortError");
    expect(((err as Error).cause as Error).message).toBe("the caller gave up");
    // The issue's 10 ms, with room for a loaded machine descheduling this process.
    expect(elapsedMs).toBeLessThan(50);
    expect(queuedAtAbort).toBeGreaterThan(0);
    expect(await producer.flush()).toBe(0);
    expect(outcomes).toHaveLength(5000);
    expect(outcomes.filter((e) => e !== null)).toEqual([]);
    expect(await javaConsume(bootstrap, topic, { count: 5000, partition: 1 })).toHaveLength(5000);
  });

  it("rejects send() and sendBatch() waits, the records delivered all the same", async () => {
    const topic = uniqueTopic("abort-send");
    const producer = newProducer();
    const controller = new AbortController();
    const sent = producer.send(
      { topic, value: "one", partition: 0 },
      { signal: controller.signal },
    );
    const batch = producer.sendBatch(
      [
        { topic, value: "two", partition: 0 },
        { topic, value: "three", partition: 0 },
      ],
      { signal: controller.signal },
    );
    controller.abort();
    await expect(sent).rejects.toBeInstanceOf(AbortError);
    await expect(batch).rejects.toBeInstanceOf(AbortError);
    expect(await producer.flush()).toBe(0);
    expect(producer.stats().delivered).toBe(3);
    const read = await javaConsume(bootstrap, topic, { count: 3, partition: 0 });
    expect(read.map((r) => text(r.value))).toEqual(["one", "two", "three"]);
  });

  it("an already aborted signal queues nothing; a wrong one is refused by name", async () => {
    const topic = uniqueTopic("abort-before");
    const producer = newProducer();
    const signal = AbortSignal.abort(new Error("too late"));
    await expect(producer.send({ topic, value: "x" }, { signal })).rejects.toThrow(AbortError);
    await expect(producer.sendBatch([{ topic, value: "x" }], { signal })).rejects.toThrow(
      "sendBatch() aborted",
    );
    await expect(producer.flush({ signal })).rejects.toThrow("flush() aborted");
    await expect(producer.close({ signal })).rejects.toThrow("close() aborted");
    expect(producer.isClosed).toBe(false);
    expect(producer.stats().produced).toBe(0);
    const notASignal = { signal: "soon" } as unknown as { signal: AbortSignal };
    await expect(producer.flush(notASignal)).rejects.toThrow(
      "flush(): options.signal must be an AbortSignal",
    );
  });

  it("close() goes on after its wait is aborted, and delivers what was queued", async () => {
    const topic = uniqueTopic("abort-close");
    const producer = newProducer();
    for (let i = 0; i < 100; i++) producer.produce({ topic, value: `v${i}`, partition: 2 });
    const controller = new AbortController();
    const closing = producer.close({ signal: controller.signal, timeoutMs: 10_000 });
    controller.abort();
    await expect(closing).rejects.toBeInstanceOf(AbortError);
    // The same close, waited for again.
    expect(await producer.close()).toBe(0);
    expect(producer.stats().delivered).toBe(100);
    expect(await javaConsume(bootstrap, topic, { count: 100, partition: 2 })).toHaveLength(100);
  });

  it("an aborted commitTransaction() goes on, and calling it again gets its outcome", async () => {
    const topic = uniqueTopic("abort-commit");
    const producer = newProducer({ "transactional.id": uniqueTopic("abort-commit-txn") });
    await producer.initTransactions({ timeoutMs: 30_000 });
    producer.beginTransaction();
    for (let i = 0; i < 10; i++) producer.produce({ topic, value: `v${i}`, partition: 0 });
    const controller = new AbortController();
    const committing = producer.commitTransaction({ signal: controller.signal });
    controller.abort();
    await expect(committing).rejects.toBeInstanceOf(AbortError);
    await producer.commitTransaction();
    expect(producer.transactionState?.state).toBe("ready");
    const read = await javaConsume(bootstrap, topic, {
      count: 10,
      partition: 0,
      config: { "isolation.level": "read_committed" },
    });
    expect(read.map((r) => text(r.value))).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`));
  });
});
