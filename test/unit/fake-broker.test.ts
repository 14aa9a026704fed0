/**
 * The fake cluster (test/helpers/fake-broker.ts) proved with a raw socket
 * client built from our encoders: the APIs it speaks and Kafka's idempotent
 * producer rules. Faults and timing are in fake-broker-faults.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ApiKey } from "../../src/protocol/api-keys.js";
import { decodeApiVersionsResponse } from "../../src/protocol/api-versions.js";
import { encodeRequestFrame, readResponseHeader } from "../../src/protocol/headers.js";
import { Reader } from "../../src/protocol/reader.js";
import { encodeRecordBatch } from "../../src/protocol/record-batch.js";
import { Writer, ZERO_UUID } from "../../src/protocol/writer.js";
import {
  type FakeCluster,
  type FakeClusterOptions,
  startFakeCluster,
} from "../helpers/fake-broker.js";
import {
  apiVersions,
  batch,
  connect,
  initProducerId,
  metadata,
  produce,
} from "../helpers/fake-broker-requests.js";
import type { RawClient } from "../helpers/raw-client.js";
import { T0, variedRecords } from "../helpers/records.js";

const clusters: FakeCluster[] = [];
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(clusters.splice(0).map((c) => c.close()));
});

async function start(options: FakeClusterOptions): Promise<FakeCluster> {
  const cluster = await startFakeCluster(options);
  clusters.push(cluster);
  return cluster;
}

async function client(c: FakeCluster, nodeId = 1): Promise<RawClient> {
  const raw = await connect(c.broker(nodeId));
  clients.push(raw);
  return raw;
}

const toBuf = (v: string | Uint8Array | null | undefined) =>
  v === null || v === undefined ? null : Buffer.from(v);

describe("fake cluster: ApiVersions", () => {
  it("v0-v3 list the default ranges", async () => {
    const c = await client(await start({}));
    for (let v = 0; v <= 3; v++) {
      const res = await apiVersions(c, v);
      expect(res.errorCode).toBe(0);
      expect(res.apiKeys).toEqual([
        { apiKey: 0, minVersion: 3, maxVersion: 12 },
        { apiKey: 3, minVersion: 1, maxVersion: 12 },
        { apiKey: 18, minVersion: 0, maxVersion: 3 },
        { apiKey: 22, minVersion: 0, maxVersion: 5 },
      ]);
    }
  });

  it("answers an unknown version with UNSUPPORTED_VERSION in the v0 layout (KIP-511)", async () => {
    const c = await client(await start({}));
    const correlationId = c.nextCorrelationId();
    const frame = encodeRequestFrame(
      new Writer(),
      { apiKey: ApiKey.ApiVersions, apiVersion: 4, correlationId, clientId: "x" },
      (w) => w.compactString("event-kafka").compactString("0.1.0").taggedFields(),
    );
    c.sendRaw(Buffer.from(frame));
    const r = new Reader(await c.nextFrame(5000));
    expect(readResponseHeader(r, 0).correlationId).toBe(correlationId);
    expect(decodeApiVersionsResponse(r, 0)).toMatchObject({
      errorCode: 35,
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 3 }],
    });
    expect(r.remaining).toBe(0);
    // The connection stays usable for the downgrade.
    expect((await apiVersions(c, 3)).errorCode).toBe(0);
  });

  it("advertises overrides; a removed API's request closes the connection", async () => {
    const fake = await start({ apiVersions: { 22: null, 0: { min: 3, max: 9 } } });
    const c = await client(fake);
    expect((await apiVersions(c, 3)).apiKeys.map((k) => [k.apiKey, k.maxVersion])).toEqual([
      [0, 9],
      [3, 12],
      [18, 3],
    ]);
    await expect(initProducerId(c, 4)).rejects.toThrow(/closed/);
    expect(fake.brokers[0]!.errors[0]!.message).toMatch(/API key 22 v4 is not advertised/);
    await expect(startFakeCluster({ apiVersions: { 0: { min: 3, max: 14 } } })).rejects.toThrow(
      RangeError,
    );
  });
});

describe("fake cluster: Metadata", () => {
  it("every broker knows every broker and topic; ids from v10, leader epochs from v7", async () => {
    const fake = await start({
      nodes: 3,
      topics: [
        { name: "orders", partitions: 3 },
        { name: "pinned", partitions: 2, leaders: [3, 3] },
      ],
    });
    const c = await client(fake, 2);
    const res = await metadata(c, 12, null);
    expect(res.brokers).toEqual(
      fake.brokers.map((b) => ({ nodeId: b.nodeId, host: "127.0.0.1", port: b.port, rack: null })),
    );
    expect(res).toMatchObject({ clusterId: "fake-cluster", controllerId: 1 });
    expect(res.topics.map((t) => [t.name, t.errorCode, t.topicId])).toEqual([
      ["orders", 0, fake.topic("orders").id],
      ["pinned", 0, fake.topic("pinned").id],
    ]);
    expect(res.topics[0]!.partitions.map((p) => [p.partitionIndex, p.leaderId])).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    expect(res.topics[1]!.partitions.map((p) => p.leaderId)).toEqual([3, 3]);
    expect(res.topics[1]!.partitions[0]).toMatchObject({ leaderEpoch: 0, replicaNodes: [1, 2, 3] });

    const v9 = await metadata(c, 9, ["pinned"]);
    expect(v9.topics[0]).toMatchObject({ topicId: ZERO_UUID, name: "pinned" });
    expect(v9.topics[0]!.partitions[0]!.leaderEpoch).toBe(0);
    const v1 = await metadata(c, 1, ["pinned", "nope"]);
    expect(v1.topics[0]!.partitions[0]!.leaderEpoch).toBe(-1);
    expect(v1.topics[1]).toMatchObject({ name: "nope", errorCode: 3, partitions: [] });
  });

  it("auto-creates a topic (LEADER_NOT_AVAILABLE first) only when both sides allow it", async () => {
    const fake = await start({ autoCreateTopics: true, autoCreatePartitions: 2 });
    const c = await client(fake);
    expect((await metadata(c, 12, ["fresh"], false)).topics[0]!.errorCode).toBe(3);
    expect(fake.state.topics.has("fresh")).toBe(false);
    const first = await metadata(c, 12, ["fresh"]);
    expect(first.topics[0]).toMatchObject({ name: "fresh", errorCode: 5, partitions: [] });
    const second = await metadata(c, 12, ["fresh"]);
    expect(second.topics[0]!.errorCode).toBe(0);
    expect(second.topics[0]!.partitions).toHaveLength(2);
    expect((await metadata(c, 12, ["bad/name"])).topics[0]!.errorCode).toBe(17);
    const off = await start({});
    expect((await metadata(await client(off), 12, ["fresh"])).topics[0]!.errorCode).toBe(3);
  });
});

describe("fake cluster: InitProducerId", () => {
  it("hands out ids from 1000 at epoch 0 and bumps a current id and epoch (KIP-360)", async () => {
    const fake = await start({ nodes: 2 });
    const c = await client(fake);
    expect(await initProducerId(c, 0)).toEqual({
      throttleTimeMs: 0,
      errorCode: 0,
      producerId: 1000,
      producerEpoch: 0,
    });
    // Ids are cluster-wide: the other broker goes on counting.
    expect(await initProducerId(await client(fake, 2), 2)).toMatchObject({ producerId: 1001 });
    expect(await initProducerId(c, 4, 1000, 0)).toMatchObject({
      producerId: 1000,
      producerEpoch: 1,
    });
    expect(await initProducerId(c, 5, 1000, 1)).toMatchObject({
      producerId: 1000,
      producerEpoch: 2,
    });
    const fenced = { throttleTimeMs: 0, errorCode: 47, producerId: -1, producerEpoch: -1 };
    expect(await initProducerId(c, 4, 1000, 1)).toEqual(fenced); // stale epoch
    expect(await initProducerId(c, 3, 4242, 0)).toEqual(fenced); // unknown id
    expect((await initProducerId(c, 3, 1000, -1)).errorCode).toBe(42); // half a pair
    expect((await initProducerId(c, 3, -1, -1, "")).errorCode).toBe(42); // empty transactional id
  });

  it("newProducerIdOnInit: a fresh id every time, as Kafka does without a transactional id", async () => {
    const c = await client(await start({ newProducerIdOnInit: true }));
    expect(await initProducerId(c, 4)).toMatchObject({ producerId: 1000, producerEpoch: 0 });
    expect(await initProducerId(c, 4, 1000, 0)).toMatchObject({
      producerId: 1001,
      producerEpoch: 0,
    });
  });
});

describe("fake cluster: Produce", () => {
  it("appends at offsets from 0 and keeps records as sent", async () => {
    const fake = await start({ topics: [{ name: "t", partitions: 2 }] });
    const c = await client(fake);
    const records = variedRecords();
    const first = await produce(c, Buffer.from(encodeRecordBatch(records)), {
      topic: "t",
      partition: 1,
    });
    expect(first).toMatchObject({ index: 1, errorCode: 0, baseOffset: 0, logStartOffset: 0 });
    const log = fake.log("t", 1);
    expect(log.map((r) => r.offset)).toEqual(records.map((_, i) => i));
    log.forEach((r, i) => {
      const sent = records[i]!;
      expect(r.key).toEqual(toBuf(sent.key));
      expect(r.value).toEqual(toBuf(sent.value));
      expect(r.timestamp).toBe(sent.timestamp);
      expect(r.headers).toEqual(
        (sent.headers ?? []).map((h) => ({ key: h.key, value: toBuf(h.value) })),
      );
      expect(r).toMatchObject({ producerId: -1, producerEpoch: -1, sequence: -1 });
    });
    // Every Produce version; offsets go on per partition.
    for (let v = 3; v <= 12; v++) {
      const res = await produce(c, batch(v, 2, -1), { topic: "t", partition: 1, version: v });
      expect([v, res.errorCode, res.baseOffset]).toEqual([v, 0, records.length + 2 * (v - 3)]);
    }
    expect(fake.log("t", 1).at(-1)).toMatchObject({ key: Buffer.from("k13"), offset: 26 });
    expect(fake.log("t", 0)).toEqual([]);
    expect(fake.topic("t").partitions.map((p) => p.logEndOffset)).toEqual([0, 27]);
  });

  it("refuses unknown topics and partitions, corrupt, oversized and multi-batch records", async () => {
    const fake = await start({ topics: [{ name: "t", partitions: 1 }] });
    const c = await client(fake);
    expect((await produce(c, batch(0, 1, -1), { topic: "x" })).errorCode).toBe(3);
    expect((await produce(c, batch(0, 1, -1), { topic: "t", partition: 1 })).errorCode).toBe(3);
    const corrupt = batch(0, 1, -1);
    corrupt[corrupt.length - 1] ^= 0xff;
    expect((await produce(c, corrupt, { topic: "t" })).errorCode).toBe(2);
    const two = Buffer.concat([batch(0, 1, -1), batch(1, 1, -1)]);
    expect((await produce(c, two, { topic: "t" })).errorCode).toBe(87);
    expect((await produce(c, null, { topic: "t" })).errorCode).toBe(87);
    const big = batch(0, 20, -1);
    fake.setMaxMessageBytes("t", big.length - 1);
    expect((await produce(c, big, { topic: "t" })).errorCode).toBe(10);
    fake.setMaxMessageBytes("t", big.length);
    expect((await produce(c, big, { topic: "t" })).errorCode).toBe(0);
    expect(fake.log("t", 0)).toHaveLength(20);
  });

  it("Produce v13 names topics by id when advertised", async () => {
    const fake = await start({
      topics: [{ name: "t", partitions: 1 }],
      apiVersions: { 0: { min: 3, max: 13 } },
    });
    const c = await client(fake);
    const topicId = fake.topic("t").id;
    const ok = await produce(c, batch(0, 1, -1), { topic: "", topicId, version: 13 });
    expect(ok).toMatchObject({ errorCode: 0, baseOffset: 0 });
    expect(ok.res.responses[0]!.topicId).toEqual(topicId);
    const unknown = await produce(c, batch(0, 1, -1), {
      topic: "",
      topicId: ZERO_UUID,
      version: 13,
    });
    expect(unknown.errorCode).toBe(100);
    expect(fake.log("t", 0)).toHaveLength(1);
  });

  it("NOT_LEADER_OR_FOLLOWER after setLeader, with the new leader from v10 (KIP-951)", async () => {
    const fake = await start({ nodes: 3, topics: [{ name: "t", partitions: 1 }] });
    const c1 = await client(fake, 1);
    expect((await produce(c1, batch(0, 1, -1), { topic: "t" })).errorCode).toBe(0);
    fake.setLeader("t", 0, 2);
    expect(fake.topic("t").partitions).toEqual([{ leader: 2, leaderEpoch: 1, logEndOffset: 1 }]);
    const v10 = await produce(c1, batch(1, 1, -1), { topic: "t", version: 10 });
    expect(v10).toMatchObject({
      errorCode: 6,
      baseOffset: -1,
      currentLeader: { leaderId: 2, leaderEpoch: 1 },
    });
    expect(v10.res.nodeEndpoints).toEqual([
      { nodeId: 2, host: "127.0.0.1", port: fake.broker(2).port, rack: null },
    ]);
    const v9 = await produce(c1, batch(1, 1, -1), { topic: "t", version: 9 });
    expect([v9.errorCode, v9.currentLeader, v9.res.nodeEndpoints]).toEqual([6, null, []]);
    const meta = await metadata(c1, 12, ["t"]);
    expect(meta.topics[0]!.partitions[0]).toMatchObject({ leaderId: 2, leaderEpoch: 1 });
    const c2 = await client(fake, 2);
    expect(await produce(c2, batch(1, 1, -1), { topic: "t" })).toMatchObject({
      errorCode: 0,
      baseOffset: 1,
    });
    fake.setLeader("t", 0, -1);
    const none = await metadata(c2, 12, ["t"]);
    expect(none.topics[0]!.partitions[0]).toMatchObject({ errorCode: 5, leaderId: -1 });
    expect(() => fake.setLeader("t", 0, 4)).toThrow(RangeError);
  });

  it("recreateTopic: a new id, leader epochs 0, empty logs, no producer state", async () => {
    const fake = await start({ nodes: 2, topics: [{ name: "t", partitions: 1 }] });
    const c = await client(fake);
    await produce(c, batch(0, 2), { topic: "t" });
    fake.setLeader("t", 0, 1);
    const oldId = fake.topic("t").id;
    fake.recreateTopic("t", 2);
    const now = fake.topic("t");
    expect(Buffer.from(now.id).equals(oldId)).toBe(false);
    expect(now.partitions).toEqual([
      { leader: 1, leaderEpoch: 0, logEndOffset: 0 },
      { leader: 2, leaderEpoch: 0, logEndOffset: 0 },
    ]);
    // The producer's next sequence (2) is unknown to the new partition.
    expect((await produce(c, batch(2, 1), { topic: "t" })).errorCode).toBe(59);
  });
});

describe("fake cluster: idempotent producer rules", () => {
  const to = { topic: "t" };

  it("answers a duplicate of one of the last 5 batches with its original offset", async () => {
    const fake = await start({ topics: [{ name: "t", partitions: 1 }] });
    const c = await client(fake);
    const { producerId: pid } = await initProducerId(c, 4);
    const b0 = batch(0, 2, pid);
    const b1 = batch(2, 3, pid);
    expect((await produce(c, b0, to)).baseOffset).toBe(0);
    expect((await produce(c, b1, to)).baseOffset).toBe(2);
    expect(await produce(c, b1, to)).toMatchObject({ errorCode: 0, baseOffset: 2 });
    expect(await produce(c, b0, to)).toMatchObject({ errorCode: 0, baseOffset: 0 });
    const log = fake.log("t", 0);
    expect(log.map((r) => [r.offset, r.sequence, r.producerId, r.producerEpoch])).toEqual(
      [0, 1, 2, 3, 4].map((i) => [i, i, pid, 0]),
    );
    // Four more batches: b0 falls out of the window and is now out of order.
    for (let seq = 5; seq < 9; seq++) await produce(c, batch(seq, 1, pid), to);
    expect((await produce(c, b1, to)).baseOffset).toBe(2);
    expect((await produce(c, b0, to)).errorCode).toBe(45);
    expect(fake.log("t", 0)).toHaveLength(9);
  });

  it("rejects gaps, unknown producers and lower epochs; a new epoch starts at 0", async () => {
    const fake = await start({ topics: [{ name: "t", partitions: 1 }] });
    const c = await client(fake);
    await produce(c, batch(0, 3, 1000), to);
    const gap = await produce(c, batch(4, 1, 1000), to);
    expect(gap).toMatchObject({ errorCode: 45, baseOffset: -1 });
    expect(gap.errorMessage).toMatch(/expected 3/);
    expect((await produce(c, batch(2, 2, 1000), to)).errorCode).toBe(45); // overlaps, not a duplicate
    expect((await produce(c, batch(3, 1, 2000), to)).errorCode).toBe(59); // no state for 2000
    expect((await produce(c, batch(3, 1, 1000, 1), to)).errorCode).toBe(45); // new epoch, not 0
    expect((await produce(c, batch(0, 1, 1000, 1), to)).errorCode).toBe(0);
    expect((await produce(c, batch(3, 1, 1000, 0), to)).errorCode).toBe(47); // fenced epoch
    expect((await produce(c, batch(1, 1, 1000, 1), to)).errorCode).toBe(0);
    expect(fake.log("t", 0).map((r) => [r.producerEpoch, r.sequence])).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 0],
      [1, 1],
    ]);
  });

  it("acceptUnknownProducerSequence; sequences wrap at int32 max", async () => {
    const fake = await start({
      topics: [{ name: "t", partitions: 1 }],
      acceptUnknownProducerSequence: true,
    });
    const c = await client(fake);
    expect((await produce(c, batch(2 ** 31 - 2, 2, 1000), to)).errorCode).toBe(0);
    expect((await produce(c, batch(1, 1, 1000), to)).errorCode).toBe(45);
    expect((await produce(c, batch(0, 1, 1000), to)).errorCode).toBe(0);
    expect(fake.log("t", 0).map((r) => r.sequence)).toEqual([2 ** 31 - 2, 2 ** 31 - 1, 0]);
    expect(fake.log("t", 0)[0]!.timestamp).toBe(T0);
  });
});
