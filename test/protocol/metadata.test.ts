import { describe, expect, it } from "vitest";
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  decodeMetadataRequest,
  decodeMetadataResponse,
  encodeMetadataRequest,
  encodeMetadataResponse,
  METADATA_VERSIONS,
  type MetadataRequest,
  type MetadataResponse,
  metadataRequestFrame,
} from "../../src/protocol/metadata.js";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { Reader } from "../../src/protocol/reader.js";
import { Writer, ZERO_UUID } from "../../src/protocol/writer.js";
import { ascii, body, bytes, onlyProtocolErrors, prng } from "../helpers/bytes.js";

const UUID = Array.from({ length: 16 }, (_, i) => i + 1); // 01 02 .. 10
const TOPIC_ID = new Uint8Array(UUID);

// KafkaJS 2.2.4 fixture src/protocol/requests/metadata/fixtures/v5_response.json: a Metadata
// v5 body from a real 3-broker cluster.
const KAFKAJS_V5_RESPONSE = [
  0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 2, 0, 11, 49, 48, 46, 51, 46, 50, 50, 48, 46, 56, 57, 0, 0, 35,
  138, 255, 255, 0, 0, 0, 1, 0, 11, 49, 48, 46, 51, 46, 50, 50, 48, 46, 56, 57, 0, 0, 35, 135, 255,
  255, 0, 0, 0, 0, 0, 11, 49, 48, 46, 51, 46, 50, 50, 48, 46, 56, 57, 0, 0, 35, 132, 255, 255, 0,
  22, 119, 121, 79, 69, 107, 48, 109, 55, 84, 110, 45, 48, 56, 111, 71, 90, 106, 116, 86, 103, 69,
  103, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 74, 116, 101, 115, 116, 45, 116, 111, 112, 105, 99, 45, 102,
  53, 101, 49, 55, 97, 56, 54, 56, 57, 54, 101, 98, 102, 100, 101, 98, 52, 50, 57, 45, 56, 48, 56,
  50, 57, 45, 97, 51, 55, 98, 54, 100, 100, 101, 45, 49, 97, 100, 99, 45, 52, 54, 56, 55, 45, 56,
  49, 51, 100, 45, 53, 50, 100, 55, 53, 97, 48, 97, 48, 102, 55, 56, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
];
// .../fixtures/v5_offline_replicas_response.json: partitions with LEADER_NOT_AVAILABLE (5) and
// offline replicas, from a real cluster with broker 2 down.
const KAFKAJS_V5_OFFLINE = [
  0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 12, 49, 48, 46, 51, 46, 50, 50, 51, 46, 49, 50, 49, 0, 0,
  35, 135, 255, 255, 0, 0, 0, 0, 0, 12, 49, 48, 46, 51, 46, 50, 50, 51, 46, 49, 50, 49, 0, 0, 35,
  132, 255, 255, 0, 22, 116, 68, 114, 52, 68, 103, 70, 115, 83, 57, 54, 115, 79, 69, 90, 117, 54,
  101, 45, 78, 45, 81, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 10, 116, 111, 112, 105, 99, 45, 116, 101,
  115, 116, 0, 0, 0, 0, 6, 0, 5, 0, 0, 0, 2, 255, 255, 255, 255, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0,
  0, 0, 0, 1, 0, 0, 0, 2, 0, 5, 0, 0, 0, 5, 255, 255, 255, 255, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0,
  0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
  1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  16, 116, 101, 115, 116, 45, 116, 111, 112, 105, 99, 45, 116, 111, 109, 109, 121, 0, 0, 0, 0, 1, 0,
  5, 0, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2,
];

// Metadata v12 response, hand-assembled from MetadataResponse.json.
const V12_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x00], // throttle_time_ms 0
  0x02, // brokers: 1 entry
  [0x00, 0x00, 0x00, 0x01], //   node_id 1
  [0x0a, ...ascii("localhost")], //   host
  [0x00, 0x00, 0x23, 0x84], //   port 9092
  0x00, //   rack null
  0x00, //   tagged fields
  [0x04, ...ascii("abc")], // cluster_id "abc"
  [0x00, 0x00, 0x00, 0x01], // controller_id 1
  0x02, // topics: 1 entry
  [0x00, 0x00], //   error_code 0
  [0x04, ...ascii("foo")], //   name
  UUID, //   topic_id
  0x00, //   is_internal false
  0x02, //   partitions: 1 entry
  [0x00, 0x00], //     error_code 0
  [0x00, 0x00, 0x00, 0x00], //     partition_index 0
  [0x00, 0x00, 0x00, 0x01], //     leader_id 1
  [0x00, 0x00, 0x00, 0x05], //     leader_epoch 5
  [0x04, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3], //     replica_nodes [1, 2, 3]
  [0x03, 0, 0, 0, 1, 0, 0, 0, 2], //     isr_nodes [1, 2]
  [0x02, 0, 0, 0, 3], //     offline_replicas [3]
  0x00, //     tagged fields
  [0x00, 0x00, 0x0b, 0xf8], //   topic_authorized_operations 3064
  0x00, //   tagged fields
  0x00, // tagged fields
);

// Metadata v1 response, hand-assembled.
const V1_RESPONSE = bytes(
  [0x00, 0x00, 0x00, 0x01], // brokers: 1
  [0x00, 0x00, 0x00, 0x02], //   node_id 2
  [0x00, 0x04, ...ascii("kafk")], //   host
  [0x00, 0x00, 0x23, 0x85], //   port 9093
  [0x00, 0x02, ...ascii("r1")], //   rack "r1"
  [0x00, 0x00, 0x00, 0x02], // controller_id 2
  [0x00, 0x00, 0x00, 0x01], // topics: 1
  [0x00, 0x00], //   error_code 0
  [0x00, 0x03, ...ascii("bar")], //   name
  0x01, //   is_internal true
  [0x00, 0x00, 0x00, 0x01], //   partitions: 1
  [0x00, 0x09], //     error_code 9 REPLICA_NOT_AVAILABLE
  [0x00, 0x00, 0x00, 0x03], //     partition_index 3
  [0x00, 0x00, 0x00, 0x02], //     leader_id 2
  [0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02], //     replica_nodes [2]
  [0x00, 0x00, 0x00, 0x00], //     isr_nodes []
);

describe("Metadata request", () => {
  it("v1: a topic array, or null for all topics (hand-assembled)", () => {
    const req: MetadataRequest = { topics: [{ name: "foo" }, { name: "bar" }] };
    expect(body((w) => encodeMetadataRequest(w, 1, req))).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x02], // topics: ARRAY of 2
        [0x00, 0x03, ...ascii("foo")],
        [0x00, 0x03, ...ascii("bar")],
      ),
    );
    expect(body((w) => encodeMetadataRequest(w, 1, { topics: null }))).toEqual(
      bytes(0xff, 0xff, 0xff, 0xff),
    );
  });

  it("v4 adds allow_auto_topic_creation; v8 the authorized-operations flags", () => {
    const topics = [{ name: "foo" }];
    expect(
      body((w) => encodeMetadataRequest(w, 4, { topics, allowAutoTopicCreation: false })),
    ).toEqual(bytes([0x00, 0x00, 0x00, 0x01], [0x00, 0x03, ...ascii("foo")], 0x00));
    expect(
      body((w) =>
        encodeMetadataRequest(w, 8, {
          topics,
          includeClusterAuthorizedOperations: true,
          includeTopicAuthorizedOperations: true,
        }),
      ),
    ).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x01, 0x00, 0x03, ...ascii("foo")],
        0x01, // allow_auto_topic_creation (default true)
        0x01, // include_cluster_authorized_operations
        0x01, // include_topic_authorized_operations
      ),
    );
  });

  it("v9 is flexible (hand-assembled)", () => {
    const req: MetadataRequest = {
      topics: [{ name: "foo" }],
      includeTopicAuthorizedOperations: true,
    };
    expect(body((w) => encodeMetadataRequest(w, 9, req))).toEqual(
      bytes(
        0x02, // topics: COMPACT_ARRAY, 1 + 1
        [0x04, ...ascii("foo")], // name: COMPACT_STRING
        0x00, // topic tagged fields
        0x01, // allow_auto_topic_creation
        0x00, // include_cluster_authorized_operations
        0x01, // include_topic_authorized_operations
        0x00, // tagged fields
      ),
    );
  });

  it("v10 puts topic_id before the name; v12 asks by id with a null name", () => {
    expect(
      body((w) => encodeMetadataRequest(w, 10, { topics: [{ name: "foo", topicId: TOPIC_ID }] })),
    ).toEqual(
      bytes(
        0x02,
        UUID, // topic_id
        [0x04, ...ascii("foo")], // name: COMPACT_NULLABLE_STRING
        0x00,
        0x01, // allow_auto_topic_creation
        0x00, // include_cluster_authorized_operations (v8-10)
        0x00, // include_topic_authorized_operations
        0x00,
      ),
    );
    expect(
      body((w) =>
        encodeMetadataRequest(w, 12, {
          topics: [{ name: null, topicId: TOPIC_ID }],
          allowAutoTopicCreation: false,
        }),
      ),
    ).toEqual(
      bytes(
        0x02,
        UUID,
        0x00, // name null
        0x00, // topic tagged fields
        0x00, // allow_auto_topic_creation false
        0x00, // include_topic_authorized_operations (no cluster flag from v11)
        0x00,
      ),
    );
    // All topics: a null compact array.
    expect(body((w) => encodeMetadataRequest(w, 12, { topics: null }))).toEqual(
      bytes(0x00, 0x01, 0x00, 0x00),
    );
  });

  it("refuses what a version cannot express", () => {
    const w = new Writer();
    expect(() => encodeMetadataRequest(w, 9, { topics: [{ name: null }] })).toThrow(RangeError);
    expect(() =>
      encodeMetadataRequest(w, 3, { topics: null, allowAutoTopicCreation: false }),
    ).toThrow(RangeError);
    expect(() =>
      encodeMetadataRequest(w, 7, { topics: null, includeTopicAuthorizedOperations: true }),
    ).toThrow(RangeError);
    expect(() =>
      encodeMetadataRequest(w, 11, { topics: null, includeClusterAuthorizedOperations: true }),
    ).toThrow(RangeError);
    expect(() => encodeMetadataRequest(w, 0, { topics: null })).toThrow(ProtocolError);
    expect(() => encodeMetadataRequest(w, 13, { topics: null })).toThrow(ProtocolError);
  });

  it("frames with header v1 below v9 and v2 from v9", () => {
    const v1 = Buffer.from(metadataRequestFrame(new Writer(), 1, 5, null, { topics: null }));
    expect(v1).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x0e], // size 14
        [0x00, 0x03, 0x00, 0x01], // Metadata v1
        [0x00, 0x00, 0x00, 0x05], // correlation id
        [0xff, 0xff], // client id null
        [0xff, 0xff, 0xff, 0xff], // topics null
      ),
    );
    const v12 = Buffer.from(metadataRequestFrame(new Writer(), 12, 6, null, { topics: null }));
    expect(v12).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x0f], // size 15
        [0x00, 0x03, 0x00, 0x0c], // Metadata v12
        [0x00, 0x00, 0x00, 0x06],
        [0xff, 0xff], // client id null
        0x00, // header tagged fields
        [0x00, 0x01, 0x00, 0x00], // body
      ),
    );
  });

  it("round-trips every version 1-12", () => {
    for (let v = METADATA_VERSIONS.min; v <= METADATA_VERSIONS.max; v++) {
      const req: MetadataRequest = {
        topics: [{ name: "foo", topicId: TOPIC_ID }],
        allowAutoTopicCreation: true,
        includeClusterAuthorizedOperations: v >= 8 && v <= 10,
        includeTopicAuthorizedOperations: v >= 8,
      };
      const buf = body((w) => encodeMetadataRequest(w, v, req));
      const r = new Reader(buf);
      expect(decodeMetadataRequest(r, v)).toEqual({
        ...req,
        topics: [{ name: "foo", topicId: v >= 10 ? TOPIC_ID : ZERO_UUID }],
      });
      expect(r.remaining).toBe(0);
      const all = body((w) => encodeMetadataRequest(w, v, { topics: null }));
      expect(decodeMetadataRequest(new Reader(all), v).topics).toBeNull();
    }
  });
});

describe("Metadata response", () => {
  it("decodes a v12 response (hand-assembled)", () => {
    const r = new Reader(V12_RESPONSE);
    const res = decodeMetadataResponse(r, 12);
    expect(r.remaining).toBe(0);
    expect(res).toEqual({
      throttleTimeMs: 0,
      brokers: [{ nodeId: 1, host: "localhost", port: 9092, rack: null }],
      clusterId: "abc",
      controllerId: 1,
      topics: [
        {
          errorCode: 0,
          name: "foo",
          topicId: TOPIC_ID,
          isInternal: false,
          partitions: [
            {
              errorCode: 0,
              partitionIndex: 0,
              leaderId: 1,
              leaderEpoch: 5,
              replicaNodes: [1, 2, 3],
              isrNodes: [1, 2],
              offlineReplicas: [3],
            },
          ],
          topicAuthorizedOperations: 3064,
        },
      ],
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    } satisfies MetadataResponse);
  });

  it("decodes a v12 unknown topic asked by id (null name)", () => {
    const buf = bytes(
      [0, 0, 0, 0], // throttle
      0x01, // brokers: empty
      0x00, // cluster_id null
      [0xff, 0xff, 0xff, 0xff], // controller_id -1
      0x02, // 1 topic
      [0x00, 0x64], // UNKNOWN_TOPIC_ID (100)
      0x00, // name null
      UUID,
      0x00, // is_internal
      0x01, // no partitions
      [0x80, 0x00, 0x00, 0x00], // topic_authorized_operations omitted
      0x00,
      0x00,
    );
    const res = decodeMetadataResponse(new Reader(buf), 12);
    expect(res.controllerId).toBe(-1);
    expect(res.clusterId).toBeNull();
    expect(res.topics[0]).toMatchObject({ errorCode: 100, name: null, partitions: [] });
    expect(res.topics[0]!.topicAuthorizedOperations).toBe(AUTHORIZED_OPERATIONS_OMITTED);
    // Below v12 the name is not nullable.
    const v11 = Buffer.from(buf);
    expect(() => decodeMetadataResponse(new Reader(v11), 11)).toThrow(ProtocolError);
  });

  it("decodes a v1 response (hand-assembled)", () => {
    const r = new Reader(V1_RESPONSE);
    expect(decodeMetadataResponse(r, 1)).toEqual({
      throttleTimeMs: 0,
      brokers: [{ nodeId: 2, host: "kafk", port: 9093, rack: "r1" }],
      clusterId: null,
      controllerId: 2,
      topics: [
        {
          errorCode: 0,
          name: "bar",
          topicId: ZERO_UUID,
          isInternal: true,
          partitions: [
            {
              errorCode: 9,
              partitionIndex: 3,
              leaderId: 2,
              leaderEpoch: -1,
              replicaNodes: [2],
              isrNodes: [],
              offlineReplicas: [],
            },
          ],
          topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
        },
      ],
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    });
    expect(r.remaining).toBe(0);
  });

  it("decodes KafkaJS's real-broker v5 fixtures", () => {
    const r = new Reader(Buffer.from(KAFKAJS_V5_RESPONSE));
    const res = decodeMetadataResponse(r, 5);
    expect(r.remaining).toBe(0);
    expect(res.throttleTimeMs).toBe(0);
    expect(res.brokers).toEqual([
      { nodeId: 2, host: "10.3.220.89", port: 9098, rack: null },
      { nodeId: 1, host: "10.3.220.89", port: 9095, rack: null },
      { nodeId: 0, host: "10.3.220.89", port: 9092, rack: null },
    ]);
    expect(res.clusterId).toBe("wyOEk0m7Tn-08oGZjtVgEg");
    expect(res.controllerId).toBe(2);
    expect(res.topics).toHaveLength(1);
    expect(res.topics[0]!.name).toBe(
      "test-topic-f5e17a86896ebfdeb429-80829-a37b6dde-1adc-4687-813d-52d75a0a0f78",
    );
    expect(res.topics[0]!.partitions).toEqual([
      {
        errorCode: 0,
        partitionIndex: 0,
        leaderId: 0,
        leaderEpoch: -1,
        replicaNodes: [0],
        isrNodes: [0],
        offlineReplicas: [],
      },
    ]);

    const off = decodeMetadataResponse(new Reader(Buffer.from(KAFKAJS_V5_OFFLINE)), 5);
    expect(off.clusterId).toBe("tDr4DgFsS96sOEZu6e-N-Q");
    expect(off.topics.map((t) => t.name)).toEqual(["topic-test", "test-topic-tommy"]);
    expect(off.topics[0]!.partitions).toHaveLength(6);
    expect(off.topics[0]!.partitions[0]).toEqual({
      errorCode: 5,
      partitionIndex: 2,
      leaderId: -1,
      leaderEpoch: -1,
      replicaNodes: [2],
      isrNodes: [],
      offlineReplicas: [2],
    });
    expect(off.topics[1]!.partitions[0]!.offlineReplicas).toEqual([2]);
  });

  it("round-trips every version 1-12, with the defaults a version lacks", () => {
    const full: MetadataResponse = {
      throttleTimeMs: 7,
      brokers: [
        { nodeId: 1, host: "a", port: 9092, rack: "r" },
        { nodeId: 2, host: "b", port: 9093, rack: null },
      ],
      clusterId: "cid",
      controllerId: 2,
      topics: [
        {
          errorCode: 0,
          name: "foo",
          topicId: TOPIC_ID,
          isInternal: false,
          partitions: [
            {
              errorCode: 0,
              partitionIndex: 0,
              leaderId: 1,
              leaderEpoch: 5,
              replicaNodes: [1, 2],
              isrNodes: [1],
              offlineReplicas: [2],
            },
          ],
          topicAuthorizedOperations: 248,
        },
      ],
      clusterAuthorizedOperations: 3,
    };
    for (let v = METADATA_VERSIONS.min; v <= METADATA_VERSIONS.max; v++) {
      const buf = body((w) => encodeMetadataResponse(w, v, full));
      const r = new Reader(buf);
      const res = decodeMetadataResponse(r, v);
      expect(r.remaining).toBe(0);
      const p = full.topics[0]!.partitions[0]!;
      expect(res).toEqual({
        ...full,
        throttleTimeMs: v >= 3 ? 7 : 0,
        clusterId: v >= 2 ? "cid" : null,
        topics: [
          {
            ...full.topics[0],
            topicId: v >= 10 ? TOPIC_ID : ZERO_UUID,
            topicAuthorizedOperations: v >= 8 ? 248 : AUTHORIZED_OPERATIONS_OMITTED,
            partitions: [
              {
                ...p,
                leaderEpoch: v >= 7 ? 5 : -1,
                offlineReplicas: v >= 5 ? [2] : [],
              },
            ],
          },
        ],
        clusterAuthorizedOperations: v >= 8 && v <= 10 ? 3 : AUTHORIZED_OPERATIONS_OMITTED,
      });
    }
  });

  it("skips unknown tagged fields", () => {
    // The v12 vector with a tagged field (tag 5, 3 bytes) on the broker and at the top level.
    const withTags = Buffer.concat([
      V12_RESPONSE.subarray(0, 24),
      bytes(0x01, 0x05, 0x03, 0xaa, 0xbb, 0xcc), // broker tagged fields
      V12_RESPONSE.subarray(25, V12_RESPONSE.length - 1),
      bytes(0x01, 0x05, 0x03, 0xaa, 0xbb, 0xcc), // top-level tagged fields
    ]);
    expect(V12_RESPONSE[24]).toBe(0x00); // the broker's empty tagged fields, replaced above
    const r = new Reader(withTags);
    expect(decodeMetadataResponse(r, 12)).toEqual(
      decodeMetadataResponse(new Reader(V12_RESPONSE), 12),
    );
    expect(r.remaining).toBe(0);
  });
});

describe("Metadata decoders under hostile input", () => {
  const vectors: [Buffer, number][] = [
    [V12_RESPONSE, 12],
    [V1_RESPONSE, 1],
    [Buffer.from(KAFKAJS_V5_RESPONSE), 5],
    [Buffer.from(KAFKAJS_V5_OFFLINE), 5],
  ];

  it("every truncation throws a ProtocolError", () => {
    for (const [buf, version] of vectors) {
      for (let n = 0; n < buf.length; n++) {
        expect(() => decodeMetadataResponse(new Reader(buf.subarray(0, n)), version)).toThrow(
          ProtocolError,
        );
      }
    }
  });

  it("random bytes and mutations throw only ProtocolError", () => {
    const next = prng(42);
    for (let i = 0; i < 2000; i++) {
      const len = next() % 96;
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = next() & 0xff;
      for (let v = METADATA_VERSIONS.min; v <= METADATA_VERSIONS.max; v++) {
        onlyProtocolErrors(() => decodeMetadataResponse(new Reader(buf), v));
        onlyProtocolErrors(() => decodeMetadataRequest(new Reader(buf), v));
      }
    }
    for (const [buf, version] of vectors) {
      for (let i = 0; i < 1000; i++) {
        const m = Buffer.from(buf);
        m[next() % m.length] = next() & 0xff;
        onlyProtocolErrors(() => decodeMetadataResponse(new Reader(m), version));
      }
    }
  });

  it("lying counts fail fast", () => {
    // v1: brokers count 2^31-1 with nothing behind it.
    expect(() => decodeMetadataResponse(new Reader(bytes(0x7f, 0xff, 0xff, 0xff)), 1)).toThrow(
      /array of 2147483647/,
    );
    // v12: a replica array claiming 2^28 entries.
    const lie = Buffer.from(V12_RESPONSE);
    const at = 72; // the replica_nodes count (3 + 1), after leader_epoch
    expect(lie.subarray(at, at + 5)).toEqual(bytes(0x04, 0, 0, 0, 1));
    const spliced = Buffer.concat([
      lie.subarray(0, at),
      bytes(0x80, 0x80, 0x80, 0x80, 0x01),
      lie.subarray(at + 1),
    ]);
    expect(() => decodeMetadataResponse(new Reader(spliced), 12)).toThrow(ProtocolError);
  });
});
