/**
 * Counting what a run left in the log, as read back by an independent reader (the Java reader,
 * Apache Kafka's own consumer: test/broker/java-reader.ts), against what the producer reported.
 */
import type { JavaRecord } from "../broker/java-reader.js";
import { type ProduceOutcome, parseValue } from "./clients.js";

export interface Tally {
  /** Records of this run read back (copies included). */
  read: number;
  /** Indexes read back at least once. */
  distinct: number;
  /**
   * Records the producer did not report failed that are not in the log. Ours: reported
   * delivered and missing. kcat (which does not say which records failed): the missing
   * records beyond the number it reported failed, so a lower bound.
   */
  lost: number;
  /** Indexes found more than once. */
  duplicated: number;
  /** Copies beyond the first, over all indexes (equals `duplicated` unless some are 3+). */
  extraCopies: number;
  /**
   * Per partition in offset order, first copies whose index is lower than an index before
   * them. (A repeated copy counts as duplicated only; 0 reordered and 0 duplicated together
   * mean every partition's indexes strictly increase.)
   */
  reordered: number;
  /** Records the producer reported failed. */
  failed: number;
  /** Ours: records reported failed that are in the log anyway. */
  failedButWritten: number;
  /** Ours: records with no report at all (the flush deadline passed). */
  unreported: number;
  /** Records in the topic that do not belong to this run. */
  foreign: number;
  /** The first few reorderings per partition, e.g. "p0@663: 3 after 23994", to tell causes apart. */
  reorderedSamples: string[];
}

const SAMPLES_PER_PARTITION = 3;

export function tally(
  records: readonly JavaRecord[],
  run: string,
  count: number,
  outcome: ProduceOutcome,
): Tally {
  const copies = new Uint32Array(count);
  let foreign = 0;
  let read = 0;
  const byPartition = new Map<number, { offset: number; index: number }[]>();
  for (const r of records) {
    const v = parseValue(r.value === null ? null : r.value.toString("utf8"));
    if (v === undefined || v.run !== run || v.index >= count) {
      foreign++;
      continue;
    }
    read++;
    let list = byPartition.get(r.partition);
    if (list === undefined) {
      list = [];
      byPartition.set(r.partition, list);
    }
    list.push({ offset: r.offset, index: v.index });
  }

  let reordered = 0;
  const reorderedSamples: string[] = [];
  for (const [partition, list] of byPartition) {
    list.sort((a, b) => a.offset - b.offset);
    let max = -1;
    let samples = 0;
    let inOrder = true;
    for (const { offset, index } of list) {
      if (copies[index]! > 0) {
        copies[index]!++;
        continue;
      }
      copies[index] = 1;
      if (index > max) {
        max = index;
        inOrder = true;
        continue;
      }
      reordered++;
      // Sample where an out-of-order stretch starts.
      if (inOrder && samples < SAMPLES_PER_PARTITION) {
        reorderedSamples.push(`p${partition}@${offset}: ${index} after ${max}`);
        samples++;
      }
      inOrder = false;
    }
  }

  let distinct = 0;
  let duplicated = 0;
  let extraCopies = 0;
  for (let i = 0; i < count; i++) {
    const c = copies[i]!;
    if (c > 0) distinct++;
    if (c > 1) {
      duplicated++;
      extraCopies += c - 1;
    }
  }

  let lost = 0;
  let failedButWritten = 0;
  let unreported = 0;
  const status = outcome.status;
  if (status !== undefined) {
    for (let i = 0; i < count; i++) {
      if (status[i] === 1 && copies[i] === 0) lost++;
      else if (status[i] === 2 && copies[i]! > 0) failedButWritten++;
      else if (status[i] === 0) {
        unreported++;
        if (copies[i] === 0) lost++;
      }
    }
  } else {
    lost = Math.max(0, count - distinct - outcome.failed);
  }
  return {
    read,
    distinct,
    lost,
    duplicated,
    extraCopies,
    reordered,
    failed: outcome.failed,
    failedButWritten,
    unreported,
    foreign,
    reorderedSamples,
  };
}
