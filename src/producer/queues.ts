/**
 * The Accumulator's queues: a TopicQueue per topic the producer has used (its
 * partitions and the records waiting for its metadata) and a PartitionQueue
 * per partition (its batches, oldest first, and the state the Sender and
 * idempotence keep per partition). The Accumulator holds them; the fields
 * marked as sending state are the Sender's.
 */

import type { Batch } from "./batch.js";
import type { ProducerIdAndEpoch } from "./idempotence.js";
import type { TopicPartitionerState } from "./partitioners.js";
import type { Waiting } from "./waiting.js";

/** Idempotent sequences are 31-bit: the one after 2^31 - 1 is 0. */
export const SEQUENCE_WRAP = 0x8000_0000;

/** The batches of one partition, oldest first; those in flight are a prefix. */
export class PartitionQueue {
  readonly batches: Batch[] = [];

  // --- sending state (the Sender's) ---
  /** Batches of this partition in Produce requests not answered yet. */
  inFlight = 0;
  /** The broker those requests went to. */
  inFlightNode = -1;
  /**
   * A batch came back for a retry: nothing more is sent until every request
   * still in flight is answered, then the queue is sent again from its head,
   * in order.
   */
  blocked = false;
  /** Idempotence: the producer id this partition's batches carry (-1 until the first stamp). */
  producerId = -1;
  /** Idempotence: the epoch this partition's batches carry (-1 until the first stamp). */
  producerEpoch = -1;
  /** Idempotence: the identity's generation of that id and epoch (0 until the first stamp). */
  generation = 0;
  /** Idempotence: the sequence the next stamped batch gets. */
  nextSequence = 0;
  /**
   * Idempotence: the broker holds neither the head batch nor anything after
   * it; once nothing is in flight the partition takes a new epoch and stamps
   * its queue again from 0.
   */
  bumpPending = false;
  /**
   * Idempotence: a batch of the current epoch was acknowledged, so the broker
   * holds the producer's state for this partition. Until then one batch goes at
   * a time: a broker without that state appends whatever sequence reaches it
   * first, so a later batch could overtake a first one that came back.
   */
  sequenceConfirmed = false;
  /**
   * Parked by the sender (see Sender.park) in its parking round `parkedIn`:
   * nothing to do before `checkAt` unless something happens to the
   * partition, which calls wake(). -1: not parked.
   */
  parkedIn = -1;
  checkAt = 0;
  /** Transactions v1: the transaction this partition was last added to (the transaction manager's). */
  txnAddedIn = -1;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  /** Something changed for this partition: the sender looks at it on its next run. */
  wake(): void {
    this.parkedIn = -1;
  }

  /** Stamps from now on with `next` (a newer producer id or epoch), from sequence 0. */
  adopt(next: ProducerIdAndEpoch): void {
    this.producerId = next.producerId;
    this.producerEpoch = next.producerEpoch;
    this.generation = next.generation;
    this.nextSequence = 0;
  }

  /** The batch still taking records, if any. */
  openBatch(): Batch | undefined {
    const last = this.batches[this.batches.length - 1];
    return last !== undefined && !last.closed ? last : undefined;
  }
}

export class TopicQueue {
  partitions: PartitionQueue[] = [];
  /** Records produced before the topic's partitions were known, in produce order. */
  readonly waiting: Waiting[] = [];
  /** When a record was last produced to the topic (see metadata.max.idle.ms). */
  lastUsedAt: number;
  /**
   * Idle past metadata.max.idle.ms: the cluster no longer asks for it. The
   * queue itself stays, so its partitions keep their idempotent sequences.
   */
  forgotten = false;

  constructor(
    readonly name: string,
    /** When the producer first used the topic (for topic.metadata.propagation.max.ms). */
    readonly firstUsedAt: number,
    /** The partitioner's sticky state for this topic. */
    readonly partitionerState: TopicPartitionerState,
  ) {
    this.lastUsedAt = firstUsedAt;
  }

  /** Whether no record of the topic is queued. */
  get empty(): boolean {
    return this.waiting.length === 0 && this.partitions.every((pq) => pq.batches.length === 0);
  }

  resize(count: number): void {
    for (let p = this.partitions.length; p < count; p++) {
      this.partitions.push(new PartitionQueue(this.name, p));
    }
  }
}
