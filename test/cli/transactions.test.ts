/**
 * `publish` and `perf` with --transactional-id, as a user runs them: the built
 * bin against the real broker, read back by the Java consumer in both
 * isolation levels. Committed transactions are visible once and in order;
 * the offsets of a one-partition topic show where each transaction ended (its
 * commit marker takes an offset); an abort (a signal, a failed record, a
 * fenced producer) leaves its records invisible to read_committed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Admin } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type JavaRecord, javaConsume, text } from "../broker/java-reader.js";
import { CLI, run, summary } from "../helpers/cli.js";
import { uniqueTopic } from "../helpers/topics.js";
import { connectAdmin, createTopic } from "../producer/helpers.js";

const bootstrap = inject("kafkaBootstrap");
const COMMITTED = { "isolation.level": "read_committed" };
const UNCOMMITTED = { "isolation.level": "read_uncommitted" };
let admin: Admin;

beforeAll(async () => {
  admin = await connectAdmin(bootstrap);
});
afterAll(async () => {
  await admin?.disconnect();
});

function tempFile(name: string, content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "event-kafka-txn-")), name);
  writeFileSync(file, content);
  return file;
}

async function oneTopic(prefix: string): Promise<string> {
  const topic = uniqueTopic(prefix);
  await createTopic(admin, topic, { partitions: 1 });
  return topic;
}

function read(topic: string, config: Record<string, string>): Promise<JavaRecord[]> {
  return javaConsume(bootstrap, topic, { config, timeoutMs: 30_000 });
}

/**
 * The offset the i-th record of a one-partition topic has when transactions of
 * `perTransaction` records were committed one after another: each commit marker
 * takes the offset after its transaction's last record.
 */
function offsetInTransactions(i: number, perTransaction: number): number {
  return i + Math.floor(i / perTransaction);
}

/** The CLI with its stdin left open (a pipe no one closes), so only a signal ends the input. */
function spawnOpen(args: string[]): {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on("close", (code) => resolve(code));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

describe("publish --transactional-id", () => {
  it("writes a file in transactions of --transaction-records: 4 commits for 1000 lines by 300, all visible to read_committed, in order", async () => {
    const topic = await oneTopic("txn-cli-file");
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}`);
    const file = tempFile("lines.txt", `${lines.join("\n")}\n`);
    const r = await run([
      "publish",
      `kafka:${bootstrap}/${topic}`,
      "-l",
      file,
      "--transactional-id",
      uniqueTopic("txn-cli-id"),
      "--transaction-records",
      "300",
    ]);
    expect(r.code).toBe(0);
    expect(summary(r.stdout)).toMatchObject({ delivered: 1000, failed: 0, undelivered: 0 });
    expect(r.stderr).toBe("event-kafka: committed 4 transactions, 1000 records; aborted 0\n");
    const committed = await read(topic, COMMITTED);
    expect(committed.map((x) => text(x.value))).toEqual(lines);
    // The commit markers sit after records 299, 599 and 899 (and 999): four transactions of 300, 300, 300, 100.
    expect(committed.map((x) => x.offset)).toEqual(
      lines.map((_, i) => offsetInTransactions(i, 300)),
    );
  });

  it("cuts transactions inside the read blocks of a file larger than a block (the produceDelimited path)", async () => {
    const topic = await oneTopic("txn-cli-blocks");
    // About 2.6 MiB: three 1 MiB reads, lines cut at their boundaries.
    const lines = Array.from({ length: 60_000 }, (_, i) => `${i}:${"v".repeat(20 + (i % 37))}`);
    const file = tempFile("blocks.txt", `${lines.join("\n")}\n`);
    const r = await run([
      "publish",
      `kafka:${bootstrap}/${topic}`,
      "-l",
      file,
      "--transactional-id",
      uniqueTopic("txn-cli-id"),
      "--transaction-records",
      "25000",
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("event-kafka: committed 3 transactions, 60000 records; aborted 0\n");
    const committed = await read(topic, COMMITTED);
    expect(committed.map((x) => text(x.value))).toEqual(lines);
    expect(committed.map((x) => x.offset)).toEqual(
      lines.map((_, i) => offsetInTransactions(i, 25000)),
    );
  });

  it("without --transaction-records, writes the whole input (standard input, -K keys, -X transactional.id) in one transaction", async () => {
    const topic = await oneTopic("txn-cli-one");
    const lines = Array.from({ length: 2500 }, (_, i) => `k${i}:v${i}`);
    const r = await run(
      [
        "publish",
        `kafka:${bootstrap}/${topic}`,
        "-K",
        ":",
        "-X",
        `transactional.id=${uniqueTopic("txn-cli-id")}`,
      ],
      `${lines.join("\n")}\n`,
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("event-kafka: committed 1 transaction, 2500 records; aborted 0\n");
    const committed = await read(topic, COMMITTED);
    expect(committed.map((x) => `${text(x.key)}:${text(x.value)}`)).toEqual(lines);
    expect(committed.map((x) => x.offset)).toEqual(lines.map((_, i) => i));
  });

  it("MESSAGE arguments go in transactions of N too", async () => {
    const topic = await oneTopic("txn-cli-args");
    const r = await run([
      "publish",
      `kafka:${bootstrap}/${topic}`,
      "a",
      "b",
      "c",
      "d",
      "e",
      "--transactional-id",
      uniqueTopic("txn-cli-id"),
      "--transaction-records",
      "2",
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("event-kafka: committed 3 transactions, 5 records; aborted 0\n");
    const committed = await read(topic, COMMITTED);
    expect(committed.map((x) => [text(x.value), x.offset])).toEqual([
      ["a", 0],
      ["b", 1],
      ["c", 3],
      ["d", 4],
      ["e", 6],
    ]);
  });

  it("SIGTERM with a transaction open aborts it: read_committed sees only the committed one, exit 143", async () => {
    const topic = await oneTopic("txn-cli-sigterm");
    const p = spawnOpen([
      "publish",
      `kafka:${bootstrap}/${topic}`,
      "--transactional-id",
      uniqueTopic("txn-cli-id"),
      "--transaction-records",
      "300",
    ]);
    const lines = Array.from({ length: 450 }, (_, i) => `line ${i}`);
    p.child.stdin!.write(`${lines.join("\n")}\n`);
    // The first 300 are committed; the other 150 are written, in the transaction still open.
    await javaConsume(bootstrap, topic, { count: 300, config: COMMITTED, timeoutMs: 30_000 });
    await javaConsume(bootstrap, topic, { count: 450, config: UNCOMMITTED, timeoutMs: 30_000 });
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(143);
    expect(summary(p.stdout())).toMatchObject({ delivered: 450, failed: 0 });
    expect(p.stderr()).toBe(
      "event-kafka: SIGTERM: stopped reading; aborting the open transaction within 10 s (again to exit now)\n" +
        "event-kafka: committed 1 transaction, 300 records; aborted 1 transaction of 150 records (not committed)\n",
    );
    const committed = await read(topic, COMMITTED);
    expect(committed.map((x) => text(x.value))).toEqual(lines.slice(0, 300));
    // The aborted records are in the log: read_uncommitted still returns them.
    const all = await read(topic, UNCOMMITTED);
    expect(all.map((x) => text(x.value))).toEqual(lines);
  });

  it("a line too large for a record aborts the open transaction and exits 1; the transactions before it stay committed", async () => {
    const topic = await oneTopic("txn-cli-large");
    const before = Array.from({ length: 120 }, (_, i) => `before ${i}`);
    const file = tempFile("large.txt", `${before.join("\n")}\n${"x".repeat(1_100_000)}\nafter\n`);
    const r = await run([
      "publish",
      `kafka:${bootstrap}/${topic}`,
      "-l",
      file,
      "--transactional-id",
      uniqueTopic("txn-cli-id"),
      "--transaction-records",
      "50",
    ]);
    expect(r.code).toBe(1);
    expect(summary(r.stdout)).toMatchObject({ failed: 1 });
    expect(r.stderr).toMatch(
      /^event-kafka: 1 record\(s\) failed: record of \d+ bytes .*exceeds message\.max\.bytes/,
    );
    expect(r.stderr).toMatch(
      /\nevent-kafka: committed 2 transactions, 100 records; aborted 1 transaction of 20 records \(not committed\)\n$/,
    );
    const committed = await read(topic, COMMITTED);
    expect(committed.map((x) => text(x.value))).toEqual(before.slice(0, 100));
  });

  it("a producer fenced by a newer one with the same transactional id reports it and exits 1, committing nothing", async () => {
    const topic = await oneTopic("txn-cli-fenced");
    const id = uniqueTopic("txn-cli-id");
    const first = spawnOpen(["publish", `kafka:${bootstrap}/${topic}`, "--transactional-id", id]);
    first.child.stdin!.write("zombie 1\nzombie 2\n");
    await javaConsume(bootstrap, topic, { count: 2, config: UNCOMMITTED, timeoutMs: 30_000 });
    const second = await run([
      "publish",
      `kafka:${bootstrap}/${topic}`,
      "successor",
      "--transactional-id",
      id,
    ]);
    expect(second.code).toBe(0);
    first.child.stdin!.end("zombie 3\n");
    expect(await first.exited).toBe(1);
    expect(first.stderr()).toMatch(/PRODUCER_FENCED|INVALID_PRODUCER_EPOCH/);
    expect(first.stderr()).toMatch(/\nevent-kafka: committed 0 transactions, 0 records; /);
    const committed = await read(topic, COMMITTED);
    expect(committed.map((x) => text(x.value))).toEqual(["successor"]);
  });
});

describe("perf --transactional-id", () => {
  it("commits a transaction every --transaction-duration-ms; read_committed sees every record", async () => {
    const topic = uniqueTopic("txn-perf");
    const r = await run([
      "perf",
      `kafka:${bootstrap}/${topic}`,
      "--records",
      "4000",
      "--record-size",
      "20",
      "--throughput",
      "4000",
      "--transactional-id",
      uniqueTopic("txn-perf-id"),
      "--transaction-duration-ms",
      "200",
      "--json",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as {
      records: number;
      delivered: number;
      transactions: { committed: number; aborted: number };
    };
    expect(out).toMatchObject({ records: 4000, delivered: 4000 });
    // About a second of records, a commit every 200 ms (and the last one at the end).
    expect(out.transactions.committed).toBeGreaterThanOrEqual(3);
    expect(out.transactions.aborted).toBe(0);
    const committed = await javaConsume(bootstrap, topic, {
      config: COMMITTED,
      timeoutMs: 30_000,
      settled: true,
    });
    expect(committed).toHaveLength(4001); // with the warm-up record, in the first transaction
  });

  it("keeps a transaction open 3000 ms by default, and says how many were committed", async () => {
    const topic = uniqueTopic("txn-perf-default");
    const r = await run([
      "perf",
      `kafka:${bootstrap}/${topic}`,
      "--records",
      "3500",
      "--record-size",
      "20",
      "--throughput",
      "1000",
      "-X",
      `transactional.id=${uniqueTopic("txn-perf-id")}`,
    ]);
    expect(r.code).toBe(0);
    // 3.5 s of records: one commit at 3 s, the last at the end.
    expect(r.stdout.trim().split("\n").pop()).toMatch(
      /^3500 records sent, .* ms 99\.9th, 2 transactions committed\.$/,
    );
    const committed = await javaConsume(bootstrap, topic, {
      config: COMMITTED,
      timeoutMs: 30_000,
      settled: true,
    });
    expect(committed).toHaveLength(3501);
  });

  it("SIGTERM aborts the open transaction: read_committed sees none of it", async () => {
    const topic = await oneTopic("txn-perf-sigterm");
    const p = spawnOpen([
      "perf",
      `kafka:${bootstrap}/${topic}`,
      "--records",
      "1000000",
      "--record-size",
      "20",
      "--throughput",
      "2000",
      "--transactional-id",
      uniqueTopic("txn-perf-id"),
      "--transaction-duration-ms",
      "600000",
      "--json",
    ]);
    await javaConsume(bootstrap, topic, { count: 500, config: UNCOMMITTED, timeoutMs: 30_000 });
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(1);
    const out = JSON.parse(p.stdout().trim().split("\n").pop()!) as {
      transactions: { committed: number; aborted: number };
    };
    expect(out.transactions).toEqual({ committed: 0, aborted: 1 });
    expect(p.stderr()).toMatch(
      /committed 0 transactions, 0 records; aborted 1 transaction of \d+ records/,
    );
    expect(await read(topic, COMMITTED)).toEqual([]);
    expect((await read(topic, UNCOMMITTED)).length).toBeGreaterThanOrEqual(500);
  });
});

describe("transaction flags: usage errors (exit 2, before connecting)", () => {
  it("refuses --transaction-records or --transaction-duration-ms without a transactional id, and bad values", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["publish", "kafka:h:1/t", "x", "--transaction-records", "10"],
        /^event-kafka: --transaction-records needs --transactional-id ID \(or -X transactional\.id=ID\)\n$/,
      ],
      [
        ["publish", "kafka:h:1/t", "x", "--transactional-id", "a", "--transaction-records", "0"],
        /^event-kafka: --transaction-records expects an integer in 1\.\.\d+, got "0"\n$/,
      ],
      [
        ["publish", "kafka:h:1/t", "x", "--transactional-id", ""],
        /^event-kafka: --transactional-id needs a non-empty ID\n$/,
      ],
      [
        ["publish", "kafka:h:1/t", "x", "--transactional-id"],
        /^event-kafka: --transactional-id needs a value\n$/,
      ],
      [
        ["publish", "kafka:h:1/t", "x", "--transactional-id", "a", "-X", "transactional.id=b"],
        /property "transactional\.id" is given twice/,
      ],
      [
        ["publish", "kafka:h:1/t?t.acks=1", "x", "--transactional-id", "a"],
        /`transactional\.id` needs `acks` set to `all`/,
      ],
      [
        [
          "perf",
          "kafka:h:1/t",
          "--records",
          "5",
          "--record-size",
          "1",
          "--transaction-duration-ms",
          "100",
        ],
        /^event-kafka: --transaction-duration-ms needs --transactional-id ID \(or -X transactional\.id=ID\)\n$/,
      ],
      [
        [
          "perf",
          "kafka:h:1/t",
          "--records",
          "5",
          "--record-size",
          "1",
          "--transactional-id",
          "a",
          "--transaction-duration-ms",
          "0",
        ],
        /^event-kafka: --transaction-duration-ms expects an integer in 1\.\.\d+, got "0"\n$/,
      ],
    ];
    for (const [args, why] of cases) {
      const r = await run(args);
      expect(r.stderr, args.join(" ")).toMatch(why);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout, args.join(" ")).toBe("");
    }
  });

  it("documents both publish flags and both perf flags in --help", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    for (const flag of [
      "--transactional-id ID",
      "--transaction-records N",
      "[--transactional-id ID [--transaction-duration-ms MS]]",
    ]) {
      expect(r.stdout).toContain(flag);
    }
  });
});
