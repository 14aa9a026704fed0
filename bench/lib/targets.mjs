// The targets the bench holds this project to, each with its figure, librdkafka's from the same
// run, and met or not met. Rows whose runs are missing are left out (a partial run says less).
import { EVENTLOOP_CASE } from "./eventloop-case.mjs";
import { bestRuns, cpuPerRecord } from "./report.mjs";
import { MIN_RUN_SECONDS } from "./sizing.mjs";

/** The CLI's records/s from a file, at least this many times kcat's at 100 B. */
export const CLI_OVER_KCAT = 1.2;

const API_CLIENTS = [
  ["ours", "Buffer values"],
  ["ours-string", "string values"],
];

const fmtRate = (n) => Math.round(n).toLocaleString("en-US");
const fmtUs = (n) => `${n.toFixed(3)} µs`;

/** Lowest and highest CPU µs per record over the successful runs of one key. */
function cpuRange(runs) {
  const per = runs
    .filter((r) => r.ok)
    .map(cpuPerRecord)
    .filter((v) => v !== undefined);
  return per.length === 0 ? undefined : { low: Math.min(...per), high: Math.max(...per) };
}

function rateRange(runs) {
  const rates = runs.filter((r) => r.ok).map((r) => r.recordsPerSec);
  return rates.length === 0 ? undefined : { low: Math.min(...rates), high: Math.max(...rates) };
}

/** The rows of one comparison: each API client against kcat on the runs of one case. */
function apiRows(name, runsOf) {
  const rows = [];
  const kcat = runsOf("kcat");
  const kcatCpu = cpuRange(kcat);
  const kcatRate = rateRange(kcat);
  for (const [id, values] of API_CLIENTS) {
    const runs = runsOf(id);
    const cpu = cpuRange(runs);
    const rate = rateRange(runs);
    if (cpu !== undefined && kcatCpu !== undefined) {
      rows.push({
        target: "CPU per record ≤ librdkafka's",
        row: `${name}, ${values}`,
        ours: `${fmtUs(cpu.low)} (${fmtUs(cpu.high)} worst)`,
        peer: `${fmtUs(kcatCpu.low)} (${fmtUs(kcatCpu.high)} worst)`,
        ratio: cpu.low / kcatCpu.low,
        met: cpu.low <= kcatCpu.low,
      });
    }
    if (rate !== undefined && kcatRate !== undefined) {
      rows.push({
        target: "records/s ≥ librdkafka's",
        row: `${name}, ${values}`,
        ours: `${fmtRate(rate.high)} (${fmtRate(rate.low)} worst)`,
        peer: `${fmtRate(kcatRate.high)} (${fmtRate(kcatRate.low)} worst)`,
        ratio: rate.high / kcatRate.high,
        met: rate.high >= kcatRate.high,
      });
    }
  }
  return rows;
}

/** Every target the run's results can judge, in the order of the issue that set them. */
export function targetRows(results) {
  const rows = [];
  const e2e = results.e2e ?? [];
  for (const acks of [1, -1]) {
    const name = `100 B letters, acks=${acks === 1 ? "1" : "all"}`;
    rows.push(
      ...apiRows(name, (client) =>
        e2e.filter((r) => r.valueSize === 100 && r.acks === acks && r.client === client),
      ),
    );
  }
  const codecs = results.codecs ?? [];
  for (const codec of [...new Set(codecs.map((r) => r.codec))]) {
    rows.push(
      ...apiRows(`event lines, ${codec}`, (client) =>
        codecs.filter((r) => r.codec === codec && r.client === client && !r.notRun),
      ),
    );
  }
  const best = bestRuns(e2e);
  rows.push(...streamRows(best));
  for (const acks of [1, -1]) {
    const cli = best.get(`100|${acks}|cli`);
    const kcat = best.get(`100|${acks}|kcat`);
    if (!cli?.ok || !kcat?.ok) continue;
    const ratio = cli.recordsPerSec / kcat.recordsPerSec;
    rows.push({
      target: `CLI from a file ≥ ${CLI_OVER_KCAT}× kcat's records/s (whole process)`,
      row: `100 B letters, acks=${acks === 1 ? "1" : "all"}`,
      ours: fmtRate(cli.recordsPerSec),
      peer: fmtRate(kcat.recordsPerSec),
      ratio,
      met: ratio >= CLI_OVER_KCAT,
    });
  }
  const counted = [...e2e, ...codecs].filter((r) => r.ok && !r.notRun);
  if (counted.length > 0 && results.meta?.settings?.minRunSeconds !== undefined) {
    const shortest = counted.reduce((a, r) => (r.seconds < a.seconds ? r : a));
    rows.push({
      target: `every counted run lasts ≥ ${MIN_RUN_SECONDS} s`,
      row: `${counted.length} runs (e2e and codecs)`,
      ours: `shortest ${shortest.seconds.toFixed(2)} s (${shortest.client}, ${shortest.codec ?? `${shortest.valueSize} B acks=${shortest.acks}`})`,
      peer: "",
      ratio: undefined,
      met: shortest.seconds >= MIN_RUN_SECONDS,
    });
  }
  rows.push(...eventLoopRows(results.eventloop ?? []));
  rows.push(...hotpathRows(results.hotpath));
  return rows;
}

/** A pipeline into createWriteStream(), at least this share of produce()'s records/s. */
export const STREAM_OF_PRODUCE = 0.9;

/** The stream beside produce() in the same run, at 100 B and 1 KiB, best run of each. */
function streamRows(best) {
  const rows = [];
  for (const size of [100, 1024]) {
    for (const acks of [1, -1]) {
      const stream = best.get(`${size}|${acks}|ours-stream`);
      const produce = best.get(`${size}|${acks}|ours`);
      if (!stream?.ok || !produce?.ok) continue;
      const ratio = stream.recordsPerSec / produce.recordsPerSec;
      rows.push({
        target: `createWriteStream() pipeline ≥ ${STREAM_OF_PRODUCE * 100}% of produce()'s records/s`,
        row: `${size === 1024 ? "1 KiB" : `${size} B`} letters, acks=${acks === 1 ? "1" : "all"}`,
        ours: fmtRate(stream.recordsPerSec),
        peer: `produce() ${fmtRate(produce.recordsPerSec)}`,
        ratio,
        met: ratio >= STREAM_OF_PRODUCE,
      });
    }
  }
  return rows;
}

/**
 * CRC32C's aim: several times the 729 MB/s of the crc-32 package in the run that set the
 * target (Node 20, a loaded machine); the package in the same run is listed beside it.
 */
export const CRC_BASE_MBPS = 729;
export const CRC_OVER_BASE = 3;

/**
 * The hot path's pieces against their ceilings: CRC32C against the aim above, beside the
 * crc-32 package it replaced and Buffer.copy; each codec's compression beside the C library
 * on the same bytes (a figure, not judged: the C codecs are the ceiling, not a target).
 */
function hotpathRows(hotpath) {
  if (hotpath === undefined) return [];
  const rows = [];
  for (const c of hotpath.crc32c?.sizes ?? []) {
    if (!(c.crc32cMBps > 0)) continue;
    const ratio = c.crc32cMBps / CRC_BASE_MBPS;
    rows.push({
      target: `CRC32C ≥ ${CRC_OVER_BASE}× ${CRC_BASE_MBPS} MB/s (the crc-32 package when the target was set)`,
      row: `${Math.round(c.blockBytes / 1024)} KB blocks; Buffer.copy ${fmtRate(c.copyMBps)} MB/s`,
      ours: `${fmtRate(c.crc32cMBps)} MB/s`,
      peer:
        c.crc32cPackageMBps > 0
          ? `crc-32 package in this run ${fmtRate(c.crc32cPackageMBps)} MB/s (${(c.crc32cMBps / c.crc32cPackageMBps).toFixed(2)}×)`
          : "",
      ratio,
      met: ratio >= CRC_OVER_BASE,
    });
  }
  for (const size of hotpath.codecs?.sizes ?? []) {
    for (const [codec, ours] of Object.entries(size.ours ?? {})) {
      const c = size.c?.[codec];
      if (codec === "none" || !ours || !(c?.MBps > 0)) continue;
      rows.push({
        target: "compression MB/s beside the C library (a figure)",
        row: `${codec}, ${Math.round(size.inputBytes / 1024)} KB of event-line records`,
        ours: `${fmtRate(ours.MBps)} MB/s, ratio ${ours.ratio.toFixed(2)}`,
        peer: `${fmtRate(c.MBps)} MB/s, ratio ${c.ratio.toFixed(2)} (C)`,
        ratio: ours.MBps / c.MBps,
        met: undefined,
      });
    }
  }
  return rows;
}

/** The event loop's p99 and max over every run of ours, against their limits. */
function eventLoopRows(runs) {
  const t = EVENTLOOP_CASE.targets;
  const ours = runs.filter((r) => r.client === t.client && !r.notRun);
  if (ours.length === 0) return [];
  const ok = ours.filter((r) => r.ok);
  const rows = [];
  for (const [k, limit] of [
    ["p99", t.p99Ms],
    ["max", t.maxMs],
  ]) {
    const worst = ok.reduce(
      (w, r) => (w === undefined || r.delayMs[k] > w.delayMs[k] ? r : w),
      undefined,
    );
    const over = ok.filter((r) => r.delayMs[k] > limit).length;
    rows.push({
      target: `event-loop delay ${k} ≤ ${limit} ms, every codec and rate`,
      row: `1 KiB event lines, ${ours.length} runs`,
      ours:
        worst === undefined
          ? "no successful run"
          : `worst ${worst.delayMs[k].toFixed(2)} ms (${worst.codec}, ${fmtRate(worst.rate)}/s); ${over} over`,
      peer: "",
      ratio: undefined,
      met: worst !== undefined && over === 0 && ok.length === ours.length,
    });
  }
  return rows;
}

/** The targets as a markdown section, or nothing when no target could be judged. */
export function targetsSection(results) {
  const rows = targetRows(results);
  if (rows.length === 0) return [];
  const judged = rows.filter((r) => r.met !== undefined);
  const met = judged.filter((r) => r.met).length;
  const out = [
    `### Targets: ${met} of ${judged.length} met`,
    "",
    "Each against librdkafka (kcat) in the same run, or the hot path's pieces against their ceilings. CPU per record is our API's own CPU from the " +
      "first produce() to the end of close() (in the codec case with each file line made a " +
      "value as it is produced) beside kcat's whole process; records/s as in the tables below. Best of the " +
      "runs, the worst in brackets.",
    "",
    "| target | case | this project | librdkafka | ratio | met |",
    "|---|---|--:|--:|--:|---|",
  ];
  for (const r of rows) {
    const ratio = r.ratio === undefined ? "" : `${r.ratio.toFixed(2)}×`;
    out.push(
      `| ${r.target} | ${r.row} | ${r.ours} | ${r.peer} | ${ratio} | ${r.met === undefined ? "–" : r.met ? "met" : "**not met**"} |`,
    );
  }
  out.push("");
  return out;
}
