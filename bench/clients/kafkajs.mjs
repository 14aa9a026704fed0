// KafkaJS 2.2.4 at its fastest: large sendBatch() calls (one Produce request per broker each),
// several in flight. KafkaJS has no linger and no batch size: the caller's arrays are the batches.
import kafkajs from "kafkajs";
import { report, settings } from "../lib/client.mjs";
import { makeValues, POOL } from "../lib/data.mjs";

const { CompressionTypes, Kafka, logLevel } = kafkajs;
const s = settings();
const values = makeValues(s.valueSize);
const mask = POOL - 1;
const batchRecords = s.batchRecords ?? 10_000;
const concurrency = s.concurrency ?? 4;

const kafka = new Kafka({
  clientId: "bench-kafkajs",
  brokers: [s.bootstrap],
  logLevel: logLevel.NOTHING,
});
const producer = kafka.producer({
  allowAutoTopicCreation: false,
  maxInFlightRequests: concurrency,
});
await producer.connect();

let next = 0;
let delivered = 0;
let failed = 0;
let firstError;

async function worker() {
  while (next < s.records) {
    const start = next;
    const count = Math.min(batchRecords, s.records - start);
    next += count;
    const messages = new Array(count);
    for (let j = 0; j < count; j++) messages[j] = { value: values[(start + j) & mask] };
    try {
      await producer.sendBatch({
        topicMessages: [{ topic: s.topic, messages }],
        acks: s.acks,
        compression: CompressionTypes.None,
      });
      delivered += count;
    } catch (err) {
      failed += count;
      firstError ??= err.message;
    }
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, worker));
const seconds = (performance.now() - t0) / 1000;
await producer.disconnect();
report({
  delivered,
  failed,
  seconds,
  batchRecords,
  concurrency,
  ...(firstError && { firstError }),
});
