/**
 * AddPartitionsToTxn (key 24), versions 0-3: tell the transaction coordinator
 * which partitions a transaction is about to write to, before the first
 * Produce to each.
 *
 *   AddPartitionsToTxn Request (Version: 3) => transactional_id producer_id producer_epoch
 *                                              [topics] _tagged_fields
 *     transactional_id => COMPACT_STRING
 *     producer_id => INT64
 *     producer_epoch => INT16
 *     topics => name [partitions] _tagged_fields
 *       name => COMPACT_STRING
 *       partitions => INT32
 *
 *   AddPartitionsToTxn Response (Version: 3) => throttle_time_ms [results_by_topic]
 *                                               _tagged_fields
 *     throttle_time_ms => INT32
 *     results_by_topic => name [results_by_partition] _tagged_fields
 *       name => COMPACT_STRING
 *       results_by_partition => partition_index partition_error_code _tagged_fields
 *         partition_index => INT32
 *         partition_error_code => INT16
 *
 * v1 is v0 (brokers answer before throttling), v2 lets the broker answer
 * PRODUCER_FENCED, v3 is the first flexible version.
 *
 * v4 and v5 are not for clients: from v4 the request is a batch of
 * transactions (with a verify-only flag) that brokers send to the coordinator
 * to check a transactional Produce (KIP-890 part 1), and the response gains a
 * top-level error code. Clients stop at v3, so this module does too. With
 * transaction version 2 (KIP-890 part 2) a producer sends no
 * AddPartitionsToTxn at all: the partition leader adds the partition for it.
 *
 * In the JSON schema the v0-3 fields are named V3AndBelowTransactionalId and
 * so on, to tell them from the v4+ batch; the names here drop that prefix.
 */
import { ApiKey } from "./api-keys.js";
import { encodeRequestFrame } from "./headers.js";
import { ProtocolError } from "./protocol-error.js";
import type { Reader } from "./reader.js";
import type { VersionRange } from "./versions.js";
import type { Writer } from "./writer.js";

export const ADD_PARTITIONS_TO_TXN_VERSIONS: VersionRange = { min: 0, max: 3 };

export interface AddPartitionsToTxnTopic {
  name: string;
  /** Partition indexes. */
  partitions: number[];
}

export interface AddPartitionsToTxnRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  topics: AddPartitionsToTxnTopic[];
}

export interface AddPartitionsToTxnPartitionResult {
  partitionIndex: number;
  partitionErrorCode: number;
}

export interface AddPartitionsToTxnTopicResult {
  name: string;
  resultsByPartition: AddPartitionsToTxnPartitionResult[];
}

export interface AddPartitionsToTxnResponse {
  throttleTimeMs: number;
  resultsByTopic: AddPartitionsToTxnTopicResult[];
}

function checkVersion(version: number): void {
  if (
    !Number.isInteger(version) ||
    version < ADD_PARTITIONS_TO_TXN_VERSIONS.min ||
    version > ADD_PARTITIONS_TO_TXN_VERSIONS.max
  ) {
    throw new ProtocolError(
      "UNSUPPORTED_VERSION",
      `AddPartitionsToTxn v${version} is not implemented`,
    );
  }
}

export function encodeAddPartitionsToTxnRequest(
  w: Writer,
  version: number,
  req: AddPartitionsToTxnRequest,
): void {
  checkVersion(version);
  if (version >= 3) {
    w.compactString(req.transactionalId).int64(req.producerId).int16(req.producerEpoch);
    w.compactArray(req.topics, (w, t) => {
      w.compactString(t.name);
      w.compactArray(t.partitions, (w, p) => w.int32(p));
      w.taggedFields();
    });
    w.taggedFields();
    return;
  }
  w.string(req.transactionalId).int64(req.producerId).int16(req.producerEpoch);
  w.array(req.topics, (w, t) => {
    w.string(t.name);
    w.array(t.partitions, (w, p) => w.int32(p));
  });
}

/** A whole request frame (size, header, body); a view into `w`. */
export function addPartitionsToTxnRequestFrame(
  w: Writer,
  version: number,
  correlationId: number,
  clientId: string | null,
  req: AddPartitionsToTxnRequest,
): Buffer {
  return encodeRequestFrame(
    w,
    { apiKey: ApiKey.AddPartitionsToTxn, apiVersion: version, correlationId, clientId },
    (body) => encodeAddPartitionsToTxnRequest(body, version, req),
  );
}

/** The broker side, for tests and fake brokers. */
export function decodeAddPartitionsToTxnRequest(
  r: Reader,
  version: number,
): AddPartitionsToTxnRequest {
  checkVersion(version);
  if (version >= 3) {
    const transactionalId = r.compactString();
    const producerId = r.int64Number();
    const producerEpoch = r.int16();
    const topics = r.compactArray((r): AddPartitionsToTxnTopic => {
      const t = { name: r.compactString(), partitions: r.compactArray((r) => r.int32()) };
      r.taggedFields();
      return t;
    });
    r.taggedFields();
    return { transactionalId, producerId, producerEpoch, topics };
  }
  return {
    transactionalId: r.string(),
    producerId: r.int64Number(),
    producerEpoch: r.int16(),
    topics: r.array((r) => ({ name: r.string(), partitions: r.array((r) => r.int32()) })),
  };
}

export function decodeAddPartitionsToTxnResponse(
  r: Reader,
  version: number,
): AddPartitionsToTxnResponse {
  checkVersion(version);
  const throttleTimeMs = r.int32();
  if (version >= 3) {
    const resultsByTopic = r.compactArray((r): AddPartitionsToTxnTopicResult => {
      const name = r.compactString();
      const resultsByPartition = r.compactArray((r): AddPartitionsToTxnPartitionResult => {
        const p = { partitionIndex: r.int32(), partitionErrorCode: r.int16() };
        r.taggedFields();
        return p;
      });
      r.taggedFields();
      return { name, resultsByPartition };
    });
    r.taggedFields();
    return { throttleTimeMs, resultsByTopic };
  }
  const resultsByTopic = r.array(
    (r): AddPartitionsToTxnTopicResult => ({
      name: r.string(),
      resultsByPartition: r.array((r) => ({
        partitionIndex: r.int32(),
        partitionErrorCode: r.int16(),
      })),
    }),
  );
  return { throttleTimeMs, resultsByTopic };
}

/** The broker side, for tests and fake brokers. */
export function encodeAddPartitionsToTxnResponse(
  w: Writer,
  version: number,
  res: AddPartitionsToTxnResponse,
): void {
  checkVersion(version);
  w.int32(res.throttleTimeMs);
  if (version >= 3) {
    w.compactArray(res.resultsByTopic, (w, t) => {
      w.compactString(t.name);
      w.compactArray(t.resultsByPartition, (w, p) => {
        w.int32(p.partitionIndex).int16(p.partitionErrorCode);
        w.taggedFields();
      });
      w.taggedFields();
    });
    w.taggedFields();
    return;
  }
  w.array(res.resultsByTopic, (w, t) => {
    w.string(t.name);
    w.array(t.resultsByPartition, (w, p) => w.int32(p.partitionIndex).int16(p.partitionErrorCode));
  });
}
