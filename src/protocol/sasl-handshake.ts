/**
 * SaslHandshake (key 17), versions 0-1: the client names the SASL mechanism it
 * wants and the broker answers with the mechanisms it has enabled.
 *
 *   SaslHandshake Request (Version: 1) => mechanism
 *     mechanism => STRING
 *
 *   SaslHandshake Response (Version: 1) => error_code [mechanisms]
 *     error_code => INT16                 (UNSUPPORTED_SASL_MECHANISM 33 when not enabled)
 *     mechanisms => STRING
 *
 * Both versions have the same fields; they differ in what follows. After a v0
 * handshake the SASL tokens go as raw frames (a 4-byte length, then the token)
 * with no Kafka header. After v1 (KIP-152) every token goes inside a
 * SaslAuthenticate request, so errors come back as error codes. The API is
 * never flexible: Kafka cannot bump it (KAFKA-9577), so no tagged fields.
 */
import { ApiKey } from "./api-keys.js";
import { encodeRequestFrame } from "./headers.js";
import { ProtocolError } from "./protocol-error.js";
import type { Reader } from "./reader.js";
import type { VersionRange } from "./versions.js";
import type { Writer } from "./writer.js";

export const SASL_HANDSHAKE_VERSIONS: VersionRange = { min: 0, max: 1 };

export interface SaslHandshakeResponse {
  errorCode: number;
  /** The mechanisms enabled on the broker's listener. */
  mechanisms: string[];
}

function checkVersion(version: number): void {
  if (
    !Number.isInteger(version) ||
    version < SASL_HANDSHAKE_VERSIONS.min ||
    version > SASL_HANDSHAKE_VERSIONS.max
  ) {
    throw new ProtocolError("UNSUPPORTED_VERSION", `SaslHandshake v${version} is not implemented`);
  }
}

export function encodeSaslHandshakeRequest(w: Writer, version: number, mechanism: string): void {
  checkVersion(version);
  w.string(mechanism);
}

/** A whole request frame (size, header v1, body); a view into `w`. */
export function saslHandshakeRequestFrame(
  w: Writer,
  version: number,
  correlationId: number,
  clientId: string | null,
  mechanism: string,
): Buffer {
  return encodeRequestFrame(
    w,
    { apiKey: ApiKey.SaslHandshake, apiVersion: version, correlationId, clientId },
    (body) => encodeSaslHandshakeRequest(body, version, mechanism),
  );
}

/** The broker side, for tests and fake brokers: the mechanism asked for. */
export function decodeSaslHandshakeRequest(r: Reader, version: number): string {
  checkVersion(version);
  return r.string();
}

export function decodeSaslHandshakeResponse(r: Reader, version: number): SaslHandshakeResponse {
  checkVersion(version);
  const errorCode = r.int16();
  const mechanisms = r.array((a) => a.string());
  return { errorCode, mechanisms };
}

/** The broker side, for tests and fake brokers. */
export function encodeSaslHandshakeResponse(
  w: Writer,
  version: number,
  res: SaslHandshakeResponse,
): void {
  checkVersion(version);
  w.int16(res.errorCode).array(res.mechanisms, (a, m) => a.string(m));
}
