/**
 * The state of a fake cluster (see fake-broker.ts): topics, partition leaders
 * and logs, and the broker's side of the idempotent producer. No sockets here.
 *
 * Idempotence follows the broker (UnifiedLog.analyzeAndValidateProducerState,
 * ProducerStateManager and ProducerAppendInfo in Apache Kafka), per partition
 * and producer id: the current epoch and the first/last sequence and base
 * offset of the last 5 batches. For a batch with a producer id:
 *
 * 1. same epoch and the same first and last sequence as one of those 5 batches:
 *    a duplicate; success with the original base offset, nothing appended;
 * 2. no state for the producer id: sequence 0 is appended; any other sequence is
 *    UNKNOWN_PRODUCER_ID (59), or appended with `acceptUnknownProducerSequence`
 *    (what Kafka 2.5+ does when a producer's state is gone, e.g. after retention);
 * 3. a lower epoch: INVALID_PRODUCER_EPOCH (47);
 * 4. a higher epoch: sequence 0 is appended (the epoch becomes current), any
 *    other is OUT_OF_ORDER_SEQUENCE_NUMBER (45);
 * 5. the same epoch: lastSeq + 1 (int32 max wraps to 0) is appended, anything
 *    else is OUT_OF_ORDER_SEQUENCE_NUMBER (45).
 *
 * A batch without a producer id (-1) is appended as is. Checks before those, in
 * Kafka's order: one batch per partition and magic 2 (INVALID_RECORD, 87), the
 * batch size against max.message.bytes (MESSAGE_TOO_LARGE, 10), the CRC and the
 * batch structure (CORRUPT_MESSAGE, 2).
 *
 * Transaction markers (written by the transaction coordinator model,
 * fake-broker-txn.ts) take one offset each, as Kafka's control batches do, and
 * are kept beside the records (`markers`). A marker with a newer epoch than the
 * producer's on that partition makes it current and forgets the sequences, so
 * the next batch of that epoch starts at 0 (ProducerStateEntry's epoch update).
 */
import { ErrorCode } from "../../src/protocol/errors.js";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { BATCH_LOG_OVERHEAD } from "../../src/protocol/record-batch.js";
import {
  type DecodedHeader,
  decodeRecordBatch,
  type RecordBatch,
} from "../../src/protocol/record-batch-decoder.js";
import { randomUuid, type Uuid } from "../../src/protocol/writer.js";
import "../../src/protocol/compression/index.js"; // registers the codecs the decoder needs

/** Kafka's default max.message.bytes (1 MiB + 12). */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
/** Batches whose metadata a broker keeps per producer (ProducerStateEntry.NUM_BATCHES_TO_RETAIN). */
export const BATCHES_RETAINED = 5;
/** The first producer id handed out. */
export const FIRST_PRODUCER_ID = 1000;

const INT32_MAX = 0x7fff_ffff;
const INT16_MAX = 0x7fff;

/** One record of a partition's log, copied out of the request. */
export interface LoggedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: DecodedHeader[];
  /** -1 for a batch without a producer id. */
  producerId: number;
  producerEpoch: number;
  /** The batch's baseSequence + the record's offset delta (wrapping); -1 without a producer id. */
  sequence: number;
  /** The batch's transactional bit: the record counts once a commit marker follows it. */
  transactional: boolean;
}

/** A transaction marker (control batch) in a partition's log; it takes one offset. */
export interface TxnMarker {
  offset: number;
  producerId: number;
  producerEpoch: number;
  /** COMMIT (true) or ABORT (false). */
  commit: boolean;
}

interface BatchMetadata {
  firstSeq: number;
  lastSeq: number;
  baseOffset: number;
}

interface ProducerEntry {
  epoch: number;
  /** Oldest first, at most BATCHES_RETAINED. */
  batches: BatchMetadata[];
}

export interface PartitionState {
  /** A node id, or -1 for no leader (LEADER_NOT_AVAILABLE in Metadata). */
  leader: number;
  leaderEpoch: number;
  log: LoggedRecord[];
  /** Transaction markers, in offset order. */
  markers: TxnMarker[];
  nextOffset: number;
  producers: Map<number, ProducerEntry>;
}

export interface TopicState {
  name: string;
  id: Uuid;
  partitions: PartitionState[];
  maxMessageBytes: number;
}

export interface AppendResult {
  errorCode: number;
  /** -1 with an error. */
  baseOffset: number;
  errorMessage: string | null;
}

export interface ProducerIdResult {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export interface ClusterStateOptions {
  /** See rule 2 above; default false (UNKNOWN_PRODUCER_ID). */
  acceptUnknownProducerSequence?: boolean;
  /**
   * InitProducerId with the current id and epoch (v3+, KIP-360) bumps the epoch
   * and keeps the id (default). With true every request gets a fresh id at
   * epoch 0, as Kafka does for a null transactional id.
   */
  newProducerIdOnInit?: boolean;
  /** The epoch a new producer id starts at (default 0): near 32767 to test exhaustion. */
  firstProducerEpoch?: number;
}

/** int32 sequence arithmetic: `seq + n`, wrapping past int32 max to 0. */
export function addSequence(seq: number, n: number): number {
  const sum = seq + n;
  return sum > INT32_MAX ? sum - INT32_MAX - 1 : sum;
}

const fail = (errorCode: number, errorMessage: string): AppendResult => ({
  errorCode,
  baseOffset: -1,
  errorMessage,
});

export class ClusterState {
  readonly topics = new Map<string, TopicState>();
  /** Issued producer ids and their current epoch. */
  private readonly producerEpochs = new Map<number, number>();
  private nextProducerId = FIRST_PRODUCER_ID;

  constructor(
    readonly nodeIds: readonly number[],
    readonly options: ClusterStateOptions = {},
  ) {}

  topic(name: string): TopicState {
    const t = this.topics.get(name);
    if (!t) throw new RangeError(`no topic ${name}`);
    return t;
  }

  topicById(id: Uuid): TopicState | undefined {
    for (const t of this.topics.values()) {
      if (Buffer.from(t.id).equals(id)) return t;
    }
    return undefined;
  }

  partition(topic: string, partition: number): PartitionState {
    const p = this.topic(topic).partitions[partition];
    if (!p) throw new RangeError(`topic ${topic} has no partition ${partition}`);
    return p;
  }

  /** Creates (or replaces) a topic: a new id, epochs 0, empty logs. Leaders round-robin by default. */
  createTopic(name: string, partitions: number, leaders?: readonly number[]): TopicState {
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new RangeError(`topic ${name}: partitions must be a positive integer`);
    }
    if (leaders && leaders.length !== partitions) {
      throw new RangeError(`topic ${name}: ${leaders.length} leaders for ${partitions} partitions`);
    }
    const topic: TopicState = {
      name,
      id: randomUuid(),
      partitions: [],
      maxMessageBytes: this.topics.get(name)?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    };
    for (let i = 0; i < partitions; i++) {
      const leader = leaders?.[i] ?? this.nodeIds[i % this.nodeIds.length]!;
      this.checkNode(leader);
      topic.partitions.push({
        leader,
        leaderEpoch: 0,
        log: [],
        markers: [],
        nextOffset: 0,
        producers: new Map(),
      });
    }
    this.topics.set(name, topic);
    return topic;
  }

  /** Moves leadership (or -1: none) and bumps the leader epoch. */
  setLeader(topic: string, partition: number, nodeId: number): void {
    this.checkNode(nodeId);
    const p = this.partition(topic, partition);
    p.leader = nodeId;
    p.leaderEpoch++;
  }

  private checkNode(nodeId: number): void {
    if (nodeId !== -1 && !this.nodeIds.includes(nodeId)) {
      throw new RangeError(`no node ${nodeId} (nodes: ${this.nodeIds.join(", ")})`);
    }
  }

  /** A producer id never handed out before (for the transaction coordinator model too). */
  newProducerId(): number {
    return this.nextProducerId++;
  }

  /** InitProducerId without a transaction coordinator (any transactional id is ignored). */
  initProducerId(producerId: number, producerEpoch: number): ProducerIdResult {
    const error = (errorCode: number) => ({ errorCode, producerId: -1, producerEpoch: -1 });
    if ((producerId === -1) !== (producerEpoch === -1)) return error(ErrorCode.INVALID_REQUEST);
    if (producerId !== -1 && !this.options.newProducerIdOnInit) {
      const current = this.producerEpochs.get(producerId);
      if (current === undefined || current !== producerEpoch) {
        return error(ErrorCode.INVALID_PRODUCER_EPOCH);
      }
      // An exhausted epoch gets a new id, as the transaction coordinator does.
      if (current < INT16_MAX - 1) {
        this.producerEpochs.set(producerId, current + 1);
        return { errorCode: 0, producerId, producerEpoch: current + 1 };
      }
    }
    const id = this.newProducerId();
    const epoch = this.options.firstProducerEpoch ?? 0;
    this.producerEpochs.set(id, epoch);
    return { errorCode: 0, producerId: id, producerEpoch: epoch };
  }

  /** Validates and appends one partition's records of a Produce request (the leader is checked by the caller). */
  append(topic: TopicState, partition: number, records: Buffer | null): AppendResult {
    const p = topic.partitions[partition]!;
    if (records === null || records.length < BATCH_LOG_OVERHEAD) {
      return fail(ErrorCode.INVALID_RECORD, "a Produce request needs one record batch");
    }
    const size = BATCH_LOG_OVERHEAD + records.readInt32BE(8);
    if (size !== records.length) {
      return fail(ErrorCode.INVALID_RECORD, "exactly one record batch per partition (v3+)");
    }
    if (size > topic.maxMessageBytes) {
      return fail(
        ErrorCode.MESSAGE_TOO_LARGE,
        `batch of ${size} bytes exceeds max.message.bytes ${topic.maxMessageBytes}`,
      );
    }
    let batch: RecordBatch;
    try {
      batch = decodeRecordBatch(records);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      const code =
        e.code === "UNSUPPORTED_VERSION" ? ErrorCode.INVALID_RECORD : ErrorCode.CORRUPT_MESSAGE;
      return fail(code, e.message);
    }
    const pid = batch.producerId;
    if (pid < 0) return this.write(p, batch);

    const firstSeq = batch.baseSequence;
    const lastSeq = addSequence(firstSeq, batch.lastOffsetDelta);
    const entry = p.producers.get(pid);
    if (entry && batch.producerEpoch === entry.epoch) {
      const dup = entry.batches.find((b) => b.firstSeq === firstSeq && b.lastSeq === lastSeq);
      if (dup) return { errorCode: 0, baseOffset: dup.baseOffset, errorMessage: null };
    }
    const where = `producer ${pid} epoch ${batch.producerEpoch} sequence ${firstSeq}`;
    if (!entry) {
      if (firstSeq !== 0 && !this.options.acceptUnknownProducerSequence) {
        return fail(ErrorCode.UNKNOWN_PRODUCER_ID, `${where}: no state for this producer id`);
      }
    } else if (batch.producerEpoch < entry.epoch) {
      return fail(ErrorCode.INVALID_PRODUCER_EPOCH, `${where}: current epoch is ${entry.epoch}`);
    } else if (batch.producerEpoch > entry.epoch) {
      if (firstSeq !== 0) {
        return fail(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `${where}: a new epoch starts at 0`);
      }
    } else {
      // No batch of this epoch yet (a marker brought it): the sequence starts at 0.
      const last = entry.batches.at(-1);
      const expected = last === undefined ? 0 : addSequence(last.lastSeq, 1);
      if (firstSeq !== expected) {
        return fail(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `${where}: expected ${expected}`);
      }
    }
    const result = this.write(p, batch);
    const next = entry && entry.epoch === batch.producerEpoch ? entry.batches : [];
    next.push({ firstSeq, lastSeq, baseOffset: result.baseOffset });
    if (next.length > BATCHES_RETAINED) next.shift();
    p.producers.set(pid, { epoch: batch.producerEpoch, batches: next });
    return result;
  }

  private write(p: PartitionState, batch: RecordBatch): AppendResult {
    const baseOffset = p.nextOffset;
    const withPid = batch.producerId >= 0;
    for (const [i, r] of batch.records.entries()) {
      p.log.push({
        offset: baseOffset + i,
        timestamp: r.timestamp,
        key: r.key && Buffer.from(r.key),
        value: r.value && Buffer.from(r.value),
        headers: r.headers.map((h) => ({ key: h.key, value: h.value && Buffer.from(h.value) })),
        producerId: batch.producerId,
        producerEpoch: batch.producerEpoch,
        sequence: withPid ? addSequence(batch.baseSequence, r.offsetDelta) : -1,
        transactional: batch.isTransactional,
      });
    }
    p.nextOffset += batch.records.length;
    return { errorCode: 0, baseOffset, errorMessage: null };
  }

  /**
   * Writes a transaction marker for `producerId` (the coordinator's epoch, which
   * may be newer than the producer's batches: then it becomes the partition's).
   */
  writeMarker(p: PartitionState, producerId: number, producerEpoch: number, commit: boolean): void {
    p.markers.push({ offset: p.nextOffset, producerId, producerEpoch, commit });
    p.nextOffset++;
    const entry = p.producers.get(producerId);
    if (entry === undefined || producerEpoch > entry.epoch) {
      p.producers.set(producerId, { epoch: producerEpoch, batches: [] });
    }
  }

  /**
   * What a read_committed consumer reads: records without the transactional
   * bit, and transactional ones whose producer's next marker is a commit
   * (records of an open or aborted transaction are left out), in offset order.
   */
  readCommitted(topic: string, partition: number): LoggedRecord[] {
    const p = this.partition(topic, partition);
    const outcome = new Map<LoggedRecord, boolean>();
    const open = new Map<number, LoggedRecord[]>();
    let m = 0;
    const settle = (marker: TxnMarker) => {
      for (const r of open.get(marker.producerId) ?? []) outcome.set(r, marker.commit);
      open.delete(marker.producerId);
    };
    for (const r of p.log) {
      while (m < p.markers.length && p.markers[m]!.offset < r.offset) settle(p.markers[m++]!);
      if (!r.transactional) continue;
      const list = open.get(r.producerId);
      if (list === undefined) open.set(r.producerId, [r]);
      else list.push(r);
    }
    while (m < p.markers.length) settle(p.markers[m++]!);
    return p.log.filter((r) => !r.transactional || outcome.get(r) === true);
  }
}
