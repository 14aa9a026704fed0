/**
 * The results table: one row per scenario and client, summed over the runs, plus a row per
 * run; printed and written to test/faults/results/latest.md and latest.json.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RunResult } from "./run.js";
import { RESTART_AFTER_MS } from "./scenarios.js";
import {
  CALL_BOUND_MS,
  CALL_TIMEOUT_MS,
  RECORDS_PER_TXN,
  SENT_KILL_DELAY_MS,
  TRANSACTIONS,
  TRIGGER_TXN,
  TXN_PARTITIONS,
  type TxnTally,
} from "./transactions.js";

export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), "results");

export interface SuiteMeta {
  /** The command or settings that produced the results. */
  command: string;
  /** Records per run, as said in the report (e.g. "200000 (reset: 1000000)"). */
  records: string;
  runs: number;
  idempotence: boolean;
  kafkaVersion: string;
  startedAt: string;
  /** Whole suite, cluster start included. */
  seconds: number;
}

function sum(results: readonly RunResult[], key: "lost" | "duplicated" | "reordered" | "failed") {
  return results.reduce((n, r) => n + (r[key] ?? 0), 0);
}

function secondsCell(results: readonly RunResult[]): string {
  const s = results.flatMap((r) => (r.seconds === undefined ? [] : [r.seconds]));
  if (s.length === 0) return "–";
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  if (s.length === 1) return mean.toFixed(1);
  return `${mean.toFixed(1)} (${Math.min(...s).toFixed(1)}–${Math.max(...s).toFixed(1)})`;
}

/** Markdown-safe one-line text. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s+/g, " ").trim();
}

/** One row per (scenario, client), in the order first met. */
export function summaryTable(results: readonly RunResult[]): string {
  const groups = new Map<string, RunResult[]>();
  for (const r of results) {
    const k = `${r.scenario}\u0000${r.client}`;
    let list = groups.get(k);
    if (list === undefined) {
      list = [];
      groups.set(k, list);
    }
    list.push(r);
  }
  const lines = [
    "| scenario | client | runs | lost | duplicated | reordered | failed | seconds per run |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const list of groups.values()) {
    const { scenario, client } = list[0]!;
    const refused = list.find((r) => r.refused !== undefined)?.refused;
    if (refused !== undefined) {
      lines.push(`| ${scenario} | ${client} | refused: ${cell(refused)} | – | – | – | – | – |`);
      continue;
    }
    const ok = list.filter((r) => r.error === undefined);
    const errors = list.length - ok.length;
    const runs = errors > 0 ? `${ok.length} (+${errors} broke)` : `${ok.length}`;
    const notInjected = ok.filter((r) => r.fault?.injected === false).length;
    const runsCell = notInjected > 0 ? `${runs}, ${notInjected} without the fault` : runs;
    lines.push(
      `| ${scenario} | ${client} | ${runsCell} | ${sum(ok, "lost")} | ${sum(ok, "duplicated")} | ` +
        `${sum(ok, "reordered")} | ${sum(ok, "failed")} | ${secondsCell(ok)} |`,
    );
  }
  return lines.join("\n");
}

function faultCell(r: RunResult): string {
  const f = r.fault;
  if (f === undefined) return "–";
  if (!f.injected) return "not injected (run ended first)";
  const parts: string[] = [];
  if (f.atRecords !== undefined) parts.push(`at ${f.atRecords} in log`);
  if (f.nodeId !== undefined) parts.push(`node ${f.nodeId}`);
  if (f.resets !== undefined) parts.push(`${f.resets} resets`);
  return parts.concat(f.notes).join(", ");
}

/** A row per run, with the counts the summary leaves out. */
export function runTable(results: readonly RunResult[]): string {
  const lines = [
    "| scenario | client | run | lost | duplicated (extra copies) | reordered | failed (in log anyway) | seconds | fault | failures / notes |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    const head = `| ${r.scenario} | ${r.client} | ${r.run} |`;
    if (r.refused !== undefined) {
      lines.push(`${head} – | – | – | – | – | – | refused: ${cell(r.refused)} |`);
    } else if (r.error !== undefined) {
      lines.push(`${head} – | – | – | – | – | – | error: ${cell(r.error)} |`);
    } else {
      const codes = Object.entries(r.failureCodes ?? {})
        .map(([k, v]) => `${k} ×${v}`)
        .join(", ");
      const sample = r.reorderedSamples?.[0];
      const notes = [
        codes,
        sample ? `first reordering ${sample}` : "",
        r.foreign ? `${r.foreign} foreign records` : "",
      ]
        .filter(Boolean)
        .join("; ");
      lines.push(
        `${head} ${r.lost} | ${r.duplicated} (${r.extraCopies}) | ${r.reordered} | ` +
          `${r.failed} (${r.failedButWritten}) | ${r.seconds?.toFixed(1)} | ${cell(faultCell(r))} | ` +
          `${cell(notes) || "–"} |`,
      );
    }
  }
  return lines.join("\n");
}

type TxnCount = Exclude<
  {
    [K in keyof TxnTally]: TxnTally[K] extends number ? K : never;
  }[keyof TxnTally],
  undefined
>;

function txnSum(results: readonly RunResult[], key: TxnCount): number {
  return results.reduce((n, r) => n + ((r.transactions?.[key] as number | undefined) ?? 0), 0);
}

const seconds1 = (ms: number): string => (ms / 1000).toFixed(1);

/** The transaction rows, one per (scenario, client), summed over the runs. */
export function transactionsTable(results: readonly RunResult[]): string {
  const groups = new Map<string, RunResult[]>();
  for (const r of results) {
    if (r.transactions === undefined && !r.scenario.startsWith("txn-")) continue;
    const k = `${r.scenario}\u0000${r.client}`;
    let list = groups.get(k);
    if (list === undefined) {
      list = [];
      groups.set(k, list);
    }
    list.push(r);
  }
  const lines = [
    "| scenario | client | runs | protocol | committed | aborted | visible | absent | partial | committed not visible | aborted visible | aborted, written | retried calls (timeout) | longest call (s) | longest outcome (s) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const list of groups.values()) {
    const { scenario, client } = list[0]!;
    const ok = list.filter((r) => r.error === undefined && r.transactions !== undefined);
    const errors = list.length - ok.length;
    const stopped = ok.filter((r) => r.transactions?.stopped !== undefined).length;
    const notInjected = ok.filter((r) => r.fault?.injected === false).length;
    let runs = errors > 0 ? `${ok.length} (+${errors} broke)` : `${ok.length}`;
    if (stopped > 0) runs += `, ${stopped} stopped early`;
    if (notInjected > 0) runs += `, ${notInjected} without the fault`;
    const protocols = [...new Set(ok.map((r) => r.transactions?.protocol ?? "?"))];
    const longest = (key: "longestCallMs" | "longestOutcomeMs") =>
      ok.length === 0 ? "–" : seconds1(Math.max(...ok.map((r) => r.transactions![key])));
    lines.push(
      `| ${scenario} | ${client} | ${runs} | ${protocols.map((p) => `v${p}`).join(", ") || "–"} | ` +
        `${txnSum(ok, "committed")} | ${txnSum(ok, "aborted")} | ${txnSum(ok, "visible")} | ` +
        `${txnSum(ok, "absent")} | ${txnSum(ok, "partial")} | ${txnSum(ok, "committedNotVisible")} | ` +
        `${txnSum(ok, "abortedVisible")} | ${txnSum(ok, "abortedWritten")} | ` +
        `${txnSum(ok, "retriable")} | ${longest("longestCallMs")} | ${longest("longestOutcomeMs")} |`,
    );
  }
  return lines.join("\n");
}

/** A row per transaction run: what each attempt came to. */
export function transactionRunTable(results: readonly RunResult[]): string {
  const lines = [
    "| scenario | client | run | protocol | attempts | committed | aborted | visible | absent | partial | longest call (s) | longest outcome (s) | what the caller was told, beyond a first-call commit |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    if (r.transactions === undefined && !r.scenario.startsWith("txn-")) continue;
    const head = `| ${r.scenario} | ${r.client} | ${r.run} |`;
    const t = r.transactions;
    if (t === undefined) {
      lines.push(`${head} – | – | – | – | – | – | – | – | – | error: ${cell(r.error ?? "?")} |`);
      continue;
    }
    const events = t.eventful.map(
      (a) =>
        `t${a.txn + 1}${a.attempt > 0 ? ` (attempt ${a.attempt + 1})` : ""} ${a.outcome}` +
        (a.errors.length > 0 ? ` after ${a.errors.join(", ")}` : ""),
    );
    if (t.stopped !== undefined) events.push(`stopped: ${t.stopped}`);
    if (t.partialSamples.length > 0) events.push(`partial: ${t.partialSamples.join(", ")}`);
    lines.push(
      `${head} v${t.protocol ?? "?"} | ${t.attempts} | ${t.committed} | ${t.aborted} | ${t.visible} | ` +
        `${t.absent} | ${t.partial} | ${seconds1(t.longestCallMs)} | ${seconds1(t.longestOutcomeMs)} | ` +
        `${cell(events.join("; ")) || "–"} |`,
    );
  }
  return lines.join("\n");
}

function transactionsSection(results: readonly RunResult[]): string {
  if (!results.some((r) => r.transactions !== undefined || r.scenario.startsWith("txn-")))
    return "";
  return `
## Transactions

The txn- rows: a transactional producer (ours; "ours (v2)" uses Transactions v2 where the
cluster finalizes transaction.version >= 2, "ours (v1)" keeps to v1) writes ${TRANSACTIONS}
transactions of ${RECORDS_PER_TXN} records over ${TXN_PARTITIONS} partitions (fresh topic, replication factor 3,
min.insync.replicas=2; the transaction state log has replication factor 3, min ISR 2, one
partition) and commits each. In transaction ${TRIGGER_TXN + 1} the transaction coordinator's node (FindCoordinator)
is SIGKILLed and started again ${RESTART_AFTER_MS / 1000} s later:

- txn-coordinator-kill: by run, \`half\` (once half of the transaction's records are reported
  delivered) or \`begun\` (right after beginTransaction(), before its first record: the
  partitions join the transaction while the coordinator is dead);
- txn-commit-kill: its records all delivered, commitTransaction() is called and the node is
  killed as the EndTxn passes its proxy; by run: \`sent\` (forwarded, killed ${SENT_KILL_DELAY_MS} ms later),
  \`answered\` (the node's answer held back, node killed), \`request\` (the request held back, node killed).

On an abortable error the loop aborts and redoes the transaction's records (a new attempt); on
a retriable one (each commit/abort call has a ${CALL_TIMEOUT_MS / 1000} s timeout) it calls the same method again;
a call that neither resolves nor rejects within ${CALL_BOUND_MS / 1000} s stops the run. Read back with the Java
consumer in read_committed (and read_uncommitted for "aborted, written"):

- committed / aborted: attempts, as the caller was told; visible / absent / partial: attempts
  whose records read_committed shows wholly / not at all / partly (must be 0);
- committed not visible: committed attempts not wholly visible (must be 0); aborted visible:
  aborted attempts with any record visible (must be 0); in the table above, lost, duplicated
  and reordered count records in read_committed as for the other rows, failed the records
  reported failed (those of aborted attempts);
- longest call: the longest single commit/abort call; longest outcome: from an attempt's
  first commit/abort call to its outcome, retries included.

${transactionsTable(results)}

${transactionRunTable(results)}
`;
}

export function markdown(results: readonly RunResult[], meta: SuiteMeta): string {
  return `# Fault-injection results

\`${meta.command}\`

${meta.runs} run(s) per scenario and client, ${meta.records} records of about 100 bytes per run,
acks=all, a fresh topic per run with 3 partitions, replication factor 3, min.insync.replicas=2,
Apache Kafka ${meta.kafkaVersion} (3 local KRaft nodes, client traffic through TCP proxies).
Our producer with enable.idempotence=${meta.idempotence}; kcat (librdkafka) with
enable.idempotence=true. Started ${meta.startedAt}; the whole suite took ${(meta.seconds / 60).toFixed(1)} min.

- lost: reported delivered (kcat: not reported failed) but not in the log;
- duplicated: indexes found more than once in the log;
- reordered: per partition in offset order, first copies of an index lower than one before them;
- failed: reported failed; seconds: first record handed over to the last delivery report.

${summaryTable(results)}

## Runs

${runTable(results)}
${transactionsSection(results)}`;
}

export async function writeResults(results: readonly RunResult[], meta: SuiteMeta): Promise<void> {
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(join(RESULTS_DIR, "latest.md"), markdown(results, meta));
  await writeFile(
    join(RESULTS_DIR, "latest.json"),
    `${JSON.stringify({ meta, results }, null, 2)}\n`,
  );
}
