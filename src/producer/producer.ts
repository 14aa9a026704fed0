/**
 * The producer, a façade: it checks arguments (produce-arguments.ts) and the
 * queue's limits (QueueLimits), owns the lifecycle (flush, close: callers
 * wait in IdleWaiters) and the stats, and wires the parts together:
 * the Accumulator (records and batches, every report), the Sender (requests
 * and outcomes), the Cluster (metadata and connections) and, when idempotent,
 * the ProducerIdentity.
 */

import { KafkaClientError } from "../client/client-error.js";
import { Cluster, parseBootstrap } from "../client/cluster.js";
import { type ClusterDescription, describeCluster } from "../client/cluster-metadata.js";
import { consoleLogger, type Logger } from "../client/logger.js";
import {
  type OAuthBearerTokenProvider,
  resolveSecurity,
  type Security,
} from "../client/security.js";
import {
  isGiven,
  type ProducerConfig,
  type ProducerProperties,
  redactProperties,
  resolveConfig,
} from "../config/index.js";
import { Accumulator } from "./accumulator.js";
import { ProducerIdentity } from "./idempotence.js";
import { IdleWaiters } from "./idle-waiters.js";
import { Partitioner } from "./partitioners.js";
import {
  checkDelimited,
  checkPartition,
  checkRecord,
  checkTopicName,
} from "./produce-arguments.js";
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
import { Sender } from "./sender.js";
import { emptyStats, type ProducerStats } from "./stats.js";

export interface ProducerOptions {
  /**
   * Where the producer logs. By default `consoleLogger("warn")`: warnings and
   * errors on stderr (a broker that cannot be reached, once per broker and
   * cause; all brokers down). `silentLogger` silences it.
   */
  logger?: Logger;
  /** Called for every record produced without a callback of its own (librdkafka's dr_msg_cb). */
  onDelivery?: DeliveryCallback;
  /**
   * Called when a connection to a broker fails or drops (librdkafka's error_cb):
   * code SSL or AUTHENTICATION for TLS and SASL failures, TRANSPORT or TIMED_OUT
   * otherwise. The producer keeps retrying with the reconnect backoff. Once
   * every known broker has failed and none is connected it is called with
   * ALL_BROKERS_DOWN (the last connection error as its cause), once until a
   * broker connects again.
   */
  onError?: (err: Error) => void;
  /** OAUTHBEARER tokens; called again when 80% of a token's lifetime has passed. */
  oauthBearerTokenProvider?: OAuthBearerTokenProvider;
}

export class Producer {
  readonly config: Readonly<ProducerConfig>;
  readonly #cluster: Cluster;
  readonly #accumulator: Accumulator;
  readonly #sender: Sender;
  readonly #identity: ProducerIdentity | undefined;
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
    const onError = options.onError;
    this.#limits = new QueueLimits(this.config);
    this.#messageTimeoutMs = config["message.timeout.ms"] || Number.POSITIVE_INFINITY;
    this.#cluster = new Cluster(
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
          logger,
          tls: this.#security.tls,
          sasl: this.#security.sasl,
          onReauthenticated: () => {
            this.#counters.reauthentications++;
          },
        },
        reconnectBackoffMs: config["reconnect.backoff.ms"],
        reconnectBackoffMaxMs: config["reconnect.backoff.max.ms"],
        refreshIntervalMs: config["topic.metadata.refresh.interval.ms"],
        maxAgeMs: config["metadata.max.age.ms"],
        retryBackoffMs: config["retry.backoff.ms"],
        retryBackoffMaxMs: config["retry.backoff.max.ms"],
        allowAutoCreate: config["allow.auto.create.topics"],
        logger,
      },
      {
        topicsAwaitingMetadata: () => this.#accumulator.topicsAwaitingMetadata(),
        onMetadata: () => {
          const now = Date.now();
          this.#accumulator.forgetIdle(now, config["metadata.max.idle.ms"]);
          this.#accumulator.onMetadata(now);
          this.#sender.wakeAll();
        },
        onBrokerReady: (nodeId) => this.#sender.brokerReady(nodeId),
        onBrokerDown: (nodeId) => this.#sender.brokerReady(nodeId),
        onConnectionError: (err) => {
          if (onError === undefined) return;
          try {
            onError(err);
          } catch (e) {
            logger.error("onError callback threw", { error: (e as Error).message });
          }
        },
      },
    );
    const partitioner = new Partitioner(config.partitioner, {
      stickyLingerMs: config["sticky.partitioning.linger.ms"],
    });
    this.#accumulator = new Accumulator(
      config,
      this.#counters,
      this.#cluster,
      partitioner,
      {
        onReady: () => this.#sender.schedule(),
        wake: (time) => this.#sender.wake(time),
        onIdle: () => this.#idle.notify(),
      },
      logger,
    );
    this.#identity = config["enable.idempotence"]
      ? new ProducerIdentity(
          config["retry.backoff.ms"],
          config["retry.backoff.max.ms"],
          isGiven(properties, "enable.idempotence"),
          logger,
          {
            onReady: () => this.#sender.wakeAll(),
            onFatal: (err) => this.#accumulator.failAll(() => err),
            onDisabled: () => this.#sender.dropIdentity(),
          },
        )
      : undefined;
    this.#sender = new Sender(
      this.#accumulator,
      this.#cluster,
      config,
      this.#counters,
      logger,
      this.#identity,
      { lingerDisabled: () => this.#flushing > 0 || this.#closing },
    );
  }

  /**
   * Queues one record. Throws at once (nothing queued, no report) for bad
   * arguments, a record over message.max.bytes, a full queue (QUEUE_FULL) or a
   * closed producer; otherwise `callback` (or the producer's onDelivery) is
   * called exactly once with the outcome.
   */
  produce(record: ProducerRecord, callback?: DeliveryCallback): void {
    this.#checkOpen();
    // Everything about the record is checked before the topic is looked up: a refused
    // record must not make the producer ask for (and so auto-create) its topic.
    const topic = checkRecord(record);
    const acc = this.#accumulator;
    const partitionCount = acc.knownPartitions(topic);
    if (partitionCount === undefined) checkTopicName(topic);
    const counters = this.#counters;
    let size = this.#limits.roomFor(record, topic, counters, acc.bufferBytes);
    const partition = record.partition;
    if (partition !== undefined && partition !== -1) {
      checkPartition(topic, partition, partitionCount);
    }
    const now = Date.now();
    const timestamp = record.timestamp ?? now;
    if (!Number.isSafeInteger(timestamp)) {
      throw new KafkaClientError(
        "INVALID_ARG",
        `invalid timestamp ${timestamp} for topic "${topic}"`,
      );
    }
    // A record waiting for metadata keeps its size until it is encoded: count it
    // exactly (a cold path) so the queue does not fill up early meanwhile.
    if (!partitionCount) size = recordSize(record);
    acc.append(
      record,
      callback ?? this.#onDelivery,
      timestamp,
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

  /** Like produce(), as a Promise of the delivery report (rejected with the delivery error). */
  send(record: ProducerRecord): Promise<DeliveryReport> {
    return new Promise((resolve, reject) => {
      this.produce(record, (err, report) => (err ? reject(err) : resolve(report)));
    });
  }

  /** Refuses new records once closing, or after a fatal error. */
  #checkOpen(): void {
    if (this.#closing) {
      throw new KafkaClientError("DESTROYED", "the producer is closed");
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
    const timeoutMs = options.timeoutMs ?? 10000;
    const topics = options.topics ?? null;
    for (const t of topics ?? []) checkTopicName(t);
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<"expired">((resolve) => {
      timer = setTimeout(() => resolve("expired"), timeoutMs);
    });
    let lastError: Error | undefined;
    try {
      while (!this.#closed) {
        const outcome = await Promise.race([
          this.#cluster.describe(topics).catch((err: Error) => err),
          expired,
        ]);
        if (outcome === "expired") break;
        if (!(outcome instanceof Error)) return describeCluster(outcome);
        lastError = outcome;
        if (Date.now() >= deadline) break;
      }
    } finally {
      clearTimeout(timer);
    }
    if (this.#closed) throw new KafkaClientError("DESTROYED", "the producer is closed");
    throw new KafkaClientError(
      "TIMED_OUT",
      `no broker answered a metadata request within ${timeoutMs} ms${lastErrorText(lastError ?? this.#cluster.lastConnectionError)}`,
      { cause: lastError },
    );
  }

  /**
   * Sends everything queued without waiting for linger.ms and waits until
   * every record (those produced meanwhile too) has its report, or
   * `timeoutMs` passes. Resolves with the number of records still waiting for
   * their report then: 0 when everything was reported. A timeout fails no
   * record, as with librdkafka's flush(): each keeps its own
   * message.timeout.ms (close() ends what is left).
   */
  async flush(timeoutMs = 30000): Promise<number> {
    if (this.#counters.queued === 0) return 0;
    this.#flushing++;
    try {
      this.#sender.wakeAll();
      const idle = await this.#idle.wait(timeoutMs);
      return idle ? 0 : this.#counters.queued;
    } finally {
      this.#flushing--;
    }
  }

  /**
   * Flushes within `timeoutMs`, reports whatever is left as failed (records
   * past their message.timeout.ms as MSG_TIMED_OUT, the others DESTROYED),
   * then closes every connection and timer: nothing keeps the process alive.
   * Returns the number of records that failed at the deadline. Called again
   * while closing, with a nearer deadline (close(0) on a second Ctrl-C, say),
   * it brings the deadline forward and returns the same promise.
   */
  close(timeoutMs = 30000): Promise<number> {
    if (this.#closePromise) {
      this.#shortenClose?.(timeoutMs);
      return this.#closePromise;
    }
    this.#closePromise = this.#shutdown(timeoutMs);
    return this.#closePromise;
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
    this.#sender.stop();
    this.#cluster.close();
    this.#security.close();
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

  /** Topic metadata as last fetched (partition count), or undefined. */
  partitionCount(topic: string): number | undefined {
    const meta = this.#cluster.topics.get(topic);
    return meta && meta.partitions.length > 0 ? meta.partitions.length : undefined;
  }
}

function lastErrorText(cause: Error | undefined): string {
  return cause ? `: last error ${cause.message}` : "";
}
