/** Topic helpers for real-broker tests, built on the raw protocol client. */
import { randomBytes } from "node:crypto";
import { ApiKey } from "../../src/protocol/api-keys.js";
import {
  decodeApiVersionsResponse,
  encodeApiVersionsRequest,
} from "../../src/protocol/api-versions.js";
import {
  decodeMetadataResponse,
  encodeMetadataRequest,
  type MetadataResponse,
  type MetadataResponseTopic,
} from "../../src/protocol/metadata.js";
import { type BrokerVersions, brokerVersionMap } from "../../src/protocol/versions.js";
import type { RawClient } from "./raw-client.js";

/** A topic name no earlier run used. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

export async function brokerVersions(client: RawClient): Promise<BrokerVersions> {
  const res = await client.request(
    ApiKey.ApiVersions,
    3,
    (w) =>
      encodeApiVersionsRequest(w, 3, {
        clientSoftwareName: "event-kafka-tests",
        clientSoftwareVersion: "0.1.0",
      }),
    (r) => decodeApiVersionsResponse(r, 3),
  );
  if (res.errorCode !== 0) throw new Error(`ApiVersions error ${res.errorCode}`);
  return brokerVersionMap(res);
}

export function metadata(
  client: RawClient,
  version: number,
  topics: string[] | null,
  allowAutoTopicCreation = true,
): Promise<MetadataResponse> {
  return client.request(
    ApiKey.Metadata,
    version,
    (w) =>
      encodeMetadataRequest(w, version, {
        topics: topics === null ? null : topics.map((name) => ({ name })),
        ...(version >= 4 && { allowAutoTopicCreation }),
      }),
    (r) => decodeMetadataResponse(r, version),
  );
}

/**
 * Asks for `topic` (auto-creating it) until every partition has a leader.
 * Returns the topic's metadata as Metadata `version` (default v12) reports it.
 */
export async function waitForTopic(
  client: RawClient,
  topic: string,
  timeoutMs = 30000,
  version = 12,
): Promise<{ response: MetadataResponse; topic: MetadataResponseTopic }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await metadata(client, version, [topic]);
    const t = response.topics.find((x) => x.name === topic);
    if (
      t &&
      t.errorCode === 0 &&
      t.partitions.length > 0 &&
      t.partitions.every((p) => p.errorCode === 0 && p.leaderId >= 0)
    ) {
      return { response, topic: t };
    }
    if (Date.now() > deadline) {
      throw new Error(`topic ${topic} has no leaders after ${timeoutMs} ms: ${JSON.stringify(t)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
