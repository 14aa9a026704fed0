// @platformatic/kafka at its fastest: large send() calls (one Produce request per leader each),
// several in flight within the connection's maxInflights. Like KafkaJS it has no linger and no
// batch size: the caller's arrays are the batches.
import { ProduceAcks, Producer } from "@platformatic/kafka";
import { report, settings } from "../lib/client.mjs";
import { makeValues, POOL } from "../lib/data.mjs";

const s = settings();
const values = makeValues(s.valueSize);
const mask = POOL - 1;
const batchRecords = s.batchRecords ?? 10_000;
const concurrency = s.concurrency ?? 4;
const acks = s.acks === 1 ? ProduceAcks.LEADER : ProduceAcks.ALL;

const producer = new Producer({
  clientId: "bench-platformatic",
  bootstrapBrokers: [s.bootstrap],
  maxInflights: Math.max(5, concurrency),
  acks,
  compression: "none",
});

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
    for (let j = 0; j < count; j++)
      messages[j] = { topic: s.topic, value: values[(start + j) & mask] };
    try {
      await producer.send({ messages, acks });
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
await producer.close();
report({
  delivered,
  failed,
  seconds,
  batchRecords,
  concurrency,
  ...(firstError && { firstError }),
});
