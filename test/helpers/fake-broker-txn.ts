/**
 * The fake cluster's transaction coordinator (see fake-broker.ts), written from
 * the protocol (KIP-98; KIP-360 epoch bumps; KIP-890's Transactions v2) and the
 * broker's TransactionCoordinator and TransactionMetadata. No sockets here:
 * the handlers (fake-broker-handlers.ts) check which node is asked and turn
 * these answers into responses.
 *
 * Per transactional id: a producer id and epoch (the previous id and epoch for
 * retries), the transaction timeout, the state (Empty, Ongoing, PrepareCommit,
 * PrepareAbort, CompleteCommit, CompleteAbort), the partitions and consumer
 * groups of the open transaction and the offsets it commits. The state lives
 * in the cluster, not in a node: moving a coordinator keeps it, as the new
 * coordinator would load it from __transaction_state.
 *
 * - InitProducerId: a new id at epoch 0 the first time, then the epoch + 1;
 *   an open transaction is aborted first (the epoch is fenced, the answer is
 *   CONCURRENT_TRANSACTIONS and the retry bumps again). With the current id
 *   and epoch (v3+, KIP-360) the epoch + 1; with the epoch before that (a
 *   retry of a bump that succeeded) the current one; else PRODUCER_FENCED. An
 *   exhausted epoch (32766+) gets a new id.
 * - AddPartitionsToTxn / AddOffsetsToTxn: the id and epoch must be current
 *   (INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED), CONCURRENT_TRANSACTIONS
 *   while the previous transaction's markers are being written; the first one
 *   opens the transaction and starts its timeout.
 * - EndTxn v0-4 (Transactions v1): the epoch must be current; an open
 *   transaction goes to Prepare*, then (after `markerDelayMs`) its markers are
 *   written with that epoch and it is Complete*. A retry of the same outcome is
 *   answered NONE (CONCURRENT_TRANSACTIONS while still in Prepare*); the other
 *   outcome, or no open transaction (Empty), INVALID_TXN_STATE.
 * - EndTxn v5 (Transactions v2): the coordinator bumps the epoch with every
 *   transaction (a new id when it is exhausted), writes the markers with the
 *   new epoch and answers with it; a retry carries the epoch before (epoch + 1
 *   == current) and is answered with the current one. A commit that finds the
 *   transaction aborted by the coordinator is PRODUCER_FENCED (KAFKA-20785).
 *   An abort with the current epoch and no open transaction (the producer
 *   cannot know whether its Produce added a partition) is an empty abort: the
 *   epoch is bumped, no marker written; an empty commit is INVALID_TXN_STATE.
 * - The timeout (the InitProducerId's transaction_timeout_ms, counted from the
 *   first partition or group added) and `abortTransaction()`: the coordinator
 *   fences the epoch (+1, and forgets the previous one) and aborts with markers
 *   of the new epoch. A Transactions v1 producer is then fenced (its EndTxn and
 *   InitProducerId carry the old epoch); a v2 producer's EndTxn(abort) with the
 *   old epoch is a retry and gets the new one.
 * - A transactional Produce batch: the id and epoch must be current (else
 *   INVALID_PRODUCER_ID_MAPPING, or INVALID_PRODUCER_EPOCH: the leader turns
 *   PRODUCER_FENCED into it), NOT_ENOUGH_REPLICAS while markers are being
 *   written (the leader's stand-in for CONCURRENT_TRANSACTIONS). Produce v12+
 *   on a cluster with transaction.version 2 adds the partition itself; below,
 *   the partition must have been added (KIP-890 part 1 verification), else
 *   TRANSACTION_ABORTABLE (Produce v11+) or INVALID_TXN_STATE.
 * - TxnOffsetCommit: the same checks against the group; v5 on a
 *   transaction.version 2 cluster adds the group itself, below it must have
 *   been added by AddOffsetsToTxn. Offsets count when the transaction commits.
 *
 * Not modelled: the __transaction_state and __consumer_offsets partitions (no
 * coordinator epochs, no load times), group generations and members,
 * transactional id expiration, two-phase commit (InitProducerId v6).
 */
import { ErrorCode } from "../../src/protocol/errors.js";
import type { CoordinatorType } from "../../src/protocol/find-coordinator.js";
import type { ClusterState } from "./fake-broker-state.js";

const INT16_MAX = 0x7fff;

/** TransactionMetadata.isEpochExhausted: the next bump takes a new producer id. */
const isExhausted = (epoch: number): boolean => epoch >= INT16_MAX - 1;

export type TxnStateName =
  | "Empty"
  | "Ongoing"
  | "PrepareCommit"
  | "PrepareAbort"
  | "CompleteCommit"
  | "CompleteAbort";

export interface TransactionModelOptions {
  /** The finalized transaction.version: 2 is Transactions v2 (Produce v12 adds partitions). */
  transactionVersion: 0 | 1 | 2;
  /** How long writing the markers takes: the transaction stays in Prepare* that long. */
  markerDelayMs: number;
  /** transaction.max.timeout.ms: a longer InitProducerId timeout is INVALID_TRANSACTION_TIMEOUT. */
  maxTimeoutMs: number;
}

/** An id and epoch answer (InitProducerId, EndTxn v5); -1 and -1 with an error. */
export interface IdAndEpoch {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

/** A transaction that ended, in the order the coordinator decided. */
export interface EndedTransaction {
  transactionalId: string;
  /** The id and epoch of the markers. */
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  /** "client": EndTxn; "coordinator": its own abort (the timeout, abortTransaction(), a fence by InitProducerId). */
  by: "client" | "coordinator";
  /** "topic:partition", in the order they joined. */
  partitions: string[];
  groups: string[];
}

/** A transactional id as the coordinator sees it. */
export interface TransactionView {
  state: TxnStateName;
  producerId: number;
  producerEpoch: number;
  /** The epoch a retried InitProducerId may carry; -1 after a fence. */
  lastProducerEpoch: number;
  timeoutMs: number;
  /** Of the open (or last) transaction: "topic:partition". */
  partitions: string[];
  groups: string[];
}

interface TxnMetadata {
  transactionalId: string;
  producerId: number;
  previousProducerId: number;
  producerEpoch: number;
  lastProducerEpoch: number;
  timeoutMs: number;
  state: TxnStateName;
  partitions: Set<string>;
  /** group id -> "topic:partition" -> offset, committed with the transaction. */
  offsets: Map<string, Map<string, number>>;
  /** Transactions opened so far: a timer of an earlier one does nothing. */
  opened: number;
  timeout: NodeJS.Timeout | undefined;
}

const failed = (errorCode: number): IdAndEpoch => ({
  errorCode,
  producerId: -1,
  producerEpoch: -1,
});

/** Java's String.hashCode, as Kafka's partitionFor uses it. */
function hashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

export class TransactionCoordinatorModel {
  /** Every transaction that ended, oldest first. */
  readonly ended: EndedTransaction[] = [];
  /** group id -> "topic:partition" -> the offset committed by a transaction. */
  readonly committedOffsets = new Map<string, Map<string, number>>();
  private readonly txns = new Map<string, TxnMetadata>();
  private readonly placement = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly state: ClusterState,
    readonly options: TransactionModelOptions,
  ) {}

  /** Transactions v2: Produce v12+ and TxnOffsetCommit v5 add their partition or group. */
  get v2(): boolean {
    return this.options.transactionVersion >= 2;
  }

  // --- placement -----------------------------------------------------------

  /** The node coordinating `key`: set by move(), else from the key's hash. */
  coordinatorOf(type: CoordinatorType, key: string): number {
    const moved = this.placement.get(`${type}:${key}`);
    if (moved !== undefined) return moved;
    const ids = this.state.nodeIds;
    return ids[Math.abs(hashCode(key) % ids.length)]!;
  }

  move(type: CoordinatorType, key: string, nodeId: number): void {
    if (!this.state.nodeIds.includes(nodeId)) throw new RangeError(`no node ${nodeId}`);
    this.placement.set(`${type}:${key}`, nodeId);
  }

  // --- what tests read -------------------------------------------------------

  view(transactionalId: string): TransactionView | undefined {
    const t = this.txns.get(transactionalId);
    if (t === undefined) return undefined;
    return {
      state: t.state,
      producerId: t.producerId,
      producerEpoch: t.producerEpoch,
      lastProducerEpoch: t.lastProducerEpoch,
      timeoutMs: t.timeoutMs,
      partitions: [...t.partitions],
      groups: [...t.offsets.keys()],
    };
  }

  /** The coordinator aborts the open transaction itself, as at its timeout; false when none is open. */
  abortTransaction(transactionalId: string): boolean {
    const t = this.txns.get(transactionalId);
    if (t?.state !== "Ongoing") return false;
    this.fence(t);
    return true;
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const t of this.txns.values()) clearTimeout(t.timeout);
  }

  // --- requests ----------------------------------------------------------------

  /** InitProducerId with a transactional id; `expected` is the request's id and epoch (v3+), if any. */
  initProducerId(
    transactionalId: string,
    timeoutMs: number,
    expected: { producerId: number; producerEpoch: number } | undefined,
  ): IdAndEpoch {
    if (timeoutMs <= 0 || timeoutMs > this.options.maxTimeoutMs) {
      return failed(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    }
    let t = this.txns.get(transactionalId);
    if (t === undefined) {
      t = {
        transactionalId,
        producerId: this.state.newProducerId(),
        previousProducerId: -1,
        producerEpoch: -1,
        lastProducerEpoch: -1,
        timeoutMs,
        state: "Empty",
        partitions: new Set(),
        offsets: new Map(),
        opened: 0,
        timeout: undefined,
      };
      this.txns.set(transactionalId, t);
    }
    if (
      expected !== undefined &&
      !(
        t.producerEpoch === -1 ||
        expected.producerId === t.producerId ||
        (expected.producerId === t.previousProducerId && isExhausted(expected.producerEpoch))
      )
    ) {
      return failed(ErrorCode.PRODUCER_FENCED);
    }
    switch (t.state) {
      case "PrepareCommit":
      case "PrepareAbort":
        return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
      case "Ongoing":
        // Abort the open transaction under a fenced epoch; the retry bumps again.
        this.fence(t);
        return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
    }
    if (
      isExhausted(t.producerEpoch) &&
      (expected === undefined || expected.producerEpoch === t.producerEpoch)
    ) {
      t.lastProducerEpoch = expected === undefined ? -1 : t.producerEpoch;
      t.previousProducerId = t.producerId;
      t.producerId = this.state.newProducerId();
      t.producerEpoch = 0;
    } else if (t.producerEpoch === -1) {
      t.producerEpoch = this.state.options.firstProducerEpoch ?? 0;
      t.lastProducerEpoch = -1;
    } else if (expected === undefined) {
      t.producerEpoch++;
      t.lastProducerEpoch = -1;
    } else if (expected.producerEpoch === t.producerEpoch) {
      t.lastProducerEpoch = t.producerEpoch;
      t.producerEpoch++;
    } else if (expected.producerEpoch !== t.lastProducerEpoch) {
      return failed(ErrorCode.PRODUCER_FENCED);
    } // else: a retry of a bump that succeeded: the current epoch again.
    t.timeoutMs = timeoutMs;
    t.state = "Empty";
    t.partitions.clear();
    t.offsets.clear();
    return { errorCode: 0, producerId: t.producerId, producerEpoch: t.producerEpoch };
  }

  /** AddPartitionsToTxn v0-3 for partitions that exist ("topic:partition"). */
  addPartitions(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partitions: readonly string[],
  ): number {
    const t = this.txns.get(transactionalId);
    const code = this.checkCurrent(t, producerId, producerEpoch, ErrorCode.PRODUCER_FENCED);
    if (code !== 0) return code;
    this.open(t!);
    for (const p of partitions) t!.partitions.add(p);
    return 0;
  }

  /** AddOffsetsToTxn: the group's offsets join the transaction. */
  addOffsets(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    groupId: string,
  ): number {
    const t = this.txns.get(transactionalId);
    const code = this.checkCurrent(t, producerId, producerEpoch, ErrorCode.PRODUCER_FENCED);
    if (code !== 0) return code;
    this.open(t!);
    if (!t!.offsets.has(groupId)) t!.offsets.set(groupId, new Map());
    return 0;
  }

  /**
   * TxnOffsetCommit at the group coordinator: `add` (v5 under Transactions v2)
   * adds the group, else it must have been added. Offsets are kept for the commit.
   */
  commitOffsets(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    groupId: string,
    offsets: ReadonlyMap<string, number>,
    add: boolean,
    abortableCode: boolean,
  ): number {
    const t = this.txns.get(transactionalId);
    const code = this.checkCurrent(t, producerId, producerEpoch, ErrorCode.INVALID_PRODUCER_EPOCH);
    if (code !== 0) return code;
    if (add) {
      this.open(t!);
      if (!t!.offsets.has(groupId)) t!.offsets.set(groupId, new Map());
    } else if (t!.state !== "Ongoing" || !t!.offsets.has(groupId)) {
      return abortableCode ? ErrorCode.TRANSACTION_ABORTABLE : ErrorCode.INVALID_TXN_STATE;
    }
    const pending = t!.offsets.get(groupId)!;
    for (const [tp, offset] of offsets) pending.set(tp, offset);
    return 0;
  }

  /**
   * A transactional batch at its partition's leader: what the leader learns
   * from the coordinator (AddPartitionsToTxn v4+ verify, or v5 add when
   * `add`), as the error code it answers the producer with; 0 to append.
   */
  produce(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partition: string,
    add: boolean,
    abortableCode: boolean,
  ): number {
    const t = this.txns.get(transactionalId);
    let code = this.checkCurrent(t, producerId, producerEpoch, ErrorCode.INVALID_PRODUCER_EPOCH);
    // Retriable coordinator answers reach older clients as NOT_ENOUGH_REPLICAS.
    if (code === ErrorCode.CONCURRENT_TRANSACTIONS) code = ErrorCode.NOT_ENOUGH_REPLICAS;
    if (code !== 0) return code;
    if (add) {
      this.open(t!);
      t!.partitions.add(partition);
      return 0;
    }
    if (t!.state === "Ongoing" && t!.partitions.has(partition)) return 0;
    return abortableCode ? ErrorCode.TRANSACTION_ABORTABLE : ErrorCode.INVALID_TXN_STATE;
  }

  /** EndTxn; `version` 5+ is Transactions v2 (the answer's id and epoch are for the next transaction). */
  endTxn(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    commit: boolean,
    version: number,
  ): IdAndEpoch {
    const t = this.txns.get(transactionalId);
    if (t === undefined) return failed(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    const v2 = version >= 5;
    const retryOnEpochBump =
      v2 && t.producerId === producerId && t.producerEpoch === producerEpoch + 1;
    const retryOnOverflow =
      v2 &&
      t.previousProducerId === producerId &&
      producerEpoch === INT16_MAX - 1 &&
      t.producerEpoch === 0;
    if (t.producerId !== producerId && !retryOnOverflow) {
      return failed(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    }
    const retry = retryOnEpochBump || retryOnOverflow;
    let valid: boolean;
    if (!v2) valid = producerEpoch === t.producerEpoch;
    else if (t.state === "Ongoing" || t.state === "Empty")
      valid = producerEpoch === t.producerEpoch;
    else if (t.state === "PrepareCommit" || t.state === "PrepareAbort") valid = retryOnEpochBump;
    else valid = retry || producerEpoch === t.producerEpoch;
    if (!valid) {
      return failed(version < 2 ? ErrorCode.INVALID_PRODUCER_EPOCH : ErrorCode.PRODUCER_FENCED);
    }
    const current = { errorCode: 0, producerId: t.producerId, producerEpoch: t.producerEpoch };
    switch (t.state) {
      case "Ongoing":
        return this.endByClient(t, commit, v2);
      case "CompleteCommit":
        if (commit) return !v2 || retry ? current : failed(ErrorCode.INVALID_TXN_STATE);
        return v2 && !retry ? this.emptyAbort(t) : failed(ErrorCode.INVALID_TXN_STATE);
      case "CompleteAbort":
        if (!commit) return v2 && !retry ? this.emptyAbort(t) : current;
        // A commit racing the coordinator's own abort (KAFKA-20785).
        return failed(v2 && retry ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_TXN_STATE);
      case "PrepareCommit":
        return failed(commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE);
      case "PrepareAbort":
        return failed(commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS);
      case "Empty":
        return v2 && !commit ? this.emptyAbort(t) : failed(ErrorCode.INVALID_TXN_STATE);
    }
  }

  // --- inside ------------------------------------------------------------------

  /** EndTxn of the open transaction; under v2 the epoch (or id) for the next one first. */
  private endByClient(t: TxnMetadata, commit: boolean, v2: boolean): IdAndEpoch {
    const markerId = t.producerId;
    const markerEpoch = v2 ? t.producerEpoch + 1 : t.producerEpoch;
    if (v2) {
      t.lastProducerEpoch = t.producerEpoch;
      if (isExhausted(t.producerEpoch)) {
        t.previousProducerId = t.producerId;
        t.producerId = this.state.newProducerId();
        t.producerEpoch = 0;
      } else {
        t.producerEpoch++;
      }
    }
    this.end(t, commit, "client", markerId, markerEpoch);
    return { errorCode: 0, producerId: t.producerId, producerEpoch: t.producerEpoch };
  }

  /** Transactions v2: an abort with nothing added still ends "a" transaction: a new epoch, no markers. */
  private emptyAbort(t: TxnMetadata): IdAndEpoch {
    t.partitions.clear();
    t.offsets.clear();
    return this.endByClient(t, false, true);
  }

  /** 0 when `t` is the current id and epoch with no markers being written. */
  private checkCurrent(
    t: TxnMetadata | undefined,
    producerId: number,
    producerEpoch: number,
    fenced: number,
  ): number {
    if (t === undefined || t.producerId !== producerId)
      return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (t.producerEpoch !== producerEpoch) return fenced;
    if (t.state === "PrepareCommit" || t.state === "PrepareAbort") {
      return ErrorCode.CONCURRENT_TRANSACTIONS;
    }
    return 0;
  }

  /** The first partition or group of a transaction opens it and starts its timeout. */
  private open(t: TxnMetadata): void {
    if (t.state === "Ongoing") return;
    t.state = "Ongoing";
    t.partitions.clear();
    t.offsets.clear();
    const opened = ++t.opened;
    clearTimeout(t.timeout);
    t.timeout = setTimeout(() => {
      if (t.state === "Ongoing" && t.opened === opened) this.fence(t);
    }, t.timeoutMs);
    t.timeout.unref();
  }

  /** The coordinator's own abort: a fenced epoch (the previous one forgotten), abort markers with it. */
  private fence(t: TxnMetadata): void {
    if (t.producerEpoch < INT16_MAX) t.producerEpoch++;
    t.lastProducerEpoch = -1;
    this.end(t, false, "coordinator", t.producerId, t.producerEpoch);
  }

  /** Prepare*, then (after markerDelayMs) the markers, the offsets and Complete*. */
  private end(
    t: TxnMetadata,
    commit: boolean,
    by: EndedTransaction["by"],
    markerId: number,
    markerEpoch: number,
  ): void {
    clearTimeout(t.timeout);
    t.timeout = undefined;
    t.state = commit ? "PrepareCommit" : "PrepareAbort";
    const partitions = [...t.partitions];
    const offsets = [...t.offsets];
    this.ended.push({
      transactionalId: t.transactionalId,
      producerId: markerId,
      producerEpoch: markerEpoch,
      commit,
      by,
      partitions,
      groups: offsets.map(([g]) => g),
    });
    const complete = () => {
      for (const tp of partitions) {
        const at = tp.lastIndexOf(":");
        const topic = this.state.topics.get(tp.slice(0, at));
        const p = topic?.partitions[Number(tp.slice(at + 1))];
        if (p !== undefined) this.state.writeMarker(p, markerId, markerEpoch, commit);
      }
      if (commit) {
        for (const [group, pending] of offsets) {
          let committed = this.committedOffsets.get(group);
          if (committed === undefined) {
            committed = new Map();
            this.committedOffsets.set(group, committed);
          }
          for (const [tp, offset] of pending) committed.set(tp, offset);
        }
      }
      t.state = commit ? "CompleteCommit" : "CompleteAbort";
    };
    if (this.options.markerDelayMs <= 0) {
      complete();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      complete();
    }, this.options.markerDelayMs);
    this.timers.add(timer);
  }
}
