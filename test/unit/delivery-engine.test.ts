/**
 * The delivery engine against the in-process fake cluster (test/helpers/fake-broker.ts):
 * the timing and fault cases a real broker cannot produce on demand, one test per
 * defect the engine was rebuilt for, and the idempotent producer's error paths.
 * Real-broker proof of the same behaviour is in test/producer and test/faults.
 */
import { describe, expect, it } from "vitest";
import { ApiKey } from "../../src/protocol/api-keys.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import {
  closeAfterEach,
  fakeCluster,
  logValues,
  type Outcome,
  produceAll,
  producer,
  values,
} from "../helpers/engine.js";

closeAfterEach();

describe("idempotent delivery", () => {
  it("writes each record once when connections drop after the broker wrote the batch", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    let drops = 0;
    // The first three Produce requests are written, then their connection is cut
    // before the answer: the producer cannot know, and must resend.
    c.broker(1).intercept((req) =>
      req.apiKey === ApiKey.Produce && drops++ < 3 ? { closeConnection: "after" } : undefined,
    );
    const p = producer(c);
    const first = produceAll(p, "t", values(50, "a"));
    await first.done;
    const second = produceAll(p, "t", values(50, "b"));
    const outcomes = [...(await first.done), ...(await second.done)];
    expect(outcomes.every((o) => o.err === null)).toBe(true);
    expect(drops).toBeGreaterThanOrEqual(3);
    expect(logValues(c, "t")).toEqual([...values(50, "a"), ...values(50, "b")]);
    // Offsets reported are where the records are.
    expect(outcomes.map((o) => o.report.offset)).toEqual(outcomes.map((_, i) => i));
  });

  it("keeps order with several batches in flight per partition, and pipelines them", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    c.broker(1).intercept((req) => (req.apiKey === ApiKey.Produce ? { delayMs: 50 } : undefined));
    const p = producer(c, { "batch.num.messages": 10 });
    const { done } = produceAll(p, "t", values(200));
    await done;
    expect(logValues(c, "t")).toEqual(values(200));
    // The first batch goes alone (the broker holds no state for the producer yet); once
    // it is acknowledged, requests arrive while earlier ones are unanswered (50 ms each).
    const produces = c.broker(1).requests.filter((r) => r.apiKey === ApiKey.Produce);
    expect(produces.length).toBeGreaterThanOrEqual(20);
    expect(produces[1]!.at - produces[0]!.at).toBeGreaterThanOrEqual(45);
    const nextFive = produces.slice(1, 6).map((r) => r.at);
    expect(nextFive[4]! - nextFive[0]!).toBeLessThan(50);
  });

  it("does not close the open batch early when full ones ahead of it are sent", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    const p = producer(c, { "batch.num.messages": 10, "linger.ms": 200 });
    const first = produceAll(p, "t", values(25, "a"));
    await new Promise((r) => setTimeout(r, 50));
    const second = produceAll(p, "t", values(5, "b"));
    await Promise.all([first.done, second.done]);
    // 10 + 10 sent when full, then the last 10 together after linger.ms.
    expect(p.stats().batchesSent).toBe(3);
    expect(logValues(c, "t")).toEqual([...values(25, "a"), ...values(5, "b")]);
  });

  it("resends in order after an error on one batch while later ones were in flight", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    let produces = 0;
    c.broker(1).intercept((req) => {
      if (req.apiKey !== ApiKey.Produce) return undefined;
      produces++;
      // The second batch is refused (retriable); those behind it then get
      // OUT_OF_ORDER_SEQUENCE_NUMBER from the broker's own sequence check.
      return produces === 2
        ? { delayMs: 30, partitionErrors: { "t:0": ErrorCode.NOT_ENOUGH_REPLICAS } }
        : { delayMs: 30 };
    });
    const p = producer(c, { "batch.num.messages": 5 });
    const { done } = produceAll(p, "t", values(60));
    const outcomes = await done;
    expect(outcomes.filter((o) => o.err !== null)).toEqual([]);
    expect(logValues(c, "t")).toEqual(values(60));
  });

  it("sends one batch at a time until the partition's broker holds the producer's state", async () => {
    // A broker with no state for a producer id appends whatever sequence comes first
    // (Kafka 2.5+). If the first batch of a fresh partition is refused (a leader still
    // settling answers NOT_LEADER_OR_FOLLOWER) while the second is in flight, the
    // second would be appended first and the first land after everything else.
    const c = await fakeCluster({
      topics: [{ name: "t", partitions: 1 }],
      acceptUnknownProducerSequence: true,
    });
    let produces = 0;
    c.broker(1).intercept((req) => {
      if (req.apiKey !== ApiKey.Produce) return undefined;
      produces++;
      return produces === 1
        ? { delayMs: 30, partitionErrors: { "t:0": ErrorCode.NOT_LEADER_OR_FOLLOWER } }
        : { delayMs: 30 };
    });
    const p = producer(c, { "batch.num.messages": 5 });
    const { done } = produceAll(p, "t", values(60));
    const outcomes = await done;
    expect(outcomes.filter((o) => o.err !== null)).toEqual([]);
    expect(logValues(c, "t")).toEqual(values(60));
  });

  it("recovers from UNKNOWN_PRODUCER_ID with a new epoch, and each record is written once", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    const p = producer(c);
    await produceAll(p, "t", values(10, "a")).done;
    let injected = false;
    c.broker(1).intercept((req) => {
      if (req.apiKey !== ApiKey.Produce || injected) return undefined;
      injected = true;
      return { partitionErrors: { "t:0": ErrorCode.UNKNOWN_PRODUCER_ID } };
    });
    const outcomes = await produceAll(p, "t", values(10, "b")).done;
    expect(outcomes.every((o) => o.err === null)).toBe(true);
    const log = c.log("t", 0);
    expect(log.map((r) => r.value?.toString())).toEqual([...values(10, "a"), ...values(10, "b")]);
    // The second run went under a higher epoch of the same id, from sequence 0.
    expect(log[10]!.producerId).toBe(log[0]!.producerId);
    expect(log[10]!.producerEpoch).toBe(log[0]!.producerEpoch + 1);
    expect(log[10]!.sequence).toBe(0);
  });

  it("treats DUPLICATE_SEQUENCE_NUMBER as delivered", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    c.broker(1).intercept((req) =>
      req.apiKey === ApiKey.Produce
        ? { partitionErrors: { "t:0": ErrorCode.DUPLICATE_SEQUENCE_NUMBER } }
        : undefined,
    );
    const p = producer(c);
    const [o] = await produceAll(p, "t", ["x"]).done;
    expect(o!.err).toBeNull();
    expect(o!.report.offset).toBe(-1); // the broker named no offset
  });

  it("goes fatal on PRODUCER_FENCED: every queued record fails with the cause, produce() throws", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    c.broker(1).intercept((req) =>
      req.apiKey === ApiKey.Produce
        ? { partitionErrors: { "t:0": ErrorCode.PRODUCER_FENCED } }
        : undefined,
    );
    const p = producer(c);
    const outcomes = await produceAll(p, "t", values(20)).done;
    expect(outcomes.every((o) => o.err?.message.includes("PRODUCER_FENCED"))).toBe(true);
    expect(() => p.produce({ topic: "t", value: "late" })).toThrow(
      /cannot go on: .*PRODUCER_FENCED/,
    );
  });

  it("retries InitProducerId after a retriable error, then delivers", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    let refused = 0;
    // apply:false answers REQUEST_TIMED_OUT, a retriable error.
    c.broker(1).intercept((req) =>
      req.apiKey === ApiKey.InitProducerId && refused++ < 2 ? { apply: false } : undefined,
    );
    const p = producer(c);
    const [o] = await produceAll(p, "t", ["x"]).done;
    expect(o!.err).toBeNull();
    expect(c.broker(1).requests.filter((r) => r.apiKey === ApiKey.InitProducerId).length).toBe(3);
    expect(c.log("t", 0)[0]!.producerId).toBeGreaterThanOrEqual(0);
  });

  it("names the missing API when the broker has no InitProducerId, and fails records at once", async () => {
    const c = await fakeCluster({
      topics: [{ name: "t", partitions: 1 }],
      apiVersions: { [ApiKey.InitProducerId]: null },
    });
    // Required: without it the producer goes on without idempotence (engine-hardening.test.ts).
    const p = producer(c, { "enable.idempotence": true });
    const started = Date.now();
    const [o] = await produceAll(p, "t", ["x"]).done;
    expect(o!.err).toMatchObject({ code: "UNSUPPORTED_FEATURE" });
    expect(o!.err?.message).toMatch(/InitProducerId.*enable\.idempotence=false/);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(() => p.produce({ topic: "t", value: "y" })).toThrow(/cannot go on/);
    // Without idempotence the same broker takes the records.
    const q = producer(c, { "enable.idempotence": false });
    const [ok] = await produceAll(q, "t", ["z"]).done;
    expect(ok!.err).toBeNull();
    expect(logValues(c, "t")).toEqual(["z"]);
  });
});

describe("regressions of the first engine", () => {
  it("a late response after a record's deadline does not send the next batch twice", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    let first = true;
    c.broker(1).intercept((req) => {
      if (req.apiKey !== ApiKey.Produce || !first) return undefined;
      first = false;
      return { delayMs: 400 };
    });
    for (const idempotence of [false, true]) {
      const topic = "t";
      const before = c.log(topic, 0).length;
      first = true;
      const p = producer(c, { "enable.idempotence": idempotence, "message.timeout.ms": 300 });
      const a = produceAll(p, topic, [`A${idempotence}`]);
      const [oa] = await a.done;
      // Reported at its deadline while its request is unanswered, flagged: the broker
      // may well hold it (it does).
      expect(oa!.err).toMatchObject({ code: "MSG_TIMED_OUT" });
      expect(oa!.report.possiblyPersisted).toBe(true);
      const b = produceAll(p, topic, [`B${idempotence}`, `C${idempotence}`]);
      expect(await p.flush(5000)).toBe(0);
      expect((await b.done).every((o) => o.err === null)).toBe(true);
      await new Promise((r) => setTimeout(r, 200));
      expect(logValues(c, topic).slice(before)).toEqual([
        `A${idempotence}`,
        `B${idempotence}`,
        `C${idempotence}`,
      ]);
      await p.close(1000);
    }
  });

  it("records produced before the topic's metadata keep produce order, and are copied at produce()", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    const p = producer(c, { "enable.idempotence": false });
    const buf = Buffer.from("msg-0");
    const order: string[] = [];
    p.produce({ topic: "t", value: buf }, () => order.push("A"));
    buf.write("msg-1"); // the caller reuses its buffer at once
    p.produce({ topic: "t", value: buf }, () => order.push("B"));
    buf.write("msg-2");
    // Produce C the moment the metadata is known, before the producer's next turn.
    await new Promise<void>((resolve) => {
      const poll = (): void => {
        if (p.partitionCount("t") === undefined) {
          setImmediate(poll);
          return;
        }
        p.produce({ topic: "t", value: "msg-C" }, () => order.push("C"));
        resolve();
      };
      poll();
    });
    await p.flush(5000);
    expect(logValues(c, "t")).toEqual(["msg-0", "msg-1", "msg-C"]);
    expect(order).toEqual(["A", "B", "C"]);
  });

  it("fails records at message.timeout.ms against a broker that never answers, not at socket.timeout.ms", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    const p = producer(c, { "message.timeout.ms": 1500, "socket.timeout.ms": 60000 });
    await produceAll(p, "t", ["warm-up"]).done;
    c.broker(1).blackhole(true);
    const started = Date.now();
    const first = produceAll(p, "t", values(5, "a"));
    await new Promise((r) => setTimeout(r, 300));
    const later = produceAll(p, "t", values(5, "b")); // queued behind the one in flight
    const outcomes = [...(await first.done), ...(await later.done)];
    expect(outcomes.every((o) => o.err?.code === "MSG_TIMED_OUT")).toBe(true);
    const last = Math.max(...outcomes.map((o) => o.at)) - started;
    expect(last).toBeGreaterThanOrEqual(1500);
    expect(last).toBeLessThan(1500 + 300 + 1000);
    // The batch in flight is flagged: the broker may have it.
    expect(outcomes[0]!.report.possiblyPersisted).toBe(true);
    const closeStarted = Date.now();
    await p.close(500);
    expect(Date.now() - closeStarted).toBeLessThan(1500);
  });

  it("gives acks=0 writes a deadline: a broker that stops reading fails them at message.timeout.ms", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    const p = producer(c, { acks: 0, "message.timeout.ms": 1500 });
    await produceAll(p, "t", ["warm-up"]).done;
    c.broker(1).stallReads(true);
    const big = "x".repeat(100_000);
    const started = Date.now();
    // Far more than the socket buffers hold: the writes cannot complete.
    const { done } = produceAll(
      p,
      "t",
      Array.from({ length: 300 }, () => big),
    );
    const outcomes = await done;
    const failed = outcomes.filter((o) => o.err !== null);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((o) => o.err?.code === "MSG_TIMED_OUT")).toBe(true);
    expect(Math.max(...outcomes.map((o) => o.at)) - started).toBeLessThan(1500 + 1500);
    c.broker(1).stallReads(false);
  });

  it("keeps each Produce request within message.max.bytes", async () => {
    const c = await fakeCluster({
      topics: [{ name: "t", partitions: 24 }],
      maxRequestBytes: 1_100_000, // the broker's socket.request.max.bytes, here
    });
    const p = producer(c, { "linger.ms": 50, "enable.idempotence": false });
    const value = "v".repeat(40_000);
    const outcomes: Promise<Outcome[]>[] = [];
    for (let partition = 0; partition < 24; partition++) {
      outcomes.push(produceAll(p, "t", [value, value, value], partition).done);
    }
    const all = (await Promise.all(outcomes)).flat();
    expect(all.filter((o) => o.err !== null)).toEqual([]);
    expect(c.broker(1).errors).toEqual([]); // no request over the cap closed the connection
    expect(c.broker(1).requests.filter((r) => r.apiKey === ApiKey.Produce).length).toBeGreaterThan(
      2,
    );
  });

  it("splits a batch refused as too large and sends the halves in order", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    c.setMaxMessageBytes("t", 700);
    const p = producer(c, { "linger.ms": 20 });
    const vs = values(16).map((v) => v.padEnd(100, "."));
    const outcomes = await produceAll(p, "t", vs).done;
    expect(outcomes.filter((o) => o.err !== null)).toEqual([]);
    expect(logValues(c, "t")).toEqual(vs);
  });

  it("routes a deleted and re-created topic to its new leader (new topic id, epochs from 0)", async () => {
    const c = await fakeCluster({ nodes: 2, topics: [{ name: "t", partitions: 1, leaders: [1] }] });
    for (let i = 0; i < 5; i++) c.setLeader("t", 0, i % 2 === 0 ? 2 : 1); // leader epoch 5, node 2
    c.setLeader("t", 0, 1);
    const p = producer(c, { "enable.idempotence": false, "metadata.max.age.ms": 100 });
    await produceAll(p, "t", ["before"]).done;
    c.recreateTopic("t", 1, [2]);
    await c.broker(1).stop(); // the old leader is gone too
    const [o] = await produceAll(p, "t", ["after"]).done;
    expect(o!.err).toBeNull();
    expect(logValues(c, "t")).toEqual(["after"]);
  });

  it("holds requests to a broker that asks for throttling (KIP-219)", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    let throttled = false;
    c.broker(1).intercept((req) => {
      if (req.apiKey !== ApiKey.Produce || throttled) return undefined;
      throttled = true;
      return { throttleTimeMs: 600 };
    });
    const p = producer(c);
    await produceAll(p, "t", ["a"]).done;
    const answeredAt = Date.now();
    await produceAll(p, "t", ["b"]).done;
    const produces = c.broker(1).requests.filter((r) => r.apiKey === ApiKey.Produce);
    expect(produces.length).toBe(2);
    // The second request left the client only after the throttle time.
    expect(produces[1]!.at - answeredAt).toBeGreaterThanOrEqual(550);
  });

  it("sizes batch buffers to need: 2000 partitions with one small record each", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 2000 }] });
    const p = producer(c, { "linger.ms": 60000, "enable.idempotence": false });
    const warmUp = produceAll(p, "t", ["warm-up"]);
    await p.flush(5000);
    await warmUp.done;
    for (let partition = 0; partition < 2000; partition++) {
      p.produce({ topic: "t", value: "x".repeat(200), partition });
    }
    const { bufferBytes } = p.stats();
    expect(bufferBytes).toBeGreaterThan(0);
    expect(bufferBytes).toBeLessThanOrEqual(2000 * 1024);
    await p.flush(5000);
  });

  it("uses one connection per broker: the bootstrap connection becomes the node's", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    const p = producer(c);
    await produceAll(p, "t", values(5)).done;
    expect(c.broker(1).connectionsAccepted).toBe(1);
  });
});
