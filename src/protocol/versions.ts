/**
 * Version negotiation: the ranges this client implements and the pick of the
 * version to speak to one broker (the highest both sides support, as the
 * protocol guide's "Versioning and Compatibility" section describes).
 */
import { ADD_OFFSETS_TO_TXN_VERSIONS } from "./add-offsets-to-txn.js";
import { ADD_PARTITIONS_TO_TXN_VERSIONS } from "./add-partitions-to-txn.js";
import { ApiKey, apiName } from "./api-keys.js";
import type { ApiVersion } from "./api-versions.js";
import { API_VERSIONS_VERSIONS } from "./api-versions.js";
import { END_TXN_VERSIONS } from "./end-txn.js";
import { FIND_COORDINATOR_VERSIONS } from "./find-coordinator.js";
import { INIT_PRODUCER_ID_VERSIONS } from "./init-producer-id.js";
import { METADATA_VERSIONS } from "./metadata.js";
import { PRODUCE_VERSIONS } from "./produce.js";
import { SASL_AUTHENTICATE_VERSIONS } from "./sasl-authenticate.js";
import { SASL_HANDSHAKE_VERSIONS } from "./sasl-handshake.js";
import { TXN_OFFSET_COMMIT_VERSIONS } from "./txn-offset-commit.js";

/** An inclusive range of API versions. */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

/** What a broker advertised: API key -> its version range. */
export type BrokerVersions = ReadonlyMap<number, VersionRange>;

/**
 * The ranges this client implements, per API key. APIs encoded elsewhere pass
 * their own range to `pickVersion`.
 */
export const CLIENT_API_VERSIONS: Readonly<Record<number, VersionRange>> = {
  [ApiKey.Produce]: PRODUCE_VERSIONS,
  [ApiKey.Metadata]: METADATA_VERSIONS,
  [ApiKey.ApiVersions]: API_VERSIONS_VERSIONS,
  [ApiKey.InitProducerId]: INIT_PRODUCER_ID_VERSIONS,
  [ApiKey.FindCoordinator]: FIND_COORDINATOR_VERSIONS,
  [ApiKey.AddPartitionsToTxn]: ADD_PARTITIONS_TO_TXN_VERSIONS,
  [ApiKey.AddOffsetsToTxn]: ADD_OFFSETS_TO_TXN_VERSIONS,
  [ApiKey.EndTxn]: END_TXN_VERSIONS,
  [ApiKey.TxnOffsetCommit]: TXN_OFFSET_COMMIT_VERSIONS,
  [ApiKey.SaslHandshake]: SASL_HANDSHAKE_VERSIONS,
  [ApiKey.SaslAuthenticate]: SASL_AUTHENTICATE_VERSIONS,
};

/** No version of an API is spoken by both this client and the broker. */
export class UnsupportedVersionError extends Error {
  override readonly name = "UnsupportedVersionError";
  readonly code = "UNSUPPORTED_VERSION";
  constructor(
    readonly apiKey: number,
    readonly clientRange: VersionRange,
    /** null when the broker does not offer the API at all. */
    readonly brokerRange: VersionRange | null,
  ) {
    const ours = `v${clientRange.min}-v${clientRange.max}`;
    super(
      brokerRange
        ? `${apiName(apiKey)} (key ${apiKey}): this client speaks ${ours}, the broker ` +
            `v${brokerRange.min}-v${brokerRange.max}; no version in common`
        : `${apiName(apiKey)} (key ${apiKey}): the broker does not offer this API ` +
            `(this client speaks ${ours})`,
    );
  }
}

/** The broker's ranges from an ApiVersions response (a later duplicate key wins). */
export function brokerVersionMap(response: {
  readonly apiKeys: readonly ApiVersion[];
}): Map<number, VersionRange> {
  const map = new Map<number, VersionRange>();
  for (const k of response.apiKeys) map.set(k.apiKey, { min: k.minVersion, max: k.maxVersion });
  return map;
}

/**
 * The highest version of `apiKey` both sides support. `client` defaults to
 * CLIENT_API_VERSIONS; pass a narrower range to cap a pick (e.g. Produce at 12
 * when topic IDs are unknown). Throws UnsupportedVersionError when the broker
 * lacks the API or the ranges do not overlap.
 */
export function pickVersion(
  apiKey: number,
  broker: BrokerVersions,
  client: VersionRange | undefined = CLIENT_API_VERSIONS[apiKey],
): number {
  if (!client) throw new RangeError(`no client version range for ${apiName(apiKey)}`);
  const theirs = broker.get(apiKey);
  if (!theirs) throw new UnsupportedVersionError(apiKey, client, null);
  const max = Math.min(client.max, theirs.max);
  if (max < Math.max(client.min, theirs.min)) {
    throw new UnsupportedVersionError(apiKey, client, theirs);
  }
  return max;
}
