/**
 * Produce of record batches over a raw socket against the real broker, read
 * back by an independent client (kcat, librdkafka) and compared record by record.
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
import { kcatConsume, kcatConsumeBinary } from "../broker/kcat.js";
import { RawClient } from "../helpers/raw-client.js";
import { T0, variedRecords } from "../helpers/records.js";
import { brokerVersions, uniqueTopic, waitForTopic } from "../helpers/topics.js";

const bootstrap = inject("kafkaBootstrap");
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

function partitionResult(res: ProduceResponse, partition: number) {
  const p = res.responses[0]?.partitionResponses.find((x) => x.index === partition);
  if (!p) throw new Error(`no response for partition ${partition}: ${JSON.stringify(res)}`);
  return p;
}

describe("Produce against the broker", () => {
  it("accepts a batch of varied records and kcat reads back the same bytes", async () => {
    const topic = uniqueTopic("produce-varied");
    await waitForTopic(client, topic);
    const version = pickVersion(ApiKey.Produce, versions, { min: 3, max: 12 });
    const records = variedRecords();
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

    const back = await kcatConsumeBinary(bootstrap, topic, { partition: 1 });
    expect(back.length).toBe(records.length);
    back.forEach((got, i) => {
      const want = records[i]!;
      const bytes = (d: RecordInput["value"] | undefined) =>
        d == null ? null : typeof d === "string" ? Buffer.from(d, "utf8") : Buffer.from(d);
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

    const p0 = await kcatConsumeBinary(bootstrap, topic, { partition: 0 });
    expect(p0.length).toBe(1);
    expect(p0[0]!.payload!.equals(big)).toBe(true);

    const p1 = await kcatConsume(bootstrap, topic, { partition: 1 });
    expect(p1.length).toBe(many.length);
    p1.forEach((got, i) => {
      expect(got.offset).toBe(i);
      expect(got.key).toBe(many[i]!.key);
      expect(got.payload).toBe(many[i]!.value);
      expect(got.ts).toBe(T0 + i);
    });

    const p2 = await kcatConsume(bootstrap, topic, { partition: 2 });
    expect(p2.length).toBe(variedRecords().length);
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
    const back = await kcatConsume(bootstrap, topic, { partition: 0 });
    expect(back.map((r) => r.payload)).toEqual(sent);
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
