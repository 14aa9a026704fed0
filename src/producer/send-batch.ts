/**
 * sendBatch()'s two halves around the producer's own produce() path: the
 * admission of a whole batch (every record checked, and the queue's room for
 * all of them, before any is queued) and the collection of its reports in
 * input order, one callback per record and one promise per batch.
 */

import { KafkaClientError } from "../client/client-error.js";
import type { DeliveryCallback, DeliveryError, DeliveryReport, ProducerRecord } from "./record.js";
import type { ProducerStats } from "./stats.js";

/** One record's outcome, shaped as Promise.allSettled() shapes it. */
export type BatchReport =
  | { status: "fulfilled"; value: DeliveryReport }
  | {
      status: "rejected";
      reason: DeliveryError;
      /** The record's report: topic, partition, opaque, possiblyPersisted. */
      report: DeliveryReport;
    };

/** The queue's counts as they would stand with the batch's records admitted so far. */
export type QueueRoom = Pick<ProducerStats, "queued" | "queuedBytes">;

/**
 * Admits every record with `admit` (produce()'s checks against the queue as
 * it would stand with the records before it queued too); returns each
 * record's size in the queue. Throws, naming the record, at the first one
 * refused.
 */
export function admitBatch(
  records: readonly ProducerRecord[],
  queue: QueueRoom,
  admit: (record: ProducerRecord, room: QueueRoom) => number,
): number[] {
  if (!Array.isArray(records)) {
    throw new KafkaClientError(
      "INVALID_ARG",
      `sendBatch() needs an array of records, got ${records === null ? "null" : typeof records}`,
    );
  }
  const room: QueueRoom = { queued: queue.queued, queuedBytes: queue.queuedBytes };
  const sizes = new Array<number>(records.length);
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    let size: number;
    try {
      size = admit(record, room);
    } catch (err) {
      throw refused(err, i, records.length, record);
    }
    sizes[i] = size;
    room.queued++;
    room.queuedBytes += size;
  }
  return sizes;
}

function refused(err: unknown, index: number, count: number, record: ProducerRecord): unknown {
  if (!(err instanceof KafkaClientError)) return err;
  const topic =
    record !== null && typeof record === "object" ? ` (topic ${JSON.stringify(record.topic)})` : "";
  // The queue's counts in the message include the batch's records before this one.
  const counted = err.code === "QUEUE_FULL" ? `, counting the ${index} before it` : "";
  return new KafkaClientError(
    err.code,
    `sendBatch(): record ${index} of ${count}${topic} refused, so no record of the batch was queued: ${err.message}${counted}`,
    { cause: err },
  );
}

/** Collects a batch's reports in input order; `done` resolves once all are in. */
export class BatchReports {
  readonly done: Promise<BatchReport[]>;
  readonly #reports: BatchReport[];
  #pending: number;
  #resolve: ((reports: BatchReport[]) => void) | undefined;

  constructor(count: number) {
    this.#reports = new Array<BatchReport>(count);
    this.#pending = count;
    this.done =
      count === 0
        ? Promise.resolve(this.#reports)
        : new Promise((resolve) => {
            this.#resolve = resolve;
          });
  }

  /** The delivery callback of the record at `index`. */
  callback(index: number): DeliveryCallback {
    return (err, report) => {
      this.#reports[index] =
        err === null
          ? { status: "fulfilled", value: report }
          : { status: "rejected", reason: err, report };
      if (--this.#pending === 0) this.#resolve?.(this.#reports);
    };
  }
}
