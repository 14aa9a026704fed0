/**
 * produce() under the `event-kafka:produce` trace (docs/observability.md):
 * start before the record is checked or encoded (a subscriber may add
 * headers, and the record goes out with the context's), end when it is queued
 * or refused, error/asyncStart/asyncEnd around its report.
 */

import type { BrokerAddress } from "../client/diagnostics.js";
import { endAsync, type ProduceContext, produceTrace, runStores } from "../client/diagnostics.js";
import { type DeliveryCallback, exactLength, type ProducerRecord } from "./record.js";

/** What the trace says of the producer. */
export interface TraceSource {
  clientId(): string;
  leaderAddress(topic: string, partition: number): BrokerAddress | undefined;
}

/** Runs `queue` (produce()'s checks and queueing) for `record` under the trace. */
export function produceTraced(
  source: TraceSource,
  record: ProducerRecord,
  callback: DeliveryCallback | undefined,
  queue: (record: ProducerRecord, callback: DeliveryCallback) => void,
): void {
  const ctx: ProduceContext = {
    clientId: source.clientId(),
    topic: record.topic,
    partition: record.partition ?? -1,
    offset: -1,
    key: record.key ?? null,
    valueSize: record.value == null ? -1 : exactLength(record.value),
    headers: record.headers === undefined ? [] : [...record.headers],
    // Set later, declared now: every context keeps one shape.
    broker: undefined,
    result: undefined,
    error: undefined,
  };
  const t = produceTrace;
  runStores(t.start, ctx, () => {
    try {
      // A copy in one fixed shape, not a spread: produce()'s checks stay monomorphic.
      const traced: ProducerRecord = {
        topic: record.topic,
        value: record.value,
        key: record.key,
        partition: record.partition,
        headers: ctx.headers.length === 0 && record.headers === undefined ? undefined : ctx.headers,
        timestamp: record.timestamp,
        opaque: record.opaque,
      };
      queue(traced, (err, report) => {
        ctx.partition = report.partition;
        ctx.offset = report.offset;
        ctx.result = report;
        ctx.broker = source.leaderAddress(report.topic, report.partition);
        if (err !== null) ctx.error = err;
        endAsync(t, ctx, () => callback?.(err, report));
      });
    } catch (err) {
      ctx.error = err as Error;
      t.error.publish(ctx);
      throw err;
    } finally {
      t.end.publish(ctx);
    }
  });
}
