// @platformatic/kafka at its fastest: large send() calls (one Produce request per leader each),
// several in flight within the connection's maxInflights. Like KafkaJS it has no linger and no
// batch size: the caller's arrays are the batches.
import { ProduceAcks, Producer } from "@platformatic/kafka";
import { report, runArrayWorkers, settings } from "../lib/client.mjs";
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

const result = await runArrayWorkers({
  records: s.records,
  batchRecords,
  concurrency,
  send: async (start, count) => {
    const messages = new Array(count);
    for (let j = 0; j < count; j++)
      messages[j] = { topic: s.topic, value: values[(start + j) & mask] };
    await producer.send({ messages, acks });
  },
});
await producer.close();
report({ ...result, batchRecords, concurrency });
