/**
 * The producer, a façade: it checks arguments (produce-arguments.ts) and the
 * queue's limits (QueueLimits), owns the lifecycle (flush, close: callers
 * wait in IdleWaiters) and the stats, and wires the parts together:
 * the Accumulator (records and batches, every report), the Sender (requests
 * and outcomes), the Cluster (metadata and connections) and, when idempotent,
 * the ProducerIdentity.
 */

import { KafkaClientError } from "../client/client-error.js";
import { type Cluster, parseBootstrap } from "../client/cluster.js";
import { askForMetadata, type ClusterDescription } from "../client/cluster-metadata.js";
import { closedChannel, produceTrace, publish, traced } from "../client/diagnostics.js";
import { consoleLogger } from "../client/logger.js";
import { resolveSecurity, type Security } from "../client/security.js";
import {
  type ProducerConfig,
  type ProducerProperties,
  redactProperties,
  resolveConfig,
} from "../config/index.js";
import {
  abortError,
  signalOf,
  type TimedWaitOptions,
  untilAborted,
  type WaitOptions,
  waitArguments,
} from "./abort.js";
import type { Accumulator } from "./accumulator.js";
import { buildEngine } from "./engine.js";
import type { ProducerIdentity } from "./idempotence.js";
import { IdleWaiters, RoomWaiters } from "./idle-waiters.js";
import {
  checkDelimited,
  checkPartition,
  checkRecord,
  checkTopicName,
} from "./produce-arguments.js";
import { produceTraced, type TraceSource } from "./produce-trace.js";
import type { ProducerOptions } from "./producer-options.js";
import { QueueLimits } from "./queue-limits.js";
import {
  type DelimitedRecords,
  type DelimitedResult,
  type DeliveryCallback,
  type DeliveryReport,
  type DeliveryTally,
  type ProducerRecord,
  recordSize,
} from "./record.js";
import { admitBatch, type BatchReport, BatchReports } from "./send-batch.js";
import type { Sender } from "./sender.js";
import { emptyStats, type ProducerStats } from "./stats.js";
import { type PrometheusOptions, prometheusText } from "./stats-prometheus.js";
import { transactionCall, transactionsOf } from "./transaction-setup.js";
import type {
  TransactionGroup,
  TransactionManager,
  TransactionOffset,
  TransactionState,
} from "./transactions.js";
import { ProducerWriteStream, type WriteStreamOptions } from "./write-stream.js";

export type { ProducerOptions };

export class Producer {
  readonly config: Readonly<ProducerConfig>;
  readonly #cluster: Cluster;
  readonly #accumulator: Accumulator;
  readonly #sender: Sender;
  readonly #identity: ProducerIdentity | undefined;
  /** The transaction manager, when transactional.id is set. */
  readonly #txn: TransactionManager | undefined;
  readonly #security: Security;
  readonly #counters = emptyStats();
  readonly #onDelivery: DeliveryCallback | undefined;
  readonly #limits: QueueLimits;
  readonly #messageTimeoutMs: number;
  #flushing = 0;
  #closed = false;
  /** close() was called: produce() refuses new records. */
  #closing = false;
  #closePromise: Promise<number> | undefined;
  /** Brings the deadline of a close() under way forward. */
  #shortenClose: ((timeoutMs: number) => void) | undefined;
  readonly #idle = new IdleWaiters(this.#counters);
  /** Write streams held by a full queue. */
  readonly #room = new RoomWaiters();
  /** What the produce trace says of this producer. */
  readonly #traceSource: TraceSource = {
    clientId: () => this.config["client.id"],
    leaderAddress: (topic, partition) => this.#cluster.leaderAddress(topic, partition),
  };

  constructor(properties: ProducerProperties, options: ProducerOptions = {}) {
    const config = resolveConfig(properties);
    const logger = options.logger ?? consoleLogger("warn");
    const bootstrap = parseBootstrap(config["bootstrap.servers"]);
    if (bootstrap.length === 0) {
      throw new KafkaClientError(
        "INVALID_ARG",
        'no brokers configured: set "bootstrap.servers" (host:port,...)',
      );
    }
    // Secrets stay with the connections: what a user can print shows them as ***.
    this.config = Object.freeze(redactProperties(config));
    this.#security = resolveSecurity(config, {
      oauthBearerTokenProvider: options.oauthBearerTokenProvider,
      logger,
    });
    this.#onDelivery = options.onDelivery;
    this.#limits = new QueueLimits(this.config);
    this.#messageTimeoutMs = config["message.timeout.ms"] || Number.POSITIVE_INFINITY;
    const engine = buildEngine(
      config,
      properties,
      options,
      bootstrap,
      this.#security,
      this.#counters,
      logger,
      {
        onReported: () => {
          this.#idle.notify();
          this.#room.notify();
        },
        lingerDisabled: () => this.#flushing > 0 || this.#closing,
        flush: (ms) => this.flush(ms),
      },
    );
    this.#cluster = engine.cluster;
    this.#accumulator = engine.accumulator;
    this.#sender = engine.sender;
    this.#identity = engine.identity;
    this.#txn = engine.txn;
  }

  // --- transactions (transactional.id; see docs/transactions.md) ---

  /**
   * Registers the transactional id with its coordinator, fencing any older
   * producer with the same id and ending its open transaction. Once, before
   * the first transaction.
   */
  initTransactions(timeoutMs?: number, options?: WaitOptions): Promise<void>;
  initTransactions(options: TimedWaitOptions): Promise<void>;
  initTransactions(
    timeoutOrOptions?: number | TimedWaitOptions,
    options?: WaitOptions,
  ): Promise<void> {
    return transactionCall(this.#txn, "initTransactions", timeoutOrOptions, options, (txn, wait) =>
      txn.initTransactions(wait),
    );
  }

  /** Opens a transaction: produce() is accepted until commit or abort. */
  beginTransaction(): void {
    transactionsOf(this.#txn, "beginTransaction").beginTransaction();
  }

  /**
   * Sends what is queued, waits for every record's report, then commits: all
   * of the transaction's records (and offsets) become visible at once.
   */
  commitTransaction(timeoutMs?: number, options?: WaitOptions): Promise<void>;
  commitTransaction(options: TimedWaitOptions): Promise<void>;
  commitTransaction(
    timeoutOrOptions?: number | TimedWaitOptions,
    options?: WaitOptions,
  ): Promise<void> {
    return transactionCall(this.#txn, "commitTransaction", timeoutOrOptions, options, (txn, wait) =>
      txn.commitTransaction(wait),
    );
  }

  /** Fails what is not sent yet, waits for what is, and aborts: none of it becomes visible. */
  abortTransaction(timeoutMs?: number, options?: WaitOptions): Promise<void>;
  abortTransaction(options: TimedWaitOptions): Promise<void>;
  abortTransaction(
    timeoutOrOptions?: number | TimedWaitOptions,
    options?: WaitOptions,
  ): Promise<void> {
    return transactionCall(this.#txn, "abortTransaction", timeoutOrOptions, options, (txn, wait) =>
      txn.abortTransaction(wait),
    );
  }

  /**
   * Commits a consumer group's offsets as part of the transaction
   * (consume-transform-produce): they count only if the transaction commits.
   */
  sendOffsetsToTransaction(
    offsets: readonly TransactionOffset[],
    group: TransactionGroup,
    timeoutOrOptions?: number | TimedWaitOptions,
    options?: WaitOptions,
  ): Promise<void> {
    return transactionCall(
      this.#txn,
      "sendOffsetsToTransaction",
      timeoutOrOptions,
      options,
      (txn, wait) => txn.sendOffsetsToTransaction(offsets, group, wait),
    );
  }

  /** Where the transactions stand: the state and, once begun, the protocol (1 or 2, KIP-890). */
  get transactionState(): { state: TransactionState; version: 1 | 2 } | undefined {
    const txn = this.#txn;
    return txn === undefined ? undefined : { state: txn.state, version: txn.v2 ? 2 : 1 };
  }

  /**
   * Queues one record. Throws at once (nothing queued, no report) for bad
   * arguments, a record over message.max.bytes, a full queue (QUEUE_FULL) or a
   * closed producer; otherwise `callback` (or the producer's onDelivery) is
   * called exactly once with the outcome.
   */
  produce(record: ProducerRecord, callback?: DeliveryCallback): void {
    // The only cost of the produce channel while nobody subscribes.
    if (traced(produceTrace)) {
      produceTraced(this.#traceSource, record, callback ?? this.#onDelivery, (r, cb) =>
        this.#append(r, cb),
      );
      return;
    }
    this.#append(record, callback);
  }

  /**
   * Queues every record of `records` as produce() would, or none: a record
   * produce() would refuse (a bad argument, over message.max.bytes, no room
   * left in the queue for the whole batch) rejects the call at once, naming
   * the record and why, with nothing queued. Resolves once every record has
   * its report, with the reports in input order, shaped as
   * Promise.allSettled() shapes them. `signal` ends the wait, not the records.
   */
  sendBatch(records: readonly ProducerRecord[], options?: WaitOptions): Promise<BatchReport[]> {
    try {
      const signal = signalOf(options, "sendBatch()");
      if (signal?.aborted) return Promise.reject(abortError("sendBatch()", signal));
      this.#checkOpen();
      const sizes = admitBatch(records, this.#counters, (r, room) => this.#admit(r, room));
      const reports = new BatchReports(records.length);
      const now = Date.now();
      const tracing = traced(produceTrace);
      for (let i = 0; i < records.length; i++) {
        const size = sizes[i]!;
        if (tracing) {
          produceTraced(this.#traceSource, records[i]!, reports.callback(i), (r, cb) =>
            this.#queue(r, cb, size, now),
          );
        } else {
          this.#queue(records[i]!, reports.callback(i), size, now);
        }
      }
      return untilAborted(reports.done, signal, "sendBatch()");
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** produce() itself: checks the record and queues it. */
  #append(record: ProducerRecord, callback: DeliveryCallback | undefined): void {
    this.#checkOpen();
    this.#queue(
      record,
      callback ?? this.#onDelivery,
      this.#admit(record, this.#counters),
      Date.now(),
    );
  }

  /**
   * Checks `record` as produce() does, and that the queue, holding what
   * `room` counts, has room for it; returns the bytes it counts in the queue.
   */
  #admit(record: ProducerRecord, room: Pick<ProducerStats, "queued" | "queuedBytes">): number {
    // Everything about the record is checked before the topic is looked up: a refused
    // record must not make the producer ask for (and so auto-create) its topic.
    const topic = checkRecord(record);
    const acc = this.#accumulator;
    const partitionCount = acc.knownPartitions(topic);
    if (partitionCount === undefined) checkTopicName(topic);
    const size = this.#limits.roomFor(record, topic, room, acc.bufferBytes);
    const partition = record.partition;
    if (partition !== undefined && partition !== -1) {
      checkPartition(topic, partition, partitionCount);
    }
    const timestamp = record.timestamp;
    if (timestamp != null && !Number.isSafeInteger(timestamp)) {
      throw new KafkaClientError(
        "INVALID_ARG",
        `invalid timestamp ${timestamp} for topic "${topic}"`,
      );
    }
    // A record waiting for metadata keeps its size until it is encoded: count it
    // exactly (a cold path) so the queue does not fill up early meanwhile.
    return partitionCount ? size : recordSize(record);
  }

  /** Queues a record #admit() took, counted as `size` bytes. */
  #queue(
    record: ProducerRecord,
    callback: DeliveryCallback | undefined,
    size: number,
    now: number,
  ): void {
    this.#accumulator.append(
      record,
      callback,
      record.timestamp ?? now,
      size,
      now,
      now + this.#messageTimeoutMs,
    );
  }

  /**
   * Queues the records delimited in `input.data[start, end)`, as produce()
   * would one by one with the same key, headers and partition and the time of
   * the call, but encoded straight from `data` (no object or view per record;
   * empty records are skipped) and with their outcome told to `tally` by count,
   * once per batch, instead of a report per record. The bytes are copied before
   * it returns.
   *
   * While the topic's partitions are not known yet the records wait as one
   * copy of their bytes. Stops before a record it cannot queue at once: the
   * queue is full, or its value would pass message.max.bytes. Give that
   * record to produce(), which queues it or throws why not, and call again
   * after it. Throws like produce() for bad arguments, a partition the topic
   * lacks, or a closed producer.
   */
  produceDelimited(input: DelimitedRecords, tally: DeliveryTally): DelimitedResult {
    this.#checkOpen();
    const { topic, key, headers, partition, data, start, end, delimiter, maxRecords } =
      checkDelimited(input, tally);
    const acc = this.#accumulator;
    const partitionCount = acc.knownPartitions(topic);
    if (partitionCount === undefined) checkTopicName(topic);
    if (partition !== undefined && partition !== -1) {
      checkPartition(topic, partition, partitionCount);
    }
    const counters = this.#counters;
    // What produce() would count per record besides the value.
    const overhead = recordSize({ topic, key, value: null, headers });
    const roomRecords = Math.min(this.#limits.maxRecords - counters.queued, maxRecords);
    const roomBytes = this.#limits.maxBytes - counters.queuedBytes - overhead;
    if (roomRecords <= 0 || roomBytes <= 0 || start === end) {
      return { offset: start, records: 0 };
    }
    const now = Date.now();
    const produced = counters.produced;
    const offset = acc.appendDelimited(
      topic,
      partition,
      { source: data, delimiter, stripCr: input.stripCr === true, key, headers, timestamp: now },
      start,
      end,
      this.#limits.maxRecordBytes - overhead,
      roomRecords,
      roomBytes,
      this.#limits.maxBytes,
      tally,
      now,
      now + this.#messageTimeoutMs,
      overhead,
    );
    return { offset, records: counters.produced - produced };
  }

  /**
   * Like produce(), as a Promise of the delivery report (rejected with the
   * delivery error). `signal` ends the wait, not the record.
   */
  send(record: ProducerRecord, options?: WaitOptions): Promise<DeliveryReport> {
    let signal: AbortSignal | undefined;
    try {
      signal = signalOf(options, "send()");
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal?.aborted) return Promise.reject(abortError("send()", signal));
    const sent = new Promise<DeliveryReport>((resolve, reject) => {
      this.produce(record, (err, report) => (err ? reject(err) : resolve(report)));
    });
    return untilAborted(sent, signal, "send()");
  }

  /**
   * A Writable that queues what is written (records, values for a topic, or
   * bytes cut at a delimiter), with the queue as its backpressure: see
   * ProducerWriteStream and docs/node-api.md.
   */
  createWriteStream(options?: WriteStreamOptions): ProducerWriteStream {
    return new ProducerWriteStream(
      {
        produce: (record, callback) => this.produce(record, callback),
        produceDelimited: (input, tally) => this.produceDelimited(input, tally),
        afterReport: (fn) => this.#room.add(fn),
        queued: () => this.#counters.queued,
        hurry: () => this.#hurry(),
        maxRecordBytes: this.#limits.maxRecordBytes,
      },
      options,
    );
  }

  /** Refuses new records once closing, or after a fatal error. */
  #checkOpen(): void {
    if (this.#closing) {
      throw new KafkaClientError("DESTROYED", "the producer is closed");
    }
    // A transactional producer says what its transactions' state allows (fatal included).
    if (this.#txn !== undefined) {
      this.#txn.checkProduce();
      return;
    }
    const fatal = this.#identity?.fatal;
    if (fatal !== undefined) {
      throw new KafkaClientError("FATAL", `the producer cannot go on: ${fatal.message}`, {
        cause: fatal,
      });
    }
  }

  /**
   * The cluster's brokers, controller and topics (`topics`, or every topic)
   * with partitions, leaders, replicas and in-sync replicas, as one broker
   * answers a Metadata request (librdkafka's rd_kafka_metadata). Asks again
   * until one answers; rejects at `timeoutMs` with the last connection error.
   * A topic that does not exist is listed with the error
   * UNKNOWN_TOPIC_OR_PARTITION, not created.
   */
  async metadata(
    options: { topics?: readonly string[]; timeoutMs?: number } = {},
  ): Promise<ClusterDescription> {
    const topics = options.topics ?? null;
    for (const t of topics ?? []) checkTopicName(t);
    return askForMetadata(this.#cluster, topics, options.timeoutMs ?? 10000, () => this.#closed);
  }

  /**
   * Sends everything queued without waiting for linger.ms and waits until
   * every record (those produced meanwhile too) has its report, or
   * `timeoutMs` passes. Resolves with the number of records still waiting for
   * their report then: 0 when everything was reported. A timeout fails no
   * record, as with librdkafka's flush(): each keeps its own
   * message.timeout.ms (close() ends what is left). `signal` ends the wait
   * with an AbortError, as the timeout does, and the records go on.
   */
  flush(timeoutMs?: number, options?: WaitOptions): Promise<number>;
  flush(options: TimedWaitOptions): Promise<number>;
  async flush(
    timeoutOrOptions?: number | TimedWaitOptions,
    options?: WaitOptions,
  ): Promise<number> {
    const { timeoutMs, signal } = waitArguments(timeoutOrOptions, options, 30000, "flush()");
    if (signal?.aborted) throw abortError("flush()", signal);
    if (this.#counters.queued === 0) return 0;
    const release = this.#hurry();
    let onAbort: (() => void) | undefined;
    try {
      const idle = await this.#idle.wait(timeoutMs, (shorten) => {
        if (signal === undefined) return;
        onAbort = () => shorten(0);
        signal.addEventListener("abort", onAbort, { once: true });
      });
      if (!idle && signal?.aborted) throw abortError("flush()", signal);
      return idle ? 0 : this.#counters.queued;
    } finally {
      release();
      if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Sends what is queued without waiting for linger.ms, and goes on doing so
   * until the returned function is called (flush(), a write stream's end).
   */
  #hurry(): () => void {
    this.#flushing++;
    this.#sender.wakeAll();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#flushing--;
    };
  }

  /**
   * Flushes within `timeoutMs`, reports whatever is left as failed (records
   * past their message.timeout.ms as MSG_TIMED_OUT, the others DESTROYED),
   * then closes every connection and timer: nothing keeps the process alive.
   * Returns the number of records that failed at the deadline. Called again
   * while closing, with a nearer deadline (close(0) on a second Ctrl-C, say),
   * it brings the deadline forward and returns the same outcome. `signal`
   * ends the wait; the close goes on to its deadline.
   */
  close(timeoutMs?: number, options?: WaitOptions): Promise<number>;
  close(options: TimedWaitOptions): Promise<number>;
  close(timeoutOrOptions?: number | TimedWaitOptions, options?: WaitOptions): Promise<number> {
    let timeoutMs: number;
    let signal: AbortSignal | undefined;
    try {
      ({ timeoutMs, signal } = waitArguments(timeoutOrOptions, options, 30000, "close()"));
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal?.aborted) return Promise.reject(abortError("close()", signal));
    if (this.#closePromise) {
      this.#shortenClose?.(timeoutMs);
    } else {
      this.#closePromise = this.#shutdown(timeoutMs);
    }
    return untilAborted(this.#closePromise, signal, "close()");
  }

  /** `await using producer = new Producer(...)`: close() with its default deadline at the scope's end. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #shutdown(timeoutMs: number): Promise<number> {
    this.#closing = true;
    let failed = 0;
    if (this.#counters.queued > 0) {
      this.#sender.wakeAll();
      const idle = await this.#idle.wait(timeoutMs, (shorten) => {
        this.#shortenClose = shorten;
      });
      this.#shortenClose = undefined;
      if (!idle) {
        // Records already due time out as such; only the others are cut short by close().
        const before = this.#counters.failed;
        this.#sender.expireDue(Date.now());
        failed = this.#counters.failed - before;
        const cause = this.#cluster.lastConnectionError;
        failed += this.#accumulator.failAll(
          (topic) =>
            new KafkaClientError(
              "DESTROYED",
              `record for topic "${topic}" not delivered before the producer closed (deadline ${timeoutMs} ms)${lastErrorText(cause)}`,
              { cause },
            ),
        );
      }
    }
    this.#closed = true;
    this.#txn?.close();
    this.#sender.stop();
    this.#cluster.close();
    this.#security.close();
    publish(closedChannel, () => ({ clientId: this.config["client.id"], failed }));
    return failed;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Records waiting for their delivery report (cheaper than stats().queued). */
  get queueLength(): number {
    return this.#counters.queued;
  }

  /** A snapshot of the counters. */
  stats(): ProducerStats {
    return {
      ...this.#counters,
      bufferBytes: this.#accumulator.bufferBytes,
      inFlight: this.#cluster.inFlight(),
      rttMs: this.#cluster.rtts(),
    };
  }

  /**
   * stats() in the Prometheus text format (0.0.4), for a /metrics endpoint:
   * the same families the sidecar's /metrics has, named `event_kafka_producer_*`
   * unless `options.prefix` says otherwise.
   */
  prometheusMetrics(options?: PrometheusOptions): string {
    return prometheusText(this.stats(), options);
  }

  /** Topic metadata as last fetched (partition count), or undefined. */
  partitionCount(topic: string): number | undefined {
    const meta = this.#cluster.topics.get(topic);
    return meta && meta.partitions.length > 0 ? meta.partitions.length : undefined;
  }
}

function lastErrorText(cause: Error | undefined): string {
  return cause ? `: last error ${cause.message}` : "";
}
