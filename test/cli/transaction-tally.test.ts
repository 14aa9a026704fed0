/**
 * The CLI's count of a run's transactions (src/cli/transactions.ts) in
 * process, over a stand-in for the producer's four transaction calls: what
 * the closing line says after commits, aborts, failures and empty
 * transactions, and when an open transaction is still aborted.
 */
import { describe, expect, it } from "vitest";
import {
  endTransactions,
  RunTransactions,
  shouldAbort,
  type TransactionCalls,
} from "../../src/cli/transactions.js";
import { TransactionError } from "../../src/producer/transaction-error.js";

/** The producer's transaction calls, each recorded; commit and abort fail with `fails` when set. */
function fakeProducer(fails: { commit?: Error; abort?: Error } = {}): {
  calls: string[];
  producer: TransactionCalls;
} {
  const calls: string[] = [];
  const producer: TransactionCalls = {
    initTransactions: async () => {
      calls.push("init");
    },
    beginTransaction: () => {
      calls.push("begin");
    },
    commitTransaction: async () => {
      calls.push("commit");
      if (fails.commit) throw fails.commit;
    },
    abortTransaction: async () => {
      calls.push("abort");
      if (fails.abort) throw fails.abort;
    },
  };
  return { calls, producer };
}

const WAIT = { commitWaitMs: 1000, abortWaitMs: 1000 };

describe("RunTransactions", () => {
  it("begins once per transaction and counts what each commit and abort held", async () => {
    const { calls, producer } = fakeProducer();
    const txn = new RunTransactions(producer);
    txn.ensureOpen();
    txn.ensureOpen();
    txn.add(300);
    await txn.commit(1000);
    txn.ensureOpen();
    txn.add(1);
    await txn.commit(1000);
    txn.ensureOpen();
    txn.add(150);
    await txn.abort(1000);
    expect(calls).toEqual(["begin", "commit", "begin", "commit", "begin", "abort"]);
    expect(txn.closingLine()).toBe(
      "committed 2 transactions, 301 records; aborted 1 transaction of 150 records (not committed)",
    );
  });

  it("says 'aborted 0' when nothing was aborted, and counts no transaction that held no record", async () => {
    const { producer } = fakeProducer();
    const txn = new RunTransactions(producer);
    txn.ensureOpen();
    txn.add(1);
    await txn.commit(1000);
    txn.ensureOpen();
    await txn.commit(1000);
    txn.ensureOpen();
    await txn.abort(1000);
    expect(txn.closingLine()).toBe("committed 1 transaction, 1 record; aborted 0");
    expect(txn.isOpen).toBe(false);
  });

  it("a failed commit leaves the transaction open, to be aborted; an abortable error is aborted", async () => {
    const abortable = new TransactionError("abortable", "RECORDS_FAILED", "1 record failed");
    const { calls, producer } = fakeProducer({ commit: abortable });
    const txn = new RunTransactions(producer);
    txn.ensureOpen();
    txn.add(20);
    const ended = await endTransactions(txn, { commit: true, failure: undefined, ...WAIT });
    expect(ended).toEqual({ failure: abortable, abortFailure: undefined });
    expect(calls).toEqual(["begin", "commit", "abort"]);
    expect(txn.closingLine()).toBe(
      "committed 0 transactions, 0 records; aborted 1 transaction of 20 records (not committed)",
    );
  });

  it("does not abort after a fatal error, and says the transaction was left to its coordinator", async () => {
    const fatal = new TransactionError("fatal", "PRODUCER_FENCED", "fenced");
    const { calls, producer } = fakeProducer({ commit: fatal });
    const txn = new RunTransactions(producer);
    txn.ensureOpen();
    txn.add(4);
    const ended = await endTransactions(txn, { commit: true, failure: undefined, ...WAIT });
    expect(ended.failure).toBe(fatal);
    expect(calls).toEqual(["begin", "commit"]);
    expect(txn.closingLine()).toBe(
      "committed 0 transactions, 0 records; aborted 0; left open: 1 transaction of 4 records (not committed; its coordinator aborts it)",
    );
  });

  it("a commit that gave up waiting has an unknown outcome: no abort, said in the CLI's words", async () => {
    const timedOut = new TransactionError(
      "retriable",
      "TIMED_OUT",
      "call commitTransaction() again",
    );
    const { calls, producer } = fakeProducer({ commit: timedOut });
    const txn = new RunTransactions(producer);
    txn.ensureOpen();
    txn.add(7);
    const ended = await endTransactions(txn, { commit: true, failure: undefined, ...WAIT });
    expect(ended.failure?.message).toBe("the commit took longer than 1 s: its outcome is unknown");
    expect((ended.failure as TransactionError).cause).toBe(timedOut);
    expect(calls).toEqual(["begin", "commit"]);
    expect(txn.closingLine()).toBe(
      "committed 0 transactions, 0 records; aborted 0; unknown: 1 transaction of 7 records (its commit did not finish in time)",
    );
  });

  it("after a signal or a failed record (no commit asked), aborts the open transaction; an abort that fails is returned", async () => {
    const refused = new TransactionError("fatal", "PRODUCER_FENCED", "fenced at abort");
    const { calls, producer } = fakeProducer({ abort: refused });
    const txn = new RunTransactions(producer);
    txn.ensureOpen();
    txn.add(3);
    const recordFailure = new Error("record failed");
    expect(shouldAbort(recordFailure, txn)).toBe(true);
    const ended = await endTransactions(txn, { commit: false, failure: recordFailure, ...WAIT });
    expect(ended).toEqual({ failure: recordFailure, abortFailure: refused });
    expect(calls).toEqual(["begin", "abort"]);
    expect(txn.isOpen).toBe(true);
  });

  it("does not abort with the producer closed by a security failure, nor with no transaction open", async () => {
    const { calls, producer } = fakeProducer();
    const txn = new RunTransactions(producer);
    const failure = new Error("SSL handshake failed");
    expect(shouldAbort(failure, txn)).toBe(false);
    txn.ensureOpen();
    txn.add(2);
    const ended = await endTransactions(txn, {
      commit: false,
      failure,
      producerClosed: true,
      ...WAIT,
    });
    expect(ended).toEqual({ failure, abortFailure: undefined });
    expect(calls).toEqual(["begin"]);
  });
});
