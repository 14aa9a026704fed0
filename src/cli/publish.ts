/**
 * `event-kafka publish`: records from arguments, standard input or a file,
 * with kcat's producer flags, a summary line, and signals that flush first.
 */
import { closeSync, openSync } from "node:fs";
import { KafkaClientError } from "../client/client-error.js";
import type { DelimitedRecords } from "../producer/record.js";
import { TransactionError } from "../producer/transaction-error.js";
import type { RecordHeader } from "../protocol/record-batch.js";
import { type KafkaSocket, parseSocket } from "../socket/socket.js";
import { forEachRegion, openInput } from "./input.js";
import {
  integerOf,
  parseCommandArgs,
  parseDelimiter,
  propertiesWith,
  stringOf,
  stringsOf,
} from "./options.js";
import { allReportsWaitMs, reportFailures, startSession, Tally } from "./session.js";
import {
  addTransactionalId,
  endTransactions,
  isTransactional,
  RunTransactions,
  reportTransactionEnd,
  transactionFlag,
} from "./transactions.js";
import { UsageError } from "./usage.js";

const OPTIONS = {
  key: { type: "string", short: "k" },
  "key-delimiter": { type: "string", short: "K" },
  delimiter: { type: "string", short: "D" },
  header: { type: "string", short: "H", multiple: true },
  partition: { type: "string", short: "p" },
  file: { type: "string", short: "l" },
  count: { type: "string", short: "c" },
  compression: { type: "string", short: "z" },
  property: { type: "string", short: "X", multiple: true },
  tee: { type: "boolean", short: "T" },
  "null-empty": { type: "boolean", short: "Z" },
  timeout: { type: "string", short: "t" },
  quiet: { type: "boolean", short: "q" },
  "transactional-id": { type: "string" },
  "transaction-records": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** How long a signalled run flushes when -t is not given. */
const SIGNAL_FLUSH_MS = 10_000;

const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

interface PublishArgs {
  socket: KafkaSocket;
  settings: string[];
  messages: string[];
  key: Buffer | null;
  keyDelimiter: Buffer | null;
  delimiter: Buffer;
  headers: RecordHeader[] | undefined;
  partition: number | undefined;
  file: string | undefined;
  count: number;
  tee: boolean;
  nullEmpty: boolean;
  waitMs: number | undefined;
  quiet: boolean;
  /** --transaction-records as given: checked once the properties say whether the run is transactional. */
  transactionRecords: string | undefined;
}

function parsePublishArgs(args: readonly string[]): PublishArgs | "help" {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  if (values.help) return "help";
  const [socketText, ...messages] = positionals;
  if (socketText === undefined) throw new UsageError("publish needs a SOCKET");
  const headers: RecordHeader[] = stringsOf(values, "header").map((h) => {
    const eq = h.indexOf("=");
    if (eq <= 0) throw new UsageError(`-H expects name=value, got "${h}"`);
    return { key: h.slice(0, eq), value: h.slice(eq + 1) };
  });
  const key = stringOf(values, "key");
  const keyDelimiter = stringOf(values, "key-delimiter");
  const delimiter = stringOf(values, "delimiter");
  const partition = stringOf(values, "partition");
  const count = stringOf(values, "count");
  const timeout = stringOf(values, "timeout");
  const file = stringOf(values, "file");
  if (file !== undefined && messages.length > 0) {
    throw new UsageError("give MESSAGE arguments or -l FILE, not both");
  }
  let waitMs: number | undefined;
  if (timeout !== undefined) {
    const t = Number(timeout);
    if (timeout.trim() === "" || !(t >= 0)) {
      throw new UsageError(`-t expects seconds, got "${timeout}"`);
    }
    waitMs = t * 1000;
  }
  const settings = stringsOf(values, "property");
  const compression = stringOf(values, "compression");
  if (compression !== undefined) settings.push(`compression.codec=${compression}`);
  addTransactionalId(values, settings);
  const p = partition === undefined ? -1 : integerOf("-p", partition, -1, 2 ** 31 - 1);
  return {
    socket: parseSocket(socketText, { refuseDuplicates: true }),
    settings,
    messages,
    key: key === undefined ? null : Buffer.from(key),
    keyDelimiter: keyDelimiter === undefined ? null : parseDelimiter("-K", keyDelimiter),
    delimiter: delimiter === undefined ? Buffer.from("\n") : parseDelimiter("-D", delimiter),
    headers: headers.length > 0 ? headers : undefined,
    partition: p < 0 ? undefined : p,
    file,
    count: count === undefined ? Number.POSITIVE_INFINITY : integerOf("-c", count, 1, 2 ** 53),
    tee: values.tee === true,
    nullEmpty: values["null-empty"] === true,
    waitMs,
    quiet: values.quiet === true,
    transactionRecords: stringOf(values, "transaction-records"),
  };
}

/** Thrown out of the record loop to stop reading: -c reached, a signal, a security failure. */
class StopReading extends Error {}

export async function publish(args: readonly string[]): Promise<number | "help"> {
  const opts = parsePublishArgs(args);
  if (opts === "help") return "help";
  const { socket, headers, partition } = opts;
  const properties = propertiesWith(socket, opts.settings);
  const transactional = isTransactional(properties);
  const perTransaction =
    transactionFlag("--transaction-records", opts.transactionRecords, transactional, 1, 2 ** 53) ??
    Number.POSITIVE_INFINITY;
  if (opts.file !== undefined) {
    // A missing or unreadable file is a bad argument, said before connecting.
    try {
      closeSync(openSync(opts.file, "r"));
    } catch (err) {
      throw new UsageError(`-l ${opts.file}: ${(err as Error).message}`);
    }
  }
  const tally = new Tally();
  let resume: (() => void) | undefined;
  /** Wakes a loop waiting for room (deliveries made some, or reading must stop). */
  const wake = (): void => {
    const r = resume;
    resume = undefined;
    r?.();
  };
  const session = startSession(properties, tally, {
    quiet: opts.quiet,
    afterReport: () => {
      if (resume && producer.queueLength <= lowWater) wake();
      // A transaction is all or nothing: its first failed record ends the run.
      if (txn !== undefined && tally.failed > 0 && !stopReading.signal.aborted) {
        fail(tally.firstError!);
      }
    },
  });
  const { producer, aborted, onTally } = session;
  const maxQueued = producer.config["queue.buffering.max.messages"];
  const lowWater = Math.floor(maxQueued / 2);
  const topic = socket.topic;
  const out = opts.tee ? process.stderr : process.stdout;
  const progress = startProgress(tally);
  const txn = transactional ? new RunTransactions(producer) : undefined;
  /** How long a commit (or close) waits for every report. */
  const commitWaitMs = opts.waitMs ?? allReportsWaitMs(producer.config["message.timeout.ms"]);

  // Signals: the first stops reading and flushes within a bound; a second exits now.
  let signalled: string | undefined;
  const stopReading = new AbortController();
  session.stopped.addEventListener("abort", () => stopReading.abort(), { once: true });
  /** What ended a transactional run: its open transaction is aborted, not committed. */
  let failure: Error | undefined;
  const fail = (err: Error): void => {
    failure ??= err;
    stopReading.abort();
    wake();
  };
  const flushMs = opts.waitMs ?? SIGNAL_FLUSH_MS;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled !== undefined) {
      progress.stop();
      out.write(`${tally.summary(produced - tally.reported)}\n`);
      if (txn !== undefined) process.stderr.write(`event-kafka: ${txn.closingLine()}\n`);
      process.stderr.write(`event-kafka: ${signal} again: exiting without waiting\n`);
      process.exit(SIGNAL_EXIT[signalled]);
    }
    signalled = signal;
    const next =
      txn === undefined ? `flushing for up to ${flushMs / 1000} s` : signalAction(txn, flushMs);
    process.stderr.write(`event-kafka: ${signal}: stopped reading; ${next} (again to exit now)\n`);
    stopReading.abort();
    wake();
    // A close already under way (input was done) gets the nearer deadline.
    if (closing && txn === undefined) void producer.close(flushMs);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  let produced = 0;
  let closing = false;
  const { keyDelimiter, nullEmpty, count } = opts;
  const teeDelimiter = opts.delimiter;
  /** The open transaction has its --transaction-records: room() commits it before the next record. */
  const transactionFull = (): boolean => txn?.isOpen === true && txn.records >= perTransaction;

  /**
   * Queues one record: synchronous, no allocation beyond the record itself.
   * Returns false, with nothing queued, when the queue (or the transaction) is full.
   */
  const produceRecord = (line: Buffer): boolean => {
    if (stopReading.signal.aborted) throw new StopReading();
    if (transactionFull()) return false;
    let key = opts.key;
    let value: Buffer | null = line;
    if (keyDelimiter) {
      const at = line.indexOf(keyDelimiter);
      if (at >= 0) {
        key = line.subarray(0, at);
        value = line.subarray(at + keyDelimiter.length);
        if (nullEmpty) {
          if (key.length === 0) key = null;
          if (value.length === 0) value = null;
        }
      }
    }
    txn?.ensureOpen();
    try {
      producer.produce({ topic, key, value, headers, partition });
    } catch (err) {
      if (!(err instanceof KafkaClientError)) throw err;
      if (err.code === "DESTROYED" && aborted()) throw new StopReading();
      if (err.code === "QUEUE_FULL") return false;
      if (err.code !== "MSG_SIZE_TOO_LARGE") throw err;
      tally.refused(err);
      // In a transaction it would be committed without this line: the run ends instead.
      if (txn !== undefined) {
        fail(err);
        throw new StopReading();
      }
      // One line too large for a record fails alone; the stream goes on.
    }
    txn?.add(1);
    if (opts.tee) process.stdout.write(Buffer.concat([line, teeDelimiter]));
    if (++produced >= count) throw new StopReading();
    return true;
  };
  const { delimiter } = opts;
  const width = delimiter.length;
  const stripCr = width === 1 && delimiter[0] === 10;
  /**
   * Without -K and -T every record of a region is the same but for its value:
   * they are queued straight from the read block. A record the producer leaves
   * (queue full, or too large) goes through produceRecord, which says why.
   */
  const whole = keyDelimiter === null && !opts.tee;
  const region: DelimitedRecords = {
    topic,
    data: Buffer.alloc(0),
    start: 0,
    end: 0,
    delimiter,
    stripCr,
    key: opts.key,
    headers,
    partition,
    maxRecords: 0,
  };
  /** Queues the records of buf[start, end); returns where it stopped (the queue or the transaction is full). */
  const produceRegion = (buf: Buffer, start: number, end: number): number => {
    let pos = start;
    while (pos < end) {
      if (stopReading.signal.aborted) throw new StopReading();
      if (whole) {
        txn?.ensureOpen();
        region.data = buf;
        region.start = pos;
        region.end = end;
        // Stops at the transaction's last record too; produceRecord then says it is full.
        region.maxRecords = Math.min(count - produced, perTransaction - (txn?.records ?? 0));
        const queued = producer.produceDelimited(region, onTally);
        produced += queued.records;
        txn?.add(queued.records);
        pos = queued.offset;
        if (produced >= count) throw new StopReading();
        if (pos >= end) break;
      }
      const at = width === 1 ? buf.indexOf(delimiter[0]!, pos) : buf.indexOf(delimiter, pos);
      // No delimiter: the input's last record, which runs to the region's end.
      const delimited = at !== -1 && at < end;
      let recordEnd = delimited ? at : end;
      if (stripCr && recordEnd > pos && buf[recordEnd - 1] === 13) recordEnd--; // CRLF
      // Empty records are skipped, as kcat does.
      if (recordEnd > pos && !produceRecord(buf.subarray(pos, recordEnd))) return pos;
      pos = delimited ? at + width : end;
    }
    return end;
  };
  /** Commits a transaction that has its records; a failure ends the run. */
  const commitFull = async (): Promise<void> => {
    try {
      await txn!.commit(commitWaitMs);
    } catch (err) {
      fail(err as Error);
    }
  };
  /** Resolves once deliveries have made room in the queue, a full transaction is committed, or reading must stop. */
  const room = (): Promise<void> => {
    if (stopReading.signal.aborted) return Promise.resolve();
    if (transactionFull()) return commitFull();
    return new Promise((r) => {
      resume = r;
    });
  };

  if (txn !== undefined) await initTransactions(txn, stopReading.signal).catch(fail);
  try {
    // Stopped already (a signal or failure while registering the transactional id): no input is read.
    if (stopReading.signal.aborted) throw new StopReading();
    if (opts.messages.length > 0) {
      for (const m of opts.messages) {
        const line = Buffer.from(m);
        while (!produceRecord(line)) await room();
      }
    } else {
      const input = openInput(opts.file);
      stopReading.signal.addEventListener("abort", () => input.destroy(), { once: true });
      await forEachRegion(input, delimiter, produceRegion, room, stopReading.signal);
    }
  } catch (err) {
    // A transaction that cannot go on (fatal, or bound to abort) ends the run like a failed record.
    if (err instanceof TransactionError) fail(err);
    // Reading stopped on purpose, or the input was destroyed because of it.
    else if (!(err instanceof StopReading) && !stopReading.signal.aborted) {
      progress.stop();
      throw err;
    }
  }
  closing = true;
  let abortFailure: Error | undefined;
  if (txn !== undefined) {
    const ended = await endTransactions(txn, {
      commit: failure === undefined && signalled === undefined && aborted() === undefined,
      failure,
      producerClosed: aborted() !== undefined,
      commitWaitMs,
      abortWaitMs: signalled !== undefined ? flushMs : commitWaitMs,
    });
    failure ??= ended.failure;
    abortFailure = ended.abortFailure;
  }
  try {
    const waitMs = signalled !== undefined ? flushMs : commitWaitMs;
    // A failed transactional run has nothing left worth waiting for.
    await producer.close(txn !== undefined && failure !== undefined ? 0 : waitMs);
  } finally {
    progress.stop();
  }
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  out.write(`${tally.summary()}\n`);
  reportFailures(tally, aborted());
  if (txn !== undefined) {
    reportTransactionEnd(txn, { failure, abortFailure, alreadySaid: tally.firstError });
  }
  if (signalled !== undefined) return SIGNAL_EXIT[signalled]!;
  const failed = tally.failed > 0 || tally.undelivered > 0 || aborted() !== undefined;
  return failed || failure !== undefined || abortFailure !== undefined ? 1 : 0;
}

/** What a first signal does to a transactional run, for the line that says so. */
function signalAction(txn: RunTransactions, abortMs: number): string {
  if (txn.isCommitting) return "letting the commit under way finish";
  if (!txn.isOpen) return "no transaction is open";
  return `aborting the open transaction within ${abortMs / 1000} s`;
}

/**
 * Registers the transactional id before any input is read. A signal meanwhile
 * stops the wait (the run ends with nothing to abort); a failure rejects.
 */
async function initTransactions(txn: RunTransactions, stopped: AbortSignal): Promise<void> {
  if (stopped.aborted) return;
  let onStop = (): void => {};
  const stop = new Promise<void>((resolve) => {
    onStop = () => resolve();
  });
  stopped.addEventListener("abort", onStop, { once: true });
  try {
    await Promise.race([txn.init(), stop]);
  } finally {
    stopped.removeEventListener("abort", onStop);
  }
}

/** A progress line on a terminal's stderr, once a second. */
function startProgress(tally: Tally): { stop(): void } {
  if (!process.stderr.isTTY) return { stop: () => {} };
  const t0 = performance.now();
  const timer = setInterval(() => {
    const s = (performance.now() - t0) / 1000;
    process.stderr.write(
      `\r${tally.delivered} delivered, ${tally.failed} failed, ${Math.round(tally.delivered / Math.max(s, 0.001))} msg/s   `,
    );
  }, 1000);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      process.stderr.write("\r\x1b[K");
    },
  };
}
