/**
 * Record storage between enqueue and delivery report: per-partition queues of
 * record batches, each encoded straight into a pooled buffer as records arrive,
 * and per-topic waiting lists for records whose partition cannot be chosen yet
 * (topic metadata not known).
 */
import type { KafkaProtocolError } from "../protocol/errors.js";
import {
  type CompressionCodec,
  RecordBatchBuilder,
  type RecordData,
  type RecordHeader,
} from "../protocol/record-batch.js";
import { Writer } from "../protocol/writer.js";
import type { KafkaClientError } from "./client-error.js";
import type { TopicPartitionerState } from "./partitioners.js";

export type DeliveryError = KafkaClientError | KafkaProtocolError;

export interface DeliveryReport {
  topic: string;
  partition: number;
  /** The record's offset; -1 when unknown (acks=0, or failure). */
  offset: number;
  /** LogAppendTime when the topic uses it, else the record's timestamp (ms). */
  timestamp: number;
  /** What the caller passed as `opaque` with the record. */
  opaque: unknown;
}

/** Called exactly once per record: `err` is null on success. */
export type DeliveryCallback = (err: DeliveryError | null, report: DeliveryReport) => void;

export interface ProducerRecord {
  topic: string;
  value: RecordData | null;
  key?: RecordData | null;
  /** An explicit partition; out of range is an error, never a wrap. */
  partition?: number;
  headers?: readonly RecordHeader[];
  /** CreateTime in ms; defaults to the time of the call. */
  timestamp?: number;
  /** Handed back in the delivery report. */
  opaque?: unknown;
}

/** Bytes a record adds to a batch at most: the fixed part of the record plus its data. */
export const RECORD_OVERHEAD_MAX = 5 + 1 + 10 + 5 + 5 + 5 + 5;

function lengthUpperBound(data: RecordData | null | undefined): number {
  if (data == null) return 0;
  // A UTF-16 code unit never takes more than 3 UTF-8 bytes.
  return typeof data === "string" ? data.length * 3 : data.length;
}

function exactLength(data: RecordData | null | undefined): number {
  if (data == null) return 0;
  return typeof data === "string" ? Buffer.byteLength(data, "utf8") : data.length;
}

function headersSize(
  headers: readonly RecordHeader[] | undefined,
  measure: (d: RecordData | null | undefined) => number,
): number {
  if (headers === undefined) return 0;
  let n = 0;
  for (const h of headers) n += 10 + measure(h.key) + measure(h.value);
  return n;
}

/** An upper bound of the encoded record size, cheap for string data. */
export function recordSizeUpperBound(r: ProducerRecord): number {
  return (
    RECORD_OVERHEAD_MAX +
    lengthUpperBound(r.key) +
    lengthUpperBound(r.value) +
    headersSize(r.headers, lengthUpperBound)
  );
}

/** The record size used for message.max.bytes and the queue's byte count. */
export function recordSize(r: ProducerRecord): number {
  return (
    RECORD_OVERHEAD_MAX +
    exactLength(r.key) +
    exactLength(r.value) +
    headersSize(r.headers, exactLength)
  );
}

/** Keeps the writers of finished batches for the next ones, bounded in count. */
export class WriterPool {
  private readonly free: Writer[] = [];
  constructor(
    private readonly initialBytes: number,
    private readonly maxPooled: number,
  ) {}

  take(): Writer {
    return this.free.pop()?.reset() ?? new Writer(this.initialBytes);
  }

  give(w: Writer): void {
    if (this.free.length < this.maxPooled) this.free.push(w);
  }
}

/** One record batch of one partition, from its first record to its delivery report. */
export class Batch {
  readonly builder = new RecordBatchBuilder();
  /**
   * Per-record callbacks and opaques, kept sparse: while every record shares
   * one callback (a producer-wide onDelivery, or one function passed each time)
   * and none has an opaque, nothing is stored per record.
   */
  private sharedCallback: DeliveryCallback | undefined;
  private callbacks: (DeliveryCallback | undefined)[] | null = null;
  private opaques: unknown[] | null = null;
  readonly timestamps: number[] = [];
  count = 0;
  /** Queue bytes accounted for this batch's records. */
  bytes = 0;
  /** Finished (CRC computed): no more records. */
  sealed = false;
  /** Being compressed off the event loop: no more records, not sendable yet. */
  sealing = false;
  /** The encoded batch, once sealed. */
  data: Buffer | undefined;
  /** Produce requests that carried it. */
  attempts = 0;
  /** Not to be sent again before this time (retry backoff). */
  retryAt = 0;
  /** The error of the last failed attempt: the cause given if the deadline passes. */
  lastError: DeliveryError | undefined;
  /** Reported (delivered or failed): responses that come later are ignored. */
  done = false;
  /**
   * When the batch is reported failed if still undelivered: the latest
   * message.timeout.ms deadline of its records (Infinity when 0), so that no
   * record fails before its own deadline.
   */
  deadline: number;
  /** The earliest deadline of its records. */
  private earliestDeadline: number;

  constructor(
    readonly queue: PartitionQueue,
    readonly writer: Writer,
    readonly createdAt: number,
    /** The first record's deadline. */
    deadline: number,
    compression: CompressionCodec,
    compressionLevel = -1,
  ) {
    this.deadline = deadline;
    this.earliestDeadline = deadline;
    this.compressed = compression !== "none";
    this.builder.begin(writer, { compression, compressionLevel });
  }

  private readonly compressed: boolean;

  /**
   * Whether a record due at `deadline` may join without any record of the
   * batch being reported more than `slackMs` after its own deadline.
   */
  fitsDeadline(deadline: number, slackMs: number): boolean {
    if (deadline === this.deadline && deadline === this.earliestDeadline) return true;
    return Math.max(deadline, this.deadline) - Math.min(deadline, this.earliestDeadline) <= slackMs;
  }

  addDeadline(deadline: number): void {
    if (deadline > this.deadline) this.deadline = deadline;
    if (deadline < this.earliestDeadline) this.earliestDeadline = deadline;
  }

  /** Notes the callback and opaque of the record just appended (its index is `count`). */
  addReport(callback: DeliveryCallback | undefined, opaque: unknown): void {
    const i = this.count;
    if (this.callbacks !== null) this.callbacks.push(callback);
    else if (i === 0) this.sharedCallback = callback;
    else if (callback !== this.sharedCallback) {
      this.callbacks = new Array<DeliveryCallback | undefined>(i).fill(this.sharedCallback);
      this.callbacks.push(callback);
    }
    if (this.opaques !== null) this.opaques.push(opaque);
    else if (opaque !== undefined) {
      this.opaques = new Array<unknown>(i).fill(undefined);
      this.opaques.push(opaque);
    }
  }

  callbackAt(i: number): DeliveryCallback | undefined {
    return this.callbacks === null ? this.sharedCallback : this.callbacks[i];
  }

  opaqueAt(i: number): unknown {
    return this.opaques === null ? undefined : this.opaques[i];
  }

  /** Encoded bytes so far (uncompressed). */
  get byteLength(): number {
    return this.sealed ? this.data!.length : this.builder.byteLength;
  }

  /**
   * Closes the batch to new records and finishes it: at once when it is not
   * compressed; otherwise the codec runs off the event loop (zlib's thread
   * pool, or LZ4 in slices) and `onSealed` is called when the batch is ready,
   * or with the error when compression failed.
   */
  seal(onSealed: (batch: Batch, err?: Error) => void): void {
    if (this.sealed || this.sealing) return;
    if (!this.compressed) {
      this.builder.finish();
      this.data = this.writer.finish();
      this.sealed = true;
      return;
    }
    this.sealing = true;
    this.builder.finishAsync().then(
      () => {
        this.sealing = false;
        if (this.done) return;
        this.data = this.writer.finish();
        this.sealed = true;
        onSealed(this);
      },
      (err: Error) => {
        this.sealing = false;
        if (!this.done) onSealed(this, err);
      },
    );
  }
}

/** The batches of one partition, oldest first; at most the head is in flight. */
export class PartitionQueue {
  readonly batches: Batch[] = [];
  /** A Produce request carrying the head batch awaits its response. */
  inFlight = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** The batch still taking records, if any. */
  openBatch(): Batch | undefined {
    const last = this.batches[this.batches.length - 1];
    return last !== undefined && !last.sealed && !last.sealing ? last : undefined;
  }
}

/** A record waiting for its topic's metadata, with its callback and deadline. */
export interface WaitingRecord {
  record: ProducerRecord;
  callback: DeliveryCallback | undefined;
  timestamp: number;
  size: number;
  deadline: number;
}

export class TopicQueue {
  partitions: PartitionQueue[] = [];
  readonly waiting: WaitingRecord[] = [];

  constructor(
    readonly name: string,
    /** When the producer first used the topic (for topic.metadata.propagation.max.ms). */
    readonly firstUsedAt: number,
    /** The partitioner's sticky state for this topic. */
    readonly partitionerState: TopicPartitionerState,
  ) {}

  /** Grows the partition list to the topic's current partition count. */
  resize(count: number): void {
    for (let p = this.partitions.length; p < count; p++) {
      this.partitions.push(new PartitionQueue(this.name, p));
    }
  }
}
