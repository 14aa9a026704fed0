// KafkaJS 2.2.4 at its fastest: large sendBatch() calls (one Produce request per broker each),
// several in flight. KafkaJS has no linger and no batch size: the caller's arrays are the batches.
import kafkajs from "kafkajs";
import { report, runArrayWorkers, settings } from "../lib/client.mjs";
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

const result = await runArrayWorkers({
  records: s.records,
  batchRecords,
  concurrency,
  send: async (start, count) => {
    const messages = new Array(count);
    for (let j = 0; j < count; j++) messages[j] = { value: values[(start + j) & mask] };
    await producer.sendBatch({
      topicMessages: [{ topic: s.topic, messages }],
      acks: s.acks,
      compression: CompressionTypes.None,
    });
  },
});
await producer.disconnect();
report({ ...result, batchRecords, concurrency });
