/**
 * InitProducerId (key 22), versions 0-5: a producer id and epoch for the
 * idempotent (and transactional) producer.
 *
 *   InitProducerId Request (Version: 5) => transactional_id transaction_timeout_ms
 *                                          producer_id producer_epoch _tagged_fields
 *     transactional_id => COMPACT_NULLABLE_STRING     (null for an idempotent-only producer)
 *     transaction_timeout_ms => INT32
 *     producer_id => INT64                             (v3+, default -1)
 *     producer_epoch => INT16                          (v3+, default -1)
 *
 *   InitProducerId Response (Version: 5) => throttle_time_ms error_code producer_id
 *                                           producer_epoch _tagged_fields
 *     throttle_time_ms => INT32
 *     error_code => INT16
 *     producer_id => INT64
 *     producer_epoch => INT16
 *
 * v1 is v0 (brokers answer before throttling), v2 is the first flexible version.
 * v3 (KIP-360) sends the current producer id and epoch, so a producer can ask
 * for a bumped epoch after an error instead of a new id; -1 and -1 ask for a
 * new one. v4 lets the broker answer PRODUCER_FENCED, v5 is KIP-890 part 2;
 * both keep v3's fields. v6 (KIP-939, two-phase commit) is not implemented.
 *
 * Producer ids are decoded as numbers (`Reader.int64Number`): brokers hand them
 * out from a counter far below 2^53, and a larger value is a ProtocolError.
 */
import { ApiKey } from "./api-keys.js";
import { encodeRequestFrame } from "./headers.js";
import { ProtocolError } from "./protocol-error.js";
import type { Reader } from "./reader.js";
import type { VersionRange } from "./versions.js";
import type { Writer } from "./writer.js";

export const INIT_PRODUCER_ID_VERSIONS: VersionRange = { min: 0, max: 5 };

export interface InitProducerIdRequest {
  /** null unless the producer is transactional. */
  transactionalId: string | null;
  transactionTimeoutMs: number;
  /** v3+; -1 for a new id */
  producerId: number;
  /** v3+; -1 for a new id */
  producerEpoch: number;
}

export interface InitProducerIdResponse {
  throttleTimeMs: number;
  errorCode: number;
  /** -1 with an error. */
  producerId: number;
  /** -1 with an error. */
  producerEpoch: number;
}

function checkVersion(version: number): void {
  if (
    !Number.isInteger(version) ||
    version < INIT_PRODUCER_ID_VERSIONS.min ||
    version > INIT_PRODUCER_ID_VERSIONS.max
  ) {
    throw new ProtocolError("UNSUPPORTED_VERSION", `InitProducerId v${version} is not implemented`);
  }
}

/**
 * Writes the request body. Below v3 there is no producer id or epoch to send,
 * so anything but -1 there is a RangeError (an epoch bump needs v3+).
 */
export function encodeInitProducerIdRequest(
  w: Writer,
  version: number,
  req: InitProducerIdRequest,
): void {
  checkVersion(version);
  const flexible = version >= 2;
  if (version < 3 && (req.producerId !== -1 || req.producerEpoch !== -1)) {
    throw new RangeError(
      `InitProducerId v${version} cannot carry producer id ${req.producerId} ` +
        `epoch ${req.producerEpoch} (v3+)`,
    );
  }
  if (flexible) w.compactNullableString(req.transactionalId);
  else w.nullableString(req.transactionalId);
  w.int32(req.transactionTimeoutMs);
  if (version >= 3) w.int64(req.producerId).int16(req.producerEpoch);
  if (flexible) w.taggedFields();
}

/** A whole request frame (size, header, body); a view into `w`. */
export function initProducerIdRequestFrame(
  w: Writer,
  version: number,
  correlationId: number,
  clientId: string | null,
  req: InitProducerIdRequest,
): Buffer {
  return encodeRequestFrame(
    w,
    { apiKey: ApiKey.InitProducerId, apiVersion: version, correlationId, clientId },
    (body) => encodeInitProducerIdRequest(body, version, req),
  );
}

/** The broker side, for tests and fake brokers. Below v3 the id and epoch are -1. */
export function decodeInitProducerIdRequest(r: Reader, version: number): InitProducerIdRequest {
  checkVersion(version);
  const flexible = version >= 2;
  const transactionalId = flexible ? r.compactNullableString() : r.nullableString();
  const transactionTimeoutMs = r.int32();
  let producerId = -1;
  let producerEpoch = -1;
  if (version >= 3) {
    producerId = r.int64Number();
    producerEpoch = r.int16();
  }
  if (flexible) r.taggedFields();
  return { transactionalId, transactionTimeoutMs, producerId, producerEpoch };
}

export function decodeInitProducerIdResponse(r: Reader, version: number): InitProducerIdResponse {
  checkVersion(version);
  const res: InitProducerIdResponse = {
    throttleTimeMs: r.int32(),
    errorCode: r.int16(),
    producerId: r.int64Number(),
    producerEpoch: r.int16(),
  };
  if (version >= 2) r.taggedFields();
  return res;
}

/** The broker side, for tests and fake brokers. */
export function encodeInitProducerIdResponse(
  w: Writer,
  version: number,
  res: InitProducerIdResponse,
): void {
  checkVersion(version);
  w.int32(res.throttleTimeMs).int16(res.errorCode).int64(res.producerId).int16(res.producerEpoch);
  if (version >= 2) w.taggedFields();
}
