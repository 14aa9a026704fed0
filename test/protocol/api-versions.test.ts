import { describe, expect, it } from "vitest";
import {
  API_VERSIONS_VERSIONS,
  type ApiVersionsResponse,
  apiVersionsRequestFrame,
  CLIENT_SOFTWARE_PATTERN,
  decodeApiVersionsRequest,
  decodeApiVersionsResponse,
  decodeApiVersionsResponseTolerant,
  encodeApiVersionsRequest,
  encodeApiVersionsResponse,
  pickApiVersionsFallback,
} from "../../src/protocol/api-versions.js";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { Reader } from "../../src/protocol/reader.js";
import { Writer } from "../../src/protocol/writer.js";
import { ascii, body, bytes, onlyProtocolErrors, prng } from "../helpers/bytes.js";

// KafkaJS 2.2.4 fixture src/protocol/requests/apiVersions/fixtures/v1_response.json:
// an ApiVersions v1 body captured from a Kafka 1.x broker (34 APIs, keys 0-33).
const KAFKAJS_V1_RESPONSE = [
  0, 0, 0, 0, 0, 34, 0, 0, 0, 0, 0, 3, 0, 1, 0, 0, 0, 5, 0, 2, 0, 0, 0, 2, 0, 3, 0, 0, 0, 4, 0, 4,
  0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 6, 0, 0, 0, 3, 0, 7, 0, 1, 0, 1, 0, 8, 0, 0, 0, 3, 0, 9, 0, 0, 0,
  3, 0, 10, 0, 0, 0, 1, 0, 11, 0, 0, 0, 2, 0, 12, 0, 0, 0, 1, 0, 13, 0, 0, 0, 1, 0, 14, 0, 0, 0, 1,
  0, 15, 0, 0, 0, 1, 0, 16, 0, 0, 0, 1, 0, 17, 0, 0, 0, 0, 0, 18, 0, 0, 0, 1, 0, 19, 0, 0, 0, 2, 0,
  20, 0, 0, 0, 1, 0, 21, 0, 0, 0, 0, 0, 22, 0, 0, 0, 0, 0, 23, 0, 0, 0, 0, 0, 24, 0, 0, 0, 0, 0, 25,
  0, 0, 0, 0, 0, 26, 0, 0, 0, 0, 0, 27, 0, 0, 0, 0, 0, 28, 0, 0, 0, 0, 0, 29, 0, 0, 0, 0, 0, 30, 0,
  0, 0, 0, 0, 31, 0, 0, 0, 0, 0, 32, 0, 0, 0, 0, 0, 33, 0, 0, 0, 0, 0, 0, 0, 0,
];
// .../fixtures/v1_response_missing_throttle_time.json: the same without throttle_time_ms
// (kafkajs#491: some brokers omit it).
const KAFKAJS_V1_RESPONSE_NO_THROTTLE = KAFKAJS_V1_RESPONSE.slice(0, -4);

// ApiVersions v3 response with every tagged field (hand-assembled from ApiVersionsResponse.json).
const FEATURE = ascii("metadata.version"); // 16 bytes
const V3_RESPONSE = bytes(
  [0x00, 0x00], // error_code 0
  0x03, // api_keys: COMPACT_ARRAY, 2 entries + 1
  [0x00, 0x00, 0x00, 0x03, 0x00, 0x0b, 0x00], // Produce 3..11, no tags
  [0x00, 0x12, 0x00, 0x00, 0x00, 0x04, 0x00], // ApiVersions 0..4, no tags
  [0x00, 0x00, 0x00, 0x64], // throttle_time_ms 100
  0x05, // 5 tagged fields
  [0x00, 0x17], // tag 0 supported_features, 23 bytes:
  [0x02, 0x11, ...FEATURE, 0x00, 0x01, 0x00, 0x14, 0x00], //   1 entry: name, min 1, max 20, no tags
  [0x01, 0x08], // tag 1 finalized_features_epoch, 8 bytes:
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x2c], //   300
  [0x02, 0x17], // tag 2 finalized_features, 23 bytes:
  [0x02, 0x11, ...FEATURE, 0x00, 0x13, 0x00, 0x01, 0x00], //   1 entry: name, max level 19, min level 1
  [0x03, 0x01, 0x01], // tag 3 zk_migration_ready true
  [0x07, 0x02, 0xff, 0xff], // tag 7 (unknown): skipped
);

// KIP-511: a broker answering a too-new ApiVersions request with UNSUPPORTED_VERSION, in the
// v0 layout, listing the ApiVersions range it supports (0..2).
const UNSUPPORTED_V0_LAYOUT = bytes(
  [0x00, 0x23], // error_code 35 UNSUPPORTED_VERSION
  [0x00, 0x00, 0x00, 0x01], // api_keys: ARRAY of 1
  [0x00, 0x12, 0x00, 0x00, 0x00, 0x02], // ApiVersions 0..2
);

describe("ApiVersions request", () => {
  it("v0 has an empty body; the frame carries header v1 (hand-assembled)", () => {
    expect(
      body((w) =>
        encodeApiVersionsRequest(w, 0, { clientSoftwareName: "x", clientSoftwareVersion: "1" }),
      ),
    ).toEqual(Buffer.alloc(0));
    const frame = apiVersionsRequestFrame(new Writer(), 0, 7, "ab", {
      clientSoftwareName: "x",
      clientSoftwareVersion: "1",
    });
    expect(Buffer.from(frame)).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x0c], // size 12
        [0x00, 0x12], // api key 18
        [0x00, 0x00], // api version 0
        [0x00, 0x00, 0x00, 0x07], // correlation id 7
        [0x00, 0x02, ...ascii("ab")], // client id (NULLABLE_STRING)
      ),
    );
  });

  it("v3 carries the client software name and version; frame with header v2", () => {
    const req = { clientSoftwareName: "event-kafka", clientSoftwareVersion: "0.1.0" };
    const expectedBody = bytes(
      [0x0c, ...ascii("event-kafka")], // COMPACT_STRING, length 11 + 1
      [0x06, ...ascii("0.1.0")], // COMPACT_STRING, length 5 + 1
      0x00, // no tagged fields
    );
    expect(body((w) => encodeApiVersionsRequest(w, 3, req))).toEqual(expectedBody);
    const frame = Buffer.from(apiVersionsRequestFrame(new Writer(), 3, 1, "c", req));
    expect(frame).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x1f], // size 31 = 12 (header) + 19 (body)
        [0x00, 0x12, 0x00, 0x03], // key 18, version 3
        [0x00, 0x00, 0x00, 0x01], // correlation id 1
        [0x00, 0x01, ...ascii("c")], // client id stays a NULLABLE_STRING in header v2
        0x00, // header tagged fields
        ...expectedBody,
      ),
    );
    expect(decodeApiVersionsRequest(new Reader(expectedBody), 3)).toEqual(req);
    expect(CLIENT_SOFTWARE_PATTERN.test(req.clientSoftwareName)).toBe(true);
    expect(CLIENT_SOFTWARE_PATTERN.test("-bad")).toBe(false);
  });

  it("rejects versions outside 0-3", () => {
    const req = { clientSoftwareName: "a", clientSoftwareVersion: "1" };
    expect(() => encodeApiVersionsRequest(new Writer(), 4, req)).toThrow(ProtocolError);
    expect(() => decodeApiVersionsResponse(new Reader(Buffer.alloc(8)), -1)).toThrow(ProtocolError);
  });
});

describe("ApiVersions response", () => {
  it("decodes a v3 response with every tagged field (hand-assembled)", () => {
    const r = new Reader(V3_RESPONSE);
    const res = decodeApiVersionsResponse(r, 3);
    expect(r.remaining).toBe(0);
    expect(res).toEqual({
      errorCode: 0,
      apiKeys: [
        { apiKey: 0, minVersion: 3, maxVersion: 11 },
        { apiKey: 18, minVersion: 0, maxVersion: 4 },
      ],
      throttleTimeMs: 100,
      supportedFeatures: [{ name: "metadata.version", minVersion: 1, maxVersion: 20 }],
      finalizedFeaturesEpoch: 300,
      finalizedFeatures: [{ name: "metadata.version", maxVersionLevel: 19, minVersionLevel: 1 }],
      zkMigrationReady: true,
    });
  });

  it("decodes a v0 body (hand-assembled) with defaults for later fields", () => {
    const v0 = bytes([0x00, 0x00], [0x00, 0x00, 0x00, 0x01], [0x00, 0x03, 0x00, 0x01, 0x00, 0x0c]);
    expect(decodeApiVersionsResponse(new Reader(v0), 0)).toEqual({
      errorCode: 0,
      apiKeys: [{ apiKey: 3, minVersion: 1, maxVersion: 12 }],
      throttleTimeMs: 0,
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1,
      finalizedFeatures: [],
      zkMigrationReady: false,
    });
  });

  it("decodes KafkaJS's real-broker v1 fixture", () => {
    const r = new Reader(Buffer.from(KAFKAJS_V1_RESPONSE));
    const res = decodeApiVersionsResponse(r, 1);
    expect(r.remaining).toBe(0);
    expect(res.errorCode).toBe(0);
    expect(res.throttleTimeMs).toBe(0);
    expect(res.apiKeys).toHaveLength(34);
    expect(res.apiKeys[0]).toEqual({ apiKey: 0, minVersion: 0, maxVersion: 3 });
    expect(res.apiKeys[3]).toEqual({ apiKey: 3, minVersion: 0, maxVersion: 4 });
    expect(res.apiKeys[7]).toEqual({ apiKey: 7, minVersion: 1, maxVersion: 1 });
    expect(res.apiKeys[18]).toEqual({ apiKey: 18, minVersion: 0, maxVersion: 1 });
  });

  it("tolerates a v1 answer without throttle_time_ms (KafkaJS fixture)", () => {
    const buf = Buffer.from(KAFKAJS_V1_RESPONSE_NO_THROTTLE);
    expect(() => decodeApiVersionsResponse(new Reader(buf), 1)).toThrow(ProtocolError);
    const res = decodeApiVersionsResponseTolerant(new Reader(buf), 1);
    expect(res.errorCode).toBe(0);
    expect(res.throttleTimeMs).toBe(0);
    expect(res.apiKeys).toHaveLength(34);
    // The complete fixture still decodes with its throttle time.
    expect(
      decodeApiVersionsResponseTolerant(new Reader(Buffer.from(KAFKAJS_V1_RESPONSE)), 1).apiKeys,
    ).toHaveLength(34);
  });

  it("round-trips every version 0-3", () => {
    const full: ApiVersionsResponse = {
      errorCode: 0,
      apiKeys: [
        { apiKey: 0, minVersion: 3, maxVersion: 13 },
        { apiKey: 3, minVersion: 0, maxVersion: 12 },
        { apiKey: 18, minVersion: 0, maxVersion: 4 },
      ],
      throttleTimeMs: 5,
      supportedFeatures: [{ name: "kraft.version", minVersion: 0, maxVersion: 1 }],
      finalizedFeaturesEpoch: 2 ** 40,
      finalizedFeatures: [{ name: "kraft.version", maxVersionLevel: 1, minVersionLevel: 1 }],
      zkMigrationReady: true,
    };
    for (let v = API_VERSIONS_VERSIONS.min; v <= API_VERSIONS_VERSIONS.max; v++) {
      const buf = body((w) => encodeApiVersionsResponse(w, v, full));
      const r = new Reader(buf);
      const res = decodeApiVersionsResponse(r, v);
      expect(r.remaining).toBe(0);
      expect(res.apiKeys).toEqual(full.apiKeys);
      expect(res.throttleTimeMs).toBe(v >= 1 ? 5 : 0);
      if (v >= 3) expect(res).toEqual(full);
      else expect(res.supportedFeatures).toEqual([]);
      // Requests too.
      const req = { clientSoftwareName: "n", clientSoftwareVersion: "1.0" };
      const reqBuf = body((w) => encodeApiVersionsRequest(w, v, req));
      expect(decodeApiVersionsRequest(new Reader(reqBuf), v)).toEqual(
        v >= 3 ? req : { clientSoftwareName: "", clientSoftwareVersion: "" },
      );
    }
  });
});

describe("ApiVersions downgrade (KIP-511)", () => {
  it("reads an UNSUPPORTED_VERSION answer to a v3 request in the v0 layout", () => {
    // The strict v3 decoder cannot read it...
    expect(() => decodeApiVersionsResponse(new Reader(UNSUPPORTED_V0_LAYOUT), 3)).toThrow(
      ProtocolError,
    );
    // ...the tolerant one can, and the fallback is the broker's max.
    const r = new Reader(UNSUPPORTED_V0_LAYOUT);
    const res = decodeApiVersionsResponseTolerant(r, 3);
    expect(r.remaining).toBe(0);
    expect(res.errorCode).toBe(35);
    expect(res.apiKeys).toEqual([{ apiKey: 18, minVersion: 0, maxVersion: 2 }]);
    expect(pickApiVersionsFallback(res)).toBe(2);
    expect(pickApiVersionsFallback(res, 3)).toBe(2);
  });

  it("keeps only the error code of malformed answers (librdkafka mock cluster)", () => {
    const malformed = [
      bytes(0x00, 0x23), // the error code alone
      bytes([0x00, 0x23], [0xff, 0xff, 0xff, 0xff]), // a null array
      bytes([0x00, 0x23], [0x00, 0x00, 0x00, 0x05], [0x00, 0x12]), // a count that lies
      bytes([0x00, 0x23], 0x80), // an unterminated varint
    ];
    for (const buf of malformed) {
      const r = new Reader(buf);
      const res = decodeApiVersionsResponseTolerant(r, 3);
      expect(res.errorCode).toBe(35);
      expect(res.apiKeys).toEqual([]);
      expect(r.remaining).toBe(0);
      expect(pickApiVersionsFallback(res)).toBe(0);
    }
  });

  it("accepts an UNSUPPORTED_VERSION answer in the asked (flexible) layout", () => {
    const flexible = bytes(
      [0x00, 0x23], // error_code 35
      0x02, // 1 entry
      [0x00, 0x12, 0x00, 0x00, 0x00, 0x03, 0x00], // ApiVersions 0..3
      [0x00, 0x00, 0x00, 0x00], // throttle_time_ms
      0x00, // no tags
    );
    const res = decodeApiVersionsResponseTolerant(new Reader(flexible), 3);
    expect(res.errorCode).toBe(35);
    expect(res.apiKeys).toEqual([{ apiKey: 18, minVersion: 0, maxVersion: 3 }]);
    expect(pickApiVersionsFallback(res)).toBe(3);
    // A broker that claims to support what it just refused: do not loop, go to v0.
    expect(pickApiVersionsFallback(res, 3)).toBe(0);
  });

  it("falls back within our range and to 0 when the ranges do not meet", () => {
    const answer = (min: number, max: number) => ({
      apiKeys: [{ apiKey: 18, minVersion: min, maxVersion: max }],
    });
    expect(pickApiVersionsFallback(answer(0, 9))).toBe(3);
    expect(pickApiVersionsFallback(answer(1, 1))).toBe(1);
    expect(pickApiVersionsFallback(answer(4, 9))).toBe(0);
    expect(
      pickApiVersionsFallback({ apiKeys: [{ apiKey: 0, minVersion: 0, maxVersion: 9 }] }),
    ).toBe(0);
  });

  it("decodes a normal answer strictly", () => {
    const res = decodeApiVersionsResponseTolerant(new Reader(V3_RESPONSE), 3);
    expect(res.throttleTimeMs).toBe(100);
    expect(res.zkMigrationReady).toBe(true);
    const bad = bytes([0x00, 0x00], 0x03, [0x00, 0x00]); // error 0, then truncated
    expect(() => decodeApiVersionsResponseTolerant(new Reader(bad), 3)).toThrow(ProtocolError);
  });
});

describe("ApiVersions decoders under hostile input", () => {
  const vectors: [Buffer, number][] = [
    [V3_RESPONSE, 3],
    [UNSUPPORTED_V0_LAYOUT, 0],
    [Buffer.from(KAFKAJS_V1_RESPONSE), 1],
  ];

  it("every truncation throws only ProtocolError", () => {
    for (const [buf, version] of vectors) {
      for (let n = 0; n < buf.length; n++) {
        const cut = buf.subarray(0, n);
        for (let v = 0; v <= 3; v++) {
          onlyProtocolErrors(() => decodeApiVersionsResponse(new Reader(cut), v));
          onlyProtocolErrors(() => decodeApiVersionsResponseTolerant(new Reader(cut), v));
        }
        expect(() => decodeApiVersionsResponse(new Reader(cut), version)).toThrow(ProtocolError);
      }
    }
  });

  it("random bytes and random mutations throw only ProtocolError", () => {
    const next = prng(0x5eed);
    for (let i = 0; i < 3000; i++) {
      const len = next() % 64;
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = next() & 0xff;
      for (let v = 0; v <= 3; v++) {
        onlyProtocolErrors(() => decodeApiVersionsResponse(new Reader(buf), v));
        onlyProtocolErrors(() => decodeApiVersionsResponseTolerant(new Reader(buf), v));
        onlyProtocolErrors(() => decodeApiVersionsRequest(new Reader(buf), v));
      }
    }
    for (const [buf, version] of vectors) {
      for (let i = 0; i < 500; i++) {
        const m = Buffer.from(buf);
        m[next() % m.length] = next() & 0xff;
        onlyProtocolErrors(() => decodeApiVersionsResponse(new Reader(m), version));
        onlyProtocolErrors(() => decodeApiVersionsResponseTolerant(new Reader(m), version));
      }
    }
  });

  it("a lying array count fails fast without allocating it", () => {
    const lie = bytes([0x00, 0x00], [0x7f, 0xff, 0xff, 0xff]);
    expect(() => decodeApiVersionsResponse(new Reader(lie), 0)).toThrow(/array of 2147483647/);
    const compactLie = bytes([0x00, 0x00], [0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(() => decodeApiVersionsResponse(new Reader(compactLie), 3)).toThrow(ProtocolError);
  });
});
