/**
 * The topics the producer has used, each with its TopicQueue, and what the
 * Cluster is told about them: a topic's metadata is wanted from its first
 * record, forgotten after metadata.max.idle.ms unused, and wanted again when
 * it is used again. Also why a topic's waiting records cannot be routed, from
 * its metadata. The Accumulator holds the table and routes the records.
 */

import { KafkaClientError } from "../client/client-error.js";
import type { Cluster } from "../client/cluster.js";
import type { Logger } from "../client/logger.js";
import type { ProducerConfig } from "../config/index.js";
import { ErrorCode, errorByCode } from "../protocol/errors.js";
import type { Batch } from "./batch.js";
import { createTopicState } from "./partitioners.js";
import { type PartitionQueue, TopicQueue } from "./queues.js";

export class TopicTable {
  private readonly byName = new Map<string, TopicQueue>();
  /** The topic of the last append and its queue: most callers use one topic. */
  private last: TopicQueue | undefined;

  constructor(
    private readonly config: Readonly<ProducerConfig>,
    private readonly cluster: Pick<Cluster, "topics" | "want" | "forget" | "requestRefresh">,
    private readonly logger: Logger,
  ) {}

  /** The queue of a topic in use; the last one used is checked first (most callers use one). */
  get(topic: string): TopicQueue | undefined {
    const last = this.last;
    return last !== undefined && last.name === topic ? last : this.byName.get(topic);
  }

  /** The queue of a topic a record is produced to now (added on its first record). */
  use(topic: string, now: number): TopicQueue {
    const tq = this.get(topic) ?? this.add(topic, now);
    this.last = tq;
    tq.lastUsedAt = now;
    if (tq.forgotten) this.remember(tq);
    return tq;
  }

  /** Every topic in use, in the order they were first used. */
  values(): IterableIterator<TopicQueue> {
    return this.byName.values();
  }

  /** The queue of a batch's partition. */
  partitionQueue(batch: Batch): PartitionQueue {
    return this.byName.get(batch.topic)!.partitions[batch.partition]!;
  }

  /** New metadata: topics grow to their partition count. */
  grow(): void {
    for (const [name, tq] of this.byName) {
      const meta = this.cluster.topics.get(name);
      if (meta && meta.partitions.length > tq.partitions.length) tq.resize(meta.partitions.length);
    }
  }

  /** Starts using a topic: the cluster is asked for its metadata unless it has it. */
  private add(topic: string, now: number): TopicQueue {
    const tq = new TopicQueue(
      topic,
      now,
      createTopicState((p) => {
        const meta = this.cluster.topics.get(topic)?.partitions[p];
        return meta !== undefined && meta.leader >= 0;
      }),
    );
    this.byName.set(topic, tq);
    this.cluster.want(topic);
    const known = this.cluster.topics.get(topic);
    if (known && known.partitions.length > 0) tq.resize(known.partitions.length);
    else this.cluster.requestRefresh(`new topic ${topic}`);
    return tq;
  }

  /**
   * Forgets the topics with nothing queued and no record produced for
   * `idleMs` (metadata.max.idle.ms): the cluster stops asking for them, so a
   * topic deleted on purpose is neither looked up nor created again.
   */
  forgetIdle(now: number, idleMs: number): void {
    for (const [name, tq] of this.byName) {
      if (tq.forgotten || now - tq.lastUsedAt < idleMs || !tq.empty) continue;
      tq.forgotten = true;
      this.cluster.forget(name);
      this.logger.debug("topic forgotten after metadata.max.idle.ms", { topic: name });
    }
  }

  /** A forgotten topic is produced to again: the cluster asks for it again. */
  private remember(tq: TopicQueue): void {
    tq.forgotten = false;
    this.cluster.want(tq.name);
    this.cluster.requestRefresh(`topic ${tq.name} in use again`);
  }

  /**
   * Why a topic's waiting records cannot be routed: an error that fails them
   * all, a time to look again, or undefined (wait for metadata).
   */
  failure(tq: TopicQueue, now: number): KafkaClientError | number | undefined {
    const meta = this.cluster.topics.get(tq.name);
    if (!meta || meta.errorCode === 0) {
      if (!meta || meta.partitions.length === 0) {
        this.cluster.requestRefresh(`topic ${tq.name} has no partitions yet`);
      }
      return undefined;
    }
    const info = errorByCode(meta.errorCode);
    if (meta.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
      const propagation = this.config["topic.metadata.propagation.max.ms"];
      if (now - tq.firstUsedAt >= propagation) {
        return new KafkaClientError(
          "UNKNOWN_TOPIC",
          `topic "${tq.name}" does not exist and was not created within topic.metadata.propagation.max.ms (${propagation} ms)`,
        );
      }
      this.cluster.requestRefresh(`topic ${tq.name} unknown`);
      return tq.firstUsedAt + propagation;
    }
    if (!info.retriable) {
      return new KafkaClientError(
        "UNKNOWN_TOPIC",
        `topic "${tq.name}" cannot be produced to: ${info.name} (error code ${info.code})`,
      );
    }
    this.cluster.requestRefresh(`topic ${tq.name}: ${info.name}`);
    return undefined;
  }
}
