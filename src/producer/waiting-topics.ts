/**
 * The topics with records waiting for their metadata: which they are (the
 * Cluster asks auto-creation for them), when their records are routed, and
 * when those records fail instead (past their deadline, a topic that cannot be
 * had, a partition the topic lacks). Routing a record into a batch is the
 * Accumulator's.
 */

import { KafkaClientError } from "../client/client-error.js";
import type { Cluster } from "../client/cluster.js";
import type { ProducerConfig } from "../config/index.js";
import type { DeliveryReporter } from "./delivery-reporter.js";
import type { TopicQueue } from "./queues.js";
import type { DeliveryError } from "./record.js";
import type { TopicTable } from "./topics.js";
import type { Waiting } from "./waiting.js";

export class WaitingTopics {
  private readonly topics = new Set<TopicQueue>();

  constructor(
    private readonly config: Readonly<ProducerConfig>,
    private readonly cluster: Pick<Cluster, "lastConnectionError">,
    private readonly table: TopicTable,
    private readonly reporter: DeliveryReporter,
  ) {}

  /** Queues `w` (counted by the caller) at the end of its topic's waiting list. */
  add(tq: TopicQueue, w: Waiting): void {
    tq.waiting.push(w);
    this.topics.add(tq);
  }

  /** The names of the topics with records waiting. */
  *names(): Iterable<string> {
    for (const tq of this.topics) yield tq.name;
  }

  /**
   * The topics whose partitions are known now, each no longer counted as
   * waiting as it is handed out: the caller routes its records, in order.
   */
  *routable(): Iterable<TopicQueue> {
    for (const tq of this.topics) {
      if (tq.partitions.length === 0) continue;
      this.topics.delete(tq);
      yield tq;
    }
  }

  /**
   * Reports `w` failed when it was produced to partition `p` and the topic's
   * metadata says there is no such partition; returns whether it did.
   */
  rejectMissingPartition(tq: TopicQueue, w: Waiting, p: number | undefined): boolean {
    if (p !== undefined && p !== -1 && p >= tq.partitions.length) {
      this.reporter.waitingFailed(
        tq.name,
        w,
        new KafkaClientError(
          "UNKNOWN_PARTITION",
          `partition ${p} does not exist in topic "${tq.name}", which has ${tq.partitions.length} partition(s)`,
        ),
      );
      return true;
    }
    return false;
  }

  /** Fails waiting records past their deadline or of a topic that cannot be had; returns the next deadline. */
  expire(now: number): number {
    let next = Number.POSITIVE_INFINITY;
    for (const tq of this.topics) {
      const failure = this.table.failure(tq, now);
      if (typeof failure === "number") next = Math.min(next, failure);
      // Deadlines grow along the list: the expired records are a prefix, cut at once
      // (one shift per record would be quadratic for a queue of 100000).
      let expired = 0;
      if (failure instanceof KafkaClientError) expired = tq.waiting.length;
      else while (expired < tq.waiting.length && tq.waiting[expired]!.deadline <= now) expired++;
      if (expired > 0) {
        const cause = this.cluster.lastConnectionError;
        const err =
          failure instanceof KafkaClientError
            ? failure
            : new KafkaClientError(
                "MSG_TIMED_OUT",
                `record for topic "${tq.name}" not delivered within message.timeout.ms (${this.config["message.timeout.ms"]} ms): no metadata for the topic${cause ? `: last error ${cause.message}` : ""}`,
                { cause },
              );
        for (const w of tq.waiting.splice(0, expired)) this.reporter.waitingFailed(tq.name, w, err);
      }
      if (tq.waiting.length === 0) this.topics.delete(tq);
      else next = Math.min(next, tq.waiting[0]!.deadline);
    }
    return next;
  }

  /** Reports every waiting record failed (see Accumulator.failAll). */
  failAll(makeError: (topic: string) => DeliveryError): void {
    for (const tq of this.table.values()) {
      for (const w of tq.waiting.splice(0)) {
        this.reporter.waitingFailed(tq.name, w, makeError(tq.name));
      }
      this.topics.delete(tq);
    }
  }
}
