/**
 * Wires a transactional producer's parts: coordinator lookup (the client's),
 * the coordinator requests and the state machine, over the engine's
 * accumulator and sender; and how the producer's transaction calls reach the
 * state machine (its presence, the wait's timeout and signal).
 */
import type { Cluster } from "../client/cluster.js";
import { Coordinators } from "../client/coordinators.js";
import type { Logger } from "../client/logger.js";
import type { ProducerConfig } from "../config/index.js";
import { abortError, type TimedWaitOptions, type WaitOptions, waitArguments } from "./abort.js";
import type { Accumulator } from "./accumulator.js";
import type { ProducerIdentity } from "./idempotence.js";
import type { Sender } from "./sender.js";
import type { ProducerStats } from "./stats.js";
import { TransactionError } from "./transaction-error.js";
import { TransactionRequests } from "./transaction-requests.js";
import { TransactionManager, type TransactionWait } from "./transactions.js";

/** How long a transaction call waits by default (the Java client's max.block.ms). */
const TRANSACTION_CALL_TIMEOUT_MS = 60_000;

/** How long one flush() waits inside a commit or abort before it looks again. */
const FLUSH_ROUND_MS = 60_000;

export interface TransactionParts {
  config: Readonly<ProducerConfig>;
  cluster: Cluster;
  identity: ProducerIdentity;
  accumulator: Accumulator;
  sender: Sender;
  counters: ProducerStats;
  logger: Logger;
  /** The producer's flush(): records go without linger.ms; resolves with those still queued. */
  flush(timeoutMs: number): Promise<number>;
  /** The newest transaction protocol to use (1 or 2). */
  maxVersion: 1 | 2;
}

export function createTransactionManager(p: TransactionParts): TransactionManager {
  const coordinators = new Coordinators(
    p.cluster,
    {
      retryBackoffMs: p.config["retry.backoff.ms"],
      retryBackoffMaxMs: p.config["retry.backoff.max.ms"],
    },
    p.logger,
  );
  const requests = new TransactionRequests(
    coordinators,
    p.config["transactional.id"],
    p.config["transaction.timeout.ms"],
    p.logger,
  );
  const manager = new TransactionManager(
    requests,
    p.identity,
    {
      // Every record has its own deadline, so the queue does empty.
      waitIdle: async () => {
        while ((await p.flush(FLUSH_ROUND_MS)) > 0) {}
      },
      inFlight: () => p.accumulator.inFlightBatches(),
      failUnsent: (err) => {
        p.accumulator.failAll(() => err, true);
      },
      restartSequences: () => p.sender.restartSequences(),
      failedRecords: () => p.counters.failed,
      producedRecords: () => p.counters.produced,
      wake: () => p.sender.wakeAll(),
    },
    p.logger,
    p.maxVersion,
  );
  p.sender.setTransaction(manager);
  return manager;
}

/** The state machine of a transactional producer, or a STATE error naming the call. */
export function transactionsOf(
  txn: TransactionManager | undefined,
  op: string,
): TransactionManager {
  if (txn !== undefined) return txn;
  throw new TransactionError(
    "state",
    "STATE",
    `${op}() needs a transactional producer: set "transactional.id"`,
  );
}

/**
 * A transaction call of the producer: its wait (the timeout, default 60 s,
 * and the signal) handed to `call`. A timeout or an abort ends the wait, not
 * the work: calling the same method again waits for its outcome.
 */
export function transactionCall(
  txn: TransactionManager | undefined,
  op: string,
  timeoutOrOptions: number | TimedWaitOptions | undefined,
  options: WaitOptions | undefined,
  call: (txn: TransactionManager, wait: TransactionWait) => Promise<void>,
): Promise<void> {
  try {
    const wait = waitArguments(timeoutOrOptions, options, TRANSACTION_CALL_TIMEOUT_MS, `${op}()`);
    if (wait.signal?.aborted) return Promise.reject(abortError(`${op}()`, wait.signal));
    return call(transactionsOf(txn, op), wait);
  } catch (err) {
    return Promise.reject(err);
  }
}
