// This project's transactional producer through its API, driven the way Kafka's
// ProducerPerformance drives one with --transaction-duration-ms: records produced one by one
// inside a transaction; after each produce() the transaction's age is checked, and once it has
// been open `transactionMs` it is committed and the next one begun. The loop waits for the
// commit (as Java's commitTransaction() blocks its send loop): commitTransaction() sends what
// is queued, waits for every report, then ends the transaction. Between chunks of produce()
// calls the loop yields to the event loop, so the sockets are written meanwhile.
//
// Every record's latency, produce() to its delivery report, goes into the same log-linear
// histogram `event-kafka perf` uses (dist/cli/latency-histogram.js, µs within 1.6 %).
// The clock runs from the first beginTransaction() (after initTransactions()) to the last
// commit resolved, as Java's tool times from before its loop to after its last commit.
// Where the time goes rides along: the time waiting in commits, the records still queued when
// each commit began (produced ahead of the network), and the process's GC pauses.
import { PerformanceObserver } from "node:perf_hooks";
import { LatencyHistogram } from "../../dist/cli/latency-histogram.js";
import { Producer } from "../../dist/index.js";
import { report, settings } from "../lib/client.mjs";
import { makeValues, POOL } from "../lib/data.mjs";

const s = settings();
const { topic, records, transactionMs } = s;
const values = makeValues(s.valueSize);
const mask = POOL - 1;
const chunk = s.chunkRecords || 1000;
const latency = new LatencyHistogram();
let delivered = 0;
let failed = 0;
let firstError;
let resume;
let lowWater = 0;

// One callback for every record (no closure per record); the produce() time rides in `opaque`.
const onReport = (err, rep) => {
  if (err) {
    failed++;
    firstError ??= err.message;
  } else {
    delivered++;
    latency.record((performance.now() - rep.opaque) * 1000);
  }
  if (resume !== undefined && producer.queueLength <= lowWater) {
    const r = resume;
    resume = undefined;
    r();
  }
};

const producer = new Producer({
  "bootstrap.servers": s.bootstrap,
  "transactional.id": s.transactionalId,
  acks: s.acks,
  "linger.ms": s.lingerMs,
  "batch.size": s.batchBytes,
  "compression.codec": "none",
});
lowWater = Math.floor(producer.config["queue.buffering.max.messages"] / 2);

const init0 = performance.now();
await producer.initTransactions();
const initSeconds = (performance.now() - init0) / 1000;

let sent = 0;
let committed = 0;
let queueFull = 0;
/** Time the loop spent waiting in commitTransaction() (flush of the last batches + EndTxn). */
let commitMs = 0;
let commitMaxMs = 0;
let queuedAtCommit = 0;
let queuedAtCommitMax = 0;
let protocol;
let gcMs = 0;
let gcMaxMs = 0;
let gcCount = 0;
const gc = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcCount++;
    gcMs += e.duration;
    if (e.duration > gcMaxMs) gcMaxMs = e.duration;
  }
});
gc.observe({ entryTypes: ["gc"] });
const t0 = performance.now();
while (sent < records) {
  producer.beginTransaction();
  protocol ??= producer.transactionState?.version;
  const txnStart = performance.now();
  let open = true;
  while (open && sent < records) {
    const stop = Math.min(records, sent + chunk);
    while (sent < stop) {
      const now = performance.now();
      try {
        producer.produce({ topic, value: values[sent & mask], opaque: now }, onReport);
      } catch (err) {
        if (err?.code !== "QUEUE_FULL") throw err;
        queueFull++;
        // Wait for the reports to drain the queue to half, then the same record again.
        await new Promise((r) => {
          resume = r;
        });
        continue;
      }
      sent++;
      // Java's check, after each send: transactionDurationMs <= sendStartMs - transactionStartTime.
      if (now - txnStart >= transactionMs) {
        open = false;
        break;
      }
    }
    if (open && sent < records) await new Promise((r) => setImmediate(r));
  }
  const queued = producer.queueLength;
  queuedAtCommit += queued;
  if (queued > queuedAtCommitMax) queuedAtCommitMax = queued;
  const c0 = performance.now();
  await producer.commitTransaction();
  const c = performance.now() - c0;
  commitMs += c;
  if (c > commitMaxMs) commitMaxMs = c;
  committed++;
}
const seconds = (performance.now() - t0) / 1000;
gc.disconnect();
const { bytesSent, batchesSent, requests, retries } = producer.stats();
await producer.close(10_000);

const ms = (us) => Math.round(us) / 1000;
report({
  delivered,
  failed,
  seconds,
  transactions: committed,
  protocol,
  initSeconds,
  commitSeconds: commitMs / 1000,
  commitMaxMs,
  queuedAtCommitMean: committed > 0 ? queuedAtCommit / committed : 0,
  queuedAtCommitMax,
  gc: { count: gcCount, ms: gcMs, maxMs: gcMaxMs },
  queueFull,
  latencyMs: {
    avg: ms(latency.mean),
    p50: ms(latency.percentile(50)),
    p95: ms(latency.percentile(95)),
    p99: ms(latency.percentile(99)),
    p99_9: ms(latency.percentile(99.9)),
    max: ms(latency.max),
  },
  stats: { bytesSent, batchesSent, requests, retries },
  ...(firstError && { firstError }),
});
