/**
 * The producer on a three-node cluster (one per file, started here): routing
 * to partition leaders, NOT_ENOUGH_REPLICAS retried until a node is back or
 * failed at message.timeout.ms, and a broker killed mid-stream with acks=all.
 */
import type { Admin } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { Producer } from "../../src/producer/producer.js";
import { KafkaProtocolError } from "../../src/protocol/errors.js";
import { type JavaRecord, javaConsume, text } from "../broker/java-reader.js";
import { type KafkaCluster, startCluster } from "../broker/kafka.js";
import { uniqueTopic } from "../helpers/topics.js";
import {
  connectAdmin,
  createTopic,
  DeliveryLedger,
  FAST,
  FAST_FENCING,
  partitionMetadata,
  recordingLogger,
  waitFor,
  waitForIsr,
} from "./helpers.js";

let cluster: KafkaCluster;
let admin: Admin;
const producers: Producer[] = [];

beforeAll(async () => {
  cluster = await startCluster({
    nodes: 3,
    brokerProps: FAST_FENCING,
  });
  admin = await connectAdmin(cluster.bootstrap);
});

afterAll(async () => {
  await Promise.all(producers.map((p) => p.close(2000)));
  await admin?.disconnect();
  await cluster?.stop();
});

function newProducer(
  props: Record<string, string | number>,
  logger?: ReturnType<typeof recordingLogger>,
): Producer {
  const p = new Producer(
    { "bootstrap.servers": cluster.bootstrap, ...FAST, ...props },
    logger ? { logger } : {},
  );
  producers.push(p);
  return p;
}

function nodeById(id: number) {
  const node = cluster.nodes.find((n) => n.nodeId === id);
  if (!node) throw new Error(`no node ${id}`);
  return node;
}

/** The index of an "i:<index>" record (NaN for any other value). */
function indexOf(r: JavaRecord): number {
  const v = text(r.value);
  return v?.startsWith("i:") ? Number(v.slice(2)) : Number.NaN;
}

/** Per partition, the record indexes (from "i:<index>" values) in log order. */
function indexesByPartition(read: JavaRecord[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const r of read) {
    let list = out.get(r.partition);
    if (list === undefined) {
      list = [];
      out.set(r.partition, list);
    }
    list.push(indexOf(r));
  }
  return out;
}

describe("three brokers", () => {
  it("sends each partition's records to its leader; each read back once, in order", async () => {
    const topic = uniqueTopic("c3-route");
    const partitions = 6;
    await createTopic(admin, topic, { partitions, replicationFactor: 3 });
    const meta = await partitionMetadata(admin, topic);
    const leaders = new Set(meta.map((p) => p.leader));
    expect(leaders.size).toBeGreaterThanOrEqual(2);

    // Every leader takes writes before the measured run (a leader still settling may answer
    // NOT_LEADER_OR_FOLLOWER once, which is a retry but no routing mistake).
    const warmUp = newProducer({ acks: "all" });
    await Promise.all(
      meta.map((p) => warmUp.send({ topic, partition: p.partition, value: "warm-up" })),
    );
    const producer = newProducer({ acks: "all" });
    const ledger = new DeliveryLedger();
    const n = 30000;
    for (let i = 0; i < n; i++) {
      ledger.produce(producer, { topic, key: i % 5 === 0 ? null : `k${i % 101}`, value: `i:${i}` });
    }
    await ledger.waitAll(60_000);
    expect(ledger.notExactlyOnce()).toEqual([]);
    expect(ledger.failureCodes()).toEqual({});
    const stats = producer.stats();
    // A broker takes a Produce for a partition only when it leads it (anything else answers
    // NOT_LEADER_OR_FOLLOWER, which would be retried): no retry, every record sent once.
    expect(stats).toMatchObject({ produced: n, delivered: n, retries: 0, sent: n });
    // ... and the producer talked to every leader.
    for (const id of leaders) {
      expect(Object.keys(stats.rttMs)).toContain(`127.0.0.1:${nodeById(id).port}`);
    }

    const read = (await javaConsume(cluster.bootstrap, topic)).filter(
      (r) => text(r.value) !== "warm-up",
    );
    expect(read).toHaveLength(n);
    const stored = indexesByPartition(read);
    expect([...stored.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const seen = new Set<number>();
    for (const [partition, indexes] of stored) {
      // In the order produced, and where the delivery reports said.
      expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
      for (const i of indexes) {
        expect(ledger.outcome(i).report.partition).toBe(partition);
        seen.add(i);
      }
    }
    expect(seen.size).toBe(n);
    // Keyed records all went where the key says: one partition per key.
    const partitionOfKey = new Map<string, number>();
    ledger.records.forEach((r, i) => {
      if (typeof r.key !== "string") return;
      const p = ledger.outcome(i).report.partition;
      expect(partitionOfKey.get(r.key) ?? p).toBe(p);
      partitionOfKey.set(r.key, p);
    });
  });

  it("retries NOT_ENOUGH_REPLICAS until the node is back, or fails at message.timeout.ms", async () => {
    const topic = uniqueTopic("c3-isr");
    await createTopic(admin, topic, {
      partitions: 3,
      replicationFactor: 3,
      configs: { "min.insync.replicas": "3" },
    });
    const before = await waitForIsr(admin, topic, 3, "three in-sync replicas everywhere");
    // Stop a node that leads none of the partitions if there is one (leaders stay put).
    const leaderIds = new Set(before.map((p) => p.leader));
    const victim = cluster.nodes.find((n) => !leaderIds.has(n.nodeId)) ?? cluster.nodes[2]!;
    // If the test fails half-way, the next one still gets three nodes.
    onTestFinished(async () => {
      if (!victim.isRunning()) await victim.start();
    });
    await victim.stop();
    await waitForIsr(admin, topic, 2, "the stopped node to leave every ISR");

    const shortMs = 5000;
    const quick = newProducer({ acks: "all", "message.timeout.ms": shortMs, "linger.ms": 0 });
    const quickLedger = new DeliveryLedger();
    const logger = recordingLogger();
    const patient = newProducer({ acks: "all", "message.timeout.ms": 90_000 }, logger);
    const patientLedger = new DeliveryLedger();
    for (let i = 0; i < 30; i++) {
      quickLedger.produce(quick, { topic, partition: i % 3, value: `quick-${i}` });
      patientLedger.produce(patient, { topic, partition: i % 3, value: `i:${i}` });
    }

    // The short deadline passes with the node still down: MSG_TIMED_OUT, caused by the
    // broker's NOT_ENOUGH_REPLICAS after retries, at the deadline and not before.
    await quickLedger.waitAll(30_000);
    expect(victim.isRunning()).toBe(false);
    expect(quickLedger.notExactlyOnce()).toEqual([]);
    expect(quickLedger.failureCodes()).toEqual({ MSG_TIMED_OUT: 30 });
    for (let i = 0; i < quickLedger.count; i++) {
      const { err, at } = quickLedger.outcome(i);
      const cause = err!.cause;
      expect(cause).toBeInstanceOf(KafkaProtocolError);
      expect((cause as KafkaProtocolError).errorName).toBe("NOT_ENOUGH_REPLICAS");
      expect(err!.message).toMatch(/NOT_ENOUGH_REPLICAS/);
      const waited = at - quickLedger.producedAt[i]!;
      expect(waited).toBeGreaterThanOrEqual(shortMs - 5);
      expect(waited).toBeLessThan(shortMs + 4000);
    }
    expect(quick.stats().retries).toBeGreaterThan(0);

    // The patient producer is retrying the same error meanwhile.
    await waitFor(
      "NOT_ENOUGH_REPLICAS retries",
      () =>
        logger.lines.some(
          (l) =>
            l.message === "retrying batch" && /NOT_ENOUGH_REPLICAS/.test(String(l.fields?.error)),
        )
          ? true
          : undefined,
      20_000,
    );
    expect(patientLedger.reportedCount).toBe(0);
    expect(patient.stats().retries).toBeGreaterThan(0);

    const restartedAt = Date.now();
    await victim.start();
    await patientLedger.waitAll(90_000);
    expect(patientLedger.notExactlyOnce()).toEqual([]);
    expect(patientLedger.failureCodes()).toEqual({});
    for (let i = 0; i < patientLedger.count; i++) {
      expect(patientLedger.outcome(i).at).toBeGreaterThanOrEqual(restartedAt);
    }
    // The log holds the patient records, in order, and none of the timed-out ones (the
    // leader refused them before appending).
    const read = await javaConsume(cluster.bootstrap, topic);
    expect(read).toHaveLength(30);
    for (const [partition, indexes] of indexesByPartition(read)) {
      expect(indexes).toEqual(
        Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3 === partition),
      );
    }
  }, 150_000);

  it("loses no record when a broker is killed mid-stream (acks=all, RF 3, min ISR 2)", async () => {
    const topic = uniqueTopic("c3-kill");
    const partitions = 6;
    await createTopic(admin, topic, {
      partitions,
      replicationFactor: 3,
      configs: { "min.insync.replicas": "2" },
    });
    // The node restarted by the previous test catches up: all three replicas in sync.
    const meta = await waitForIsr(admin, topic, 3, "three in-sync replicas everywhere");
    const victim = nodeById(meta[0]!.leader);
    const led = meta.filter((p) => p.leader === victim.nodeId).map((p) => p.partition);

    const producer = newProducer({ acks: "all", "message.timeout.ms": 90_000, "linger.ms": 5 });
    const ledger = new DeliveryLedger();
    const n = 20000;
    const perTick = 100;
    let killed: Promise<void> | undefined;
    let killedAt = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const start = ledger.count;
        for (let i = start; i < start + perTick && i < n; i++) {
          ledger.produce(producer, { topic, key: `k${i % 257}`, value: `i:${i}` });
        }
        if (killed === undefined && ledger.count >= n / 4) {
          killedAt = Date.now();
          killed = victim.kill();
        }
        if (ledger.count >= n) {
          clearInterval(timer);
          resolve();
        }
      }, 10);
    });
    await killed;
    expect(victim.isRunning()).toBe(false);
    // A good part of the stream was produced after the kill.
    expect(ledger.producedAt.filter((t) => t > killedAt).length).toBeGreaterThan(n / 2);

    await ledger.waitAll(120_000);
    expect(ledger.notExactlyOnce()).toEqual([]);
    expect(ledger.failureCodes()).toEqual({});
    const stats = producer.stats();
    expect(stats).toMatchObject({ produced: n, delivered: n, failed: 0 });
    // Leadership of the dead node's partitions moved (KafkaJS's view, polled: it may first
    // try the dead node).
    await waitFor(
      "new leaders for the dead node's partitions",
      async () => {
        const m = await partitionMetadata(admin, topic);
        return led.every((p) => m[p]!.leader >= 0 && m[p]!.leader !== victim.nodeId)
          ? true
          : undefined;
      },
      30_000,
      200,
    );

    const read = await javaConsume(cluster.bootstrap, topic, { timeoutMs: 60_000 });
    const copies = new Map<number, number>();
    for (const r of read) {
      const i = indexOf(r);
      copies.set(i, (copies.get(i) ?? 0) + 1);
    }
    const missing = ledger.records.map((_, i) => i).filter((i) => !copies.has(i));
    expect(missing).toEqual([]);
    expect(copies.size).toBe(n);
    // The idempotent producer (the default) writes a retried batch once, in order.
    const duplicates = read.length - n;
    expect(duplicates).toBe(0);
    for (const [partition, indexes] of indexesByPartition(read)) {
      expect(indexes, `partition ${partition}`).toEqual([...indexes].sort((a, b) => a - b));
      for (const i of indexes) expect(ledger.outcome(i).report.partition).toBe(partition);
    }
    console.log(
      `[broker kill] node ${victim.nodeId} (leader of partitions ${led.join(",")}) killed after ` +
        `${ledger.records.filter((_, i) => ledger.producedAt[i]! <= killedAt).length} of ${n} records: ` +
        `delivered ${stats.delivered}, failed ${stats.failed}, retried ${stats.retries} ` +
        `(record retries), read back ${read.length}, duplicates ${duplicates}`,
    );
    // The last test: the node stays down, afterAll stops the cluster.
  }, 150_000);
});
