import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { Reader } from "../../src/protocol/reader.js";
import {
  decodeTxnOffsetCommitRequest,
  decodeTxnOffsetCommitResponse,
  encodeTxnOffsetCommitRequest,
  encodeTxnOffsetCommitResponse,
  TXN_OFFSET_COMMIT_VERSIONS,
  type TxnOffsetCommitRequest,
  type TxnOffsetCommitResponse,
  txnOffsetCommitRequestFrame,
} from "../../src/protocol/txn-offset-commit.js";
import { Writer } from "../../src/protocol/writer.js";
import { ascii, body, bytes, onlyProtocolErrors, prng } from "../helpers/bytes.js";
import { randomValues } from "./random-values.js";

// Hand-assembled from TxnOffsetCommitRequest.json / TxnOffsetCommitResponse.json (Kafka 4.4).
const V0_REQUEST = bytes(
  [0x00, 0x02, ...ascii("tx")], // transactional_id: STRING "tx"
  [0x00, 0x01, ...ascii("g")], // group_id: STRING "g"
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8], // producer_id 1000
  [0x00, 0x02], // producer_epoch 2
  [0x00, 0x00, 0x00, 0x01], // topics: ARRAY of 1
  [0x00, 0x01, ...ascii("t")], //   name: STRING "t"
  [0x00, 0x00, 0x00, 0x02], //   partitions: ARRAY of 2
  [0x00, 0x00, 0x00, 0x00], //     partition_index 0
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a], //     committed_offset 42
  [0xff, 0xff], //     committed_metadata: NULLABLE_STRING null
  [0x00, 0x00, 0x00, 0x01], //     partition_index 1
  [0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00], //     committed_offset 2^32
  [0x00, 0x01, ...ascii("m")], //     committed_metadata: NULLABLE_STRING "m"
);
const V2_REQUEST = bytes(
  [0x00, 0x02, ...ascii("tx")], // transactional_id: STRING "tx"
  [0x00, 0x01, ...ascii("g")], // group_id: STRING "g"
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8], // producer_id 1000
  [0x00, 0x02], // producer_epoch 2
  [0x00, 0x00, 0x00, 0x01], // topics: ARRAY of 1
  [0x00, 0x01, ...ascii("t")], //   name: STRING "t"
  [0x00, 0x00, 0x00, 0x01], //   partitions: ARRAY of 1
  [0x00, 0x00, 0x00, 0x00], //     partition_index 0
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a], //     committed_offset 42
  [0x00, 0x00, 0x00, 0x07], //     committed_leader_epoch 7 (v2+)
  [0x00, 0x00], //     committed_metadata: NULLABLE_STRING ""
);
const V3_REQUEST = bytes(
  [0x03, ...ascii("tx")], // transactional_id: COMPACT_STRING "tx"
  [0x02, ...ascii("g")], // group_id: COMPACT_STRING "g"
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8], // producer_id 1000
  [0x00, 0x02], // producer_epoch 2
  [0x00, 0x00, 0x00, 0x05], // generation_id_or_member_epoch 5 (v3+)
  [0x03, ...ascii("m1")], // member_id: COMPACT_STRING "m1" (v3+)
  [0x02, ...ascii("i")], // group_instance_id: COMPACT_NULLABLE_STRING "i" (v3+)
  0x02, // topics: COMPACT_ARRAY of 1
  [0x02, ...ascii("t")], //   name: COMPACT_STRING "t"
  0x02, //   partitions: COMPACT_ARRAY of 1
  [0x00, 0x00, 0x00, 0x03], //     partition_index 3
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64], //     committed_offset 100
  [0xff, 0xff, 0xff, 0xff], //     committed_leader_epoch -1
  0x00, //     committed_metadata: COMPACT_NULLABLE_STRING null
  0x00, //     tagged fields
  0x00, //   tagged fields
  0x00, // tagged fields
);

const V0_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x00], // throttle_time_ms 0
  [0x00, 0x00, 0x00, 0x01], // topics: ARRAY of 1
  [0x00, 0x01, ...ascii("t")], //   name: STRING "t"
  [0x00, 0x00, 0x00, 0x02], //   partitions: ARRAY of 2
  [0x00, 0x00, 0x00, 0x00], //     partition_index 0
  [0x00, 0x00], //     error_code 0
  [0x00, 0x00, 0x00, 0x01], //     partition_index 1
  [0x00, 0x1e], //     error_code 30 GROUP_AUTHORIZATION_FAILED
);
const V3_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x0a], // throttle_time_ms 10
  0x02, // topics: COMPACT_ARRAY of 1
  [0x02, ...ascii("t")], //   name: COMPACT_STRING "t"
  0x02, //   partitions: COMPACT_ARRAY of 1
  [0x00, 0x00, 0x00, 0x03], //     partition_index 3
  [0x00, 0x16], //     error_code 22 ILLEGAL_GENERATION
  0x00, //     tagged fields
  0x00, //   tagged fields
  0x00, // tagged fields
);

const NO_GROUP_METADATA = { generationIdOrMemberEpoch: -1, memberId: "", groupInstanceId: null };

const REQUESTS: [Buffer, number, TxnOffsetCommitRequest][] = [
  [
    V0_REQUEST,
    0,
    {
      transactionalId: "tx",
      groupId: "g",
      producerId: 1000,
      producerEpoch: 2,
      ...NO_GROUP_METADATA,
      topics: [
        {
          name: "t",
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 42,
              committedLeaderEpoch: -1,
              committedMetadata: null,
            },
            {
              partitionIndex: 1,
              committedOffset: 2 ** 32,
              committedLeaderEpoch: -1,
              committedMetadata: "m",
            },
          ],
        },
      ],
    },
  ],
  [
    V2_REQUEST,
    2,
    {
      transactionalId: "tx",
      groupId: "g",
      producerId: 1000,
      producerEpoch: 2,
      ...NO_GROUP_METADATA,
      topics: [
        {
          name: "t",
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 42,
              committedLeaderEpoch: 7,
              committedMetadata: "",
            },
          ],
        },
      ],
    },
  ],
  [
    V3_REQUEST,
    3,
    {
      transactionalId: "tx",
      groupId: "g",
      producerId: 1000,
      producerEpoch: 2,
      generationIdOrMemberEpoch: 5,
      memberId: "m1",
      groupInstanceId: "i",
      topics: [
        {
          name: "t",
          partitions: [
            {
              partitionIndex: 3,
              committedOffset: 100,
              committedLeaderEpoch: -1,
              committedMetadata: null,
            },
          ],
        },
      ],
    },
  ],
];

const RESPONSES: [Buffer, number, TxnOffsetCommitResponse][] = [
  [
    V0_RESPONSE,
    0,
    {
      throttleTimeMs: 0,
      topics: [
        {
          name: "t",
          partitions: [
            { partitionIndex: 0, errorCode: 0 },
            { partitionIndex: 1, errorCode: 30 },
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
      topics: [{ name: "t", partitions: [{ partitionIndex: 3, errorCode: 22 }] }],
    },
  ],
];

describe("TxnOffsetCommit request", () => {
  it("v0, v2 and v3 (hand-assembled)", () => {
    for (const [buf, v, req] of REQUESTS) {
      expect(body((w) => encodeTxnOffsetCommitRequest(w, v, req))).toEqual(buf);
      const r = new Reader(buf);
      expect(decodeTxnOffsetCommitRequest(r, v)).toEqual(req);
      expect(r.remaining).toBe(0);
    }
  });

  it("v1 is v0; v4 and v5 are v3", () => {
    const [v0, , req0] = REQUESTS[0]!;
    expect(body((w) => encodeTxnOffsetCommitRequest(w, 1, req0))).toEqual(v0);
    const [v3, , req3] = REQUESTS[2]!;
    for (const v of [4, 5]) {
      expect(body((w) => encodeTxnOffsetCommitRequest(w, v, req3))).toEqual(v3);
      expect(decodeTxnOffsetCommitRequest(new Reader(v3), v)).toEqual(req3);
    }
  });

  it("below v2 the leader epoch is dropped (ignorable in the schema)", () => {
    const [, , req2] = REQUESTS[1]!;
    expect(body((w) => encodeTxnOffsetCommitRequest(w, 1, req2))).toEqual(
      Buffer.concat([V2_REQUEST.subarray(0, 40), V2_REQUEST.subarray(44)]),
    );
  });

  it("below v3 refuses group metadata other than the defaults, naming the version", () => {
    const [, , req0] = REQUESTS[0]!;
    const w = new Writer();
    for (let v = 0; v < 3; v++) {
      for (const change of [
        { generationIdOrMemberEpoch: 0 },
        { memberId: "m" },
        { groupInstanceId: "" },
      ]) {
        expect(() => encodeTxnOffsetCommitRequest(w, v, { ...req0, ...change })).toThrow(
          RangeError,
        );
        expect(() => encodeTxnOffsetCommitRequest(w, v, { ...req0, ...change })).toThrow(
          `TxnOffsetCommit v${v} `,
        );
      }
      expect(() => encodeTxnOffsetCommitRequest(w, v, req0)).not.toThrow();
    }
    // v3 writes the defaults: -1, "" and null.
    const v3 = body((w) => encodeTxnOffsetCommitRequest(w, 3, { ...req0, topics: [] }));
    expect(v3.subarray(15)).toEqual(
      bytes([0xff, 0xff, 0xff, 0xff], 0x01, 0x00, 0x01, 0x00), // -1, "", null, [], tags
    );
  });

  it("throws UNSUPPORTED_VERSION outside 0-5 (v6 takes topic ids)", () => {
    const [, , req] = REQUESTS[2]!;
    const [, , res] = RESPONSES[1]!;
    for (const v of [-1, 6, 1.5]) {
      expect(() => encodeTxnOffsetCommitRequest(new Writer(), v, req)).toThrow(
        expect.objectContaining({ code: "UNSUPPORTED_VERSION" }),
      );
      expect(() => decodeTxnOffsetCommitRequest(new Reader(V3_REQUEST), v)).toThrow(ProtocolError);
      expect(() => decodeTxnOffsetCommitResponse(new Reader(V3_RESPONSE), v)).toThrow(
        ProtocolError,
      );
      expect(() => encodeTxnOffsetCommitResponse(new Writer(), v, res)).toThrow(ProtocolError);
    }
  });

  it("frames with header v1 below v3 and v2 from v3", () => {
    const [, , req0] = REQUESTS[0]!;
    const v2 = Buffer.from(txnOffsetCommitRequestFrame(new Writer(), 2, 6, null, req0));
    expect(v2.subarray(0, 14)).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x4b], // size 75: header 10 + body 57 + two leader epochs
        [0x00, 0x1c, 0x00, 0x02], // TxnOffsetCommit v2
        [0x00, 0x00, 0x00, 0x06], // correlation id 6
        [0xff, 0xff], // client id null
      ),
    );
    expect(v2.length).toBe(79);
    const [v3body, , req3] = REQUESTS[2]!;
    expect(Buffer.from(txnOffsetCommitRequestFrame(new Writer(), 3, 6, null, req3))).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x3b], // size 59: header 11 + body 48
        [0x00, 0x1c, 0x00, 0x03], // TxnOffsetCommit v3
        [0x00, 0x00, 0x00, 0x06],
        [0xff, 0xff],
        0x00, // header tagged fields
        [...v3body],
      ),
    );
  });

  it("round-trips every version 0-5 with random data", () => {
    const rnd = randomValues(28);
    for (let i = 0; i < 200; i++) {
      for (let v = TXN_OFFSET_COMMIT_VERSIONS.min; v <= TXN_OFFSET_COMMIT_VERSIONS.max; v++) {
        const req: TxnOffsetCommitRequest = {
          transactionalId: rnd.string(),
          groupId: rnd.string(),
          producerId: rnd.int64(),
          producerEpoch: rnd.int16(),
          generationIdOrMemberEpoch: v >= 3 ? rnd.int32() : -1,
          memberId: v >= 3 ? rnd.string(40) : "",
          groupInstanceId: v >= 3 ? rnd.nullableString() : null,
          topics: rnd.list(3, () => ({
            name: rnd.string(),
            partitions: rnd.list(4, () => ({
              partitionIndex: rnd.int32(),
              committedOffset: rnd.int64(),
              committedLeaderEpoch: v >= 2 ? rnd.int32() : -1,
              committedMetadata: rnd.nullableString(30),
            })),
          })),
        };
        const r = new Reader(body((w) => encodeTxnOffsetCommitRequest(w, v, req)));
        expect(decodeTxnOffsetCommitRequest(r, v)).toEqual(req);
        expect(r.remaining).toBe(0);
      }
    }
  });
});

describe("TxnOffsetCommit response", () => {
  it("v0 and v3 (hand-assembled); v1, v2 are v0 and v4, v5 are v3", () => {
    for (const [buf, v, res] of RESPONSES) {
      const same = v === 0 ? [0, 1, 2] : [3, 4, 5];
      for (const sv of same) {
        const r = new Reader(buf);
        expect(decodeTxnOffsetCommitResponse(r, sv)).toEqual(res);
        expect(r.remaining).toBe(0);
        expect(body((w) => encodeTxnOffsetCommitResponse(w, sv, res))).toEqual(buf);
      }
    }
  });

  it("skips unknown tagged fields at every level (v3+)", () => {
    const tag = [0x01, 0x00, 0x01, 0x99]; // one field: tag 0, 1 byte
    const withTags = bytes(
      [0x00, 0x00, 0x00, 0x0a],
      0x02,
      [0x02, ...ascii("t")],
      0x02,
      [0x00, 0x00, 0x00, 0x03],
      [0x00, 0x16],
      tag, // partition
      tag, // topic
      tag, // response
    );
    const r = new Reader(withTags);
    expect(decodeTxnOffsetCommitResponse(r, 5)).toEqual(RESPONSES[1]![2]);
    expect(r.remaining).toBe(0);
  });

  it("round-trips every version 0-5 with random data", () => {
    const rnd = randomValues(128);
    for (let i = 0; i < 200; i++) {
      for (let v = TXN_OFFSET_COMMIT_VERSIONS.min; v <= TXN_OFFSET_COMMIT_VERSIONS.max; v++) {
        const res: TxnOffsetCommitResponse = {
          throttleTimeMs: rnd.int32(),
          topics: rnd.list(4, () => ({
            name: rnd.string(),
            partitions: rnd.list(5, () => ({
              partitionIndex: rnd.int32(),
              errorCode: rnd.int16(),
            })),
          })),
        };
        const r = new Reader(body((w) => encodeTxnOffsetCommitResponse(w, v, res)));
        expect(decodeTxnOffsetCommitResponse(r, v)).toEqual(res);
        expect(r.remaining).toBe(0);
      }
    }
  });
});

describe("TxnOffsetCommit decoders under hostile input", () => {
  it("every truncation throws a ProtocolError", () => {
    for (const [buf, v] of RESPONSES) {
      for (let n = 0; n < buf.length; n++) {
        expect(() => decodeTxnOffsetCommitResponse(new Reader(buf.subarray(0, n)), v)).toThrow(
          ProtocolError,
        );
      }
    }
    for (const [buf, v] of REQUESTS) {
      for (let n = 0; n < buf.length; n++) {
        expect(() => decodeTxnOffsetCommitRequest(new Reader(buf.subarray(0, n)), v)).toThrow(
          ProtocolError,
        );
      }
    }
  });

  it("random bytes and mutations throw only ProtocolError", () => {
    const next = prng(28);
    for (let i = 0; i < 3000; i++) {
      const len = next() % 80;
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = next() & 0xff;
      for (let v = TXN_OFFSET_COMMIT_VERSIONS.min; v <= TXN_OFFSET_COMMIT_VERSIONS.max; v++) {
        onlyProtocolErrors(() => decodeTxnOffsetCommitResponse(new Reader(buf), v));
        onlyProtocolErrors(() => decodeTxnOffsetCommitRequest(new Reader(buf), v));
      }
    }
    for (const [buf, v] of [...RESPONSES, ...REQUESTS]) {
      for (let i = 0; i < 1000; i++) {
        const m = Buffer.from(buf);
        m[next() % m.length] = next() & 0xff;
        const cut = m.subarray(0, next() % (m.length + 1));
        onlyProtocolErrors(() => decodeTxnOffsetCommitResponse(new Reader(cut), v));
        onlyProtocolErrors(() => decodeTxnOffsetCommitRequest(new Reader(cut), v));
      }
    }
  });

  it("lying lengths throw INVALID_LENGTH; an offset beyond 2^53 INVALID_VALUE", () => {
    // topics: ARRAY claiming 2^31 - 1 topics.
    const manyTopics = bytes([0x00, 0x00, 0x00, 0x00], [0x7f, 0xff, 0xff, 0xff]);
    expect(() => decodeTxnOffsetCommitResponse(new Reader(manyTopics), 0)).toThrow(
      expect.objectContaining({ code: "INVALID_LENGTH" }),
    );
    // member_id: COMPACT_STRING claiming 2^21 bytes.
    const longMember = Buffer.concat([V3_REQUEST.subarray(0, 19), bytes(0x81, 0x80, 0x80, 0x01)]);
    expect(() => decodeTxnOffsetCommitRequest(new Reader(longMember), 3)).toThrow(
      expect.objectContaining({ code: "INVALID_LENGTH" }),
    );
    const big = Buffer.from(V0_REQUEST);
    big.writeBigInt64BE(2n ** 53n, 32); // the first committed_offset
    expect(() => decodeTxnOffsetCommitRequest(new Reader(big), 0)).toThrow(
      expect.objectContaining({ code: "INVALID_VALUE" }),
    );
  });
});
