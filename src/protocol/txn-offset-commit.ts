/**
 * TxnOffsetCommit (key 28), versions 0-5: commit consumer offsets as part of a
 * transaction, sent to the group coordinator (after AddOffsetsToTxn to the
 * transaction coordinator). They become visible when the transaction commits.
 *
 *   TxnOffsetCommit Request (Version: 5) => transactional_id group_id producer_id
 *       producer_epoch generation_id_or_member_epoch member_id group_instance_id [topics]
 *       _tagged_fields
 *     transactional_id => COMPACT_STRING
 *     group_id => COMPACT_STRING
 *     producer_id => INT64
 *     producer_epoch => INT16
 *     generation_id_or_member_epoch => INT32           (v3+, default -1)
 *     member_id => COMPACT_STRING                      (v3+, default "")
 *     group_instance_id => COMPACT_NULLABLE_STRING     (v3+, default null)
 *     topics => name [partitions] _tagged_fields
 *       name => COMPACT_STRING
 *       partitions => partition_index committed_offset committed_leader_epoch
 *                     committed_metadata _tagged_fields
 *         partition_index => INT32
 *         committed_offset => INT64
 *         committed_leader_epoch => INT32              (v2+, default -1)
 *         committed_metadata => COMPACT_NULLABLE_STRING
 *
 *   TxnOffsetCommit Response (Version: 5) => throttle_time_ms [topics] _tagged_fields
 *     throttle_time_ms => INT32
 *     topics => name [partitions] _tagged_fields
 *       name => COMPACT_STRING
 *       partitions => partition_index error_code _tagged_fields
 *         partition_index => INT32
 *         error_code => INT16
 *
 * v1 is v0 (brokers answer before throttling). v2 adds the leader epoch of the
 * last consumed record. v3 is the first flexible version and adds the
 * consumer's group metadata (KIP-447), so the coordinator can fence a zombie
 * member. The first of those fields was generation_id; the 4.4 schema calls it
 * GenerationIdOrMemberEpoch (the classic protocol's generation or the consumer
 * protocol's member epoch, KIP-848): same place, same type. v4 lets the broker
 * answer TRANSACTION_ABORTABLE (KIP-890). v5 has v4's layout but belongs to
 * transaction version 2 (KIP-890 part 2), where this request also does the
 * work of AddOffsetsToTxn: within a transaction without transaction version 2
 * a client must stay at v4 (the Java client caps its pick there).
 *
 * v6 (KIP-1319) is left out: it names topics by topic id instead of by name, in
 * the request and in the response, so it would need every topic's id from
 * Metadata v10+ and a way back from id to name, while every version up to 5
 * takes names.
 *
 * The group metadata fields and committed_leader_epoch are absent below v3 and
 * v2. The schema marks the leader epoch ignorable, so a version without it
 * drops it; the group metadata is not ignorable, so a request carrying any
 * of it (other than the defaults) below v3 is refused with a RangeError.
 */
import { ApiKey } from "./api-keys.js";
import { encodeRequestFrame } from "./headers.js";
import { ProtocolError } from "./protocol-error.js";
import type { Reader } from "./reader.js";
import type { VersionRange } from "./versions.js";
import type { Writer } from "./writer.js";

export const TXN_OFFSET_COMMIT_VERSIONS: VersionRange = { min: 0, max: 5 };

export interface TxnOffsetCommitRequestPartition {
  partitionIndex: number;
  /** The offset of the next record to consume. */
  committedOffset: number;
  /** v2+; -1 when unknown (and below v2, where it is not sent). */
  committedLeaderEpoch: number;
  committedMetadata: string | null;
}

export interface TxnOffsetCommitRequestTopic {
  name: string;
  partitions: TxnOffsetCommitRequestPartition[];
}

export interface TxnOffsetCommitRequest {
  transactionalId: string;
  groupId: string;
  producerId: number;
  producerEpoch: number;
  /** v3+: the group generation (classic) or member epoch (consumer protocol); default -1. */
  generationIdOrMemberEpoch: number;
  /** v3+; default "". */
  memberId: string;
  /** v3+; default null. */
  groupInstanceId: string | null;
  topics: TxnOffsetCommitRequestTopic[];
}

export interface TxnOffsetCommitResponsePartition {
  partitionIndex: number;
  errorCode: number;
}

export interface TxnOffsetCommitResponseTopic {
  name: string;
  partitions: TxnOffsetCommitResponsePartition[];
}

export interface TxnOffsetCommitResponse {
  throttleTimeMs: number;
  topics: TxnOffsetCommitResponseTopic[];
}

function checkVersion(version: number): void {
  if (
    !Number.isInteger(version) ||
    version < TXN_OFFSET_COMMIT_VERSIONS.min ||
    version > TXN_OFFSET_COMMIT_VERSIONS.max
  ) {
    throw new ProtocolError(
      "UNSUPPORTED_VERSION",
      `TxnOffsetCommit v${version} is not implemented`,
    );
  }
}

/**
 * Writes the request body. Below v3 the group metadata must be the defaults
 * (-1, "", null), else RangeError; below v2 the leader epochs are not written.
 */
export function encodeTxnOffsetCommitRequest(
  w: Writer,
  version: number,
  req: TxnOffsetCommitRequest,
): void {
  checkVersion(version);
  const flexible = version >= 3;
  if (
    version < 3 &&
    (req.generationIdOrMemberEpoch !== -1 || req.memberId !== "" || req.groupInstanceId !== null)
  ) {
    throw new RangeError(
      `TxnOffsetCommit v${version} cannot carry the group metadata (generation ` +
        `${req.generationIdOrMemberEpoch}, member "${req.memberId}", instance ` +
        `${req.groupInstanceId === null ? "null" : `"${req.groupInstanceId}"`}) (v3+)`,
    );
  }
  const str = (s: string) => (flexible ? w.compactString(s) : w.string(s));
  const nullableStr = (s: string | null) =>
    flexible ? w.compactNullableString(s) : w.nullableString(s);
  const list = <T>(items: readonly T[], write: (w: Writer, item: T) => void) =>
    flexible ? w.compactArray(items, write) : w.array(items, write);

  str(req.transactionalId);
  str(req.groupId);
  w.int64(req.producerId).int16(req.producerEpoch);
  if (version >= 3) {
    w.int32(req.generationIdOrMemberEpoch);
    str(req.memberId);
    nullableStr(req.groupInstanceId);
  }
  list(req.topics, (w, t) => {
    str(t.name);
    list(t.partitions, (w, p) => {
      w.int32(p.partitionIndex).int64(p.committedOffset);
      if (version >= 2) w.int32(p.committedLeaderEpoch);
      nullableStr(p.committedMetadata);
      if (flexible) w.taggedFields();
    });
    if (flexible) w.taggedFields();
  });
  if (flexible) w.taggedFields();
}

/** A whole request frame (size, header, body); a view into `w`. */
export function txnOffsetCommitRequestFrame(
  w: Writer,
  version: number,
  correlationId: number,
  clientId: string | null,
  req: TxnOffsetCommitRequest,
): Buffer {
  return encodeRequestFrame(
    w,
    { apiKey: ApiKey.TxnOffsetCommit, apiVersion: version, correlationId, clientId },
    (body) => encodeTxnOffsetCommitRequest(body, version, req),
  );
}

/** The broker side, for tests and fake brokers. Absent fields get their defaults. */
export function decodeTxnOffsetCommitRequest(r: Reader, version: number): TxnOffsetCommitRequest {
  checkVersion(version);
  const flexible = version >= 3;
  const str = flexible ? () => r.compactString() : () => r.string();
  const nullableStr = flexible ? () => r.compactNullableString() : () => r.nullableString();
  const list = <T>(read: (r: Reader) => T): T[] =>
    flexible ? r.compactArray(read) : r.array(read);

  const transactionalId = str();
  const groupId = str();
  const producerId = r.int64Number();
  const producerEpoch = r.int16();
  let generationIdOrMemberEpoch = -1;
  let memberId = "";
  let groupInstanceId: string | null = null;
  if (version >= 3) {
    generationIdOrMemberEpoch = r.int32();
    memberId = str();
    groupInstanceId = nullableStr();
  }
  const topics = list((r): TxnOffsetCommitRequestTopic => {
    const name = str();
    const partitions = list((r): TxnOffsetCommitRequestPartition => {
      const p: TxnOffsetCommitRequestPartition = {
        partitionIndex: r.int32(),
        committedOffset: r.int64Number(),
        committedLeaderEpoch: version >= 2 ? r.int32() : -1,
        committedMetadata: nullableStr(),
      };
      if (flexible) r.taggedFields();
      return p;
    });
    if (flexible) r.taggedFields();
    return { name, partitions };
  });
  if (flexible) r.taggedFields();
  return {
    transactionalId,
    groupId,
    producerId,
    producerEpoch,
    generationIdOrMemberEpoch,
    memberId,
    groupInstanceId,
    topics,
  };
}

export function decodeTxnOffsetCommitResponse(r: Reader, version: number): TxnOffsetCommitResponse {
  checkVersion(version);
  const flexible = version >= 3;
  const list = <T>(read: (r: Reader) => T): T[] =>
    flexible ? r.compactArray(read) : r.array(read);
  const throttleTimeMs = r.int32();
  const topics = list((r): TxnOffsetCommitResponseTopic => {
    const name = flexible ? r.compactString() : r.string();
    const partitions = list((r): TxnOffsetCommitResponsePartition => {
      const p = { partitionIndex: r.int32(), errorCode: r.int16() };
      if (flexible) r.taggedFields();
      return p;
    });
    if (flexible) r.taggedFields();
    return { name, partitions };
  });
  if (flexible) r.taggedFields();
  return { throttleTimeMs, topics };
}

/** The broker side, for tests and fake brokers. */
export function encodeTxnOffsetCommitResponse(
  w: Writer,
  version: number,
  res: TxnOffsetCommitResponse,
): void {
  checkVersion(version);
  const flexible = version >= 3;
  const list = <T>(items: readonly T[], write: (w: Writer, item: T) => void) =>
    flexible ? w.compactArray(items, write) : w.array(items, write);
  w.int32(res.throttleTimeMs);
  list(res.topics, (w, t) => {
    if (flexible) w.compactString(t.name);
    else w.string(t.name);
    list(t.partitions, (w, p) => {
      w.int32(p.partitionIndex).int16(p.errorCode);
      if (flexible) w.taggedFields();
    });
    if (flexible) w.taggedFields();
  });
  if (flexible) w.taggedFields();
}
