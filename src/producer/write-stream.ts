/**
 * `producer.createWriteStream()`: a Writable that queues what is written as
 * records, with the producer's queue as its backpressure. A write the queue
 * has no room for is held until records are reported, so write() returns
 * false while the queue is full and 'drain' follows once there is room;
 * 'finish' waits until every record written has its report.
 *
 * Object mode takes records, or values (strings, bytes) for the stream's
 * fixed topic, key, headers and partition. Bytes mode (a delimiter given)
 * cuts the bytes into records at the delimiter through produceDelimited(),
 * with no object per record; bytes after the last delimiter are the last
 * record at the end.
 */

import { Writable } from "node:stream";
import { KafkaClientError } from "../client/client-error.js";
import type { RecordData, RecordHeader } from "../protocol/record-batch.js";
import { joinCarried } from "./carried-record.js";
import { checkTopicName } from "./produce-arguments.js";
import type {
  DelimitedRecords,
  DelimitedResult,
  DeliveryCallback,
  DeliveryError,
  DeliveryTally,
  ProducerRecord,
} from "./record.js";

export interface WriteStreamOptions {
  /** The topic of values written (object mode) or of every record (bytes mode). */
  topic?: string;
  /** Every value's key, headers and partition (values and bytes mode). */
  key?: RecordData | null;
  headers?: readonly RecordHeader[];
  partition?: number;
  /** Bytes mode: records end at this delimiter (e.g. "\n"). */
  delimiter?: string | Uint8Array;
  /** Bytes mode: drop a CR before each delimiter too (CRLF lines). */
  stripCr?: boolean;
  /**
   * What a failed delivery does: "destroy" (the default) destroys the stream
   * with that error; "count" counts it (`failed`) and the stream ends with a
   * DELIVERY_FAILED error saying how many failed, once every record has its report.
   */
  failures?: "destroy" | "count";
  /** The Writable's own buffer: records (object mode, default 2) or bytes (bytes mode). */
  highWaterMark?: number;
  /** Destroys the stream when aborted; records already queued keep their reports. */
  signal?: AbortSignal;
}

/** What the stream needs from its producer. */
export interface StreamProducer {
  produce(record: ProducerRecord, callback: DeliveryCallback): void;
  produceDelimited(input: DelimitedRecords, tally: DeliveryTally): DelimitedResult;
  /** Runs `fn` once, after records are next reported; returns what cancels it. */
  afterReport(fn: () => void): () => void;
  /** Records queued and not yet reported, the stream's and others'. */
  queued(): number;
  /** Sends without waiting for linger.ms until the returned function is called. */
  hurry(): () => void;
  /** message.max.bytes. */
  readonly maxRecordBytes: number;
}

type WriteCallback = (err?: Error | null) => void;

/**
 * Records queued in one turn of the event loop before the stream lets it
 * turn: a source that never waits (an object-mode Readable pushes and the
 * pipe writes in one go) would otherwise fill the whole queue before the
 * sender could send any of it.
 */
const RECORDS_PER_TURN = 1000;

/** A write that throws this waits for room; with nothing queued there will be none. */
function waitsForRoom(err: unknown, producer: StreamProducer): boolean {
  return err instanceof KafkaClientError && err.code === "QUEUE_FULL" && producer.queued() > 0;
}

export class ProducerWriteStream extends Writable {
  readonly #producer: StreamProducer;
  readonly #failures: "destroy" | "count";
  /** Values mode: one record reused for every value (produce() keeps no reference to it). */
  readonly #template: ProducerRecord | undefined;
  /** Bytes mode: produceDelimited()'s input, its data and start set per write. */
  readonly #delimited: (DelimitedRecords & { delimiter: Buffer }) | undefined;
  /** Bytes mode: the bytes of a record not ended yet. */
  #carry: Buffer | undefined;
  #pending = 0;
  #delivered = 0;
  #failed = 0;
  #firstError: DeliveryError | undefined;
  /** A write held until the queue has room: how to cancel the wait, and its callback. */
  #held: { cancel: () => void; callback: WriteCallback } | undefined;
  #endCallback: WriteCallback | undefined;
  #releaseHurry: (() => void) | undefined;
  /** Records queued since the event loop last turned. */
  #turnRecords = 0;
  #turnReset = false;

  constructor(producer: StreamProducer, options: WriteStreamOptions = {}) {
    const bytes = options.delimiter !== undefined;
    super({
      objectMode: !bytes,
      highWaterMark: options.highWaterMark ?? (bytes ? undefined : 2),
      signal: options.signal,
    });
    this.#producer = producer;
    const failures = options.failures ?? "destroy";
    if (failures !== "destroy" && failures !== "count") {
      throw new KafkaClientError(
        "INVALID_ARG",
        `createWriteStream(): failures must be "destroy" or "count", got ${JSON.stringify(failures)}`,
      );
    }
    this.#failures = failures;
    const { topic, key = null, headers, partition } = options;
    if (topic !== undefined) checkTopicName(topic);
    if (bytes) {
      if (topic === undefined) {
        throw new KafkaClientError("INVALID_ARG", "createWriteStream(): bytes mode needs a topic");
      }
      const delimiter =
        typeof options.delimiter === "string"
          ? Buffer.from(options.delimiter)
          : Buffer.from(options.delimiter as Uint8Array);
      if (delimiter.length === 0) {
        throw new KafkaClientError("INVALID_ARG", "createWriteStream(): the delimiter is empty");
      }
      this.#delimited = {
        topic,
        key,
        headers,
        partition,
        delimiter,
        stripCr: options.stripCr === true,
        data: Buffer.alloc(0),
        start: 0,
      };
    } else if (topic !== undefined) {
      this.#template = {
        topic,
        value: null,
        key,
        partition,
        headers,
        timestamp: undefined,
        opaque: undefined,
      };
    }
  }

  /** Records written and delivered so far. */
  get delivered(): number {
    return this.#delivered;
  }

  /** Records written whose delivery failed so far. */
  get failed(): number {
    return this.#failed;
  }

  /** Records written and waiting for their report. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Object mode's fast path: a write with nothing before it (nothing
   * buffered, held or corked, no callback of its own) is queued here, without
   * the Writable's per-write bookkeeping, which costs about a third as much as
   * produce() itself. Anything else, and any write produce() refuses (a full
   * queue, a bad record), takes the Writable's own path: _write() below.
   */
  override write(
    chunk: unknown,
    encoding?: BufferEncoding | WriteCallback,
    callback?: WriteCallback,
  ): boolean {
    if (
      encoding === undefined &&
      this.#delimited === undefined &&
      this.writableLength === 0 &&
      this.#held === undefined &&
      this.#turnRecords < RECORDS_PER_TURN - 1 &&
      this.writableCorked === 0 &&
      !this.writableEnded &&
      !this.destroyed &&
      chunk !== null &&
      (typeof chunk === "object" || typeof chunk === "string")
    ) {
      try {
        this.#producer.produce(this.#recordOf(chunk), this.#onReport);
        this.#pending++;
        this.#counted(1);
        return true;
      } catch {
        // The Writable's path says why, or holds the write for room.
      }
    }
    return super.write(chunk, encoding as BufferEncoding, callback);
  }

  override _write(chunk: unknown, _encoding: BufferEncoding, callback: WriteCallback): void {
    if (this.#delimited !== undefined) {
      this.#writeChunk(chunk as Buffer, callback);
      return;
    }
    let record: ProducerRecord;
    try {
      record = this.#recordOf(chunk);
    } catch (err) {
      callback(err as Error);
      return;
    }
    this.#writeRecord(record, callback);
  }

  override _final(callback: WriteCallback): void {
    const carry = this.#carry;
    this.#carry = undefined;
    const last = carry === undefined ? undefined : this.#delimitedRecord(carry, 0, carry.length);
    // The bytes after the last delimiter are the last record (a lone CR dropped is none).
    if (last !== undefined && (last.value as Buffer).length > 0) {
      this.#writeRecord(last, (err) => (err ? callback(err) : this.#endWhenReported(callback)));
      return;
    }
    this.#endWhenReported(callback);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const held = this.#held;
    this.#held = undefined;
    held?.cancel();
    this.#releaseHurry?.();
    this.#releaseHurry = undefined;
    held?.callback(err ?? new KafkaClientError("DESTROYED", "the write stream was destroyed"));
    callback(err);
  }

  /** Reports of records produced one by one. */
  readonly #onReport: DeliveryCallback = (err) => this.#reported(err, 1);

  /** Reports of records produced by produceDelimited(), by count. */
  readonly #onTally: DeliveryTally = (err, records) => this.#reported(err, records);

  #reported(err: DeliveryError | null, records: number): void {
    this.#pending -= records;
    if (err === null) {
      this.#delivered += records;
    } else {
      this.#failed += records;
      this.#firstError ??= err;
      if (this.#failures === "destroy" && !this.destroyed) this.destroy(err);
    }
    if (this.#pending === 0 && this.#endCallback !== undefined) {
      const end = this.#endCallback;
      this.#endCallback = undefined;
      this.#end(end);
    }
  }

  /** A written chunk as a record: the chunk itself, or a value for the stream's topic. */
  #recordOf(chunk: unknown): ProducerRecord {
    if (typeof chunk === "string" || chunk instanceof Uint8Array) {
      const template = this.#template;
      if (template === undefined) {
        throw new KafkaClientError(
          "INVALID_ARG",
          `a write stream without a topic takes records { topic, value, ... }, got a ${typeof chunk === "string" ? "string" : "byte array"}: give createWriteStream() a topic to write values`,
        );
      }
      template.value = chunk;
      return template;
    }
    if (chunk !== null && typeof chunk === "object") return chunk as ProducerRecord;
    throw new KafkaClientError(
      "INVALID_ARG",
      `a write stream takes records or values (string, Buffer), got ${typeof chunk}`,
    );
  }

  /** Queues one record, or holds the write until the queue has room for it. */
  #writeRecord(record: ProducerRecord, callback: WriteCallback): void {
    try {
      this.#producer.produce(record, this.#onReport);
    } catch (err) {
      if (waitsForRoom(err, this.#producer)) {
        // The template is refilled by the next write: hold a copy.
        const held = record === this.#template ? { ...record } : record;
        this.#hold(() => this.#writeRecord(held, callback), callback);
        return;
      }
      callback(err as Error);
      return;
    }
    this.#pending++;
    this.#done(1, callback);
  }

  /** Calls a write's callback: now, or once the event loop has turned if this turn queued enough. */
  #done(records: number, callback: WriteCallback): void {
    if (this.#counted(records)) {
      callback();
      return;
    }
    this.#turnRecords = 0;
    setImmediate(callback);
  }

  /** Counts records queued in this turn; false once the turn has queued enough. */
  #counted(records: number): boolean {
    this.#turnRecords += records;
    if (!this.#turnReset) {
      this.#turnReset = true;
      setImmediate(this.#newTurn);
    }
    return this.#turnRecords < RECORDS_PER_TURN;
  }

  readonly #newTurn = (): void => {
    this.#turnReset = false;
    this.#turnRecords = 0;
  };

  /**
   * Bytes mode: the record carried from the chunks before is completed with
   * this chunk's bytes (joinCarried), then the rest of the chunk is taken
   * where it lies.
   */
  #writeChunk(chunk: Buffer, callback: WriteCallback): void {
    const carry = this.#carry;
    if (carry === undefined) {
      this.#writeBytes(chunk, 0, callback);
      return;
    }
    this.#carry = undefined;
    const { joined, next } = joinCarried([carry], chunk, this.#delimited!.delimiter);
    if (next === chunk.length) {
      this.#writeBytes(joined, 0, callback);
      return;
    }
    this.#writeBytes(joined, 0, (err) =>
      err ? callback(err) : this.#writeChunk(chunk.subarray(next), callback),
    );
  }

  /**
   * Queues the delimited records of `data` from `pos`; a record
   * produceDelimited() leaves (no room now, or over message.max.bytes) goes
   * through produce(), which queues it, says why not, or waits for room.
   */
  #writeBytes(data: Buffer, pos: number, callback: WriteCallback): void {
    const input = this.#delimited!;
    const delimiter = input.delimiter;
    input.data = data;
    for (;;) {
      input.start = pos;
      let result: DelimitedResult;
      try {
        result = this.#producer.produceDelimited(input, this.#onTally);
      } catch (err) {
        callback(err as Error);
        return;
      }
      this.#pending += result.records;
      pos = result.offset;
      const end = data.indexOf(delimiter, pos);
      if (end < 0) break;
      const next = end + delimiter.length;
      if (end === pos) {
        pos = next; // an empty record is skipped, as produceDelimited() skips it
        continue;
      }
      try {
        this.#producer.produce(this.#delimitedRecord(data, pos, end), this.#onReport);
      } catch (err) {
        if (waitsForRoom(err, this.#producer)) {
          this.#hold(() => this.#writeBytes(data, pos, callback), callback);
          return;
        }
        callback(err as Error);
        return;
      }
      this.#pending++;
      pos = next;
    }
    input.data = EMPTY;
    if (pos < data.length) {
      if (data.length - pos > this.#producer.maxRecordBytes) {
        callback(
          new KafkaClientError(
            "MSG_SIZE_TOO_LARGE",
            `no delimiter within ${data.length - pos} bytes of the write stream for topic "${input.topic}": a record may have at most message.max.bytes (${this.#producer.maxRecordBytes})`,
          ),
        );
        return;
      }
      // A copy: the stream's chunks are the caller's.
      this.#carry = Buffer.from(data.subarray(pos));
    }
    callback();
  }

  /** The record `data[start, end)` of bytes mode, CR dropped if asked. */
  #delimitedRecord(data: Buffer, start: number, end: number): ProducerRecord {
    const input = this.#delimited!;
    const last = input.stripCr && end > start && data[end - 1] === 0x0d ? end - 1 : end;
    return {
      topic: input.topic,
      value: data.subarray(start, last),
      key: input.key,
      headers: input.headers,
      partition: input.partition,
    };
  }

  /** Holds a write until records are next reported, then runs `retry`. */
  #hold(retry: () => void, callback: WriteCallback): void {
    const cancel = this.#producer.afterReport(() => {
      this.#held = undefined;
      retry();
    });
    this.#held = { cancel, callback };
  }

  /** Calls `callback` once every record written has its report, sending without linger meanwhile. */
  #endWhenReported(callback: WriteCallback): void {
    if (this.#pending === 0) {
      this.#end(callback);
      return;
    }
    this.#endCallback = callback;
    this.#releaseHurry = this.#producer.hurry();
  }

  #end(callback: WriteCallback): void {
    this.#releaseHurry?.();
    this.#releaseHurry = undefined;
    if (this.#failed === 0) {
      callback();
      return;
    }
    callback(
      new KafkaClientError(
        "DELIVERY_FAILED",
        `${this.#failed} of ${this.#failed + this.#delivered} records written to the stream failed; the first: ${this.#firstError?.message}`,
        { cause: this.#firstError },
      ),
    );
  }
}

const EMPTY = Buffer.alloc(0);
