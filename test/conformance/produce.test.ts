/**
 * Produce of record batches over a raw socket against the real broker, read
 * back by an independent client (the Java reader: Apache Kafka's own consumer)
 * and compared record by record, byte for byte. kcat (librdkafka) reads the
 * varied batch back too, as an extra cross-check when it is installed.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ApiKey } from "../../src/protocol/api-keys.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import {
  decodeProduceResponse,
  encodeProduceRequest,
  type ProduceRequest,
  type ProduceResponse,
} from "../../src/protocol/produce.js";
import { encodeRecordBatch, type RecordInput } from "../../src/protocol/record-batch.js";
import type { BrokerVersions } from "../../src/protocol/versions.js";
import { pickVersion } from "../../src/protocol/versions.js";
import { javaConsume, text } from "../broker/java-reader.js";
import { kcatConsume, kcatConsumeBinary } from "../broker/kcat.js";
import { peerTool } from "../helpers/peer-tools.js";
import { RawClient } from "../helpers/raw-client.js";
import { T0, variedRecords } from "../helpers/records.js";
import { brokerVersions, uniqueTopic, waitForTopic } from "../helpers/topics.js";

const bootstrap = inject("kafkaBootstrap");
const kcat = peerTool("kcat");
let client: RawClient;
let versions: BrokerVersions;

beforeAll(async () => {
  client = await RawClient.connect(bootstrap.split(",")[0]!);
  versions = await brokerVersions(client);
});
afterAll(() => client?.close());

function produce(version: number, req: ProduceRequest): Promise<ProduceResponse> {
  return client.request(
    ApiKey.Produce,
    version,
    (w) => encodeProduceRequest(w, version, req),
    (r) => decodeProduceResponse(r, version),
  );
}

/** What a key, value or header value is on the wire: UTF-8 bytes of a string, null kept. */
function bytes(d: RecordInput["value"] | undefined): Buffer | null {
  return d == null ? null : typeof d === "string" ? Buffer.from(d, "utf8") : Buffer.from(d);
}

/** Produces variedRecords() to partition 1 of a fresh topic; returns the topic. */
async function produceVaried(prefix: string, records: RecordInput[]): Promise<string> {
  const topic = uniqueTopic(prefix);
  await waitForTopic(client, topic);
  const version = pickVersion(ApiKey.Produce, versions, { min: 3, max: 12 });
  const res = await produce(version, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10000,
    topicData: [
      { name: topic, partitionData: [{ index: 1, records: encodeRecordBatch(records) }] },
    ],
  });
  const p = partitionResult(res, 1);
  expect(p.errorCode).toBe(0);
  expect(p.baseOffset).toBe(0);
  return topic;
}

function partitionResult(res: ProduceResponse, partition: number) {
  const p = res.responses[0]?.partitionResponses.find((x) => x.index === partition);
  if (!p) throw new Error(`no response for partition ${partition}: ${JSON.stringify(res)}`);
  return p;
}

describe("Produce against the broker", () => {
  it("accepts a batch of varied records and the Java reader reads back the same bytes", async () => {
    const records = variedRecords();
    const topic = await produceVaried("produce-varied", records);

    const back = await javaConsume(bootstrap, topic, { partition: 1 });
    expect(back.length).toBe(records.length);
    back.forEach((got, i) => {
      const want = records[i]!;
      expect(got.topic).toBe(topic);
      expect(got.partition).toBe(1);
      expect(got.offset).toBe(i);
      expect(got.key).toEqual(bytes(want.key));
      expect(got.value).toEqual(bytes(want.value));
      expect(got.timestamp).toBe(want.timestamp);
      expect(got.timestampType).toBe("CreateTime");
      expect(got.headers).toEqual(
        (want.headers ?? []).map((h) => ({ key: h.key, value: bytes(h.value) })),
      );
    });
    expect(text(back[3]!.key)).toBe("ключ");
    expect(text(back[3]!.value)).toBe("значение ✓ 日本語 🎉");
    expect(back[2]!.value).toEqual(Buffer.alloc(0)); // empty, not null
    expect(back[6]!.value).toBeNull();
    expect(back[1]!.key).toBeNull();
  });

  it("kcat (librdkafka) reads back the same bytes too", async (ctx) => {
    kcat.need(ctx);
    const records = variedRecords();
    const topic = await produceVaried("produce-varied-kcat", records);

    const back = await kcatConsumeBinary(bootstrap, topic, { partition: 1 });
    expect(back.length).toBe(records.length);
    back.forEach((got, i) => {
      const want = records[i]!;
      expect(got.offset).toBe(i);
      expect(got.key).toEqual(bytes(want.key));
      expect(got.payload).toEqual(bytes(want.value));
      expect(got.ts).toBe(want.timestamp);
      expect(got.headers).toEqual((want.headers ?? []).map((h) => [h.key, String(h.value)]));
    });

    // And through kcat's JSON envelope, as a second view.
    const json = await kcatConsume(bootstrap, topic, { partition: 1 });
    expect(json[3]).toMatchObject({
      key: "ключ",
      payload: "значение ✓ 日本語 🎉",
      tstype: "create",
    });
    expect(json[4]?.headers).toEqual(["trace", "abc123", "émoji", "🙂"]);
    expect(json[6]?.payload).toBeNull();
  });

  it("accepts a 900 kB value and thousands of records, several partitions in one request", async () => {
    const topic = uniqueTopic("produce-bulk");
    await waitForTopic(client, topic);
    const version = pickVersion(ApiKey.Produce, versions, { min: 3, max: 12 });
    const big = Buffer.alloc(900 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
    const many: RecordInput[] = [];
    for (let i = 0; i < 5000; i++) {
      many.push({ key: `key-${i}`, value: `value-${i}-${"x".repeat(i % 50)}`, timestamp: T0 + i });
    }
    const res = await produce(version, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 10000,
      topicData: [
        {
          name: topic,
          partitionData: [
            { index: 0, records: encodeRecordBatch([{ key: "big", value: big, timestamp: T0 }]) },
            { index: 1, records: encodeRecordBatch(many) },
            { index: 2, records: encodeRecordBatch(variedRecords()) },
          ],
        },
      ],
    });
    for (const i of [0, 1, 2]) expect(partitionResult(res, i).errorCode).toBe(0);

    const p0 = await javaConsume(bootstrap, topic, { partition: 0 });
    expect(p0.length).toBe(1);
    expect(text(p0[0]!.key)).toBe("big");
    expect(p0[0]!.value!.equals(big)).toBe(true);
    expect(p0[0]!.timestamp).toBe(T0);

    const p1 = await javaConsume(bootstrap, topic, { partition: 1 });
    expect(p1.length).toBe(many.length);
    p1.forEach((got, i) => {
      expect(got.offset).toBe(i);
      expect(got.key).toEqual(bytes(many[i]!.key));
      expect(got.value).toEqual(bytes(many[i]!.value));
      expect(got.timestamp).toBe(T0 + i);
      expect(got.headers).toEqual([]);
    });

    const p2 = await javaConsume(bootstrap, topic, { partition: 2 });
    const varied = variedRecords();
    expect(p2.length).toBe(varied.length);
    p2.forEach((got, i) => {
      expect(got.key).toEqual(bytes(varied[i]!.key));
      expect(got.value).toEqual(bytes(varied[i]!.value));
    });
  });

  it("works at every Produce version from v3 to the broker's newest (v13 by topic id)", async () => {
    const topic = uniqueTopic("produce-versions");
    const { topic: meta } = await waitForTopic(client, topic);
    const max = Math.min(13, versions.get(ApiKey.Produce)!.max);
    const sent: string[] = [];
    let expectedOffset = 0;
    for (let v = 3; v <= max; v++) {
      const value = `produced with v${v}`;
      sent.push(value);
      const res = await produce(v, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10000,
        topicData: [
          {
            name: topic,
            topicId: meta.topicId,
            partitionData: [{ index: 0, records: encodeRecordBatch([{ key: `v${v}`, value }]) }],
          },
        ],
      });
      const p = partitionResult(res, 0);
      expect(p.errorCode, `Produce v${v}`).toBe(0);
      expect(p.baseOffset, `Produce v${v}`).toBe(expectedOffset++);
      if (v >= 13)
        expect(Buffer.from(res.responses[0]!.topicId)).toEqual(Buffer.from(meta.topicId));
      else expect(res.responses[0]!.name).toBe(topic);
    }
    const back = await javaConsume(bootstrap, topic, { partition: 0 });
    expect(back.map((r) => text(r.value))).toEqual(sent);
    expect(back.map((r) => text(r.key))).toEqual(sent.map((_, i) => `v${i + 3}`));
    expect(back.map((r) => r.offset)).toEqual(sent.map((_, i) => i));
  });

  it("refuses a batch whose CRC is corrupted", async () => {
    const topic = uniqueTopic("produce-crc");
    await waitForTopic(client, topic);
    const batch = encodeRecordBatch([{ key: "k", value: "v" }]);
    batch[batch.length - 1]! ^= 0xff; // flip a payload byte: the CRC no longer matches
    const res = await produce(9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 10000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
    });
    expect(partitionResult(res, 0).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
  });

  it("reports UNKNOWN_TOPIC_OR_PARTITION for a partition the topic does not have", async () => {
    const topic = uniqueTopic("produce-nopart");
    await waitForTopic(client, topic);
    const res = await produce(9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 10000,
      topicData: [
        {
          name: topic,
          partitionData: [{ index: 7, records: encodeRecordBatch([{ value: "v" }]) }],
        },
      ],
    });
    expect(partitionResult(res, 7).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});
