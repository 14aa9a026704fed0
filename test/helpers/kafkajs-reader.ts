/**
 * An independent reader that needs nothing beyond `npm ci`: a KafkaJS
 * consumer (a fresh group, from the beginning) that collects `total` records
 * from `topics` and stops. KafkaJS shares no code with this project.
 */
import { Kafka, logLevel } from "kafkajs";
import { uniqueTopic } from "./topics.js";

export interface ReadRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

export async function kafkajsConsume(
  bootstrap: string,
  topics: readonly string[],
  total: number,
  timeoutMs = 90_000,
): Promise<ReadRecord[]> {
  const kafka = new Kafka({
    clientId: "independent-reader",
    brokers: bootstrap.split(","),
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: uniqueTopic("readers") });
  const got: ReadRecord[] = [];
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  let timer: NodeJS.Timeout | undefined;
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        got.push({
          topic,
          partition,
          offset: Number(message.offset),
          timestamp: Number(message.timestamp),
          key: message.key,
          value: message.value,
          headers: message.headers ?? {},
        });
        if (got.length >= total) done();
      },
    });
    await Promise.race([
      all,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`KafkaJS read ${got.length} of ${total} records`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
  return got;
}
