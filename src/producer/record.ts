/**
 * What a caller hands the producer and what it gets back: the record, its
 * delivery report and callback, the record's encoded size bounds (used for
 * message.max.bytes and the queue's byte count), and the copy of a record
 * kept past produce().
 */

import type { KafkaClientError } from "../client/client-error.js";
import type { KafkaProtocolError } from "../protocol/errors.js";
import type { RecordData, RecordHeader } from "../protocol/record-batch.js";

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
  /**
   * On a failure report: the record failed while a request carrying it was
   * unanswered, so the broker may have written it (librdkafka's "possibly
   * persisted"). Always false on success.
   */
  possiblyPersisted: boolean;
}

/** Called exactly once per record: `err` is null on success. */
export type DeliveryCallback = (err: DeliveryError | null, report: DeliveryReport) => void;

/**
 * Told the outcome of records queued together (produceDelimited) by count:
 * called once per batch with how many of its records succeeded or failed.
 */
export type DeliveryTally = (err: DeliveryError | null, records: number) => void;

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

/** Records cut from one buffer at a delimiter, for `Producer.produceDelimited()`. */
export interface DelimitedRecords {
  topic: string;
  /** The records, each followed by the delimiter; bytes after the last one are left. */
  data: Uint8Array;
  /** Where in `data` to start (default 0) and stop (default its length). */
  start?: number;
  end?: number;
  /** One byte or more (default "\n"). */
  delimiter?: Uint8Array | string;
  /** Drop a CR before each delimiter too (CRLF lines; default false). */
  stripCr?: boolean;
  /** Every record's key, headers and partition (as for produce()). */
  key?: RecordData | null;
  headers?: readonly RecordHeader[];
  partition?: number;
  /** Queue at most this many records (default: no limit). */
  maxRecords?: number;
}

/** How far `produceDelimited()` got. */
export interface DelimitedResult {
  /** Where it stopped in `data`: the end of the last record taken, or a record it left. */
  offset: number;
  /** Records queued by the call. */
  records: number;
}

/** Bytes a record adds to a batch at most: the fixed part of the record plus its data. */
export const RECORD_OVERHEAD_MAX = 5 + 1 + 10 + 5 + 5 + 5 + 5;

function lengthUpperBound(data: RecordData | null | undefined): number {
  if (data == null) return 0;
  // A UTF-16 code unit never takes more than 3 UTF-8 bytes.
  return typeof data === "string" ? data.length * 3 : data.length;
}

export function exactLength(data: RecordData | null | undefined): number {
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

/** A copy of a record whose byte arrays the caller may reuse once produce() returns. */
export function copyRecord(r: ProducerRecord): ProducerRecord {
  const copy: ProducerRecord = { ...r, key: copyData(r.key), value: copyData(r.value) };
  if (r.headers !== undefined) {
    copy.headers = r.headers.map(
      (h): RecordHeader => ({ key: h.key, value: copyData(h.value) ?? null }),
    );
  }
  return copy;
}

/** A copy of byte-array data (strings and null are immutable: returned as they are). */
export function copyData<T extends RecordData | null | undefined>(d: T): T {
  return (d instanceof Uint8Array ? Buffer.from(d) : d) as T;
}
