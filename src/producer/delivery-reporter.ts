/**
 * Delivery reports: calls the callbacks and tallies of records whose outcome
 * is known, so that one that throws costs no other record its report, and
 * moves the records' counts from queued to delivered or failed. The
 * Accumulator decides when a batch or a waiting record is reported; this
 * class is how.
 */

import type { Logger } from "../client/logger.js";
import { type Batch, TALLIED } from "./batch.js";
import type { DeliveryCallback, DeliveryError, DeliveryReport, DeliveryTally } from "./record.js";
import type { ProducerStats } from "./stats.js";
import type { Waiting } from "./waiting.js";

export class DeliveryReporter {
  constructor(
    /** The producer's counters (see ProducerStats): queued, queuedBytes, delivered, failed. */
    private readonly counters: ProducerStats,
    private readonly logger: Logger,
  ) {}

  /** Reports a batch delivered and counts it; removing it is the caller's. */
  delivered(batch: Batch, baseOffset: number, logAppendTime: number): void {
    this.report(batch, null, baseOffset, logAppendTime);
    this.counters.delivered += batch.count;
  }

  /** Reports a batch failed and counts it; removing it is the caller's. */
  failed(batch: Batch, err: DeliveryError): void {
    this.report(batch, err, -1, -1);
    this.counters.failed += batch.count;
  }

  /** Marks a batch reported, takes its records off the queue counts and tells every record. */
  private report(
    batch: Batch,
    err: DeliveryError | null,
    baseOffset: number,
    logAppendTime: number,
  ): void {
    batch.done = true;
    this.counters.queued -= batch.count;
    this.counters.queuedBytes -= batch.bytes;
    // A failure while a request carried the batch, or after one got no answer:
    // the broker may hold the records.
    const possiblyPersisted = err !== null && (batch.inFlight || batch.unresolved);
    if (batch.hasOwnReports) {
      for (let i = 0; i < batch.count; i++) {
        const cb = batch.callbackAt(i);
        if (cb === TALLIED) continue;
        this.invoke(cb, err, {
          topic: batch.topic,
          partition: batch.partition,
          offset: err || baseOffset < 0 ? -1 : baseOffset + i,
          timestamp: logAppendTime >= 0 ? logAppendTime : batch.timestampAt(i),
          opaque: batch.opaqueAt(i),
          possiblyPersisted,
        });
      }
    }
    if (batch.tally !== undefined && batch.tallied > 0) {
      this.invokeTally(batch.tally, err, batch.tallied);
    }
  }

  /** Reports failed a record (or delimited run) that waited for its topic's metadata, and counts it. */
  waitingFailed(topic: string, w: Waiting, err: DeliveryError): void {
    if ("run" in w) {
      this.counters.queued -= w.records;
      this.counters.queuedBytes -= w.size;
      this.counters.failed += w.records;
      this.invokeTally(w.tally, err, w.records);
      return;
    }
    this.counters.queued--;
    this.counters.queuedBytes -= w.size;
    this.counters.failed++;
    const p = w.record.partition;
    this.invoke(w.callback, err, {
      topic,
      partition: p === undefined ? -1 : p,
      offset: -1,
      timestamp: w.timestamp,
      opaque: w.record.opaque,
      possiblyPersisted: false,
    });
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

  private invokeTally(tally: DeliveryTally, err: DeliveryError | null, records: number): void {
    try {
      tally(err, records);
    } catch (e) {
      // As for a callback: the other reports still come.
      this.logger.error("delivery tally threw", { error: (e as Error).message });
    }
  }
}
