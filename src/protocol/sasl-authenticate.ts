/**
 * SaslAuthenticate (key 36), versions 0-2: one SASL token each way, after a
 * SaslHandshake v1 (KIP-152).
 *
 *   SaslAuthenticate Request (Version: 2) => auth_bytes _tagged_fields
 *     auth_bytes => COMPACT_BYTES
 *
 *   SaslAuthenticate Response (Version: 2) => error_code error_message auth_bytes
 *                                             session_lifetime_ms _tagged_fields
 *     error_code => INT16                     (SASL_AUTHENTICATION_FAILED 58 on a bad login)
 *     error_message => COMPACT_NULLABLE_STRING
 *     auth_bytes => COMPACT_BYTES
 *     session_lifetime_ms => INT64            (v1+)
 *
 * v1 (KIP-368) adds session_lifetime_ms: when the broker sets
 * connections.max.reauth.ms, the time after which it closes a connection that
 * has not re-authenticated; 0 means never. v2 is the first flexible version.
 *
 * The lifetime is decoded as a number (`Reader.int64Number`): it is a duration
 * in milliseconds, and a value beyond 2^53 is a ProtocolError.
 */
import { ApiKey } from "./api-keys.js";
import { encodeRequestFrame } from "./headers.js";
import { ProtocolError } from "./protocol-error.js";
import type { Reader } from "./reader.js";
import type { VersionRange } from "./versions.js";
import type { Writer } from "./writer.js";

export const SASL_AUTHENTICATE_VERSIONS: VersionRange = { min: 0, max: 2 };

export interface SaslAuthenticateResponse {
  errorCode: number;
  errorMessage: string | null;
  /** The server's SASL token; decoded, a view into the frame. */
  authBytes: Uint8Array;
  /** v1+; 0 below v1 and when the broker does not ask for re-authentication. */
  sessionLifetimeMs: number;
}

function checkVersion(version: number): void {
  if (
    !Number.isInteger(version) ||
    version < SASL_AUTHENTICATE_VERSIONS.min ||
    version > SASL_AUTHENTICATE_VERSIONS.max
  ) {
    throw new ProtocolError(
      "UNSUPPORTED_VERSION",
      `SaslAuthenticate v${version} is not implemented`,
    );
  }
}

export function encodeSaslAuthenticateRequest(
  w: Writer,
  version: number,
  authBytes: Uint8Array,
): void {
  checkVersion(version);
  if (version >= 2) w.compactBytes(authBytes).taggedFields();
  else w.bytes(authBytes);
}

/** A whole request frame (size, header v1 or v2, body); a view into `w`. */
export function saslAuthenticateRequestFrame(
  w: Writer,
  version: number,
  correlationId: number,
  clientId: string | null,
  authBytes: Uint8Array,
): Buffer {
  return encodeRequestFrame(
    w,
    { apiKey: ApiKey.SaslAuthenticate, apiVersion: version, correlationId, clientId },
    (body) => encodeSaslAuthenticateRequest(body, version, authBytes),
  );
}

/** The broker side, for tests and fake brokers: the client's token (a view into the frame). */
export function decodeSaslAuthenticateRequest(r: Reader, version: number): Uint8Array {
  checkVersion(version);
  if (version < 2) return r.bytes();
  const authBytes = r.compactBytes();
  r.taggedFields();
  return authBytes;
}

export function decodeSaslAuthenticateResponse(
  r: Reader,
  version: number,
): SaslAuthenticateResponse {
  checkVersion(version);
  const flexible = version >= 2;
  const errorCode = r.int16();
  const errorMessage = flexible ? r.compactNullableString() : r.nullableString();
  const authBytes = flexible ? r.compactBytes() : r.bytes();
  const sessionLifetimeMs = version >= 1 ? r.int64Number() : 0;
  if (flexible) r.taggedFields();
  return { errorCode, errorMessage, authBytes, sessionLifetimeMs };
}

/**
 * The broker side, for tests and fake brokers. v0 has no lifetime field, so
 * anything but 0 there is a RangeError rather than silently dropped.
 */
export function encodeSaslAuthenticateResponse(
  w: Writer,
  version: number,
  res: SaslAuthenticateResponse,
): void {
  checkVersion(version);
  if (version < 1 && res.sessionLifetimeMs !== 0) {
    throw new RangeError(
      `SaslAuthenticate v${version} cannot carry session lifetime ${res.sessionLifetimeMs} (v1+)`,
    );
  }
  const flexible = version >= 2;
  w.int16(res.errorCode);
  if (flexible) w.compactNullableString(res.errorMessage).compactBytes(res.authBytes);
  else w.nullableString(res.errorMessage).bytes(res.authBytes);
  if (version >= 1) w.int64(res.sessionLifetimeMs);
  if (flexible) w.taggedFields();
}
