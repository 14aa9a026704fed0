/**
 * `event-kafka perf`: what Kafka's kafka-producer-perf-test measures, through
 * this producer's API: N records of a size (or lines of a payload file), at a
 * capped rate or as fast as the queue takes them; a line per interval and a
 * final line with records/s, MB/s and the delivery latency of every record
 * (produce() to its report) from a histogram: average, max, p50..p99.9.
 */
import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { KafkaClientError } from "../client/client-error.js";
import { silentLogger } from "../client/logger.js";
import { Producer } from "../producer/producer.js";
import type { DeliveryError, DeliveryReport } from "../producer/record.js";
import { TransactionError } from "../producer/transaction-error.js";
import { parseSocket } from "../socket/socket.js";
import { LatencyHistogram } from "./latency-histogram.js";
import {
  integerOf,
  parseCommandArgs,
  parseDelimiter,
  propertiesWith,
  stringOf,
  stringsOf,
} from "./options.js";
import { allReportsWaitMs } from "./session.js";
import {
  addTransactionalId,
  counted,
  endTransactions,
  isTransactional,
  RunTransactions,
  reportTransactionEnd,
  transactionFlag,
} from "./transactions.js";
import { UsageError } from "./usage.js";

const OPTIONS = {
  records: { type: "string", short: "n" },
  "record-size": { type: "string", short: "s" },
  "payload-file": { type: "string" },
  "payload-delimiter": { type: "string" },
  throughput: { type: "string" },
  property: { type: "string", short: "X", multiple: true },
  interval: { type: "string" },
  json: { type: "boolean" },
  "transactional-id": { type: "string" },
  "transaction-duration-ms": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Java's tool counts MB as 2^20 bytes; so does this one, for figures side by side. */
const MB = 1024 * 1024;
/** produce() calls between turns of the event loop, so sockets are written meanwhile. */
const CHUNK = 1000;
/** How long a transaction stays open when only the id is given (ProducerPerformance's default). */
const DEFAULT_TRANSACTION_DURATION_MS = 3000;
/** How long the open transaction's abort may take after a signal or a failure. */
const ABORT_WAIT_MS = 10_000;

interface PerfArgs {
  records: number;
  payloads: Buffer[];
  /** Records per second at most; 0 for no cap. */
  throughput: number;
  intervalMs: number;
  json: boolean;
}

function parsePerfArgs(values: ReturnType<typeof parseCommandArgs>["values"]): PerfArgs {
  const recordsText = stringOf(values, "records");
  if (recordsText === undefined) throw new UsageError("perf needs --records N");
  const records = integerOf("--records", recordsText, 1, 2 ** 40);
  const size = stringOf(values, "record-size");
  const file = stringOf(values, "payload-file");
  if ((size === undefined) === (file === undefined)) {
    throw new UsageError("perf needs one of --record-size BYTES and --payload-file FILE");
  }
  let payloads: Buffer[];
  if (size !== undefined) {
    // Random upper-case letters, as Java's tool sends: incompressible enough, printable.
    const bytes = integerOf("--record-size", size, 0, 100 * MB);
    const payload = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) payload[i] = 65 + randomInt(26);
    payloads = [payload];
  } else {
    const delimiterText = stringOf(values, "payload-delimiter");
    const delimiter =
      delimiterText === undefined
        ? Buffer.from("\n")
        : parseDelimiter("--payload-delimiter", delimiterText);
    let text: Buffer;
    try {
      text = readFileSync(file!);
    } catch (err) {
      throw new UsageError(`--payload-file ${file}: ${(err as Error).message}`);
    }
    payloads = [];
    for (let pos = 0; pos < text.length; ) {
      const at = text.indexOf(delimiter, pos);
      const end = at < 0 ? text.length : at;
      if (end > pos) payloads.push(text.subarray(pos, end));
      pos = end + delimiter.length;
    }
    if (payloads.length === 0) throw new UsageError(`--payload-file ${file} holds no payload`);
  }
  const throughputText = stringOf(values, "throughput") ?? "-1";
  const throughput = Number(throughputText);
  if (!(throughput === -1 || throughput > 0)) {
    throw new UsageError(`--throughput expects records/s (-1: no cap), got "${throughputText}"`);
  }
  const intervalText = stringOf(values, "interval");
  return {
    records,
    payloads,
    throughput: throughput === -1 ? 0 : throughput,
    intervalMs:
      intervalText === undefined ? 5000 : integerOf("--interval", intervalText, 100, 3_600_000),
    json: values.json === true,
  };
}

/** Records delivered in one stretch of the run (an interval), with their latencies. */
class Window {
  readonly latency = new LatencyHistogram();
  constructor(
    readonly startedAt: number,
    /** Bytes per record (their mean with a payload file). */
    private readonly recordBytes: number,
  ) {}

  line(now: number): string {
    const s = Math.max((now - this.startedAt) / 1000, 1e-9);
    const n = this.latency.count;
    return `${n} records sent, ${(n / s).toFixed(1)} records/sec (${((n * this.recordBytes) / s / MB).toFixed(2)} MB/sec), ${ms(this.latency.mean)} ms avg latency, ${ms(this.latency.max)} ms max latency`;
  }
}

/** µs as ms with two decimals. */
function ms(us: number): string {
  return (us / 1000).toFixed(2);
}

export async function perf(args: readonly string[]): Promise<number | "help"> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  if (values.help) return "help";
  if (positionals.length !== 1) throw new UsageError("perf needs one SOCKET (kafka:BROKERS/TOPIC)");
  const socket = parseSocket(positionals[0]!, { refuseDuplicates: true });
  const opts = parsePerfArgs(values);
  const { records, payloads, throughput } = opts;
  const topic = socket.topic;
  const settings = stringsOf(values, "property");
  addTransactionalId(values, settings);
  const properties = propertiesWith(socket, settings);
  const transactional = isTransactional(properties);
  const transactionMs =
    transactionFlag(
      "--transaction-duration-ms",
      stringOf(values, "transaction-duration-ms"),
      transactional,
      1,
      2 ** 31 - 1,
    ) ?? DEFAULT_TRANSACTION_DURATION_MS;

  const recordBytes = payloads.reduce((sum, p) => sum + p.length, 0) / payloads.length;
  let t0 = performance.now();
  /** Every record's latency, the whole run. */
  const latency = new LatencyHistogram();
  let interval = new Window(t0, recordBytes);
  let completed = 0;
  let failed = 0;
  let firstError: DeliveryError | undefined;
  let lastReportAt = t0;
  let resume: (() => void) | undefined;
  /** Sending stops: a signal, or a transaction that cannot commit. */
  let stopped = false;
  let finished: () => void = () => {};
  const allReported = new Promise<void>((r) => {
    finished = r;
  });
  const producer = new Producer(properties, {
    logger: silentLogger,
    onDelivery: (err: DeliveryError | null, report: DeliveryReport) => {
      const now = performance.now();
      lastReportAt = now;
      completed++;
      if (err !== null) {
        failed++;
        firstError ??= err;
        // A transaction is all or nothing: its first failed record ends the run.
        if (txn !== undefined) stopped = true;
      } else {
        // The record's produce() time rides in its opaque.
        const us = (now - (report.opaque as number)) * 1000;
        latency.record(us);
        interval.latency.record(us);
      }
      if (resume !== undefined && (producer.queueLength <= lowWater || stopped)) {
        const r = resume;
        resume = undefined;
        r();
      }
      if (completed === records) finished();
    },
    onError: (err) => {
      if (err instanceof KafkaClientError && err.code === "ALL_BROKERS_DOWN") {
        process.stderr.write(`event-kafka: warning: ${err.message} (retrying)\n`);
      }
    },
  });
  const lowWater = Math.floor(producer.config["queue.buffering.max.messages"] / 2);
  const txn = transactional ? new RunTransactions(producer) : undefined;
  /** What ended a transactional run early: its open transaction is aborted. */
  let failure: Error | undefined;
  const commitWaitMs = allReportsWaitMs(producer.config["message.timeout.ms"]);

  if (txn !== undefined) {
    try {
      await txn.init();
    } catch (err) {
      await producer.close(0);
      process.stderr.write(`event-kafka: ${(err as Error).message}\n`);
      return 1;
    }
  }
  // One record first, not counted: the connection, the metadata and the producer
  // id are then in place, as Java's tool has them after its first send() blocks
  // for metadata. Without it the records of the first 100 ms or so would all
  // wait for the set-up, and at a fixed rate that alone is the 99th percentile.
  // With transactions it is the first transaction's first record.
  try {
    txn?.ensureOpen();
    await producer.send({ topic, value: payloads[0]! });
    txn?.add(1);
  } catch (err) {
    await producer.close(0);
    process.stderr.write(`event-kafka: the warm-up record failed: ${(err as Error).message}\n`);
    return 1;
  }
  t0 = performance.now();
  lastReportAt = t0;
  interval = new Window(t0, recordBytes);

  const ticker = setInterval(() => {
    const now = performance.now();
    process.stdout.write(`${interval.line(now)}.\n`);
    interval = new Window(now, recordBytes);
  }, opts.intervalMs);

  const onSignal = (): void => {
    stopped = true;
    resume?.();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  /** As ProducerPerformance: a transaction is committed once it has been open for the duration. */
  const commitDue = (): boolean => txn !== undefined && txn.age >= transactionMs;
  const commit = async (): Promise<void> => {
    try {
      await txn!.commit(commitWaitMs);
    } catch (err) {
      failure ??= err as Error;
      stopped = true;
    }
  };

  let sent = 0;
  let abortFailure: Error | undefined;
  try {
    while (sent < records && !stopped) {
      let n = Math.min(CHUNK, records - sent);
      if (throughput > 0) {
        // Never ahead of the rate: the records due by now, or a sleep until the next one is.
        const due = Math.floor(((performance.now() - t0) / 1000) * throughput) + 1;
        if (sent >= due) {
          const wait = ((sent + 1) / throughput) * 1000 - (performance.now() - t0);
          await new Promise((r) => setTimeout(r, Math.max(1, Math.floor(wait))));
          if (commitDue()) await commit();
          continue;
        }
        n = Math.min(n, due - sent);
      }
      for (let i = 0; i < n && !stopped; i++) {
        const value = payloads.length === 1 ? payloads[0]! : payloads[randomInt(payloads.length)]!;
        txn?.ensureOpen();
        try {
          producer.produce({ topic, value, opaque: performance.now() });
        } catch (err) {
          if (!(err instanceof KafkaClientError) || err.code !== "QUEUE_FULL") throw err;
          // Wait for the reports to drain the queue to half.
          await new Promise<void>((r) => {
            resume = r;
          });
          i--;
          continue;
        }
        sent++;
        txn?.add(1);
        // Checked per record, as Java's tool does; awaited only when due (no await per record).
        if (commitDue()) await commit();
      }
      await new Promise((r) => setImmediate(r));
    }
    if (txn !== undefined) {
      const ended = await endTransactions(txn, {
        commit: !stopped && failure === undefined,
        failure,
        commitWaitMs,
        abortWaitMs: ABORT_WAIT_MS,
      });
      failure = ended.failure;
      abortFailure = ended.abortFailure;
    } else if (sent === records) await Promise.race([allReported, producer.flush(2 ** 31 - 1)]);
    else await producer.flush(10_000);
  } catch (err) {
    // produce() refuses records once the transaction cannot commit (or the producer is fenced).
    if (!(err instanceof TransactionError)) throw err;
    failure ??= err;
    ({ abortFailure } = await endTransactions(txn!, {
      commit: false,
      failure,
      commitWaitMs,
      abortWaitMs: ABORT_WAIT_MS,
    }));
  } finally {
    clearInterval(ticker);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await producer.close(0);
  }

  const seconds = Math.max((lastReportAt - t0) / 1000, 1e-9);
  const delivered = completed - failed;
  const rate = delivered / seconds;
  const figures = { sent, delivered, failed, seconds, rate, mbps: (rate * recordBytes) / MB };
  process.stdout.write(
    `${opts.json ? jsonLine(figures, latency, txn) : textLine(figures, latency, txn)}\n`,
  );
  if (failed > 0) {
    process.stderr.write(`event-kafka: ${failed} record(s) failed: ${firstError?.message}\n`);
  }
  if (completed < sent) {
    process.stderr.write(`event-kafka: ${sent - completed} record(s) without a report\n`);
  }
  // Every transaction committed: nothing more to say (the last line counts them).
  const allCommitted =
    txn === undefined ||
    (failure === undefined && abortFailure === undefined && txn.aborted === 0 && !txn.isOpen);
  if (txn !== undefined && !allCommitted) {
    reportTransactionEnd(txn, { failure, abortFailure, alreadySaid: firstError });
  }
  return failed > 0 || completed < sent || !allCommitted ? 1 : 0;
}

interface RunFigures {
  sent: number;
  delivered: number;
  failed: number;
  seconds: number;
  /** Delivered records per second. */
  rate: number;
  mbps: number;
}

/** The last line as JSON (--json); `transactions` only for a transactional run. */
function jsonLine(f: RunFigures, h: LatencyHistogram, txn: RunTransactions | undefined): string {
  const round = (v: number): number => Math.round(v * 1000) / 1000;
  return JSON.stringify({
    records: f.sent,
    delivered: f.delivered,
    failed: f.failed,
    seconds: round(f.seconds),
    records_per_s: Math.round(f.rate),
    mb_per_s: round(f.mbps),
    latency_ms: {
      avg: round(h.mean / 1000),
      max: round(h.max / 1000),
      p50: round(h.percentile(50) / 1000),
      p95: round(h.percentile(95) / 1000),
      p99: round(h.percentile(99) / 1000),
      p99_9: round(h.percentile(99.9) / 1000),
    },
    ...(txn !== undefined && {
      transactions: { committed: txn.committed, aborted: txn.aborted },
    }),
  });
}

/** Java's last line; a transactional run adds how many transactions were committed. */
function textLine(f: RunFigures, h: LatencyHistogram, txn: RunTransactions | undefined): string {
  const committed = txn === undefined ? "" : `, ${counted(txn.committed, "transaction")} committed`;
  return `${f.sent} records sent, ${f.rate.toFixed(1)} records/sec (${f.mbps.toFixed(2)} MB/sec), ${ms(h.mean)} ms avg latency, ${ms(h.max)} ms max latency, ${ms(h.percentile(50))} ms 50th, ${ms(h.percentile(95))} ms 95th, ${ms(h.percentile(99))} ms 99th, ${ms(h.percentile(99.9))} ms 99.9th${committed}.`;
}
