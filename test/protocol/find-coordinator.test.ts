import { describe, expect, it } from "vitest";
import {
  CoordinatorType,
  decodeFindCoordinatorRequest,
  decodeFindCoordinatorResponse,
  encodeFindCoordinatorRequest,
  encodeFindCoordinatorResponse,
  FIND_COORDINATOR_VERSIONS,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
  findCoordinatorRequestFrame,
} from "../../src/protocol/find-coordinator.js";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { Reader } from "../../src/protocol/reader.js";
import { Writer } from "../../src/protocol/writer.js";
import { ascii, body, bytes, onlyProtocolErrors, prng } from "../helpers/bytes.js";
import { randomValues } from "./random-values.js";

// Hand-assembled from FindCoordinatorRequest.json / FindCoordinatorResponse.json (Kafka 4.4).
const V0_REQUEST = bytes(
  [0x00, 0x03, ...ascii("grp")], // key: STRING "grp"
);
const V1_REQUEST = bytes(
  [0x00, 0x05, ...ascii("txn-1")], // key: STRING "txn-1"
  0x01, // key_type: INT8 1 (transaction)
);
const V3_REQUEST = bytes(
  [0x03, ...ascii("tx")], // key: COMPACT_STRING "tx" (length + 1)
  0x01, // key_type: INT8 1
  0x00, // tagged fields
);
const V4_REQUEST = bytes(
  0x00, // key_type: INT8 0 (group)
  0x03, // coordinator_keys: COMPACT_ARRAY of 2 (count + 1)
  [0x03, ...ascii("ab")], //   COMPACT_STRING "ab"
  [0x02, ...ascii("c")], //   COMPACT_STRING "c"
  0x00, // tagged fields
);

const V0_RESPONSE = bytes(
  [0x00, 0x00], // error_code 0
  [0x00, 0x00, 0x00, 0x01], // node_id 1
  [0x00, 0x02, ...ascii("h1")], // host: STRING "h1"
  [0x00, 0x00, 0x23, 0x84], // port 9092
);
const V1_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x64], // throttle_time_ms 100
  [0x00, 0x0f], // error_code 15 COORDINATOR_NOT_AVAILABLE
  [0x00, 0x04, ...ascii("busy")], // error_message: NULLABLE_STRING "busy"
  [0xff, 0xff, 0xff, 0xff], // node_id -1
  [0x00, 0x00], // host: STRING ""
  [0xff, 0xff, 0xff, 0xff], // port -1
);
const V3_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x05], // throttle_time_ms 5
  [0x00, 0x00], // error_code 0
  0x00, // error_message: COMPACT_NULLABLE_STRING null
  [0x00, 0x00, 0x00, 0x02], // node_id 2
  [0x06, ...ascii("kafka")], // host: COMPACT_STRING "kafka"
  [0x00, 0x00, 0x23, 0x85], // port 9093
  0x00, // tagged fields
);
const V4_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x00], // throttle_time_ms 0
  0x03, // coordinators: COMPACT_ARRAY of 2
  [0x03, ...ascii("ab")], //   key: COMPACT_STRING "ab"
  [0x00, 0x00, 0x00, 0x01], //   node_id 1
  [0x02, ...ascii("h")], //   host: COMPACT_STRING "h"
  [0x00, 0x00, 0x23, 0x84], //   port 9092
  [0x00, 0x00], //   error_code 0
  0x00, //   error_message: COMPACT_NULLABLE_STRING null
  0x00, //   tagged fields
  [0x02, ...ascii("c")], //   key: COMPACT_STRING "c"
  [0xff, 0xff, 0xff, 0xff], //   node_id -1
  0x01, //   host: COMPACT_STRING ""
  [0xff, 0xff, 0xff, 0xff], //   port -1
  [0x00, 0x10], //   error_code 16 NOT_COORDINATOR
  [0x03, ...ascii("no")], //   error_message: COMPACT_NULLABLE_STRING "no"
  0x00, //   tagged fields
  0x00, // tagged fields
);

const REQUESTS: [Buffer, number, FindCoordinatorRequest][] = [
  [V0_REQUEST, 0, { keyType: CoordinatorType.GROUP, keys: ["grp"] }],
  [V1_REQUEST, 1, { keyType: CoordinatorType.TRANSACTION, keys: ["txn-1"] }],
  [V3_REQUEST, 3, { keyType: CoordinatorType.TRANSACTION, keys: ["tx"] }],
  [V4_REQUEST, 4, { keyType: CoordinatorType.GROUP, keys: ["ab", "c"] }],
];

// [vector, version, key given to the decoder, decoded response]
const RESPONSES: [Buffer, number, string, FindCoordinatorResponse][] = [
  [
    V0_RESPONSE,
    0,
    "grp",
    {
      throttleTimeMs: 0,
      coordinators: [
        { key: "grp", nodeId: 1, host: "h1", port: 9092, errorCode: 0, errorMessage: null },
      ],
    },
  ],
  [
    V1_RESPONSE,
    1,
    "txn-1",
    {
      throttleTimeMs: 100,
      coordinators: [
        { key: "txn-1", nodeId: -1, host: "", port: -1, errorCode: 15, errorMessage: "busy" },
      ],
    },
  ],
  [
    V3_RESPONSE,
    3,
    "tx",
    {
      throttleTimeMs: 5,
      coordinators: [
        { key: "tx", nodeId: 2, host: "kafka", port: 9093, errorCode: 0, errorMessage: null },
      ],
    },
  ],
  [
    V4_RESPONSE,
    4,
    "",
    {
      throttleTimeMs: 0,
      coordinators: [
        { key: "ab", nodeId: 1, host: "h", port: 9092, errorCode: 0, errorMessage: null },
        { key: "c", nodeId: -1, host: "", port: -1, errorCode: 16, errorMessage: "no" },
      ],
    },
  ],
];

describe("FindCoordinator request", () => {
  it("v0, v1, v3 and v4 (hand-assembled)", () => {
    for (const [buf, v, req] of REQUESTS) {
      expect(body((w) => encodeFindCoordinatorRequest(w, v, req))).toEqual(buf);
      const r = new Reader(buf);
      expect(decodeFindCoordinatorRequest(r, v)).toEqual(req);
      expect(r.remaining).toBe(0);
    }
  });

  it("v2 is v1, v5 and v6 are v4", () => {
    const v1 = REQUESTS[1]!;
    expect(body((w) => encodeFindCoordinatorRequest(w, 2, v1[2]))).toEqual(v1[0]);
    const v4 = REQUESTS[3]!;
    for (const v of [5, 6]) {
      expect(body((w) => encodeFindCoordinatorRequest(w, v, v4[2]))).toEqual(v4[0]);
    }
  });

  it("refuses other than one key below v4, naming the version", () => {
    const w = new Writer();
    for (let v = 0; v < 4; v++) {
      const two: FindCoordinatorRequest = { keyType: CoordinatorType.GROUP, keys: ["a", "b"] };
      expect(() => encodeFindCoordinatorRequest(w, v, two)).toThrow(RangeError);
      expect(() => encodeFindCoordinatorRequest(w, v, two)).toThrow(`FindCoordinator v${v} `);
      expect(() =>
        encodeFindCoordinatorRequest(w, v, { keyType: CoordinatorType.GROUP, keys: [] }),
      ).toThrow(RangeError);
    }
    // v4+ takes any number, none included.
    expect(body((w) => encodeFindCoordinatorRequest(w, 4, { keyType: 1, keys: [] }))).toEqual(
      bytes(0x01, 0x01, 0x00),
    );
  });

  it("refuses a transaction coordinator at v0 and unknown key types", () => {
    const w = new Writer();
    expect(() =>
      encodeFindCoordinatorRequest(w, 0, { keyType: CoordinatorType.TRANSACTION, keys: ["t"] }),
    ).toThrow(RangeError);
    const share = { keyType: 2, keys: ["g:t:0"] } as unknown as FindCoordinatorRequest;
    expect(() => encodeFindCoordinatorRequest(w, 6, share)).toThrow(RangeError);
    // Decoding: key type 2 (share, v6) and -1 are not 0 or 1.
    for (const t of [0x02, 0xff]) {
      expect(() => decodeFindCoordinatorRequest(new Reader(bytes(t, 0x01, 0x00)), 6)).toThrow(
        expect.objectContaining({ code: "INVALID_VALUE" }),
      );
    }
  });

  it("throws UNSUPPORTED_VERSION outside 0-6", () => {
    const req: FindCoordinatorRequest = { keyType: 0, keys: ["g"] };
    const res = RESPONSES[0]![3];
    for (const v of [-1, 7, 2.5]) {
      expect(() => encodeFindCoordinatorRequest(new Writer(), v, req)).toThrow(
        expect.objectContaining({ code: "UNSUPPORTED_VERSION" }),
      );
      expect(() => decodeFindCoordinatorRequest(new Reader(V4_REQUEST), v)).toThrow(ProtocolError);
      expect(() => decodeFindCoordinatorResponse(new Reader(V4_RESPONSE), v)).toThrow(
        ProtocolError,
      );
      expect(() => encodeFindCoordinatorResponse(new Writer(), v, res)).toThrow(ProtocolError);
    }
  });

  it("frames with header v1 below v3 and v2 from v3", () => {
    const req: FindCoordinatorRequest = { keyType: 1, keys: ["tx"] };
    expect(Buffer.from(findCoordinatorRequestFrame(new Writer(), 2, 7, null, req))).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x0f], // size 15
        [0x00, 0x0a, 0x00, 0x02], // FindCoordinator v2
        [0x00, 0x00, 0x00, 0x07], // correlation id 7
        [0xff, 0xff], // client id null
        [0x00, 0x02, ...ascii("tx")], // key
        0x01, // key_type
      ),
    );
    expect(Buffer.from(findCoordinatorRequestFrame(new Writer(), 3, 7, null, req))).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x10], // size 16
        [0x00, 0x0a, 0x00, 0x03], // FindCoordinator v3
        [0x00, 0x00, 0x00, 0x07],
        [0xff, 0xff],
        0x00, // header tagged fields
        [...V3_REQUEST],
      ),
    );
  });

  it("round-trips every version 0-6 with random keys", () => {
    const rnd = randomValues(10);
    for (let i = 0; i < 200; i++) {
      for (let v = FIND_COORDINATOR_VERSIONS.min; v <= FIND_COORDINATOR_VERSIONS.max; v++) {
        const req: FindCoordinatorRequest = {
          keyType: v === 0 ? CoordinatorType.GROUP : rnd.bool() ? 1 : 0,
          keys: v >= 4 ? rnd.list(5, () => rnd.string()) : [rnd.string(40)],
        };
        const r = new Reader(body((w) => encodeFindCoordinatorRequest(w, v, req)));
        expect(decodeFindCoordinatorRequest(r, v)).toEqual(req);
        expect(r.remaining).toBe(0);
      }
    }
  });
});

describe("FindCoordinator response", () => {
  it("v0, v1, v3 and v4 (hand-assembled)", () => {
    for (const [buf, v, key, res] of RESPONSES) {
      const r = new Reader(buf);
      expect(decodeFindCoordinatorResponse(r, v, key)).toEqual(res);
      expect(r.remaining).toBe(0);
      expect(body((w) => encodeFindCoordinatorResponse(w, v, res))).toEqual(buf);
    }
  });

  it("below v4 the key is the one given to the decoder, '' by default", () => {
    const res = decodeFindCoordinatorResponse(new Reader(V3_RESPONSE), 3);
    expect(res.coordinators.map((c) => c.key)).toEqual([""]);
    // The key is not on the wire below v4: any key encodes to the same bytes.
    const other = structuredClone(RESPONSES[2]![3]);
    other.coordinators[0]!.key = "something else";
    expect(body((w) => encodeFindCoordinatorResponse(w, 3, other))).toEqual(V3_RESPONSE);
    // v4+ ignores the decoder's key and reads each coordinator's own.
    expect(
      decodeFindCoordinatorResponse(new Reader(V4_RESPONSE), 4, "x").coordinators[0]!.key,
    ).toBe("ab");
  });

  it("v0 drops the throttle time and error message; v2 is v1", () => {
    const res: FindCoordinatorResponse = {
      throttleTimeMs: 100,
      coordinators: [
        { key: "", nodeId: 1, host: "h1", port: 9092, errorCode: 0, errorMessage: "m" },
      ],
    };
    expect(body((w) => encodeFindCoordinatorResponse(w, 0, res))).toEqual(V0_RESPONSE);
    const v1 = RESPONSES[1]!;
    expect(body((w) => encodeFindCoordinatorResponse(w, 2, v1[3]))).toEqual(v1[0]);
    // A null error message below v3: length -1.
    const nullMessage = structuredClone(v1[3]);
    nullMessage.coordinators[0]!.errorMessage = null;
    expect(body((w) => encodeFindCoordinatorResponse(w, 1, nullMessage)).subarray(6, 8)).toEqual(
      bytes(0xff, 0xff),
    );
  });

  it("refuses other than one coordinator below v4, naming the version", () => {
    const two = RESPONSES[3]![3];
    for (let v = 0; v < 4; v++) {
      expect(() => encodeFindCoordinatorResponse(new Writer(), v, two)).toThrow(
        `FindCoordinator v${v} `,
      );
      expect(() =>
        encodeFindCoordinatorResponse(new Writer(), v, { throttleTimeMs: 0, coordinators: [] }),
      ).toThrow(RangeError);
    }
  });

  it("skips unknown tagged fields (v3+)", () => {
    const withTag = Buffer.concat([
      V3_RESPONSE.subarray(0, V3_RESPONSE.length - 1),
      bytes(0x01, 0x05, 0x01, 0xaa), // one field: tag 5, 1 byte
    ]);
    const r = new Reader(withTag);
    expect(decodeFindCoordinatorResponse(r, 3, "tx")).toEqual(RESPONSES[2]![3]);
    expect(r.remaining).toBe(0);
  });

  it("round-trips every version 0-6 with random data", () => {
    const rnd = randomValues(11);
    for (let i = 0; i < 200; i++) {
      for (let v = FIND_COORDINATOR_VERSIONS.min; v <= FIND_COORDINATOR_VERSIONS.max; v++) {
        const key = v >= 4 ? undefined : rnd.string();
        const coordinator = () => ({
          key: key ?? rnd.string(),
          nodeId: rnd.int32(),
          host: rnd.string(30),
          port: rnd.int32(),
          errorCode: rnd.int16(),
          errorMessage: v >= 1 ? rnd.nullableString(30) : null,
        });
        const res: FindCoordinatorResponse = {
          throttleTimeMs: v >= 1 ? rnd.int32() : 0,
          coordinators: v >= 4 ? rnd.list(4, coordinator) : [coordinator()],
        };
        const r = new Reader(body((w) => encodeFindCoordinatorResponse(w, v, res)));
        expect(decodeFindCoordinatorResponse(r, v, key)).toEqual(res);
        expect(r.remaining).toBe(0);
      }
    }
  });
});

describe("FindCoordinator decoders under hostile input", () => {
  it("every truncation throws a ProtocolError", () => {
    for (const [buf, v] of RESPONSES) {
      for (let n = 0; n < buf.length; n++) {
        expect(() => decodeFindCoordinatorResponse(new Reader(buf.subarray(0, n)), v)).toThrow(
          ProtocolError,
        );
      }
    }
    for (const [buf, v] of REQUESTS) {
      for (let n = 0; n < buf.length; n++) {
        expect(() => decodeFindCoordinatorRequest(new Reader(buf.subarray(0, n)), v)).toThrow(
          ProtocolError,
        );
      }
    }
  });

  it("random bytes and mutations throw only ProtocolError", () => {
    const next = prng(10);
    for (let i = 0; i < 3000; i++) {
      const len = next() % 48;
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = next() & 0xff;
      for (let v = FIND_COORDINATOR_VERSIONS.min; v <= FIND_COORDINATOR_VERSIONS.max; v++) {
        onlyProtocolErrors(() => decodeFindCoordinatorResponse(new Reader(buf), v));
        onlyProtocolErrors(() => decodeFindCoordinatorRequest(new Reader(buf), v));
      }
    }
    for (const [buf, v] of [...RESPONSES, ...REQUESTS]) {
      for (let i = 0; i < 1000; i++) {
        const m = Buffer.from(buf);
        m[next() % m.length] = next() & 0xff;
        const cut = m.subarray(0, next() % (m.length + 1));
        onlyProtocolErrors(() => decodeFindCoordinatorResponse(new Reader(cut), v));
        onlyProtocolErrors(() => decodeFindCoordinatorRequest(new Reader(cut), v));
      }
    }
  });

  it("a huge key count does not allocate: INVALID_LENGTH", () => {
    // coordinator_keys claiming 2^32 - 2 keys in 5 bytes.
    const lie = bytes(0x00, [0xff, 0xff, 0xff, 0xff, 0x0f], 0x00);
    expect(() => decodeFindCoordinatorRequest(new Reader(lie), 4)).toThrow(
      expect.objectContaining({ code: "INVALID_LENGTH" }),
    );
  });
});
