/**
 * Shared pieces of the producer's real-broker tests: a KafkaJS admin as an
 * independent view of topics and leaders, polling waits, a ledger that counts
 * the delivery reports of every record one by one, KafkaJS as an independent
 * writer (kcat too, as an optional cross-check), and a plain-`node` child
 * process for the "nothing keeps the process alive after close()" checks.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Admin, Kafka, logLevel, Partitioners } from "kafkajs";
import type { Logger } from "../../src/client/logger.js";
import { Producer, type ProducerOptions } from "../../src/producer/producer.js";
import type {
  DeliveryCallback,
  DeliveryError,
  DeliveryReport,
  ProducerRecord,
} from "../../src/producer/record.js";
import { trackChild } from "../broker/kafka.js";

import { waitFor } from "../helpers/wait.js";

export { waitFor };

/** A connected KafkaJS admin client with its logs silenced. */
export async function connectAdmin(bootstrap: string): Promise<Admin> {
  const kafka = new Kafka({
    clientId: "producer-tests-admin",
    brokers: bootstrap.split(","),
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 200 },
  });
  const admin = kafka.admin();
  await admin.connect();
  return admin;
}

export interface TopicSpec {
  partitions: number;
  replicationFactor?: number;
  /** Topic-level configs, e.g. { "min.insync.replicas": "2" }. */
  configs?: Record<string, string>;
}

/** Creates a topic through KafkaJS and waits until every partition has a leader. */
export async function createTopic(admin: Admin, topic: string, spec: TopicSpec): Promise<void> {
  const created = await admin.createTopics({
    topics: [
      {
        topic,
        numPartitions: spec.partitions,
        replicationFactor: spec.replicationFactor ?? 1,
        configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({
          name,
          value,
        })),
      },
    ],
    // KafkaJS's own wait gives up on UNKNOWN_TOPIC_OR_PARTITION from a broker whose
    // metadata lags; poll below instead.
    waitForLeaders: false,
  });
  if (!created) throw new Error(`topic ${topic} already exists`);
  await waitFor(
    `leaders of every partition of ${topic}`,
    async () => {
      const m = await partitionMetadata(admin, topic);
      return m.length === spec.partitions && m.every((p) => p.leader >= 0) ? m : undefined;
    },
    30_000,
  );
  // A broker lists a leader in its metadata a moment before that leader takes requests for
  // the partition; with acks=0 a record sent in that moment is dropped without a word. Each
  // leader answering ListOffsets for its partitions closes the gap.
  await waitFor(
    `leaders of ${topic} answering ListOffsets`,
    async () => {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.length === spec.partitions ? offsets : undefined;
    },
    30_000,
  );
}

export interface PartitionView {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

/** Partition leaders, replicas and ISR of `topic` as KafkaJS reads them (sorted by partition). */
export async function partitionMetadata(admin: Admin, topic: string): Promise<PartitionView[]> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  const t = topics.find((x) => x.name === topic);
  if (!t) throw new Error(`no metadata for ${topic}`);
  return t.partitions
    .map((p) => ({
      partition: p.partitionId,
      leader: p.leader,
      replicas: [...p.replicas],
      isr: [...p.isr],
    }))
    .sort((a, b) => a.partition - b.partition);
}

/** Broker settings for tests that kill a node: it is fenced (and dropped from every ISR) after 4 s instead of 9 s. */
export const FAST_FENCING: Record<string, string> = {
  "broker.session.timeout.ms": "4000",
  "broker.heartbeat.interval.ms": "500",
};

/** Waits until every partition of `topic` has a leader and `size` in-sync replicas. */
export function waitForIsr(
  admin: Admin,
  topic: string,
  size: number,
  what: string,
): Promise<PartitionView[]> {
  return waitFor(
    what,
    async () => {
      const m = await partitionMetadata(admin, topic);
      return m.every((p) => p.isr.length === size && p.leader >= 0) ? m : undefined;
    },
    30_000,
    200,
  );
}

export interface Outcome {
  err: DeliveryError | null;
  report: DeliveryReport;
  /** Date.now() when the report came. */
  at: number;
}

/**
 * Gives each record its own callback and keeps every call it gets, so a test
 * can check "exactly one report per record" by record, not by total.
 */
export class DeliveryLedger {
  readonly records: ProducerRecord[] = [];
  readonly outcomes: Outcome[][] = [];
  readonly producedAt: number[] = [];
  private reported = 0;
  private extra = 0;

  /** Produces `record` with a callback of its own; returns the record's index. */
  produce(producer: Producer, record: ProducerRecord): number {
    const i = this.records.length;
    this.records.push(record);
    this.outcomes.push([]);
    this.producedAt.push(Date.now());
    try {
      producer.produce(record, this.callback(i));
    } catch (err) {
      this.records.pop();
      this.outcomes.pop();
      this.producedAt.pop();
      throw err;
    }
    return i;
  }

  private callback(i: number): DeliveryCallback {
    return (err, report) => {
      const list = this.outcomes[i]!;
      if (list.length === 0) this.reported++;
      else this.extra++;
      list.push({ err, report, at: Date.now() });
    };
  }

  get count(): number {
    return this.records.length;
  }

  /** Records with at least one report. */
  get reportedCount(): number {
    return this.reported;
  }

  /** Reports beyond the first, over all records (must stay 0). */
  get extraReports(): number {
    return this.extra;
  }

  /** Waits until every record has its report. */
  waitAll(timeoutMs: number): Promise<true> {
    return waitFor(
      `delivery reports (${this.reported}/${this.count} so far)`,
      () => (this.reported === this.count ? true : undefined),
      timeoutMs,
      20,
    );
  }

  /** Indexes of records whose report count is not exactly one. */
  notExactlyOnce(): number[] {
    const out: number[] = [];
    this.outcomes.forEach((o, i) => {
      if (o.length !== 1) out.push(i);
    });
    return out;
  }

  /** The one outcome of record `i` (throws unless it has exactly one). */
  outcome(i: number): Outcome {
    const o = this.outcomes[i]!;
    if (o.length !== 1) throw new Error(`record ${i} has ${o.length} reports`);
    return o[0]!;
  }

  delivered(): Outcome[] {
    return this.outcomes.flatMap((o) => o.filter((x) => x.err === null));
  }

  failed(): Outcome[] {
    return this.outcomes.flatMap((o) => o.filter((x) => x.err !== null));
  }

  /** Failure counts by error code (client codes as strings, broker codes by name). */
  failureCodes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const o of this.failed()) {
      const e = o.err!;
      const key = "errorName" in e ? e.errorName : e.code;
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  }
}

export interface LogLine {
  level: string;
  message: string;
  fields: Record<string, unknown> | undefined;
}

/** A logger that keeps every line, for asserting on what the producer did. */
export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, message, fields });
    };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Fast reconnects and retries so the timing tests stay short. */
export const FAST: Record<string, number> = {
  "reconnect.backoff.ms": 50,
  "reconnect.backoff.max.ms": 500,
  "retry.backoff.ms": 50,
  "retry.backoff.max.ms": 500,
  "socket.connection.setup.timeout.ms": 5000,
};

/**
 * Producers on `bootstrap` with the FAST backoffs, for a test file: each one is
 * closed by closeAll() (in afterAll) whatever happened in its test.
 */
export function producerSet(bootstrap: string): {
  create(props?: Record<string, string | number | boolean>, options?: ProducerOptions): Producer;
  closeAll(): Promise<unknown>;
} {
  const producers: Producer[] = [];
  return {
    create(props = {}, options = {}) {
      const p = new Producer({ "bootstrap.servers": bootstrap, ...FAST, ...props }, options);
      producers.push(p);
      return p;
    },
    closeAll: () => Promise.all(producers.map((p) => p.close(5000))),
  };
}

/**
 * Produces (key, value) records with KafkaJS as an independent client that needs nothing
 * beyond `npm ci`. Keyed records go where KafkaJS's DefaultPartitioner puts them: the Java
 * client's toPositive(murmur2(key)) % partitions, so partition choices can be compared.
 * acks=all; resolves once every record is acknowledged.
 */
export async function kafkajsProduce(
  bootstrap: string,
  topic: string,
  records: readonly [key: string | Buffer | null, value: string | Buffer | null][],
): Promise<void> {
  const kafka = new Kafka({
    clientId: "independent-writer",
    brokers: bootstrap.split(","),
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    await producer.send({
      topic,
      acks: -1,
      messages: records.map(([key, value]) => ({ key, value })),
    });
  } finally {
    await producer.disconnect();
  }
}

/**
 * Produces (key, value) records with kcat (librdkafka), e.g. with
 * `{ partitioner: "murmur2_random" }` to compare partition choices. An optional cross-check:
 * gate its test on `peerTool("kcat").need(ctx)` (test/helpers/peer-tools.ts).
 */
export function kcatProduce(
  bootstrap: string,
  topic: string,
  records: readonly [key: string, value: string][],
  config: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<void> {
  if (records.some(([k, v]) => /[\t\n]/.test(k + v))) {
    return Promise.reject(new Error("kcatProduce: no tabs or newlines in keys or values"));
  }
  const args = ["-P", "-b", bootstrap, "-t", topic, "-K", "\t", "-q"];
  for (const [k, v] of Object.entries(config)) args.push("-X", `${k}=${v}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.KCAT_BIN ?? "kcat", args, {
      stdio: ["pipe", "ignore", "pipe"],
    });
    trackChild(child);
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run kcat: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`kcat ${args.join(" ")} exited ${code ?? signal}: ${stderr.trim()}`));
    });
    for (const [k, v] of records) child.stdin.write(`${k}\t${v}\n`);
    child.stdin.end();
  });
}

/**
 * Transpiles `entries` of `src/` (default the producer) and the modules they import to plain
 * JavaScript (TypeScript's transpileModule: no vitest, no loader) under
 * node_modules/.cache, so a child `node` process can use the producer as users
 * would. Returns the directory mirroring `src/`; `remove()` deletes it.
 */
export async function transpileSources(
  entries: readonly string[] = ["producer/producer.ts"],
): Promise<{ dir: string; remove(): Promise<void> }> {
  const ts = (await import("typescript")).default;
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
  const out = join(root, "node_modules", ".cache", `producer-tests-${process.pid}-${Date.now()}`);
  const srcDir = join(root, "src");
  const todo = [...entries];
  const done = new Set<string>();
  while (todo.length > 0) {
    const rel = todo.pop()!;
    if (done.has(rel)) continue;
    done.add(rel);
    const source = await readFile(join(srcDir, rel), "utf8");
    const js = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
      fileName: rel,
    }).outputText;
    const target = join(out, rel.replace(/\.ts$/, ".js"));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, js);
    // Follow the relative imports left in the output (type-only ones are gone).
    for (const m of js.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)\.js"/g)) {
      todo.push(join(dirname(rel), `${m[1]}.ts`));
    }
  }
  // node_modules ends the search for a package scope: say "ESM" here.
  await writeFile(join(out, "package.json"), '{ "type": "module" }\n');
  return { dir: out, remove: () => rm(out, { recursive: true, force: true }) };
}

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from the child's "CLOSED" line to its exit (undefined without that line). */
  exitAfterCloseMs: number | undefined;
}

/**
 * Runs an ES module script in a fresh `node`, killing it after `timeoutMs`.
 * The script prints a line "CLOSED" once `close()` resolved; the time from
 * that line to the process exit is what keeps-alive bugs show up in.
 */
export function runNodeScript(
  script: string,
  cwd: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<ChildRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    trackChild(child);
    let stdout = "";
    let stderr = "";
    let closedAt: number | undefined;
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (c: string) => {
      stdout += c;
      if (closedAt === undefined && /^CLOSED\b/m.test(stdout)) closedAt = Date.now();
    });
    child.stderr.on("data", (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolvePromise({
        code,
        signal,
        stdout,
        stderr,
        exitAfterCloseMs: closedAt === undefined ? undefined : Date.now() - closedAt,
      });
    });
  });
}
