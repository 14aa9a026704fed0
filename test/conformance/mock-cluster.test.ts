/**
 * The same produce path against librdkafka's mock cluster (librdkafka 2.0.2 in
 * Debian's kcat): an old, lenient peer that speaks ApiVersions <= v2, Metadata
 * <= v2 and Produce <= v7, and answers an ApiVersions v3 request with an error in
 * a malformed layout. Version negotiation must step down, and the records must
 * read back through librdkafka. The mock cluster lives inside kcat: without kcat
 * these tests skip (or fail where the peer tools are required, as in CI).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerConnection } from "../../src/client/connection.js";
import { Producer } from "../../src/producer/producer.js";
import { ApiKey } from "../../src/protocol/api-keys.js";
import { kcatConsume, type MockCluster, startMockCluster } from "../broker/kcat.js";
import { peerTool } from "../helpers/peer-tools.js";

const kcat = peerTool("kcat");
let mock: MockCluster;

beforeAll(async () => {
  if (kcat.available) mock = await startMockCluster(3);
});
afterAll(async () => {
  await mock?.stop();
});

describe("librdkafka mock cluster", () => {
  it("negotiates versions down to what the mock supports", async (ctx) => {
    kcat.need(ctx);
    const [host, port] = mock.bootstrap.split(",")[0]!.split(":");
    const conn = await BrokerConnection.connect({
      host: host!,
      port: Number(port),
      clientId: "event-kafka-tests",
      connectTimeoutMs: 10000,
      requestTimeoutMs: 10000,
      maxInFlight: 5,
      maxResponseBytes: 1 << 20,
      noDelay: true,
      keepAlive: false,
    });
    try {
      // We ask v3 first; the mock cannot answer it, so the handshake steps down.
      expect(conn.apiVersionsVersion).toBeLessThan(3);
      expect(conn.apiVersionsVersion).toBeGreaterThanOrEqual(0);
      const produce = conn.versionFor(ApiKey.Produce);
      const metadata = conn.versionFor(ApiKey.Metadata);
      expect(produce).toBeGreaterThanOrEqual(3);
      expect(produce).toBeLessThanOrEqual(conn.brokerVersions.get(ApiKey.Produce)!.max);
      expect(produce).toBeLessThan(9); // librdkafka 2.0.2's mock stops before flexible Produce
      expect(metadata).toBe(conn.brokerVersions.get(ApiKey.Metadata)!.max);
      console.log(
        `mock cluster: ApiVersions v${conn.apiVersionsVersion}, Produce v${produce}, Metadata v${metadata}`,
      );
    } finally {
      conn.close();
    }
  });

  it("takes records from the producer and librdkafka reads them back", async (ctx) => {
    kcat.need(ctx);
    const topic = "mock-roundtrip";
    const producer = new Producer({ "bootstrap.servers": mock.bootstrap, "linger.ms": 1 });
    const sent: string[] = [];
    const reports = [];
    for (let i = 0; i < 300; i++) {
      const value = `mock record ${i}`;
      sent.push(value);
      reports.push(producer.send({ topic, key: `k${i % 7}`, value }));
    }
    const delivered = await Promise.all(reports);
    await producer.close(5000);
    expect(delivered.every((r) => r.offset >= 0)).toBe(true);
    const back = await kcatConsume(mock.bootstrap, topic, { count: sent.length });
    expect(back.map((r) => r.payload).sort()).toEqual([...sent].sort());
    // Per partition, the offsets the producer reported are the ones librdkafka reads.
    for (const r of back) {
      const i = sent.indexOf(r.payload!);
      expect(delivered[i]!.partition).toBe(r.partition);
      expect(delivered[i]!.offset).toBe(r.offset);
    }
  });
});
