/**
 * Produce (key 0), versions 3-13: write record batches to partition leaders.
 *
 *   Produce Request (Version: 13) => transactional_id acks timeout_ms [topic_data] _tagged_fields
 *     transactional_id => COMPACT_NULLABLE_STRING
 *     acks => INT16
 *     timeout_ms => INT32
 *     topic_data => topic_id [partition_data] _tagged_fields
 *       name => COMPACT_STRING                         (v3-12)
 *       topic_id => UUID                               (v13+, KIP-516)
 *       partition_data => index records _tagged_fields
 *         index => INT32
 *         records => COMPACT_RECORDS                   (nullable)
 *
 *   Produce Response (Version: 13) => [responses] throttle_time_ms _tagged_fields
 *     responses => topic_id [partition_responses] _tagged_fields
 *       name => COMPACT_STRING                         (v3-12)
 *       topic_id => UUID                               (v13+)
 *       partition_responses => index error_code base_offset log_append_time_ms
 *                              log_start_offset [record_errors] error_message _tagged_fields
 *         index => INT32
 *         error_code => INT16
 *         base_offset => INT64
 *         log_append_time_ms => INT64
 *         log_start_offset => INT64                    (v5+)
 *         record_errors => batch_index batch_index_error_message _tagged_fields   (v8+)
 *           batch_index => INT32
 *           batch_index_error_message => COMPACT_NULLABLE_STRING
 *         error_message => COMPACT_NULLABLE_STRING     (v8+)
 *         tagged: 0 current_leader => leader_id leader_epoch      (v10+, KIP-951)
 *     throttle_time_ms => INT32
 *     tagged: 0 node_endpoints => [node_id host port rack]        (v10+, KIP-951)
 *
 * v9+ is flexible. v3 is the floor: the first version of record batch v2 (and
 * Kafka 4.0 removed 0-2). v13 names topics by id, so a v13 request needs every
 * topic's id (Metadata v10+); `PRODUCE_MAX_NAME_VERSION` caps a pick without them.
 *
 * With acks=0 the broker sends no response at all: the caller must not wait for
 * one (nor keep the correlation id in flight).
 *
 * Offsets and timestamps are decoded as numbers (`Reader.int64Number`, no BigInt
 * on this path): they stay below 2^53 in any real log, and a value beyond that
 * is rejected with a ProtocolError rather than rounded.
 */
import { ApiKey } from "./api-keys.js";
import { encodeRequestFrame } from "./headers.js";
import { ProtocolError } from "./protocol-error.js";
import { type Reader, taggedFieldReader } from "./reader.js";
import type { VersionRange } from "./versions.js";
import { putUvarint, type Uuid, uvarintSize, Writer, ZERO_UUID } from "./writer.js";

export const PRODUCE_VERSIONS: VersionRange = { min: 3, max: 13 };

/** The newest Produce version that names topics (v13 uses topic ids). */
export const PRODUCE_MAX_NAME_VERSION = 12;

/**
 * Writes a partition's record data (one or more encoded record batches) straight
 * into the request's Writer, so a producer need not build an intermediate
 * Buffer. It must write only the records, leave `w.pos` at their end, and finish
 * any back-patching of its own before returning: in flexible versions the bytes
 * may be moved a few positions left afterwards (their compact length prefix is
 * only known once they are written). Contents, and so batch CRCs, are unchanged.
 */
export type RecordsWriter = (w: Writer) => void;

/** Records as already-encoded bytes, a writer callback, or null (no data). */
export type ProduceRecords = Uint8Array | RecordsWriter | null;

export interface PartitionProduceData<R = ProduceRecords> {
  index: number;
  records: R;
}

export interface TopicProduceData<R = ProduceRecords> {
  /** v3-12. Ignored at v13. */
  name: string;
  /** v13+, required there. */
  topicId?: Uuid;
  partitionData: PartitionProduceData<R>[];
}

export interface ProduceRequest<R = ProduceRecords> {
  /** null unless the producer is transactional. */
  transactionalId: string | null;
  /** 0 (no response), 1 (leader) or -1 (all in-sync replicas). */
  acks: number;
  timeoutMs: number;
  topicData: TopicProduceData<R>[];
}

export interface BatchIndexAndErrorMessage {
  batchIndex: number;
  batchIndexErrorMessage: string | null;
}

export interface LeaderIdAndEpoch {
  leaderId: number;
  leaderEpoch: number;
}

export interface PartitionProduceResponse {
  index: number;
  errorCode: number;
  baseOffset: number;
  /** -1 unless the topic uses LogAppendTime. */
  logAppendTimeMs: number;
  /** v5+; -1 below. */
  logStartOffset: number;
  /** v8+; [] below. */
  recordErrors: BatchIndexAndErrorMessage[];
  /** v8+; null below. */
  errorMessage: string | null;
  /**
   * Tag 0, v10+ (KIP-951): the new leader after NOT_LEADER_OR_FOLLOWER and
   * the like; null when the broker did not send it.
   */
  currentLeader: LeaderIdAndEpoch | null;
}

export interface TopicProduceResponse {
  /** v3-12; "" at v13 (match on topicId there). */
  name: string;
  /** v13+; ZERO_UUID below. */
  topicId: Uuid;
  partitionResponses: PartitionProduceResponse[];
}

export interface NodeEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface ProduceResponse {
  responses: TopicProduceResponse[];
  throttleTimeMs: number;
  /** Tag 0, v10+ (KIP-951): endpoints of the leaders named in currentLeader; [] when absent. */
  nodeEndpoints: NodeEndpoint[];
}

function checkVersion(version: number): void {
  if (
    !Number.isInteger(version) ||
    version < PRODUCE_VERSIONS.min ||
    version > PRODUCE_VERSIONS.max
  ) {
    throw new ProtocolError("UNSUPPORTED_VERSION", `Produce v${version} is not implemented`);
  }
}

function writeRecords(w: Writer, flexible: boolean, records: ProduceRecords): void {
  if (typeof records !== "function") {
    if (records === null) {
      if (flexible) w.uvarint(0);
      else w.int32(-1);
      return;
    }
    if (flexible) w.uvarint(records.length + 1);
    else w.int32(records.length);
    // By reference when the caller splices (a vectored write), else copied.
    w.spliced(records);
    return;
  }
  if (!flexible) {
    const sizeAt = w.reserve(4);
    records(w);
    w.setInt32At(sizeAt, w.pos - sizeAt - 4);
    return;
  }
  // COMPACT_RECORDS: uvarint(length + 1) first. Reserve the longest prefix (5
  // bytes), then close the gap so the prefix is minimal.
  const prefixAt = w.reserve(5);
  const start = w.pos;
  records(w);
  const length = w.pos - start;
  if (length >= 0xffff_ffff) throw new RangeError(`records of ${length} bytes are too long`);
  const size = uvarintSize(length + 1);
  if (size < 5) {
    w.buf.copyWithin(prefixAt + size, start, w.pos);
    w.pos -= 5 - size;
  }
  putUvarint(w.buf, prefixAt, length + 1);
}

/**
 * Writes the request body. Records are bytes (copied in), a `RecordsWriter`
 * (written in place) or null. At v13 every topic needs its `topicId`
 * (RangeError otherwise).
 */
export function encodeProduceRequest(w: Writer, version: number, req: ProduceRequest): void {
  checkVersion(version);
  const flexible = version >= 9;
  if (flexible) w.compactNullableString(req.transactionalId);
  else w.nullableString(req.transactionalId);
  w.int16(req.acks).int32(req.timeoutMs);
  const writePartition = (w: Writer, p: PartitionProduceData) => {
    w.int32(p.index);
    writeRecords(w, flexible, p.records);
    if (flexible) w.taggedFields();
  };
  const writeTopic = (w: Writer, t: TopicProduceData) => {
    if (version >= 13) {
      if (!t.topicId) throw new RangeError(`Produce v${version} needs the id of topic ${t.name}`);
      w.uuid(t.topicId);
    } else if (flexible) w.compactString(t.name);
    else w.string(t.name);
    if (flexible) w.compactArray(t.partitionData, writePartition);
    else w.array(t.partitionData, writePartition);
    if (flexible) w.taggedFields();
  };
  if (flexible) w.compactArray(req.topicData, writeTopic);
  else w.array(req.topicData, writeTopic);
  if (flexible) w.taggedFields();
}

/** A whole request frame (size, header, body); a view into `w`. */
export function produceRequestFrame(
  w: Writer,
  version: number,
  correlationId: number,
  clientId: string | null,
  req: ProduceRequest,
): Buffer {
  return encodeRequestFrame(
    w,
    { apiKey: ApiKey.Produce, apiVersion: version, correlationId, clientId },
    (body) => encodeProduceRequest(body, version, req),
  );
}

/** The broker side, for tests and fake brokers. Records are views into the frame. */
export function decodeProduceRequest(r: Reader, version: number): ProduceRequest<Buffer | null> {
  checkVersion(version);
  const flexible = version >= 9;
  const transactionalId = flexible ? r.compactNullableString() : r.nullableString();
  const acks = r.int16();
  const timeoutMs = r.int32();
  const readPartition = (r: Reader): PartitionProduceData<Buffer | null> => {
    const index = r.int32();
    const records = flexible ? r.compactNullableBytes() : r.nullableBytes();
    if (flexible) r.taggedFields();
    return { index, records };
  };
  const readTopic = (r: Reader): TopicProduceData<Buffer | null> => {
    let name = "";
    let topicId = ZERO_UUID;
    if (version >= 13) topicId = r.uuid();
    else name = flexible ? r.compactString() : r.string();
    const partitionData = flexible ? r.compactArray(readPartition) : r.array(readPartition);
    if (flexible) r.taggedFields();
    return { name, topicId, partitionData };
  };
  const topicData = flexible ? r.compactArray(readTopic) : r.array(readTopic);
  if (flexible) r.taggedFields();
  return { transactionalId, acks, timeoutMs, topicData };
}

/** Decodes the response body (there is none for acks=0 requests). */
export function decodeProduceResponse(r: Reader, version: number): ProduceResponse {
  checkVersion(version);
  const flexible = version >= 9;
  const list = <T>(read: (r: Reader) => T): T[] =>
    flexible ? r.compactArray(read) : r.array(read);

  const readPartition = (r: Reader): PartitionProduceResponse => {
    const p: PartitionProduceResponse = {
      index: r.int32(),
      errorCode: r.int16(),
      baseOffset: r.int64Number(),
      logAppendTimeMs: r.int64Number(),
      logStartOffset: version >= 5 ? r.int64Number() : -1,
      recordErrors: [],
      errorMessage: null,
      currentLeader: null,
    };
    if (version >= 8) {
      p.recordErrors = list((r) => {
        const e = {
          batchIndex: r.int32(),
          batchIndexErrorMessage: flexible ? r.compactNullableString() : r.nullableString(),
        };
        if (flexible) r.taggedFields();
        return e;
      });
      p.errorMessage = flexible ? r.compactNullableString() : r.nullableString();
    }
    if (flexible) {
      for (const f of r.taggedFields()) {
        if (f.tag === 0 && version >= 10) {
          const t = taggedFieldReader(r, f);
          p.currentLeader = { leaderId: t.int32(), leaderEpoch: t.int32() };
          t.taggedFields();
        }
      }
    }
    return p;
  };
  const responses = list((r): TopicProduceResponse => {
    let name = "";
    let topicId = ZERO_UUID;
    if (version >= 13) topicId = r.uuid();
    else name = flexible ? r.compactString() : r.string();
    const partitionResponses = list(readPartition);
    if (flexible) r.taggedFields();
    return { name, topicId, partitionResponses };
  });
  const throttleTimeMs = r.int32();
  let nodeEndpoints: NodeEndpoint[] = [];
  if (flexible) {
    for (const f of r.taggedFields()) {
      if (f.tag === 0 && version >= 10) {
        nodeEndpoints = taggedFieldReader(r, f).compactArray((t) => {
          const e = {
            nodeId: t.int32(),
            host: t.compactString(),
            port: t.int32(),
            rack: t.compactNullableString(),
          };
          t.taggedFields();
          return e;
        });
      }
    }
  }
  return { responses, throttleTimeMs, nodeEndpoints };
}

/**
 * The broker side, for tests and fake brokers. Fields a version lacks are not
 * written; currentLeader and nodeEndpoints only when set and v10+.
 */
export function encodeProduceResponse(w: Writer, version: number, res: ProduceResponse): void {
  checkVersion(version);
  const flexible = version >= 9;
  const list = <T>(items: readonly T[], write: (w: Writer, item: T) => void) =>
    flexible ? w.compactArray(items, write) : w.array(items, write);
  const nullableStr = (s: string | null) =>
    flexible ? w.compactNullableString(s) : w.nullableString(s);

  list(res.responses, (w, t) => {
    if (version >= 13) w.uuid(t.topicId);
    else if (flexible) w.compactString(t.name);
    else w.string(t.name);
    list(t.partitionResponses, (w, p) => {
      w.int32(p.index).int16(p.errorCode).int64(p.baseOffset).int64(p.logAppendTimeMs);
      if (version >= 5) w.int64(p.logStartOffset);
      if (version >= 8) {
        list(p.recordErrors, (w, e) => {
          w.int32(e.batchIndex);
          nullableStr(e.batchIndexErrorMessage);
          if (flexible) w.taggedFields();
        });
        nullableStr(p.errorMessage);
      }
      if (flexible) {
        const leader = p.currentLeader;
        if (leader && version >= 10) {
          const sub = new Writer(16);
          sub.int32(leader.leaderId).int32(leader.leaderEpoch).taggedFields();
          w.taggedFields([{ tag: 0, data: sub.finish() }]);
        } else w.taggedFields();
      }
    });
    if (flexible) w.taggedFields();
  });
  w.int32(res.throttleTimeMs);
  if (flexible) {
    if (res.nodeEndpoints.length > 0 && version >= 10) {
      const sub = new Writer(64);
      sub.compactArray(res.nodeEndpoints, (s, e) => {
        s.int32(e.nodeId).compactString(e.host).int32(e.port).compactNullableString(e.rack);
        s.taggedFields();
      });
      w.taggedFields([{ tag: 0, data: sub.finish() }]);
    } else w.taggedFields();
  }
}
