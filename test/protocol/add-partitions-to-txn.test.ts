import { describe, expect, it } from "vitest";
import {
  ADD_PARTITIONS_TO_TXN_VERSIONS,
  type AddPartitionsToTxnRequest,
  type AddPartitionsToTxnResponse,
  addPartitionsToTxnRequestFrame,
  decodeAddPartitionsToTxnRequest,
  decodeAddPartitionsToTxnResponse,
  encodeAddPartitionsToTxnRequest,
  encodeAddPartitionsToTxnResponse,
} from "../../src/protocol/add-partitions-to-txn.js";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { Reader } from "../../src/protocol/reader.js";
import { Writer } from "../../src/protocol/writer.js";
import { ascii, body, bytes, onlyProtocolErrors, prng } from "../helpers/bytes.js";
import { randomValues } from "./random-values.js";

// Hand-assembled from AddPartitionsToTxnRequest.json / AddPartitionsToTxnResponse.json
// (Kafka 4.4), the V3AndBelow* fields.
const V0_REQUEST = bytes(
  [0x00, 0x02, ...ascii("tx")], // transactional_id: STRING "tx"
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8], // producer_id 1000
  [0x00, 0x05], // producer_epoch 5
  [0x00, 0x00, 0x00, 0x02], // topics: ARRAY of 2
  [0x00, 0x01, ...ascii("a")], //   name: STRING "a"
  [0x00, 0x00, 0x00, 0x02], //   partitions: ARRAY of 2
  [0x00, 0x00, 0x00, 0x00], //     0
  [0x00, 0x00, 0x00, 0x03], //     3
  [0x00, 0x02, ...ascii("bc")], //   name: STRING "bc"
  [0x00, 0x00, 0x00, 0x00], //   partitions: ARRAY of 0
);
const V3_REQUEST = bytes(
  [0x03, ...ascii("tx")], // transactional_id: COMPACT_STRING "tx"
  [0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01], // producer_id 2^32 + 1
  [0x00, 0x00], // producer_epoch 0
  0x02, // topics: COMPACT_ARRAY of 1
  [0x02, ...ascii("t")], //   name: COMPACT_STRING "t"
  0x03, //   partitions: COMPACT_ARRAY of 2
  [0x00, 0x00, 0x00, 0x01], //     1
  [0x00, 0x00, 0x00, 0x02], //     2
  0x00, //   tagged fields
  0x00, // tagged fields
);

const V0_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x00], // throttle_time_ms 0
  [0x00, 0x00, 0x00, 0x01], // results_by_topic: ARRAY of 1
  [0x00, 0x01, ...ascii("a")], //   name: STRING "a"
  [0x00, 0x00, 0x00, 0x02], //   results_by_partition: ARRAY of 2
  [0x00, 0x00, 0x00, 0x00], //     partition_index 0
  [0x00, 0x00], //     partition_error_code 0
  [0x00, 0x00, 0x00, 0x03], //     partition_index 3
  [0x00, 0x33], //     partition_error_code 51 CONCURRENT_TRANSACTIONS
);
const V3_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x0a], // throttle_time_ms 10
  0x03, // results_by_topic: COMPACT_ARRAY of 2
  [0x02, ...ascii("t")], //   name: COMPACT_STRING "t"
  0x02, //   results_by_partition: COMPACT_ARRAY of 1
  [0x00, 0x00, 0x00, 0x01], //     partition_index 1
  [0x00, 0x5a], //     partition_error_code 90 PRODUCER_FENCED
  0x00, //     tagged fields
  0x00, //   tagged fields
  [0x02, ...ascii("u")], //   name: COMPACT_STRING "u"
  0x01, //   results_by_partition: COMPACT_ARRAY of 0
  0x00, //   tagged fields
  0x00, // tagged fields
);

const REQUESTS: [Buffer, number, AddPartitionsToTxnRequest][] = [
  [
    V0_REQUEST,
    0,
    {
      transactionalId: "tx",
      producerId: 1000,
      producerEpoch: 5,
      topics: [
        { name: "a", partitions: [0, 3] },
        { name: "bc", partitions: [] },
      ],
    },
  ],
  [
    V3_REQUEST,
    3,
    {
      transactionalId: "tx",
      producerId: 2 ** 32 + 1,
      producerEpoch: 0,
      topics: [{ name: "t", partitions: [1, 2] }],
    },
  ],
];

const RESPONSES: [Buffer, number, AddPartitionsToTxnResponse][] = [
  [
    V0_RESPONSE,
    0,
    {
      throttleTimeMs: 0,
      resultsByTopic: [
        {
          name: "a",
          resultsByPartition: [
            { partitionIndex: 0, partitionErrorCode: 0 },
            { partitionIndex: 3, partitionErrorCode: 51 },
          ],
        },
      ],
    },
  ],
  [
    V3_RESPONSE,
    3,
    {
      throttleTimeMs: 10,
      resultsByTopic: [
        { name: "t", resultsByPartition: [{ partitionIndex: 1, partitionErrorCode: 90 }] },
        { name: "u", resultsByPartition: [] },
      ],
    },
  ],
];

describe("AddPartitionsToTxn request", () => {
  it("v0 and v3 (hand-assembled)", () => {
    for (const [buf, v, req] of REQUESTS) {
      expect(body((w) => encodeAddPartitionsToTxnRequest(w, v, req))).toEqual(buf);
      const r = new Reader(buf);
      expect(decodeAddPartitionsToTxnRequest(r, v)).toEqual(req);
      expect(r.remaining).toBe(0);
    }
  });

  it("v1 and v2 are v0", () => {
    const [buf, , req] = REQUESTS[0]!;
    for (const v of [1, 2]) {
      expect(body((w) => encodeAddPartitionsToTxnRequest(w, v, req))).toEqual(buf);
      expect(decodeAddPartitionsToTxnRequest(new Reader(buf), v)).toEqual(req);
    }
  });

  it("throws UNSUPPORTED_VERSION outside 0-3 (v4+ is broker to broker)", () => {
    const req = REQUESTS[1]![2];
    const res = RESPONSES[1]![2];
    for (const v of [-1, 4, 5, 0.5]) {
      expect(() => encodeAddPartitionsToTxnRequest(new Writer(), v, req)).toThrow(
        expect.objectContaining({ code: "UNSUPPORTED_VERSION" }),
      );
      expect(() => decodeAddPartitionsToTxnRequest(new Reader(V3_REQUEST), v)).toThrow(
        ProtocolError,
      );
      expect(() => decodeAddPartitionsToTxnResponse(new Reader(V3_RESPONSE), v)).toThrow(
        ProtocolError,
      );
      expect(() => encodeAddPartitionsToTxnResponse(new Writer(), v, res)).toThrow(ProtocolError);
    }
  });

  it("frames with header v1 below v3 and v2 at v3", () => {
    const req: AddPartitionsToTxnRequest = {
      transactionalId: "",
      producerId: 1,
      producerEpoch: 2,
      topics: [],
    };
    expect(Buffer.from(addPartitionsToTxnRequestFrame(new Writer(), 2, 3, "c", req))).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x1b], // size 27
        [0x00, 0x18, 0x00, 0x02], // AddPartitionsToTxn v2
        [0x00, 0x00, 0x00, 0x03], // correlation id 3
        [0x00, 0x01, ...ascii("c")], // client id "c"
        [0x00, 0x00], // transactional_id ""
        [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01], // producer_id 1
        [0x00, 0x02], // producer_epoch 2
        [0x00, 0x00, 0x00, 0x00], // topics: ARRAY of 0
      ),
    );
    expect(Buffer.from(addPartitionsToTxnRequestFrame(new Writer(), 3, 3, "c", req))).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x19], // size 25
        [0x00, 0x18, 0x00, 0x03], // AddPartitionsToTxn v3
        [0x00, 0x00, 0x00, 0x03],
        [0x00, 0x01, ...ascii("c")], // client id: still a NULLABLE_STRING
        0x00, // header tagged fields
        0x01, // transactional_id: COMPACT_STRING ""
        [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01],
        [0x00, 0x02],
        0x01, // topics: COMPACT_ARRAY of 0
        0x00, // tagged fields
      ),
    );
  });

  it("round-trips every version 0-3 with random data", () => {
    const rnd = randomValues(24);
    for (let i = 0; i < 200; i++) {
      for (
        let v = ADD_PARTITIONS_TO_TXN_VERSIONS.min;
        v <= ADD_PARTITIONS_TO_TXN_VERSIONS.max;
        v++
      ) {
        const req: AddPartitionsToTxnRequest = {
          transactionalId: rnd.string(),
          producerId: rnd.int64(),
          producerEpoch: rnd.int16(),
          topics: rnd.list(4, () => ({
            name: rnd.string(),
            partitions: rnd.list(6, () => rnd.int32()),
          })),
        };
        const r = new Reader(body((w) => encodeAddPartitionsToTxnRequest(w, v, req)));
        expect(decodeAddPartitionsToTxnRequest(r, v)).toEqual(req);
        expect(r.remaining).toBe(0);
      }
    }
  });
});

describe("AddPartitionsToTxn response", () => {
  it("v0 and v3 (hand-assembled)", () => {
    for (const [buf, v, res] of RESPONSES) {
      const r = new Reader(buf);
      expect(decodeAddPartitionsToTxnResponse(r, v)).toEqual(res);
      expect(r.remaining).toBe(0);
      expect(body((w) => encodeAddPartitionsToTxnResponse(w, v, res))).toEqual(buf);
    }
  });

  it("skips unknown tagged fields at every level (v3)", () => {
    const tag = [0x01, 0x02, 0x01, 0xee]; // one field: tag 2, 1 byte
    const withTags = bytes(
      [0x00, 0x00, 0x00, 0x0a],
      0x03,
      [0x02, ...ascii("t")],
      0x02,
      [0x00, 0x00, 0x00, 0x01],
      [0x00, 0x5a],
      tag, // partition
      tag, // topic
      [0x02, ...ascii("u")],
      0x01,
      0x00,
      tag, // response
    );
    const r = new Reader(withTags);
    expect(decodeAddPartitionsToTxnResponse(r, 3)).toEqual(RESPONSES[1]![2]);
    expect(r.remaining).toBe(0);
  });

  it("round-trips every version 0-3 with random data", () => {
    const rnd = randomValues(124);
    for (let i = 0; i < 200; i++) {
      for (
        let v = ADD_PARTITIONS_TO_TXN_VERSIONS.min;
        v <= ADD_PARTITIONS_TO_TXN_VERSIONS.max;
        v++
      ) {
        const res: AddPartitionsToTxnResponse = {
          throttleTimeMs: rnd.int32(),
          resultsByTopic: rnd.list(4, () => ({
            name: rnd.string(),
            resultsByPartition: rnd.list(5, () => ({
              partitionIndex: rnd.int32(),
              partitionErrorCode: rnd.int16(),
            })),
          })),
        };
        const r = new Reader(body((w) => encodeAddPartitionsToTxnResponse(w, v, res)));
        expect(decodeAddPartitionsToTxnResponse(r, v)).toEqual(res);
        expect(r.remaining).toBe(0);
      }
    }
  });
});

describe("AddPartitionsToTxn decoders under hostile input", () => {
  it("every truncation throws a ProtocolError", () => {
    for (const [buf, v] of RESPONSES) {
      for (let n = 0; n < buf.length; n++) {
        expect(() => decodeAddPartitionsToTxnResponse(new Reader(buf.subarray(0, n)), v)).toThrow(
          ProtocolError,
        );
      }
    }
    for (const [buf, v] of REQUESTS) {
      for (let n = 0; n < buf.length; n++) {
        expect(() => decodeAddPartitionsToTxnRequest(new Reader(buf.subarray(0, n)), v)).toThrow(
          ProtocolError,
        );
      }
    }
  });

  it("random bytes and mutations throw only ProtocolError", () => {
    const next = prng(24);
    for (let i = 0; i < 3000; i++) {
      const len = next() % 64;
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = next() & 0xff;
      for (
        let v = ADD_PARTITIONS_TO_TXN_VERSIONS.min;
        v <= ADD_PARTITIONS_TO_TXN_VERSIONS.max;
        v++
      ) {
        onlyProtocolErrors(() => decodeAddPartitionsToTxnResponse(new Reader(buf), v));
        onlyProtocolErrors(() => decodeAddPartitionsToTxnRequest(new Reader(buf), v));
      }
    }
    for (const [buf, v] of [...RESPONSES, ...REQUESTS]) {
      for (let i = 0; i < 1000; i++) {
        const m = Buffer.from(buf);
        m[next() % m.length] = next() & 0xff;
        const cut = m.subarray(0, next() % (m.length + 1));
        onlyProtocolErrors(() => decodeAddPartitionsToTxnResponse(new Reader(cut), v));
        onlyProtocolErrors(() => decodeAddPartitionsToTxnRequest(new Reader(cut), v));
      }
    }
  });

  it("lying counts throw INVALID_LENGTH before allocating", () => {
    // results_by_topic: ARRAY claiming 2^31 - 1 topics.
    const v0 = bytes([0x00, 0x00, 0x00, 0x00], [0x7f, 0xff, 0xff, 0xff]);
    expect(() => decodeAddPartitionsToTxnResponse(new Reader(v0), 0)).toThrow(
      expect.objectContaining({ code: "INVALID_LENGTH" }),
    );
    // A null topic list (-1) is not allowed either.
    const nullTopics = bytes([0x00, 0x00, 0x00, 0x00], [0xff, 0xff, 0xff, 0xff]);
    expect(() => decodeAddPartitionsToTxnResponse(new Reader(nullTopics), 1)).toThrow(
      expect.objectContaining({ code: "INVALID_LENGTH" }),
    );
    // partitions: COMPACT_ARRAY claiming 2^28 - 2 entries.
    const v3 = bytes([0x01], Array(10).fill(0), 0x02, [0x02, 0x74], [0xff, 0xff, 0xff, 0x7f]);
    expect(() => decodeAddPartitionsToTxnRequest(new Reader(v3), 3)).toThrow(
      expect.objectContaining({ code: "INVALID_LENGTH" }),
    );
  });
});
