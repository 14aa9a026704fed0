/**
 * Turns ready batches into Produce requests, one per leader broker carrying
 * the head batch of every partition it leads, and acts on the responses:
 * delivery, retry after backoff, or failure.
 *
 * At most one batch per partition is in flight, so a retried batch can never
 * be overtaken by a later one of the same partition (without idempotence,
 * that is what keeps per-partition order).
 */
import { ApiKey } from "../protocol/api-keys.js";
import { KafkaProtocolError } from "../protocol/errors.js";
import { encodeRequestFrame } from "../protocol/headers.js";
import {
  decodeProduceResponse,
  encodeProduceRequest,
  PRODUCE_MAX_NAME_VERSION,
  PRODUCE_VERSIONS,
  type ProduceResponse,
  type TopicProduceData,
} from "../protocol/produce.js";
import { pickVersion } from "../protocol/versions.js";
import { Writer } from "../protocol/writer.js";
import type { Batch, DeliveryError, PartitionQueue } from "./accumulator.js";
import { KafkaClientError } from "./client-error.js";
import type { Cluster } from "./cluster.js";
import type { ProducerConfig } from "./config.js";
import type { BrokerConnection } from "./connection.js";
import type { Logger } from "./logger.js";
import type { ProducerStats } from "./stats.js";

/** What the sender needs from the producer that owns the queues. */
export interface SenderHost {
  readonly active: Set<PartitionQueue>;
  readonly lingerDisabled: boolean;
  complete(
    batch: Batch,
    err: DeliveryError | null,
    baseOffset?: number,
    logAppendTime?: number,
  ): void;
  scheduleDrain(): void;
  seal(batch: Batch): void;
  wake(time: number): void;
}

const PRODUCE_NAME_VERSIONS = { min: PRODUCE_VERSIONS.min, max: PRODUCE_MAX_NAME_VERSION };

export class Sender {
  private readonly acks: number;

  constructor(
    private readonly host: SenderHost,
    private readonly cluster: Cluster,
    private readonly config: Readonly<ProducerConfig>,
    private readonly counters: ProducerStats,
    private readonly logger: Logger,
  ) {
    this.acks = config["request.required.acks"];
  }

  /**
   * Expires batches past their deadline, sends the ready ones whose leader
   * can take a request, and returns when it next needs to run.
   */
  drain(now: number): number {
    let next = Number.POSITIVE_INFINITY;
    let needMetadata = false;
    const linger = this.config["linger.ms"];
    const byLeader = new Map<number, PartitionQueue[]>();
    for (const pq of this.host.active) {
      if (pq.inFlight) continue;
      let head = pq.batches[0];
      while (head !== undefined && head.deadline <= now) {
        this.host.complete(head, this.timeoutError(head, head.lastError));
        head = pq.batches[0];
      }
      if (head === undefined) continue;
      next = Math.min(next, head.deadline);
      if (head.retryAt > now) {
        next = Math.min(next, head.retryAt);
        continue;
      }
      const ready =
        head.sealed ||
        head.sealing ||
        pq.batches.length > 1 ||
        this.host.lingerDisabled ||
        now >= head.createdAt + linger;
      if (!ready) {
        next = Math.min(next, head.createdAt + linger);
        continue;
      }
      const leader = this.cluster.topics.get(pq.topic)?.partitions[pq.partition]?.leader ?? -1;
      if (leader < 0) {
        needMetadata = true;
        continue;
      }
      // A compressed batch is sent once its codec is done (the producer drains again then).
      if (!head.sealed) this.host.seal(head);
      if (!head.sealed) continue;
      let group = byLeader.get(leader);
      if (group === undefined) {
        group = [];
        byLeader.set(leader, group);
      }
      group.push(pq);
    }
    if (needMetadata) this.cluster.requestRefresh("partition without a leader");
    for (const [leader, queues] of byLeader) {
      const conn = this.cluster.connection(leader);
      // Not connected or at max.in.flight: the broker's ready event drains again.
      if (conn === undefined || !conn.canSend()) continue;
      this.send(conn, queues);
    }
    return next;
  }

  private timeoutError(batch: Batch, cause?: unknown): KafkaClientError {
    return new KafkaClientError(
      "MSG_TIMED_OUT",
      `record for ${batch.queue.topic}-${batch.queue.partition} not delivered within message.timeout.ms (${this.config["message.timeout.ms"]} ms)${
        cause instanceof Error ? `: last error ${cause.message}` : ""
      }`,
      cause === undefined ? undefined : { cause },
    );
  }

  private send(conn: BrokerConnection, queues: PartitionQueue[]): void {
    let version: number;
    try {
      version = pickVersion(ApiKey.Produce, conn.brokerVersions, PRODUCE_NAME_VERSIONS);
    } catch (err) {
      for (const pq of queues) {
        this.host.complete(
          pq.batches[0]!,
          new KafkaClientError("UNSUPPORTED_FEATURE", (err as Error).message),
        );
      }
      return;
    }
    const batches: Batch[] = [];
    const topics = new Map<string, TopicProduceData>();
    let bytes = 0;
    let records = 0;
    for (const pq of queues) {
      const batch = pq.batches[0]!;
      batch.attempts++;
      pq.inFlight = true;
      batches.push(batch);
      bytes += batch.data!.length;
      records += batch.count;
      let t = topics.get(pq.topic);
      if (t === undefined) {
        t = { name: pq.topic, partitionData: [] };
        topics.set(pq.topic, t);
      }
      t.partitionData.push({ index: pq.partition, records: batch.data! });
    }
    // The batches go out by reference beside the request's own bytes (one
    // writev), not copied: they stay untouched until their response is in.
    const w = new Writer(256 + 64 * batches.length).beginSplicing();
    encodeRequestFrame(
      w,
      {
        apiKey: ApiKey.Produce,
        apiVersion: version,
        correlationId: conn.nextCorrelationId(),
        clientId: this.config["client.id"],
      },
      (w) =>
        encodeProduceRequest(w, version, {
          transactionalId: null,
          acks: this.acks,
          timeoutMs: this.config["request.timeout.ms"],
          topicData: [...topics.values()],
        }),
    );
    const frame = w.chunks();
    this.counters.requests++;
    this.counters.batchesSent += batches.length;
    this.counters.bytesSent += bytes;
    this.counters.sent += records;
    if (this.acks === 0) {
      // No response comes: the write is all the confirmation there is.
      conn.sendFrame(frame, ApiKey.Produce, version, undefined, (err) => {
        for (const b of batches) {
          b.queue.inFlight = false;
          if (err) this.retryOrFail(b, asDeliveryError(err));
          else this.host.complete(b, null);
        }
        this.host.scheduleDrain();
      });
      return;
    }
    conn.sendFrame(
      frame,
      ApiKey.Produce,
      version,
      (r) => decodeProduceResponse(r, version),
      (err, response) => {
        if (err || response === undefined) {
          for (const b of batches) {
            b.queue.inFlight = false;
            this.retryOrFail(
              b,
              err ? asDeliveryError(err) : new KafkaClientError("TRANSPORT", "no Produce response"),
            );
          }
        } else {
          this.onResponse(batches, response);
        }
        this.host.scheduleDrain();
      },
    );
  }

  private onResponse(batches: Batch[], response: ProduceResponse): void {
    const answered = new Set<Batch>();
    for (const t of response.responses) {
      for (const p of t.partitionResponses) {
        const batch = batches.find(
          (b) => b.queue.topic === t.name && b.queue.partition === p.index,
        );
        if (batch === undefined || answered.has(batch)) continue;
        answered.add(batch);
        batch.queue.inFlight = false;
        if (p.errorCode === 0) {
          this.host.complete(batch, null, p.baseOffset, p.logAppendTimeMs);
          continue;
        }
        const detail =
          p.errorMessage ??
          p.recordErrors.map((e) => e.batchIndexErrorMessage).find((m) => m) ??
          null;
        const err = new KafkaProtocolError(
          p.errorCode,
          detail,
          `Produce to ${batch.queue.topic}-${batch.queue.partition}`,
        );
        if (err.refreshMetadata) {
          if (p.currentLeader && p.currentLeader.leaderId >= 0) {
            this.cluster.updateLeader(
              batch.queue.topic,
              batch.queue.partition,
              p.currentLeader.leaderId,
              p.currentLeader.leaderEpoch,
            );
          }
          this.cluster.requestRefresh(`${err.errorName} from a Produce response`);
        }
        this.retryOrFail(batch, err);
      }
    }
    for (const b of batches) {
      if (answered.has(b)) continue;
      b.queue.inFlight = false;
      this.retryOrFail(
        b,
        new KafkaClientError(
          "TRANSPORT",
          `Produce response did not mention ${b.queue.topic}-${b.queue.partition}`,
        ),
      );
    }
  }

  /** Schedules a retry after backoff when the error allows one in time; fails the batch otherwise. */
  private retryOrFail(batch: Batch, err: DeliveryError): void {
    if (batch.done) return;
    const now = Date.now();
    if (!err.retriable || batch.attempts > this.config["message.send.max.retries"]) {
      this.host.complete(batch, err);
      return;
    }
    const backoff = Math.min(
      this.config["retry.backoff.max.ms"],
      this.config["retry.backoff.ms"] * 2 ** (batch.attempts - 1),
    );
    const retryAt = now + Math.round(backoff * (0.8 + Math.random() * 0.4));
    batch.lastError = err;
    if (retryAt >= batch.deadline) {
      // No retry fits before the deadline: drain() reports the batch failed at the
      // deadline, not before it (message.timeout.ms is a promise both ways).
      batch.retryAt = batch.deadline;
      this.host.wake(batch.deadline);
      return;
    }
    batch.retryAt = retryAt;
    this.counters.retries += batch.count;
    this.logger.debug("retrying batch", {
      topic: batch.queue.topic,
      partition: batch.queue.partition,
      attempt: batch.attempts,
      error: err.message,
      backoffMs: retryAt - now,
    });
    this.host.wake(retryAt);
  }
}

/** Errors from the connection layer as delivery errors. */
function asDeliveryError(err: Error): DeliveryError {
  if (err instanceof KafkaClientError || err instanceof KafkaProtocolError) return err;
  return new KafkaClientError("TRANSPORT", err.message, { cause: err });
}
