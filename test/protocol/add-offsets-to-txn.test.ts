import { describe, expect, it } from "vitest";
import {
  ADD_OFFSETS_TO_TXN_VERSIONS,
  type AddOffsetsToTxnRequest,
  type AddOffsetsToTxnResponse,
  addOffsetsToTxnRequestFrame,
  decodeAddOffsetsToTxnRequest,
  decodeAddOffsetsToTxnResponse,
  encodeAddOffsetsToTxnRequest,
  encodeAddOffsetsToTxnResponse,
} from "../../src/protocol/add-offsets-to-txn.js";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { Reader } from "../../src/protocol/reader.js";
import { Writer } from "../../src/protocol/writer.js";
import { ascii, body, bytes, onlyProtocolErrors, prng } from "../helpers/bytes.js";
import { randomValues } from "./random-values.js";

// Hand-assembled from AddOffsetsToTxnRequest.json / AddOffsetsToTxnResponse.json (Kafka 4.4).
const V0_REQUEST = bytes(
  [0x00, 0x02, ...ascii("tx")], // transactional_id: STRING "tx"
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07], // producer_id 7
  [0x00, 0x01], // producer_epoch 1
  [0x00, 0x02, ...ascii("g1")], // group_id: STRING "g1"
);
const V3_REQUEST = bytes(
  [0x03, ...ascii("tx")], // transactional_id: COMPACT_STRING "tx"
  [0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00], // producer_id 2^40
  [0x7f, 0xff], // producer_epoch 32767
  [0x04, ...ascii("grp")], // group_id: COMPACT_STRING "grp"
  0x00, // tagged fields
);
const V0_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x00], // throttle_time_ms 0
  [0x00, 0x35], // error_code 53 TRANSACTIONAL_ID_AUTHORIZATION_FAILED
);
const V3_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x14], // throttle_time_ms 20
  [0x00, 0x5a], // error_code 90 PRODUCER_FENCED
  0x00, // tagged fields
);

const REQUESTS: [Buffer, number, AddOffsetsToTxnRequest][] = [
  [V0_REQUEST, 0, { transactionalId: "tx", producerId: 7, producerEpoch: 1, groupId: "g1" }],
  [
    V3_REQUEST,
    3,
    { transactionalId: "tx", producerId: 2 ** 40, producerEpoch: 32767, groupId: "grp" },
  ],
];
const RESPONSES: [Buffer, number, AddOffsetsToTxnResponse][] = [
  [V0_RESPONSE, 0, { throttleTimeMs: 0, errorCode: 53 }],
  [V3_RESPONSE, 3, { throttleTimeMs: 20, errorCode: 90 }],
];

describe("AddOffsetsToTxn request", () => {
  it("v0 and v3 (hand-assembled)", () => {
    for (const [buf, v, req] of REQUESTS) {
      expect(body((w) => encodeAddOffsetsToTxnRequest(w, v, req))).toEqual(buf);
      const r = new Reader(buf);
      expect(decodeAddOffsetsToTxnRequest(r, v)).toEqual(req);
      expect(r.remaining).toBe(0);
    }
  });

  it("v1 and v2 are v0, v4 is v3", () => {
    for (const [from, to] of [
      [0, 1],
      [0, 2],
      [1, 4],
    ] as const) {
      const [buf, , req] = REQUESTS[from]!;
      expect(body((w) => encodeAddOffsetsToTxnRequest(w, to, req))).toEqual(buf);
      expect(decodeAddOffsetsToTxnRequest(new Reader(buf), to)).toEqual(req);
      const [resBuf, , res] = RESPONSES[from]!;
      expect(body((w) => encodeAddOffsetsToTxnResponse(w, to, res))).toEqual(resBuf);
      expect(decodeAddOffsetsToTxnResponse(new Reader(resBuf), to)).toEqual(res);
    }
  });

  it("throws UNSUPPORTED_VERSION outside 0-4", () => {
    for (const v of [-1, 5, 3.5]) {
      expect(() => encodeAddOffsetsToTxnRequest(new Writer(), v, REQUESTS[0]![2])).toThrow(
        expect.objectContaining({ code: "UNSUPPORTED_VERSION" }),
      );
      expect(() => decodeAddOffsetsToTxnRequest(new Reader(V3_REQUEST), v)).toThrow(ProtocolError);
      expect(() => decodeAddOffsetsToTxnResponse(new Reader(V3_RESPONSE), v)).toThrow(
        ProtocolError,
      );
      expect(() => encodeAddOffsetsToTxnResponse(new Writer(), v, RESPONSES[0]![2])).toThrow(
        ProtocolError,
      );
    }
  });

  it("frames with header v2 from v3", () => {
    const [, , req] = REQUESTS[1]!;
    expect(Buffer.from(addOffsetsToTxnRequestFrame(new Writer(), 3, 1, null, req))).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x1d], // size 29
        [0x00, 0x19, 0x00, 0x03], // AddOffsetsToTxn v3
        [0x00, 0x00, 0x00, 0x01], // correlation id 1
        [0xff, 0xff], // client id null
        0x00, // header tagged fields
        [...V3_REQUEST],
      ),
    );
  });

  it("round-trips every version 0-4 with random data", () => {
    const rnd = randomValues(25);
    for (let i = 0; i < 300; i++) {
      for (let v = ADD_OFFSETS_TO_TXN_VERSIONS.min; v <= ADD_OFFSETS_TO_TXN_VERSIONS.max; v++) {
        const req: AddOffsetsToTxnRequest = {
          transactionalId: rnd.string(),
          producerId: rnd.int64(),
          producerEpoch: rnd.int16(),
          groupId: rnd.string(),
        };
        const r = new Reader(body((w) => encodeAddOffsetsToTxnRequest(w, v, req)));
        expect(decodeAddOffsetsToTxnRequest(r, v)).toEqual(req);
        expect(r.remaining).toBe(0);
        const res: AddOffsetsToTxnResponse = {
          throttleTimeMs: rnd.int32(),
          errorCode: rnd.int16(),
        };
        const rr = new Reader(body((w) => encodeAddOffsetsToTxnResponse(w, v, res)));
        expect(decodeAddOffsetsToTxnResponse(rr, v)).toEqual(res);
        expect(rr.remaining).toBe(0);
      }
    }
  });
});

describe("AddOffsetsToTxn response", () => {
  it("v0 and v3 (hand-assembled)", () => {
    for (const [buf, v, res] of RESPONSES) {
      const r = new Reader(buf);
      expect(decodeAddOffsetsToTxnResponse(r, v)).toEqual(res);
      expect(r.remaining).toBe(0);
      expect(body((w) => encodeAddOffsetsToTxnResponse(w, v, res))).toEqual(buf);
    }
  });

  it("skips unknown tagged fields (v3+)", () => {
    const withTag = bytes([...V3_RESPONSE.subarray(0, 6)], 0x01, 0x00, 0x02, 0x12, 0x34);
    const r = new Reader(withTag);
    expect(decodeAddOffsetsToTxnResponse(r, 4)).toEqual(RESPONSES[1]![2]);
    expect(r.remaining).toBe(0);
  });
});

describe("AddOffsetsToTxn decoders under hostile input", () => {
  it("every truncation throws a ProtocolError", () => {
    for (const [buf, v] of RESPONSES) {
      for (let n = 0; n < buf.length; n++) {
        expect(() => decodeAddOffsetsToTxnResponse(new Reader(buf.subarray(0, n)), v)).toThrow(
          ProtocolError,
        );
      }
    }
    for (const [buf, v] of REQUESTS) {
      for (let n = 0; n < buf.length; n++) {
        expect(() => decodeAddOffsetsToTxnRequest(new Reader(buf.subarray(0, n)), v)).toThrow(
          ProtocolError,
        );
      }
    }
  });

  it("random bytes and mutations throw only ProtocolError", () => {
    const next = prng(25);
    for (let i = 0; i < 3000; i++) {
      const len = next() % 40;
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = next() & 0xff;
      for (let v = ADD_OFFSETS_TO_TXN_VERSIONS.min; v <= ADD_OFFSETS_TO_TXN_VERSIONS.max; v++) {
        onlyProtocolErrors(() => decodeAddOffsetsToTxnResponse(new Reader(buf), v));
        onlyProtocolErrors(() => decodeAddOffsetsToTxnRequest(new Reader(buf), v));
      }
    }
    for (const [buf, v] of [...RESPONSES, ...REQUESTS]) {
      for (let i = 0; i < 1000; i++) {
        const m = Buffer.from(buf);
        m[next() % m.length] = next() & 0xff;
        const cut = m.subarray(0, next() % (m.length + 1));
        onlyProtocolErrors(() => decodeAddOffsetsToTxnResponse(new Reader(cut), v));
        onlyProtocolErrors(() => decodeAddOffsetsToTxnRequest(new Reader(cut), v));
      }
    }
  });

  it("a producer id beyond 2^53 is INVALID_VALUE, not rounded", () => {
    const big = Buffer.from(V0_REQUEST);
    big.writeBigInt64BE(2n ** 53n, 4);
    expect(() => decodeAddOffsetsToTxnRequest(new Reader(big), 0)).toThrow(
      expect.objectContaining({ code: "INVALID_VALUE" }),
    );
  });
});
