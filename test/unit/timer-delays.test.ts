/**
 * Every timer the producer arms has a delay of 0 or more. Node 24 and later
 * print a TimeoutNegativeWarning for a negative one (and run it after 1 ms),
 * which is how a deadline computed from an unset time shows; the bench saw
 * one (from KafkaJS's request queue, see bench/lib/topics.mjs). This watches
 * setTimeout through delivery, metadata, a transaction, a broker that is
 * down, and close() with a deadline, on any Node.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Producer } from "../../src/producer/producer.js";
import { closeAfterEach, fakeCluster, produceAll, producer, values } from "../helpers/engine.js";

closeAfterEach();

/** Delays that are negative, NaN or infinite, with where they were set. */
const bad: { delay: unknown; stack: string }[] = [];
const realSetTimeout = globalThis.setTimeout;

beforeEach(() => {
  bad.length = 0;
  const watched = ((fn: (...a: unknown[]) => void, delay?: unknown, ...args: unknown[]) => {
    if (
      delay !== undefined &&
      !(typeof delay === "number" && delay >= 0 && Number.isFinite(delay))
    ) {
      bad.push({ delay, stack: new Error().stack ?? "" });
    }
    return realSetTimeout(fn, delay as number, ...args);
  }) as typeof setTimeout;
  globalThis.setTimeout = watched;
});

afterEach(() => {
  globalThis.setTimeout = realSetTimeout;
});

describe("timer delays", () => {
  it("the watch sees a negative delay (so the checks below can fail)", () => {
    clearTimeout(setTimeout(() => {}, Date.now() - 2 * Date.now()));
    expect(bad).toHaveLength(1);
    bad.length = 0;
  });

  it("none is negative through delivery, metadata, a transaction and close()", async () => {
    const c = await fakeCluster({
      nodes: 2,
      topics: [{ name: "t", partitions: 2, leaders: [1, 2] }],
      transactionVersion: 2,
    });
    const p = producer(c, { "linger.ms": 5 });
    await p.metadata({ topics: ["t"] });
    const { done } = produceAll(p, "t", values(50));
    await done;
    await p.flush(1000);

    const t = producer(c, { "transactional.id": "tx" });
    await t.initTransactions(5000);
    t.beginTransaction();
    await t.send({ topic: "t", value: "in a transaction" });
    await t.commitTransaction(5000);
    await t.close(1000);
    await p.close(1000);
    expect(bad).toEqual([]);
  });

  it("none is negative while the only broker is down, records expire and close() gives up", async () => {
    const p = new Producer({
      "bootstrap.servers": "127.0.0.1:1",
      "message.timeout.ms": 300,
      "reconnect.backoff.ms": 10,
      "reconnect.backoff.max.ms": 50,
    });
    const failed = new Promise<Error | null>((resolve) =>
      p.produce({ topic: "t", value: "v" }, (err) => resolve(err)),
    );
    expect(await failed).not.toBeNull();
    await expect(p.metadata({ timeoutMs: 200 })).rejects.toThrow();
    await p.close(100);
    expect(bad).toEqual([]);
  });
});
