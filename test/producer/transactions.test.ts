/**
 * Transactions against the shared broker, read back by the Java consumer in
 * both isolation levels: commits visible exactly once and in order, aborts
 * invisible to read_committed (but written: read_uncommitted sees them),
 * atomic over topics and partitions, offsets committed with the transaction,
 * fencing by a newer instance, and the calls refused in the wrong state.
 */
import type { Admin } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { BrokerConnection } from "../../src/client/connection.js";
import { silentLogger } from "../../src/client/logger.js";
import { TransactionError } from "../../src/producer/transaction-error.js";
import { javaCommittedOffsets, javaConsume, text } from "../broker/java-reader.js";
import { uniqueTopic } from "../helpers/topics.js";
import { connectAdmin, createTopic, producerSet } from "./helpers.js";

const bootstrap = inject("kafkaBootstrap");
/** Whether the cluster finalizes transaction.version >= 2 (Kafka 4.x does on a new cluster). */
let brokerHasV2 = false;
const producers = producerSet(bootstrap);
let admin: Admin;

const COMMITTED = { "isolation.level": "read_committed" };
const UNCOMMITTED = { "isolation.level": "read_uncommitted" };

beforeAll(async () => {
  admin = await connectAdmin(bootstrap);
  const [host, port] = bootstrap.split(",")[0]!.split(":");
  const conn = await BrokerConnection.connect({
    host: host!,
    port: Number(port),
    clientId: "transactions-test",
    connectTimeoutMs: 10_000,
    requestTimeoutMs: 10_000,
    maxInFlight: 1,
    maxResponseBytes: 1 << 20,
    noDelay: true,
    keepAlive: false,
  });
  brokerHasV2 = (conn.finalizedFeatures.get("transaction.version") ?? 0) >= 2;
  conn.close();
});

afterAll(async () => {
  await producers.closeAll();
  await admin?.disconnect();
});

let protocol: 1 | 2 = 2;

function transactional(id = uniqueTopic("txn")) {
  return producers.create(
    { "transactional.id": id, "linger.ms": 5 },
    { maxTransactionVersion: protocol, logger: silentLogger },
  );
}

/** Values read from `topics`, per partition in offset order, as "topic/partition:value". */
async function readValues(topics: string[], config: Record<string, string>): Promise<string[]> {
  const records = await javaConsume(bootstrap, topics, {
    config,
    timeoutMs: 30_000,
    settled: true,
  });
  return records.map((r) => `${r.topic}/${r.partition}:${text(r.value)}`);
}

function sendAll(
  p: ReturnType<typeof transactional>,
  topic: string,
  values: string[],
  partitions = 3,
): Promise<unknown> {
  return Promise.all(values.map((v, i) => p.send({ topic, partition: i % partitions, value: v })));
}

describe.each([2, 1] as const)("transactions on a real broker, at most v%i", (version) => {
  beforeAll(() => {
    protocol = version;
  });

  it("uses the protocol the cluster and the option allow", async () => {
    const p = transactional();
    await p.initTransactions();
    p.beginTransaction();
    expect(p.transactionState).toEqual({
      state: "in-transaction",
      version: version === 2 && brokerHasV2 ? 2 : 1,
    });
    await p.abortTransaction();
  });

  it("commits atomically over two topics and three partitions, visible once and in order", async () => {
    const [a, b] = [uniqueTopic("txn-a"), uniqueTopic("txn-b")];
    await createTopic(admin, a, { partitions: 3 });
    await createTopic(admin, b, { partitions: 3 });
    const p = transactional();
    await p.initTransactions();
    p.beginTransaction();
    const valuesA = Array.from({ length: 300 }, (_, i) => `a${i}`);
    const valuesB = Array.from({ length: 300 }, (_, i) => `b${i}`);
    await Promise.all([sendAll(p, a, valuesA), sendAll(p, b, valuesB)]);
    await p.commitTransaction();

    const committed = await readValues([a, b], COMMITTED);
    const expected = [
      ...[0, 1, 2].flatMap((part) =>
        valuesA.filter((_, i) => i % 3 === part).map((v) => `${a}/${part}:${v}`),
      ),
      ...[0, 1, 2].flatMap((part) =>
        valuesB.filter((_, i) => i % 3 === part).map((v) => `${b}/${part}:${v}`),
      ),
    ];
    expect(committed.sort()).toEqual(expected.sort());
    // Order within each partition is produce order.
    for (const topic of [a, b]) {
      for (const part of [0, 1, 2]) {
        const got = committed.filter((s) => s.startsWith(`${topic}/${part}:`));
        const want = expected.filter((s) => s.startsWith(`${topic}/${part}:`));
        expect(got).toEqual(want);
      }
    }
  });

  it("an aborted transaction is written but invisible to read_committed; the next one commits", async () => {
    const topic = uniqueTopic("txn-abort");
    await createTopic(admin, topic, { partitions: 3 });
    const p = transactional();
    await p.initTransactions();
    p.beginTransaction();
    await sendAll(p, topic, ["x0", "x1", "x2", "x3"]);
    await p.abortTransaction();
    p.beginTransaction();
    await sendAll(p, topic, ["y0", "y1", "y2"]);
    await p.commitTransaction();

    const committed = await readValues([topic], COMMITTED);
    expect(committed.sort()).toEqual([`${topic}/0:y0`, `${topic}/1:y1`, `${topic}/2:y2`]);
    const all = await readValues([topic], UNCOMMITTED);
    expect(all.map((s) => s.split(":")[1]).sort()).toEqual(
      ["x0", "x1", "x2", "x3", "y0", "y1", "y2"].sort(),
    );
  });

  it("many transactions in a row, commits and aborts alternating, keep exactly the committed ones", async () => {
    const topic = uniqueTopic("txn-many");
    await createTopic(admin, topic, { partitions: 2 });
    const p = transactional();
    await p.initTransactions();
    const kept: string[] = [];
    for (let t = 0; t < 8; t++) {
      p.beginTransaction();
      const values = Array.from({ length: 50 }, (_, i) => `t${t}-${i}`);
      await sendAll(p, topic, values, 2);
      if (t % 2 === 0) {
        await p.commitTransaction();
        kept.push(...values);
      } else {
        await p.abortTransaction();
      }
    }
    const committed = await readValues([topic], COMMITTED);
    expect(committed.map((s) => s.split(":")[1]).sort()).toEqual([...kept].sort());
    for (const part of [0, 1]) {
      const got = committed
        .filter((s) => s.startsWith(`${topic}/${part}:`))
        .map((s) => s.split(":")[1]);
      expect(got).toEqual(kept.filter((_, i) => i % 2 === part));
    }
  });

  it("records queued but unsent when the transaction aborts fail with TRANSACTION_ABORTED", async () => {
    const topic = uniqueTopic("txn-unsent");
    await createTopic(admin, topic, { partitions: 1 });
    const p = producers.create(
      { "transactional.id": uniqueTopic("txn"), "linger.ms": 60_000 },
      { maxTransactionVersion: protocol, logger: silentLogger },
    );
    await p.initTransactions();
    p.beginTransaction();
    const outcomes = Array.from({ length: 5 }, (_, i) =>
      p.send({ topic, value: `u${i}` }).then(
        () => "delivered",
        (err: { code?: string }) => err.code,
      ),
    );
    await p.abortTransaction();
    expect(await Promise.all(outcomes)).toEqual(Array(5).fill("TRANSACTION_ABORTED"));
    expect(await readValues([topic], UNCOMMITTED)).toEqual([]);
  });

  it("sendOffsetsToTransaction: the group's offsets appear with the commit, not with an abort", async () => {
    const topic = uniqueTopic("txn-offsets");
    const input = uniqueTopic("txn-input");
    await createTopic(admin, topic, { partitions: 1 });
    await createTopic(admin, input, { partitions: 2 });
    const group = uniqueTopic("txn-group");
    const p = transactional();
    await p.initTransactions();

    p.beginTransaction();
    await p.send({ topic, value: "aborted" });
    await p.sendOffsetsToTransaction(
      [
        { topic: input, partition: 0, offset: 7 },
        { topic: input, partition: 1, offset: 9 },
      ],
      { groupId: group },
    );
    await p.abortTransaction();
    expect(await javaCommittedOffsets(bootstrap, input, group, COMMITTED)).toEqual(
      new Map([
        [0, -1],
        [1, -1],
      ]),
    );

    p.beginTransaction();
    await p.send({ topic, value: "committed" });
    await p.sendOffsetsToTransaction(
      [
        { topic: input, partition: 0, offset: 11 },
        { topic: input, partition: 1, offset: 13 },
      ],
      { groupId: group },
    );
    await p.commitTransaction();
    expect(await javaCommittedOffsets(bootstrap, input, group, COMMITTED)).toEqual(
      new Map([
        [0, 11],
        [1, 13],
      ]),
    );
    expect(await readValues([topic], COMMITTED)).toEqual([`${topic}/0:committed`]);
  });

  it("a second producer with the same transactional.id fences the first: its open transaction is aborted, its next call fatal", async () => {
    const topic = uniqueTopic("txn-fence");
    await createTopic(admin, topic, { partitions: 1 });
    const id = uniqueTopic("txn-fenced");
    const first = transactional(id);
    await first.initTransactions();
    first.beginTransaction();
    await first.send({ topic, value: "zombie" });

    const second = transactional(id);
    await second.initTransactions();
    second.beginTransaction();
    await second.send({ topic, value: "successor" });
    await second.commitTransaction();

    const err = await first.commitTransaction().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TransactionError);
    expect((err as TransactionError).fatal).toBe(true);
    expect((err as TransactionError).code).toMatch(/PRODUCER_FENCED|INVALID_PRODUCER_EPOCH/);
    expect(() => first.produce({ topic, value: "after" })).toThrow(TransactionError);
    expect(await readValues([topic], COMMITTED)).toEqual([`${topic}/0:successor`]);
  });

  it("refuses produce() outside a transaction and calls out of order, with errors that say so", async () => {
    const topic = uniqueTopic("txn-state");
    const p = transactional();
    const kind = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return `${(e as TransactionError).kind}: ${(e as Error).message}`;
      }
      return "no error";
    };
    expect(kind(() => p.beginTransaction())).toMatch(
      /^state: beginTransaction\(\) cannot be called while the producer is uninitialized/,
    );
    await p.initTransactions();
    expect(kind(() => p.produce({ topic, value: "x" }))).toMatch(
      /^state: produce\(\) needs an open transaction/,
    );
    await expect(p.commitTransaction()).rejects.toThrow(
      /commitTransaction\(\) cannot be called while the producer is ready/,
    );
    // Empty transactions commit and abort without troubling the coordinator.
    p.beginTransaction();
    await p.commitTransaction();
    p.beginTransaction();
    await p.abortTransaction();
    const plain = producers.create();
    await expect(plain.initTransactions()).rejects.toThrow(/transactional\.id/);
  });
});
