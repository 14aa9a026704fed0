/**
 * Record storage between produce() and the delivery report, with one owner:
 * topics (in a TopicTable), per-partition queues of record batches, records
 * waiting for their topic's metadata (in WaitingTopics), the batch buffers
 * (counted by BatchBuffers), the queue counters and when each record is
 * reported (the DeliveryReporter calls the callbacks).
 *
 * The Sender takes ready batches from `active` and hands outcomes back
 * (`complete`, `fail`, `release`, `split`); nothing else changes the queues.
 */

import type { Cluster } from "../client/cluster.js";
import type { Logger } from "../client/logger.js";
import type { ProducerConfig } from "../config/index.js";
import {
  BATCH_HEADER_SIZE,
  type CompressionCodec,
  type DelimitedRun,
} from "../protocol/record-batch.js";
import { Batch, type BatchLimits, batchLimits } from "./batch.js";
import { BatchBuffers } from "./batch-buffers.js";
import { splitBatch } from "./batch-split.js";
import { DeliveryReporter } from "./delivery-reporter.js";
import type { Partitioner } from "./partitioners.js";
import type { PartitionQueue, TopicQueue } from "./queues.js";
import {
  copyRecord,
  type DeliveryCallback,
  type DeliveryError,
  type DeliveryTally,
  type ProducerRecord,
} from "./record.js";
import type { ProducerStats } from "./stats.js";
import { TopicTable } from "./topics.js";
import { copyWaitingRun, type Waiting } from "./waiting.js";
import { WaitingTopics } from "./waiting-topics.js";

export interface AccumulatorEvents {
  /** A batch is ready to go (closed): run the sender soon. */
  onReady(): void;
  /** Run the sender at `time` at the latest (a linger or a deadline). */
  wake(time: number): void;
  /** Records were reported: the queue holds fewer (maybe none). */
  onReported(): void;
}

export class Accumulator {
  /** Partitions that hold batches: the sender's work list. */
  readonly active = new Set<PartitionQueue>();
  private readonly topics: TopicTable;
  private readonly waiting: WaitingTopics;
  private readonly buffers: BatchBuffers;
  private readonly limits: BatchLimits;
  private readonly lingerMs: number;
  private readonly codec: CompressionCodec;
  private readonly level: number;
  private readonly reporter: DeliveryReporter;

  constructor(
    config: Readonly<ProducerConfig>,
    private readonly counters: ProducerStats,
    cluster: Pick<Cluster, "topics" | "want" | "forget" | "requestRefresh" | "lastConnectionError">,
    private readonly partitioner: Partitioner,
    private readonly events: AccumulatorEvents,
    private readonly logger: Logger,
  ) {
    this.limits = batchLimits(config);
    this.lingerMs = config["linger.ms"];
    this.reporter = new DeliveryReporter(counters, logger);
    this.topics = new TopicTable(config, cluster, logger);
    this.waiting = new WaitingTopics(config, cluster, this.topics, this.reporter);
    this.codec = config["compression.codec"];
    this.level = config["compression.level"];
    this.buffers = new BatchBuffers(config["queue.buffering.max.kbytes"] * 1024);
  }

  /** Bytes of buffer held by live batches (counted against queue.buffering.max.kbytes). */
  get bufferBytes(): number {
    return this.buffers.bytes;
  }

  /** The partition count of a topic the producer has used, 0 while unknown. */
  knownPartitions(topic: string): number | undefined {
    return this.topics.get(topic)?.partitions.length;
  }

  /**
   * Queues one record (checked by the caller, counted as `size` bytes): into
   * its partition's open batch, or, while the topic's partitions are unknown
   * or records before it still wait, at the end of the topic's waiting list.
   */
  append(
    record: ProducerRecord,
    callback: DeliveryCallback | undefined,
    timestamp: number,
    size: number,
    now: number,
    deadline: number,
  ): void {
    const tq = this.topics.use(record.topic, now);
    this.counters.produced++;
    this.counters.queued++;
    this.counters.queuedBytes += size;
    if (tq.partitions.length === 0 || tq.waiting.length > 0) {
      this.waiting.add(tq, { record: copyRecord(record), callback, timestamp, size, deadline });
      this.events.wake(deadline);
      return;
    }
    this.appendToPartition(tq, record, callback, timestamp, size, now, deadline);
  }

  /**
   * Queues the delimited records of `run` from `from` into one partition's
   * batches (see Batch.appendDelimited), within the queue's room: at most
   * `roomRecords` records and `roomBytes` encoded bytes, and no new batch
   * buffer while the held ones pass `maxBufferBytes`. While the topic's
   * partitions are unknown (or records of it wait for them) the records wait
   * as one copy, each counted as its value plus `overhead` bytes. Returns the
   * offset where it stopped: `to`'s side of the last complete record, or a
   * record the caller must hand to the record-by-record path.
   */
  appendDelimited(
    topic: string,
    partition: number | undefined,
    run: DelimitedRun,
    from: number,
    to: number,
    maxValueBytes: number,
    roomRecords: number,
    roomBytes: number,
    maxBufferBytes: number,
    tally: DeliveryTally,
    now: number,
    deadline: number,
    overhead: number,
  ): number {
    const tq = this.topics.use(topic, now);
    if (tq.partitions.length === 0 || tq.waiting.length > 0) {
      const waiting = copyWaitingRun(
        run,
        from,
        to,
        roomRecords,
        roomBytes,
        maxValueBytes,
        overhead,
      );
      if (waiting.copy === undefined) return from;
      const { records, size } = waiting;
      this.counters.produced += records;
      this.counters.queued += records;
      this.counters.queuedBytes += size;
      this.waiting.add(tq, { run: waiting.copy, partition, records, size, tally, deadline });
      this.events.wake(deadline);
      return waiting.offset;
    }
    // One key and one clock reading for the whole run: one partition.
    const p =
      partition === undefined || partition === -1
        ? this.partitioner.partition(run.key, tq.partitions.length, now, tq.partitionerState)
        : partition;
    const pq = tq.partitions[p];
    if (pq === undefined) return from;
    const limits = this.limits;
    const counters = this.counters;
    let pos = from;
    for (;;) {
      let batch = pq.openBatch();
      if (batch === undefined) {
        if (this.bufferBytes > maxBufferBytes) return pos;
        batch = this.newBatch(pq, now, deadline, Math.min(to - pos, limits.maxBytes));
      }
      const count = batch.count;
      const bytes = batch.bytes;
      pos = batch.appendDelimited(
        run,
        pos,
        to,
        maxValueBytes,
        roomRecords,
        roomBytes,
        deadline,
        tally,
        limits,
      );
      const n = batch.count - count;
      const added = batch.bytes - bytes;
      counters.produced += n;
      counters.queued += n;
      counters.queuedBytes += added;
      roomRecords -= n;
      roomBytes -= added;
      if (batch.count === 0) {
        this.dropEmpty(pq, batch);
        return pos;
      }
      this.buffers.track(batch);
      if (batch.isFull(limits)) this.closeBatch(batch);
      if (batch.lastStop !== "batch") return pos;
      this.closeBatch(batch);
    }
  }

  /** Removes a batch just opened that took no record after all. */
  private dropEmpty(pq: PartitionQueue, batch: Batch): void {
    pq.batches.pop();
    if (pq.batches.length === 0) this.active.delete(pq);
    this.buffers.release(batch);
  }

  /** Encodes a record into its partition's open batch (a new one when it does not fit). */
  private appendToPartition(
    tq: TopicQueue,
    record: ProducerRecord,
    callback: DeliveryCallback | undefined,
    timestamp: number,
    size: number,
    now: number,
    deadline: number,
  ): void {
    let p = record.partition;
    if (p === undefined || p === -1) {
      p = this.partitioner.partition(record.key, tq.partitions.length, now, tq.partitionerState);
    }
    const pq = tq.partitions[p]!;
    const limits = this.limits;
    let batch = pq.openBatch() ?? this.newBatch(pq, now, deadline, size);
    let encoded = -1;
    // An empty batch takes any record: at most one more try, in a new batch.
    for (let tries = 0; encoded < 0; tries++) {
      if (tries > 0) {
        this.closeBatch(batch);
        batch = this.newBatch(pq, now, deadline, size);
      }
      encoded = batch.tryAppend(
        record.key,
        record.value,
        timestamp,
        record.headers,
        size,
        deadline,
        callback,
        record.opaque,
        limits,
      );
    }
    // produce() counted an estimate (up to 3 bytes per UTF-16 unit); from here on
    // the queue counts the bytes really encoded, or it would fill up early.
    this.counters.queuedBytes += encoded - size;
    this.buffers.track(batch);
    if (batch.isFull(limits)) this.closeBatch(batch);
  }

  private newBatch(pq: PartitionQueue, now: number, deadline: number, size: number): Batch {
    const need = BATCH_HEADER_SIZE + size;
    const batch = new Batch(
      pq.topic,
      pq.partition,
      this.buffers.take(need),
      now,
      deadline,
      this.codec,
      this.level,
    );
    this.buffers.hold(batch, need);
    pq.batches.push(batch);
    pq.wake();
    this.active.add(pq);
    // Behind a batch in flight it waits for that answer, which runs the sender anyway.
    if (pq.inFlight === 0) this.events.wake(now + this.lingerMs);
    return batch;
  }

  /** Closes a batch to new records and lets the sender take it. */
  closeBatch(batch: Batch): void {
    if (batch.closed) return;
    batch.closed = true;
    this.partitionQueue(batch).wake();
    this.events.onReady();
  }

  /**
   * Forgets the topics with nothing queued and no record produced for
   * `idleMs` (metadata.max.idle.ms): see TopicTable.forgetIdle.
   */
  forgetIdle(now: number, idleMs: number): void {
    this.topics.forgetIdle(now, idleMs);
  }

  /** Topics with records waiting for their metadata (the ones auto-creation is asked for). */
  *topicsAwaitingMetadata(): Iterable<string> {
    yield* this.waiting.names();
  }

  /** New metadata: topics grow to their partition count, waiting records are routed in order. */
  onMetadata(now: number): void {
    this.topics.grow();
    for (const tq of this.waiting.routable()) {
      for (const w of tq.waiting.splice(0)) this.routeWaiting(tq, w, now);
    }
  }

  /** Queues a record (or run) that waited for its topic's metadata as if produced now. */
  private routeWaiting(tq: TopicQueue, w: Waiting, now: number): void {
    const p = "run" in w ? w.partition : w.record.partition;
    if (this.waiting.rejectMissingPartition(tq, w, p)) return;
    if ("run" in w) {
      // Counted again as they are encoded.
      this.counters.produced -= w.records;
      this.counters.queued -= w.records;
      this.counters.queuedBytes -= w.size;
      const inf = Number.POSITIVE_INFINITY;
      const { run } = w;
      this.appendDelimited(
        tq.name,
        p,
        run,
        0,
        run.source.length,
        inf,
        inf,
        inf,
        inf,
        w.tally,
        now,
        w.deadline,
        0,
      );
      return;
    }
    this.appendToPartition(tq, w.record, w.callback, w.timestamp, w.size, now, w.deadline);
  }

  /** Fails waiting records past their deadline or of a topic that cannot be had; returns the next deadline. */
  expireWaiting(now: number): number {
    const next = this.waiting.expire(now);
    this.reported();
    return next;
  }

  /** Reports a batch delivered; removes it unless a request still carries it. */
  complete(batch: Batch, baseOffset: number, logAppendTime: number): void {
    if (batch.done) return;
    this.reporter.delivered(batch, baseOffset, logAppendTime);
    if (!batch.inFlight) this.release(batch);
    this.reported();
  }

  /**
   * Reports a batch failed. A batch a request still carries stays at its
   * place in the queue (its request's outcome still matters to the order and
   * the sequence) until the sender releases it.
   */
  fail(batch: Batch, err: DeliveryError): void {
    if (batch.done) return;
    this.reporter.failed(batch, err);
    if (!batch.inFlight) this.release(batch);
    this.reported();
  }

  /** Removes a reported batch that no request carries any more, and frees its buffer. */
  release(batch: Batch): void {
    const pq = this.partitionQueue(batch);
    const i = pq.batches.indexOf(batch);
    if (i < 0) return;
    pq.batches.splice(i, 1);
    pq.wake();
    if (pq.batches.length === 0) this.active.delete(pq);
    this.buffers.release(batch);
  }

  /**
   * Removes every reported batch of `pq` that no request carries, in one
   * pass (removing them one by one would be quadratic in a long queue).
   */
  private removeReported(pq: PartitionQueue): void {
    const batches = pq.batches;
    let kept = 0;
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i]!;
      if (b.done && !b.inFlight) this.buffers.release(b);
      else batches[kept++] = b;
    }
    batches.length = kept;
    pq.wake();
    if (kept === 0) this.active.delete(pq);
  }

  /**
   * Reports failed every batch of `pq` past its deadline, in flight or not (a
   * batch a request carries stays at its place until the request is
   * answered), and removes the others. Deadlines grow along a queue, so it
   * stops at the first batch still in time and returns that deadline.
   * `makeError` is asked once per run of batches alike in what the error says.
   */
  expire(pq: PartitionQueue, now: number, makeError: (batch: Batch) => DeliveryError): number {
    let next = Number.POSITIVE_INFINITY;
    let err: DeliveryError | undefined;
    let like: Batch | undefined;
    let reported = 0;
    for (const b of pq.batches) {
      if (b.done) continue;
      if (b.deadline > now) {
        next = b.deadline;
        break;
      }
      if (
        like === undefined ||
        b.lastError !== like.lastError ||
        b.unresolved !== like.unresolved ||
        b.inFlight !== like.inFlight
      ) {
        err = makeError(b);
        like = b;
      }
      this.reporter.failed(b, err!);
      reported++;
    }
    if (reported > 0) {
      this.removeReported(pq);
      this.reported();
    }
    return next;
  }

  /** Moves a partition to the back of `active`: the sender serves the others first. */
  markServed(pq: PartitionQueue): void {
    this.active.delete(pq);
    this.active.add(pq);
  }

  partitionQueue(batch: Batch): PartitionQueue {
    return this.topics.partitionQueue(batch);
  }

  /**
   * Replaces a sealed batch the broker refused as too large by two halves,
   * re-encoded from its bytes with the same records, order, callbacks and
   * deadline; returns them (unsealed, closed). A batch of one record cannot
   * be split: undefined.
   */
  split(batch: Batch, now: number): [Batch, Batch] | undefined {
    if (batch.count < 2 || batch.data === undefined) return undefined;
    const pq = this.partitionQueue(batch);
    const at = pq.batches.indexOf(batch);
    if (at < 0) return undefined;
    const halves = splitBatch(batch, now, this.buffers, this.codec, this.level);
    for (const part of halves) this.buffers.hold(part, part.byteLength);
    pq.batches.splice(at, 1, halves[0], halves[1]);
    this.buffers.release(batch);
    this.logger.debug("batch split after a too-large error", {
      topic: batch.topic,
      partition: batch.partition,
      records: batch.count,
    });
    return halves;
  }

  /**
   * Reports every record still queued as failed (close()'s deadline, a fatal
   * error); with `unsentOnly`, only those no request carries (a transaction's
   * abort: what is in flight keeps its place and gets its answer). Returns how many.
   */
  failAll(makeError: (topic: string) => DeliveryError, unsentOnly = false): number {
    const before = this.counters.failed;
    this.waiting.failAll(makeError);
    for (const pq of [...this.active]) {
      const err = makeError(pq.topic);
      for (const batch of pq.batches) {
        if (!batch.done && !(unsentOnly && batch.inFlight)) this.reporter.failed(batch, err);
      }
      this.removeReported(pq);
    }
    this.reported();
    return this.counters.failed - before;
  }

  /** Calls `fn` with every partition queue of every topic used. */
  forEachPartition(fn: (pq: PartitionQueue) => void): void {
    for (const tq of this.topics.values()) for (const pq of tq.partitions) fn(pq);
  }

  /** Batches in Produce requests not answered yet. */
  inFlightBatches(): number {
    let n = 0;
    for (const pq of this.active) n += pq.inFlight;
    return n;
  }

  private reported(): void {
    this.events.onReported();
  }
}
