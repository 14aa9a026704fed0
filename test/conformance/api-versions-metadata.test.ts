/**
 * ApiVersions and Metadata over a raw socket against the real broker.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ApiKey } from "../../src/protocol/api-keys.js";
import {
  decodeApiVersionsResponse,
  decodeApiVersionsResponseTolerant,
  encodeApiVersionsRequest,
  pickApiVersionsFallback,
} from "../../src/protocol/api-versions.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import { METADATA_VERSIONS } from "../../src/protocol/metadata.js";
import { pickVersion } from "../../src/protocol/versions.js";
import { ZERO_UUID } from "../../src/protocol/writer.js";
import { RawClient } from "../helpers/raw-client.js";
import { brokerVersions, metadata, uniqueTopic, waitForTopic } from "../helpers/topics.js";

const bootstrap = inject("kafkaBootstrap");
const first = bootstrap.split(",")[0]!;
let client: RawClient;

beforeAll(async () => {
  console.log(`conformance against ${inject("kafkaDescription")}`);
  client = await RawClient.connect(first);
});
afterAll(() => client?.close());

const software = { clientSoftwareName: "event-kafka-tests", clientSoftwareVersion: "0.1.0" };

describe("ApiVersions against the broker", () => {
  for (const version of [0, 1, 2, 3]) {
    it(`v${version} lists Produce, Metadata and ApiVersions`, async () => {
      const res = await client.request(
        ApiKey.ApiVersions,
        version,
        (w) => encodeApiVersionsRequest(w, version, software),
        (r) => decodeApiVersionsResponse(r, version),
      );
      expect(res.errorCode).toBe(0);
      const byKey = new Map(res.apiKeys.map((k) => [k.apiKey, k]));
      // Kafka 4.x still advertises Produce from v0 although KIP-896 removed v0-2
      // (older librdkafka releases refuse a broker whose Produce range starts above 0).
      expect(byKey.get(ApiKey.Produce)?.minVersion).toBeLessThanOrEqual(3);
      expect(byKey.get(ApiKey.Produce)?.maxVersion).toBeGreaterThanOrEqual(9);
      expect(byKey.get(ApiKey.Metadata)?.maxVersion).toBeGreaterThanOrEqual(12);
      expect(byKey.get(ApiKey.ApiVersions)?.maxVersion).toBeGreaterThanOrEqual(3);
      if (version >= 3) expect(res.finalizedFeaturesEpoch).toBeGreaterThanOrEqual(-1);
    });
  }

  it("answers a version it does not know with UNSUPPORTED_VERSION in the v0 layout, and the fallback works", async () => {
    // ApiVersions v127 does not exist: KIP-511 says the broker answers with
    // error 35 and its own range, in a v0-layout body with a v0 header.
    const correlationId = client.nextCorrelationId();
    const frame = Buffer.from([
      ...[0, 0, 0, 0], // size, patched below
      ...[0x00, 0x12], // api_key 18
      ...[0x00, 0x7f], // api_version 127
      ...[0, 0, 0, correlationId], // correlation_id
      ...[0x00, 0x04, 0x74, 0x65, 0x73, 0x74], // client_id "test"
      0x00, // header tagged fields (flexible header v2)
      0x01, // client_software_name: empty compact string
      0x01, // client_software_version: empty compact string
      0x00, // body tagged fields
    ]);
    frame.writeInt32BE(frame.length - 4, 0);
    client.sendRaw(frame);
    const body = await client.nextFrame();
    expect(body.readInt32BE(0)).toBe(correlationId);
    const { Reader } = await import("../../src/protocol/reader.js");
    const res = decodeApiVersionsResponseTolerant(new Reader(body, 4), 3);
    expect(res.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    const own = res.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions);
    expect(own?.maxVersion).toBeGreaterThanOrEqual(3);
    const fallback = pickApiVersionsFallback(res, 127);
    expect(fallback).toBe(3);
    const retry = await client.request(
      ApiKey.ApiVersions,
      fallback,
      (w) => encodeApiVersionsRequest(w, fallback, software),
      (r) => decodeApiVersionsResponse(r, fallback),
    );
    expect(retry.errorCode).toBe(0);
  });

  it("picks the highest version both sides support", async () => {
    const versions = await brokerVersions(client);
    expect(pickVersion(ApiKey.Metadata, versions)).toBe(12);
    expect(pickVersion(ApiKey.ApiVersions, versions)).toBe(3);
    const produce = pickVersion(ApiKey.Produce, versions);
    expect(produce).toBe(Math.min(13, versions.get(ApiKey.Produce)!.max));
  });
});

describe("Metadata against the broker", () => {
  it("auto-creates a topic and reports its partitions and leader", async () => {
    const topic = uniqueTopic("meta-auto");
    const { response, topic: t } = await waitForTopic(client, topic);
    expect(t.partitions.length).toBe(3); // the harness broker's num.partitions
    const brokerIds = response.brokers.map((b) => b.nodeId);
    for (const p of t.partitions) {
      expect(brokerIds).toContain(p.leaderId);
      expect(p.leaderEpoch).toBeGreaterThanOrEqual(0);
      expect(p.replicaNodes).toContain(p.leaderId);
      expect(p.isrNodes).toContain(p.leaderId);
    }
    expect([...t.topicId].some((b) => b !== 0)).toBe(true);
    expect(response.clusterId).toMatch(/^[\w-]{22}$/);
    const addr = response.brokers.map((b) => `${b.host}:${b.port}`);
    expect(addr).toContain(first);
  });

  it("gives the same view of an existing topic at every version v1-v12", async () => {
    const topic = uniqueTopic("meta-versions");
    const { topic: reference } = await waitForTopic(client, topic);
    for (let v = METADATA_VERSIONS.min; v <= METADATA_VERSIONS.max; v++) {
      const res = await metadata(client, v, [topic], false);
      const t = res.topics.find((x) => x.name === topic);
      expect(t?.errorCode, `v${v}`).toBe(0);
      expect(t!.partitions.map((p) => [p.partitionIndex, p.leaderId]).sort(), `v${v}`).toEqual(
        reference.partitions.map((p) => [p.partitionIndex, p.leaderId]).sort(),
      );
      if (v >= 7) expect(t!.partitions[0]!.leaderEpoch).toBeGreaterThanOrEqual(0);
      if (v >= 10) expect(Buffer.from(t!.topicId)).toEqual(Buffer.from(reference.topicId));
      else expect(t!.topicId).toEqual(ZERO_UUID);
      expect(res.brokers.length).toBeGreaterThan(0);
    }
  });

  it("reports an unknown topic when auto-creation is not allowed", async () => {
    const topic = uniqueTopic("meta-missing");
    const res = await metadata(client, 12, [topic], false);
    expect(res.topics[0]?.name).toBe(topic);
    expect(res.topics[0]?.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it("refuses an invalid topic name with INVALID_TOPIC_EXCEPTION", async () => {
    const res = await metadata(client, 12, ["bad topic name!"], true);
    expect(res.topics[0]?.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  });
});
