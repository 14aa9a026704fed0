/**
 * Records queued while their topic's partitions are unknown, copied so the
 * caller may reuse its buffers: a produce() record as a copy of its own
 * (WaitingRecord); delimited records as one copy of the run's bytes, counted,
 * not split into a record each (WaitingRun). They are encoded when the
 * metadata comes.
 */
import type { DelimitedRun, RecordHeader } from "../protocol/record-batch.js";
import {
  copyData,
  type DeliveryCallback,
  type DeliveryTally,
  type ProducerRecord,
} from "./record.js";

/** A record produced by produce() while its topic's partitions are unknown. */
export interface WaitingRecord {
  /** A copy (see copyRecord). */
  record: ProducerRecord;
  callback: DeliveryCallback | undefined;
  timestamp: number;
  size: number;
  deadline: number;
}

/** Delimited records produced while their topic's partitions are unknown. */
export interface WaitingRun {
  /** A copy of the records' bytes, with its own key and headers. */
  run: DelimitedRun;
  partition: number | undefined;
  records: number;
  /** Queue bytes counted for them. */
  size: number;
  tally: DeliveryTally;
  deadline: number;
}

/**
 * Counts the records of `run` from `from` (as RecordBatchBuilder.appendDelimited
 * cuts them) up to `maxRecords` records and `maxBytes` queue bytes, each
 * counted as its value plus `overhead`, stopping before a value longer than
 * `maxValueBytes`; copies them. Returns the offset where it stopped and the
 * copy (undefined when no record was taken).
 */
export function copyWaitingRun(
  run: DelimitedRun,
  from: number,
  to: number,
  maxRecords: number,
  maxBytes: number,
  maxValueBytes: number,
  overhead: number,
): { offset: number; records: number; size: number; copy: DelimitedRun | undefined } {
  const { source, delimiter, stripCr } = run;
  const width = delimiter.length;
  const single = width === 1 ? delimiter[0]! : -1;
  let pos = from;
  let records = 0;
  let size = 0;
  for (;;) {
    const at = single >= 0 ? source.indexOf(single, pos) : source.indexOf(delimiter, pos);
    if (at < 0 || at + width > to) break;
    let end = at;
    if (stripCr && end > pos && source[end - 1] === 13) end--;
    const len = end - pos;
    if (len > 0) {
      if (records >= maxRecords || len > maxValueBytes || size + len + overhead > maxBytes) break;
      records++;
      size += len + overhead;
    }
    pos = at + width;
  }
  if (records === 0) return { offset: from, records, size, copy: undefined };
  const copy: DelimitedRun = {
    source: Buffer.from(source.subarray(from, pos)),
    delimiter: Buffer.from(delimiter),
    stripCr,
    key: copyData(run.key),
    headers: run.headers?.map((h): RecordHeader => ({ key: h.key, value: copyData(h.value) })),
    timestamp: run.timestamp,
  };
  return { offset: pos, records, size, copy };
}

/** What waits in a topic's queue for its metadata, in produce order. */
export type Waiting = WaitingRecord | WaitingRun;
