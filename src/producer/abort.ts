/**
 * Cancelling a wait with an AbortSignal, as Node's own APIs do (events.once,
 * timers/promises): an aborted signal rejects the wait with an AbortError
 * whose `cause` is the signal's reason. Only the wait ends: what the call
 * started (records queued, a commit sent) goes on and gets its own outcome.
 */

import { KafkaClientError } from "../client/client-error.js";

export class AbortError extends Error {
  override readonly name = "AbortError";
  /** Node's code for an aborted operation. */
  readonly code = "ABORT_ERR";
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
  }
}

/** What the waiting calls (flush, close, send, sendBatch, the transaction calls) accept. */
export interface WaitOptions {
  /** Ends the wait (not the work) when aborted. */
  signal?: AbortSignal;
}

/** WaitOptions with the call's timeout, for calls that have one. */
export interface TimedWaitOptions extends WaitOptions {
  timeoutMs?: number;
}

/** The AbortError for `what` cut short by `signal`. */
export function abortError(what: string, signal: AbortSignal): AbortError {
  return new AbortError(`${what} aborted: the wait ended, the work goes on`, {
    cause: signal.reason,
  });
}

/** The signal of `options`, checked: INVALID_ARG names anything else. */
export function signalOf(options: WaitOptions | undefined, what: string): AbortSignal | undefined {
  const signal = options?.signal;
  if (signal === undefined) return undefined;
  if (signal === null || typeof signal !== "object" || typeof signal.aborted !== "boolean") {
    throw new KafkaClientError("INVALID_ARG", `${what}: options.signal must be an AbortSignal`);
  }
  return signal;
}

/**
 * `timeoutMs` and `signal` from a call's arguments: a timeout alone, or
 * options `{ timeoutMs?, signal? }`, or both (a timeout, then options).
 */
export function waitArguments(
  first: number | TimedWaitOptions | undefined,
  second: WaitOptions | undefined,
  defaultTimeoutMs: number,
  what: string,
): { timeoutMs: number; signal: AbortSignal | undefined } {
  if (typeof first === "object" && first !== null) {
    return { timeoutMs: first.timeoutMs ?? defaultTimeoutMs, signal: signalOf(first, what) };
  }
  return { timeoutMs: first ?? defaultTimeoutMs, signal: signalOf(second, what) };
}

/**
 * `work` until `signal` aborts: then an AbortError, while `work` goes on
 * (its rejection, if any, is then handled here so that it is not unhandled).
 */
export function untilAborted<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  what: string,
): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(abortError(what, signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      work.catch(() => {});
      reject(abortError(what, signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
