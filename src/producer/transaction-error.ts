/**
 * The error every transaction call rejects with. Its kind says what the
 * caller does next, as librdkafka's rd_kafka_error_is_fatal(),
 * rd_kafka_error_txn_requires_abort() and rd_kafka_error_is_retriable() do:
 *
 * - `fatal`: the producer cannot go on (fenced by a newer instance with the
 *   same transactional id, not authorized, a broker too old). Close it.
 * - `abortable`: this transaction cannot commit; call abortTransaction() and
 *   start a new one.
 * - `retriable`: the call gave up waiting (its timeout) while the work goes
 *   on; call the same method again to wait for its outcome.
 * - `state`: the call does not fit the producer's state (commit without
 *   begin, produce() outside a transaction); nothing changed.
 */
export type TransactionErrorKind = "fatal" | "abortable" | "retriable" | "state";

export class TransactionError extends Error {
  override readonly name = "TransactionError";
  readonly fatal: boolean;
  readonly abortable: boolean;
  readonly retriable: boolean;
  constructor(
    readonly kind: TransactionErrorKind,
    /** The broker's error name (PRODUCER_FENCED, ...) or the client's (TIMED_OUT, STATE, ...). */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.fatal = kind === "fatal";
    this.abortable = kind === "abortable";
    this.retriable = kind === "retriable";
  }
}

/** A call that does not fit the producer's state. */
export function stateError(message: string): TransactionError {
  return new TransactionError("state", "STATE", message);
}

/** Waits for `work` at most `timeoutMs`; the work goes on after a timeout (a retriable error). */
export function withTimeout(work: Promise<void>, timeoutMs: number, op: string): Promise<void> {
  if (!Number.isFinite(timeoutMs)) return work;
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new TransactionError(
          "retriable",
          "TIMED_OUT",
          `${op}() did not finish within ${timeoutMs} ms; it goes on: call ${op}() again to wait for its outcome`,
        ),
      );
    }, timeoutMs);
    work.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
