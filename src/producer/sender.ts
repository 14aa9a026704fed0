/**
 * Turns ready batches into Produce requests and acts on the outcomes (what
 * each answer means for its batches is ProduceOutcomes').
 *
 * Per partition, the batches in flight are a prefix of its queue, all on one
 * connection, and Kafka answers a connection's requests in order. Up to
 * `max.in.flight.requests.per.connection` batches of a partition are in
 * flight at once. When a batch comes back for a retry, the partition sends
 * nothing more until every request still in flight is answered, then sends
 * its queue again from the head, in order: with idempotence a retried batch
 * never overtakes a later one (without it, a later batch already written
 * stays ahead, librdkafka's caveat).
 *
 * Fairness: a request carries the next batch of each ready partition its
 * broker leads, up to message.max.bytes. The partitions are taken least
 * recently served first (each one served moves to the back of the
 * accumulator's list), and a request stops at the first batch that does not
 * fit, so the next one starts with it: a partition whose batches fill whole
 * requests cannot starve the others.
 *
 * With idempotence each batch carries the producer id, its partition's epoch
 * and a base sequence, stamped in queue order, so a batch the broker already
 * holds is answered as a duplicate instead of written twice. A broker that
 * says the head of a queue is out of sequence (or does not know the
 * producer, or has a newer epoch) has not written it nor anything after it:
 * the partition moves to a newer epoch (one bump serves every partition of
 * the same incident) and stamps its queue again from sequence 0.
 *
 * Deadlines: a record is reported at its message.timeout.ms whether its batch
 * is queued or in a request; a request still in flight then stays on its
 * connection (other records may share it) and its answer only settles the
 * bookkeeping. A Produce request waits for its answer request.timeout.ms
 * plus a second (the broker's own timeout answers first), or
 * socket.timeout.ms when that is longer.
 */

import { KafkaClientError } from "../client/client-error.js";
import type { Cluster } from "../client/cluster.js";
import type { BrokerConnection } from "../client/connection.js";
import type { Logger } from "../client/logger.js";
import type { ProducerConfig } from "../config/index.js";
import { ApiKey } from "../protocol/api-keys.js";
import {
  decodeProduceResponse,
  encodeProduceRequest,
  PRODUCE_MAX_NAME_VERSION,
  PRODUCE_VERSIONS,
  type ProduceResponse,
  type TopicProduceData,
} from "../protocol/produce.js";
import { pickVersion } from "../protocol/versions.js";
import type { Accumulator } from "./accumulator.js";
import type { Batch, ProducerStamp } from "./batch.js";
import { DrainTimer } from "./drain-timer.js";
import type { ProducerIdAndEpoch, ProducerIdentity } from "./idempotence.js";
import { ProduceOutcomes } from "./produce-outcome.js";
import { type PartitionQueue, SEQUENCE_WRAP } from "./queues.js";
import type { ProducerStats } from "./stats.js";
import type { TransactionManager } from "./transactions.js";

const PRODUCE_NAME_VERSIONS = { min: PRODUCE_VERSIONS.min, max: PRODUCE_MAX_NAME_VERSION };
/** Request bytes per partition beside its batch (index, lengths, tagged fields). */
const PARTITION_OVERHEAD = 16;
/** How much longer than request.timeout.ms the client waits for a Produce answer. */
const PRODUCE_ANSWER_GRACE_MS = 1000;

export interface SenderHooks {
  /** flush() or close() is waiting: batches go without waiting for linger.ms. */
  lingerDisabled(): boolean;
}

export class Sender {
  private readonly acks: number;
  private readonly lingerMs: number;
  private readonly perPartitionInFlight: number;
  private readonly requestMaxBytes: number;
  /** Acts on the answers to the requests sent. */
  private readonly outcomes: ProduceOutcomes;
  private readonly produceTimeoutMs: number;
  /** The identity while the producer is idempotent; undefined once idempotence is off. */
  private identity: ProducerIdentity | undefined;
  /** The transaction manager of a transactional producer (see setTransaction). */
  private txn: TransactionManager | undefined;
  /**
   * The current parking round: a partition parked in an older one is looked
   * at again (wakeAll() starts a new round in O(1)).
   */
  private parkRound = 0;
  /** Partitions parked because their leader's connection could take no more, by node id. */
  private readonly stalled = new Map<number, PartitionQueue[]>();
  /** When the next run is. */
  private readonly timer = new DrainTimer(() => this.drain());

  constructor(
    private readonly acc: Accumulator,
    private readonly cluster: Cluster,
    private readonly config: Readonly<ProducerConfig>,
    private readonly counters: ProducerStats,
    private readonly logger: Logger,
    identity: ProducerIdentity | undefined,
    private readonly hooks: SenderHooks,
  ) {
    this.identity = identity;
    this.acks = config["request.required.acks"];
    this.lingerMs = config["linger.ms"];
    this.perPartitionInFlight = config["max.in.flight.requests.per.connection"];
    this.requestMaxBytes = config["message.max.bytes"];
    this.outcomes = new ProduceOutcomes(acc, cluster, config, counters, logger, {
      identity: () => this.identity,
      transaction: () => this.txn,
      onSealed: this.onSealed,
      wake: (time) => this.wake(time),
    });
    this.produceTimeoutMs = Math.max(
      config["socket.timeout.ms"],
      config["request.timeout.ms"] + PRODUCE_ANSWER_GRACE_MS,
    );
  }

  /** The producer is transactional: its batches go inside the manager's transactions. */
  setTransaction(txn: TransactionManager): void {
    this.txn = txn;
  }

  /**
   * A transaction ended under a new producer id or epoch (nothing is queued):
   * every partition stamps its next batch with it, from sequence 0.
   */
  restartSequences(): void {
    const identity = this.identity;
    if (identity === undefined) return;
    const next = identity.current();
    this.acc.forEachPartition((pq) => {
      pq.adopt(next);
      pq.sequenceConfirmed = false;
      pq.bumpPending = false;
    });
    this.wakeAll();
  }

  /** Idempotence was turned off before any batch was stamped: send plain batches. */
  dropIdentity(): void {
    this.identity = undefined;
    this.wakeAll();
  }

  /**
   * Something that concerns every partition changed (metadata, the producer
   * id, a flush): each one is looked at again on the next run.
   */
  wakeAll(): void {
    this.parkRound++;
    this.schedule();
  }

  /** A broker's connection came up or has room again: its stalled partitions are looked at. */
  brokerReady(nodeId: number): void {
    const waiting = this.stalled.get(nodeId);
    if (waiting !== undefined) {
      this.stalled.delete(nodeId);
      for (const pq of waiting) pq.wake();
    }
    this.schedule();
  }

  /**
   * Leaves `pq` out of the runs until `at` or until something happens to it
   * (an answer, a batch filling up, a new batch: PartitionQueue.wake): with
   * thousands of partitions most of them wait for an answer, and a run then
   * costs what the others need, not a look at every one.
   */
  private park(pq: PartitionQueue, at: number): void {
    pq.parkedIn = this.parkRound;
    pq.checkAt = at;
  }

  /** Runs the sender soon (after the current task, so a loop of produce() calls fills batches). */
  schedule(): void {
    this.timer.schedule();
  }

  /** Runs the sender at `time` at the latest. */
  wake(time: number): void {
    this.timer.wake(time);
  }

  /** No more runs: timers cleared (close()). */
  stop(): void {
    this.timer.stop();
  }

  private drain(): void {
    const now = Date.now();
    let next = this.acc.expireWaiting(now);
    const identity = this.identity;
    if (identity !== undefined && !identity.ready && identity.fatal === undefined) {
      next = Math.min(next, identity.poll(now, this.cluster.anyConnection()));
    }
    next = Math.min(next, this.sendReady(now));
    if (Number.isFinite(next)) this.wake(next);
  }

  /**
   * Expires batches past their deadline, sends what is ready to the leaders
   * that can take a request, and returns when it next needs to run.
   */
  private sendReady(now: number): number {
    let next = Number.POSITIVE_INFINITY;
    let needMetadata = false;
    const byLeader = new Map<number, PartitionQueue[]>();
    const identity = this.identity;
    const round = this.parkRound;
    for (const pq of this.acc.active) {
      if (pq.parkedIn === round && now < pq.checkAt) {
        if (pq.checkAt < next) next = pq.checkAt;
        continue;
      }
      pq.parkedIn = -1;
      // The deadline of the oldest record not reported yet (kept for a park below).
      const due = this.acc.expire(pq, now, this.outcomes.timeoutError);
      pq.checkAt = due;
      next = Math.min(next, due);
      if (pq.batches.length === 0) continue;
      if (pq.blocked) {
        if (pq.inFlight > 0) {
          this.park(pq, due);
          continue;
        }
        pq.blocked = false;
      }
      if (identity !== undefined) {
        if (!identity.ready) continue;
        if (pq.bumpPending) {
          if (pq.inFlight > 0) {
            this.park(pq, due);
            continue;
          }
          if (!this.startNewEpoch(pq, identity)) continue;
        }
      }
      // Transactions v1: a partition takes batches once it has joined the transaction.
      if (this.txn !== undefined && !this.txn.mayProduce(pq)) {
        this.park(pq, due);
        continue;
      }
      const head = pq.batches[pq.inFlight];
      if (head === undefined || pq.inFlight >= this.window(pq)) {
        this.park(pq, due);
        continue;
      }
      if (head.retryAt > now) {
        next = Math.min(next, head.retryAt);
        this.park(pq, Math.min(due, head.retryAt));
        continue;
      }
      if (!this.isReady(pq, head, now)) {
        // Lingering: look again when linger.ms is up. Behind a batch in flight: its answer
        // (or the batch filling up) wakes the partition.
        if (pq.inFlight === 0) {
          const at = head.createdAt + this.lingerMs;
          next = Math.min(next, at);
          this.park(pq, Math.min(due, at));
        } else {
          this.park(pq, due);
        }
        continue;
      }
      const leader = this.cluster.topics.get(pq.topic)?.partitions[pq.partition]?.leader ?? -1;
      if (leader < 0) {
        needMetadata = true;
        continue;
      }
      // Batches still answering to an old leader keep the partition until they are back.
      if (pq.inFlight > 0 && pq.inFlightNode !== leader) continue;
      this.sealAhead(pq, now);
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
      if (conn !== undefined) {
        let start = 0;
        while (conn.canSend(now)) {
          const stop = this.sendOne(conn, leader, queues, start, now);
          if (stop < 0) break;
          start = stop;
        }
        if (conn.throttledUntil > now) next = Math.min(next, conn.throttledUntil);
        if (conn.canSend(now)) continue;
      }
      // No room on the connection (or none yet): the partitions wait for the broker's
      // ready event (or the end of its throttle) instead of being looked at every run.
      const until =
        conn !== undefined && conn.throttledUntil > now
          ? conn.throttledUntil
          : Number.POSITIVE_INFINITY;
      let waiting = this.stalled.get(leader);
      if (waiting === undefined) {
        waiting = [];
        this.stalled.set(leader, waiting);
      }
      for (const pq of queues) {
        this.park(pq, Math.min(pq.checkAt, until));
        waiting.push(pq);
      }
    }
    return next;
  }

  /** Batches of `pq` that may be in flight at once (see PartitionQueue.sequenceConfirmed). */
  private window(pq: PartitionQueue): number {
    return this.identity === undefined || pq.sequenceConfirmed ? this.perPartitionInFlight : 1;
  }

  /**
   * Whether the batch at the head of what is unsent may go now: a full one
   * at once; a batch still open after linger.ms, but only when none of its
   * partition is in flight. Like Nagle's algorithm, at most one partly filled
   * batch per partition is unanswered, and the next one grows meanwhile: a
   * producer writing to many partitions sends fewer, fuller batches (the
   * broker's cost is per batch as much as per record).
   */
  private isReady(pq: PartitionQueue, batch: Batch, now: number): boolean {
    if (batch.closed || pq.batches.length > pq.inFlight + 1 || this.hooks.lingerDisabled()) {
      return true;
    }
    return pq.inFlight === 0 && now >= batch.createdAt + this.lingerMs;
  }

  /**
   * Seals the unsent batches that are ready, in queue order (so sequences are
   * stamped in order), up to the in-flight window: compression of several
   * batches then overlaps.
   */
  private sealAhead(pq: PartitionQueue, now: number): void {
    const end = Math.min(pq.batches.length, pq.inFlight + this.window(pq));
    for (let i = pq.inFlight; i < end; i++) {
      const b = pq.batches[i]!;
      if (b.sealed || b.sealing) continue;
      // The open batch goes only once it is due (linger.ms, or a flush).
      if (!b.closed && !(i === pq.inFlight && this.isReady(pq, b, now))) break;
      b.seal(this.stampFor(pq, b), this.onSealed);
    }
  }

  private stampFor(pq: PartitionQueue, batch: Batch): ProducerStamp | null {
    const identity = this.identity;
    if (identity === undefined) return null;
    if (pq.generation === 0) pq.adopt(identity.current());
    const baseSequence = pq.nextSequence;
    pq.nextSequence = (baseSequence + batch.count) % SEQUENCE_WRAP;
    return {
      producerId: pq.producerId,
      producerEpoch: pq.producerEpoch,
      baseSequence,
      transactional: this.txn !== undefined,
    };
  }

  /**
   * Moves a partition (nothing in flight) to a newer producer id and epoch and
   * stamps its queue again from sequence 0; false while a new producer id is
   * on its way (the partition waits).
   */
  private startNewEpoch(pq: PartitionQueue, identity: ProducerIdentity): boolean {
    const newer: ProducerIdAndEpoch | undefined = identity.newerThan(pq.generation);
    if (newer === undefined) return false;
    pq.bumpPending = false;
    pq.sequenceConfirmed = false;
    pq.adopt(newer);
    for (const b of pq.batches) {
      if (b.stamp === null) break; // unsealed: stamped when sealed
      const baseSequence = pq.nextSequence;
      pq.nextSequence = (baseSequence + b.count) % SEQUENCE_WRAP;
      b.restamp({ producerId: pq.producerId, producerEpoch: pq.producerEpoch, baseSequence });
    }
    this.logger.info("partition sequence restarted under a new epoch", {
      topic: pq.topic,
      partition: pq.partition,
      producerId: pq.producerId,
      epoch: pq.producerEpoch,
    });
    return true;
  }

  /** A compressed batch is ready (or its compression failed). */
  private readonly onSealed = (batch: Batch, err?: Error): void => {
    if (err) {
      this.acc.fail(
        batch,
        new KafkaClientError(
          "COMPRESSION",
          `compressing a batch for ${batch.topic}-${batch.partition} with ${this.config["compression.codec"]} failed: ${err.message}`,
          { cause: err },
        ),
      );
    }
    this.schedule();
  };

  /**
   * Reports every record past its deadline as timed out, in flight or not:
   * close()'s last look before it reports the rest DESTROYED, so a record due
   * by then gets MSG_TIMED_OUT even when its expiry timer has not run yet.
   */
  expireDue(now: number): void {
    this.acc.expireWaiting(now);
    for (const pq of [...this.acc.active]) this.acc.expire(pq, now, this.outcomes.timeoutError);
  }

  /**
   * Sends one Produce request to `leader` with the next sendable batch of
   * each partition in `queues`, taken from `start` round, within the request
   * size cap. Returns where the next request should start (the first batch
   * that did not fit), or -1 when nothing was sendable.
   */
  private sendOne(
    conn: BrokerConnection,
    leader: number,
    queues: PartitionQueue[],
    start: number,
    now: number,
  ): number {
    let version: number;
    try {
      version = pickVersion(
        ApiKey.Produce,
        conn.brokerVersions,
        this.txn?.produceVersions ?? PRODUCE_NAME_VERSIONS,
      );
    } catch (err) {
      const e = new KafkaClientError("UNSUPPORTED_FEATURE", (err as Error).message);
      for (const pq of queues) {
        for (const b of [...pq.batches]) if (!b.inFlight) this.acc.fail(b, e);
      }
      return -1;
    }
    const batches: Batch[] = [];
    const topics = new Map<string, TopicProduceData>();
    /** Request bytes, estimated, against message.max.bytes. */
    let bytes = 0;
    /** Record-batch bytes, as the broker stores them (stats().bytesSent). */
    let batchBytes = 0;
    let records = 0;
    let stop = -1;
    const n = queues.length;
    for (let k = 0; k < n; k++) {
      const at = (start + k) % n;
      const pq = queues[at]!;
      if (pq.inFlight >= this.window(pq) || pq.blocked || pq.bumpPending) continue;
      const batch = pq.batches[pq.inFlight];
      if (batch === undefined || !batch.sealed || batch.done || batch.retryAt > now) continue;
      if (!this.isReady(pq, batch, now)) continue;
      const size = batch.data!.length + PARTITION_OVERHEAD + pq.topic.length;
      if (batches.length > 0 && bytes + size > this.requestMaxBytes) {
        stop = at; // the next request starts here
        break;
      }
      bytes += size;
      batchBytes += batch.data!.length;
      records += batch.count;
      batch.attempts++;
      batch.inFlight = true;
      pq.inFlight++;
      pq.inFlightNode = leader;
      batches.push(batch);
      this.acc.markServed(pq);
      let t = topics.get(pq.topic);
      if (t === undefined) {
        t = { name: pq.topic, partitionData: [] };
        topics.set(pq.topic, t);
      }
      t.partitionData.push({ index: pq.partition, records: batch.data! });
      // The next batch of this partition may be ready too (sealed by now or not).
      this.sealAhead(pq, now);
    }
    if (batches.length === 0) return -1;
    this.counters.requests++;
    this.counters.batchesSent += batches.length;
    this.counters.bytesSent += batchBytes;
    this.counters.sent += records;
    this.txn?.onSent();
    const topicData = [...topics.values()];
    const acks = this.acks;
    conn.send<ProduceResponse>(
      {
        apiKey: ApiKey.Produce,
        apiVersion: version,
        sizeHint: 128 + 32 * batches.length,
        // The batches go out by reference beside the request's own bytes (one
        // writev), not copied: they stay untouched until the request settles.
        encode: (w) =>
          encodeProduceRequest(w, version, {
            transactionalId: this.txn?.transactionalId ?? null,
            acks,
            timeoutMs: this.config["request.timeout.ms"],
            topicData,
          }),
        decode: acks === 0 ? undefined : (r) => decodeProduceResponse(r, version),
      },
      (err, response) => {
        this.outcomes.apply(conn, batches, err, response);
        this.schedule();
      },
      this.produceTimeoutMs,
    );
    return stop >= 0 ? stop : (start + 1) % n;
  }
}
