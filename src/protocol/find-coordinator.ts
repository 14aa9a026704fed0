/**
 * FindCoordinator (key 10), versions 0-6: which broker is the group or
 * transaction coordinator for a key (a group id or a transactional id).
 *
 *   FindCoordinator Request (Version: 3) => key key_type _tagged_fields
 *     key => COMPACT_STRING                            (v0-3)
 *     key_type => INT8                                 (v1+; 0 group, 1 transaction)
 *
 *   FindCoordinator Request (Version: 6) => key_type [coordinator_keys] _tagged_fields
 *     key_type => INT8
 *     coordinator_keys => COMPACT_STRING               (v4+)
 *
 *   FindCoordinator Response (Version: 3) => throttle_time_ms error_code error_message
 *                                            node_id host port _tagged_fields
 *     throttle_time_ms => INT32                        (v1+)
 *     error_code => INT16                              (v0-3)
 *     error_message => COMPACT_NULLABLE_STRING         (v1-3)
 *     node_id => INT32                                 (v0-3)
 *     host => COMPACT_STRING                           (v0-3)
 *     port => INT32                                    (v0-3)
 *
 *   FindCoordinator Response (Version: 6) => throttle_time_ms [coordinators] _tagged_fields
 *     throttle_time_ms => INT32
 *     coordinators => key node_id host port error_code error_message _tagged_fields   (v4+)
 *       key => COMPACT_STRING
 *       node_id => INT32
 *       host => COMPACT_STRING
 *       port => INT32
 *       error_code => INT16
 *       error_message => COMPACT_NULLABLE_STRING
 *
 * v0 has no key type (it can only look up group coordinators). v2 is v1, v3 is
 * the first flexible version. v4 (KIP-699) batches: the request lists keys and
 * the response answers per key, each with its own error. v5 lets the broker
 * answer TRANSACTION_ABORTABLE; v6 adds the share-group key type (2), which
 * this client does not use, so the request type offers only 0 and 1 and the
 * request decoder refuses any other key type.
 *
 * Both layouts are offered through one shape: a request has a list of keys and
 * a response a list of coordinators. Below v4 the list has exactly one entry,
 * and the response does not repeat the key: `decodeFindCoordinatorResponse`
 * fills in the key it is given (the one the request asked for).
 */
import { ApiKey } from "./api-keys.js";
import { encodeRequestFrame } from "./headers.js";
import { ProtocolError } from "./protocol-error.js";
import type { Reader } from "./reader.js";
import type { VersionRange } from "./versions.js";
import type { Writer } from "./writer.js";

export const FIND_COORDINATOR_VERSIONS: VersionRange = { min: 0, max: 6 };

/** The first version that takes a list of keys (KIP-699). */
export const FIND_COORDINATOR_BATCH_VERSION = 4;

/** The key types this client looks up. */
export const CoordinatorType = {
  GROUP: 0,
  TRANSACTION: 1,
} as const;

export type CoordinatorType = (typeof CoordinatorType)[keyof typeof CoordinatorType];

export interface FindCoordinatorRequest {
  /** GROUP (0) or TRANSACTION (1); v0 knows only GROUP. */
  keyType: CoordinatorType;
  /** Group ids or transactional ids; exactly one below v4. */
  keys: string[];
}

export interface Coordinator {
  /** The key asked for (below v4: the key given to the decoder). */
  key: string;
  /** -1 with an error. */
  nodeId: number;
  /** "" with an error. */
  host: string;
  /** -1 with an error. */
  port: number;
  errorCode: number;
  /** v1+; null below or when the broker gave none. */
  errorMessage: string | null;
}

export interface FindCoordinatorResponse {
  /** v1+; 0 below. */
  throttleTimeMs: number;
  /** One per key asked for; exactly one below v4. */
  coordinators: Coordinator[];
}

function checkVersion(version: number): void {
  if (
    !Number.isInteger(version) ||
    version < FIND_COORDINATOR_VERSIONS.min ||
    version > FIND_COORDINATOR_VERSIONS.max
  ) {
    throw new ProtocolError(
      "UNSUPPORTED_VERSION",
      `FindCoordinator v${version} is not implemented`,
    );
  }
}

/**
 * Writes the request body. RangeError when `version` cannot say it: other than
 * one key below v4, or a transaction coordinator at v0 (key_type is v1+).
 */
export function encodeFindCoordinatorRequest(
  w: Writer,
  version: number,
  req: FindCoordinatorRequest,
): void {
  checkVersion(version);
  const flexible = version >= 3;
  if (req.keyType !== CoordinatorType.GROUP && req.keyType !== CoordinatorType.TRANSACTION) {
    throw new RangeError(
      `FindCoordinator key type ${req.keyType} is not GROUP (0) or TRANSACTION (1)`,
    );
  }
  if (version === 0 && req.keyType !== CoordinatorType.GROUP) {
    throw new RangeError("FindCoordinator v0 finds only group coordinators (key_type is v1+)");
  }
  if (version >= FIND_COORDINATOR_BATCH_VERSION) {
    w.int8(req.keyType);
    w.compactArray(req.keys, (w, k) => w.compactString(k));
    w.taggedFields();
    return;
  }
  if (req.keys.length !== 1) {
    throw new RangeError(
      `FindCoordinator v${version} takes exactly one key, got ${req.keys.length} (several are v4+)`,
    );
  }
  const key = req.keys[0]!;
  if (flexible) w.compactString(key);
  else w.string(key);
  if (version >= 1) w.int8(req.keyType);
  if (flexible) w.taggedFields();
}

/** A whole request frame (size, header, body); a view into `w`. */
export function findCoordinatorRequestFrame(
  w: Writer,
  version: number,
  correlationId: number,
  clientId: string | null,
  req: FindCoordinatorRequest,
): Buffer {
  return encodeRequestFrame(
    w,
    { apiKey: ApiKey.FindCoordinator, apiVersion: version, correlationId, clientId },
    (body) => encodeFindCoordinatorRequest(body, version, req),
  );
}

function readKeyType(r: Reader): CoordinatorType {
  const at = r.pos;
  const t = r.int8();
  if (t !== CoordinatorType.GROUP && t !== CoordinatorType.TRANSACTION) {
    throw new ProtocolError("INVALID_VALUE", `FindCoordinator key type ${t} is not 0 or 1`, at);
  }
  return t;
}

/** The broker side, for tests and fake brokers. v0's key type is GROUP. */
export function decodeFindCoordinatorRequest(r: Reader, version: number): FindCoordinatorRequest {
  checkVersion(version);
  const flexible = version >= 3;
  if (version >= FIND_COORDINATOR_BATCH_VERSION) {
    const keyType = readKeyType(r);
    const keys = r.compactArray((r) => r.compactString());
    r.taggedFields();
    return { keyType, keys };
  }
  const key = flexible ? r.compactString() : r.string();
  const keyType = version >= 1 ? readKeyType(r) : CoordinatorType.GROUP;
  if (flexible) r.taggedFields();
  return { keyType, keys: [key] };
}

/**
 * Reads a response. Below v4 the response names no key: its one coordinator
 * gets `requestKey` (pass the key the request asked for).
 */
export function decodeFindCoordinatorResponse(
  r: Reader,
  version: number,
  requestKey = "",
): FindCoordinatorResponse {
  checkVersion(version);
  if (version >= FIND_COORDINATOR_BATCH_VERSION) {
    const throttleTimeMs = r.int32();
    const coordinators = r.compactArray((r): Coordinator => {
      const c: Coordinator = {
        key: r.compactString(),
        nodeId: r.int32(),
        host: r.compactString(),
        port: r.int32(),
        errorCode: r.int16(),
        errorMessage: r.compactNullableString(),
      };
      r.taggedFields();
      return c;
    });
    r.taggedFields();
    return { throttleTimeMs, coordinators };
  }
  const flexible = version >= 3;
  const throttleTimeMs = version >= 1 ? r.int32() : 0;
  const errorCode = r.int16();
  let errorMessage: string | null = null;
  if (version >= 1) errorMessage = flexible ? r.compactNullableString() : r.nullableString();
  const nodeId = r.int32();
  const host = flexible ? r.compactString() : r.string();
  const port = r.int32();
  if (flexible) r.taggedFields();
  return {
    throttleTimeMs,
    coordinators: [{ key: requestKey, nodeId, host, port, errorCode, errorMessage }],
  };
}

/**
 * The broker side, for tests and fake brokers. Below v4 exactly one
 * coordinator (else RangeError), whose key is not written; fields a version
 * lacks (throttle time and error message at v0) are not written.
 */
export function encodeFindCoordinatorResponse(
  w: Writer,
  version: number,
  res: FindCoordinatorResponse,
): void {
  checkVersion(version);
  if (version >= FIND_COORDINATOR_BATCH_VERSION) {
    w.int32(res.throttleTimeMs);
    w.compactArray(res.coordinators, (w, c) => {
      w.compactString(c.key).int32(c.nodeId).compactString(c.host).int32(c.port);
      w.int16(c.errorCode).compactNullableString(c.errorMessage);
      w.taggedFields();
    });
    w.taggedFields();
    return;
  }
  if (res.coordinators.length !== 1) {
    throw new RangeError(
      `FindCoordinator v${version} answers exactly one key, got ${res.coordinators.length} (several are v4+)`,
    );
  }
  const c = res.coordinators[0]!;
  const flexible = version >= 3;
  if (version >= 1) w.int32(res.throttleTimeMs);
  w.int16(c.errorCode);
  if (version >= 1) {
    if (flexible) w.compactNullableString(c.errorMessage);
    else w.nullableString(c.errorMessage);
  }
  w.int32(c.nodeId);
  if (flexible) w.compactString(c.host);
  else w.string(c.host);
  w.int32(c.port);
  if (flexible) w.taggedFields();
}
