import { describe, expect, it } from "vitest";
import {
  decodeInitProducerIdRequest,
  decodeInitProducerIdResponse,
  encodeInitProducerIdRequest,
  encodeInitProducerIdResponse,
  INIT_PRODUCER_ID_VERSIONS,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
  initProducerIdRequestFrame,
} from "../../src/protocol/init-producer-id.js";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { Reader } from "../../src/protocol/reader.js";
import { Writer } from "../../src/protocol/writer.js";
import { ascii, body, bytes, onlyProtocolErrors, prng } from "../helpers/bytes.js";

const NEW_ID: InitProducerIdRequest = {
  transactionalId: null,
  transactionTimeoutMs: 60000,
  producerId: -1,
  producerEpoch: -1,
};

// Hand-assembled from InitProducerIdRequest.json / InitProducerIdResponse.json.
const V0_REQUEST = bytes(
  [0x00, 0x03, ...ascii("txn")], // transactional_id: NULLABLE_STRING "txn"
  [0x00, 0x00, 0xea, 0x60], // transaction_timeout_ms 60000
);
const V2_REQUEST = bytes(
  0x00, // transactional_id: COMPACT_NULLABLE_STRING null
  [0x00, 0x00, 0xea, 0x60], // transaction_timeout_ms 60000
  0x00, // tagged fields
);
const V4_REQUEST = bytes(
  [0x03, ...ascii("tx")], // transactional_id: COMPACT_NULLABLE_STRING "tx"
  [0x00, 0x00, 0x27, 0x10], // transaction_timeout_ms 10000
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xd2], // producer_id 1234
  [0x00, 0x07], // producer_epoch 7
  0x00, // tagged fields
);
const V0_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x00], // throttle_time_ms 0
  [0x00, 0x00], // error_code 0
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8], // producer_id 1000
  [0x00, 0x00], // producer_epoch 0
);
const V2_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x05], // throttle_time_ms 5
  [0x00, 0x00], // error_code 0
  [0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02], // producer_id 2^32 + 2
  [0x00, 0x03], // producer_epoch 3
  0x00, // tagged fields
);
const V4_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x00], // throttle_time_ms 0
  [0x00, 0x2f], // error_code 47 INVALID_PRODUCER_EPOCH
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // producer_id -1
  [0xff, 0xff], // producer_epoch -1
  0x00, // tagged fields
);

describe("InitProducerId request", () => {
  it("v0: nullable string and timeout (hand-assembled)", () => {
    const req = { ...NEW_ID, transactionalId: "txn" };
    expect(body((w) => encodeInitProducerIdRequest(w, 0, req))).toEqual(V0_REQUEST);
    expect(decodeInitProducerIdRequest(new Reader(V0_REQUEST), 0)).toEqual(req);
    // null transactional id: length -1.
    expect(body((w) => encodeInitProducerIdRequest(w, 1, NEW_ID))).toEqual(
      bytes([0xff, 0xff], [0x00, 0x00, 0xea, 0x60]),
    );
  });

  it("v2 is flexible (hand-assembled)", () => {
    expect(body((w) => encodeInitProducerIdRequest(w, 2, NEW_ID))).toEqual(V2_REQUEST);
    const r = new Reader(V2_REQUEST);
    expect(decodeInitProducerIdRequest(r, 2)).toEqual(NEW_ID);
    expect(r.remaining).toBe(0);
  });

  it("v4 carries the producer id and epoch (hand-assembled)", () => {
    const req: InitProducerIdRequest = {
      transactionalId: "tx",
      transactionTimeoutMs: 10000,
      producerId: 1234,
      producerEpoch: 7,
    };
    expect(body((w) => encodeInitProducerIdRequest(w, 4, req))).toEqual(V4_REQUEST);
    const r = new Reader(V4_REQUEST);
    expect(decodeInitProducerIdRequest(r, 4)).toEqual(req);
    expect(r.remaining).toBe(0);
    // -1 and -1 ask for a new id: eight and two 0xff bytes.
    expect(body((w) => encodeInitProducerIdRequest(w, 3, NEW_ID))).toEqual(
      bytes(0x00, [0x00, 0x00, 0xea, 0x60], Array(10).fill(0xff), 0x00),
    );
  });

  it("refuses a producer id or epoch below v3, where the fields do not exist", () => {
    const w = new Writer();
    for (let v = 0; v < 3; v++) {
      expect(() => encodeInitProducerIdRequest(w, v, { ...NEW_ID, producerId: 1000 })).toThrow(
        RangeError,
      );
      expect(() => encodeInitProducerIdRequest(w, v, { ...NEW_ID, producerEpoch: 0 })).toThrow(
        RangeError,
      );
      expect(() => encodeInitProducerIdRequest(w, v, NEW_ID)).not.toThrow();
    }
    expect(() =>
      encodeInitProducerIdRequest(w, 3, { ...NEW_ID, producerId: 1000, producerEpoch: 0 }),
    ).not.toThrow();
  });

  it("throws UNSUPPORTED_VERSION outside 0-5", () => {
    for (const v of [-1, 6, 1.5]) {
      const r = new Reader(V4_REQUEST);
      expect(() => encodeInitProducerIdRequest(new Writer(), v, NEW_ID)).toThrow(
        expect.objectContaining({ code: "UNSUPPORTED_VERSION" }),
      );
      expect(() => decodeInitProducerIdRequest(r, v)).toThrow(ProtocolError);
      expect(() => decodeInitProducerIdResponse(r, v)).toThrow(ProtocolError);
      expect(() =>
        encodeInitProducerIdResponse(new Writer(), v, {
          throttleTimeMs: 0,
          errorCode: 0,
          producerId: 1,
          producerEpoch: 0,
        }),
      ).toThrow(ProtocolError);
    }
  });

  it("frames with header v1 below v2 and v2 from v2", () => {
    const v1 = Buffer.from(initProducerIdRequestFrame(new Writer(), 1, 9, null, NEW_ID));
    expect(v1).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x10], // size 16
        [0x00, 0x16, 0x00, 0x01], // InitProducerId v1
        [0x00, 0x00, 0x00, 0x09], // correlation id
        [0xff, 0xff], // client id null
        [0xff, 0xff, 0x00, 0x00, 0xea, 0x60], // body
      ),
    );
    const v2 = Buffer.from(initProducerIdRequestFrame(new Writer(), 2, 9, null, NEW_ID));
    expect(v2).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x11], // size 17
        [0x00, 0x16, 0x00, 0x02], // InitProducerId v2
        [0x00, 0x00, 0x00, 0x09],
        [0xff, 0xff],
        0x00, // header tagged fields
        [...V2_REQUEST],
      ),
    );
  });

  it("round-trips every version 0-5", () => {
    for (let v = INIT_PRODUCER_ID_VERSIONS.min; v <= INIT_PRODUCER_ID_VERSIONS.max; v++) {
      for (const transactionalId of [null, "", "my-txn", "ключ"]) {
        const req: InitProducerIdRequest = {
          transactionalId,
          transactionTimeoutMs: 2 ** 31 - 1,
          producerId: v >= 3 ? 2 ** 53 - 1 : -1,
          producerEpoch: v >= 3 ? 32767 : -1,
        };
        const r = new Reader(body((w) => encodeInitProducerIdRequest(w, v, req)));
        expect(decodeInitProducerIdRequest(r, v)).toEqual(req);
        expect(r.remaining).toBe(0);
      }
    }
  });
});

describe("InitProducerId response", () => {
  it("decodes v0, v2 and v4 (hand-assembled)", () => {
    const cases: [Buffer, number, InitProducerIdResponse][] = [
      [V0_RESPONSE, 0, { throttleTimeMs: 0, errorCode: 0, producerId: 1000, producerEpoch: 0 }],
      [
        V2_RESPONSE,
        2,
        { throttleTimeMs: 5, errorCode: 0, producerId: 2 ** 32 + 2, producerEpoch: 3 },
      ],
      [V4_RESPONSE, 4, { throttleTimeMs: 0, errorCode: 47, producerId: -1, producerEpoch: -1 }],
    ];
    for (const [buf, v, expected] of cases) {
      const r = new Reader(buf);
      expect(decodeInitProducerIdResponse(r, v)).toEqual(expected);
      expect(r.remaining).toBe(0);
      expect(body((w) => encodeInitProducerIdResponse(w, v, expected))).toEqual(buf);
    }
  });

  it("round-trips every version 0-5", () => {
    const res: InitProducerIdResponse = {
      throttleTimeMs: 100,
      errorCode: 90,
      producerId: 2 ** 53 - 1,
      producerEpoch: -2,
    };
    for (let v = INIT_PRODUCER_ID_VERSIONS.min; v <= INIT_PRODUCER_ID_VERSIONS.max; v++) {
      const buf = body((w) => encodeInitProducerIdResponse(w, v, res));
      expect(buf.length).toBe(v >= 2 ? 17 : 16);
      const r = new Reader(buf);
      expect(decodeInitProducerIdResponse(r, v)).toEqual(res);
      expect(r.remaining).toBe(0);
    }
  });

  it("skips unknown tagged fields (v2+)", () => {
    const withTag = Buffer.concat([
      V2_RESPONSE.subarray(0, V2_RESPONSE.length - 1),
      bytes(0x01, 0x09, 0x02, 0xaa, 0xbb), // one field: tag 9, 2 bytes
    ]);
    const r = new Reader(withTag);
    expect(decodeInitProducerIdResponse(r, 2)).toEqual(
      decodeInitProducerIdResponse(new Reader(V2_RESPONSE), 2),
    );
    expect(r.remaining).toBe(0);
  });

  it("rejects a producer id beyond 2^53 instead of rounding it", () => {
    const big = Buffer.from(V0_RESPONSE);
    big.writeBigInt64BE(2n ** 53n, 6);
    expect(() => decodeInitProducerIdResponse(new Reader(big), 0)).toThrow(
      expect.objectContaining({ code: "INVALID_VALUE" }),
    );
    const req = Buffer.from(V4_REQUEST);
    req.writeBigInt64BE(-(2n ** 62n), 7);
    expect(() => decodeInitProducerIdRequest(new Reader(req), 4)).toThrow(ProtocolError);
  });
});

describe("InitProducerId decoders under hostile input", () => {
  const responses: [Buffer, number][] = [
    [V0_RESPONSE, 0],
    [V2_RESPONSE, 2],
    [V4_RESPONSE, 4],
  ];
  const requests: [Buffer, number][] = [
    [V0_REQUEST, 0],
    [V2_REQUEST, 2],
    [V4_REQUEST, 4],
  ];

  it("every truncation throws a ProtocolError", () => {
    for (const [buf, v] of responses) {
      for (let n = 0; n < buf.length; n++) {
        expect(() => decodeInitProducerIdResponse(new Reader(buf.subarray(0, n)), v)).toThrow(
          ProtocolError,
        );
      }
    }
    for (const [buf, v] of requests) {
      for (let n = 0; n < buf.length; n++) {
        expect(() => decodeInitProducerIdRequest(new Reader(buf.subarray(0, n)), v)).toThrow(
          ProtocolError,
        );
      }
    }
  });

  it("random bytes and mutations throw only ProtocolError", () => {
    const next = prng(22);
    for (let i = 0; i < 2000; i++) {
      const len = next() % 40;
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = next() & 0xff;
      for (let v = INIT_PRODUCER_ID_VERSIONS.min; v <= INIT_PRODUCER_ID_VERSIONS.max; v++) {
        onlyProtocolErrors(() => decodeInitProducerIdResponse(new Reader(buf), v));
        onlyProtocolErrors(() => decodeInitProducerIdRequest(new Reader(buf), v));
      }
    }
    for (const [buf, v] of [...responses, ...requests]) {
      for (let i = 0; i < 500; i++) {
        const m = Buffer.from(buf);
        m[next() % m.length] = next() & 0xff;
        onlyProtocolErrors(() => decodeInitProducerIdResponse(new Reader(m), v));
        onlyProtocolErrors(() => decodeInitProducerIdRequest(new Reader(m), v));
      }
    }
  });
});
