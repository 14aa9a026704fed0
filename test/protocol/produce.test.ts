import { describe, expect, it } from "vitest";
import {
  decodeProduceRequest,
  decodeProduceResponse,
  encodeProduceRequest,
  encodeProduceResponse,
  PRODUCE_MAX_NAME_VERSION,
  PRODUCE_VERSIONS,
  type ProduceRequest,
  type ProduceResponse,
  produceRequestFrame,
} from "../../src/protocol/produce.js";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { Reader } from "../../src/protocol/reader.js";
import { Writer, ZERO_UUID } from "../../src/protocol/writer.js";
import { ascii, body, bytes, onlyProtocolErrors, prng } from "../helpers/bytes.js";

const MINUS_ONE_64 = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

const UUID = Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const TOPIC_ID = new Uint8Array(UUID);

// KafkaJS 2.2.4 fixture src/protocol/requests/produce/fixtures/v3_request.json: a Produce v3
// body (transactional_id null, acks -1, timeout 30000, one partition, a 270-byte record batch v2
// of 3 records) that KafkaJS sends to real brokers.
const KAFKAJS_V3_REQUEST = [
  255, 255, 255, 255, 0, 0, 117, 48, 0, 0, 0, 1, 0, 31, 116, 101, 115, 116, 45, 116, 111, 112, 105,
  99, 45, 101, 98, 98, 97, 54, 56, 56, 55, 57, 99, 54, 102, 53, 48, 56, 49, 100, 56, 99, 50, 0, 0,
  0, 1, 0, 0, 0, 0, 0, 0, 1, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 210, 10, 69,
  237, 0, 0, 0, 0, 0, 2, 0, 0, 1, 95, 142, 187, 58, 12, 0, 0, 1, 95, 142, 187, 58, 12, 255, 255,
  255, 255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 10, 0, 0, 0, 3, 146, 1, 0, 0, 0, 48, 107, 101, 121,
  45, 57, 100, 48, 102, 51, 52, 56, 99, 98, 50, 101, 55, 51, 48, 101, 49, 101, 100, 99, 52, 62, 115,
  111, 109, 101, 45, 118, 97, 108, 117, 101, 45, 97, 49, 55, 98, 52, 99, 56, 49, 102, 57, 101, 99,
  100, 49, 101, 56, 57, 54, 101, 51, 6, 2, 97, 2, 98, 2, 99, 2, 100, 2, 99, 2, 101, 130, 1, 0, 0, 2,
  48, 107, 101, 121, 45, 99, 55, 48, 55, 51, 101, 57, 54, 53, 99, 51, 52, 98, 52, 99, 99, 54, 52,
  52, 50, 62, 115, 111, 109, 101, 45, 118, 97, 108, 117, 101, 45, 54, 53, 100, 102, 52, 50, 50, 48,
  55, 48, 100, 55, 97, 100, 55, 51, 57, 49, 52, 102, 2, 2, 97, 2, 98, 130, 1, 0, 0, 4, 48, 107, 101,
  121, 45, 49, 54, 57, 51, 98, 49, 56, 52, 97, 57, 98, 53, 50, 100, 98, 101, 48, 51, 98, 99, 62,
  115, 111, 109, 101, 45, 118, 97, 108, 117, 101, 45, 51, 102, 99, 98, 54, 53, 102, 102, 99, 97, 48,
  56, 55, 99, 98, 97, 50, 48, 97, 100, 2, 2, 97, 2, 98,
];
// .../fixtures/v7_response.json and v5_response.json: Produce bodies from a real broker.
const KAFKAJS_V7_RESPONSE = [
  0, 0, 0, 1, 0, 72, 116, 101, 115, 116, 45, 116, 111, 112, 105, 99, 45, 57, 50, 51, 48, 51, 48, 98,
  57, 57, 55, 97, 54, 50, 54, 99, 50, 51, 49, 53, 56, 45, 53, 49, 55, 45, 98, 100, 97, 102, 56, 55,
  102, 102, 45, 54, 97, 98, 51, 45, 52, 98, 97, 54, 45, 97, 99, 50, 51, 45, 97, 100, 52, 54, 51,
  100, 53, 50, 51, 48, 99, 100, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255,
  255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];
const KAFKAJS_V5_RESPONSE = [
  0, 0, 0, 1, 0, 72, 116, 101, 115, 116, 45, 116, 111, 112, 105, 99, 45, 49, 99, 56, 97, 99, 101,
  48, 101, 99, 102, 98, 51, 99, 98, 50, 56, 49, 50, 52, 51, 45, 55, 48, 54, 45, 98, 57, 102, 50, 52,
  97, 99, 49, 45, 54, 97, 49, 101, 45, 52, 52, 53, 56, 45, 98, 97, 53, 102, 45, 53, 102, 99, 48, 99,
  53, 49, 97, 52, 54, 99, 55, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255,
  255, 255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

// Produce v8 response with record errors and an error message (hand-assembled).
const V8_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x01], // responses: 1
  [0x00, 0x03, ...ascii("foo")], //   name
  [0x00, 0x00, 0x00, 0x01], //   partition_responses: 1
  [0x00, 0x00, 0x00, 0x00], //     index 0
  [0x00, 0x57], //     error_code 87 INVALID_RECORD
  MINUS_ONE_64, //     base_offset -1
  MINUS_ONE_64, //     log_append_time_ms -1
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64], //     log_start_offset 100
  [0x00, 0x00, 0x00, 0x02], //     record_errors: 2
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x03, ...ascii("bad")], //       batch_index 0, "bad"
  [0x00, 0x00, 0x00, 0x02, 0xff, 0xff], //       batch_index 2, null message
  [0x00, 0x04, ...ascii("oops")], //     error_message
  [0x00, 0x00, 0x00, 0x0a], // throttle_time_ms 10
);

// Produce v10 response with KIP-951's CurrentLeader and NodeEndpoints (hand-assembled).
const V10_RESPONSE = bytes(
  0x02, // responses: COMPACT_ARRAY, 1
  [0x04, ...ascii("foo")], //   name
  0x02, //   partition_responses: 1
  [0x00, 0x00, 0x00, 0x01], //     index 1
  [0x00, 0x06], //     error_code 6 NOT_LEADER_OR_FOLLOWER
  MINUS_ONE_64, //     base_offset -1
  MINUS_ONE_64, //     log_append_time_ms -1
  MINUS_ONE_64, //     log_start_offset -1
  0x01, //     record_errors: empty
  0x00, //     error_message null
  0x01, //     1 tagged field:
  [0x00, 0x09], //       tag 0 current_leader, 9 bytes
  [0x00, 0x00, 0x00, 0x02], //         leader_id 2
  [0x00, 0x00, 0x00, 0x07], //         leader_epoch 7
  0x00, //         its tagged fields
  0x00, //   topic tagged fields
  [0x00, 0x00, 0x00, 0x00], // throttle_time_ms 0
  0x01, // 1 tagged field:
  [0x00, 0x15], //   tag 0 node_endpoints, 21 bytes
  0x02, //     1 entry
  [0x00, 0x00, 0x00, 0x02], //     node_id 2
  [0x0a, ...ascii("localhost")], //     host
  [0x00, 0x00, 0x23, 0x86], //     port 9094
  0x00, //     rack null
  0x00, //     tagged fields
);

// Produce v13 response: the topic is named by its id (hand-assembled).
const V13_RESPONSE = bytes(
  0x02, // responses: 1
  UUID, //   topic_id
  0x02, //   partition_responses: 1
  [0x00, 0x00, 0x00, 0x00], //     index 0
  [0x00, 0x00], //     error_code 0
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a], //     base_offset 42
  MINUS_ONE_64, //     log_append_time_ms -1
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], //     log_start_offset 0
  0x01, //     record_errors: empty
  0x00, //     error_message null
  0x00, //     tagged fields
  0x00, //   topic tagged fields
  [0x00, 0x00, 0x00, 0x00], // throttle_time_ms
  0x00, // tagged fields
);

describe("Produce request", () => {
  it("v3: null transactional id, acks -1, one topic, two partitions (hand-assembled)", () => {
    const req: ProduceRequest = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30000,
      topicData: [
        {
          name: "foo",
          partitionData: [
            { index: 0, records: new Uint8Array([1, 2, 3]) },
            { index: 1, records: null },
          ],
        },
      ],
    };
    const expected = bytes(
      [0xff, 0xff], // transactional_id null
      [0xff, 0xff], // acks -1
      [0x00, 0x00, 0x75, 0x30], // timeout_ms 30000
      [0x00, 0x00, 0x00, 0x01], // topic_data: 1
      [0x00, 0x03, ...ascii("foo")], //   name
      [0x00, 0x00, 0x00, 0x02], //   partition_data: 2
      [0x00, 0x00, 0x00, 0x00], //     index 0
      [0x00, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03], //     records (NULLABLE_BYTES)
      [0x00, 0x00, 0x00, 0x01], //     index 1
      [0xff, 0xff, 0xff, 0xff], //     records null
    );
    expect(body((w) => encodeProduceRequest(w, 3, req))).toEqual(expected);
    // The same through a RecordsWriter.
    const viaCallback: ProduceRequest = {
      ...req,
      topicData: [
        {
          name: "foo",
          partitionData: [
            { index: 0, records: (w) => w.uint8(1).uint8(2).uint8(3) },
            { index: 1, records: null },
          ],
        },
      ],
    };
    expect(body((w) => encodeProduceRequest(w, 3, viaCallback), 4)).toEqual(expected);
  });

  it("v9 is flexible (hand-assembled)", () => {
    const req: ProduceRequest = {
      transactionalId: "tx",
      acks: 1,
      timeoutMs: 5000,
      topicData: [
        { name: "foo", partitionData: [{ index: 2, records: Buffer.from([0xaa, 0xbb, 0xcc]) }] },
      ],
    };
    const expected = bytes(
      [0x03, ...ascii("tx")], // transactional_id: COMPACT_NULLABLE_STRING
      [0x00, 0x01], // acks 1
      [0x00, 0x00, 0x13, 0x88], // timeout_ms 5000
      0x02, // topic_data: 1
      [0x04, ...ascii("foo")], //   name
      0x02, //   partition_data: 1
      [0x00, 0x00, 0x00, 0x02], //     index 2
      [0x04, 0xaa, 0xbb, 0xcc], //     records: COMPACT_RECORDS (length + 1)
      0x00, //     tagged fields
      0x00, //   tagged fields
      0x00, // tagged fields
    );
    expect(body((w) => encodeProduceRequest(w, 9, req))).toEqual(expected);
    const cb: ProduceRequest = {
      ...req,
      topicData: [
        {
          name: "foo",
          partitionData: [{ index: 2, records: (w) => w.raw(Buffer.from([0xaa, 0xbb, 0xcc])) }],
        },
      ],
    };
    expect(body((w) => encodeProduceRequest(w, 9, cb), 4)).toEqual(expected);
  });

  it("v13 names topics by id (KIP-516)", () => {
    const req: ProduceRequest = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1000,
      topicData: [
        {
          name: "foo",
          topicId: TOPIC_ID,
          partitionData: [{ index: 0, records: Buffer.from([0xaa]) }],
        },
      ],
    };
    expect(body((w) => encodeProduceRequest(w, 13, req))).toEqual(
      bytes(
        0x00, // transactional_id null
        [0xff, 0xff], // acks -1
        [0x00, 0x00, 0x03, 0xe8], // timeout_ms 1000
        0x02, // topic_data: 1
        UUID, //   topic_id instead of the name
        0x02, //   partition_data: 1
        [0x00, 0x00, 0x00, 0x00, 0x02, 0xaa, 0x00], //     index 0, records, tags
        0x00,
        0x00,
      ),
    );
    const noId = { ...req, topicData: [{ name: "foo", partitionData: [] }] };
    expect(() => encodeProduceRequest(new Writer(), 13, noId)).toThrow(RangeError);
    expect(() => encodeProduceRequest(new Writer(), 12, noId)).not.toThrow();
    expect(PRODUCE_MAX_NAME_VERSION).toBe(12);
  });

  it("writes callback records of any size with a minimal compact length", () => {
    for (const size of [0, 1, 126, 127, 128, 16382, 16383, 16384, 100_000, 2_097_152]) {
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = (i * 31 + 7) & 0xff;
      for (const version of [8, 9, 13]) {
        const make = (records: ProduceRequest["topicData"][0]["partitionData"][0]["records"]) => ({
          transactionalId: null,
          acks: 1,
          timeoutMs: 1,
          topicData: [
            {
              name: "t",
              topicId: TOPIC_ID,
              partitionData: [
                { index: 0, records },
                { index: 1, records: Buffer.from([9]) },
              ],
            },
          ],
        });
        const fromBytes = body((w) => encodeProduceRequest(w, version, make(data)));
        const fromCallback = body(
          (w) =>
            encodeProduceRequest(
              w,
              version,
              make((w) => w.raw(data)),
            ),
          8,
        );
        expect(fromCallback.equals(fromBytes)).toBe(true);
        const back = decodeProduceRequest(new Reader(fromCallback), version);
        expect(back.topicData[0]!.partitionData[0]!.records!.equals(data)).toBe(true);
        expect(back.topicData[0]!.partitionData[1]!.records).toEqual(Buffer.from([9]));
      }
    }
  });

  it("re-encodes KafkaJS's v3 request fixture byte for byte", () => {
    const fixture = Buffer.from(KAFKAJS_V3_REQUEST);
    const r = new Reader(fixture);
    const req = decodeProduceRequest(r, 3);
    expect(r.remaining).toBe(0);
    expect(req.transactionalId).toBeNull();
    expect(req.acks).toBe(-1);
    expect(req.timeoutMs).toBe(30000);
    expect(req.topicData[0]!.name).toBe("test-topic-ebba68879c6f5081d8c2");
    const records = req.topicData[0]!.partitionData[0]!.records!;
    expect(records.length).toBe(270);
    expect(records[16]).toBe(2); // the batch's magic byte
    expect(body((w) => encodeProduceRequest(w, 3, req))).toEqual(fixture);
    const copy = Buffer.from(records);
    const viaCallback = {
      ...req,
      topicData: [
        {
          ...req.topicData[0]!,
          partitionData: [{ index: 0, records: (w: Writer) => w.raw(copy) }],
        },
      ],
    };
    expect(body((w) => encodeProduceRequest(w, 3, viaCallback))).toEqual(fixture);
  });

  it("frames with header v1 below v9 and v2 from v9", () => {
    const req: ProduceRequest = { transactionalId: null, acks: 0, timeoutMs: 0, topicData: [] };
    expect(Buffer.from(produceRequestFrame(new Writer(), 3, 9, "p", req))).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x17], // size 23
        [0x00, 0x00, 0x00, 0x03], // Produce v3
        [0x00, 0x00, 0x00, 0x09], // correlation id 9
        [0x00, 0x01, ...ascii("p")], // client id
        [0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], // body
      ),
    );
    expect(Buffer.from(produceRequestFrame(new Writer(), 9, 9, "p", req))).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x15], // size 21
        [0x00, 0x00, 0x00, 0x09], // Produce v9
        [0x00, 0x00, 0x00, 0x09],
        [0x00, 0x01, ...ascii("p")],
        0x00, // header tagged fields
        [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00], // body
      ),
    );
  });

  it("round-trips every version 3-13", () => {
    for (let v = PRODUCE_VERSIONS.min; v <= PRODUCE_VERSIONS.max; v++) {
      const req: ProduceRequest = {
        transactionalId: "txn-1",
        acks: -1,
        timeoutMs: 1500,
        topicData: [
          {
            name: "foo",
            topicId: TOPIC_ID,
            partitionData: [
              { index: 0, records: Buffer.from([1, 2, 3, 4]) },
              { index: 3, records: null },
            ],
          },
        ],
      };
      const r = new Reader(body((w) => encodeProduceRequest(w, v, req)));
      expect(decodeProduceRequest(r, v)).toEqual({
        ...req,
        topicData: [
          {
            name: v >= 13 ? "" : "foo",
            topicId: v >= 13 ? TOPIC_ID : ZERO_UUID,
            partitionData: [
              { index: 0, records: Buffer.from([1, 2, 3, 4]) },
              { index: 3, records: null },
            ],
          },
        ],
      });
      expect(r.remaining).toBe(0);
    }
    expect(() =>
      encodeProduceRequest(new Writer(), 2, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 1,
        topicData: [],
      }),
    ).toThrow(ProtocolError);
    expect(() =>
      encodeProduceRequest(new Writer(), 14, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 1,
        topicData: [],
      }),
    ).toThrow(ProtocolError);
  });
});

describe("Produce response", () => {
  it("v8: record errors and error message (hand-assembled)", () => {
    const r = new Reader(V8_RESPONSE);
    expect(decodeProduceResponse(r, 8)).toEqual({
      responses: [
        {
          name: "foo",
          topicId: ZERO_UUID,
          partitionResponses: [
            {
              index: 0,
              errorCode: 87,
              baseOffset: -1,
              logAppendTimeMs: -1,
              logStartOffset: 100,
              recordErrors: [
                { batchIndex: 0, batchIndexErrorMessage: "bad" },
                { batchIndex: 2, batchIndexErrorMessage: null },
              ],
              errorMessage: "oops",
              currentLeader: null,
            },
          ],
        },
      ],
      throttleTimeMs: 10,
      nodeEndpoints: [],
    } satisfies ProduceResponse);
    expect(r.remaining).toBe(0);
  });

  it("v10: CurrentLeader and NodeEndpoints tagged fields (KIP-951, hand-assembled)", () => {
    const r = new Reader(V10_RESPONSE);
    const res = decodeProduceResponse(r, 10);
    expect(r.remaining).toBe(0);
    const p = res.responses[0]!.partitionResponses[0]!;
    expect(p).toEqual({
      index: 1,
      errorCode: 6,
      baseOffset: -1,
      logAppendTimeMs: -1,
      logStartOffset: -1,
      recordErrors: [],
      errorMessage: null,
      currentLeader: { leaderId: 2, leaderEpoch: 7 },
    });
    expect(res.throttleTimeMs).toBe(0);
    expect(res.nodeEndpoints).toEqual([{ nodeId: 2, host: "localhost", port: 9094, rack: null }]);
    // At v9 the same tags are not defined: skipped like any unknown tag.
    const v9 = decodeProduceResponse(new Reader(V10_RESPONSE), 9);
    expect(v9.responses[0]!.partitionResponses[0]!.currentLeader).toBeNull();
    expect(v9.nodeEndpoints).toEqual([]);
  });

  it("v13: topics by id (hand-assembled)", () => {
    const r = new Reader(V13_RESPONSE);
    const res = decodeProduceResponse(r, 13);
    expect(r.remaining).toBe(0);
    expect(res.responses[0]!.name).toBe("");
    expect(res.responses[0]!.topicId).toEqual(TOPIC_ID);
    expect(res.responses[0]!.partitionResponses[0]!.baseOffset).toBe(42);
    expect(res.responses[0]!.partitionResponses[0]!.logStartOffset).toBe(0);
  });

  it("decodes KafkaJS's real-broker v5 and v7 fixtures", () => {
    for (const [fixture, version, topic] of [
      [
        KAFKAJS_V7_RESPONSE,
        7,
        "test-topic-923030b997a626c23158-517-bdaf87ff-6ab3-4ba6-ac23-ad463d5230cd",
      ],
      [
        KAFKAJS_V5_RESPONSE,
        5,
        "test-topic-1c8ace0ecfb3cb281243-706-b9f24ac1-6a1e-4458-ba5f-5fc0c51a46c7",
      ],
    ] as const) {
      const r = new Reader(Buffer.from(fixture));
      const res = decodeProduceResponse(r, version);
      expect(r.remaining).toBe(0);
      expect(res).toEqual({
        responses: [
          {
            name: topic,
            topicId: ZERO_UUID,
            partitionResponses: [
              {
                index: 0,
                errorCode: 0,
                baseOffset: 0,
                logAppendTimeMs: -1,
                logStartOffset: 0,
                recordErrors: [],
                errorMessage: null,
                currentLeader: null,
              },
            ],
          },
        ],
        throttleTimeMs: 0,
        nodeEndpoints: [],
      });
    }
  });

  it("decodes offsets as exact numbers and refuses ones beyond 2^53", () => {
    const make = (offset: number[]) =>
      bytes(
        [0, 0, 0, 1, 0, 1, ...ascii("t"), 0, 0, 0, 1], // 1 topic "t", 1 partition
        [0, 0, 0, 0, 0, 0], // index 0, error 0
        offset, // base_offset
        MINUS_ONE_64, // log_append_time_ms
        [0, 0, 0, 0], // throttle (v3)
      );
    const big = decodeProduceResponse(new Reader(make([0, 0, 0x01, 0, 0, 0, 0, 0x05])), 3);
    expect(big.responses[0]!.partitionResponses[0]!.baseOffset).toBe(2 ** 40 + 5);
    expect(big.responses[0]!.partitionResponses[0]!.logStartOffset).toBe(-1);
    expect(() => decodeProduceResponse(new Reader(make([0, 0x20, 0, 0, 0, 0, 0, 0])), 3)).toThrow(
      ProtocolError,
    );
  });

  it("round-trips every version 3-13, with the defaults a version lacks", () => {
    const full: ProduceResponse = {
      responses: [
        {
          name: "foo",
          topicId: TOPIC_ID,
          partitionResponses: [
            {
              index: 4,
              errorCode: 6,
              baseOffset: 2 ** 45,
              logAppendTimeMs: 1_700_000_000_000,
              logStartOffset: 17,
              recordErrors: [{ batchIndex: 1, batchIndexErrorMessage: "x" }],
              errorMessage: "e",
              currentLeader: { leaderId: 3, leaderEpoch: 9 },
            },
          ],
        },
      ],
      throttleTimeMs: 12,
      nodeEndpoints: [{ nodeId: 3, host: "h", port: 1, rack: "r" }],
    };
    for (let v = PRODUCE_VERSIONS.min; v <= PRODUCE_VERSIONS.max; v++) {
      const r = new Reader(body((w) => encodeProduceResponse(w, v, full)));
      const res = decodeProduceResponse(r, v);
      expect(r.remaining).toBe(0);
      const p = full.responses[0]!.partitionResponses[0]!;
      expect(res).toEqual({
        responses: [
          {
            name: v >= 13 ? "" : "foo",
            topicId: v >= 13 ? TOPIC_ID : ZERO_UUID,
            partitionResponses: [
              {
                ...p,
                logStartOffset: v >= 5 ? 17 : -1,
                recordErrors: v >= 8 ? p.recordErrors : [],
                errorMessage: v >= 8 ? "e" : null,
                currentLeader: v >= 10 ? p.currentLeader : null,
              },
            ],
          },
        ],
        throttleTimeMs: 12,
        nodeEndpoints: v >= 10 ? full.nodeEndpoints : [],
      });
    }
  });
});

describe("Produce decoders under hostile input", () => {
  const responses: [Buffer, number][] = [
    [V8_RESPONSE, 8],
    [V10_RESPONSE, 10],
    [V13_RESPONSE, 13],
    [Buffer.from(KAFKAJS_V7_RESPONSE), 7],
  ];

  it("every truncation throws a ProtocolError", () => {
    for (const [buf, version] of responses) {
      for (let n = 0; n < buf.length; n++) {
        expect(() => decodeProduceResponse(new Reader(buf.subarray(0, n)), version)).toThrow(
          ProtocolError,
        );
      }
    }
    const req = Buffer.from(KAFKAJS_V3_REQUEST);
    for (let n = 0; n < req.length; n++) {
      expect(() => decodeProduceRequest(new Reader(req.subarray(0, n)), 3)).toThrow(ProtocolError);
    }
  });

  it("random bytes and mutations throw only ProtocolError", () => {
    const next = prng(7);
    for (let i = 0; i < 2000; i++) {
      const len = next() % 96;
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = next() & 0xff;
      for (let v = PRODUCE_VERSIONS.min; v <= PRODUCE_VERSIONS.max; v++) {
        onlyProtocolErrors(() => decodeProduceResponse(new Reader(buf), v));
        onlyProtocolErrors(() => decodeProduceRequest(new Reader(buf), v));
      }
    }
    for (const [buf, version] of responses) {
      for (let i = 0; i < 1000; i++) {
        const m = Buffer.from(buf);
        m[next() % m.length] = next() & 0xff;
        onlyProtocolErrors(() => decodeProduceResponse(new Reader(m), version));
      }
    }
  });

  it("lying lengths fail fast", () => {
    // Records claiming 2 GB.
    const lie = bytes(
      [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, ...ascii("t"), 0, 0, 0, 1],
      [0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff],
    );
    expect(() => decodeProduceRequest(new Reader(lie), 3)).toThrow(/bytes length 2147483647/);
    // A tagged field whose size runs past the frame.
    const tag = Buffer.from(V10_RESPONSE);
    tag[tag.length - 22] = 0x7f; // node_endpoints size 21 -> 127
    expect(tag[tag.length - 23]).toBe(0x00); // (the tag number before it)
    expect(() => decodeProduceResponse(new Reader(tag), 10)).toThrow(ProtocolError);
  });
});
