/**
 * The suite's reference reader: Apache Kafka's Java consumer (RecordReader.java beside this
 * file, on the kafka-clients jar the harness gathers with Maven). It is compiled once with
 * javac into `.cache/reader-<hash>/`; one JVM per test process then serves every read
 * (`RecordReader --serve`), so a read costs a consumer, not a JVM start.
 *
 * Keys, values and header values come back as Buffers, null kept apart from empty; records
 * are in the consumer's order (each partition in offset order, partitions interleaved).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { CACHE_DIR, ensureJars, HARNESS_DIR, trackChild } from "./kafka.js";

export interface JavaRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: "CreateTime" | "LogAppendTime" | "NoTimestampType";
  /** The partition leader epoch of the record's batch; null when the broker gave none. */
  leaderEpoch: number | null;
  key: Buffer | null;
  value: Buffer | null;
  headers: { key: string; value: Buffer | null }[];
}

export interface JavaReadOptions {
  /** Only this partition. */
  partition?: number;
  /**
   * Stop after this many records, failing if fewer arrive within the timeout. Without it the
   * read stops at the end of each partition as it was when the read began.
   */
  count?: number;
  /** Start offset in every partition read; default the beginning. */
  offset?: "beginning" | number;
  /** Fail after this long (default 30 s). */
  timeoutMs?: number;
  /** Java consumer properties, e.g. `security.protocol`. */
  config?: Record<string, string>;
  /** Internal: read this group's committed offsets instead of records (see javaCommittedOffsets). */
  committedOf?: string;
  /**
   * Without a count, read to the end of the log rather than to the consumer's own end: a
   * read_committed read right after a commit then waits for the commit's markers (the
   * coordinator writes them after answering EndTxn) instead of stopping before them.
   */
  settled?: boolean;
  /** Internal: a digest per partition instead of the records (see javaDigest). */
  digest?: boolean;
}

const SOURCE = join(HARNESS_DIR, "RecordReader.java");

function sourceHash(): string {
  return createHash("sha256").update(readFileSync(SOURCE)).digest("hex").slice(0, 12);
}

function execFileText(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException;
        const why =
          e.code === "ENOENT"
            ? `${cmd} is not installed (a JDK 17 is needed: apt-get install -y openjdk-17-jdk-headless)`
            : `${cmd} ${args.join(" ")} failed: ${err.message}\n${stdout}${stderr}`;
        reject(new Error(why));
      } else {
        resolve(stdout);
      }
    });
  });
}

let compiled: Promise<{ classes: string; jars: string }> | undefined;

/** Compiles RecordReader.java once per source version; returns the classpath parts. */
function compile(): Promise<{ classes: string; jars: string }> {
  compiled ??= (async () => {
    const jars = await ensureJars();
    const classes = join(CACHE_DIR, `reader-${sourceHash()}`);
    if (!existsSync(join(classes, "RecordReader.class"))) {
      // Compile into a private dir, then rename, so a concurrent run never sees half of it.
      const staging = `${classes}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
      await mkdir(staging, { recursive: true });
      try {
        await execFileText(
          "javac",
          ["-d", staging, "-cp", join(jars, "*"), "-Xlint:none", SOURCE],
          120_000,
        );
        try {
          await rename(staging, classes);
        } catch (err) {
          if (!existsSync(join(classes, "RecordReader.class"))) throw err;
        }
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    }
    return { classes, jars };
  })().catch((err: unknown) => {
    compiled = undefined;
    throw err;
  });
  return compiled;
}

/** The command line that runs the reader (for a person to reuse by hand, too). */
export async function javaReaderCommand(args: string[]): Promise<string[]> {
  const { classes, jars } = await compile();
  return [
    "java",
    "-Xss512k",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    `-Dlog4j2.configurationFile=${join(jars, "log4j2.properties")}`,
    "-cp",
    `${classes}:${join(jars, "*")}`,
    "RecordReader",
    ...args,
  ];
}

interface Pending {
  lines: string[];
  resolve: (lines: string[]) => void;
  reject: (err: Error) => void;
}

/** One `RecordReader --serve` JVM; requests are answered in order. */
class ReaderProcess {
  private readonly queue: Pending[] = [];
  private stderr = "";
  private exited: string | undefined;

  constructor(private readonly child: ChildProcess) {
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (c: string) => {
      this.stderr = (this.stderr + c).slice(-4000);
    });
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => this.onLine(line));
    child.on("exit", (code, signal) => this.fail(`the Java reader exited (${code ?? signal})`));
    child.on("error", (err) => this.fail(`the Java reader did not run: ${err.message}`));
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  request(args: string[]): Promise<string[]> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    return new Promise((resolve, reject) => {
      this.queue.push({ lines: [], resolve, reject });
      this.child.stdin?.write(`${args.join("\t")}\n`);
    });
  }

  private onLine(line: string): void {
    const head = this.queue[0];
    if (!head) return;
    if (line.startsWith('{"done":')) {
      this.queue.shift();
      head.resolve(head.lines);
    } else if (line.startsWith('{"error":')) {
      this.queue.shift();
      const { error } = JSON.parse(line) as { error: string };
      head.reject(new Error(`Java reader: ${error}`));
    } else {
      head.lines.push(line);
    }
  }

  private fail(why: string): void {
    if (this.exited) return;
    const detail = this.stderr.trim();
    this.exited = detail ? `${why}; stderr: ${detail}` : why;
    for (const p of this.queue.splice(0)) p.reject(new Error(this.exited));
  }
}

let reader: Promise<ReaderProcess> | undefined;

async function startReader(): Promise<ReaderProcess> {
  const [cmd, ...args] = await javaReaderCommand(["--serve"]);
  const child = spawn(cmd!, args, { stdio: ["pipe", "pipe", "pipe"] });
  trackChild(child);
  // Let this test process exit while the idle JVM waits on stdin; EOF then ends the JVM.
  child.unref();
  for (const s of [child.stdin, child.stdout, child.stderr]) {
    (s as unknown as { unref?: () => void } | null)?.unref?.();
  }
  return new ReaderProcess(child);
}

async function readerProcess(): Promise<ReaderProcess> {
  if (reader) {
    const r = await reader.catch(() => undefined);
    if (r?.alive) return r;
  }
  reader = startReader();
  return reader;
}

function readerArgs(bootstrap: string, topics: readonly string[], opts: JavaReadOptions) {
  const args = ["--bootstrap", bootstrap];
  for (const t of topics) args.push("--topic", t);
  if (opts.partition !== undefined) args.push("--partition", String(opts.partition));
  if (opts.count !== undefined) args.push("--count", String(opts.count));
  if (opts.offset !== undefined) args.push("--offset", String(opts.offset));
  if (opts.committedOf !== undefined) args.push("--committed", "true");
  if (opts.digest === true) args.push("--digest", "true");
  if (opts.settled === true) args.push("--settled", "true");
  args.push("--timeout-ms", String(opts.timeoutMs ?? 30_000));
  for (const [k, v] of Object.entries(opts.config ?? {})) args.push("--config", `${k}=${v}`);
  for (const a of args) {
    if (/[\t\n]/.test(a)) throw new Error(`Java reader argument has a tab or newline: ${a}`);
  }
  return args;
}

function fromBase64(v: string | null): Buffer | null {
  return v === null ? null : Buffer.from(v, "base64");
}

interface RawRecord extends Omit<JavaRecord, "key" | "value" | "headers"> {
  key: string | null;
  value: string | null;
  headers: { key: string; value: string | null }[];
}

/** Reads `topic` (or several) with the Java consumer; see JavaReadOptions for when it stops. */
export async function javaConsume(
  bootstrap: string,
  topic: string | readonly string[],
  opts: JavaReadOptions = {},
): Promise<JavaRecord[]> {
  const topics = typeof topic === "string" ? [topic] : topic;
  const lines = await (await readerProcess()).request(readerArgs(bootstrap, topics, opts));
  return lines.map((line) => {
    const raw = JSON.parse(line) as RawRecord;
    return {
      ...raw,
      key: fromBase64(raw.key),
      value: fromBase64(raw.value),
      headers: raw.headers.map((h) => ({ key: h.key, value: fromBase64(h.value) })),
    };
  });
}

/** What the Java consumer read from one partition, in digest form. */
export interface JavaPartitionDigest {
  topic: string;
  partition: number;
  count: number;
  firstOffset: number;
  lastOffset: number;
  /** SHA-256 (hex) of the values in offset order, each followed by "\n". */
  sha256: string;
}

/**
 * Reads `topic` as javaConsume() does but returns, per partition read, the
 * count, offsets and a SHA-256 of the values instead of the records: for
 * reads too large to hold as objects.
 */
export async function javaDigest(
  bootstrap: string,
  topic: string,
  opts: Omit<JavaReadOptions, "digest" | "committedOf"> = {},
): Promise<JavaPartitionDigest[]> {
  const lines = await (await readerProcess()).request(
    readerArgs(bootstrap, [topic], { ...opts, digest: true }),
  );
  return lines.map((line) => JSON.parse(line) as JavaPartitionDigest);
}

/** A consumer group's committed offset per partition of `topic` (-1: none), read by the Java consumer. */
export async function javaCommittedOffsets(
  bootstrap: string,
  topic: string,
  groupId: string,
  config: Record<string, string> = {},
): Promise<Map<number, number>> {
  const opts: JavaReadOptions = {
    committedOf: groupId,
    config: { ...config, "group.id": groupId },
  };
  const lines = await (await readerProcess()).request(readerArgs(bootstrap, [topic], opts));
  const out = new Map<number, number>();
  for (const line of lines) {
    const row = JSON.parse(line) as { partition: number; committed: number };
    out.set(row.partition, row.committed);
  }
  return out;
}

/** UTF-8 text of a key or value (null stays null), for comparing with what was sent. */
export function text(b: Buffer | null): string | null {
  return b === null ? null : b.toString("utf8");
}

/** Headers as [name, UTF-8 value] pairs in record order (a null value as null). */
export function headerPairs(r: JavaRecord): [string, string | null][] {
  return r.headers.map((h) => [h.key, text(h.value)]);
}
