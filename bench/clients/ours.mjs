// This project through its producer API: produce() in a loop until QUEUE_FULL, resume when
// the delivery reports have drained the queue to half, flush() at the end.
import { Producer } from "../../dist/index.js";
import { report, settings } from "../lib/client.mjs";
import { makeValues, POOL } from "../lib/data.mjs";

const s = settings();
const values = makeValues(s.valueSize);
const mask = POOL - 1;
let delivered = 0;
let failed = 0;
let firstError;
let sent = 0;
let paused = false;
let lowWater = 0;

const producer = new Producer(
  {
    "bootstrap.servers": s.bootstrap,
    acks: s.acks,
    "linger.ms": s.lingerMs,
    "batch.size": s.batchBytes,
    "compression.codec": "none",
  },
  {
    onDelivery: (err) => {
      if (err) {
        failed++;
        firstError ??= err.message;
      } else delivered++;
      if (paused && producer.queueLength <= lowWater) {
        paused = false;
        setImmediate(pump);
      }
    },
  },
);
lowWater = Math.floor(producer.config["queue.buffering.max.messages"] / 2);
const { topic, records } = s;

let finish;
const done = new Promise((resolve) => {
  finish = resolve;
});

// Records per turn of the event loop: yielding lets the sockets write while more records are
// encoded (0: produce until QUEUE_FULL before yielding).
const chunk = s.chunkRecords || Number.POSITIVE_INFINITY;

function pump() {
  const stop = Math.min(records, sent + chunk);
  try {
    while (sent < stop) {
      producer.produce({ topic, value: values[sent & mask] });
      sent++;
    }
  } catch (err) {
    if (err?.code !== "QUEUE_FULL") throw err;
    paused = true;
    return;
  }
  if (sent < records) setImmediate(pump);
  else finish();
}

const t0 = performance.now();
pump();
await done;
await producer.flush(300_000);
const seconds = (performance.now() - t0) / 1000;
await producer.close(10_000);
report({ delivered, failed, seconds, ...(firstError && { firstError }) });
