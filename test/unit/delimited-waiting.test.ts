/**
 * produceDelimited() before the topic's partitions are known: the records wait
 * as one copy of their bytes and get exactly one tally, whether they are
 * delivered once the metadata comes, expire at message.timeout.ms or are
 * dropped by close(). The in-process fake broker holds back its answers on
 * demand; the real-broker cases are in test/producer/producer.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { KafkaClientError } from "../../src/client/client-error.js";
import { Producer } from "../../src/producer/producer.js";
import type { DeliveryError } from "../../src/producer/record.js";
import { type FakeCluster, startFakeCluster } from "../helpers/fake-broker.js";
import { waitFor } from "../helpers/wait.js";

const open: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
});

async function fakeCluster(): Promise<FakeCluster> {
  const c = await startFakeCluster({ topics: [{ name: "t", partitions: 1 }] });
  open.push(c);
  return c;
}

function producer(bootstrap: string, props: Record<string, number | string | boolean> = {}) {
  const p = new Producer(
    {
      "bootstrap.servers": bootstrap,
      "linger.ms": 0,
      "reconnect.backoff.ms": 20,
      "reconnect.backoff.max.ms": 100,
      ...props,
    },
    { logger: { debug() {}, info() {}, warn() {}, error() {} } },
  );
  open.push({ close: () => p.close(0) });
  return p;
}

type Tally = [DeliveryError | null, number][];

describe("produceDelimited while the topic's metadata is unknown", () => {
  it("copies the records, delivers them in order once the metadata comes, one tally", async () => {
    const c = await fakeCluster();
    const p = producer(c.bootstrap);
    const tallies: Tally = [];
    const data = Buffer.from("one\ntwo\r\n\nthree\nrest");
    const r = p.produceDelimited({ topic: "t", data, stripCr: true, key: "k" }, (err, n) =>
      tallies.push([err, n]),
    );
    expect(r).toEqual({ offset: data.length - 4, records: 3 });
    expect(p.queueLength).toBe(3);
    // The caller may reuse its buffer at once.
    data.fill(0x2a);
    await p.flush(5000);
    expect(tallies).toEqual([[null, 3]]);
    expect(c.log("t", 0).map((x) => [x.key?.toString(), x.value?.toString()])).toEqual([
      ["k", "one"],
      ["k", "two"],
      ["k", "three"],
    ]);
  });

  it("keeps produce order with records waiting before and after the run", async () => {
    const c = await fakeCluster();
    const p = producer(c.bootstrap);
    const tally = (): void => {};
    p.produce({ topic: "t", value: "a" });
    p.produceDelimited({ topic: "t", data: Buffer.from("b\nc\n") }, tally);
    p.produce({ topic: "t", value: "d" });
    await p.flush(5000);
    expect(c.log("t", 0).map((x) => x.value?.toString())).toEqual(["a", "b", "c", "d"]);
  });

  it("fails them with one tally at message.timeout.ms when no broker answers", async () => {
    const p = producer("127.0.0.1:9", { "message.timeout.ms": 300 });
    const tallies: Tally = [];
    const t0 = Date.now();
    p.produceDelimited({ topic: "t", data: Buffer.from("x\ny\n") }, (err, n) =>
      tallies.push([err, n]),
    );
    await waitFor("the tally", () => (tallies.length > 0 ? true : undefined), 5000, 10);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(tallies).toHaveLength(1);
    const [err, n] = tallies[0]!;
    expect(n).toBe(2);
    expect(err).toBeInstanceOf(KafkaClientError);
    expect((err as KafkaClientError).code).toBe("MSG_TIMED_OUT");
    expect(p.queueLength).toBe(0);
  });

  it("reports them undelivered (DESTROYED) when close() cannot wait", async () => {
    const p = producer("127.0.0.1:9");
    const tallies: Tally = [];
    p.produceDelimited({ topic: "t", data: Buffer.from("x\ny\nz\n") }, (err, n) =>
      tallies.push([err, n]),
    );
    await p.close(0);
    expect(tallies).toHaveLength(1);
    expect(tallies[0]![1]).toBe(3);
    expect((tallies[0]![0] as KafkaClientError).code).toBe("DESTROYED");
  });

  it("counts them against the queue limit and stops where it is full", async () => {
    const p = producer("127.0.0.1:9", { "queue.buffering.max.messages": 2 });
    const r = p.produceDelimited({ topic: "t", data: Buffer.from("x\ny\nz\n") }, () => {});
    expect(r).toEqual({ offset: 4, records: 2 });
    expect(() => p.produce({ topic: "t", value: "z" })).toThrow(/queue full/);
  });
});
