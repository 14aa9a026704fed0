/**
 * What becomes of the batches of a Produce request once it is answered (or
 * gets no answer): each partition's answer is matched to its batch and
 * classified: delivered (a duplicate too), a retry after backoff, a split of
 * a batch too large, a new epoch for the partition, an error that ends
 * idempotence, or a failure; and the error a batch fails with at its
 * deadline. The Sender sends and schedules; this decides.
 */

import { KafkaClientError } from "../client/client-error.js";
import type { Cluster } from "../client/cluster.js";
import type { BrokerConnection } from "../client/connection.js";
import type { Logger } from "../client/logger.js";
import type { ProducerConfig } from "../config/index.js";
import { ErrorCode, KafkaProtocolError } from "../protocol/errors.js";
import type { PartitionProduceResponse, ProduceResponse } from "../protocol/produce.js";
import type { Accumulator } from "./accumulator.js";
import type { Batch } from "./batch.js";
import type { ProducerIdentity } from "./idempotence.js";
import { type PartitionQueue, SEQUENCE_WRAP } from "./queues.js";
import type { DeliveryError } from "./record.js";
import type { ProducerStats } from "./stats.js";
import type { TransactionManager } from "./transactions.js";

/** What the outcomes need from the Sender. */
export interface OutcomeHooks {
  /** The producer's identity while it is idempotent (the Sender's; undefined once idempotence is off). */
  identity(): ProducerIdentity | undefined;
  /** The transaction manager of a transactional producer (the Sender's). */
  transaction(): TransactionManager | undefined;
  /** Told when a split half is compressed (the Sender's, as for every batch it seals). */
  onSealed(batch: Batch, err?: Error): void;
  /** Runs the sender at `time` at the latest (the end of a retry's backoff). */
  wake(time: number): void;
}

export class ProduceOutcomes {
  private readonly maxRetries: number;

  constructor(
    private readonly acc: Accumulator,
    private readonly cluster: Pick<
      Cluster,
      "updateLeader" | "requestRefresh" | "lastConnectionError"
    >,
    private readonly config: Readonly<ProducerConfig>,
    private readonly counters: ProducerStats,
    private readonly logger: Logger,
    private readonly hooks: OutcomeHooks,
  ) {
    this.maxRetries = config["message.send.max.retries"];
  }

  /** The failure of a batch at its deadline (shared by batches alike: see Accumulator.expire). */
  readonly timeoutError = (batch: Batch): KafkaClientError => {
    const cause = batch.lastError ?? this.cluster.lastConnectionError;
    const possiblyPersisted = batch.unresolved || batch.inFlight;
    const why = batch.inFlight
      ? " (possibly persisted: a request carrying it is unanswered)"
      : batch.unresolved
        ? " (possibly persisted: an attempt got no answer)"
        : "";
    return new KafkaClientError(
      "MSG_TIMED_OUT",
      `record for ${batch.topic}-${batch.partition} not delivered within message.timeout.ms (${this.config["message.timeout.ms"]} ms)${
        cause ? `: last error ${cause.message}` : ""
      }${why}`,
      { cause, possiblyPersisted },
    );
  };

  /**
   * Applies a request's outcome to its batches: `err` when it got no answer,
   * no response for acks=0, or the broker's response.
   */
  apply(
    conn: BrokerConnection,
    batches: Batch[],
    err: Error | null,
    response: ProduceResponse | undefined,
  ): void {
    const now = Date.now();
    for (const b of batches) {
      b.inFlight = false;
      const pq = this.acc.partitionQueue(b);
      pq.inFlight--;
      pq.wake();
    }
    if (err) {
      const e = asDeliveryError(err);
      for (const b of batches) {
        b.unresolved = true;
        this.retryOrFail(b, e, now);
      }
    } else if (response === undefined) {
      // acks=0: the write is all the confirmation there is.
      for (const b of batches) this.settle(b, () => this.acc.complete(b, -1, -1));
    } else {
      if (response.throttleTimeMs > 0) conn.throttle(now + response.throttleTimeMs);
      this.onResponse(batches, response, now);
    }
  }

  /**
   * Applies every partition's answer, then, if one carried an error that ends
   * idempotence, that error: a batch the broker wrote beside a refused one is
   * reported delivered, not failed.
   */
  private onResponse(batches: Batch[], response: ProduceResponse, now: number): void {
    const answered = new Set<Batch>();
    let fatal: DeliveryError | undefined;
    // Often the answer lists the partitions in request order: the batch at the same
    // position is checked first, and a map (built once) finds the others.
    let position = 0;
    let byName: Map<string, Map<number, Batch>> | undefined;
    for (const t of response.responses) {
      for (const p of t.partitionResponses) {
        const expected = batches[position++];
        let batch: Batch | undefined;
        if (expected !== undefined && expected.partition === p.index && expected.topic === t.name) {
          batch = expected;
        } else {
          byName ??= batchesByName(batches);
          batch = byName.get(t.name)?.get(p.index);
        }
        if (batch === undefined || answered.has(batch)) continue;
        answered.add(batch);
        const ends = this.onPartitionResponse(batch, p, response, now);
        if (fatal === undefined) fatal = ends;
      }
    }
    for (const b of batches) {
      if (answered.has(b)) continue;
      b.unresolved = true;
      this.retryOrFail(
        b,
        new KafkaClientError(
          "TRANSPORT",
          `Produce response did not mention ${b.topic}-${b.partition}`,
        ),
        now,
      );
    }
    if (fatal !== undefined) this.hooks.identity()?.fail(fatal);
  }

  /** Acts on one partition's answer; returns an error that ends idempotence, if it is one. */
  private onPartitionResponse(
    batch: Batch,
    p: PartitionProduceResponse,
    response: ProduceResponse,
    now: number,
  ): DeliveryError | undefined {
    const code = p.errorCode;
    if (code === 0 || code === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
      // A duplicate is a batch the broker already holds: delivered (older
      // brokers give no offset for it).
      const pq = this.acc.partitionQueue(batch);
      const stamp = batch.stamp;
      if (
        stamp !== null &&
        stamp.producerEpoch === pq.producerEpoch &&
        stamp.producerId === pq.producerId
      ) {
        pq.sequenceConfirmed = true;
      }
      this.settle(batch, () =>
        this.acc.complete(
          batch,
          code === 0 ? p.baseOffset : -1,
          code === 0 ? p.logAppendTimeMs : -1,
        ),
      );
      return undefined;
    }
    const detail =
      p.errorMessage ?? p.recordErrors.map((e) => e.batchIndexErrorMessage).find((m) => m) ?? null;
    const err = new KafkaProtocolError(
      code,
      detail,
      `Produce to ${batch.topic}-${batch.partition}`,
    );
    if (err.refreshMetadata) {
      if (p.currentLeader && p.currentLeader.leaderId >= 0) {
        this.cluster.updateLeader(
          batch.topic,
          batch.partition,
          p.currentLeader.leaderId,
          p.currentLeader.leaderEpoch,
          response.nodeEndpoints,
        );
      }
      this.cluster.requestRefresh(`${err.errorName} from a Produce response`);
    }
    const pq = this.acc.partitionQueue(batch);
    switch (code) {
      case ErrorCode.MESSAGE_TOO_LARGE:
      case ErrorCode.RECORD_LIST_TOO_LARGE:
        if (!batch.done && this.splitBatch(pq, batch, now)) return undefined;
        break;
      case ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER:
      case ErrorCode.UNKNOWN_PRODUCER_ID:
      // Without a transactional id no other producer shares the id: a newer epoch on the
      // broker than this batch's means the batch was not written; a new epoch resolves it
      // (the Java client's fatal list for an idempotent producer leaves it out too).
      case ErrorCode.INVALID_PRODUCER_EPOCH:
      case ErrorCode.TRANSACTION_ABORTABLE:
        if (this.hooks.transaction() !== undefined) {
          // In a transaction the fix is the abort (and the epoch it brings), not a
          // retry: KIP-588 makes a coordinator-side abort answer INVALID_PRODUCER_EPOCH.
          this.retryOrFail(batch, err, now, true);
          return undefined;
        }
        if (code === ErrorCode.TRANSACTION_ABORTABLE) break;
        if (this.hooks.identity() !== undefined) {
          // At the head of the queue the broker neither holds this batch nor
          // anything after it: a new epoch restarts the sequence. Behind an
          // earlier batch that came back, the gap is that batch: resend in order.
          if (pq.batches[0] === batch) pq.bumpPending = true;
          this.retry(batch, err, now);
          return undefined;
        }
        break;
      case ErrorCode.PRODUCER_FENCED:
      case ErrorCode.CLUSTER_AUTHORIZATION_FAILED:
      case ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
        if (this.hooks.identity() !== undefined) {
          // The broker refused this batch; the rest of the response is applied first.
          this.retryOrFail(batch, err, now, true);
          return err;
        }
        break;
      case ErrorCode.REQUEST_TIMED_OUT:
      case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
        // The leader may have written the batch before giving up on replication.
        batch.unresolved = true;
        break;
    }
    this.retryOrFail(batch, err, now);
    return undefined;
  }

  /** Replaces a batch refused as too large by two halves sent in its place; false for one record. */
  private splitBatch(pq: PartitionQueue, batch: Batch, now: number): boolean {
    const halves = this.acc.split(batch, now);
    if (halves === undefined) return false;
    const stamp = batch.stamp;
    let seq = stamp?.baseSequence ?? 0;
    for (const half of halves) {
      half.attempts = batch.attempts;
      // An earlier attempt of the whole that got no answer may have written the records.
      half.unresolved = batch.unresolved;
      half.lastError = batch.lastError;
      // The halves keep the batch's sequence range, so nothing after it moves.
      const own = stamp === null ? null : { ...stamp, baseSequence: seq };
      seq = (seq + half.count) % SEQUENCE_WRAP;
      half.seal(own, this.hooks.onSealed);
    }
    pq.blocked = true;
    return true;
  }

  /** Runs `report` for a live batch, or releases a batch already reported (a deadline). */
  private settle(batch: Batch, report: () => void): void {
    if (batch.done) this.acc.release(batch);
    else report();
  }

  /**
   * Schedules a retry after backoff when the error allows one in time; fails
   * the batch otherwise (always when `final`).
   */
  private retryOrFail(batch: Batch, err: DeliveryError, now: number, final = false): void {
    if (batch.done) {
      this.acc.release(batch);
      return;
    }
    const txn = this.hooks.transaction();
    if (
      final ||
      !err.retriable ||
      batch.attempts > this.maxRetries ||
      (txn !== undefined && !txn.retriesAllowed)
    ) {
      const failure = this.finalError(batch, err);
      this.acc.fail(batch, failure);
      txn?.onBatchFailed(failure);
      return;
    }
    this.retry(batch, err, now);
  }

  private retry(batch: Batch, err: DeliveryError, now: number): void {
    const pq = this.acc.partitionQueue(batch);
    if (batch.done) {
      this.acc.release(batch);
      return;
    }
    pq.blocked = true;
    batch.lastError = err;
    const backoff = Math.min(
      this.config["retry.backoff.max.ms"],
      this.config["retry.backoff.ms"] * 2 ** Math.max(0, batch.attempts - 1),
    );
    const retryAt = now + Math.round(backoff * (0.8 + Math.random() * 0.4));
    // No retry fits before the deadline: the batch is reported failed at the
    // deadline, not before it (message.timeout.ms is a promise both ways).
    batch.retryAt = Math.min(retryAt, batch.deadline);
    if (retryAt < batch.deadline) this.counters.retries += batch.count;
    this.logger.debug("retrying batch", {
      topic: batch.topic,
      partition: batch.partition,
      attempt: batch.attempts,
      error: err.message,
      backoffMs: batch.retryAt - now,
    });
    this.hooks.wake(batch.retryAt);
  }

  /**
   * The error a batch fails with: a client error is flagged when an earlier
   * attempt may have been written (the report says so for every error).
   */
  private finalError(batch: Batch, err: DeliveryError): DeliveryError {
    if (!batch.unresolved || !(err instanceof KafkaClientError) || err.possiblyPersisted) {
      return err;
    }
    return new KafkaClientError(
      err.code,
      `${err.message} (possibly persisted: an earlier attempt got no answer)`,
      { cause: err, possiblyPersisted: true },
    );
  }
}

/** The batches of one request by topic and partition. */
function batchesByName(batches: readonly Batch[]): Map<string, Map<number, Batch>> {
  const out = new Map<string, Map<number, Batch>>();
  for (const b of batches) {
    let partitions = out.get(b.topic);
    if (partitions === undefined) {
      partitions = new Map();
      out.set(b.topic, partitions);
    }
    partitions.set(b.partition, b);
  }
  return out;
}

/** Errors from the connection layer as delivery errors. */
function asDeliveryError(err: Error): DeliveryError {
  if (err instanceof KafkaClientError || err instanceof KafkaProtocolError) return err;
  return new KafkaClientError("TRANSPORT", err.message, { cause: err });
}
