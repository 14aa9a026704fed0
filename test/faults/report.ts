/**
 * The results table: one row per scenario and client, summed over the runs, plus a row per
 * run; printed and written to test/faults/results/latest.md and latest.json.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RunResult } from "./run.js";

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
`;
}

export async function writeResults(results: readonly RunResult[], meta: SuiteMeta): Promise<void> {
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(join(RESULTS_DIR, "latest.md"), markdown(results, meta));
  await writeFile(
    join(RESULTS_DIR, "latest.json"),
    `${JSON.stringify({ meta, results }, null, 2)}\n`,
  );
}
