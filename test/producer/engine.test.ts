/**
 * The engine defects of the hostile review that a real broker can show, on
 * the shared single-node broker, read back with the Java reader: a backlog on
 * one partition starving another, pooled buffers filling the queue, flush()
 * failing records, and a deleted topic created again by the refresh. The
 * fake-cluster side, with the cases a broker cannot produce on demand, is
 * test/unit/engine-hardening.test.ts.
 */
import type { Admin } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Producer } from "../../src/producer/producer.js";
import type { DeliveryError } from "../../src/producer/record.js";
import { javaConsume, text } from "../broker/java-reader.js";
import { uniqueTopic } from "../helpers/topics.js";
import { connectAdmin, createTopic, producerSet, waitFor } from "./helpers.js";

const bootstrap = inject("kafkaBootstrap");
let admin: Admin;
const producers = producerSet(bootstrap);
const newProducer = producers.create;

beforeAll(async () => {
  admin = await connectAdmin(bootstrap);
});

afterAll(async () => {
  await producers.closeAll();
  await admin?.disconnect();
});

/** Resolves with the error (null when delivered) once the record has its report. */
function produced(p: Producer, topic: string, value: Buffer, partition: number) {
  return new Promise<DeliveryError | null>((resolve) =>
    p.produce({ topic, value, partition }, (err) => resolve(err)),
  );
}

describe("the engine on a real broker", () => {
  it("a backlog of full-size batches on one partition does not starve another", async () => {
    const topic = uniqueTopic("fair");
    await createTopic(admin, topic, { partitions: 2 });
    // The defaults: batch.size = message.max.bytes = 1000000. 99 records of 10 KB fill a
    // batch to 990 KB, and the lone 20 KB record does not fit beside one.
    const p = newProducer({ "linger.ms": 5 });
    // Both partitions have had a batch acknowledged: five may be in flight on each.
    expect(await Promise.all([0, 1].map((i) => produced(p, topic, Buffer.from("w"), i)))).toEqual([
      null,
      null,
    ]);
    const value = Buffer.alloc(10_000, 97);
    const backlog: Promise<DeliveryError | null>[] = [];
    for (let i = 0; i < 5000; i++) backlog.push(produced(p, topic, value, 0));
    let laterDelivered = 0;
    let loneDone = false;
    const lone = produced(p, topic, Buffer.alloc(20_000, 98), 1).then((err) => {
      loneDone = true;
      return err;
    });
    // Records produced after the lone one, counted when delivered before it.
    for (let i = 0; i < 5000; i++) {
      backlog.push(
        produced(p, topic, value, 0).then((err) => {
          if (err === null && !loneDone) laterDelivered++;
          return err;
        }),
      );
    }
    expect(await lone).toBeNull();
    expect((await Promise.all(backlog)).filter((e) => e !== null)).toEqual([]);
    // Taking turns, no later record goes ahead of it (it would be every one of them,
    // 5000, if the backlog kept every request to itself).
    expect(laterDelivered).toBeLessThan(500);
    const back = await javaConsume(bootstrap, topic, { count: 10_003, timeoutMs: 60_000 });
    expect(back.filter((r) => r.partition === 1).map((r) => r.value?.length)).toEqual([1, 20_000]);
    expect(back.filter((r) => r.partition === 0)).toHaveLength(10_001);
  });

  it("after a burst, small records are taken: pooled buffers never fill the queue", async () => {
    const topic = uniqueTopic("pool");
    await createTopic(admin, topic, { partitions: 8 });
    const p = newProducer({ "queue.buffering.max.kbytes": 4096, "linger.ms": 50 });
    const big = Buffer.alloc(9000, 120);
    const burst: Promise<DeliveryError | null>[] = [];
    for (let partition = 0; partition < 4; partition++) {
      for (let i = 0; i < 100; i++) burst.push(produced(p, topic, big, partition));
    }
    expect((await Promise.all(burst)).filter((e) => e !== null)).toEqual([]);
    const small: Promise<DeliveryError | null>[] = [];
    for (let i = 0; i < 400; i++) small.push(produced(p, topic, Buffer.from(`s${i}`), i % 8));
    expect((await Promise.all(small)).filter((e) => e !== null)).toEqual([]);
    expect(p.stats()).toMatchObject({ queued: 0, queuedBytes: 0, bufferBytes: 0 });
    const back = await javaConsume(bootstrap, topic, { count: 800 });
    expect(back.filter((r) => r.value?.length !== 9000)).toHaveLength(400);
  });

  it("flush(timeout) resolves with what still waits, and fails nothing", async () => {
    const topic = uniqueTopic("flush");
    await createTopic(admin, topic, { partitions: 1 });
    const p = newProducer();
    const reports: Promise<DeliveryError | null>[] = [];
    for (let i = 0; i < 2000; i++) reports.push(produced(p, topic, Buffer.from(`f${i}`), 0));
    // 1 ms is too short for 2000 records: some still wait, and none is failed for it.
    const waiting = await p.flush(1);
    expect(waiting).toBeGreaterThan(0);
    expect((await Promise.all(reports)).filter((e) => e !== null)).toEqual([]);
    const back = await javaConsume(bootstrap, topic, { count: 2000 });
    expect(back.map((r) => text(r.value))).toEqual(reports.map((_, i) => `f${i}`));
  });

  it("a topic deleted while the producer idles is not created again by the refresh", async () => {
    const topic = uniqueTopic("deleted");
    // Auto-created by the first record, as the broker allows.
    const p = newProducer({ "topic.metadata.refresh.interval.ms": 100 });
    expect(await produced(p, topic, Buffer.from("x"), 0)).toBeNull();
    await admin.deleteTopics({ topics: [topic] });
    await waitFor(
      `${topic} gone`,
      async () => ((await admin.listTopics()).includes(topic) ? undefined : true),
      30_000,
    );
    // Twenty refreshes later it is still gone.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await admin.listTopics()).not.toContain(topic);
  });
});
