/**
 * The transactional producer's state machine (KIP-98, with KIP-890's
 * Transactions v2 where the cluster finalizes transaction.version >= 2):
 * initTransactions, begin, commit, abort and sendOffsetsToTransaction, the
 * partitions added to the current transaction (v1), and the errors that make
 * a transaction abortable or the producer fatal. It owns the transaction's
 * state; the records stay the accumulator's and the requests the sender's.
 *
 * Epochs: under v2 every EndTxn answers with the producer id and epoch of the
 * next transaction; under v1 an abort that had records asks for a newer epoch
 * of its own (InitProducerId with the current id and epoch, KIP-360), since
 * batches stamped but never written left gaps in the partitions' sequences.
 * Either way every partition then starts again from sequence 0.
 */
import { KafkaClientError } from "../client/client-error.js";
import type { Logger } from "../client/logger.js";
import { sleep } from "../client/request.js";
import { ApiKey } from "../protocol/api-keys.js";
import { ErrorCode, KafkaProtocolError } from "../protocol/errors.js";
import { PRODUCE_MAX_NAME_VERSION } from "../protocol/produce.js";
import type { VersionRange } from "../protocol/versions.js";
import { AbortError, untilAborted } from "./abort.js";
import type { ProducerIdentity } from "./idempotence.js";
import type { DeliveryError } from "./record.js";
import { stateError, TransactionError, withTimeout } from "./transaction-error.js";
import {
  offsetTopics,
  type ProducerIdEpoch,
  type TransactionOffset,
  type TransactionRequests,
} from "./transaction-requests.js";

export type { TransactionOffset };

/** How long a transaction call waits: its timeout and, if given, its signal. */
export interface TransactionWait {
  timeoutMs: number;
  signal: AbortSignal | undefined;
}

/** `work` until the wait's timeout (a retriable TransactionError) or its signal (an AbortError). */
function waitFor(work: Promise<void>, wait: TransactionWait, op: string): Promise<void> {
  return untilAborted(withTimeout(work, wait.timeoutMs, op), wait.signal, `${op}()`);
}

export type TransactionState =
  | "uninitialized"
  | "initializing"
  | "ready"
  | "in-transaction"
  | "committing"
  | "aborting"
  | "abortable-error"
  | "fatal-error";

/** Produce versions per protocol: v12 tells the leader to add the partition itself (KIP-890). */
const PRODUCE_V1: VersionRange = { min: 3, max: 11 };
const PRODUCE_V2: VersionRange = { min: 12, max: PRODUCE_MAX_NAME_VERSION };

/** What the manager needs from the engine. */
export interface TransactionEngine {
  /** Resolves once every queued record has its report (each has its own deadline). */
  waitIdle(): Promise<void>;
  /** Batches in Produce requests not answered yet. */
  inFlight(): number;
  /** Fails every record that no request carries yet (abort, or an abortable error). */
  failUnsent(err: DeliveryError): void;
  /** Every partition stamps its next batch with the identity's id and epoch, from sequence 0. */
  restartSequences(): void;
  /** Records reported failed so far (ProducerStats.failed). */
  failedRecords(): number;
  /** Records queued so far (ProducerStats.produced). */
  producedRecords(): number;
  /** Something became sendable: run the sender. */
  wake(): void;
}

/** A partition as the manager sees it: whether it joined the current transaction (v1). */
export interface TransactionPartition {
  readonly topic: string;
  readonly partition: number;
  /** The number of the transaction the partition was last added to (the manager's field). */
  txnAddedIn: number;
  wake(): void;
}

/** The consumer group whose offsets the transaction commits (the consumer's group metadata). */
export interface TransactionGroup {
  groupId: string;
  generationId?: number;
  memberId?: string;
  groupInstanceId?: string | null;
}

type Operation = "initTransactions" | "commitTransaction" | "abortTransaction";

interface PendingOperation {
  op: Operation;
  promise: Promise<void>;
}

export class TransactionManager {
  state: TransactionState = "uninitialized";
  /** Transactions v2 for the current transaction (fixed at begin). */
  v2 = false;
  /** Transactions begun so far; TransactionPartition.txnAddedIn compares with it. */
  private number = 0;
  /** The coordinator knows the transaction: a partition or offsets were added, or (v2) a batch sent. */
  private started = false;
  private failedAtBegin = 0;
  private producedAtBegin = 0;
  private error: TransactionError | undefined;
  private pending: PendingOperation | undefined;
  /** An operation whose caller stopped waiting (a timeout): the next call of it gets its outcome. */
  private unclaimed: PendingOperation | undefined;
  private readonly offsetCommits = new Set<Promise<void>>();
  /** v1: partitions waiting for AddPartitionsToTxn, and whether a request is out. */
  private readonly toAdd = new Set<TransactionPartition>();
  private adding = false;
  /** v1: settles once the AddPartitionsToTxn out (if any) has its outcome. */
  private added: Promise<void> = Promise.resolve();

  constructor(
    private readonly requests: TransactionRequests,
    private readonly identity: ProducerIdentity,
    private readonly engine: TransactionEngine,
    private readonly logger: Logger,
    /** The newest protocol to use: 1 keeps to Transactions v1 even where v2 is finalized. */
    private readonly maxVersion: 1 | 2 = 2,
  ) {}

  get transactionalId(): string {
    return this.requests.transactionalId;
  }

  /** Produce versions the current transaction may use. */
  get produceVersions(): VersionRange {
    return this.v2 ? PRODUCE_V2 : PRODUCE_V1;
  }

  /** Failed batches are not retried once the transaction is bound to abort. */
  get retriesAllowed(): boolean {
    return this.state === "in-transaction" || this.state === "committing";
  }

  // --- the engine's side ---------------------------------------------------

  /** produce() on a transactional producer: only inside a transaction. */
  checkProduce(): void {
    if (this.state === "in-transaction") return;
    if (this.error !== undefined) throw this.error;
    throw stateError(
      `produce() needs an open transaction (the producer is ${this.state}): call beginTransaction() first`,
    );
  }

  /**
   * Whether a partition's batches may go now. Under v1 a partition must join
   * the transaction first: it is queued for AddPartitionsToTxn and woken once added.
   */
  mayProduce(pq: TransactionPartition): boolean {
    if (this.v2 || pq.txnAddedIn === this.number) return true;
    if (this.state !== "in-transaction" && this.state !== "committing") return false;
    if (!this.toAdd.has(pq)) {
      this.toAdd.add(pq);
      if (!this.adding) queueMicrotask(() => this.addPartitions());
    }
    return false;
  }

  /** A batch of the transaction went out: under v2 the leader adds its partition. */
  onSent(): void {
    this.started = true;
  }

  /** A batch failed for good: the transaction can only abort. */
  onBatchFailed(err: DeliveryError): void {
    if (this.state === "aborting" || this.state === "fatal-error") return;
    this.toAbortable(
      new TransactionError(
        "abortable",
        deliveryCode(err),
        `a record of the transaction failed (${err.message}): abort the transaction and begin a new one`,
        { cause: err },
      ),
    );
  }

  /** The identity failed (a Produce answer fenced the producer). */
  onFatal(err: DeliveryError): void {
    if (this.state === "fatal-error") return;
    this.error = new TransactionError(
      "fatal",
      deliveryCode(err),
      `the transactional producer cannot go on: ${err.message}`,
      { cause: err },
    );
    this.state = "fatal-error";
  }

  close(): void {
    this.requests.close();
  }

  // --- the API -----------------------------------------------------------------

  initTransactions(wait: TransactionWait): Promise<void> {
    return this.run("initTransactions", wait, ["uninitialized"], async () => {
      this.state = "initializing";
      try {
        this.assign(await this.requests.initProducerId());
        this.state = "ready";
      } catch (err) {
        this.fail(err);
        if (this.state === "initializing") this.state = "uninitialized";
        throw err;
      }
    });
  }

  beginTransaction(): void {
    this.check(["ready"], "beginTransaction");
    this.number++;
    this.started = false;
    this.failedAtBegin = this.engine.failedRecords();
    this.producedAtBegin = this.engine.producedRecords();
    this.v2 = this.transactionV2();
    this.toAdd.clear();
    this.state = "in-transaction";
    this.logger.debug("transaction begun", { transactionalId: this.transactionalId, v2: this.v2 });
  }

  commitTransaction(wait: TransactionWait): Promise<void> {
    return this.run("commitTransaction", wait, ["in-transaction"], async () => {
      this.state = "committing";
      try {
        await Promise.all([...this.offsetCommits]);
        await this.engine.waitIdle();
        const failed = this.engine.failedRecords() - this.failedAtBegin;
        if (this.error === undefined && failed > 0) {
          this.toAbortable(
            new TransactionError(
              "abortable",
              "RECORDS_FAILED",
              `${failed} record(s) of the transaction failed: abort the transaction and begin a new one`,
            ),
          );
        }
        if (this.error !== undefined) throw this.error;
        if (this.started) {
          const res = await this.requests.endTxn(this.id(), true, this.v2, [
            ErrorCode.INVALID_PRODUCER_EPOCH,
          ]);
          if (res.errorCode === ErrorCode.INVALID_PRODUCER_EPOCH) {
            // KIP-588: the coordinator aborted the transaction itself (it ran past
            // transaction.timeout.ms) and moved to a newer epoch.
            throw this.toAbortable(
              new TransactionError(
                "abortable",
                "INVALID_PRODUCER_EPOCH",
                `the coordinator aborted the transaction (did it run past transaction.timeout.ms?): abort and begin a new one`,
              ),
            );
          }
          if (this.v2) this.assign(res);
        }
        this.complete("committed");
      } catch (err) {
        this.fail(err);
        throw err;
      }
    });
  }

  abortTransaction(wait: TransactionWait): Promise<void> {
    return this.run("abortTransaction", wait, ["in-transaction", "abortable-error"], async () => {
      this.state = "aborting";
      try {
        this.engine.failUnsent(
          new KafkaClientError(
            "TRANSACTION_ABORTED",
            `the record's transaction (transactional.id "${this.transactionalId}") was aborted before it was sent`,
          ),
        );
        // An AddPartitionsToTxn out may open the transaction at the coordinator:
        // its outcome decides between EndTxn and InitProducerId below (an
        // InitProducerId meeting an open transaction would fence this producer).
        this.toAdd.clear();
        await this.added;
        await Promise.allSettled([...this.offsetCommits]);
        await this.engine.waitIdle();
        // A Produce request still out would land after the abort markers.
        while (this.engine.inFlight() > 0) await sleep(5);
        let bumped = false;
        if (this.started) {
          const res = await this.requests.endTxn(this.id(), false, this.v2, [
            ErrorCode.INVALID_PRODUCER_EPOCH,
          ]);
          if (res.errorCode === 0 && this.v2) {
            this.assign(res);
            bumped = true;
          }
        }
        // Records were queued: stamped batches that never reached the log left gaps.
        const hadRecords = this.engine.producedRecords() > this.producedAtBegin;
        if (hadRecords && !bumped) this.assign(await this.requests.initProducerId(this.id()));
        this.complete("aborted");
      } catch (err) {
        this.fail(err);
        if (this.state === "aborting") this.state = "abortable-error";
        throw err;
      }
    });
  }

  async sendOffsetsToTransaction(
    offsets: readonly TransactionOffset[],
    group: TransactionGroup,
    wait: TransactionWait,
  ): Promise<void> {
    this.check(["in-transaction"], "sendOffsetsToTransaction");
    const topics = offsetTopics(offsets);
    const work = (async () => {
      try {
        if (!this.v2) await this.requests.addOffsets(this.id(), group.groupId);
        this.started = true;
        await this.requests.commitOffsets(
          this.id(),
          {
            groupId: group.groupId,
            generationId: group.generationId ?? -1,
            memberId: group.memberId ?? "",
            groupInstanceId: group.groupInstanceId ?? null,
          },
          topics,
          this.v2,
        );
      } catch (err) {
        this.fail(err);
        throw err;
      }
    })();
    this.offsetCommits.add(work);
    const forget = () => this.offsetCommits.delete(work);
    work.then(forget, forget);
    return waitFor(work, wait, "sendOffsetsToTransaction");
  }

  // --- inside ------------------------------------------------------------------

  /** Runs `op` once; a second call of the same operation while it runs waits for the same outcome. */
  private run(
    op: Operation,
    wait: TransactionWait,
    from: readonly TransactionState[],
    body: () => Promise<void>,
  ): Promise<void> {
    if (this.pending !== undefined) {
      if (this.pending.op === op) return this.await(this.pending, wait);
      return Promise.reject(stateError(`${op}() called while ${this.pending.op}() is under way`));
    }
    // A call that timed out, finished since: the call again gets its outcome.
    const unclaimed = this.unclaimed;
    this.unclaimed = undefined;
    if (unclaimed?.op === op) return unclaimed.promise;
    try {
      this.check(from, op);
    } catch (err) {
      return Promise.reject(err);
    }
    const entry = { op, promise: body() };
    this.pending = entry;
    const clear = () => {
      if (this.pending === entry) this.pending = undefined;
    };
    entry.promise.then(clear, clear);
    return this.await(entry, wait);
  }

  /**
   * Waits for an operation; one that outlives the wait (its timeout or its
   * signal) is kept for the same call to claim.
   */
  private await(entry: PendingOperation, wait: TransactionWait): Promise<void> {
    const waited = waitFor(entry.promise, wait, entry.op);
    waited.catch((err: unknown) => {
      if ((err instanceof TransactionError && err.retriable) || err instanceof AbortError) {
        this.unclaimed = entry;
      }
    });
    return waited;
  }

  private check(states: readonly TransactionState[], op: string): void {
    if (states.includes(this.state)) return;
    if (this.state === "fatal-error" && this.error !== undefined) throw this.error;
    if (this.state === "abortable-error" && this.error !== undefined) throw this.error;
    throw stateError(`${op}() cannot be called while the producer is ${this.state}`);
  }

  private id(): ProducerIdEpoch {
    return { producerId: this.identity.producerId, producerEpoch: this.identity.epoch };
  }

  /** Takes a new producer id and epoch: every partition starts again from sequence 0. */
  private assign(id: ProducerIdEpoch): void {
    this.identity.assign(id.producerId, id.producerEpoch);
    this.engine.restartSequences();
  }

  private complete(outcome: "committed" | "aborted"): void {
    this.state = "ready";
    this.error = undefined;
    this.toAdd.clear();
    this.logger.debug(`transaction ${outcome}`, {
      transactionalId: this.transactionalId,
      producerId: this.identity.producerId,
      epoch: this.identity.epoch,
    });
  }

  private toAbortable(err: TransactionError): TransactionError {
    if (this.state === "fatal-error") return this.error ?? err;
    if (this.error === undefined) this.error = err;
    this.state = "abortable-error";
    this.engine.failUnsent(
      new KafkaClientError("TRANSACTION_ABORTED", `not sent: ${err.message}`, { cause: err }),
    );
    return err;
  }

  /** Applies a failed call's error to the state: fatal ends the producer, abortable the transaction. */
  private fail(err: unknown): void {
    if (!(err instanceof TransactionError)) return;
    if (err.fatal) {
      if (this.state === "fatal-error") return;
      this.error = err;
      this.state = "fatal-error";
      this.logger.error("transactional producer failed", { error: err.message });
      this.identity.fail(new KafkaClientError("FATAL", err.message, { cause: err }));
    } else if (err.abortable) {
      this.toAbortable(err);
    }
  }

  /** v1 partitions join the transaction, in one AddPartitionsToTxn for all that wait. */
  private async addPartitions(): Promise<void> {
    if (this.adding || this.toAdd.size === 0) return;
    this.adding = true;
    let settle!: () => void;
    this.added = new Promise((resolve) => {
      settle = resolve;
    });
    const number = this.number;
    const batch = [...this.toAdd];
    const byTopic = new Map<string, number[]>();
    for (const pq of batch) {
      const list = byTopic.get(pq.topic);
      if (list === undefined) byTopic.set(pq.topic, [pq.partition]);
      else list.push(pq.partition);
    }
    try {
      await this.requests.addPartitions(
        this.id(),
        [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      );
      if (number === this.number) {
        this.started = true;
        for (const pq of batch) {
          pq.txnAddedIn = number;
          this.toAdd.delete(pq);
          pq.wake();
        }
        this.engine.wake();
      }
    } catch (err) {
      for (const pq of batch) this.toAdd.delete(pq);
      this.fail(err);
    } finally {
      this.adding = false;
      settle();
      if (this.toAdd.size > 0) queueMicrotask(() => this.addPartitions());
    }
  }

  /** Whether the coordinator's cluster finalizes transaction.version >= 2 with the APIs it needs. */
  private transactionV2(): boolean {
    if (this.maxVersion < 2) return false;
    const conn = this.requests.coordinator;
    if (conn === undefined) return this.v2;
    const level = conn.finalizedFeatures.get("transaction.version") ?? 0;
    const endTxn = conn.brokerVersions.get(ApiKey.EndTxn);
    const produce = conn.brokerVersions.get(ApiKey.Produce);
    return level >= 2 && (endTxn?.max ?? 0) >= 5 && (produce?.max ?? 0) >= 12;
  }
}

/**
 * A delivery error's code by name: the broker's for a protocol error (whose
 * `code` is the number), the client's own otherwise.
 */
function deliveryCode(err: DeliveryError): string {
  return err instanceof KafkaProtocolError ? err.errorName : err.code;
}
