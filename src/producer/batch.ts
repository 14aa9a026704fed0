/**
 * One record batch of one partition, from its first record to its delivery
 * report: records are encoded straight into a pooled buffer as they arrive;
 * the batch decides itself whether another record fits; once closed it is
 * stamped (producer id, epoch, base sequence) and sealed (compressed, one CRC
 * pass), and may be stamped again after an epoch bump.
 *
 * Who changes what: the record contents and the seal belong to the batch's own
 * methods, called by the Accumulator; the fields under "sending state" are
 * the Sender's.
 */
import type { ProducerConfig } from "../config/index.js";
import { crc32c } from "../protocol/crc32c.js";
import {
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  type CompressionCodec,
  CRC_OFFSET,
  type DelimitedRun,
  PRODUCER_EPOCH_OFFSET,
  PRODUCER_ID_OFFSET,
  RecordBatchBuilder,
  type RecordData,
  type RecordHeader,
  TRANSACTIONAL_FLAG,
} from "../protocol/record-batch.js";
import type { Writer } from "../protocol/writer.js";
import { writeInt64At } from "../protocol/writer.js";
import type { DeliveryCallback, DeliveryError, DeliveryTally } from "./record.js";

/**
 * The callback slot of a record reported through its batch's tally (a count
 * per batch) rather than a report of its own.
 */
export const TALLIED: DeliveryCallback = () => {};

/** Why the last `Batch.appendDelimited()` returned. */
export type BatchStop = "end" | "too-large" | "batch" | "queue";

/** Where a batch stands in the idempotent sequence of its partition. */
export interface ProducerStamp {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  /** Part of a transaction: the attributes' isTransactional bit. */
  transactional?: boolean;
}

/** Limits a batch applies when asked to take a record. */
export interface BatchLimits {
  maxRecords: number;
  maxBytes: number;
  /** How far apart the deadlines of one batch's records may be. */
  deadlineSlackMs: number;
}

/** The limits of the batches a producer with `config` fills. */
export function batchLimits(config: Readonly<ProducerConfig>): BatchLimits {
  const timeout = config["message.timeout.ms"] || Number.POSITIVE_INFINITY;
  return {
    maxRecords: config["batch.num.messages"],
    maxBytes: config["batch.size"],
    // A batch fails as a whole at the latest deadline of its records, so a
    // batch that keeps taking records while it cannot be sent (leader down) is
    // closed once its records span this long: no record is reported more than
    // this after its own deadline (or linger.ms, when that is longer). A
    // second is far above a round trip, so normal batching never meets it.
    deadlineSlackMs: Math.max(config["linger.ms"], Math.min(1000, Math.max(100, timeout / 10))),
  };
}

export class Batch {
  private readonly builder = new RecordBatchBuilder();
  /**
   * Per-record callbacks and opaques, kept sparse: while every record shares
   * one callback (a producer-wide onDelivery, or one function passed each time)
   * and none has an opaque, nothing is stored per record.
   */
  private sharedCallback: DeliveryCallback | undefined;
  private callbacks: (DeliveryCallback | undefined)[] | null = null;
  private opaques: unknown[] | null = null;
  /** Per-record timestamps for the reports; null while every record is tallied. */
  private timestamps: number[] | null = null;
  /** Told the outcome of the tallied records (callback slot TALLIED) by count. */
  tally: DeliveryTally | undefined;
  /** Records reported through `tally`. */
  tallied = 0;
  /** Why the last appendDelimited() returned. */
  lastStop: BatchStop = "end";
  count = 0;
  /** Queue bytes accounted for this batch's records. */
  bytes = 0;
  /** Buffer bytes BatchBuffers counts this batch for (its bookkeeping). */
  heldBytes = 0;
  /** Takes no more records (full, lingered long enough, or flushed). */
  closed = false;
  /** Being compressed off the event loop: not sendable yet. */
  sealing = false;
  /** Finished (compressed, CRC computed): `data` holds the bytes to send. */
  sealed = false;
  /** The encoded batch, once sealed. */
  data: Buffer | undefined;
  /** Stamped with a producer id and sequence (idempotent producer); null before. */
  stamp: ProducerStamp | null = null;
  /** Reported (delivered or failed): what comes later only settles its bookkeeping. */
  done = false;
  /**
   * When the batch is reported failed if still undelivered: the latest
   * message.timeout.ms deadline of its records (Infinity when 0), so that no
   * record fails before its own deadline.
   */
  deadline: number;
  /** The earliest deadline of its records. */
  private earliestDeadline: number;

  // --- sending state (the Sender's) ---
  /** Produce requests that carried it. */
  attempts = 0;
  /** Not to be sent again before this time (retry backoff). */
  retryAt = 0;
  /** In a Produce request that has not been answered yet. */
  inFlight = false;
  /**
   * An attempt ended without a definite answer (connection lost, request
   * timed out, or an error the broker gives after writing): the broker may
   * hold the records.
   */
  unresolved = false;
  /** The error of the last failed attempt: the cause given if the deadline passes. */
  lastError: DeliveryError | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly writer: Writer,
    readonly createdAt: number,
    /** The first record's deadline. */
    deadline: number,
    private readonly compression: CompressionCodec,
    compressionLevel = -1,
  ) {
    this.deadline = deadline;
    this.earliestDeadline = deadline;
    this.builder.begin(writer, { compression, compressionLevel });
  }

  /**
   * Appends a record if it fits the limits (always, when the batch is empty);
   * returns the bytes it took, or -1 when it does not fit (the caller closes
   * this batch and starts another).
   */
  tryAppend(
    key: RecordData | null | undefined,
    value: RecordData | null | undefined,
    timestamp: number,
    headers: readonly RecordHeader[] | undefined,
    size: number,
    deadline: number,
    callback: DeliveryCallback | undefined,
    opaque: unknown,
    limits: BatchLimits,
  ): number {
    if (
      this.count > 0 &&
      (this.count >= limits.maxRecords ||
        this.builder.byteLength + size > limits.maxBytes ||
        !this.fitsDeadline(deadline, limits.deadlineSlackMs))
    ) {
      return -1;
    }
    const before = this.builder.byteLength;
    this.builder.append(key, value, timestamp, headers);
    const encoded = this.builder.byteLength - before;
    if (deadline > this.deadline) this.deadline = deadline;
    if (deadline < this.earliestDeadline) this.earliestDeadline = deadline;
    this.addReport(callback, opaque);
    if (this.timestamps === null) {
      this.timestamps = new Array<number>(this.count).fill(timestamp);
    }
    this.timestamps.push(timestamp);
    if (callback === TALLIED) this.tallied++;
    this.count++;
    this.bytes += encoded;
    return encoded;
  }

  /**
   * Appends the delimited records of `run` from `from` (see
   * RecordBatchBuilder.appendDelimited) while they fit the batch's limits and
   * the queue's room, every one reported through `tally`. Returns the offset
   * where it stopped; `lastStop` says why: "batch" when this batch can take no
   * more of them (full, another tally, a deadline too far apart), "queue" when
   * the room ran out. An empty batch takes its first record whatever its size.
   */
  appendDelimited(
    run: DelimitedRun,
    from: number,
    to: number,
    maxValueBytes: number,
    roomRecords: number,
    roomBytes: number,
    deadline: number,
    tally: DeliveryTally,
    limits: BatchLimits,
  ): number {
    const first = this.count;
    if (
      first > 0 &&
      ((this.tally !== undefined && this.tally !== tally) ||
        !this.fitsDeadline(deadline, limits.deadlineSlackMs))
    ) {
      this.lastStop = "batch";
      return from;
    }
    const builder = this.builder;
    const before = builder.byteLength;
    let next = from;
    let batchBytes = limits.maxBytes - before;
    let queueBytes = roomBytes;
    if (first === 0) {
      // An empty batch takes its first record whatever its size; the rest must fit.
      next = builder.appendDelimited(
        run,
        next,
        to,
        Math.min(1, roomRecords),
        roomBytes,
        maxValueBytes,
      );
      batchBytes = Number.POSITIVE_INFINITY;
    }
    if (first > 0 || (builder.recordCount === 1 && builder.delimitedStop === "records")) {
      const taken = builder.recordCount - first;
      batchBytes = limits.maxBytes - builder.byteLength;
      queueBytes = roomBytes - (builder.byteLength - before);
      next = builder.appendDelimited(
        run,
        next,
        to,
        Math.min(limits.maxRecords - builder.recordCount, roomRecords - taken),
        Math.min(batchBytes, queueBytes),
        maxValueBytes,
      );
    }
    const stop = builder.delimitedStop;
    this.lastStop =
      stop === "end" || stop === "too-large"
        ? stop
        : (stop === "records" ? builder.recordCount >= limits.maxRecords : batchBytes <= queueBytes)
          ? "batch"
          : "queue";
    const n = builder.recordCount - first;
    if (n === 0) return next;
    this.tally = tally;
    this.tallied += n;
    this.addTallied(n);
    if (this.timestamps !== null) for (let i = 0; i < n; i++) this.timestamps.push(run.timestamp);
    if (deadline > this.deadline) this.deadline = deadline;
    if (deadline < this.earliestDeadline) this.earliestDeadline = deadline;
    this.count += n;
    this.bytes += builder.byteLength - before;
    return next;
  }

  /** Whether a batch at its record limit (no need to wait for linger.ms). */
  isFull(limits: BatchLimits): boolean {
    return this.count >= limits.maxRecords || this.builder.byteLength >= limits.maxBytes;
  }

  /**
   * Whether a record due at `deadline` may join without any record of the
   * batch being reported more than `slackMs` after its own deadline.
   */
  private fitsDeadline(deadline: number, slackMs: number): boolean {
    if (deadline === this.deadline && deadline === this.earliestDeadline) return true;
    return Math.max(deadline, this.deadline) - Math.min(deadline, this.earliestDeadline) <= slackMs;
  }

  /** Notes the callback and opaque of the record being appended (its index is `count`). */
  private addReport(callback: DeliveryCallback | undefined, opaque: unknown): void {
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

  /** Notes `n` tallied records being appended (their indexes start at `count`). */
  private addTallied(n: number): void {
    const i = this.count;
    if (this.callbacks === null) {
      if (i === 0) this.sharedCallback = TALLIED;
      else if (this.sharedCallback !== TALLIED) {
        this.callbacks = new Array<DeliveryCallback | undefined>(i).fill(this.sharedCallback);
      }
    }
    if (this.callbacks !== null) for (let k = 0; k < n; k++) this.callbacks.push(TALLIED);
    if (this.opaques !== null) for (let k = 0; k < n; k++) this.opaques.push(undefined);
  }

  /** Whether any record has a report of its own (not only the tally). */
  get hasOwnReports(): boolean {
    return this.callbacks !== null || (this.count > 0 && this.sharedCallback !== TALLIED);
  }

  timestampAt(i: number): number {
    return this.timestamps === null ? 0 : this.timestamps[i]!;
  }

  callbackAt(i: number): DeliveryCallback | undefined {
    return this.callbacks === null ? this.sharedCallback : this.callbacks[i];
  }

  opaqueAt(i: number): unknown {
    return this.opaques === null ? undefined : this.opaques[i];
  }

  /** Bytes of the batch (uncompressed until sealed). */
  get byteLength(): number {
    return this.sealed ? this.data!.length : this.builder.byteLength;
  }

  /** Bytes of buffer the batch holds (what it costs in memory). */
  get capacity(): number {
    return this.writer.buf.length;
  }

  /**
   * Stamps the batch (idempotent producer: `stamp`; otherwise null) and
   * finishes it: at once when it is not compressed; otherwise the codec runs
   * off the event loop and `onSealed` is called when the batch is ready, or
   * with the error when compression failed. Closes the batch.
   */
  seal(stamp: ProducerStamp | null, onSealed: (batch: Batch, err?: Error) => void): void {
    if (this.sealed || this.sealing) return;
    this.closed = true;
    if (stamp !== null) {
      this.stamp = stamp;
      writeStamp(this.writer.buf, stamp);
    }
    if (this.compression === "none") {
      this.builder.finish();
      this.data = this.writer.finish();
      this.sealed = true;
      return;
    }
    this.sealing = true;
    this.builder.finishAsync().then(
      () => {
        this.sealing = false;
        this.data = this.writer.finish();
        this.sealed = true;
        if (!this.done) onSealed(this);
      },
      (err: Error) => {
        this.sealing = false;
        if (!this.done) onSealed(this, err);
      },
    );
  }

  /**
   * Stamps a sealed (or sealing) batch again, after an epoch bump or a gap in
   * its partition's sequence: the header's producer fields and the CRC
   * (a second CRC pass, on this rare path only).
   */
  restamp(stamp: ProducerStamp): void {
    this.stamp = stamp;
    if (this.sealing) {
      // The seal computes the CRC over the header when the codec is done.
      writeStamp(this.writer.buf, stamp);
      return;
    }
    const data = this.data!;
    writeStamp(data, stamp);
    data.writeUInt32BE(crc32c(data, ATTRIBUTES_OFFSET, data.length), CRC_OFFSET);
  }
}

function writeStamp(buf: Buffer, s: ProducerStamp): void {
  writeInt64At(buf, PRODUCER_ID_OFFSET, s.producerId);
  buf.writeInt16BE(s.producerEpoch, PRODUCER_EPOCH_OFFSET);
  buf.writeInt32BE(s.baseSequence, BASE_SEQUENCE_OFFSET);
  // The flag fits the attributes' low byte (big-endian int16).
  if (s.transactional)
    buf[ATTRIBUTES_OFFSET + 1] = buf[ATTRIBUTES_OFFSET + 1]! | TRANSACTIONAL_FLAG;
}
