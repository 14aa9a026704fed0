/**
 * The fake cluster's transaction coordinator (test/helpers/fake-broker-txn.ts)
 * over raw sockets: coordinator lookup, producer ids and epochs, the v1 and v2
 * protocols, markers, the coordinator's own abort, offsets, and the cluster's
 * injected faults and journal.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ApiKey } from "../../src/protocol/api-keys.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import { CoordinatorType } from "../../src/protocol/find-coordinator.js";
import {
  type FakeCluster,
  type FakeClusterOptions,
  startFakeCluster,
} from "../helpers/fake-broker.js";
import {
  addOffsetsToTxn,
  addPartitionsToTxn,
  apiVersions,
  batch,
  connect,
  endTxn,
  findCoordinator,
  initProducerId,
  produce,
  type TxnIdentity,
  txnOffsetCommit,
} from "../helpers/fake-broker-requests.js";
import type { RawClient } from "../helpers/raw-client.js";

const clusters: FakeCluster[] = [];
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(clusters.splice(0).map((c) => c.close()));
});

async function start(options: FakeClusterOptions = {}): Promise<FakeCluster> {
  const cluster = await startFakeCluster({
    nodes: 2,
    topics: [{ name: "t", partitions: 2, leaders: [1, 1] }],
    transactionVersion: 2,
    ...options,
  });
  clusters.push(cluster);
  return cluster;
}

async function client(c: FakeCluster, nodeId: number): Promise<RawClient> {
  const raw = await connect(c.broker(nodeId));
  clients.push(raw);
  return raw;
}

/** A connection to the coordinator of `txnId`. */
const coordinator = (c: FakeCluster, txnId: string) => client(c, c.coordinatorOf(txnId));

async function init(c: RawClient, txnId: string, timeoutMs = 60000): Promise<TxnIdentity> {
  const res = await initProducerId(c, 5, -1, -1, txnId, timeoutMs);
  expect(res.errorCode).toBe(0);
  return { transactionalId: txnId, producerId: res.producerId, producerEpoch: res.producerEpoch };
}

/** A transactional Produce of one record to t-<partition>. */
function txnProduce(
  c: RawClient,
  id: TxnIdentity,
  seq: number,
  version: number,
  partition = 0,
  epoch = id.producerEpoch,
) {
  return produce(c, batch(seq, 1, id.producerId, epoch, true), {
    topic: "t",
    partition,
    version,
    transactionalId: id.transactionalId,
  });
}

const partitionCode = (res: {
  resultsByTopic: { resultsByPartition: { partitionErrorCode: number }[] }[];
}) => res.resultsByTopic.flatMap((t) => t.resultsByPartition.map((p) => p.partitionErrorCode));

describe("fake transaction coordinator: lookup", () => {
  it("advertises the coordinator's APIs and transaction.version only when asked to", async () => {
    const plain = await start({ transactionVersion: undefined });
    const none = await apiVersions(await client(plain, 1), 3);
    expect(none.apiKeys.map((k) => k.apiKey)).not.toContain(ApiKey.FindCoordinator);
    expect(none.finalizedFeatures).toEqual([]);
    // Without transactions no journal is kept unless asked for.
    expect(plain.journal).toEqual([]);
    const kept = await start({ transactionVersion: undefined, journal: true });
    await apiVersions(await client(kept, 1), 3);
    expect(kept.received(ApiKey.ApiVersions)).toHaveLength(1);
    const v2 = await apiVersions(await client(await start(), 1), 3);
    expect(v2.apiKeys).toEqual(
      expect.arrayContaining([
        { apiKey: ApiKey.FindCoordinator, minVersion: 0, maxVersion: 6 },
        { apiKey: ApiKey.EndTxn, minVersion: 0, maxVersion: 5 },
        { apiKey: ApiKey.AddPartitionsToTxn, minVersion: 0, maxVersion: 3 },
      ]),
    );
    expect(v2.finalizedFeatures).toEqual([
      { name: "transaction.version", maxVersionLevel: 2, minVersionLevel: 2 },
    ]);
    const v0 = await apiVersions(await client(await start({ transactionVersion: 0 }), 1), 3);
    expect(v0.finalizedFeatures).toEqual([]);
    expect(v0.supportedFeatures).toEqual([
      { name: "transaction.version", minVersion: 0, maxVersion: 2 },
    ]);
  });

  it("FindCoordinator (one key below v4, several from v4); moved and stopped coordinators", async () => {
    const fake = await start();
    const c = await client(fake, 1);
    fake.moveCoordinator("a", 2);
    fake.moveCoordinator("g", 1, CoordinatorType.GROUP);
    const b2 = fake.broker(2);
    expect((await findCoordinator(c, 1, ["a"])).coordinators).toEqual([
      { key: "a", nodeId: 2, host: b2.host, port: b2.port, errorCode: 0, errorMessage: null },
    ]);
    const many = await findCoordinator(c, 4, ["a", ""]);
    expect(many.coordinators.map((k) => [k.key, k.nodeId, k.errorCode])).toEqual([
      ["a", 2, 0],
      ["", -1, ErrorCode.INVALID_REQUEST],
    ]);
    expect(
      (await findCoordinator(c, 6, ["g"], CoordinatorType.GROUP)).coordinators[0]!.nodeId,
    ).toBe(1);
    // The node that does not coordinate "a" says so.
    expect((await initProducerId(c, 5, -1, -1, "a")).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    await b2.stop();
    expect((await findCoordinator(c, 3, ["a"])).coordinators[0]!.errorCode).toBe(
      ErrorCode.COORDINATOR_NOT_AVAILABLE,
    );
  });
});

describe("fake transaction coordinator: producer ids and epochs", () => {
  it("bumps the epoch per init; KIP-360 bumps, retries and fencing with an id and epoch", async () => {
    const fake = await start();
    const c = await coordinator(fake, "x");
    const first = await init(c, "x");
    expect(first).toMatchObject({ producerId: 1000, producerEpoch: 0 });
    expect((await init(c, "x")).producerEpoch).toBe(1);
    // With the current id and epoch: the next epoch; the same request again (a retry): the same.
    const bumped = await initProducerId(c, 5, 1000, 1, "x");
    expect(bumped).toMatchObject({ errorCode: 0, producerId: 1000, producerEpoch: 2 });
    expect(await initProducerId(c, 5, 1000, 1, "x")).toMatchObject({ producerEpoch: 2 });
    // An older epoch than that: fenced (INVALID_PRODUCER_EPOCH below v4).
    expect((await initProducerId(c, 5, 1000, 0, "x")).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
    expect((await initProducerId(c, 3, 1000, 0, "x")).errorCode).toBe(
      ErrorCode.INVALID_PRODUCER_EPOCH,
    );
    expect((await initProducerId(c, 5, 1000, -1, "x")).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await initProducerId(c, 5, -1, -1, "x", 1_000_000)).errorCode).toBe(
      ErrorCode.INVALID_TRANSACTION_TIMEOUT,
    );
    expect(fake.transaction("x")).toMatchObject({ state: "Empty", producerEpoch: 2 });
  });

  it("an exhausted epoch gets a new producer id", async () => {
    const fake = await start({ firstProducerEpoch: 32766 });
    const c = await coordinator(fake, "x");
    const first = await init(c, "x");
    expect(first.producerEpoch).toBe(32766);
    const next = await initProducerId(c, 5, first.producerId, 32766, "x");
    expect(next).toMatchObject({
      errorCode: 0,
      producerId: first.producerId + 1,
      producerEpoch: 0,
    });
  });

  it("InitProducerId during a transaction aborts it (CONCURRENT_TRANSACTIONS), the retry bumps again", async () => {
    const fake = await start();
    const c = await coordinator(fake, "x");
    const id = await init(c, "x");
    expect(
      partitionCode(await addPartitionsToTxn(c, 3, id, [{ name: "t", partitions: [0] }])),
    ).toEqual([0]);
    const during = await initProducerId(c, 5, -1, -1, "x");
    expect(during.errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect(fake.endedTransactions).toEqual([
      {
        transactionalId: "x",
        producerId: id.producerId,
        producerEpoch: 1,
        commit: false,
        by: "coordinator",
        partitions: ["t:0"],
        groups: [],
      },
    ]);
    expect(fake.markers("t", 0)).toEqual([
      { offset: 0, producerId: id.producerId, producerEpoch: 1, commit: false },
    ]);
    expect((await init(c, "x")).producerEpoch).toBe(2);
  });
});

describe("fake transaction coordinator: Transactions v1", () => {
  it("a partition joins before its records; commit markers; read_committed; retries and wrong outcomes", async () => {
    const fake = await start({ transactionVersion: 1 });
    const c = await coordinator(fake, "x");
    const leader = await client(fake, 1);
    const id = await init(c, "x");
    // Not added yet: refused (TRANSACTION_ABORTABLE from Produce v11, INVALID_TXN_STATE before).
    expect((await txnProduce(leader, id, 0, 11)).errorCode).toBe(ErrorCode.TRANSACTION_ABORTABLE);
    expect((await txnProduce(leader, id, 0, 10)).errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    // Produce v12 does not add it either below transaction.version 2.
    expect((await txnProduce(leader, id, 0, 12)).errorCode).toBe(ErrorCode.TRANSACTION_ABORTABLE);
    // Empty: nothing to end.
    expect((await endTxn(c, 4, id, true)).errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(
      partitionCode(await addPartitionsToTxn(c, 3, id, [{ name: "t", partitions: [0] }])),
    ).toEqual([0]);
    expect(
      partitionCode(
        await addPartitionsToTxn(c, 3, id, [
          { name: "nope", partitions: [0] },
          { name: "t", partitions: [1] },
        ]),
      ),
    ).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.OPERATION_NOT_ATTEMPTED]);
    expect((await txnProduce(leader, id, 0, 11)).errorCode).toBe(0);
    expect((await txnProduce(leader, id, 1, 11)).errorCode).toBe(0);
    expect(fake.readCommitted("t", 0)).toEqual([]);
    expect(fake.transaction("x")).toMatchObject({ state: "Ongoing", partitions: ["t:0"] });
    expect(await endTxn(c, 4, id, true)).toMatchObject({ errorCode: 0, producerId: -1 });
    expect(fake.markers("t", 0)).toEqual([
      { offset: 2, producerId: id.producerId, producerEpoch: id.producerEpoch, commit: true },
    ]);
    expect(fake.readCommitted("t", 0).map((r) => r.value?.toString())).toEqual(["v0", "v1"]);
    // A retry of the commit is answered NONE; an abort now is not.
    expect((await endTxn(c, 4, id, true)).errorCode).toBe(0);
    expect((await endTxn(c, 4, id, false)).errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    // The same epoch goes on, its sequences too; an aborted transaction stays invisible.
    expect(
      partitionCode(await addPartitionsToTxn(c, 3, id, [{ name: "t", partitions: [0] }])),
    ).toEqual([0]);
    expect((await txnProduce(leader, id, 2, 11)).errorCode).toBe(0);
    expect((await endTxn(c, 4, id, false)).errorCode).toBe(0);
    expect(fake.log("t", 0).map((r) => r.offset)).toEqual([0, 1, 3]);
    expect(fake.readCommitted("t", 0).map((r) => r.value?.toString())).toEqual(["v0", "v1"]);
    // A stale epoch: PRODUCER_FENCED (INVALID_PRODUCER_EPOCH below v2); another id: no mapping.
    const stale = { ...id, producerEpoch: id.producerEpoch - 1 };
    expect((await endTxn(c, 3, stale, true)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
    expect((await endTxn(c, 1, stale, true)).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect((await endTxn(c, 3, { ...id, producerId: 7 }, true)).errorCode).toBe(
      ErrorCode.INVALID_PRODUCER_ID_MAPPING,
    );
  });

  it("a transactional batch without a transactional id fails the whole request", async () => {
    const fake = await start();
    const c = await client(fake, 1);
    const res = await produce(c, batch(0, 1, 1000, 0, true), { topic: "t" });
    expect(res.errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    expect(fake.log("t", 0)).toEqual([]);
  });

  it("markerDelayMs: CONCURRENT_TRANSACTIONS (NOT_ENOUGH_REPLICAS for Produce) while markers are written", async () => {
    const fake = await start({ transactionVersion: 1, markerDelayMs: 300 });
    const c = await coordinator(fake, "x");
    const id = await init(c, "x");
    await addPartitionsToTxn(c, 3, id, [{ name: "t", partitions: [0] }]);
    expect((await txnProduce(await client(fake, 1), id, 0, 11)).errorCode).toBe(0);
    expect((await endTxn(c, 4, id, true)).errorCode).toBe(0);
    expect(fake.transaction("x")!.state).toBe("PrepareCommit");
    expect((await endTxn(c, 4, id, true)).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect(
      partitionCode(await addPartitionsToTxn(c, 3, id, [{ name: "t", partitions: [0] }])),
    ).toEqual([ErrorCode.CONCURRENT_TRANSACTIONS]);
    expect((await txnProduce(await client(fake, 1), id, 1, 11)).errorCode).toBe(
      ErrorCode.NOT_ENOUGH_REPLICAS,
    );
    expect(fake.markers("t", 0)).toEqual([]);
    await new Promise((r) => setTimeout(r, 400));
    expect(fake.transaction("x")!.state).toBe("CompleteCommit");
    expect(fake.markers("t", 0)).toHaveLength(1);
  });

  it("offsets: AddOffsetsToTxn then TxnOffsetCommit v4; they count once the transaction commits", async () => {
    const fake = await start({ transactionVersion: 1 });
    fake.moveCoordinator("x", 1);
    fake.moveCoordinator("g", 2, CoordinatorType.GROUP);
    const c = await client(fake, 1);
    const group = await client(fake, 2);
    const id = await init(c, "x");
    expect(
      (await txnOffsetCommit(c, 4, id, "g", "in", 5)).topics[0]!.partitions[0]!.errorCode,
    ).toBe(ErrorCode.NOT_COORDINATOR);
    const notAdded = await txnOffsetCommit(group, 4, id, "g", "in", 5);
    expect(notAdded.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.TRANSACTION_ABORTABLE);
    expect((await addOffsetsToTxn(c, 4, id, "g")).errorCode).toBe(0);
    expect(
      (await txnOffsetCommit(group, 4, id, "g", "in", 5)).topics[0]!.partitions[0]!.errorCode,
    ).toBe(0);
    expect(fake.committedOffsets("g")).toEqual(new Map());
    expect((await endTxn(c, 4, id, true)).errorCode).toBe(0);
    expect(fake.committedOffsets("g")).toEqual(new Map([["in:0", 5]]));
  });
});

describe("fake transaction coordinator: Transactions v2", () => {
  it("Produce v12 adds the partition; EndTxn v5 answers a bumped epoch; a retry gets it again", async () => {
    const fake = await start();
    const c = await coordinator(fake, "x");
    const leader = await client(fake, 1);
    const id = await init(c, "x");
    expect((await txnProduce(leader, id, 0, 12)).errorCode).toBe(0);
    expect(fake.transaction("x")).toMatchObject({ state: "Ongoing", partitions: ["t:0"] });
    const end = await endTxn(c, 5, id, true);
    expect(end).toMatchObject({ errorCode: 0, producerId: id.producerId, producerEpoch: 1 });
    // The markers carry the new epoch: the old one is fenced at the partition.
    expect(fake.markers("t", 0)).toEqual([
      { offset: 1, producerId: id.producerId, producerEpoch: 1, commit: true },
    ]);
    expect((await txnProduce(leader, id, 1, 12)).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(await endTxn(c, 5, id, true)).toMatchObject({ errorCode: 0, producerEpoch: 1 });
    // The next transaction: the new epoch from sequence 0.
    const next = { ...id, producerEpoch: 1 };
    expect((await txnProduce(leader, next, 0, 12)).errorCode).toBe(0);
    expect(
      (await txnOffsetCommit(await coordinator(fake, "g"), 5, next, "g", "in", 9)).topics[0]!
        .partitions[0]!.errorCode,
    ).toBe(0);
    expect(fake.transaction("x")).toMatchObject({ groups: ["g"] });
    expect(await endTxn(c, 5, next, false)).toMatchObject({ errorCode: 0, producerEpoch: 2 });
    expect(fake.committedOffsets("g").size).toBe(0);
    expect(fake.readCommitted("t", 0).map((r) => r.value?.toString())).toEqual(["v0"]);
    // Nothing added: an abort is an empty abort (a new epoch, no marker); a commit is refused,
    // so a v2 producer must not send it (KAFKA-18401).
    const after = { ...id, producerEpoch: 2 };
    expect((await endTxn(c, 5, after, true)).errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(await endTxn(c, 5, after, false)).toMatchObject({ errorCode: 0, producerEpoch: 3 });
    expect(fake.markers("t", 0)).toHaveLength(2);
  });
});

describe("fake transaction coordinator: its own abort (transaction timeout)", () => {
  it("aborts at transaction_timeout_ms under a fenced epoch; v1 is fenced, a v2 abort is a retry", async () => {
    const fake = await start({ transactionVersion: 1 });
    const c = await coordinator(fake, "x");
    const leader = await client(fake, 1);
    const id = await init(c, "x", 300);
    await addPartitionsToTxn(c, 3, id, [{ name: "t", partitions: [0] }]);
    expect((await txnProduce(leader, id, 0, 11)).errorCode).toBe(0);
    await new Promise((r) => setTimeout(r, 450));
    expect(fake.transaction("x")).toMatchObject({
      state: "CompleteAbort",
      producerEpoch: 1,
      lastProducerEpoch: -1,
    });
    expect(fake.endedTransactions.map((t) => [t.by, t.commit, t.producerEpoch])).toEqual([
      ["coordinator", false, 1],
    ]);
    expect((await txnProduce(leader, id, 1, 11)).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect((await endTxn(c, 4, id, false)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
    expect((await initProducerId(c, 5, id.producerId, id.producerEpoch, "x")).errorCode).toBe(
      ErrorCode.PRODUCER_FENCED,
    );
    // Under v2 the old epoch's EndTxn(abort) is a retry of the abort; a commit is fenced.
    const v2 = await start();
    const c2 = await coordinator(v2, "y");
    const id2 = await init(c2, "y");
    expect((await txnProduce(await client(v2, 1), id2, 0, 12)).errorCode).toBe(0);
    expect(v2.abortTransaction("y")).toBe(true);
    expect(v2.abortTransaction("y")).toBe(false);
    expect((await endTxn(c2, 5, id2, true)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
    expect(await endTxn(c2, 5, id2, false)).toMatchObject({ errorCode: 0, producerEpoch: 1 });
  });
});

describe("fake cluster: injected faults and the journal", () => {
  it("answers an error to the next N requests of an API on any node, then goes back to normal", async () => {
    const fake = await start();
    const fault = fake.inject({ apiKey: ApiKey.InitProducerId, errorCode: 14, times: 2 });
    const c = await coordinator(fake, "x");
    expect((await initProducerId(c, 5, -1, -1, "x")).errorCode).toBe(14);
    expect((await initProducerId(c, 5, -1, -1, "x")).errorCode).toBe(14);
    expect((await initProducerId(c, 5, -1, -1, "x")).errorCode).toBe(0);
    expect(fault).toMatchObject({ hits: 2, remaining: 0 });
    const inits = fake.received(ApiKey.InitProducerId);
    expect(inits.map((e) => [e.errorCode, e.fault === fault])).toEqual([
      [14, true],
      [14, true],
      [0, false],
    ]);
    expect(inits[0]!.req.body.transactionalId).toBe("x");
  });

  it("moveCoordinatorTo moves the key first: the old coordinator answers NOT_COORDINATOR", async () => {
    const fake = await start();
    fake.moveCoordinator("x", 1);
    const c = await client(fake, 1);
    const id = await init(c, "x");
    fake.inject({ apiKey: ApiKey.EndTxn, moveCoordinatorTo: 2 });
    await txnProduce(c, id, 0, 12);
    expect((await endTxn(c, 5, id, true)).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    expect(fake.coordinatorOf("x")).toBe(2);
    expect((await endTxn(await client(fake, 2), 5, id, true)).errorCode).toBe(0);
    // closeConnection and delayMs work as the interceptor's do, on any node.
    fake.inject({ apiKey: ApiKey.FindCoordinator, closeConnection: "before", nodeId: 1 });
    await expect(findCoordinator(c, 4, ["x"])).rejects.toThrow(/closed/);
    expect(fake.received(ApiKey.FindCoordinator)[0]!.errorCode).toBeUndefined();
  });
});
