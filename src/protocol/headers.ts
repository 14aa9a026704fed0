/**
 * Request and response headers and the size prefix of every frame.
 *
 *   Request Header v1 => request_api_key request_api_version correlation_id client_id
 *   Request Header v2 => ... client_id TAG_BUFFER           (flexible requests)
 *   Response Header v0 => correlation_id
 *   Response Header v1 => correlation_id TAG_BUFFER         (flexible responses)
 *
 * ApiVersions responses always use header v0, even when the body is flexible,
 * so that a client can read the error of a version the broker does not know (KIP-511).
 */
import { ApiKey, isFlexible } from "./api-keys.js";
import type { Reader } from "./reader.js";
import type { Writer } from "./writer.js";

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

export interface ResponseHeader {
  correlationId: number;
}

export function requestHeaderVersion(apiKey: number, apiVersion: number): 1 | 2 {
  return isFlexible(apiKey, apiVersion) ? 2 : 1;
}

export function responseHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 {
  if (apiKey === ApiKey.ApiVersions) return 0;
  return isFlexible(apiKey, apiVersion) ? 1 : 0;
}

export function writeRequestHeader(w: Writer, h: RequestHeader, headerVersion: 1 | 2): void {
  w.int16(h.apiKey).int16(h.apiVersion).int32(h.correlationId).nullableString(h.clientId);
  if (headerVersion === 2) w.taggedFields();
}

export function readResponseHeader(r: Reader, headerVersion: 0 | 1): ResponseHeader {
  const correlationId = r.int32();
  if (headerVersion === 1) r.taggedFields();
  return { correlationId };
}

/**
 * Writes a whole request frame: size prefix, header (v1 or v2 as the API
 * version asks) and the body, then patches the size. Returns a view of the
 * frame in `w`'s buffer, valid until `w` is written again; when the body
 * spliced byte arrays in (Writer.spliced), the frame is `w.chunks(start)`.
 */
export function encodeRequestFrame(
  w: Writer,
  header: RequestHeader,
  writeBody: (w: Writer, flexible: boolean) => void,
): Buffer {
  const start = w.pos;
  const sizeAt = w.reserve(4);
  const flexible = isFlexible(header.apiKey, header.apiVersion);
  writeRequestHeader(w, header, flexible ? 2 : 1);
  const splicedBefore = w.splicedBytes;
  writeBody(w, flexible);
  // Bytes spliced by reference (Writer.spliced) belong to the frame too.
  w.setInt32At(sizeAt, w.pos - sizeAt - 4 + w.splicedBytes - splicedBefore);
  return w.buf.subarray(start, w.pos);
}
