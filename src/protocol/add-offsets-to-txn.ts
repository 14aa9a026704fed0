/**
 * AddOffsetsToTxn (key 25), versions 0-4: tell the transaction coordinator that
 * a transaction will commit a consumer group's offsets (TxnOffsetCommit to the
 * group coordinator follows), so that the commit or abort covers them too.
 *
 *   AddOffsetsToTxn Request (Version: 4) => transactional_id producer_id producer_epoch
 *                                           group_id _tagged_fields
 *     transactional_id => COMPACT_STRING
 *     producer_id => INT64
 *     producer_epoch => INT16
 *     group_id => COMPACT_STRING
 *
 *   AddOffsetsToTxn Response (Version: 4) => throttle_time_ms error_code _tagged_fields
 *     throttle_time_ms => INT32
 *     error_code => INT16
 *
 * v1 is v0 (brokers answer before throttling), v2 lets the broker answer
 * PRODUCER_FENCED, v3 is the first flexible version and v4 lets it answer
 * TRANSACTION_ABORTABLE (KIP-890). The fields are the same in every version.
 */
import { ApiKey } from "./api-keys.js";
import { encodeRequestFrame } from "./headers.js";
import { ProtocolError } from "./protocol-error.js";
import type { Reader } from "./reader.js";
import type { VersionRange } from "./versions.js";
import type { Writer } from "./writer.js";

export const ADD_OFFSETS_TO_TXN_VERSIONS: VersionRange = { min: 0, max: 4 };

export interface AddOffsetsToTxnRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  /** The consumer group whose offsets the transaction will commit. */
  groupId: string;
}

export interface AddOffsetsToTxnResponse {
  throttleTimeMs: number;
  errorCode: number;
}

function checkVersion(version: number): void {
  if (
    !Number.isInteger(version) ||
    version < ADD_OFFSETS_TO_TXN_VERSIONS.min ||
    version > ADD_OFFSETS_TO_TXN_VERSIONS.max
  ) {
    throw new ProtocolError(
      "UNSUPPORTED_VERSION",
      `AddOffsetsToTxn v${version} is not implemented`,
    );
  }
}

export function encodeAddOffsetsToTxnRequest(
  w: Writer,
  version: number,
  req: AddOffsetsToTxnRequest,
): void {
  checkVersion(version);
  if (version >= 3) {
    w.compactString(req.transactionalId).int64(req.producerId).int16(req.producerEpoch);
    w.compactString(req.groupId).taggedFields();
  } else {
    w.string(req.transactionalId).int64(req.producerId).int16(req.producerEpoch);
    w.string(req.groupId);
  }
}

/** A whole request frame (size, header, body); a view into `w`. */
export function addOffsetsToTxnRequestFrame(
  w: Writer,
  version: number,
  correlationId: number,
  clientId: string | null,
  req: AddOffsetsToTxnRequest,
): Buffer {
  return encodeRequestFrame(
    w,
    { apiKey: ApiKey.AddOffsetsToTxn, apiVersion: version, correlationId, clientId },
    (body) => encodeAddOffsetsToTxnRequest(body, version, req),
  );
}

/** The broker side, for tests and fake brokers. */
export function decodeAddOffsetsToTxnRequest(r: Reader, version: number): AddOffsetsToTxnRequest {
  checkVersion(version);
  const flexible = version >= 3;
  const req: AddOffsetsToTxnRequest = {
    transactionalId: flexible ? r.compactString() : r.string(),
    producerId: r.int64Number(),
    producerEpoch: r.int16(),
    groupId: flexible ? r.compactString() : r.string(),
  };
  if (flexible) r.taggedFields();
  return req;
}

export function decodeAddOffsetsToTxnResponse(r: Reader, version: number): AddOffsetsToTxnResponse {
  checkVersion(version);
  const res: AddOffsetsToTxnResponse = { throttleTimeMs: r.int32(), errorCode: r.int16() };
  if (version >= 3) r.taggedFields();
  return res;
}

/** The broker side, for tests and fake brokers. */
export function encodeAddOffsetsToTxnResponse(
  w: Writer,
  version: number,
  res: AddOffsetsToTxnResponse,
): void {
  checkVersion(version);
  w.int32(res.throttleTimeMs).int16(res.errorCode);
  if (version >= 3) w.taggedFields();
}
