/**
 * The cluster as a Metadata response describes it, in the shape a user reads:
 * brokers, the controller, topics with their partitions, leaders, replicas and
 * in-sync replicas (what `kcat -L` lists). Error codes become error names.
 * `askForMetadata` asks until one broker answers or the deadline passes.
 */
import { errorByCode } from "../protocol/errors.js";
import type { MetadataResponse } from "../protocol/metadata.js";
import { KafkaClientError } from "./client-error.js";

export interface BrokerDescription {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionDescription {
  partition: number;
  /** -1 when the partition has no leader. */
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  /** The broker's error name for this partition (LEADER_NOT_AVAILABLE ...), null for none. */
  error: string | null;
}

export interface TopicDescription {
  name: string;
  /** Hex of the topic id; "" when the broker sends none. */
  topicId: string;
  internal: boolean;
  /** The broker's error name for this topic (UNKNOWN_TOPIC_OR_PARTITION ...), null for none. */
  error: string | null;
  partitions: PartitionDescription[];
}

export interface ClusterDescription {
  clusterId: string | null;
  /** -1 when the broker did not say. */
  controllerId: number;
  brokers: BrokerDescription[];
  topics: TopicDescription[];
}

function errorNameOf(code: number): string | null {
  return code === 0 ? null : errorByCode(code).name;
}

export function describeCluster(m: MetadataResponse): ClusterDescription {
  return {
    clusterId: m.clusterId,
    controllerId: m.controllerId,
    brokers: m.brokers
      .map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack }))
      .sort((a, b) => a.nodeId - b.nodeId),
    topics: m.topics
      .filter((t) => t.name !== null)
      .map((t) => {
        const hex = Buffer.from(t.topicId).toString("hex");
        return {
          name: t.name!,
          topicId: /^0*$/.test(hex) ? "" : hex,
          internal: t.isInternal,
          error: errorNameOf(t.errorCode),
          partitions: t.partitions
            .map((p) => ({
              partition: p.partitionIndex,
              leader: p.leaderId,
              leaderEpoch: p.leaderEpoch,
              replicas: [...p.replicaNodes],
              isr: [...p.isrNodes],
              offlineReplicas: [...p.offlineReplicas],
              error: errorNameOf(p.errorCode),
            }))
            .sort((a, b) => a.partition - b.partition),
        };
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}

/** What askForMetadata() needs of the cluster. */
export interface MetadataSource {
  describe(topics: readonly string[] | null): Promise<MetadataResponse>;
  readonly lastConnectionError: Error | undefined;
}

/**
 * Asks for the metadata of `topics` (null: every topic) until one broker
 * answers; rejects TIMED_OUT at `timeoutMs` with the last connection error,
 * or DESTROYED once `closed()`.
 */
export async function askForMetadata(
  cluster: MetadataSource,
  topics: readonly string[] | null,
  timeoutMs: number,
  closed: () => boolean,
): Promise<ClusterDescription> {
  const deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<"expired">((resolve) => {
    timer = setTimeout(() => resolve("expired"), timeoutMs);
  });
  let lastError: Error | undefined;
  try {
    while (!closed()) {
      const outcome = await Promise.race([
        cluster.describe(topics).catch((err: Error) => err),
        expired,
      ]);
      if (outcome === "expired") break;
      if (!(outcome instanceof Error)) return describeCluster(outcome);
      lastError = outcome;
      if (Date.now() >= deadline) break;
    }
  } finally {
    clearTimeout(timer);
  }
  if (closed()) throw new KafkaClientError("DESTROYED", "the producer is closed");
  const cause = lastError ?? cluster.lastConnectionError;
  throw new KafkaClientError(
    "TIMED_OUT",
    `no broker answered a metadata request within ${timeoutMs} ms${cause ? `: last error ${cause.message}` : ""}`,
    { cause: lastError },
  );
}
