// This project through its producer API: produce() in a loop until QUEUE_FULL, resume when
// the delivery reports have drained the queue to half, flush() at the end (with `stream`, a
// pipeline into createWriteStream() instead). The values are the
// shared pool of makeValues() (as strings with `strings`), or with `dataFile` the lines of that
// file (the codec case: the same file kcat reads); `codec` sets compression.codec. It reports
// its own CPU from the first produce() to the end of close() (apiCpuSeconds).
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Producer } from "../../dist/index.js";
import { report, settings } from "../lib/client.mjs";
import { makeKeys, makeValues, POOL } from "../lib/data.mjs";
import { subscribeAll } from "../lib/diagnostics.mjs";

const s = settings();
// The "ours-traced" rows: one subscriber on every diagnostics channel (docs/observability.md).
const traced = s.traced === true ? subscribeAll() : undefined;
const fromFile = s.dataFile !== undefined;
// With `dataFile` the file is read whole and its line starts found before the clock (input
// preparation, as the pool of values is for the other cases); each line becomes its value (a
// view, or a latin1 string) as it is produced, inside the clock and the API's CPU. Holding
// every line as its own object from the start would make each major GC mark a million of them,
// a cost of the bench and not of the producer. The first pass over a freshly read file costs
// some 0.2 µs a line on this machine (0.06 after), so finding the lines inside the clock made
// the bench's reading, not the producer, the codec rows' limit.
const file = fromFile ? readFileSync(s.dataFile) : undefined;
const lineStarts = fromFile ? findLineStarts(file, s.records) : undefined;

/** Where each of the first `count` lines starts, and one past the last line's newline. */
function findLineStarts(buf, count) {
  const starts = new Float64Array(count + 1);
  let pos = 0;
  for (let k = 0; k < count; k++) {
    if (pos >= buf.length) throw new Error(`${s.dataFile} has ${k} lines, ${count} records asked`);
    starts[k] = pos;
    const nl = buf.indexOf(10, pos);
    pos = nl === -1 ? buf.length + 1 : nl + 1;
  }
  starts[count] = pos;
  return starts;
}
// String values (`strings`): what an application holding text hands over.
const pool =
  s.strings === true
    ? makeValues(s.valueSize).map((b) => b.toString("latin1"))
    : makeValues(s.valueSize);
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
      const strings = s.strings === true;
      while (sent < stop) {
        const start = lineStarts[sent];
        const end = lineStarts[sent + 1] - 1;
        const value = strings ? file.toString("latin1", start, end) : file.subarray(start, end);
        producer.produce({ topic, value });
        sent++;
      }
    } else if (keys !== undefined) {
      const nk = keys.length;
      while (sent < stop) {
        producer.produce({ topic, key: keys[sent % nk], value: pool[sent & mask] });
        sent++;
      }
    } else {
      while (sent < stop) {
        producer.produce({ topic, value: pool[sent & mask] });
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

/**
 * The "ours-stream" rows: the same values through `pipeline(source, createWriteStream())`, the
 * source an object-mode Readable that pushes until the pipeline says stop.
 */
async function streamAll() {
  const sink = producer.createWriteStream({ topic });
  const source = new Readable({
    objectMode: true,
    highWaterMark: 1024,
    read() {
      while (sent < records) {
        const more = this.push(pool[sent & mask]);
        sent++;
        if (!more) return;
      }
      this.push(null);
    },
  });
  await pipeline(source, sink);
  delivered = sink.delivered;
  failed = sink.failed;
}

const t0 = performance.now();
const cpu0 = process.cpuUsage();
if (s.stream === true) await streamAll();
else {
  pump();
  await done;
}
await producer.flush(300_000);
const seconds = (performance.now() - t0) / 1000;
// Record-batch bytes on the wire, a cross-check of the bytes the broker's log holds.
const { bytesSent, batchesSent, requests, retries } = producer.stats();
await producer.close(10_000);
// The client's own CPU from the first produce() to the end of close().
const cpu = process.cpuUsage(cpu0);
report({
  apiCpuSeconds: (cpu.user + cpu.system) / 1e6,
  delivered,
  failed,
  seconds,
  stats: { bytesSent, batchesSent, requests, retries },
  ...(traced && { traced: traced.counts }),
  ...(firstError && { firstError }),
});
