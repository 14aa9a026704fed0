// This project through its producer API: produce() in a loop until QUEUE_FULL, resume when
// the delivery reports have drained the queue to half, flush() at the end. The values are the
// shared pool of makeValues(), or with `dataFile` the lines of that file (the codec case: the
// same file kcat reads), read before the clock starts; `codec` sets compression.codec.
import { Producer } from "../../dist/index.js";
import { report, settings } from "../lib/client.mjs";
import { makeKeys, makeValues, POOL, readLines } from "../lib/data.mjs";
import { subscribeAll } from "../lib/diagnostics.mjs";

const s = settings();
// The "ours-traced" rows: one subscriber on every diagnostics channel (docs/observability.md).
const traced = s.traced === true ? subscribeAll() : undefined;
const fromFile = s.dataFile !== undefined;
const values = fromFile ? readLines(s.dataFile) : makeValues(s.valueSize);
if (fromFile && values.length < s.records) {
  throw new Error(`${s.dataFile} has ${values.length} lines, ${s.records} records asked`);
}
const mask = POOL - 1;
// The partition-count case: keyed records (key i % keys, as Buffers).
const keys = s.keys ? makeKeys(s.keys).map((k) => Buffer.from(k)) : undefined;
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
    "compression.codec": s.codec ?? "none",
    // Idempotence is the default (with acks=-1); the "ours-plain" rows turn it off.
    ...(s.idempotence === false && { "enable.idempotence": false }),
    // The "ours-tls" rows: TLS to the broker's SSL listener, verified against the harness CA.
    ...(s.caFile !== undefined && { "security.protocol": "ssl", "ssl.ca.location": s.caFile }),
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
    if (fromFile) {
      while (sent < stop) {
        producer.produce({ topic, value: values[sent] });
        sent++;
      }
    } else if (keys !== undefined) {
      const nk = keys.length;
      while (sent < stop) {
        producer.produce({ topic, key: keys[sent % nk], value: values[sent & mask] });
        sent++;
      }
    } else {
      while (sent < stop) {
        producer.produce({ topic, value: values[sent & mask] });
        sent++;
      }
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
// Record-batch bytes on the wire, a cross-check of the bytes the broker's log holds.
const { bytesSent, batchesSent, requests, retries } = producer.stats();
await producer.close(10_000);
report({
  delivered,
  failed,
  seconds,
  stats: { bytesSent, batchesSent, requests, retries },
  ...(traced && { traced: traced.counts }),
  ...(firstError && { firstError }),
});
