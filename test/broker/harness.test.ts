/**
 * Proves the real-broker harness itself: the shared broker from global-setup, a 3-node KRaft
 * cluster with a node killed and restarted, kcat as a reader, and the librdkafka mock cluster.
 */
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { waitFor } from "../helpers/wait.js";
import { fetchBrokers, type KafkaCluster, probeApiVersions, startCluster } from "./kafka.js";
import { kcatConsume, kcatConsumeBinary, type MockCluster, startMockCluster } from "./kcat.js";

const API_PRODUCE = 0;
const API_METADATA = 3;

function parseBootstrap(bootstrap: string): { host: string; port: number }[] {
  return bootstrap.split(",").map((hp) => {
    const i = hp.lastIndexOf(":");
    return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
  });
}

describe("shared broker from global-setup", () => {
  const bootstrap = inject("kafkaBootstrap");
  const description = inject("kafkaDescription");

  it("is described with its version or origin", () => {
    expect(bootstrap).toMatch(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/);
    if (process.env.KAFKA_BOOTSTRAP) {
      expect(description).toContain("external cluster at");
    } else {
      expect(description).toMatch(/(Apache Kafka \d+\.\d+\.\d+|Kafka image \S+) at \S+:\d+/);
    }
  });

  it("answers ApiVersions and Metadata", async () => {
    const { host, port } = parseBootstrap(bootstrap)[0]!;
    const ranges = await probeApiVersions(host, port);
    const produce = ranges.find((r) => r.apiKey === API_PRODUCE);
    const metadata = ranges.find((r) => r.apiKey === API_METADATA);
    expect(produce?.maxVersion).toBeGreaterThanOrEqual(3);
    expect(metadata?.maxVersion).toBeGreaterThanOrEqual(1);
    const brokers = await fetchBrokers(host, port);
    expect(brokers.length).toBeGreaterThanOrEqual(1);
    for (const b of brokers) expect(b.port).toBeGreaterThan(0);
  });

  it("round-trips records written by kafkajs through kcat (JSON and byte-exact)", async () => {
    const topic = `harness-kcat-${Date.now()}`;
    const kafka = new Kafka({
      clientId: "harness-test",
      brokers: bootstrap.split(","),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic, numPartitions: 2, replicationFactor: 1 }],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer();
    await producer.connect();
    const binary = Buffer.from([0xff, 0x00, 0x0a, 0x41, 0xfe]);
    try {
      await producer.send({
        topic,
        messages: [
          { partition: 0, key: "k1", value: "v1", headers: { h1: "x", h2: "y" } },
          { partition: 0, key: null, value: binary },
          { partition: 1, key: "k3", value: null },
        ],
      });
    } finally {
      await producer.disconnect();
    }

    const json = await kcatConsume(bootstrap, topic);
    expect(json).toHaveLength(3);
    const first = json.find((r) => r.partition === 0 && r.offset === 0)!;
    expect(first).toMatchObject({
      topic,
      key: "k1",
      payload: "v1",
      headers: ["h1", "x", "h2", "y"],
    });
    expect(first.tstype).toBe("create");
    expect(first.ts).toBeGreaterThan(Date.now() - 600_000);
    const tombstone = json.find((r) => r.partition === 1)!;
    expect(tombstone).toMatchObject({ offset: 0, key: "k3", payload: null, headers: undefined });

    const onlyP0 = await kcatConsume(bootstrap, topic, { partition: 0, count: 1 });
    expect(onlyP0.map((r) => [r.partition, r.offset])).toEqual([[0, 0]]);

    const bytes = await kcatConsumeBinary(bootstrap, topic, { partition: 0 });
    expect(bytes).toHaveLength(2);
    expect(bytes[0]!.key).toEqual(Buffer.from("k1"));
    expect(bytes[0]!.headers).toEqual([
      ["h1", "x"],
      ["h2", "y"],
    ]);
    expect(bytes[1]!.key).toBeNull();
    expect(bytes[1]!.payload).toEqual(binary);
  });
});

describe("3-node local KRaft cluster", () => {
  let cluster: KafkaCluster | undefined;
  let startMs = 0;

  beforeAll(async () => {
    const t0 = Date.now();
    cluster = await startCluster({ nodes: 3 });
    startMs = Date.now() - t0;
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it("forms a cluster whose Metadata lists all 3 brokers", async () => {
    const c = cluster!;
    console.log(
      `3-node Apache Kafka ${c.version} cluster started in ${startMs} ms: ${c.bootstrap}`,
    );
    expect(c.nodes).toHaveLength(3);
    expect(c.bootstrap.split(",")).toHaveLength(3);
    expect(new Set(c.nodes.map((n) => n.port)).size).toBe(3);
    for (const node of c.nodes) {
      const brokers = await fetchBrokers("127.0.0.1", node.port);
      expect(brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
      expect(brokers.find((b) => b.nodeId === node.nodeId)?.port).toBe(node.port);
    }
  });

  it("brings a killed node back with start()", { timeout: 180_000 }, async () => {
    const c = cluster!;
    const victim = c.nodes[1]!;
    const oldPid = victim.pid;
    expect(oldPid).toBeTypeOf("number");
    await victim.kill();
    expect(victim.isRunning()).toBe(false);
    expect(() => process.kill(oldPid!, 0)).toThrow();
    await expect(probeApiVersions("127.0.0.1", victim.port, 2_000)).rejects.toThrow();

    // The survivors drop it from Metadata once its broker session expires.
    const survivor = c.nodes[0]!;
    const ids = await waitFor(
      "the killed broker to leave Metadata",
      async () => {
        const list = (await fetchBrokers("127.0.0.1", survivor.port)).map((b) => b.nodeId);
        return list.includes(victim.nodeId) ? undefined : list;
      },
      60_000,
    );
    expect(ids.sort()).toEqual([1, 3]);

    await victim.start();
    expect(victim.isRunning()).toBe(true);
    expect(victim.pid).not.toBe(oldPid);
    for (const node of c.nodes) {
      const brokers = await fetchBrokers("127.0.0.1", node.port);
      expect(brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
    }
  });
});

describe("librdkafka mock cluster (kcat)", () => {
  let mock: MockCluster | undefined;

  afterAll(async () => {
    await mock?.stop();
  });

  it("starts and gives 3 broker addresses that answer ApiVersions", async () => {
    mock = await startMockCluster(3);
    const addrs = parseBootstrap(mock.bootstrap);
    expect(addrs).toHaveLength(3);
    for (const { host, port } of addrs) {
      expect(host).toBe("127.0.0.1");
      const ranges = await probeApiVersions(host, port);
      expect(ranges.find((r) => r.apiKey === API_PRODUCE)?.maxVersion).toBeGreaterThanOrEqual(3);
    }
    await mock.stop();
    expect(() => process.kill(mock!.pid, 0)).toThrow();
    mock = undefined;
  });
});
