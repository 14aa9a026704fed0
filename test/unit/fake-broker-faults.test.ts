/**
 * The fake cluster's fault and timing controls (test/helpers/fake-broker.ts):
 * interception, blackholes, stopped brokers, socket.request.max.bytes, acks=0.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ApiKey } from "../../src/protocol/api-keys.js";
import {
  type FakeCluster,
  type FakeClusterOptions,
  type InterceptedRequest,
  startFakeCluster,
} from "../helpers/fake-broker.js";
import {
  batch,
  connect,
  metadata,
  produce,
  readProduce,
  sendProduce,
} from "../helpers/fake-broker-requests.js";
import type { RawClient } from "../helpers/raw-client.js";

const clusters: FakeCluster[] = [];
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(clusters.splice(0).map((c) => c.close()));
});

async function start(options: FakeClusterOptions = {}): Promise<FakeCluster> {
  const cluster = await startFakeCluster({ topics: [{ name: "t", partitions: 2 }], ...options });
  clusters.push(cluster);
  return cluster;
}

async function client(c: FakeCluster, nodeId = 1): Promise<RawClient> {
  const raw = await connect(c.broker(nodeId));
  clients.push(raw);
  return raw;
}

const to = { topic: "t" };

describe("fake cluster: intercept", () => {
  it("sees decoded requests; a delayed answer is not overtaken on its connection", async () => {
    const fake = await start();
    const seen: { req: InterceptedRequest; at: number }[] = [];
    fake.brokers[0]!.intercept((req) => {
      seen.push({ req, at: Date.now() });
      return seen.length === 1 ? { delayMs: 300 } : undefined;
    });
    const c = await client(fake);
    const t0 = Date.now();
    const first = sendProduce(c, batch(0, 1, 1000), to);
    const second = sendProduce(c, batch(1, 1, 1000), to);
    // Another connection is not held up.
    expect((await metadata(await client(fake), 12, ["t"])).topics[0]!.errorCode).toBe(0);
    expect(Date.now() - t0).toBeLessThan(250);
    const a = await readProduce(c, first);
    const b = await readProduce(c, second);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(295);
    expect(a.responses[0]!.partitionResponses[0]!.baseOffset).toBe(0);
    expect(b.responses[0]!.partitionResponses[0]!.baseOffset).toBe(1);
    // Kafka handles one request per connection at a time: the second waited for the first.
    const produces = seen.filter((s) => s.req.apiKey === ApiKey.Produce);
    expect(produces.map((s) => s.req.correlationId)).toEqual([first, second]);
    expect(produces[1]!.at - t0).toBeGreaterThanOrEqual(295);
    const req = produces[0]!.req;
    if (req.apiKey !== ApiKey.Produce) throw new Error("not a Produce request");
    expect(req.body.acks).toBe(-1);
    expect(req.body.topicData[0]!.partitionData[0]!.records).toEqual(batch(0, 1, 1000));
  });

  it("respond:false applies and swallows the answer; the retry is a duplicate", async () => {
    const fake = await start();
    fake.brokers[0]!.intercept(() => ({ respond: false }));
    const c = await client(fake);
    sendProduce(c, batch(0, 2, 1000), to);
    await expect(c.nextFrame(200)).rejects.toThrow(/no response/);
    expect(fake.log("t", 0)).toHaveLength(2);
    fake.brokers[0]!.intercept(null);
    expect(await produce(await client(fake), batch(0, 2, 1000), to)).toMatchObject({
      errorCode: 0,
      baseOffset: 0,
    });
    expect(fake.log("t", 0)).toHaveLength(2);
  });

  it('closeConnection "before" applies nothing, "after" applies then drops', async () => {
    const fake = await start();
    const broker = fake.brokers[0]!;
    broker.intercept(() => ({ closeConnection: "before" }));
    await expect(produce(await client(fake), batch(0, 1, -1), to)).rejects.toThrow(/closed/);
    expect(fake.log("t", 0)).toHaveLength(0);
    broker.intercept(() => ({ closeConnection: "after" }));
    await expect(produce(await client(fake), batch(0, 1, -1), to)).rejects.toThrow(/closed/);
    expect(fake.log("t", 0)).toHaveLength(1);
    expect(broker.errors).toEqual([]);
  });

  it("apply:false answers REQUEST_TIMED_OUT; partitionErrors fail one partition", async () => {
    const fake = await start();
    const broker = fake.brokers[0]!;
    const c = await client(fake);
    broker.intercept(() => ({ apply: false }));
    expect((await produce(c, batch(0, 1, -1), to)).errorCode).toBe(7);
    broker.intercept(() => ({ partitionErrors: { "t:0": 19 } }));
    expect((await produce(c, batch(0, 1, -1), to)).errorCode).toBe(19);
    expect((await produce(c, batch(0, 1, -1), { topic: "t", partition: 1 })).errorCode).toBe(0);
    expect(fake.log("t", 0)).toHaveLength(0);
    expect(fake.log("t", 1)).toHaveLength(1);
  });

  it("sets throttleTimeMs, mutes the connection that long, and overrides KIP-951 fields", async () => {
    const fake = await start();
    const leader = { leaderId: 1, leaderEpoch: 7 };
    const endpoint = { nodeId: 1, host: "elsewhere", port: 1, rack: "r" };
    fake.brokers[0]!.intercept((req) =>
      req.apiKey === ApiKey.Produce
        ? { throttleTimeMs: 250, currentLeader: { "t:0": leader }, nodeEndpoints: [endpoint] }
        : undefined,
    );
    const c = await client(fake);
    const res = await produce(c, batch(0, 1, -1), to);
    const t0 = Date.now();
    expect(res.res.throttleTimeMs).toBe(250);
    expect(res.currentLeader).toEqual(leader);
    expect(res.res.nodeEndpoints).toEqual([endpoint]);
    await metadata(c, 12, ["t"]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
  });
});

describe("fake cluster: broken brokers", () => {
  it("blackhole: accepts and reads, answers nothing", async () => {
    const fake = await start();
    const broker = fake.brokers[0]!;
    broker.blackhole(true);
    const c = await client(fake);
    sendProduce(c, batch(0, 1, -1), to);
    await expect(c.nextFrame(300)).rejects.toThrow(/no response/);
    expect(broker.requests.map((r) => r.apiKey)).toEqual([ApiKey.Produce]);
    expect(fake.log("t", 0)).toHaveLength(0);
    broker.blackhole(false);
    expect((await produce(await client(fake), batch(0, 1, -1), to)).errorCode).toBe(0);
    expect(broker.connectionsAccepted).toBe(2);
  });

  it("stop() drops connections and refuses new ones; start() listens on the same port", async () => {
    const fake = await start({ nodes: 2 });
    const broker = fake.broker(2);
    const port = broker.port;
    const c = await client(fake, 2);
    await broker.stop();
    expect(broker.running).toBe(false);
    await expect(metadata(c, 12, null)).rejects.toThrow(/closed|EPIPE|ECONNRESET/);
    await expect(connect(broker)).rejects.toThrow(/ECONNREFUSED/);
    // Metadata still lists it, as Kafka does before the broker's session expires.
    expect((await metadata(await client(fake, 1), 12, null)).brokers).toHaveLength(2);
    await broker.start();
    expect(broker.port).toBe(port);
    expect((await metadata(await client(fake, 2), 12, ["t"])).topics[0]!.errorCode).toBe(0);
  });

  it("maxRequestBytes: a larger frame closes the connection", async () => {
    const fake = await start({ maxRequestBytes: 1024 });
    const c = await client(fake);
    await expect(produce(c, batch(0, 100, -1), to)).rejects.toThrow(/closed/);
    expect(fake.brokers[0]!.errors[0]!.message).toMatch(/exceeds maxFrameBytes 1024/);
    expect(fake.log("t", 0)).toHaveLength(0);
    expect((await produce(await client(fake), batch(0, 1, -1), to)).errorCode).toBe(0);
  });

  it("acks=0 gets no response; with an error the connection is closed", async () => {
    const fake = await start();
    const c = await client(fake);
    sendProduce(c, batch(0, 3, -1), { ...to, acks: 0 });
    // The next frame on this connection answers the next request.
    expect((await metadata(c, 12, ["t"])).topics[0]!.name).toBe("t");
    expect(fake.log("t", 0)).toHaveLength(3);
    sendProduce(c, batch(0, 1, -1), { topic: "unknown", acks: 0 });
    await expect(c.nextFrame(2000)).rejects.toThrow(/closed/);
    expect(fake.brokers[0]!.requests.map((r) => r.apiKey)).toEqual([0, 3, 0]);
  });

  it("a malformed request closes the connection and is recorded", async () => {
    const fake = await start();
    const socket = net.connect(fake.brokers[0]!.port, "127.0.0.1");
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.on("error", () => {});
    // Metadata v12 whose body is one byte short.
    socket.write(Buffer.from([0, 0, 0, 11, 0, 3, 0, 12, 0, 0, 0, 1, 0xff, 0xff, 0]));
    await closed;
    expect(fake.brokers[0]!.errors[0]!.message).toMatch(/API key 3 v12/);
  });
});
