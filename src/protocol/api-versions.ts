/**
 * ApiVersions (key 18), versions 0-3: which versions of which APIs a broker speaks.
 *
 *   ApiVersions Request (Version: 3) => client_software_name client_software_version _tagged_fields
 *     client_software_name => COMPACT_STRING
 *     client_software_version => COMPACT_STRING
 *   (versions 0-2 have an empty body)
 *
 *   ApiVersions Response (Version: 3) => error_code [api_keys] throttle_time_ms _tagged_fields
 *     error_code => INT16
 *     api_keys => api_key min_version max_version _tagged_fields
 *       api_key => INT16
 *       min_version => INT16
 *       max_version => INT16
 *     throttle_time_ms => INT32                         (v1+)
 *     tagged: 0 supported_features [name min_version max_version]
 *             1 finalized_features_epoch INT64
 *             2 finalized_features [name max_version_level min_version_level]
 *             3 zk_migration_ready BOOLEAN
 *
 * The response header is always v0 (see headers.ts), so the error code of a
 * version the broker does not know can still be read. KIP-511: a broker answers a
 * too-new request with UNSUPPORTED_VERSION in a v0-layout body whose api_keys
 * lists the ApiVersions range it supports; `decodeApiVersionsResponseTolerant`
 * and `pickApiVersionsFallback` implement the client side of that downgrade.
 *
 * We stop at v3: v4 (Kafka 3.9, KAFKA-17011) has the same layout and only lets
 * features with min version 0 through, which a producer does not use, while
 * every broker from 2.4 to 3.8 would answer v4 with UNSUPPORTED_VERSION and cost
 * a second round trip.
 */
import { ApiKey } from "./api-keys.js";
import { encodeRequestFrame } from "./headers.js";
import { ProtocolError } from "./protocol-error.js";
import { type Reader, taggedFieldReader } from "./reader.js";
import type { VersionRange } from "./versions.js";
import { type TaggedField, Writer } from "./writer.js";

export const API_VERSIONS_VERSIONS: VersionRange = { min: 0, max: 3 };

/** Error code UNSUPPORTED_VERSION. */
export const UNSUPPORTED_VERSION_ERROR = 35;

/**
 * KIP-511: what a broker accepts in client_software_name/version; anything else
 * is answered with INVALID_REQUEST.
 */
export const CLIENT_SOFTWARE_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

export interface ApiVersionsRequest {
  /** v3+; must match CLIENT_SOFTWARE_PATTERN. */
  clientSoftwareName: string;
  /** v3+; must match CLIENT_SOFTWARE_PATTERN. */
  clientSoftwareVersion: string;
}

export interface ApiVersion {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

export interface SupportedFeatureKey {
  name: string;
  minVersion: number;
  maxVersion: number;
}

export interface FinalizedFeatureKey {
  name: string;
  maxVersionLevel: number;
  minVersionLevel: number;
}

export interface ApiVersionsResponse {
  errorCode: number;
  apiKeys: ApiVersion[];
  /** v1+; 0 below. */
  throttleTimeMs: number;
  /** Tag 0 (v3+); empty when absent. */
  supportedFeatures: SupportedFeatureKey[];
  /** Tag 1 (v3+); -1 when absent. */
  finalizedFeaturesEpoch: number;
  /** Tag 2 (v3+); empty when absent. */
  finalizedFeatures: FinalizedFeatureKey[];
  /** Tag 3 (v3+); false when absent. */
  zkMigrationReady: boolean;
}

function checkVersion(version: number): void {
  if (
    !Number.isInteger(version) ||
    version < API_VERSIONS_VERSIONS.min ||
    version > API_VERSIONS_VERSIONS.max
  ) {
    throw new ProtocolError("UNSUPPORTED_VERSION", `ApiVersions v${version} is not implemented`);
  }
}

export function encodeApiVersionsRequest(
  w: Writer,
  version: number,
  req: ApiVersionsRequest,
): void {
  checkVersion(version);
  if (version >= 3) {
    w.compactString(req.clientSoftwareName);
    w.compactString(req.clientSoftwareVersion);
    w.taggedFields();
  }
}

/** A whole request frame (size, header, body); a view into `w`. */
export function apiVersionsRequestFrame(
  w: Writer,
  version: number,
  correlationId: number,
  clientId: string | null,
  req: ApiVersionsRequest,
): Buffer {
  return encodeRequestFrame(
    w,
    { apiKey: ApiKey.ApiVersions, apiVersion: version, correlationId, clientId },
    (body) => encodeApiVersionsRequest(body, version, req),
  );
}

/** The broker side, for tests and fake brokers. */
export function decodeApiVersionsRequest(r: Reader, version: number): ApiVersionsRequest {
  checkVersion(version);
  if (version < 3) return { clientSoftwareName: "", clientSoftwareVersion: "" };
  const clientSoftwareName = r.compactString();
  const clientSoftwareVersion = r.compactString();
  r.taggedFields();
  return { clientSoftwareName, clientSoftwareVersion };
}

function emptyResponse(errorCode: number): ApiVersionsResponse {
  return {
    errorCode,
    apiKeys: [],
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
    zkMigrationReady: false,
  };
}

/** Decodes the body at exactly `version`; throws ProtocolError on anything malformed. */
export function decodeApiVersionsResponse(r: Reader, version: number): ApiVersionsResponse {
  checkVersion(version);
  const flexible = version >= 3;
  const res = emptyResponse(r.int16());
  const readApiVersion = (r: Reader): ApiVersion => {
    const v = { apiKey: r.int16(), minVersion: r.int16(), maxVersion: r.int16() };
    if (flexible) r.taggedFields();
    return v;
  };
  res.apiKeys = flexible ? r.compactArray(readApiVersion) : r.array(readApiVersion);
  if (version >= 1) res.throttleTimeMs = r.int32();
  if (flexible) {
    for (const f of r.taggedFields()) {
      const t = taggedFieldReader(r, f);
      switch (f.tag) {
        case 0:
          res.supportedFeatures = t.compactArray((t) => {
            const k = { name: t.compactString(), minVersion: t.int16(), maxVersion: t.int16() };
            t.taggedFields();
            return k;
          });
          break;
        case 1:
          res.finalizedFeaturesEpoch = t.int64Number();
          break;
        case 2:
          res.finalizedFeatures = t.compactArray((t) => {
            const k = {
              name: t.compactString(),
              maxVersionLevel: t.int16(),
              minVersionLevel: t.int16(),
            };
            t.taggedFields();
            return k;
          });
          break;
        case 3:
          res.zkMigrationReady = t.boolean();
          break;
        // Unknown tags are skipped (KIP-482).
      }
    }
  }
  return res;
}

/** Decodes the whole window at `version`, or returns null when it does not fit exactly. */
function tryDecodeExactly(r: Reader, start: number, version: number): ApiVersionsResponse | null {
  r.pos = start;
  try {
    const res = decodeApiVersionsResponse(r, version);
    if (r.pos === r.end) return res;
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
  }
  return null;
}

/**
 * Decodes an ApiVersions response to a request sent at `version`, accepting
 * the shapes real brokers answer with. `r`'s window must end where the frame does.
 *
 * - UNSUPPORTED_VERSION (35): the body is read in the v0 layout (KIP-511, what
 *   Kafka sends), else at `version`, else only the error code is kept with empty
 *   apiKeys (librdkafka's mock cluster answers a v3 request with a body that
 *   fits neither), so the caller retries with `pickApiVersionsFallback`. Never
 *   throws once the error code has been read.
 * - v1/v2 without the trailing throttle_time_ms (some brokers omit it,
 *   kafkajs#491): throttleTimeMs is 0.
 * - Anything else decodes strictly at `version`.
 */
export function decodeApiVersionsResponseTolerant(r: Reader, version: number): ApiVersionsResponse {
  checkVersion(version);
  const start = r.pos;
  const errorCode = r.int16();
  r.pos = start;
  if (errorCode === UNSUPPORTED_VERSION_ERROR) {
    const res =
      tryDecodeExactly(r, start, 0) ?? (version > 0 ? tryDecodeExactly(r, start, version) : null);
    r.pos = r.end;
    return res ? { ...res, errorCode } : emptyResponse(errorCode);
  }
  if (version === 1 || version === 2) {
    const full = tryDecodeExactly(r, start, version);
    if (full) return full;
    const short = tryDecodeExactly(r, start, 0);
    if (short) return short;
    r.pos = start;
  }
  return decodeApiVersionsResponse(r, version);
}

/**
 * The ApiVersions version to retry with after an UNSUPPORTED_VERSION answer: the
 * highest version in both the broker's advertised ApiVersions range and ours, or
 * 0 when the broker did not say (pre-2.4 brokers, malformed answers) or the
 * ranges do not meet. With `triedVersion`, a result that would not go below it
 * becomes 0, so a confused broker cannot make the client loop.
 */
export function pickApiVersionsFallback(
  response: Pick<ApiVersionsResponse, "apiKeys">,
  triedVersion?: number,
): number {
  const own = API_VERSIONS_VERSIONS;
  const entry = response.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions);
  if (!entry) return 0;
  const max = Math.min(entry.maxVersion, own.max);
  if (max < Math.max(entry.minVersion, own.min)) return 0;
  if (triedVersion !== undefined && max >= triedVersion) return 0;
  return max;
}

/**
 * The broker side, for tests and fake brokers. Fields a version lacks are not
 * written; `tags` adds raw top-level tagged fields (v3+) after the known ones.
 */
export function encodeApiVersionsResponse(
  w: Writer,
  version: number,
  res: Partial<ApiVersionsResponse> & Pick<ApiVersionsResponse, "errorCode" | "apiKeys">,
  tags: readonly TaggedField[] = [],
): void {
  checkVersion(version);
  const flexible = version >= 3;
  w.int16(res.errorCode);
  const writeApiVersion = (w: Writer, k: ApiVersion) => {
    w.int16(k.apiKey).int16(k.minVersion).int16(k.maxVersion);
    if (flexible) w.taggedFields();
  };
  if (flexible) w.compactArray(res.apiKeys, writeApiVersion);
  else w.array(res.apiKeys, writeApiVersion);
  if (version >= 1) w.int32(res.throttleTimeMs ?? 0);
  if (!flexible) return;
  const fields: TaggedField[] = [];
  const field = (tag: number, write: (w: Writer) => void) => {
    const sub = new Writer(64);
    write(sub);
    fields.push({ tag, data: sub.finish() });
  };
  if (res.supportedFeatures?.length) {
    const list = res.supportedFeatures;
    field(0, (s) =>
      s.compactArray(list, (s, k) => {
        s.compactString(k.name).int16(k.minVersion).int16(k.maxVersion).taggedFields();
      }),
    );
  }
  if (res.finalizedFeaturesEpoch !== undefined && res.finalizedFeaturesEpoch !== -1) {
    const epoch = res.finalizedFeaturesEpoch;
    field(1, (s) => s.int64(epoch));
  }
  if (res.finalizedFeatures?.length) {
    const list = res.finalizedFeatures;
    field(2, (s) =>
      s.compactArray(list, (s, k) => {
        s.compactString(k.name).int16(k.maxVersionLevel).int16(k.minVersionLevel).taggedFields();
      }),
    );
  }
  if (res.zkMigrationReady) field(3, (s) => s.boolean(true));
  w.taggedFields([...fields, ...tags]);
}
