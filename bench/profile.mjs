// The producer's hot path under the profiler: N records of 100 bytes, acks=1,
// produce() in runs of 1000 per turn of the event loop, against a broker.
//   npm run build && node --cpu-prof --cpu-prof-dir=/tmp/prof bench/profile.mjs [N] [bootstrap]
// (bootstrap defaults to KAFKA_BOOTSTRAP; `npm run broker` starts one).
import { Producer } from "../dist/index.js";

const records = Number(process.argv[2] ?? 2_000_000);
const bootstrap = process.argv[3] ?? process.env.KAFKA_BOOTSTRAP;
if (!bootstrap) throw new Error("give a bootstrap address or set KAFKA_BOOTSTRAP");
const topic = `profile-${Date.now()}`;
const values = Array.from({ length: 1024 }, (_, i) => Buffer.alloc(100, 97 + (i % 26)));

let delivered = 0;
let sent = 0;
let paused = false;
const producer = new Producer(
  { "bootstrap.servers": bootstrap, acks: 1 },
  {
    onDelivery: (err) => {
      if (!err) delivered++;
      if (paused && producer.queueLength <= 50_000) {
        paused = false;
        setImmediate(pump);
      }
    },
  },
);
let finish;
const done = new Promise((resolve) => {
  finish = resolve;
});

function pump() {
  const stop = Math.min(records, sent + 1000);
  try {
    while (sent < stop) {
      producer.produce({ topic, value: values[sent & 1023] });
      sent++;
    }
  } catch (err) {
    if (err.code !== "QUEUE_FULL") throw err;
    paused = true;
    return;
  }
  if (sent < records) setImmediate(pump);
  else finish();
}

await producer.send({ topic, value: "warm-up" }); // metadata and connection first
const t0 = performance.now();
pump();
await done;
await producer.flush(60_000);
const seconds = (performance.now() - t0) / 1000;
console.log(
  JSON.stringify({ delivered, seconds, recordsPerSecond: Math.round(records / seconds) }),
);
await producer.close(5000);
