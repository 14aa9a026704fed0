/**
 * The reference reader itself, checked against a peer: KafkaJS (which shares no code with the
 * project) writes records with every corner a read-back must keep apart (null and empty keys
 * and values, binary bytes, repeated and empty headers, explicit timestamps), and the Java
 * reader must print exactly those.
 */
import { CompressionTypes, Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { uniqueTopic } from "../helpers/topics.js";
import { headerPairs, javaConsume, text } from "./java-reader.js";

const bootstrap = inject("kafkaBootstrap");
const kafka = new Kafka({
  clientId: "reader-check",
  brokers: [bootstrap],
  logLevel: logLevel.NOTHING,
});
const producer = kafka.producer({ allowAutoTopicCreation: false });
const admin = kafka.admin();
const topic = uniqueTopic("java-reader");
const second = uniqueTopic("java-reader-second");
const binary = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a, 0x22, 0x5c]);

beforeAll(async () => {
  await Promise.all([producer.connect(), admin.connect()]);
  await admin.createTopics({
    topics: [
      { topic, numPartitions: 2 },
      { topic: second, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  await producer.send({ topic: second, acks: -1, messages: [{ key: "s", value: "second" }] });
  await producer.send({
    topic,
    acks: -1,
    compression: CompressionTypes.GZIP,
    messages: [
      { partition: 0, key: null, value: null, timestamp: "1700000000000" },
      { partition: 0, key: Buffer.alloc(0), value: Buffer.alloc(0), timestamp: "1700000000001" },
      {
        partition: 0,
        key: binary,
        value: binary,
        headers: { a: ["1", "2"], empty: Buffer.alloc(0), bin: binary },
        timestamp: "1700000000002",
      },
      { partition: 1, key: "k", value: "on partition one", timestamp: "1700000000003" },
    ],
  });
});

afterAll(async () => {
  await Promise.all([producer.disconnect(), admin.disconnect()]);
});

describe("the Java reference reader", () => {
  it("prints null and empty keys and values apart, binary bytes and headers exactly", async () => {
    const records = await javaConsume(bootstrap, topic, { partition: 0 });
    expect(records.map((r) => r.offset)).toEqual([0, 1, 2]);
    expect(records[0]!.key).toBeNull();
    expect(records[0]!.value).toBeNull();
    expect(records[1]!.key).toEqual(Buffer.alloc(0));
    expect(records[1]!.value).toEqual(Buffer.alloc(0));
    expect(records[2]!.key).toEqual(binary);
    expect(records[2]!.value).toEqual(binary);
    expect(records[2]!.headers).toEqual([
      { key: "a", value: Buffer.from("1") },
      { key: "a", value: Buffer.from("2") },
      { key: "empty", value: Buffer.alloc(0) },
      { key: "bin", value: binary },
    ]);
    expect(records.map((r) => [r.timestamp, r.timestampType])).toEqual([
      [1700000000000, "CreateTime"],
      [1700000000001, "CreateTime"],
      [1700000000002, "CreateTime"],
    ]);
    expect(records.every((r) => r.topic === topic && r.partition === 0)).toBe(true);
  });

  it("reads every partition to its end, and several topics at once", async () => {
    const records = await javaConsume(bootstrap, [topic, second]);
    expect(records).toHaveLength(5);
    const one = records.filter((r) => r.topic === topic && r.partition === 1);
    expect(one.map((r) => [text(r.key), text(r.value), headerPairs(r)])).toEqual([
      ["k", "on partition one", []],
    ]);
    const other = records.filter((r) => r.topic === second);
    expect(other.map((r) => [r.offset, text(r.key), text(r.value)])).toEqual([[0, "s", "second"]]);
  });

  it("stops at --count, starts at an offset, and fails when fewer records arrive", async () => {
    expect(await javaConsume(bootstrap, topic, { partition: 0, count: 2 })).toHaveLength(2);
    const fromTwo = await javaConsume(bootstrap, topic, { partition: 0, offset: 2 });
    expect(fromTwo.map((r) => r.offset)).toEqual([2]);
    await expect(
      javaConsume(bootstrap, topic, { partition: 1, count: 2, timeoutMs: 1_500 }),
    ).rejects.toThrow(/read 1 of 2 records/);
  });

  it("names a topic that does not exist", async () => {
    await expect(
      javaConsume(bootstrap, uniqueTopic("absent"), { timeoutMs: 1_500 }),
    ).rejects.toThrow(/topic absent-\S+ not found within 1500 ms/);
  });
});
