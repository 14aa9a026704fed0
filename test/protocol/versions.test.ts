import { describe, expect, it } from "vitest";
import { ADD_OFFSETS_TO_TXN_VERSIONS } from "../../src/protocol/add-offsets-to-txn.js";
import { ADD_PARTITIONS_TO_TXN_VERSIONS } from "../../src/protocol/add-partitions-to-txn.js";
import { ApiKey } from "../../src/protocol/api-keys.js";
import {
  API_VERSIONS_VERSIONS,
  decodeApiVersionsResponse,
} from "../../src/protocol/api-versions.js";
import { END_TXN_VERSIONS } from "../../src/protocol/end-txn.js";
import { FIND_COORDINATOR_VERSIONS } from "../../src/protocol/find-coordinator.js";
import { INIT_PRODUCER_ID_VERSIONS } from "../../src/protocol/init-producer-id.js";
import { METADATA_VERSIONS } from "../../src/protocol/metadata.js";
import { PRODUCE_MAX_NAME_VERSION, PRODUCE_VERSIONS } from "../../src/protocol/produce.js";
import { Reader } from "../../src/protocol/reader.js";
import { SASL_AUTHENTICATE_VERSIONS } from "../../src/protocol/sasl-authenticate.js";
import { SASL_HANDSHAKE_VERSIONS } from "../../src/protocol/sasl-handshake.js";
import { TXN_OFFSET_COMMIT_VERSIONS } from "../../src/protocol/txn-offset-commit.js";
import {
  brokerVersionMap,
  CLIENT_API_VERSIONS,
  pickVersion,
  UnsupportedVersionError,
} from "../../src/protocol/versions.js";

describe("client version ranges", () => {
  it("come from the API modules", () => {
    expect(CLIENT_API_VERSIONS[ApiKey.Produce]).toBe(PRODUCE_VERSIONS);
    expect(CLIENT_API_VERSIONS[ApiKey.Metadata]).toBe(METADATA_VERSIONS);
    expect(CLIENT_API_VERSIONS[ApiKey.ApiVersions]).toBe(API_VERSIONS_VERSIONS);
    expect(CLIENT_API_VERSIONS[ApiKey.InitProducerId]).toBe(INIT_PRODUCER_ID_VERSIONS);
    expect(CLIENT_API_VERSIONS[ApiKey.SaslHandshake]).toBe(SASL_HANDSHAKE_VERSIONS);
    expect(CLIENT_API_VERSIONS[ApiKey.SaslAuthenticate]).toBe(SASL_AUTHENTICATE_VERSIONS);
    expect(PRODUCE_VERSIONS).toEqual({ min: 3, max: 13 });
    expect(METADATA_VERSIONS).toEqual({ min: 1, max: 12 });
    expect(API_VERSIONS_VERSIONS).toEqual({ min: 0, max: 3 });
    expect(INIT_PRODUCER_ID_VERSIONS).toEqual({ min: 0, max: 5 });
    expect(SASL_HANDSHAKE_VERSIONS).toEqual({ min: 0, max: 1 });
    expect(SASL_AUTHENTICATE_VERSIONS).toEqual({ min: 0, max: 2 });
  });

  it("include the transaction APIs", () => {
    expect(CLIENT_API_VERSIONS[ApiKey.FindCoordinator]).toBe(FIND_COORDINATOR_VERSIONS);
    expect(CLIENT_API_VERSIONS[ApiKey.AddPartitionsToTxn]).toBe(ADD_PARTITIONS_TO_TXN_VERSIONS);
    expect(CLIENT_API_VERSIONS[ApiKey.AddOffsetsToTxn]).toBe(ADD_OFFSETS_TO_TXN_VERSIONS);
    expect(CLIENT_API_VERSIONS[ApiKey.EndTxn]).toBe(END_TXN_VERSIONS);
    expect(CLIENT_API_VERSIONS[ApiKey.TxnOffsetCommit]).toBe(TXN_OFFSET_COMMIT_VERSIONS);
    expect(FIND_COORDINATOR_VERSIONS).toEqual({ min: 0, max: 6 });
    expect(ADD_PARTITIONS_TO_TXN_VERSIONS).toEqual({ min: 0, max: 3 });
    expect(ADD_OFFSETS_TO_TXN_VERSIONS).toEqual({ min: 0, max: 4 });
    expect(END_TXN_VERSIONS).toEqual({ min: 0, max: 5 });
    expect(TXN_OFFSET_COMMIT_VERSIONS).toEqual({ min: 0, max: 5 });
  });
});

describe("brokerVersionMap", () => {
  it("maps a decoded ApiVersions response (hand-assembled v0 body)", () => {
    const body = Buffer.from(
      [
        [0x00, 0x00], // error_code
        [0x00, 0x00, 0x00, 0x03], // 3 entries
        [0x00, 0x00, 0x00, 0x00, 0x00, 0x0b], // Produce 0..11
        [0x00, 0x03, 0x00, 0x00, 0x00, 0x0c], // Metadata 0..12
        [0x00, 0x12, 0x00, 0x00, 0x00, 0x03], // ApiVersions 0..3
      ].flat(),
    );
    const map = brokerVersionMap(decodeApiVersionsResponse(new Reader(body), 0));
    expect([...map]).toEqual([
      [0, { min: 0, max: 11 }],
      [3, { min: 0, max: 12 }],
      [18, { min: 0, max: 3 }],
    ]);
  });
});

describe("pickVersion", () => {
  const broker = (entries: [number, number, number][]) =>
    brokerVersionMap({
      apiKeys: entries.map(([apiKey, minVersion, maxVersion]) => ({
        apiKey,
        minVersion,
        maxVersion,
      })),
    });

  it("picks the highest version both sides speak", () => {
    // Kafka 4.1: Produce 3..13 (advertised from 0, KAFKA-18659), Metadata 0..13.
    const kafka41 = broker([
      [0, 0, 13],
      [3, 0, 13],
      [18, 0, 4],
    ]);
    expect(pickVersion(ApiKey.Produce, kafka41)).toBe(13);
    expect(pickVersion(ApiKey.Metadata, kafka41)).toBe(12);
    expect(pickVersion(ApiKey.ApiVersions, kafka41)).toBe(3);
    // Kafka 2.x: Produce 0..8, Metadata 0..9.
    const kafka2 = broker([
      [0, 0, 8],
      [3, 0, 9],
    ]);
    expect(pickVersion(ApiKey.Produce, kafka2)).toBe(8);
    expect(pickVersion(ApiKey.Metadata, kafka2)).toBe(9);
  });

  it("takes a narrower client range, e.g. Produce without topic ids", () => {
    const kafka41 = broker([[0, 0, 13]]);
    expect(pickVersion(ApiKey.Produce, kafka41, { min: 3, max: PRODUCE_MAX_NAME_VERSION })).toBe(
      12,
    );
    expect(pickVersion(ApiKey.InitProducerId, broker([[22, 0, 5]]), { min: 0, max: 4 })).toBe(4);
    expect(pickVersion(ApiKey.InitProducerId, broker([[22, 0, 6]]))).toBe(5);
    expect(pickVersion(ApiKey.SaslHandshake, broker([[17, 0, 1]]))).toBe(1);
    expect(pickVersion(ApiKey.SaslAuthenticate, broker([[36, 0, 2]]))).toBe(2);
    // An API with no entry in CLIENT_API_VERSIONS (here JoinGroup, 11) needs its range.
    expect(() => pickVersion(11, broker([[11, 0, 9]]))).toThrow(RangeError);
    // AddPartitionsToTxn stops at v3 (v4+ is for brokers), whatever the broker offers.
    expect(pickVersion(ApiKey.AddPartitionsToTxn, broker([[24, 0, 5]]))).toBe(3);
    expect(pickVersion(ApiKey.FindCoordinator, broker([[10, 0, 6]]))).toBe(6);
  });

  it("names the API and both ranges when they do not overlap", () => {
    const old = broker([[0, 0, 2]]);
    let err: unknown;
    try {
      pickVersion(ApiKey.Produce, old);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnsupportedVersionError);
    const e = err as UnsupportedVersionError;
    expect(e.apiKey).toBe(0);
    expect(e.clientRange).toEqual({ min: 3, max: 13 });
    expect(e.brokerRange).toEqual({ min: 0, max: 2 });
    expect(e.code).toBe("UNSUPPORTED_VERSION");
    expect(e.message).toMatch(/Produce/);
    expect(e.message).toMatch(/v3-v13/);
    expect(e.message).toMatch(/v0-v2/);
    // Above our range too.
    expect(() => pickVersion(ApiKey.Metadata, broker([[3, 13, 14]]))).toThrow(/v1-v12.*v13-v14/);
  });

  it("reports an API the broker lacks", () => {
    try {
      pickVersion(ApiKey.Metadata, broker([[0, 0, 9]]));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UnsupportedVersionError);
      expect((e as UnsupportedVersionError).brokerRange).toBeNull();
      expect((e as Error).message).toMatch(/Metadata.*does not offer/);
    }
  });
});
