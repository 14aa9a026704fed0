/**
 * The transactions of one CLI run (`publish` and `perf` with
 * --transactional-id): each begun when a record needs one, committed or
 * aborted through the producer, and counted for the closing line on stderr.
 */
import type { ProducerProperties } from "../config/index.js";
import type { Producer } from "../producer/producer.js";
import { TransactionError } from "../producer/transaction-error.js";
import { integerOf, type ParsedArgs, stringOf } from "./options.js";
import { UsageError } from "./usage.js";

/** The --transactional-id flag, added to the -X settings as the property it stands for. */
export function addTransactionalId(
  values: ParsedArgs["values"],
  settings: string[],
): string | undefined {
  const id = stringOf(values, "transactional-id");
  if (id === undefined) return undefined;
  if (id === "") throw new UsageError("--transactional-id needs a non-empty ID");
  settings.push(`transactional.id=${id}`);
  return id;
}

/** Whether the properties make the producer transactional (by --transactional-id, -X or the socket). */
export function isTransactional(properties: ProducerProperties): boolean {
  const id = properties["transactional.id"];
  return typeof id === "string" && id !== "";
}

/** A whole-number flag that only a transactional run takes: a usage error otherwise. */
export function transactionFlag(
  flag: string,
  text: string | undefined,
  transactional: boolean,
  min: number,
  max: number,
): number | undefined {
  if (text === undefined) return undefined;
  if (!transactional) {
    throw new UsageError(`${flag} needs --transactional-id ID (or -X transactional.id=ID)`);
  }
  return integerOf(flag, text, min, max);
}

/** "1 record", "2 records". */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** How long registering the transactional id may take (the Java client's max.block.ms). */
const INIT_WAIT_MS = 60_000;

/**
 * A transaction call that gave up waiting says so in the CLI's words (the
 * producer's tell an application to call again); other errors pass unchanged.
 */
function gaveUp(err: unknown, message: string): unknown {
  if (!(err instanceof TransactionError) || !err.retriable) return err;
  return new TransactionError("retriable", err.code, message, { cause: err });
}

/** What RunTransactions needs of the producer. */
export type TransactionCalls = Pick<
  Producer,
  "initTransactions" | "beginTransaction" | "commitTransaction" | "abortTransaction"
>;

/** The transactions of a run and what became of them. */
export class RunTransactions {
  committed = 0;
  committedRecords = 0;
  aborted = 0;
  abortedRecords = 0;
  /** Records given to the open transaction. */
  records = 0;
  /** performance.now() when the open transaction began. */
  openedAt = 0;
  #open = false;
  #committing = false;
  /** A commit gave up waiting: it goes on in the producer, its outcome unknown to the run. */
  #commitUnsettled = false;

  constructor(private readonly producer: TransactionCalls) {}

  get isOpen(): boolean {
    return this.#open;
  }

  /** A commit is under way: it cannot be turned into an abort. */
  get isCommitting(): boolean {
    return this.#committing;
  }

  /** Milliseconds since the open transaction began. */
  get age(): number {
    return this.#open ? performance.now() - this.openedAt : 0;
  }

  /** Registers the transactional id (a second producer with it is fenced from now on). */
  async init(timeoutMs = INIT_WAIT_MS): Promise<void> {
    try {
      await this.producer.initTransactions(timeoutMs);
    } catch (err) {
      throw gaveUp(err, `registering the transactional id took longer than ${timeoutMs / 1000} s`);
    }
  }

  /** Begins a transaction unless one is open. */
  ensureOpen(): void {
    if (this.#open) return;
    this.producer.beginTransaction();
    this.#open = true;
    this.records = 0;
    this.openedAt = performance.now();
  }

  /** `n` records were queued in the open transaction. */
  add(n: number): void {
    this.records += n;
  }

  /** Commits the open transaction (none open: nothing to do). Throws what the producer throws. */
  async commit(timeoutMs: number): Promise<void> {
    if (!this.#open) return;
    this.#committing = true;
    try {
      await this.producer.commitTransaction(timeoutMs);
    } catch (err) {
      const retriable = err instanceof TransactionError && err.retriable;
      this.#commitUnsettled ||= retriable;
      throw gaveUp(
        err,
        `the commit took longer than ${timeoutMs / 1000} s: its outcome is unknown`,
      );
    } finally {
      this.#committing = false;
    }
    this.#open = false;
    // One without records wrote nothing (begun for input that held only empty lines, say).
    if (this.records === 0) return;
    this.committed++;
    this.committedRecords += this.records;
  }

  /** Aborts the open transaction (none open: nothing to do). Throws what the producer throws. */
  async abort(timeoutMs: number): Promise<void> {
    if (!this.#open) return;
    try {
      await this.producer.abortTransaction(timeoutMs);
    } catch (err) {
      throw gaveUp(err, `the abort took longer than ${timeoutMs / 1000} s`);
    }
    this.#open = false;
    if (this.records === 0) return;
    this.aborted++;
    this.abortedRecords += this.records;
  }

  /**
   * What was committed, e.g. "committed 3 transactions, 25000 records; aborted 0",
   * and what was not: an aborted transaction's records, or one left open.
   */
  closingLine(): string {
    let line = `committed ${counted(this.committed, "transaction")}, ${counted(this.committedRecords, "record")}; aborted `;
    line +=
      this.aborted === 0
        ? "0"
        : `${counted(this.aborted, "transaction")} of ${counted(this.abortedRecords, "record")} (not committed)`;
    if (this.#open && this.#commitUnsettled) {
      line += `; unknown: 1 transaction of ${counted(this.records, "record")} (its commit did not finish in time)`;
    } else if (this.#open) {
      // Not ended by this run (fenced, a second signal): the coordinator aborts it, at
      // transaction.timeout.ms or when the transactional id is registered again.
      line += `; left open: 1 transaction of ${counted(this.records, "record")} (not committed; its coordinator aborts it)`;
    }
    return line;
  }
}

/**
 * Whether a failed run should still abort its open transaction: not after a
 * fatal error (the producer cannot), nor while a commit's outcome is unknown.
 */
export function shouldAbort(failure: Error | undefined, transactions: RunTransactions): boolean {
  if (!transactions.isOpen || transactions.isCommitting) return false;
  if (failure instanceof TransactionError) return !failure.fatal && !failure.retriable;
  return true;
}

export interface TransactionEnd {
  /** The run went well: commit the open transaction. */
  commit: boolean;
  /** What ended the run early, if anything did. */
  failure: Error | undefined;
  /** A security failure closed the producer: there is nothing left to abort with. */
  producerClosed?: boolean;
  commitWaitMs: number;
  abortWaitMs: number;
}

/**
 * The end of a transactional run: the open transaction is committed when the
 * run went well, aborted otherwise (unless the producer cannot: fatal, or a
 * commit's outcome unknown). Returns what ended the run (the commit's failure
 * when it was the commit) and the abort's failure.
 */
export async function endTransactions(
  txn: RunTransactions,
  end: TransactionEnd,
): Promise<{ failure: Error | undefined; abortFailure: Error | undefined }> {
  let failure = end.failure;
  if (end.commit) {
    try {
      await txn.commit(end.commitWaitMs);
    } catch (err) {
      failure = err as Error;
    }
  }
  if (end.producerClosed || !shouldAbort(failure, txn)) return { failure, abortFailure: undefined };
  try {
    await txn.abort(end.abortWaitMs);
    return { failure, abortFailure: undefined };
  } catch (err) {
    return { failure, abortFailure: err as Error };
  }
}

/**
 * The transaction lines on stderr: what ended the run (unless a record
 * failure line said it already), an abort that failed, and what was committed.
 */
export function reportTransactionEnd(
  txn: RunTransactions,
  end: { failure: Error | undefined; abortFailure: Error | undefined; alreadySaid?: Error },
): void {
  if (end.failure !== undefined && end.failure !== end.alreadySaid) {
    process.stderr.write(`event-kafka: ${end.failure.message}\n`);
  }
  if (end.abortFailure !== undefined) {
    process.stderr.write(
      `event-kafka: the open transaction could not be aborted: ${end.abortFailure.message}\n`,
    );
  }
  process.stderr.write(`event-kafka: ${txn.closingLine()}\n`);
}
