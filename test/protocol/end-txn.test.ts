import { describe, expect, it } from "vitest";
import {
  decodeEndTxnRequest,
  decodeEndTxnResponse,
  END_TXN_VERSIONS,
  type EndTxnRequest,
  type EndTxnResponse,
  encodeEndTxnRequest,
  encodeEndTxnResponse,
  endTxnRequestFrame,
} from "../../src/protocol/end-txn.js";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { Reader } from "../../src/protocol/reader.js";
import { Writer } from "../../src/protocol/writer.js";
import { ascii, body, bytes, onlyProtocolErrors, prng } from "../helpers/bytes.js";
import { randomValues } from "./random-values.js";

// Hand-assembled from EndTxnRequest.json / EndTxnResponse.json (Kafka 4.4).
const V0_REQUEST = bytes(
  [0x00, 0x02, ...ascii("tx")], // transactional_id: STRING "tx"
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8], // producer_id 1000
  [0x00, 0x03], // producer_epoch 3
  0x01, // committed: BOOLEAN true
);
const V3_REQUEST = bytes(
  [0x03, ...ascii("tx")], // transactional_id: COMPACT_STRING "tx"
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8], // producer_id 1000
  [0x00, 0x03], // producer_epoch 3
  0x00, // committed: BOOLEAN false (abort)
  0x00, // tagged fields
);
const V5_REQUEST = bytes(
  [0x05, ...ascii("txn1")], // transactional_id: COMPACT_STRING "txn1"
  [0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00], // producer_id 2^32
  [0x7f, 0xfe], // producer_epoch 32766
  0x01, // committed: BOOLEAN true
  0x00, // tagged fields
);

const V0_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x00], // throttle_time_ms 0
  [0x00, 0x00], // error_code 0
);
const V3_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x01], // throttle_time_ms 1
  [0x00, 0x30], // error_code 48 INVALID_TXN_STATE
  0x00, // tagged fields
);
const V5_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x00], // throttle_time_ms 0
  [0x00, 0x00], // error_code 0
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8], // producer_id 1000 (v5+)
  [0x00, 0x04], // producer_epoch 4, bumped (v5+)
  0x00, // tagged fields
);
const V5_ERROR_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x00], // throttle_time_ms 0
  [0x00, 0x78], // error_code 120 TRANSACTION_ABORTABLE
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // producer_id -1 (the default)
  [0xff, 0xff], // producer_epoch -1 (the default)
  0x00, // tagged fields
);

const REQUESTS: [Buffer, number, EndTxnRequest][] = [
  [V0_REQUEST, 0, { transactionalId: "tx", producerId: 1000, producerEpoch: 3, committed: true }],
  [V3_REQUEST, 3, { transactionalId: "tx", producerId: 1000, producerEpoch: 3, committed: false }],
  [
    V5_REQUEST,
    5,
    { transactionalId: "txn1", producerId: 2 ** 32, producerEpoch: 32766, committed: true },
  ],
];
const RESPONSES: [Buffer, number, EndTxnResponse][] = [
  [V0_RESPONSE, 0, { throttleTimeMs: 0, errorCode: 0, producerId: -1, producerEpoch: -1 }],
  [V3_RESPONSE, 3, { throttleTimeMs: 1, errorCode: 48, producerId: -1, producerEpoch: -1 }],
  [V5_RESPONSE, 5, { throttleTimeMs: 0, errorCode: 0, producerId: 1000, producerEpoch: 4 }],
  [V5_ERROR_RESPONSE, 5, { throttleTimeMs: 0, errorCode: 120, producerId: -1, producerEpoch: -1 }],
];

describe("EndTxn request", () => {
  it("v0, v3 and v5 (hand-assembled)", () => {
    for (const [buf, v, req] of REQUESTS) {
      expect(body((w) => encodeEndTxnRequest(w, v, req))).toEqual(buf);
      const r = new Reader(buf);
      expect(decodeEndTxnRequest(r, v)).toEqual(req);
      expect(r.remaining).toBe(0);
    }
  });

  it("v1 and v2 are v0; v4 and v5 requests are v3", () => {
    const [v0, , req0] = REQUESTS[0]!;
    const [v3, , req3] = REQUESTS[1]!;
    for (const v of [1, 2]) expect(body((w) => encodeEndTxnRequest(w, v, req0))).toEqual(v0);
    for (const v of [4, 5]) expect(body((w) => encodeEndTxnRequest(w, v, req3))).toEqual(v3);
  });

  it("reads any non-zero committed byte as true", () => {
    const odd = Buffer.from(V0_REQUEST);
    odd[odd.length - 1] = 0x02;
    expect(decodeEndTxnRequest(new Reader(odd), 0).committed).toBe(true);
  });

  it("throws UNSUPPORTED_VERSION outside 0-5", () => {
    for (const v of [-1, 6, Number.NaN]) {
      expect(() => encodeEndTxnRequest(new Writer(), v, REQUESTS[0]![2])).toThrow(
        expect.objectContaining({ code: "UNSUPPORTED_VERSION" }),
      );
      expect(() => decodeEndTxnRequest(new Reader(V5_REQUEST), v)).toThrow(ProtocolError);
      expect(() => decodeEndTxnResponse(new Reader(V5_RESPONSE), v)).toThrow(ProtocolError);
      expect(() => encodeEndTxnResponse(new Writer(), v, RESPONSES[0]![2])).toThrow(ProtocolError);
    }
  });

  it("frames with header v1 below v3 and v2 from v3", () => {
    const [, , req] = REQUESTS[0]!;
    expect(Buffer.from(endTxnRequestFrame(new Writer(), 2, 4, null, req))).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x19], // size 25
        [0x00, 0x1a, 0x00, 0x02], // EndTxn v2
        [0x00, 0x00, 0x00, 0x04], // correlation id 4
        [0xff, 0xff], // client id null
        [...V0_REQUEST],
      ),
    );
    expect(Buffer.from(endTxnRequestFrame(new Writer(), 5, 4, null, REQUESTS[2]![2]))).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x1c], // size 28
        [0x00, 0x1a, 0x00, 0x05], // EndTxn v5
        [0x00, 0x00, 0x00, 0x04],
        [0xff, 0xff],
        0x00, // header tagged fields
        [...V5_REQUEST],
      ),
    );
  });

  it("round-trips every version 0-5 with random data", () => {
    const rnd = randomValues(26);
    for (let i = 0; i < 300; i++) {
      for (let v = END_TXN_VERSIONS.min; v <= END_TXN_VERSIONS.max; v++) {
        const req: EndTxnRequest = {
          transactionalId: rnd.string(),
          producerId: rnd.int64(),
          producerEpoch: rnd.int16(),
          committed: rnd.bool(),
        };
        const r = new Reader(body((w) => encodeEndTxnRequest(w, v, req)));
        expect(decodeEndTxnRequest(r, v)).toEqual(req);
        expect(r.remaining).toBe(0);
      }
    }
  });
});

describe("EndTxn response", () => {
  it("v0, v3 and v5 (hand-assembled)", () => {
    for (const [buf, v, res] of RESPONSES) {
      const r = new Reader(buf);
      expect(decodeEndTxnResponse(r, v)).toEqual(res);
      expect(r.remaining).toBe(0);
      expect(body((w) => encodeEndTxnResponse(w, v, res))).toEqual(buf);
    }
  });

  it("below v5 the producer id and epoch are not written and decode as -1", () => {
    const res: EndTxnResponse = {
      throttleTimeMs: 1,
      errorCode: 48,
      producerId: 9,
      producerEpoch: 9,
    };
    expect(body((w) => encodeEndTxnResponse(w, 4, res))).toEqual(V3_RESPONSE);
    expect(body((w) => encodeEndTxnResponse(w, 1, res))).toEqual(
      bytes([0x00, 0x00, 0x00, 0x01], [0x00, 0x30]),
    );
    expect(decodeEndTxnResponse(new Reader(V3_RESPONSE), 4)).toEqual({
      ...res,
      producerId: -1,
      producerEpoch: -1,
    });
    // A v4 reader given a v5 body takes the id's first byte (0) for an empty tagged-field
    // section and leaves the rest: the version decides the layout.
    const r = new Reader(V5_RESPONSE);
    expect(decodeEndTxnResponse(r, 4)).toEqual({
      ...RESPONSES[2]![2],
      producerId: -1,
      producerEpoch: -1,
    });
    expect(r.remaining).toBe(10);
  });

  it("skips unknown tagged fields (v3+)", () => {
    const withTag = bytes([...V5_RESPONSE.subarray(0, 16)], 0x01, 0x07, 0x00);
    const r = new Reader(withTag);
    expect(decodeEndTxnResponse(r, 5)).toEqual(RESPONSES[2]![2]);
    expect(r.remaining).toBe(0);
  });

  it("round-trips every version 0-5 with random data", () => {
    const rnd = randomValues(126);
    for (let i = 0; i < 300; i++) {
      for (let v = END_TXN_VERSIONS.min; v <= END_TXN_VERSIONS.max; v++) {
        const res: EndTxnResponse = {
          throttleTimeMs: rnd.int32(),
          errorCode: rnd.int16(),
          producerId: v >= 5 ? rnd.int64() : -1,
          producerEpoch: v >= 5 ? rnd.int16() : -1,
        };
        const buf = body((w) => encodeEndTxnResponse(w, v, res));
        expect(buf.length).toBe(v >= 5 ? 17 : v >= 3 ? 7 : 6);
        const r = new Reader(buf);
        expect(decodeEndTxnResponse(r, v)).toEqual(res);
        expect(r.remaining).toBe(0);
      }
    }
  });
});

describe("EndTxn decoders under hostile input", () => {
  it("every truncation throws a ProtocolError", () => {
    for (const [buf, v] of RESPONSES) {
      for (let n = 0; n < buf.length; n++) {
        expect(() => decodeEndTxnResponse(new Reader(buf.subarray(0, n)), v)).toThrow(
          ProtocolError,
        );
      }
    }
    for (const [buf, v] of REQUESTS) {
      for (let n = 0; n < buf.length; n++) {
        expect(() => decodeEndTxnRequest(new Reader(buf.subarray(0, n)), v)).toThrow(ProtocolError);
      }
    }
  });

  it("random bytes and mutations throw only ProtocolError", () => {
    const next = prng(26);
    for (let i = 0; i < 3000; i++) {
      const len = next() % 40;
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = next() & 0xff;
      for (let v = END_TXN_VERSIONS.min; v <= END_TXN_VERSIONS.max; v++) {
        onlyProtocolErrors(() => decodeEndTxnResponse(new Reader(buf), v));
        onlyProtocolErrors(() => decodeEndTxnRequest(new Reader(buf), v));
      }
    }
    for (const [buf, v] of [...RESPONSES, ...REQUESTS]) {
      for (let i = 0; i < 1000; i++) {
        const m = Buffer.from(buf);
        m[next() % m.length] = next() & 0xff;
        const cut = m.subarray(0, next() % (m.length + 1));
        onlyProtocolErrors(() => decodeEndTxnResponse(new Reader(cut), v));
        onlyProtocolErrors(() => decodeEndTxnRequest(new Reader(cut), v));
      }
    }
  });

  it("a v5 producer id beyond 2^53 is INVALID_VALUE, not rounded", () => {
    const big = Buffer.from(V5_RESPONSE);
    big.writeBigInt64BE(-(2n ** 60n), 6);
    expect(() => decodeEndTxnResponse(new Reader(big), 5)).toThrow(
      expect.objectContaining({ code: "INVALID_VALUE" }),
    );
  });
});
