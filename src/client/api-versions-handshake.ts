/**
 * The ApiVersions exchange that opens every connection: the client's name
 * and version go along (KIP-511), the broker's refusal of the version asked
 * for steps down once to what it offers, and the result is the version range
 * of every API the broker announced.
 */
import { ApiKey } from "../protocol/api-keys.js";
import {
  API_VERSIONS_VERSIONS,
  type ApiVersionsResponse,
  decodeApiVersionsResponseTolerant,
  encodeApiVersionsRequest,
  pickApiVersionsFallback,
  UNSUPPORTED_VERSION_ERROR,
} from "../protocol/api-versions.js";
import { brokerVersionMap, type VersionRange } from "../protocol/versions.js";
import { KafkaClientError } from "./client-error.js";
import type { Logger } from "./logger.js";
import type { KafkaRequest } from "./request.js";

const CLIENT_SOFTWARE_NAME = "event-kafka";
const CLIENT_SOFTWARE_VERSION = "0.1.0";

/** The slice of a connection the exchange needs. */
export interface ApiVersionsTransport {
  readonly address: string;
  request<T>(request: KafkaRequest<T>): Promise<T>;
}

/** How the client names itself to the broker (defaults: this package's name and version). */
export interface ClientSoftware {
  softwareName?: string | undefined;
  softwareVersion?: string | undefined;
}

export interface NegotiatedVersions {
  /** The version ranges the broker announced, by API key. */
  versions: Map<number, VersionRange>;
  /** The ApiVersions version the broker accepted (after any downgrade). */
  apiVersionsVersion: number;
  /** The cluster's finalized feature levels (v3+; e.g. transaction.version), by name. */
  finalizedFeatures: Map<string, number>;
}

/** ApiVersions at `version`, stepping down once as the broker's answer says. */
export async function negotiateApiVersions(
  conn: ApiVersionsTransport,
  software: ClientSoftware,
  logger: Logger,
  version = API_VERSIONS_VERSIONS.max,
): Promise<NegotiatedVersions> {
  const response = await apiVersions(conn, software, version);
  if (response.errorCode === UNSUPPORTED_VERSION_ERROR) {
    const fallback = pickApiVersionsFallback(response, version);
    if (fallback >= version) {
      throw new KafkaClientError(
        "UNSUPPORTED_FEATURE",
        `${conn.address} refused ApiVersions v${version} and offers nothing lower`,
      );
    }
    logger.debug("ApiVersions downgrade", {
      broker: conn.address,
      from: version,
      to: fallback,
    });
    return negotiateApiVersions(conn, software, logger, fallback);
  }
  if (response.errorCode !== 0) {
    throw new KafkaClientError(
      "TRANSPORT",
      `${conn.address} answered ApiVersions with error code ${response.errorCode}`,
    );
  }
  return {
    versions: brokerVersionMap(response),
    apiVersionsVersion: version,
    finalizedFeatures: new Map(
      response.finalizedFeatures.map((f) => [f.name, f.maxVersionLevel] as const),
    ),
  };
}

function apiVersions(
  conn: ApiVersionsTransport,
  { softwareName, softwareVersion }: ClientSoftware,
  version: number,
): Promise<ApiVersionsResponse> {
  return conn.request({
    apiKey: ApiKey.ApiVersions,
    apiVersion: version,
    encode: (w) =>
      encodeApiVersionsRequest(w, version, {
        clientSoftwareName: softwareName ?? CLIENT_SOFTWARE_NAME,
        clientSoftwareVersion: softwareVersion ?? CLIENT_SOFTWARE_VERSION,
      }),
    decode: (r) => decodeApiVersionsResponseTolerant(r, version),
  });
}
