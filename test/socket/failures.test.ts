/**
 * Delivery reports for failures that need a broker configured for them: an
 * unknown topic on a broker that does not auto-create topics, and a record
 * that the broker keeps refusing with a retriable error until its timeout.
 */
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventKafka, type PublishReport } from "../../src/socket/index.js";
import { type KafkaCluster, startCluster } from "../broker/kafka.js";
import { uniqueTopic } from "../helpers/topics.js";
import { waitFor } from "../helpers/wait.js";

let cluster: KafkaCluster;
const kafka = new EventKafka({ closeTimeoutMs: 3000 });

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1, brokerProps: { "auto.create.topics.enable": "false" } });
});
afterAll(async () => {
  await kafka.close(3000);
  await cluster?.stop();
});

/** Resolves with `list` once it holds `n` entries. */
function waitForCount<T>(list: T[], n: number, timeoutMs = 20000): Promise<T[]> {
  return waitFor(`${n} reports`, () => (list.length >= n ? list : undefined), timeoutMs, 20);
}

describe("failure reports", () => {
  it("fails records for a topic that does not exist when auto-creation is off", async () => {
    const topic = uniqueTopic("absent");
    kafka.addBroker(
      `[absent]kafka:${cluster.bootstrap}/${topic}?g.topic.metadata.propagation.max.ms=1000`,
    );
    const reports: PublishReport[] = [];
    expect(kafka.publish("absent", "m1", "k", (r) => reports.push(r))).toBe(1);
    expect(kafka.publish("absent", "m2", undefined, (r) => reports.push(r))).toBe(1);
    await waitForCount(reports, 2);
    expect(reports.map((r) => r.status)).toEqual([-1, -1]);
    expect(reports[0]?.error?.message).toMatch(
      new RegExp(`topic "${topic}" does not exist and was not created`),
    );
    expect(reports[0]?.error).toMatchObject({ code: "UNKNOWN_TOPIC" });
  });

  it("splits a batch the broker refuses as too large: the record too large for the topic fails at once, the other is delivered", async () => {
    const topic = uniqueTopic("tiny");
    const admin = new Kafka({ brokers: [cluster.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic,
            numPartitions: 1,
            replicationFactor: 1,
            configEntries: [{ name: "max.message.bytes", value: "200" }],
          },
        ],
      });
    } finally {
      await admin.disconnect();
    }
    kafka.addBroker(`[tiny]kafka:${cluster.bootstrap}/${topic}?t.message.timeout.ms=20000`);
    const reports: PublishReport[] = [];
    const started = Date.now();
    expect(kafka.publish("tiny", "x".repeat(1000), "k", (r) => reports.push(r))).toBe(1);
    expect(kafka.publish("tiny", "small", "k", (r) => reports.push(r))).toBe(1);
    await waitForCount(reports, 2);
    // Both records shared a batch the broker refused as a whole; the halves went
    // again, and only the record over the topic's max.message.bytes failed.
    expect(reports.map((r) => r.status)).toEqual([-1, 0]);
    expect(reports[0]?.error?.message).toMatch(/MESSAGE_TOO_LARGE \(error code 10\)/);
    expect(reports[0]?.error).toMatchObject({ retriable: false });
    expect(reports[1]).toMatchObject({ msg: "small", offset: 0 });
    expect(Date.now() - started).toBeLessThan(10000); // at once, not at message.timeout.ms
  });
});
