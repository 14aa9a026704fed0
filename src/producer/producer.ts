/**
 * The producer: enqueue records, batch them per partition, send each broker
 * one Produce request carrying the ready batches of the partitions it leads,
 * retry what may succeed later, and report every record exactly once.
 */
import { ErrorCode, errorByCode } from "../protocol/errors.js";
import { isValidTopicName, TOPIC_NAME_RULE } from "../protocol/topic-name.js";
import {
  Batch,
  type DeliveryCallback,
  type DeliveryError,
  type DeliveryReport,
  type PartitionQueue,
  type ProducerRecord,
  recordSize,
  recordSizeUpperBound,
  TopicQueue,
  WriterPool,
} from "./accumulator.js";
import { KafkaClientError } from "./client-error.js";
import { Cluster, parseBootstrap } from "./cluster.js";
import { type ProducerConfig, type ProducerProperties, resolveConfig } from "./config.js";
import { type Logger, silentLogger } from "./logger.js";
import { createTopicState, Partitioner } from "./partitioners.js";
import { Sender } from "./sender.js";
import { emptyStats, type ProducerStats } from "./stats.js";

export interface ProducerOptions {
  logger?: Logger;
  /** Called for every record produced without a callback of its own (librdkafka's dr_msg_cb). */
  onDelivery?: DeliveryCallback;
}

export class Producer {
  readonly config: Readonly<ProducerConfig>;
  private readonly logger: Logger;
  private readonly cluster: Cluster;
  private readonly sender: Sender;
  private readonly partitioner: Partitioner;
  private readonly topics = new Map<string, TopicQueue>();
  /** Partitions that hold batches; the sender's work list. */
  readonly active = new Set<PartitionQueue>();
  /** Topics with records waiting for metadata. */
  private readonly waitingTopics = new Set<TopicQueue>();
  private readonly pool: WriterPool;
  private readonly counters = emptyStats();
  private readonly onDelivery: DeliveryCallback | undefined;
  private readonly maxQueueBytes: number;
  private readonly messageTimeoutMs: number;
  // Hot-path copies of config values (a plain field read, not a keyed lookup).
  private readonly maxRecordBytes: number;
  private readonly maxQueueRecords: number;
  private readonly batchMaxRecords: number;
  private readonly batchMaxBytes: number;
  private readonly lingerMs: number;
  /** The topic of the last produce() and its queue: most callers use one topic. */
  private lastTopic: TopicQueue | undefined;
  /**
   * How far apart the deadlines of one batch's records may be. A batch fails as
   * a whole at the latest of them, so a batch that keeps taking records while
   * it cannot be sent (leader down) is sealed once its records span this long,
   * and later records start a new one: no record is reported failed before its
   * own deadline, nor more than this after it. A tenth of message.timeout.ms is
   * far above any round trip, so normal batching (linger.ms, one batch in flight
   * per partition) never meets the limit.
   */
  private readonly deadlineSlackMs: number;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  private drainScheduled = false;
  private flushing = 0;
  private closed = false;
  /** close() was called: produce() refuses new records. */
  private closing = false;
  private closePromise: Promise<number> | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(properties: ProducerProperties, options: ProducerOptions = {}) {
    const config = resolveConfig(properties);
    const bootstrap = parseBootstrap(config["bootstrap.servers"]);
    if (bootstrap.length === 0) {
      throw new KafkaClientError(
        "INVALID_ARG",
        'no brokers configured: set "bootstrap.servers" (host:port,...)',
      );
    }
    this.config = config;
    this.logger = options.logger ?? silentLogger;
    this.onDelivery = options.onDelivery;
    this.maxQueueBytes = config["queue.buffering.max.kbytes"] * 1024;
    this.maxRecordBytes = config["message.max.bytes"];
    this.maxQueueRecords = config["queue.buffering.max.messages"];
    this.batchMaxRecords = config["batch.num.messages"];
    this.batchMaxBytes = config["batch.size"];
    this.lingerMs = config["linger.ms"];
    this.messageTimeoutMs = config["message.timeout.ms"] || Number.POSITIVE_INFINITY;
    this.deadlineSlackMs = Math.max(config["linger.ms"], 100, this.messageTimeoutMs / 10);
    this.partitioner = new Partitioner(config.partitioner, {
      stickyLingerMs: config["sticky.partitioning.linger.ms"],
    });
    this.pool = new WriterPool(Math.min(config["batch.size"] + 1024, 256 * 1024), 64);
    this.cluster = new Cluster(
      {
        bootstrap,
        connection: {
          clientId: config["client.id"],
          connectTimeoutMs: config["socket.connection.setup.timeout.ms"],
          requestTimeoutMs: config["socket.timeout.ms"],
          maxInFlight: config["max.in.flight.requests.per.connection"],
          maxResponseBytes: config["receive.message.max.bytes"],
          noDelay: config["socket.nagle.disable"],
          keepAlive: config["socket.keepalive.enable"],
          logger: this.logger,
        },
        reconnectBackoffMs: config["reconnect.backoff.ms"],
        reconnectBackoffMaxMs: config["reconnect.backoff.max.ms"],
        refreshIntervalMs: config["topic.metadata.refresh.interval.ms"],
        maxAgeMs: config["metadata.max.age.ms"],
        retryBackoffMs: config["retry.backoff.ms"],
        retryBackoffMaxMs: config["retry.backoff.max.ms"],
        logger: this.logger,
      },
      {
        onMetadata: () => this.onMetadata(),
        onBrokerReady: () => this.scheduleDrain(),
        onBrokerDown: () => this.scheduleDrain(),
      },
    );
    this.sender = new Sender(this, this.cluster, config, this.counters, this.logger);
  }

  /**
   * Queues one record. Throws at once (nothing queued, no report) for bad
   * arguments, a record over message.max.bytes, a full queue (QUEUE_FULL) or a
   * closed producer; otherwise `callback` (or the producer's onDelivery) is
   * called exactly once with the outcome.
   */
  produce(record: ProducerRecord, callback?: DeliveryCallback): void {
    if (this.closing) {
      throw new KafkaClientError("DESTROYED", "the producer is closed");
    }
    if (record === null || typeof record !== "object") {
      throw new KafkaClientError(
        "INVALID_ARG",
        `a record must be an object { topic, value, ... }, got ${record === null ? "null" : typeof record}`,
      );
    }
    const topic = record.topic;
    // Everything about the record is checked before the topic is looked up: a refused
    // record must not make the producer ask for (and so auto-create) its topic.
    checkData(record.value, "value");
    checkData(record.key, "key");
    if (record.headers !== undefined) checkHeaders(record.headers);
    const last = this.lastTopic;
    const known = last !== undefined && last.name === topic ? last : this.topics.get(topic);
    if (known === undefined) checkTopicName(topic);
    const maxBytes = this.maxRecordBytes;
    let size = recordSizeUpperBound(record);
    if (size > maxBytes || this.counters.queuedBytes + size > this.maxQueueBytes) {
      size = recordSize(record);
      if (size > maxBytes) {
        throw new KafkaClientError(
          "MSG_SIZE_TOO_LARGE",
          `record of ${size} bytes for topic "${topic}" exceeds message.max.bytes (${maxBytes})`,
        );
      }
    }
    if (this.counters.queued >= this.maxQueueRecords) {
      throw new KafkaClientError(
        "QUEUE_FULL",
        `queue full: ${this.counters.queued} records waiting (queue.buffering.max.messages=${this.config["queue.buffering.max.messages"]})`,
      );
    }
    if (this.counters.queuedBytes + size > this.maxQueueBytes) {
      throw new KafkaClientError(
        "QUEUE_FULL",
        `queue full: ${this.counters.queuedBytes} bytes waiting (queue.buffering.max.kbytes=${this.config["queue.buffering.max.kbytes"]})`,
      );
    }
    const partition = record.partition;
    if (partition !== undefined && partition !== -1) {
      if (!Number.isInteger(partition) || partition < 0) {
        throw new KafkaClientError(
          "INVALID_ARG",
          `invalid partition ${String(partition)} for topic "${topic}"`,
        );
      }
      const count = known?.partitions.length ?? 0;
      if (count > 0 && partition >= count) {
        throw new KafkaClientError(
          "UNKNOWN_PARTITION",
          `partition ${partition} does not exist in topic "${topic}", which has ${count} partition(s)`,
        );
      }
    }
    const now = Date.now();
    const timestamp = record.timestamp ?? now;
    if (!Number.isSafeInteger(timestamp)) {
      throw new KafkaClientError(
        "INVALID_ARG",
        `invalid timestamp ${timestamp} for topic "${topic}"`,
      );
    }
    const tq = known ?? this.addTopic(topic);
    this.lastTopic = tq;
    // A record waiting for metadata keeps its size until append() measures the encoding:
    // count it exactly (a cold path) so the queue does not fill up early meanwhile.
    if (tq.partitions.length === 0) size = recordSize(record);
    this.counters.produced++;
    this.counters.queued++;
    this.counters.queuedBytes += size;
    const cb = callback ?? this.onDelivery;
    if (tq.partitions.length === 0) {
      tq.waiting.push({
        record,
        callback: cb,
        timestamp,
        size,
        deadline: now + this.messageTimeoutMs,
      });
      this.waitingTopics.add(tq);
      this.wake(now + this.messageTimeoutMs);
      return;
    }
    this.append(tq, record, cb, timestamp, size, now, now + this.messageTimeoutMs);
  }

  /** Like produce(), as a Promise of the delivery report (rejected with the delivery error). */
  send(record: ProducerRecord): Promise<DeliveryReport> {
    return new Promise((resolve, reject) => {
      this.produce(record, (err, report) => (err ? reject(err) : resolve(report)));
    });
  }

  private addTopic(topic: string): TopicQueue {
    const tq = new TopicQueue(
      topic,
      Date.now(),
      createTopicState((p) => {
        const meta = this.cluster.topics.get(topic)?.partitions[p];
        return meta !== undefined && meta.leader >= 0;
      }),
    );
    this.topics.set(topic, tq);
    this.cluster.want(topic);
    const known = this.cluster.topics.get(topic);
    if (known && known.partitions.length > 0) tq.resize(known.partitions.length);
    else this.cluster.requestRefresh(`new topic ${topic}`);
    return tq;
  }

  /** Encodes a record into its partition's open batch (a new one when full). */
  private append(
    tq: TopicQueue,
    record: ProducerRecord,
    cb: DeliveryCallback | undefined,
    timestamp: number,
    size: number,
    now: number,
    /** The record's message.timeout.ms deadline. */
    deadline: number,
  ): void {
    let p = record.partition;
    if (p === undefined || p === -1) {
      p = this.partitioner.partition(record.key, tq.partitions.length, now, tq.partitionerState);
    }
    const pq = tq.partitions[p]!;
    let batch = pq.openBatch();
    if (
      batch !== undefined &&
      (batch.count >= this.batchMaxRecords ||
        batch.byteLength + size > this.batchMaxBytes ||
        !batch.fitsDeadline(deadline, this.deadlineSlackMs))
    ) {
      this.seal(batch);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = new Batch(
        pq,
        this.pool.take(),
        now,
        deadline,
        this.config["compression.codec"],
        this.config["compression.level"],
      );
      pq.batches.push(batch);
      this.active.add(pq);
      this.wake(now + this.lingerMs);
    }
    const before = batch.builder.byteLength;
    batch.builder.append(record.key, record.value, timestamp, record.headers);
    // Enqueue counted an estimate (up to 3 bytes per UTF-16 unit); from here on the
    // queue counts the bytes really encoded, or it would fill up early.
    const encoded = batch.builder.byteLength - before;
    this.counters.queuedBytes += encoded - size;
    batch.addDeadline(deadline);
    batch.addReport(cb, record.opaque);
    batch.timestamps.push(timestamp);
    batch.count++;
    batch.bytes += encoded;
    if (batch.count >= this.batchMaxRecords) this.seal(batch);
  }

  /** Closes a batch to new records and lets the sender take it. */
  seal(batch: Batch): void {
    batch.seal(this.onSealed);
    this.scheduleDrain();
  }

  /** A compressed batch is ready (or its compression failed). */
  private readonly onSealed = (batch: Batch, err?: Error): void => {
    if (err) {
      this.complete(
        batch,
        new KafkaClientError(
          "COMPRESSION",
          `compressing a batch for ${batch.queue.topic}-${batch.queue.partition} with ${this.config["compression.codec"]} failed: ${err.message}`,
          { cause: err },
        ),
      );
    }
    this.scheduleDrain();
  };

  /** Runs the sender soon (after the current task, so a loop of produce() calls fills batches). */
  scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  /** Runs the sender at `time` at the latest. */
  wake(time: number): void {
    if (time >= this.wakeAt || !Number.isFinite(time)) return;
    clearTimeout(this.wakeTimer);
    this.wakeAt = time;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.wakeAt = Number.POSITIVE_INFINITY;
        this.drain();
      },
      Math.max(0, time - Date.now()),
    );
  }

  get lingerDisabled(): boolean {
    return this.flushing > 0 || this.closing;
  }

  private drain(): void {
    const now = Date.now();
    let next = this.expireWaiting(now);
    next = Math.min(next, this.sender.drain(now));
    if (Number.isFinite(next)) this.wake(next);
    this.checkIdle();
  }

  /** Routes records that were waiting for metadata; fails those past their deadline. */
  private expireWaiting(now: number): number {
    let next = Number.POSITIVE_INFINITY;
    for (const tq of this.waitingTopics) {
      const meta = this.cluster.topics.get(tq.name);
      if (tq.partitions.length > 0) {
        this.waitingTopics.delete(tq);
        const records = tq.waiting.splice(0);
        for (const w of records) this.routeWaiting(tq, w, now);
        continue;
      }
      let failure: DeliveryError | undefined;
      if (meta && meta.errorCode !== 0) {
        const info = errorByCode(meta.errorCode);
        if (meta.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
          const propagation = this.config["topic.metadata.propagation.max.ms"];
          if (now - tq.firstUsedAt >= propagation) {
            failure = new KafkaClientError(
              "UNKNOWN_TOPIC",
              `topic "${tq.name}" does not exist and was not created within topic.metadata.propagation.max.ms (${propagation} ms)`,
            );
          } else {
            next = Math.min(next, tq.firstUsedAt + propagation);
            this.cluster.requestRefresh(`topic ${tq.name} unknown`);
          }
        } else if (!info.retriable) {
          failure = new KafkaClientError(
            "UNKNOWN_TOPIC",
            `topic "${tq.name}" cannot be produced to: ${info.name} (error code ${info.code})`,
          );
        } else {
          this.cluster.requestRefresh(`topic ${tq.name}: ${info.name}`);
        }
      } else if (!meta || meta.partitions.length === 0) {
        this.cluster.requestRefresh(`topic ${tq.name} has no partitions yet`);
      }
      // Deadlines grow along the list: the expired records are a prefix, cut at once
      // (one shift per record would be quadratic for a queue of 100000).
      let expired = 0;
      if (failure !== undefined) expired = tq.waiting.length;
      else while (expired < tq.waiting.length && tq.waiting[expired]!.deadline <= now) expired++;
      if (expired > 0) {
        const err =
          failure ??
          new KafkaClientError(
            "MSG_TIMED_OUT",
            `record for topic "${tq.name}" not delivered within message.timeout.ms (${this.config["message.timeout.ms"]} ms): no metadata for the topic`,
          );
        for (const w of tq.waiting.splice(0, expired)) this.reportWaiting(tq, w, err);
      }
      if (tq.waiting.length === 0) this.waitingTopics.delete(tq);
      else next = Math.min(next, tq.waiting[0]!.deadline);
    }
    return next;
  }

  private routeWaiting(tq: TopicQueue, w: TopicQueue["waiting"][number], now: number): void {
    const p = w.record.partition;
    if (p !== undefined && p !== -1 && p >= tq.partitions.length) {
      this.reportWaiting(
        tq,
        w,
        new KafkaClientError(
          "UNKNOWN_PARTITION",
          `partition ${p} does not exist in topic "${tq.name}", which has ${tq.partitions.length} partition(s)`,
        ),
      );
      return;
    }
    this.append(tq, w.record, w.callback, w.timestamp, w.size, now, w.deadline);
  }

  private reportWaiting(
    tq: TopicQueue,
    w: TopicQueue["waiting"][number],
    err: DeliveryError,
  ): void {
    this.counters.queued--;
    this.counters.queuedBytes -= w.size;
    this.counters.failed++;
    const p = w.record.partition;
    this.invoke(w.callback, err, {
      topic: tq.name,
      partition: p === undefined ? -1 : p,
      offset: -1,
      timestamp: w.timestamp,
      opaque: w.record.opaque,
    });
  }

  private onMetadata(): void {
    for (const [name, tq] of this.topics) {
      const meta = this.cluster.topics.get(name);
      if (meta && meta.partitions.length > tq.partitions.length) tq.resize(meta.partitions.length);
    }
    this.scheduleDrain();
  }

  /**
   * Reports a batch's records (success when `err` is null) and releases its
   * buffer. Safe to call once only: later calls are ignored.
   */
  complete(batch: Batch, err: DeliveryError | null, baseOffset = -1, logAppendTime = -1): void {
    if (batch.done) return;
    batch.done = true;
    const pq = batch.queue;
    const i = pq.batches.indexOf(batch);
    // Reported while a request still carries it (a close or flush deadline): the
    // socket may still be writing its bytes, so its buffer is not reused.
    const stillWritten = i === 0 && pq.inFlight;
    if (i >= 0) pq.batches.splice(i, 1);
    if (pq.batches.length === 0) this.active.delete(pq);
    this.counters.queued -= batch.count;
    this.counters.queuedBytes -= batch.bytes;
    if (err) this.counters.failed += batch.count;
    else this.counters.delivered += batch.count;
    const { timestamps } = batch;
    for (let i = 0; i < batch.count; i++) {
      this.invoke(batch.callbackAt(i), err, {
        topic: pq.topic,
        partition: pq.partition,
        offset: err || baseOffset < 0 ? -1 : baseOffset + i,
        timestamp: logAppendTime >= 0 ? logAppendTime : timestamps[i]!,
        opaque: batch.opaqueAt(i),
      });
    }
    // A batch still being compressed keeps its writer: the codec writes into it.
    if (!batch.sealing && !stillWritten) this.pool.give(batch.writer);
    this.checkIdle();
  }

  private invoke(
    cb: DeliveryCallback | undefined,
    err: DeliveryError | null,
    report: DeliveryReport,
  ): void {
    if (cb === undefined) return;
    try {
      cb(err, report);
    } catch (e) {
      // A throwing callback must not cost other records their reports.
      this.logger.error("delivery callback threw", { error: (e as Error).message });
    }
  }

  private checkIdle(): void {
    if (this.counters.queued > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters.splice(0);
    for (const w of waiters) w();
  }

  /**
   * Sends everything queued without waiting for linger.ms and waits for every
   * report. At the deadline the records still undelivered are reported failed
   * (MSG_TIMED_OUT), so the promise always resolves: with the number of records
   * failed at the deadline (0 when everything was reported in time).
   */
  async flush(timeoutMs = 30000): Promise<number> {
    if (this.counters.queued === 0) return 0;
    this.flushing++;
    try {
      this.scheduleDrain();
      const idle = await this.waitIdle(timeoutMs);
      if (idle) return 0;
      return this.failAll(
        (topic) =>
          new KafkaClientError(
            "MSG_TIMED_OUT",
            `record for topic "${topic}" not delivered within the flush deadline of ${timeoutMs} ms`,
          ),
      );
    } finally {
      this.flushing--;
    }
  }

  private waitIdle(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.counters.queued === 0) {
        resolve(true);
        return;
      }
      const timer = setTimeout(() => {
        const i = this.idleWaiters.indexOf(done);
        if (i >= 0) this.idleWaiters.splice(i, 1);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.idleWaiters.push(done);
    });
  }

  /** Reports every record still queued or in flight as failed; returns how many. */
  private failAll(makeError: (topic: string) => DeliveryError): number {
    const before = this.counters.failed;
    for (const tq of this.topics.values()) {
      for (const w of tq.waiting.splice(0)) this.reportWaiting(tq, w, makeError(tq.name));
      this.waitingTopics.delete(tq);
    }
    for (const pq of [...this.active]) {
      for (const batch of [...pq.batches]) this.complete(batch, makeError(pq.topic));
      pq.inFlight = false;
    }
    return this.counters.failed - before;
  }

  /**
   * Flushes within `timeoutMs`, reports whatever is left as failed (DESTROYED),
   * then closes every connection and timer: nothing keeps the process alive.
   * Returns the number of records that failed at the deadline.
   */
  close(timeoutMs = 30000): Promise<number> {
    this.closePromise ??= this.shutdown(timeoutMs);
    return this.closePromise;
  }

  private async shutdown(timeoutMs: number): Promise<number> {
    this.closing = true;
    let failed = 0;
    if (this.counters.queued > 0) {
      this.flushing++;
      this.scheduleDrain();
      const idle = await this.waitIdle(timeoutMs);
      this.flushing--;
      if (!idle) {
        failed = this.failAll(
          (topic) =>
            new KafkaClientError(
              "DESTROYED",
              `record for topic "${topic}" not delivered before the producer closed (deadline ${timeoutMs} ms)`,
            ),
        );
      }
    }
    this.closed = true;
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeAt = Number.NEGATIVE_INFINITY; // no more wakes
    this.cluster.close();
    return failed;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Records waiting for their delivery report (cheaper than stats().queued). */
  get queueLength(): number {
    return this.counters.queued;
  }

  /** A snapshot of the counters. */
  stats(): ProducerStats {
    return {
      ...this.counters,
      inFlight: this.cluster.inFlight(),
      rttMs: this.cluster.rtts(),
    };
  }

  /** Topic metadata as last fetched (partition count), or undefined. */
  partitionCount(topic: string): number | undefined {
    const meta = this.cluster.topics.get(topic);
    return meta && meta.partitions.length > 0 ? meta.partitions.length : undefined;
  }
}

function checkTopicName(topic: unknown): void {
  if (!isValidTopicName(topic)) {
    throw new KafkaClientError(
      "INVALID_ARG",
      `invalid topic name ${JSON.stringify(topic)}: expected ${TOPIC_NAME_RULE}`,
    );
  }
}

function checkData(data: unknown, what: string): void {
  if (data == null || typeof data === "string" || data instanceof Uint8Array) return;
  throw new KafkaClientError(
    "INVALID_ARG",
    `record ${what} must be a string, a Buffer/Uint8Array or null, got ${typeof data}`,
  );
}

function checkHeaders(headers: unknown): void {
  if (!Array.isArray(headers)) {
    throw new KafkaClientError("INVALID_ARG", "record headers must be an array of { key, value }");
  }
  for (const h of headers as { key?: unknown; value?: unknown }[]) {
    if (h === null || typeof h !== "object" || typeof h.key !== "string") {
      throw new KafkaClientError("INVALID_ARG", "every record header needs a string key");
    }
    checkData(h.value, `header "${h.key}" value`);
  }
}
