/**
 * EndTxn (key 26), versions 0-5: commit or abort a transaction at its
 * transaction coordinator.
 *
 *   EndTxn Request (Version: 5) => transactional_id producer_id producer_epoch committed
 *                                  _tagged_fields
 *     transactional_id => COMPACT_STRING
 *     producer_id => INT64
 *     producer_epoch => INT16
 *     committed => BOOLEAN                             (true commit, false abort)
 *
 *   EndTxn Response (Version: 5) => throttle_time_ms error_code producer_id producer_epoch
 *                                   _tagged_fields
 *     throttle_time_ms => INT32
 *     error_code => INT16
 *     producer_id => INT64                             (v5+, default -1)
 *     producer_epoch => INT16                          (v5+, default -1)
 *
 * v1 is v0 (brokers answer before throttling), v2 lets the broker answer
 * PRODUCER_FENCED, v3 is the first flexible version, v4 lets it answer
 * TRANSACTION_ABORTABLE (KIP-890).
 *
 * v5 is transaction version 2 (KIP-890 part 2): the coordinator bumps the
 * producer epoch at the end of every transaction and answers with the id and
 * epoch to use for the next one (a new producer id when the epoch ran out).
 * A producer speaking v5 must take those from the response. Below v5 they are
 * not on the wire and decode as -1; the Java client sends v5 only when the
 * cluster has transaction version 2 enabled and caps EndTxn at v4 otherwise.
 * The schema marks both v5 fields ignorable, so the response encoder drops
 * them below v5, as the Java serializer does.
 */
import { ApiKey } from "./api-keys.js";
import { encodeRequestFrame } from "./headers.js";
import { ProtocolError } from "./protocol-error.js";
import type { Reader } from "./reader.js";
import type { VersionRange } from "./versions.js";
import type { Writer } from "./writer.js";

export const END_TXN_VERSIONS: VersionRange = { min: 0, max: 5 };

export interface EndTxnRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  /** true to commit, false to abort. */
  committed: boolean;
}

export interface EndTxnResponse {
  throttleTimeMs: number;
  errorCode: number;
  /** v5+: the producer id for the next transaction; -1 below v5. */
  producerId: number;
  /** v5+: the (bumped) epoch for the next transaction; -1 below v5. */
  producerEpoch: number;
}

function checkVersion(version: number): void {
  if (
    !Number.isInteger(version) ||
    version < END_TXN_VERSIONS.min ||
    version > END_TXN_VERSIONS.max
  ) {
    throw new ProtocolError("UNSUPPORTED_VERSION", `EndTxn v${version} is not implemented`);
  }
}

export function encodeEndTxnRequest(w: Writer, version: number, req: EndTxnRequest): void {
  checkVersion(version);
  if (version >= 3) w.compactString(req.transactionalId);
  else w.string(req.transactionalId);
  w.int64(req.producerId).int16(req.producerEpoch).boolean(req.committed);
  if (version >= 3) w.taggedFields();
}

/** A whole request frame (size, header, body); a view into `w`. */
export function endTxnRequestFrame(
  w: Writer,
  version: number,
  correlationId: number,
  clientId: string | null,
  req: EndTxnRequest,
): Buffer {
  return encodeRequestFrame(
    w,
    { apiKey: ApiKey.EndTxn, apiVersion: version, correlationId, clientId },
    (body) => encodeEndTxnRequest(body, version, req),
  );
}

/** The broker side, for tests and fake brokers. Any non-zero byte is true. */
export function decodeEndTxnRequest(r: Reader, version: number): EndTxnRequest {
  checkVersion(version);
  const flexible = version >= 3;
  const req: EndTxnRequest = {
    transactionalId: flexible ? r.compactString() : r.string(),
    producerId: r.int64Number(),
    producerEpoch: r.int16(),
    committed: r.boolean(),
  };
  if (flexible) r.taggedFields();
  return req;
}

export function decodeEndTxnResponse(r: Reader, version: number): EndTxnResponse {
  checkVersion(version);
  const res: EndTxnResponse = {
    throttleTimeMs: r.int32(),
    errorCode: r.int16(),
    producerId: -1,
    producerEpoch: -1,
  };
  if (version >= 5) {
    res.producerId = r.int64Number();
    res.producerEpoch = r.int16();
  }
  if (version >= 3) r.taggedFields();
  return res;
}

/** The broker side, for tests and fake brokers. Below v5 the id and epoch are not written. */
export function encodeEndTxnResponse(w: Writer, version: number, res: EndTxnResponse): void {
  checkVersion(version);
  w.int32(res.throttleTimeMs).int16(res.errorCode);
  if (version >= 5) w.int64(res.producerId).int16(res.producerEpoch);
  if (version >= 3) w.taggedFields();
}
