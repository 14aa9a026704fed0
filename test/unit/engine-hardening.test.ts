/**
 * The eight defects a hostile review proved in the delivery engine, one
 * regression test each (each failed on the engine before its fix), on the
 * in-process fake cluster, which can produce the timing and the broker
 * answers on demand. The real-broker side is in test/producer.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Logger } from "../../src/client/logger.js";
import { ApiKey } from "../../src/protocol/api-keys.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import {
  closeAfterEach,
  fakeCluster,
  logValues,
  type Outcome,
  produceAll,
  producer,
  sleep,
  values,
} from "../helpers/engine.js";

closeAfterEach();

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe("1. fairness between the partitions of one broker", () => {
  it("a partition whose batches fill every request does not starve another", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 2 }] });
    c.broker(1).intercept((req) => (req.apiKey === ApiKey.Produce ? { delayMs: 5 } : undefined));
    // batch.size close to message.max.bytes, as the defaults are: a request with one
    // batch of 19 records of 1000 bytes (19232 bytes) has no room for another batch.
    const p = producer(c, { "batch.size": 20_000, "message.max.bytes": 19_280 });
    // Both partitions have had a batch acknowledged: five may be in flight on each.
    await Promise.all([0, 1].map((i) => produceAll(p, "t", ["warm-up"], i).done));
    const big = Buffer.alloc(1000, 120);
    let deliveredOnZero = 0;
    const backlog: Promise<Outcome[]>[] = [];
    for (let i = 0; i < 3000; i++) {
      backlog.push(
        new Promise((resolve) =>
          p.produce({ topic: "t", value: big, partition: 0 }, (err, report) => {
            if (err === null) deliveredOnZero++;
            resolve([{ err, report, at: Date.now() }]);
          }),
        ),
      );
    }
    // The backlog flows, five requests in flight, when the lone record comes.
    while (deliveredOnZero < 100) await sleep(1);
    const zeroBefore = deliveredOnZero;
    const [lone] = await produceAll(p, "t", ["lone"], 1).done;
    const overtaken = deliveredOnZero - zeroBefore;
    await Promise.all(backlog);
    expect(lone!.err).toBeNull();
    // 19 records a batch: the lone record waits for the requests already in
    // flight and at most one more, not for the whole backlog of some 150 batches.
    expect(overtaken).toBeLessThanOrEqual(6 * 20);
    expect(deliveredOnZero).toBe(3000);
  });
});

describe("2. epochs", () => {
  it("one incident on 20 partitions takes one epoch, not 20", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 20 }] });
    const p = producer(c, { "linger.ms": 30 });
    await Promise.all(range(20).map((i) => produceAll(p, "t", [`w${i}`], i).done));
    const epoch = c.log("t", 0)[0]!.producerEpoch;
    // The broker lost the producer's state: each partition's first batch after that
    // is refused, in whichever request it comes.
    const refused = new Set<number>();
    c.broker(1).intercept((req) => {
      if (req.apiKey !== ApiKey.Produce) return undefined;
      const errors: Record<string, number> = {};
      for (const d of req.body.topicData[0]!.partitionData) {
        if (refused.has(d.index)) continue;
        refused.add(d.index);
        errors[`t:${d.index}`] = ErrorCode.UNKNOWN_PRODUCER_ID;
      }
      return { partitionErrors: errors };
    });
    const outcomes = await Promise.all(
      range(20).map((i) => produceAll(p, "t", values(3, `p${i}-`), i).done),
    );
    expect(refused.size).toBe(20);
    expect(outcomes.flat().filter((o) => o.err !== null)).toEqual([]);
    const after = new Set(
      range(20)
        .flatMap((i) => c.log("t", i).slice(1))
        .map((r) => r.producerEpoch),
    );
    expect([...after]).toEqual([epoch + 1]);
    for (const i of range(20))
      expect(logValues(c, "t", i)).toEqual([`w${i}`, ...values(3, `p${i}-`)]);
  });

  it("gets a new producer id when the epoch is exhausted instead of failing for good", async () => {
    const c = await fakeCluster({
      topics: [{ name: "t", partitions: 1 }],
      firstProducerEpoch: 32766,
    });
    const p = producer(c);
    await produceAll(p, "t", ["w"]).done;
    let incidents = 0;
    let armed = false;
    c.broker(1).intercept((req) => {
      if (req.apiKey !== ApiKey.Produce || !armed) return undefined;
      armed = false;
      incidents++;
      return { partitionErrors: { "t:0": ErrorCode.UNKNOWN_PRODUCER_ID } };
    });
    // Two incidents: the first takes the last epoch (32767), the second needs a new id.
    for (const round of ["a", "b"]) {
      armed = true;
      const outcomes = await produceAll(p, "t", values(3, round)).done;
      expect(outcomes.filter((o) => o.err !== null)).toEqual([]);
    }
    expect(incidents).toBe(2);
    const log = c.log("t", 0);
    expect(log.map((r) => r.value?.toString())).toEqual([
      "w",
      ...values(3, "a"),
      ...values(3, "b"),
    ]);
    expect(log[1]!.producerEpoch).toBe(32767);
    expect(log[4]!.producerId).not.toBe(log[0]!.producerId);
    expect(log[4]!.sequence).toBe(0);
    const inits = c.broker(1).requests.filter((r) => r.apiKey === ApiKey.InitProducerId);
    expect(inits.length).toBe(2);
    expect(() => p.produce({ topic: "t", value: "still open" })).not.toThrow();
  });
});

describe("3. a fatal code in one partition of a response", () => {
  it("applies the rest of the response first: a batch the broker wrote is delivered", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 2 }] });
    let fenced = -1;
    c.broker(1).intercept((req) => {
      if (req.apiKey !== ApiKey.Produce || fenced >= 0) return undefined;
      const parts = req.body.topicData.flatMap((t) => t.partitionData.map((d) => d.index));
      if (parts.length < 2) return undefined;
      // The partition answered first is the fenced one; the other is written.
      fenced = parts[0]!;
      return { partitionErrors: { [`t:${fenced}`]: ErrorCode.PRODUCER_FENCED } };
    });
    const p = producer(c, { "linger.ms": 50 });
    const a = produceAll(p, "t", values(3, "a"), 0);
    const b = produceAll(p, "t", values(3, "b"), 1);
    const byPartition = [await a.done, await b.done];
    expect(fenced).toBeGreaterThanOrEqual(0);
    const written = 1 - fenced;
    const ok = byPartition[written]!;
    expect(ok.map((o) => o.err)).toEqual([null, null, null]);
    expect(ok.map((o) => o.report.offset)).toEqual([0, 1, 2]);
    expect(logValues(c, "t", written)).toEqual(values(3, written === 0 ? "a" : "b"));
    const refused = byPartition[fenced]!;
    expect(refused.every((o) => /PRODUCER_FENCED/.test(o.err?.message ?? ""))).toBe(true);
    expect(refused.every((o) => o.report.possiblyPersisted === false)).toBe(true);
    expect(() => p.produce({ topic: "t", value: "late" })).toThrow(/PRODUCER_FENCED/);
  });

  it("reports batches of other requests in flight at a fatal error as possibly persisted", async () => {
    const c = await fakeCluster({
      nodes: 2,
      topics: [{ name: "t", partitions: 2, leaders: [1, 2] }],
    });
    c.broker(1).intercept((req) =>
      req.apiKey === ApiKey.Produce
        ? { delayMs: 50, partitionErrors: { "t:0": ErrorCode.CLUSTER_AUTHORIZATION_FAILED } }
        : undefined,
    );
    // Broker 2 writes, then answers long after broker 1's fatal answer.
    c.broker(2).intercept((req) => (req.apiKey === ApiKey.Produce ? { delayMs: 400 } : undefined));
    const p = producer(c, { "linger.ms": 20 });
    const a = produceAll(p, "t", ["a"], 0);
    const b = produceAll(p, "t", ["b"], 1);
    const [[oa], [ob]] = [await a.done, await b.done];
    expect(oa!.err?.message).toMatch(/CLUSTER_AUTHORIZATION_FAILED/);
    expect(oa!.report.possiblyPersisted).toBe(false);
    expect(ob!.err?.message).toMatch(/CLUSTER_AUTHORIZATION_FAILED/);
    expect(ob!.report.possiblyPersisted).toBe(true);
  });

  it("INVALID_PRODUCER_EPOCH is not fatal without a transactional id: a new epoch, then delivered", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    const p = producer(c);
    await produceAll(p, "t", ["w"]).done;
    let injected = false;
    c.broker(1).intercept((req) => {
      if (req.apiKey !== ApiKey.Produce || injected) return undefined;
      injected = true;
      return { partitionErrors: { "t:0": ErrorCode.INVALID_PRODUCER_EPOCH } };
    });
    const outcomes = await produceAll(p, "t", values(5)).done;
    expect(injected).toBe(true);
    expect(outcomes.filter((o) => o.err !== null)).toEqual([]);
    expect(logValues(c, "t")).toEqual(["w", ...values(5)]);
    expect(() => p.produce({ topic: "t", value: "more" })).not.toThrow();
  });
});

describe("4. the queue's byte count", () => {
  it("pooled buffers from a burst never make produce() refuse small records", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 8 }] });
    const p = producer(c, { "queue.buffering.max.kbytes": 4096, "linger.ms": 50 });
    // A burst grows one batch buffer to about 1 MiB on each of 4 partitions.
    const value = "v".repeat(9000);
    await Promise.all(range(4).map((i) => produceAll(p, "t", Array(100).fill(value), i).done));
    expect(p.stats().queuedBytes).toBe(0);
    const reports: Promise<Outcome[]>[] = [];
    for (let round = 0; round < 3; round++) {
      const tiny = range(200).map((i) => `t${round}-${i}`);
      // Tiny records spread over all 8 partitions, each partition's batch open for linger.ms.
      for (const i of range(8))
        reports.push(produceAll(p, "t", tiny.slice(i * 25, i * 25 + 25), i).done);
      await Promise.all(reports);
    }
    const outcomes = (await Promise.all(reports)).flat();
    expect(outcomes.filter((o) => o.err !== null)).toEqual([]);
    const stats = p.stats();
    expect(stats.queued).toBe(0);
    expect(stats.queuedBytes).toBe(0);
    expect(stats.bufferBytes).toBe(0);
  });
});

describe("5. one record's deadline", () => {
  it("reports an old record at its deadline without cutting the request a fresh one shares", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 2 }] });
    let produces = 0;
    c.broker(1).intercept((req) => {
      if (req.apiKey !== ApiKey.Produce) return undefined;
      produces++;
      // The first answer holds the client back 800 ms (KIP-219); the next request,
      // carrying both records, is answered 600 ms late.
      if (produces === 1) return { throttleTimeMs: 800 };
      if (produces === 2) return { delayMs: 600 };
      return undefined;
    });
    const p = producer(c, { "message.timeout.ms": 1000, "enable.idempotence": false });
    await produceAll(p, "t", ["warm-up"]).done;
    const t0 = Date.now();
    const old = produceAll(p, "t", ["old"], 0);
    await sleep(500);
    const fresh = produceAll(p, "t", ["fresh"], 1);
    const [[o], [f]] = [await old.done, await fresh.done];
    expect(o!.err?.code).toBe("MSG_TIMED_OUT");
    expect(o!.report.possiblyPersisted).toBe(true);
    expect(o!.at - t0).toBeGreaterThanOrEqual(1000);
    expect(o!.at - t0).toBeLessThan(1300);
    expect(f!.err).toBeNull();
    // Written once: its request was answered, not dropped and sent again.
    expect(logValues(c, "t", 1)).toEqual(["fresh"]);
    expect(c.broker(1).connectionsAccepted).toBe(1);
  });
});

describe("6. flush(timeout)", () => {
  it("reports that it timed out and fails no record: each keeps its own message.timeout.ms", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    c.broker(1).intercept((req) => (req.apiKey === ApiKey.Produce ? { delayMs: 300 } : undefined));
    const p = producer(c);
    await produceAll(p, "t", ["warm-up"]).done;
    const before = produceAll(p, "t", values(5, "a"));
    const flushed = p.flush(100);
    const after = produceAll(p, "t", values(25, "b"));
    // Still waiting at the deadline: all 30.
    expect(await flushed).toBe(30);
    const outcomes = [...(await before.done), ...(await after.done)];
    expect(outcomes.filter((o) => o.err !== null)).toEqual([]);
    expect(await p.flush(5000)).toBe(0);
  });
});

describe("7. topics the producer no longer uses", () => {
  it("a topic deleted by an operator is not created again by the periodic refresh", async () => {
    const c = await fakeCluster({ autoCreateTopics: true });
    const p = producer(c, { "topic.metadata.refresh.interval.ms": 50 });
    const [o] = await produceAll(p, "gone", ["x"]).done;
    expect(o!.err).toBeNull();
    c.deleteTopic("gone");
    await sleep(500);
    expect(c.state.topics.has("gone")).toBe(false);
  });

  it("forgets a topic not produced to for metadata.max.idle.ms", async () => {
    const c = await fakeCluster({
      topics: [
        { name: "t", partitions: 1 },
        { name: "u", partitions: 1 },
      ],
    });
    const asked: { at: number; topics: string[] }[] = [];
    c.broker(1).intercept((req) => {
      if (req.apiKey === ApiKey.Metadata) {
        asked.push({ at: Date.now(), topics: (req.body.topics ?? []).map((t) => t.name ?? "") });
      }
      return undefined;
    });
    const p = producer(c, {
      "topic.metadata.refresh.interval.ms": 100,
      "metadata.max.idle.ms": 1000,
    });
    await produceAll(p, "t", ["x"]).done;
    const usedAt = Date.now();
    // u stays in use the whole time; t is idle.
    for (let i = 0; i < 20; i++) {
      await produceAll(p, "u", [`u${i}`]).done;
      await sleep(100);
    }
    const late = asked.filter((a) => a.at > usedAt + 1300);
    expect(late.length).toBeGreaterThan(0);
    expect(late.every((a) => !a.topics.includes("t") && a.topics.includes("u"))).toBe(true);
    // Used again, it is looked up again.
    const [again] = await produceAll(p, "t", ["y"]).done;
    expect(again!.err).toBeNull();
    expect(logValues(c, "t")).toEqual(["x", "y"]);
  });
});

describe("8. expiry of many batches at once", () => {
  it("100000 one-record batches expire without stalling the event loop", async () => {
    const c = await fakeCluster({ nodes: 2, topics: [{ name: "t", partitions: 1, leaders: [2] }] });
    await c.broker(2).stop();
    const p = producer(c, {
      "batch.num.messages": 1,
      "message.timeout.ms": 1000,
      "enable.idempotence": false,
      "queue.buffering.max.messages": 200_000,
    });
    let failed = 0;
    let lastAt = 0;
    const onReport = (err: Error | null): void => {
      if (err !== null) failed++;
      lastAt = Date.now();
    };
    const started = Date.now();
    p.produce({ topic: "t", value: "x", partition: 0 }, onReport);
    // Once the metadata is known the records go into batches, not the waiting list.
    while (p.partitionCount("t") === undefined) await sleep(5);
    for (let i = 1; i < 100_000; i++) p.produce({ topic: "t", value: "x", partition: 0 }, onReport);
    const producedAt = Date.now();
    // The longest gap between ticks of a 5 ms interval while the batches expire.
    let longest = 0;
    let tick = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      if (now - started > 800) longest = Math.max(longest, now - tick);
      tick = now;
    }, 5);
    while (failed < 100_000 && Date.now() - started < 10_000) await sleep(20);
    clearInterval(timer);
    expect(failed).toBe(100_000);
    // The last record's deadline is a second after the loop that produced it.
    expect(lastAt - producedAt).toBeLessThan(1000 + 500);
    // Quadratic removal stalled it 1.6 s; reporting 100000 records costs some tens of ms.
    expect(longest).toBeLessThan(400);
  });
});

/** A logger that keeps its warn and error lines. */
function recording(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (msg: string) => {
    lines.push(`${level} ${msg}`);
  };
  return {
    lines,
    logger: { debug() {}, info() {}, warn: keep("warn"), error: keep("error") },
  };
}

describe("idempotence that degrades gracefully", () => {
  it("goes on as a plain producer, with one warning, when the broker has no InitProducerId", async () => {
    const c = await fakeCluster({
      topics: [{ name: "t", partitions: 1 }],
      apiVersions: { [ApiKey.InitProducerId]: null },
    });
    const log = recording();
    const p = producer(c, {}, log.logger);
    const outcomes = await produceAll(p, "t", values(20)).done;
    expect(outcomes.filter((o) => o.err !== null)).toEqual([]);
    expect(logValues(c, "t")).toEqual(values(20));
    expect(c.log("t", 0).every((r) => r.producerId === -1)).toBe(true);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatch(
      /^warn idempotence turned off: broker .* does not offer InitProducerId.*Set enable\.idempotence=true to fail instead/,
    );
  });

  it("does the same when the broker denies InitProducerId (CLUSTER_AUTHORIZATION_FAILED)", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    c.broker(1).intercept((req) =>
      req.apiKey === ApiKey.InitProducerId
        ? { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED }
        : undefined,
    );
    const log = recording();
    const p = producer(c, {}, log.logger);
    const outcomes = await produceAll(p, "t", values(5)).done;
    expect(outcomes.filter((o) => o.err !== null)).toEqual([]);
    expect(logValues(c, "t")).toEqual(values(5));
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatch(/denies InitProducerId \(CLUSTER_AUTHORIZATION_FAILED/);
  });

  it("stays fatal, with the cause, when enable.idempotence=true was asked for", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    c.broker(1).intercept((req) =>
      req.apiKey === ApiKey.InitProducerId
        ? { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED }
        : undefined,
    );
    const p = producer(c, { "enable.idempotence": true });
    const [o] = await produceAll(p, "t", ["x"]).done;
    expect(o!.err?.message).toMatch(/InitProducerId.*CLUSTER_AUTHORIZATION_FAILED/);
    expect(logValues(c, "t")).toEqual([]);
    expect(() => p.produce({ topic: "t", value: "y" })).toThrow(/cannot go on/);
  });

  it("the plain producer keeps max.in.flight batches of a partition in flight", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    c.broker(1).intercept((req) => (req.apiKey === ApiKey.Produce ? { delayMs: 50 } : undefined));
    const p = producer(c, { "enable.idempotence": false, "batch.num.messages": 10 });
    const outcomes = await produceAll(p, "t", values(100)).done;
    expect(outcomes.filter((o) => o.err !== null)).toEqual([]);
    expect(logValues(c, "t")).toEqual(values(100));
    // Ten batches: five requests leave at once, not one every 50 ms.
    const produces = c.broker(1).requests.filter((r) => r.apiKey === ApiKey.Produce);
    expect(produces.length).toBe(10);
    expect(produces[4]!.at - produces[0]!.at).toBeLessThan(40);
  });
});

describe("also", () => {
  it("split halves keep 'an earlier attempt got no answer': their failure says possibly persisted", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    let produces = 0;
    c.broker(1).intercept((req) => {
      if (req.apiKey !== ApiKey.Produce) return undefined;
      produces++;
      // No answer, then too large (split), then refused for good.
      if (produces === 1) return { closeConnection: "before" };
      if (produces === 2) return { partitionErrors: { "t:0": ErrorCode.MESSAGE_TOO_LARGE } };
      return { partitionErrors: { "t:0": ErrorCode.INVALID_RECORD } };
    });
    const p = producer(c, { "enable.idempotence": false, "linger.ms": 20 });
    const outcomes = await produceAll(p, "t", values(4)).done;
    expect(produces).toBeGreaterThanOrEqual(4);
    expect(outcomes.every((o) => /INVALID_RECORD/.test(o.err?.message ?? ""))).toBe(true);
    expect(outcomes.every((o) => o.report.possiblyPersisted)).toBe(true);
  });

  it("InitProducerId honours the broker's throttle time like any request", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    c.broker(1).intercept((req) =>
      req.apiKey === ApiKey.InitProducerId ? { throttleTimeMs: 500 } : undefined,
    );
    const p = producer(c);
    const [o] = await produceAll(p, "t", ["x"]).done;
    expect(o!.err).toBeNull();
    const requests = c.broker(1).requests;
    const init = requests.find((r) => r.apiKey === ApiKey.InitProducerId)!;
    const produce = requests.find((r) => r.apiKey === ApiKey.Produce)!;
    expect(produce.at - init.at).toBeGreaterThanOrEqual(450);
  });
});

describe("also: matching an answer to its batches", () => {
  it("finds each partition's batch when the answer lists them in another order", async () => {
    const c = await fakeCluster({
      topics: [
        { name: "t", partitions: 50 },
        { name: "u", partitions: 3 },
      ],
    });
    c.broker(1).intercept((req) =>
      req.apiKey === ApiKey.Produce ? { reverseOrder: true, delayMs: 10 } : undefined,
    );
    const p = producer(c, { "linger.ms": 20 });
    const runs = [
      ...range(50).map((i) => ({ topic: "t", i, run: produceAll(p, "t", values(3, `t${i}-`), i) })),
      ...range(3).map((i) => ({ topic: "u", i, run: produceAll(p, "u", values(3, `u${i}-`), i) })),
    ];
    for (const { topic, i, run } of runs) {
      const outcomes = await run.done;
      expect(outcomes.map((o) => [o.err, o.report.partition, o.report.offset])).toEqual([
        [null, i, 0],
        [null, i, 1],
        [null, i, 2],
      ]);
      expect(logValues(c, topic, i)).toEqual(values(3, `${topic}${i}-`));
    }
  });
});

describe("also: lateness", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a record is reported at most a second after its deadline, not message.timeout.ms/10", async () => {
    const c = await fakeCluster({ nodes: 2, topics: [{ name: "t", partitions: 1, leaders: [2] }] });
    await c.broker(2).stop(); // the leader is gone: the batches wait
    const p = producer(c, { "message.timeout.ms": 30_000, "enable.idempotence": false });
    const reports: string[] = [];
    const record = (name: string) =>
      p.produce({ topic: "t", value: name, partition: 0 }, (err) =>
        reports.push(`${name} ${err?.code ?? "ok"}`),
      );
    record("first");
    while (p.partitionCount("t") === undefined) await sleep(5);
    const t0 = Date.now();
    record("a");
    // 2.5 s later (the clock jumps; the timers do not) b comes: it must not share a's
    // batch, or a would fail at b's deadline, 2.5 s after its own.
    vi.useFakeTimers({ toFake: ["Date"], now: t0 + 2500 });
    record("b");
    vi.setSystemTime(t0 + 30_001);
    record("c"); // runs the sender, which looks at the deadlines
    await sleep(50);
    expect(reports.sort()).toEqual(["a MSG_TIMED_OUT", "first MSG_TIMED_OUT"]);
  });
});

describe("fewer, fuller batches (a partly filled batch waits for the one in flight)", () => {
  it("sends an open batch behind an unanswered one once nothing is in flight, a full one at once", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    const p = producer(c, { "batch.num.messages": 5 });
    await produceAll(p, "t", ["warm-up"]).done;
    c.broker(1).intercept((req) => (req.apiKey === ApiKey.Produce ? { delayMs: 300 } : undefined));
    const a = produceAll(p, "t", ["a"]);
    await sleep(50);
    // linger.ms (0) is long past for b and c, but a's request is unanswered: they wait.
    const bc = produceAll(p, "t", ["b", "c"]);
    await sleep(50);
    // Three more fill their batch to batch.num.messages: it goes at once; g0 and g1
    // start an open batch, which waits until both requests are answered.
    const f = produceAll(p, "t", [...values(3, "f"), ...values(2, "g")]);
    await Promise.all([a.done, bc.done, f.done]);
    const produces = c
      .broker(1)
      .requests.filter((r) => r.apiKey === ApiKey.Produce)
      .slice(1);
    expect(produces).toHaveLength(3);
    expect(produces[1]!.at - produces[0]!.at).toBeLessThan(200);
    // The broker answers one request at a time: the second answer comes at about 600 ms.
    expect(produces[2]!.at - produces[0]!.at).toBeGreaterThanOrEqual(550);
    expect(logValues(c, "t")).toEqual([
      "warm-up",
      "a",
      "b",
      "c",
      ...values(3, "f"),
      ...values(2, "g"),
    ]);
  });

  it("costs no CPU while it waits for an answer (no sender loop)", async () => {
    const parts = range(2000);
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 2000 }] });
    const p = producer(c);
    await Promise.all(parts.map((i) => produceAll(p, "t", ["warm-up"], i).done));
    c.broker(1).intercept((req) => (req.apiKey === ApiKey.Produce ? { delayMs: 800 } : undefined));
    // A batch in flight on every partition, and an open one behind each.
    const first = parts.map((i) => produceAll(p, "t", ["a"], i).done);
    await sleep(20);
    const second = parts.map((i) => produceAll(p, "t", ["b"], i).done);
    await sleep(100);
    // Bun's garbage collector works through the burst's leftovers concurrently for a second
    // or more (5-20 ms of CPU per 200 ms here): collect them first where the runtime can.
    (globalThis as { Bun?: { gc(sync: boolean): void } }).Bun?.gc(true);
    // Three windows of 200 ms, the quietest counted: a sender loop costs in every one, while
    // a garbage collection of the burst's leftovers lands in one, and alone cost up to 49 ms
    // in a single window of 500 ms (Node 20).
    const windows: number[] = [];
    for (let w = 0; w < 3; w++) {
      const before = process.cpuUsage();
      await sleep(200);
      const used = process.cpuUsage(before);
      windows.push((used.user + used.system) / 1000);
    }
    await Promise.all([...first, ...second]);
    // 200 ms of waiting costs well under 1 ms; a sender looking at 2000 partitions in a loop
    // (a timer for a linger already past) used 70 ms in 500 ms here.
    expect(Math.min(...windows)).toBeLessThan(10);
  });
});
