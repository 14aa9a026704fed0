/**
 * The transactional producer against the fake cluster's transaction
 * coordinator (test/helpers/fake-broker-txn.ts), for the timing and fault
 * cases a real broker cannot produce on demand: coordinators that move or
 * load, CONCURRENT_TRANSACTIONS, empty transactions, the v1 and v2 protocols
 * request by request, the coordinator's own abort, fencing, abortable
 * Produce errors, a call's timeout and a connection dropped under EndTxn.
 */
import { describe, expect, it } from "vitest";
import type { Producer } from "../../src/producer/producer.js";
import { TransactionError } from "../../src/producer/transaction-error.js";
import { ApiKey, apiName } from "../../src/protocol/api-keys.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import { CoordinatorType } from "../../src/protocol/find-coordinator.js";
import { closeAfterEach, fakeCluster, producer, sleep } from "../helpers/engine.js";
import type { FakeCluster, FakeClusterOptions, JournalEntry } from "../helpers/fake-broker.js";

closeAfterEach();

const TXN = "txn-1";

/** Three nodes; topic "t" with partitions led by nodes 1 and 2; the coordinator of TXN on node 2. */
async function cluster(options: FakeClusterOptions = {}): Promise<FakeCluster> {
  const c = await fakeCluster({
    nodes: 3,
    topics: [{ name: "t", partitions: 2, leaders: [1, 2] }],
    transactionVersion: 2,
    ...options,
  });
  c.moveCoordinator(TXN, 2);
  return c;
}

function txnProducer(
  c: FakeCluster,
  props: Record<string, string | number | boolean> = {},
  maxTransactionVersion: 1 | 2 = 2,
): Producer {
  return producer(c, { "transactional.id": TXN, ...props }, undefined, { maxTransactionVersion });
}

/** The rejection of `p`, which must reject with a TransactionError. */
async function txnError(p: Promise<unknown>): Promise<TransactionError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TransactionError);
  return err as TransactionError;
}

/** The error a synchronous call throws, which must be a TransactionError. */
function thrown(fn: () => unknown): TransactionError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TransactionError);
    return e as TransactionError;
  }
  throw new Error("did not throw");
}

const TXN_APIS: readonly number[] = [
  ApiKey.FindCoordinator,
  ApiKey.InitProducerId,
  ApiKey.AddPartitionsToTxn,
  ApiKey.AddOffsetsToTxn,
  ApiKey.TxnOffsetCommit,
  ApiKey.EndTxn,
];

/** The coordinator requests the cluster got: "Api@node=code" (FindCoordinator without its node). */
function coordinatorTrail(c: FakeCluster): string[] {
  return c.journal
    .filter((e) => TXN_APIS.includes(e.req.apiKey))
    .map(
      (e) =>
        `${apiName(e.req.apiKey)}${e.req.apiKey === ApiKey.FindCoordinator ? "" : `@${e.nodeId}`}=${e.errorCode ?? "-"}`,
    );
}

const values = (c: FakeCluster, partition = 0) =>
  c.log("t", partition).map((r) => r.value?.toString());
const committed = (c: FakeCluster, partition = 0) =>
  c.readCommitted("t", partition).map((r) => r.value?.toString());

/** The "topic:partition" names an AddPartitionsToTxn request adds. */
const addedPartitions = (e: JournalEntry): string[] =>
  e.req.apiKey === ApiKey.AddPartitionsToTxn
    ? e.req.body.topics.flatMap((t) => t.partitions.map((i) => `${t.name}:${i}`))
    : [];

/** The "topic:partition" names a Produce request carries. */
const producePartitions = (e: JournalEntry): string[] =>
  e.req.apiKey === ApiKey.Produce
    ? e.req.body.topicData.flatMap((t) => t.partitionData.map((p) => `${t.name}:${p.index}`))
    : [];

describe("coordinator failover", () => {
  it.each([
    ["NOT_COORDINATOR", ErrorCode.NOT_COORDINATOR],
    ["COORDINATOR_NOT_AVAILABLE", ErrorCode.COORDINATOR_NOT_AVAILABLE],
  ] as const)(
    "%s on InitProducerId, AddPartitionsToTxn and EndTxn: looked up again and retried on the new coordinator, which is loading once",
    async (_, code) => {
      const c = await cluster({ transactionVersion: 1 });
      const LOADING = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
      // Each API: the coordinator moves (2 -> 3 -> 1 -> 2) as the old one answers `code`;
      // the new one answers COORDINATOR_LOAD_IN_PROGRESS once.
      const moves = [
        [ApiKey.InitProducerId, 3],
        [ApiKey.AddPartitionsToTxn, 1],
        [ApiKey.EndTxn, 2],
      ] as const;
      for (const [apiKey, to] of moves) {
        c.inject({ apiKey, moveCoordinatorTo: to, errorCode: code });
        c.inject({ apiKey, nodeId: to, errorCode: LOADING });
      }
      const p = txnProducer(c);
      await p.initTransactions(10_000);
      p.beginTransaction();
      await p.send({ topic: "t", partition: 0, value: "a" });
      await p.commitTransaction(10_000);

      expect(p.transactionState).toEqual({ state: "ready", version: 1 });
      expect(committed(c)).toEqual(["a"]);
      expect(coordinatorTrail(c)).toEqual([
        "FindCoordinator=0",
        `InitProducerId@2=${code}`,
        "FindCoordinator=0",
        `InitProducerId@3=${LOADING}`,
        "InitProducerId@3=0",
        `AddPartitionsToTxn@3=${code}`,
        "FindCoordinator=0",
        `AddPartitionsToTxn@1=${LOADING}`,
        "AddPartitionsToTxn@1=0",
        `EndTxn@1=${code}`,
        "FindCoordinator=0",
        `EndTxn@2=${LOADING}`,
        "EndTxn@2=0",
      ]);
      // The partition's first Produce came after its AddPartitionsToTxn succeeded.
      const added = c.received(ApiKey.AddPartitionsToTxn).at(-1)!;
      expect(c.received(ApiKey.Produce)[0]!.at).toBeGreaterThanOrEqual(added.answeredAt!);
      expect(c.endedTransactions.map((t) => [t.commit, t.by, t.partitions])).toEqual([
        [true, "client", ["t:0"]],
      ]);
    },
  );
});

/**
 * The gaps between consecutive requests the fake saw: typically about 20 ms
 * (the median under 80 ms), none near retry.backoff.ms (500, so at least 400
 * with jitter; the bound leaves room for a loaded machine).
 */
function expectQuickRetries(requests: readonly JournalEntry[]): void {
  const gaps = requests.slice(1).map((e, i) => e.at - requests[i]!.at);
  expect(gaps.length).toBeGreaterThanOrEqual(3);
  const sorted = [...gaps].sort((a, b) => a - b);
  expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThan(80);
  expect(sorted.at(-1)).toBeLessThan(250);
}

describe("CONCURRENT_TRANSACTIONS", () => {
  it("is asked again after about 20 ms, well under retry.backoff.ms (500)", async () => {
    const c = await cluster({ transactionVersion: 1 });
    for (const apiKey of [ApiKey.InitProducerId, ApiKey.AddPartitionsToTxn, ApiKey.EndTxn]) {
      c.inject({ apiKey, errorCode: ErrorCode.CONCURRENT_TRANSACTIONS, times: 3 });
    }
    const p = txnProducer(c, { "retry.backoff.ms": 500, "retry.backoff.max.ms": 1000 });
    await p.initTransactions(10_000);
    p.beginTransaction();
    await p.send({ topic: "t", partition: 0, value: "a" });
    await p.commitTransaction(10_000);
    expect(committed(c)).toEqual(["a"]);
    for (const apiKey of [ApiKey.InitProducerId, ApiKey.AddPartitionsToTxn, ApiKey.EndTxn]) {
      const got = c.received(apiKey);
      const C = ErrorCode.CONCURRENT_TRANSACTIONS;
      expect([apiName(apiKey), got.map((e) => e.errorCode)]).toEqual([
        apiName(apiKey),
        [C, C, C, 0],
      ]);
      expectQuickRetries(got);
    }
  });

  it("while the previous transaction's markers are written, the next AddPartitionsToTxn is retried quickly until they are", async () => {
    const c = await cluster({ transactionVersion: 1, markerDelayMs: 300 });
    const p = txnProducer(c, { "retry.backoff.ms": 500, "retry.backoff.max.ms": 1000 });
    await p.initTransactions(10_000);
    p.beginTransaction();
    await p.send({ topic: "t", partition: 0, value: "a" });
    await p.commitTransaction(10_000);
    // EndTxn is answered once PrepareCommit is written; the markers take 300 ms more.
    expect(c.transaction(TXN)?.state).toBe("PrepareCommit");
    p.beginTransaction();
    await p.send({ topic: "t", partition: 0, value: "b" });
    await p.commitTransaction(10_000);
    const adds = c.received(ApiKey.AddPartitionsToTxn).slice(1);
    const busy = adds.filter((e) => e.errorCode === ErrorCode.CONCURRENT_TRANSACTIONS);
    expect(busy.length).toBeGreaterThanOrEqual(3);
    expect(adds.at(-1)!.errorCode).toBe(0);
    expectQuickRetries(adds);
    await sleep(350);
    expect(committed(c)).toEqual(["a", "b"]);
  });
});

describe.each([1, 2] as const)("empty transactions (transaction.version %i)", (tv) => {
  it("commit and abort with no record send nothing to the coordinator and succeed", async () => {
    const c = await cluster({ transactionVersion: tv });
    const p = txnProducer(c);
    await p.initTransactions(10_000);
    p.beginTransaction();
    await p.commitTransaction(10_000);
    p.beginTransaction();
    await p.abortTransaction(10_000);
    p.beginTransaction();
    await p.commitTransaction(10_000);
    expect(p.transactionState).toEqual({ state: "ready", version: tv });
    expect(coordinatorTrail(c)).toEqual(["FindCoordinator=0", "InitProducerId@2=0"]);
    expect(c.transaction(TXN)).toMatchObject({ state: "Empty", producerEpoch: 0 });
    // The producer goes on: a transaction with a record ends with one EndTxn.
    p.beginTransaction();
    await p.send({ topic: "t", partition: 1, value: "a" });
    await p.commitTransaction(10_000);
    expect(c.received(ApiKey.EndTxn).map((e) => [e.req.body.committed, e.errorCode])).toEqual([
      [true, 0],
    ]);
    expect(committed(c, 1)).toEqual(["a"]);
  });
});

describe("Transactions v1, request by request", () => {
  it.each([
    ["transaction.version 1", 1, 2],
    ["maxTransactionVersion 1 on a transaction.version 2 cluster", 2, 1],
  ] as const)(
    "%s: AddPartitionsToTxn before a partition's first Produce, once per partition and transaction",
    async (_, tv, max) => {
      const c = await cluster({ transactionVersion: tv });
      const p = txnProducer(c, {}, max);
      await p.initTransactions(10_000);
      for (const txn of ["x", "y"]) {
        p.beginTransaction();
        expect(p.transactionState).toEqual({ state: "in-transaction", version: 1 });
        for (let i = 0; i < 3; i++) await p.send({ topic: "t", partition: 0, value: `${txn}${i}` });
        await Promise.all([
          p.send({ topic: "t", partition: 1, value: `${txn}3` }),
          p.send({ topic: "t", partition: 0, value: `${txn}4` }),
          p.send({ topic: "t", partition: 1, value: `${txn}5` }),
        ]);
        await p.commitTransaction(10_000);
      }
      expect(committed(c, 0)).toEqual(["x0", "x1", "x2", "x4", "y0", "y1", "y2", "y4"]);
      expect(committed(c, 1)).toEqual(["x3", "x5", "y3", "y5"]);
      // Split the journal at each EndTxn: one transaction per part.
      const parts: JournalEntry[][] = [[]];
      for (const e of c.journal) {
        if (e.req.apiKey === ApiKey.EndTxn) parts.push([]);
        else parts.at(-1)!.push(e);
      }
      expect(parts).toHaveLength(3);
      for (const part of parts.slice(0, 2)) {
        const adds = part.filter((e) => e.req.apiKey === ApiKey.AddPartitionsToTxn);
        expect(adds.flatMap(addedPartitions).sort()).toEqual(["t:0", "t:1"]); // each once
        const produces = part.filter((e) => e.req.apiKey === ApiKey.Produce);
        expect(produces.length).toBeGreaterThanOrEqual(4);
        for (const produce of produces) {
          expect(produce.req.apiVersion).toBeLessThanOrEqual(11);
          for (const tp of producePartitions(produce)) {
            // Its AddPartitionsToTxn was answered (successfully) before the Produce arrived.
            const add = adds.find((e) => addedPartitions(e).includes(tp));
            expect(add?.errorCode).toBe(0);
            expect(add!.answeredAt!).toBeLessThanOrEqual(produce.at);
          }
        }
      }
      expect(c.received(ApiKey.EndTxn).map((e) => e.req.apiVersion <= 4)).toEqual([true, true]);
      expect(c.received(ApiKey.Produce).every((e) => e.errorCode === 0)).toBe(true);
    },
  );
});

describe("Transactions v2, request by request", () => {
  it("no AddPartitionsToTxn, Produce v12, EndTxn v5; the next transaction carries EndTxn's epoch from sequence 0", async () => {
    const c = await cluster();
    const p = txnProducer(c);
    await p.initTransactions(10_000);
    for (const txn of ["x", "y"]) {
      p.beginTransaction();
      expect(p.transactionState).toEqual({ state: "in-transaction", version: 2 });
      for (let i = 0; i < 3; i++) await p.send({ topic: "t", partition: 0, value: `${txn}${i}` });
      await p.send({ topic: "t", partition: 1, value: `${txn}3` });
      await p.commitTransaction(10_000);
    }
    expect(c.received(ApiKey.AddPartitionsToTxn)).toEqual([]);
    expect(c.received(ApiKey.Produce).map((e) => e.req.apiVersion)).toEqual(Array(8).fill(12));
    const ends = c.received(ApiKey.EndTxn);
    expect(ends.map((e) => [e.req.apiVersion, e.req.body.producerEpoch, e.errorCode])).toEqual([
      [5, 0, 0],
      [5, 1, 0],
    ]);
    const pid = c.transaction(TXN)!.producerId;
    expect(c.transaction(TXN)).toMatchObject({ state: "CompleteCommit", producerEpoch: 2 });
    expect(
      c.log("t", 0).map((r) => [r.value?.toString(), r.producerId, r.producerEpoch, r.sequence]),
    ).toEqual([
      ["x0", pid, 0, 0],
      ["x1", pid, 0, 1],
      ["x2", pid, 0, 2],
      ["y0", pid, 1, 0],
      ["y1", pid, 1, 1],
      ["y2", pid, 1, 2],
    ]);
    expect(c.log("t", 1).map((r) => [r.producerEpoch, r.sequence])).toEqual([
      [0, 0],
      [1, 0],
    ]);
    expect(committed(c, 0)).toEqual(["x0", "x1", "x2", "y0", "y1", "y2"]);
  });

  it("takes the new producer id EndTxn v5 answers when the epoch runs out", async () => {
    const c = await cluster({ firstProducerEpoch: 32766 });
    const p = txnProducer(c);
    await p.initTransactions(10_000);
    const first = c.transaction(TXN)!.producerId;
    p.beginTransaction();
    await p.send({ topic: "t", partition: 0, value: "a" });
    await p.commitTransaction(10_000);
    const second = c.transaction(TXN)!.producerId;
    expect(second).not.toBe(first);
    p.beginTransaction();
    await p.send({ topic: "t", partition: 0, value: "b" });
    await p.commitTransaction(10_000);
    expect(c.log("t", 0).map((r) => [r.producerId, r.producerEpoch, r.sequence])).toEqual([
      [first, 32766, 0],
      [second, 0, 0],
    ]);
    expect(committed(c)).toEqual(["a", "b"]);
  });
});

describe("the coordinator aborts the transaction itself (transaction.timeout.ms)", () => {
  it("v2: Produce gets INVALID_PRODUCER_EPOCH, commit fails abortable at once, abort recovers, the next transaction commits", async () => {
    const c = await cluster();
    const p = txnProducer(c, { "transaction.timeout.ms": 1000 });
    await p.initTransactions(10_000);
    p.beginTransaction();
    await p.send({ topic: "t", partition: 0, value: "a" });
    await sleep(1300);
    expect(c.endedTransactions.map((t) => [t.by, t.commit, t.producerEpoch])).toEqual([
      ["coordinator", false, 1],
    ]);
    const late = await p.send({ topic: "t", partition: 0, value: "b" }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(late).toMatchObject({ code: ErrorCode.INVALID_PRODUCER_EPOCH });
    const t0 = Date.now();
    const err = await txnError(p.commitTransaction(10_000));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect([err.kind, err.code]).toEqual(["abortable", "INVALID_PRODUCER_EPOCH"]);
    expect(p.transactionState?.state).toBe("abortable-error");
    await p.abortTransaction(10_000);
    expect(p.transactionState?.state).toBe("ready");
    // The abort's EndTxn carries the old epoch: a retry of the coordinator's abort, answered with the new one.
    expect(
      c
        .received(ApiKey.EndTxn)
        .map((e) => [e.req.body.committed, e.req.body.producerEpoch, e.errorCode]),
    ).toEqual([[false, 0, 0]]);
    p.beginTransaction();
    await p.send({ topic: "t", partition: 0, value: "c" });
    await p.commitTransaction(10_000);
    expect(values(c)).toEqual(["a", "c"]);
    expect(committed(c)).toEqual(["c"]);
    expect(c.log("t", 0).map((r) => [r.producerEpoch, r.sequence])).toEqual([
      [0, 0],
      [1, 0],
    ]);
  });

  it("v1: the same abort finds the producer fenced, as a real broker answers (the old epoch is forgotten)", async () => {
    const c = await cluster({ transactionVersion: 1 });
    const p = txnProducer(c, { "transaction.timeout.ms": 1000 });
    await p.initTransactions(10_000);
    p.beginTransaction();
    await p.send({ topic: "t", partition: 0, value: "a" });
    await sleep(1300);
    await expect(p.send({ topic: "t", partition: 0, value: "b" })).rejects.toMatchObject({
      code: ErrorCode.INVALID_PRODUCER_EPOCH,
    });
    const err = await txnError(p.commitTransaction(10_000));
    expect([err.kind, err.code]).toEqual(["abortable", "INVALID_PRODUCER_EPOCH"]);
    const abort = await txnError(p.abortTransaction(10_000));
    expect([abort.kind, abort.code]).toEqual(["fatal", "PRODUCER_FENCED"]);
    expect(p.transactionState?.state).toBe("fatal-error");
    expect(committed(c)).toEqual([]);
  });
});

describe("EndTxn(commit) refused", () => {
  it("v1: INVALID_PRODUCER_EPOCH is abortable; abort ends the transaction and bumps the epoch; the next commits", async () => {
    const c = await cluster({ transactionVersion: 1 });
    c.inject({ apiKey: ApiKey.EndTxn, errorCode: ErrorCode.INVALID_PRODUCER_EPOCH });
    const p = txnProducer(c);
    await p.initTransactions(10_000);
    p.beginTransaction();
    await p.send({ topic: "t", partition: 0, value: "a" });
    const err = await txnError(p.commitTransaction(10_000));
    expect([err.kind, err.code]).toEqual(["abortable", "INVALID_PRODUCER_EPOCH"]);
    expect(p.transactionState?.state).toBe("abortable-error");
    // Abortable: produce() and commit are refused with it until the abort.
    expect(thrown(() => p.produce({ topic: "t", value: "x" })).kind).toBe("abortable");
    await p.abortTransaction(10_000);
    // EndTxn(abort), then InitProducerId with the current id and epoch (KIP-360).
    const pid = c.transaction(TXN)!.producerId;
    expect(coordinatorTrail(c).slice(-3)).toEqual([
      `EndTxn@2=${ErrorCode.INVALID_PRODUCER_EPOCH}`,
      "EndTxn@2=0",
      "InitProducerId@2=0",
    ]);
    expect(c.received(ApiKey.InitProducerId).at(-1)!.req.body).toMatchObject({
      producerId: pid,
      producerEpoch: 0,
    });
    p.beginTransaction();
    await p.send({ topic: "t", partition: 0, value: "b" });
    await p.commitTransaction(10_000);
    expect(committed(c)).toEqual(["b"]);
    expect(c.log("t", 0).map((r) => [r.value?.toString(), r.producerEpoch, r.sequence])).toEqual([
      ["a", 0, 0],
      ["b", 1, 0],
    ]);
  });

  it("v2: a commit racing the coordinator's own abort (INVALID_PRODUCER_EPOCH) is abortable; the abort gets the new epoch", async () => {
    const c = await cluster();
    let raced = false;
    c.broker(2).intercept((req) => {
      if (raced || req.apiKey !== ApiKey.EndTxn || !req.body.committed) return undefined;
      raced = true;
      c.abortTransaction(TXN); // the timeout struck just before
      return { errorCode: ErrorCode.INVALID_PRODUCER_EPOCH };
    });
    const p = txnProducer(c);
    await p.initTransactions(10_000);
    p.beginTransaction();
    await p.send({ topic: "t", partition: 0, value: "a" });
    const err = await txnError(p.commitTransaction(10_000));
    expect([err.kind, err.code]).toEqual(["abortable", "INVALID_PRODUCER_EPOCH"]);
    await p.abortTransaction(10_000);
    expect(
      c
        .received(ApiKey.EndTxn)
        .map((e) => [e.req.body.committed, e.req.body.producerEpoch, e.errorCode]),
    ).toEqual([
      [true, 0, ErrorCode.INVALID_PRODUCER_EPOCH],
      [false, 0, 0],
    ]);
    p.beginTransaction();
    await p.send({ topic: "t", partition: 0, value: "b" });
    await p.commitTransaction(10_000);
    expect(committed(c)).toEqual(["b"]);
    expect(c.endedTransactions.map((t) => [t.by, t.commit, t.producerEpoch])).toEqual([
      ["coordinator", false, 1],
      ["client", true, 2],
    ]);
  });

  it.each([1, 2] as const)(
    "transaction.version %i: PRODUCER_FENCED is fatal; produce() throws it and every call rejects with it",
    async (tv) => {
      const c = await cluster({ transactionVersion: tv });
      c.inject({ apiKey: ApiKey.EndTxn, errorCode: ErrorCode.PRODUCER_FENCED });
      const p = txnProducer(c);
      await p.initTransactions(10_000);
      p.beginTransaction();
      await p.send({ topic: "t", partition: 0, value: "a" });
      const err = await txnError(p.commitTransaction(10_000));
      expect([err.kind, err.code]).toEqual(["fatal", "PRODUCER_FENCED"]);
      expect(p.transactionState?.state).toBe("fatal-error");
      expect(thrown(() => p.produce({ topic: "t", value: "b" }))).toMatchObject({
        kind: "fatal",
        code: "PRODUCER_FENCED",
      });
      expect(thrown(() => p.beginTransaction()).kind).toBe("fatal");
      for (const call of [
        () => p.commitTransaction(1000),
        () => p.abortTransaction(1000),
        () => p.send({ topic: "t", value: "c" }),
      ]) {
        expect((await txnError(call())).kind).toBe("fatal");
      }
      expect(c.received(ApiKey.EndTxn)).toHaveLength(1);
      expect(committed(c)).toEqual([]);
    },
  );
});

describe.each([1, 2] as const)(
  "TRANSACTION_ABORTABLE from Produce (transaction.version %i)",
  (tv) => {
    it("makes the transaction abortable; the abort recovers and the next transaction commits", async () => {
      const c = await cluster({ transactionVersion: tv });
      c.inject({ apiKey: ApiKey.Produce, errorCode: ErrorCode.TRANSACTION_ABORTABLE });
      const p = txnProducer(c);
      await p.initTransactions(10_000);
      p.beginTransaction();
      await expect(p.send({ topic: "t", partition: 0, value: "a" })).rejects.toMatchObject({
        code: ErrorCode.TRANSACTION_ABORTABLE,
      });
      expect(p.transactionState?.state).toBe("abortable-error");
      const err = await txnError(p.commitTransaction(10_000));
      expect([err.kind, err.code]).toEqual(["abortable", "TRANSACTION_ABORTABLE"]);
      await p.abortTransaction(10_000);
      expect(p.transactionState?.state).toBe("ready");
      p.beginTransaction();
      await p.send({ topic: "t", partition: 0, value: "b" });
      await p.commitTransaction(10_000);
      expect(committed(c)).toEqual(["b"]);
      // The refused batch was not retried; the next transaction's epoch is newer, from sequence 0.
      expect(c.received(ApiKey.Produce).map((e) => e.errorCode)).toEqual([
        ErrorCode.TRANSACTION_ABORTABLE,
        0,
      ]);
      expect(c.log("t", 0).map((r) => [r.producerEpoch, r.sequence])).toEqual([[1, 0]]);
    });
  },
);

describe("a call's timeout", () => {
  it.each([1, 2] as const)(
    "transaction.version %i: commitTransaction(50) under a delayed EndTxn rejects retriable; calling again waits for the same EndTxn",
    async (tv) => {
      const c = await cluster({ transactionVersion: tv });
      c.inject({ apiKey: ApiKey.EndTxn, delayMs: 600 });
      const p = txnProducer(c);
      await p.initTransactions(10_000);
      p.beginTransaction();
      await p.send({ topic: "t", partition: 0, value: "a" });
      const t0 = Date.now();
      const err = await txnError(p.commitTransaction(50));
      expect([err.kind, err.code]).toEqual(["retriable", "TIMED_OUT"]);
      expect(Date.now() - t0).toBeLessThan(500);
      expect(p.transactionState?.state).toBe("committing");
      // Another call of another operation is refused meanwhile.
      expect((await txnError(p.abortTransaction(1000))).kind).toBe("state");
      await p.commitTransaction(10_000);
      const ends = c.received(ApiKey.EndTxn);
      expect(ends).toHaveLength(1);
      expect(ends[0]!.answeredAt! - ends[0]!.at).toBeGreaterThanOrEqual(590);
      expect(p.transactionState?.state).toBe("ready");
      expect(committed(c)).toEqual(["a"]);
      expect(c.endedTransactions).toHaveLength(1);
    },
  );
});

describe("an abort with nothing queued", () => {
  it.each([1, 2] as const)(
    "transaction.version %i: a record produce() refused is not counted: no new epoch is asked for",
    async (tv) => {
      const c = await cluster({ transactionVersion: tv });
      const p = txnProducer(c, { "message.max.bytes": 1000 });
      await p.initTransactions(10_000);
      p.beginTransaction();
      expect(() => p.produce({ topic: "t", partition: 0, value: "x".repeat(5000) })).toThrow(
        /MSG_SIZE_TOO_LARGE|message.max.bytes/,
      );
      await p.abortTransaction(10_000);
      expect(c.received(ApiKey.InitProducerId)).toHaveLength(1);
      expect(c.received(ApiKey.EndTxn)).toHaveLength(0);
    },
  );
});

describe("a call that timed out and finished since", () => {
  it("is reported to the same call made again, not refused as out of state", async () => {
    const c = await cluster({ transactionVersion: 2 });
    c.inject({ apiKey: ApiKey.EndTxn, delayMs: 300 });
    const p = txnProducer(c);
    await p.initTransactions(10_000);
    p.beginTransaction();
    await p.send({ topic: "t", partition: 0, value: "a" });
    expect((await txnError(p.commitTransaction(50))).kind).toBe("retriable");
    // The delayed EndTxn is answered and the commit completes before the caller returns.
    await new Promise((r) => setTimeout(r, 600));
    expect(p.transactionState?.state).toBe("ready");
    await p.commitTransaction(1000);
    expect(c.received(ApiKey.EndTxn)).toHaveLength(1);
    expect(committed(c)).toEqual(["a"]);
    // Claimed once: a third call is out of state again.
    expect((await txnError(p.commitTransaction(1000))).kind).toBe("state");
  });
});

describe("the coordinator's connection dropped under EndTxn", () => {
  it.each([
    [1, "after"],
    [2, "after"],
    [1, "before"],
    [2, "before"],
  ] as const)(
    "transaction.version %i, dropped %s applying: retried, committed once, reported once",
    async (tv, when) => {
      const c = await cluster({ transactionVersion: tv });
      c.inject({ apiKey: ApiKey.EndTxn, closeConnection: when });
      const p = txnProducer(c);
      await p.initTransactions(10_000);
      p.beginTransaction();
      const reports: string[] = [];
      p.produce({ topic: "t", partition: 0, value: "a" }, (e) =>
        reports.push(e ? e.message : "ok"),
      );
      let outcomes = 0;
      await p.commitTransaction(10_000).then(() => outcomes++);
      expect(outcomes).toBe(1);
      expect(reports).toEqual(["ok"]);
      const ends = c.received(ApiKey.EndTxn);
      expect(
        ends.map((e) => [e.req.body.committed, e.req.body.producerEpoch, e.errorCode]),
      ).toEqual([
        [true, 0, undefined],
        [true, 0, 0],
      ]);
      expect(c.endedTransactions.map((t) => [t.by, t.commit])).toEqual([["client", true]]);
      expect(c.markers("t", 0)).toHaveLength(1);
      // The next transaction goes on with the epoch the protocol gives (v2: the retry's answer).
      p.beginTransaction();
      await p.send({ topic: "t", partition: 0, value: "b" });
      await p.commitTransaction(10_000);
      expect(committed(c)).toEqual(["a", "b"]);
      expect(c.log("t", 0).map((r) => r.producerEpoch)).toEqual(tv === 2 ? [0, 1] : [0, 0]);
    },
  );
});

describe.each([1, 2] as const)("offsets in the transaction (transaction.version %i)", (tv) => {
  it("AddOffsetsToTxn (v1 only) then TxnOffsetCommit at the group's coordinator, found again when it moves; they count on commit only", async () => {
    const c = await cluster({ transactionVersion: tv });
    c.moveCoordinator("g", 3, CoordinatorType.GROUP);
    c.inject({ apiKey: ApiKey.TxnOffsetCommit, moveCoordinatorTo: 1 });
    const p = txnProducer(c);
    await p.initTransactions(10_000);
    p.beginTransaction();
    await p.send({ topic: "t", partition: 0, value: "a" });
    await p.sendOffsetsToTransaction(
      [{ topic: "in", partition: 0, offset: 7 }],
      { groupId: "g" },
      10_000,
    );
    expect(c.committedOffsets("g").size).toBe(0);
    await p.commitTransaction(10_000);
    expect(c.committedOffsets("g")).toEqual(new Map([["in:0", 7]]));
    p.beginTransaction();
    await p.sendOffsetsToTransaction(
      [{ topic: "in", partition: 0, offset: 9 }],
      { groupId: "g" },
      10_000,
    );
    await p.abortTransaction(10_000);
    expect(c.committedOffsets("g")).toEqual(new Map([["in:0", 7]]));
    const commits = c.received(ApiKey.TxnOffsetCommit);
    expect(commits.map((e) => [e.nodeId, e.errorCode])).toEqual([
      [3, ErrorCode.NOT_COORDINATOR],
      [1, 0],
      [1, 0],
    ]);
    expect(commits.every((e) => (tv === 2 ? e.req.apiVersion === 5 : e.req.apiVersion <= 4))).toBe(
      true,
    );
    const addOffsets = c.received(ApiKey.AddOffsetsToTxn);
    if (tv === 2) expect(addOffsets).toEqual([]);
    else {
      // Each transaction's AddOffsetsToTxn was answered before its TxnOffsetCommit arrived.
      expect(addOffsets.map((e) => e.req.body.groupId)).toEqual(["g", "g"]);
      expect(addOffsets[0]!.answeredAt!).toBeLessThanOrEqual(commits[0]!.at);
      expect(addOffsets[1]!.answeredAt!).toBeLessThanOrEqual(commits[2]!.at);
    }
    expect(c.endedTransactions.map((t) => [t.commit, t.groups])).toEqual([
      [true, ["g"]],
      [false, ["g"]],
    ]);
  });
});

describe("ordering against Produce", () => {
  it.each([1, 2] as const)(
    "transaction.version %i: EndTxn(abort) waits for a Produce still out, so no record lands after the markers",
    async (tv) => {
      const c = await cluster({ transactionVersion: tv });
      c.inject({ apiKey: ApiKey.Produce, delayMs: 300 });
      const p = txnProducer(c);
      await p.initTransactions(10_000);
      p.beginTransaction();
      const sent = p.send({ topic: "t", partition: 0, value: "a" }).then(
        () => "ok",
        (e: Error) => e.message,
      );
      // The Produce is out (its answer held 300 ms) before the abort begins.
      while (c.received(ApiKey.Produce).length === 0) await sleep(5);
      await p.abortTransaction(10_000);
      expect(await sent).toBe("ok");
      const [produce] = c.received(ApiKey.Produce);
      const [end] = c.received(ApiKey.EndTxn);
      expect(end!.req.body.committed).toBe(false);
      expect(end!.at).toBeGreaterThanOrEqual(produce!.answeredAt!);
      expect(c.markers("t", 0).map((m) => m.offset)).toEqual([1]);
      expect(values(c)).toEqual(["a"]);
      expect(committed(c)).toEqual([]);
    },
  );

  it("initTransactions(50) under a delayed InitProducerId rejects retriable; the next call waits for the same request", async () => {
    const c = await cluster();
    c.inject({ apiKey: ApiKey.InitProducerId, delayMs: 400 });
    const p = txnProducer(c);
    const err = await txnError(p.initTransactions(50));
    expect([err.kind, err.code]).toEqual(["retriable", "TIMED_OUT"]);
    expect(p.transactionState?.state).toBe("initializing");
    await p.initTransactions(10_000);
    expect(p.transactionState?.state).toBe("ready");
    expect(c.received(ApiKey.InitProducerId)).toHaveLength(1);
  });
});

describe("abort while AddPartitionsToTxn is out (v1)", () => {
  it("waits for its answer and ends the transaction it opened, instead of being fenced", async () => {
    const c = await cluster({ transactionVersion: 1 });
    c.inject({ apiKey: ApiKey.AddPartitionsToTxn, delayMs: 300 });
    const p = txnProducer(c);
    await p.initTransactions(10_000);
    p.beginTransaction();
    const sent = p.send({ topic: "t", partition: 0, value: "a" }).then(
      () => "ok",
      (e: Error) => e.message,
    );
    // The AddPartitionsToTxn is out (its answer held 300 ms) before the abort begins.
    while (c.received(ApiKey.AddPartitionsToTxn).length === 0) await sleep(5);
    await p.abortTransaction(10_000);
    expect(await sent).toMatch(/TRANSACTION_ABORTED|aborted/);
    expect(p.transactionState?.state).toBe("ready");
    // The coordinator saw the partition join, then the abort from the producer itself
    // (EndTxn), then the epoch bump: no InitProducerId met the open transaction.
    expect(c.endedTransactions.map((t) => [t.by, t.commit, t.partitions])).toEqual([
      ["client", false, ["t:0"]],
    ]);
    expect(coordinatorTrail(c)).toEqual([
      "FindCoordinator=0",
      "InitProducerId@2=0",
      "AddPartitionsToTxn@2=0",
      "EndTxn@2=0",
      "InitProducerId@2=0",
    ]);
    p.beginTransaction();
    await p.send({ topic: "t", partition: 0, value: "b" });
    await p.commitTransaction(10_000);
    expect(committed(c)).toEqual(["b"]);
  });
});

describe("a coordinator that crashes", () => {
  it.each([1, 2] as const)(
    "transaction.version %i: EndTxn goes to the next coordinator once FindCoordinator names one",
    async (tv) => {
      const c = await cluster({ transactionVersion: tv });
      const p = txnProducer(c);
      await p.initTransactions(10_000);
      p.beginTransaction();
      await p.send({ topic: "t", partition: 0, value: "a" });
      await c.broker(2).stop();
      const commit = p.commitTransaction(10_000);
      await sleep(300);
      // Meanwhile FindCoordinator says COORDINATOR_NOT_AVAILABLE (node 2 is down).
      const lookups = c.received(ApiKey.FindCoordinator).slice(1);
      expect(lookups.length).toBeGreaterThanOrEqual(1);
      expect(lookups.every((e) => e.errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE)).toBe(true);
      c.moveCoordinator(TXN, 3);
      await commit;
      expect(c.received(ApiKey.EndTxn).map((e) => [e.nodeId, e.errorCode])).toEqual([[3, 0]]);
      expect(committed(c)).toEqual(["a"]);
    },
  );
});

describe("Transactions v2: the next transaction's first Produce while the markers are written", () => {
  it("is answered NOT_ENOUGH_REPLICAS (the leader's CONCURRENT_TRANSACTIONS) and retried until they are", async () => {
    const c = await cluster({ markerDelayMs: 300 });
    const p = txnProducer(c);
    await p.initTransactions(10_000);
    p.beginTransaction();
    await p.send({ topic: "t", partition: 0, value: "a" });
    await p.commitTransaction(10_000);
    p.beginTransaction();
    await p.send({ topic: "t", partition: 0, value: "b" });
    await p.commitTransaction(10_000);
    const codes = c.received(ApiKey.Produce).map((e) => e.errorCode);
    expect(codes[0]).toBe(0);
    expect(codes.slice(1, -1).every((code) => code === ErrorCode.NOT_ENOUGH_REPLICAS)).toBe(true);
    expect(codes.length).toBeGreaterThanOrEqual(3);
    expect(codes.at(-1)).toBe(0);
    await sleep(350);
    expect(committed(c)).toEqual(["a", "b"]);
    expect(c.log("t", 0).map((r) => [r.producerEpoch, r.sequence])).toEqual([
      [0, 0],
      [1, 0],
    ]);
  });
});

describe.each([1, 2] as const)(
  "a newer instance with the same transactional.id (transaction.version %i)",
  (tv) => {
    it("fences the older one: its open transaction is aborted, it ends fatal, the newer commits", async () => {
      const c = await cluster({ transactionVersion: tv });
      const old = txnProducer(c);
      await old.initTransactions(10_000);
      old.beginTransaction();
      await old.send({ topic: "t", partition: 0, value: "old-1" });
      const next = txnProducer(c);
      await next.initTransactions(10_000);
      // The coordinator aborted the old transaction while fencing (CONCURRENT_TRANSACTIONS, then a retry).
      expect(c.received(ApiKey.InitProducerId).map((e) => e.errorCode)).toEqual([
        0,
        ErrorCode.CONCURRENT_TRANSACTIONS,
        0,
      ]);
      await expect(old.send({ topic: "t", partition: 0, value: "old-2" })).rejects.toMatchObject({
        code: ErrorCode.INVALID_PRODUCER_EPOCH,
      });
      expect((await txnError(old.commitTransaction(10_000))).kind).toBe("abortable");
      const fenced = await txnError(old.abortTransaction(10_000));
      expect([fenced.kind, fenced.code]).toEqual(["fatal", "PRODUCER_FENCED"]);
      next.beginTransaction();
      await next.send({ topic: "t", partition: 0, value: "new" });
      await next.commitTransaction(10_000);
      expect(committed(c)).toEqual(["new"]);
      expect(values(c)).toEqual(["old-1", "new"]);
    });
  },
);
