/**
 * A broker that is not running when records are produced, on a single-node
 * cluster of this file's own (the shared broker cannot be stopped): records
 * wait, then go out once it is up within message.timeout.ms, or are reported
 * failed at that deadline.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Producer } from "../../src/producer/producer.js";
import { javaConsume, text } from "../broker/java-reader.js";
import { type KafkaCluster, startCluster } from "../broker/kafka.js";
import { uniqueTopic } from "../helpers/topics.js";
import { connectAdmin, createTopic, DeliveryLedger, FAST } from "./helpers.js";

let cluster: KafkaCluster;
const producers: Producer[] = [];

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
});

afterAll(async () => {
  await Promise.all(producers.map((p) => p.close(2000)));
  await cluster?.stop();
});

function newProducer(props: Record<string, number>): Producer {
  const p = new Producer({ "bootstrap.servers": cluster.bootstrap, ...FAST, ...props });
  producers.push(p);
  return p;
}

describe("broker not running", () => {
  it("delivers once the broker is up within message.timeout.ms, fails at the deadline otherwise", async () => {
    const node = cluster.nodes[0]!;
    const fresh = uniqueTopic("down-fresh");
    const known = uniqueTopic("down-known");
    const admin = await connectAdmin(cluster.bootstrap);
    try {
      await createTopic(admin, fresh, { partitions: 3 });
      await createTopic(admin, known, { partitions: 3 });
    } finally {
      await admin.disconnect();
    }
    // One producer already knows the cluster and holds a connection when it goes down.
    const warm = newProducer({ "message.timeout.ms": 60_000 });
    const warmLedger = new DeliveryLedger();
    warmLedger.produce(warm, { topic: known, value: "before" });
    await warmLedger.waitAll(20_000);
    expect(warmLedger.outcome(0).err).toBeNull();
    // Another one with a short deadline, for records produced at different times during
    // the outage: each must fail at its own deadline, not at that of an earlier record.
    const shortMs = 3000;
    const warmHasty = newProducer({ "message.timeout.ms": shortMs });
    await warmHasty.send({ topic: known, partition: 0, value: "before" });
    const spacedLedger = new DeliveryLedger();

    await node.stop();
    expect(node.isRunning()).toBe(false);
    spacedLedger.produce(warmHasty, { topic: known, partition: 0, value: "spaced-0" });

    // Started with the broker down: it has never seen metadata.
    const patient = newProducer({ "message.timeout.ms": 60_000 });
    const patientLedger = new DeliveryLedger();
    const hasty = newProducer({ "message.timeout.ms": shortMs });
    const hastyLedger = new DeliveryLedger();
    for (let i = 0; i < 1000; i++) {
      patientLedger.produce(patient, { topic: fresh, key: `k${i % 13}`, value: `p${i}` });
      if (i % 10 === 0) hastyLedger.produce(hasty, { topic: fresh, value: `h${i}` });
      if (i % 2 === 0) warmLedger.produce(warm, { topic: known, key: `k${i % 7}`, value: `w${i}` });
    }

    await new Promise((r) => setTimeout(r, 1500));
    spacedLedger.produce(warmHasty, { topic: known, partition: 0, value: "spaced-1" });

    // The short deadlines pass while the broker is still down.
    await hastyLedger.waitAll(20_000);
    await spacedLedger.waitAll(20_000);
    expect(node.isRunning()).toBe(false);
    expect(hastyLedger.notExactlyOnce()).toEqual([]);
    expect(hastyLedger.failureCodes()).toEqual({ MSG_TIMED_OUT: 100 });
    expect(spacedLedger.notExactlyOnce()).toEqual([]);
    expect(spacedLedger.failureCodes()).toEqual({ MSG_TIMED_OUT: 2 });
    for (const ledger of [hastyLedger, spacedLedger]) {
      for (let i = 0; i < ledger.count; i++) {
        const waited = ledger.outcome(i).at - ledger.producedAt[i]!;
        expect(waited).toBeGreaterThanOrEqual(shortMs - 5);
        expect(waited).toBeLessThan(shortMs + 3000);
      }
    }
    expect(patientLedger.reportedCount).toBe(0);
    expect(warmLedger.reportedCount).toBe(1);

    const startedAt = Date.now();
    await node.start();
    await patientLedger.waitAll(60_000);
    await warmLedger.waitAll(60_000);
    for (const ledger of [patientLedger, warmLedger]) {
      expect(ledger.notExactlyOnce()).toEqual([]);
      expect(ledger.failureCodes()).toEqual({});
      // Delivered after the restart, within each record's deadline.
      for (let i = 1; i < ledger.count; i++) {
        const { at } = ledger.outcome(i);
        expect(at).toBeGreaterThanOrEqual(startedAt);
        expect(at - ledger.producedAt[i]!).toBeLessThan(60_000);
      }
    }
    expect(patient.stats()).toMatchObject({ produced: 1000, delivered: 1000, failed: 0 });
    expect(warm.stats()).toMatchObject({ produced: 501, delivered: 501, failed: 0 });

    const freshRead = await javaConsume(cluster.bootstrap, fresh);
    expect(freshRead.map((r) => text(r.value)).sort()).toEqual(
      patientLedger.records.map((r) => r.value).sort(),
    );
    const knownRead = await javaConsume(cluster.bootstrap, known);
    // The warm producer's records and the short-deadline one's warm-up record, nothing else.
    expect(knownRead.map((r) => text(r.value)).sort()).toEqual(
      [...warmLedger.records.map((r) => r.value), "before"].sort(),
    );
  }, 150_000);
});
