/**
 * Metadata (key 3), versions 1-12: brokers, topics, partitions and their leaders.
 *
 *   Metadata Request (Version: 12) => [topics] allow_auto_topic_creation
 *                                     include_topic_authorized_operations _tagged_fields
 *     topics => topic_id name _tagged_fields           (COMPACT_NULLABLE_ARRAY; null = all topics)
 *       topic_id => UUID                               (v10+)
 *       name => COMPACT_NULLABLE_STRING                (nullable v10+)
 *     allow_auto_topic_creation => BOOLEAN             (v4+)
 *     include_cluster_authorized_operations => BOOLEAN (v8-10)
 *     include_topic_authorized_operations => BOOLEAN   (v8+)
 *
 *   Metadata Response (Version: 12) => throttle_time_ms [brokers] cluster_id controller_id
 *                                      [topics] _tagged_fields
 *     throttle_time_ms => INT32                        (v3+)
 *     brokers => node_id host port rack _tagged_fields
 *       node_id => INT32
 *       host => COMPACT_STRING
 *       port => INT32
 *       rack => COMPACT_NULLABLE_STRING                (v1+)
 *     cluster_id => COMPACT_NULLABLE_STRING            (v2+)
 *     controller_id => INT32                           (v1+)
 *     topics => error_code name topic_id is_internal [partitions]
 *               topic_authorized_operations _tagged_fields
 *       error_code => INT16
 *       name => COMPACT_NULLABLE_STRING                (nullable v12+)
 *       topic_id => UUID                               (v10+)
 *       is_internal => BOOLEAN                         (v1+)
 *       partitions => error_code partition_index leader_id leader_epoch [replica_nodes]
 *                     [isr_nodes] [offline_replicas] _tagged_fields
 *         error_code => INT16
 *         partition_index => INT32
 *         leader_id => INT32
 *         leader_epoch => INT32                        (v7+)
 *         replica_nodes => INT32
 *         isr_nodes => INT32
 *         offline_replicas => INT32                    (v5+)
 *       topic_authorized_operations => INT32           (v8+)
 *     cluster_authorized_operations => INT32           (v8-10)
 *
 * v9+ is flexible (compact strings and arrays, tagged fields). v0 is left out:
 * its empty topic array means "all topics", which v1+ spells as null. v13
 * (Kafka 4.0, KIP-1102) only appends a top-level error code and is not needed.
 */
import { ApiKey } from "./api-keys.js";
import { encodeRequestFrame } from "./headers.js";
import { ProtocolError } from "./protocol-error.js";
import type { Reader } from "./reader.js";
import type { VersionRange } from "./versions.js";
import { type Uuid, type Writer, ZERO_UUID } from "./writer.js";

export const METADATA_VERSIONS: VersionRange = { min: 1, max: 12 };

/** The "not requested / unknown" value of the authorized-operations bit fields. */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

export interface MetadataRequestTopic {
  /** null only from v10, to ask by `topicId` (brokers answer that from v12). */
  name: string | null;
  /** v10+; ZERO_UUID when absent. */
  topicId?: Uuid;
}

export interface MetadataRequest {
  /** null asks for every topic; [] for none (brokers only). */
  topics: readonly MetadataRequestTopic[] | null;
  /** v4+; default true. false cannot be expressed below v4. */
  allowAutoTopicCreation?: boolean;
  /** v8-10; default false. */
  includeClusterAuthorizedOperations?: boolean;
  /** v8+; default false. */
  includeTopicAuthorizedOperations?: boolean;
}

export interface MetadataResponseBroker {
  nodeId: number;
  host: string;
  port: number;
  /** v1+; null when unassigned. */
  rack: string | null;
}

export interface MetadataResponsePartition {
  errorCode: number;
  partitionIndex: number;
  leaderId: number;
  /** v7+; -1 below. */
  leaderEpoch: number;
  replicaNodes: number[];
  isrNodes: number[];
  /** v5+; [] below. */
  offlineReplicas: number[];
}

export interface MetadataResponseTopic {
  errorCode: number;
  /** null only from v12, for an unknown topic asked for by id. */
  name: string | null;
  /** v10+; ZERO_UUID below and for unknown topics asked for by name. */
  topicId: Uuid;
  /** v1+. */
  isInternal: boolean;
  partitions: MetadataResponsePartition[];
  /** v8+; AUTHORIZED_OPERATIONS_OMITTED below or when not requested. */
  topicAuthorizedOperations: number;
}

export interface MetadataResponse {
  /** v3+; 0 below. */
  throttleTimeMs: number;
  brokers: MetadataResponseBroker[];
  /** v2+; null below. */
  clusterId: string | null;
  /** v1+; -1 when unknown. */
  controllerId: number;
  topics: MetadataResponseTopic[];
  /** v8-10; AUTHORIZED_OPERATIONS_OMITTED otherwise. */
  clusterAuthorizedOperations: number;
}

function checkVersion(version: number): void {
  if (
    !Number.isInteger(version) ||
    version < METADATA_VERSIONS.min ||
    version > METADATA_VERSIONS.max
  ) {
    throw new ProtocolError("UNSUPPORTED_VERSION", `Metadata v${version} is not implemented`);
  }
}

/**
 * Writes the request body. Throws RangeError for what `version` cannot say: a
 * null topic name below v10, allowAutoTopicCreation=false below v4, asking for
 * authorized operations below v8 (or for the cluster's outside v8-10).
 */
export function encodeMetadataRequest(w: Writer, version: number, req: MetadataRequest): void {
  checkVersion(version);
  const flexible = version >= 9;
  const writeTopic = (w: Writer, t: MetadataRequestTopic) => {
    if (version >= 10) w.uuid(t.topicId ?? ZERO_UUID);
    if (t.name === null && version < 10) {
      throw new RangeError(`Metadata v${version} cannot ask for a topic without its name`);
    }
    if (flexible) w.compactNullableString(t.name);
    else w.string(t.name as string);
    if (flexible) w.taggedFields();
  };
  if (flexible) w.compactArray(req.topics, writeTopic);
  else w.array(req.topics, writeTopic);
  const autoCreate = req.allowAutoTopicCreation ?? true;
  if (version >= 4) w.boolean(autoCreate);
  else if (!autoCreate) {
    throw new RangeError(`Metadata v${version} cannot disable allowAutoTopicCreation (v4+)`);
  }
  const clusterOps = req.includeClusterAuthorizedOperations ?? false;
  if (version >= 8 && version <= 10) w.boolean(clusterOps);
  else if (clusterOps) {
    throw new RangeError(`Metadata v${version} has no includeClusterAuthorizedOperations (v8-10)`);
  }
  const topicOps = req.includeTopicAuthorizedOperations ?? false;
  if (version >= 8) w.boolean(topicOps);
  else if (topicOps) {
    throw new RangeError(`Metadata v${version} has no includeTopicAuthorizedOperations (v8+)`);
  }
  if (flexible) w.taggedFields();
}

/** A whole request frame (size, header, body); a view into `w`. */
export function metadataRequestFrame(
  w: Writer,
  version: number,
  correlationId: number,
  clientId: string | null,
  req: MetadataRequest,
): Buffer {
  return encodeRequestFrame(
    w,
    { apiKey: ApiKey.Metadata, apiVersion: version, correlationId, clientId },
    (body) => encodeMetadataRequest(body, version, req),
  );
}

/** The broker side, for tests and fake brokers. */
export function decodeMetadataRequest(r: Reader, version: number): MetadataRequest {
  checkVersion(version);
  const flexible = version >= 9;
  const readTopic = (r: Reader): MetadataRequestTopic => {
    const topicId = version >= 10 ? r.uuid() : ZERO_UUID;
    const name =
      version >= 10 ? r.compactNullableString() : flexible ? r.compactString() : r.string();
    if (flexible) r.taggedFields();
    return { name, topicId };
  };
  const topics = flexible ? r.compactNullableArray(readTopic) : r.nullableArray(readTopic);
  const req: MetadataRequest = {
    topics,
    allowAutoTopicCreation: version >= 4 ? r.boolean() : true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  };
  if (version >= 8 && version <= 10) req.includeClusterAuthorizedOperations = r.boolean();
  if (version >= 8) req.includeTopicAuthorizedOperations = r.boolean();
  if (flexible) r.taggedFields();
  return req;
}

export function decodeMetadataResponse(r: Reader, version: number): MetadataResponse {
  checkVersion(version);
  const flexible = version >= 9;
  const str = flexible ? () => r.compactString() : () => r.string();
  const nullableStr = flexible ? () => r.compactNullableString() : () => r.nullableString();
  const int32s = (r: Reader): number[] => {
    const read = (r: Reader) => r.int32();
    return flexible ? r.compactArray(read) : r.array(read);
  };
  const list = <T>(read: (r: Reader) => T): T[] =>
    flexible ? r.compactArray(read) : r.array(read);

  const throttleTimeMs = version >= 3 ? r.int32() : 0;
  const brokers = list((r): MetadataResponseBroker => {
    const b = { nodeId: r.int32(), host: str(), port: r.int32(), rack: nullableStr() };
    if (flexible) r.taggedFields();
    return b;
  });
  const clusterId = version >= 2 ? nullableStr() : null;
  const controllerId = r.int32();
  const topics = list((r): MetadataResponseTopic => {
    const errorCode = r.int16();
    const name = version >= 12 ? nullableStr() : str();
    const topicId = version >= 10 ? r.uuid() : ZERO_UUID;
    const isInternal = r.boolean();
    const partitions = list((r): MetadataResponsePartition => {
      const p = {
        errorCode: r.int16(),
        partitionIndex: r.int32(),
        leaderId: r.int32(),
        leaderEpoch: version >= 7 ? r.int32() : -1,
        replicaNodes: int32s(r),
        isrNodes: int32s(r),
        offlineReplicas: version >= 5 ? int32s(r) : [],
      };
      if (flexible) r.taggedFields();
      return p;
    });
    const topicAuthorizedOperations = version >= 8 ? r.int32() : AUTHORIZED_OPERATIONS_OMITTED;
    if (flexible) r.taggedFields();
    return { errorCode, name, topicId, isInternal, partitions, topicAuthorizedOperations };
  });
  const clusterAuthorizedOperations =
    version >= 8 && version <= 10 ? r.int32() : AUTHORIZED_OPERATIONS_OMITTED;
  if (flexible) r.taggedFields();
  return { throttleTimeMs, brokers, clusterId, controllerId, topics, clusterAuthorizedOperations };
}

/** The broker side, for tests and fake brokers. Fields a version lacks are not written. */
export function encodeMetadataResponse(w: Writer, version: number, res: MetadataResponse): void {
  checkVersion(version);
  const flexible = version >= 9;
  const str = (s: string) => (flexible ? w.compactString(s) : w.string(s));
  const nullableStr = (s: string | null) =>
    flexible ? w.compactNullableString(s) : w.nullableString(s);
  const list = <T>(items: readonly T[], write: (w: Writer, item: T) => void) =>
    flexible ? w.compactArray(items, write) : w.array(items, write);
  const int32s = (items: readonly number[]) => list(items, (w, n) => w.int32(n));

  if (version >= 3) w.int32(res.throttleTimeMs);
  list(res.brokers, (w, b) => {
    w.int32(b.nodeId);
    str(b.host);
    w.int32(b.port);
    nullableStr(b.rack);
    if (flexible) w.taggedFields();
  });
  if (version >= 2) nullableStr(res.clusterId);
  w.int32(res.controllerId);
  list(res.topics, (w, t) => {
    w.int16(t.errorCode);
    if (version >= 12) nullableStr(t.name);
    else str(t.name ?? "");
    if (version >= 10) w.uuid(t.topicId);
    w.boolean(t.isInternal);
    list(t.partitions, (w, p) => {
      w.int16(p.errorCode).int32(p.partitionIndex).int32(p.leaderId);
      if (version >= 7) w.int32(p.leaderEpoch);
      int32s(p.replicaNodes);
      int32s(p.isrNodes);
      if (version >= 5) int32s(p.offlineReplicas);
      if (flexible) w.taggedFields();
    });
    if (version >= 8) w.int32(t.topicAuthorizedOperations);
    if (flexible) w.taggedFields();
  });
  if (version >= 8 && version <= 10) w.int32(res.clusterAuthorizedOperations);
  if (flexible) w.taggedFields();
}
