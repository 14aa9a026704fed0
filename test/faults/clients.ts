/**
 * The producers the fault scenarios drive: ours (src/producer) and librdkafka through kcat.
 * Each writes `count` keyed records whose values carry the run's tag and the record's index,
 * as fast as its queue allows (or at a set rate), and says which records it reported failed.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { KafkaClientError } from "../../src/client/client-error.js";
import type { ProducerProperties } from "../../src/config/index.js";
import { Producer } from "../../src/producer/producer.js";
import type { DeliveryCallback } from "../../src/producer/record.js";
import { trackChild } from "../broker/kafka.js";

export type ClientName = "ours" | "kcat";

export interface ProduceSpec {
  /** The proxied bootstrap list. */
  bootstrap: string;
  topic: string;
  /** The run's tag, first in every value ("r<run>-<index>-"). */
  run: string;
  count: number;
  /** Records per second; undefined: as fast as the queue allows. */
  rate?: number;
  /** enable.idempotence for our producer (kcat always runs with it). */
  idempotence: boolean;
}

export interface ProduceOutcome {
  /** Per record (ours only): 0 no report, 1 delivered, 2 failed. kcat reports no indexes. */
  status: Uint8Array | undefined;
  delivered: number;
  failed: number;
  /** Failures by error code. */
  failureCodes: Record<string, number>;
  /** Reports beyond the first for a record (ours only; must be 0). */
  extraReports: number;
  /** From the first record handed over to the last report. */
  seconds: number;
  /** Client-specific details for the JSON results (retries, kcat's stderr, ...). */
  details: Record<string, unknown>;
}

const VALUE_BYTES = 96;
const PAD = "x".repeat(VALUE_BYTES);
/** A record's value starts with its run tag and index. */
const VALUE_RE = /^r([^-]+)-(\d+)-/;

export function recordKey(i: number): string {
  return `k${i % 1009}`;
}

/** "r<run>-<i>-xxx…", 96 characters (with the key, a record of about 100 bytes of data). */
export function recordValue(run: string, i: number): string {
  const head = `r${run}-${i}-`;
  return head + PAD.slice(head.length);
}

export function parseValue(value: string | null): { run: string; index: number } | undefined {
  if (value === null) return undefined;
  const m = VALUE_RE.exec(value);
  return m ? { run: m[1]!, index: Number(m[2]) } : undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Our producer's properties for a run: only what the scenario needs, defaults otherwise. */
export function ourProperties(bootstrap: string, idempotence: boolean): ProducerProperties {
  return {
    "bootstrap.servers": bootstrap,
    acks: "all",
    "enable.idempotence": idempotence,
  };
}

/** Undefined when our producer takes the properties, else why it refuses them. */
export function ourRefusal(idempotence: boolean): string | undefined {
  try {
    const p = new Producer(ourProperties("127.0.0.1:9", idempotence));
    void p.close(0);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Our producer's longest wait for the last report: message.timeout.ms's default and then some. */
const OURS_FLUSH_MS = 330_000;

export async function produceOurs(spec: ProduceSpec): Promise<ProduceOutcome> {
  const { count, topic, run } = spec;
  const status = new Uint8Array(count);
  const failureCodes: Record<string, number> = {};
  let delivered = 0;
  let failed = 0;
  let extraReports = 0;
  let lastReportAt = 0;
  const onDelivery: DeliveryCallback = (err, report) => {
    lastReportAt = performance.now();
    const i = typeof report.opaque === "number" ? report.opaque : -1;
    if (i < 0 || i >= count || status[i] !== 0) {
      extraReports++;
      return;
    }
    if (err === null) {
      status[i] = 1;
      delivered++;
    } else {
      status[i] = 2;
      failed++;
      const code = "errorName" in err ? err.errorName : err.code;
      failureCodes[code] = (failureCodes[code] ?? 0) + 1;
    }
  };
  const producer = new Producer(ourProperties(spec.bootstrap, spec.idempotence), { onDelivery });
  const started = performance.now();
  let queueFull = 0;
  try {
    let i = 0;
    while (i < count) {
      if (spec.rate !== undefined) {
        const due = Math.min(count, Math.floor(((performance.now() - started) / 1000) * spec.rate));
        if (i >= due) {
          await sleep(5);
          continue;
        }
      }
      try {
        producer.produce({ topic, key: recordKey(i), value: recordValue(run, i), opaque: i });
      } catch (err) {
        if (err instanceof KafkaClientError && err.code === "QUEUE_FULL") {
          queueFull++;
          await sleep(2);
          continue;
        }
        throw err;
      }
      i++;
      // Let the sockets and timers run now and then while the queue takes records.
      if (i % 2000 === 0) await yieldToLoop();
    }
    const unreported = await producer.flush(OURS_FLUSH_MS);
    const seconds = ((lastReportAt || performance.now()) - started) / 1000;
    const stats = producer.stats();
    return {
      status,
      delivered,
      failed,
      failureCodes,
      extraReports,
      seconds,
      details: {
        queueFullWaits: queueFull,
        unreportedAtFlushDeadline: unreported,
        retries: stats.retries,
        requests: stats.requests,
        recordsSent: stats.sent,
      },
    };
  } finally {
    await producer.close(5_000);
  }
}

/** kcat's whole run, queued records included, may take this long before it is killed. */
const KCAT_TIMEOUT_MS = 420_000;
const KCAT_FAILURE = /Delivery failed for message: (.*)/;

/**
 * `kcat -P -K: -E -X enable.idempotence=true -X acks=all` with the records on stdin (from a
 * file). kcat prints "Delivery failed for message: <error>" on stderr per failed record and
 * exits 1 when any failed; it cannot say which records those were. `-E`: by default kcat exits
 * at once when librdkafka reports all brokers down (which resetting every proxy at the same
 * moment does), a policy of the tool, not of librdkafka; with -E it goes on.
 */
export async function produceKcat(spec: ProduceSpec): Promise<ProduceOutcome> {
  if (spec.rate !== undefined) throw new Error("kcat runs at full speed only");
  const dir = await mkdtemp(join(tmpdir(), "faults-kcat-"));
  try {
    const file = join(dir, "records.txt");
    const lines: string[] = [];
    for (let i = 0; i < spec.count; i++) {
      lines.push(`${recordKey(i)}:${recordValue(spec.run, i)}\n`);
    }
    await writeFile(file, lines.join(""));
    const args = [
      "-P",
      "-b",
      spec.bootstrap,
      "-t",
      spec.topic,
      "-K:",
      "-E",
      "-X",
      "enable.idempotence=true",
      "-X",
      "acks=all",
    ];
    const fd = openSync(file, "r");
    const started = performance.now();
    let stderr = "";
    let code: number | null;
    let signal: NodeJS.Signals | null;
    try {
      const child = spawn(process.env.KCAT_BIN ?? "kcat", args, {
        stdio: [fd, "ignore", "pipe"],
      });
      trackChild(child);
      child.stderr?.setEncoding("utf8");
      child.stderr?.on("data", (c: string) => {
        stderr += c;
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), KCAT_TIMEOUT_MS);
      [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((ok, fail) => {
        child.on("error", (err) => fail(new Error(`cannot run kcat: ${err.message}`)));
        child.on("close", (c, s) => ok([c, s]));
      });
      clearTimeout(timer);
    } finally {
      closeSync(fd);
    }
    const seconds = (performance.now() - started) / 1000;
    const failureCodes: Record<string, number> = {};
    let failed = 0;
    const otherLines: string[] = [];
    for (const line of stderr.split("\n")) {
      const m = KCAT_FAILURE.exec(line);
      if (m) {
        failed++;
        const reason = m[1]!.trim();
        failureCodes[reason] = (failureCodes[reason] ?? 0) + 1;
      } else if (line !== "") {
        otherLines.push(line);
      }
    }
    if (signal !== null || (code !== 0 && failed === 0)) {
      // Killed, or it exited for another reason: nothing says which records were delivered.
      failureCodes[`kcat exited ${code ?? signal}`] = 1;
    }
    return {
      status: undefined,
      delivered: spec.count - failed,
      failed,
      failureCodes,
      extraReports: 0,
      seconds,
      details: {
        exit: code ?? signal,
        stderrLines: otherLines.length,
        stderrTail: otherLines.slice(-5),
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
