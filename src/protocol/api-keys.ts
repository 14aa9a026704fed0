/**
 * The API keys this client speaks and the version from which each one uses the
 * flexible (KIP-482, compact + tagged fields) encoding.
 */
export const ApiKey = {
  Produce: 0,
  Metadata: 3,
  FindCoordinator: 10,
  SaslHandshake: 17,
  ApiVersions: 18,
  InitProducerId: 22,
  AddPartitionsToTxn: 24,
  AddOffsetsToTxn: 25,
  EndTxn: 26,
  TxnOffsetCommit: 28,
  SaslAuthenticate: 36,
} as const;

export type ApiKey = (typeof ApiKey)[keyof typeof ApiKey];

export const API_NAMES: Readonly<Record<number, string>> = {
  0: "Produce",
  3: "Metadata",
  10: "FindCoordinator",
  17: "SaslHandshake",
  18: "ApiVersions",
  22: "InitProducerId",
  24: "AddPartitionsToTxn",
  25: "AddOffsetsToTxn",
  26: "EndTxn",
  28: "TxnOffsetCommit",
  36: "SaslAuthenticate",
};

/** First flexible version per API key (from each message's "flexibleVersions"). */
const FLEXIBLE_FROM: Readonly<Record<number, number>> = {
  0: 9,
  3: 9,
  10: 3,
  17: Number.POSITIVE_INFINITY,
  18: 3,
  22: 2,
  24: 3,
  25: 3,
  26: 3,
  28: 3,
  36: 2,
};

export function isFlexible(apiKey: number, apiVersion: number): boolean {
  const from = FLEXIBLE_FROM[apiKey];
  if (from === undefined) throw new RangeError(`unknown API key ${apiKey}`);
  return apiVersion >= from;
}

export function apiName(apiKey: number): string {
  return API_NAMES[apiKey] ?? `ApiKey(${apiKey})`;
}
