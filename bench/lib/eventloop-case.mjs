// The event-loop case: what producing costs the application's event loop. This project,
// KafkaJS and @platformatic/kafka each send 1 KiB event lines at a fixed rate for a few
// seconds with each codec (clients/paced.mjs), while perf_hooks.monitorEventLoopDelay()
// samples their event loop; p50, p99 and max delay and the CPU per record are reported, and
// this project's figures are held to the targets (p99 ≤ 5 ms, max ≤ 20 ms). A baseline run
// with no client, the same timer and histogram, shows what the machine alone gives.
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import { join } from "node:path";
import zlib from "node:zlib";
import { processCpuSeconds, runMeasured } from "./measure.mjs";

export const EVENTLOOP_CASE = {
  rates: [50_000, 100_000],
  seconds: 5,
  /** Paced at the same rate before the window, not judged: the JIT warms up in it. */
  warmupSeconds: 1,
  valueSize: 1024,
  codecs: ["none", "gzip", "snappy", "lz4", "zstd"],
  clients: ["ours", "kafkajs", "platformatic"],
  acks: 1,
  lingerMs: 5,
  batchBytes: 1_000_000,
  /** The pacing timer's period: each tick hands over the records due since the start. */
  tickMs: 10,
  /** Calls outstanding at most, for the clients that take arrays. */
  maxInFlight: 4,
  partitions: 3,
  repeat: 1,
  data: "event lines (JSON-RPC, makeEventLines(1024, 16384), every one distinct), cycled",
  /** Held against every run of `client`: the delay's p99 and max, ms. */
  targets: { client: "ours", p99Ms: 5, maxMs: 20 },
};

const CLIENT_NAMES = {
  ours: "this project",
  kafkajs: "KafkaJS",
  platformatic: "@platformatic/kafka",
  idle: "no client (baseline)",
};

const require = createRequire(import.meta.url);
const resolvable = (name) => {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
};

/**
 * Which codecs each client can run here: { [client]: { [codec]: { available, reason? } } }.
 * Ours asks the producer's own resolveConfig() (dist/, built for this Node, the clients'
 * Node: they run under process.execPath); KafkaJS has gzip built in and needs a plugin for
 * the rest (only kafkajs-snappy is installed); @platformatic/kafka brings snappy and lz4
 * and takes zstd from node:zlib when that has it.
 */
export async function codecAvailability(clients, codecs) {
  const out = {};
  for (const client of clients) {
    out[client] = {};
    for (const codec of codecs) out[client][codec] = { available: true };
  }
  if (out.ours) {
    const { resolveConfig } = await import("../../dist/index.js");
    for (const codec of codecs) {
      try {
        resolveConfig({ "compression.codec": codec });
      } catch (err) {
        out.ours[codec] = { available: false, reason: err.message };
      }
    }
  }
  if (out.kafkajs) {
    const plugins = { snappy: "kafkajs-snappy", lz4: "kafkajs-lz4", zstd: "@kafkajs/zstd" };
    for (const codec of codecs) {
      const plugin = plugins[codec];
      if (plugin === undefined) continue;
      // The paced client registers kafkajs-snappy only; the other plugins are not installed.
      if (codec !== "snappy" || !resolvable(plugin)) {
        out.kafkajs[codec] = {
          available: false,
          reason: `KafkaJS has no ${codec} codec of its own and its plugin (${plugin}) is not installed`,
        };
      }
    }
  }
  if (out.platformatic && typeof zlib.zstdCompressSync !== "function" && out.platformatic.zstd) {
    out.platformatic.zstd = {
      available: false,
      reason: `@platformatic/kafka takes zstd from node:zlib, which Node ${process.version} lacks (22.15+)`,
    };
  }
  return out;
}

/** Whether a run meets the targets: each of p99 and max, and both. */
export function meetsTargets(delayMs, targets = EVENTLOOP_CASE.targets) {
  const p99 = delayMs !== undefined && delayMs.p99 <= targets.p99Ms;
  const max = delayMs !== undefined && delayMs.max <= targets.maxMs;
  return { p99, max, met: p99 && max };
}

/**
 * The run a table row shows among the runs of one client, codec and rate: the successful one
 * with the median p99 (the upper of the two middle ones), or a failed one when none succeeded.
 */
export function medianRun(runs) {
  const ok = runs.filter((r) => r.ok).sort((a, b) => a.delayMs.p99 - b.delayMs.p99);
  if (ok.length === 0) return runs[0];
  return ok[Math.floor(ok.length / 2)];
}

let seq = 0;

/** One run of one client at one rate and codec: a fresh topic, the client's figures, a count. */
async function runOne(ctx, client, rate, codec) {
  const c = EVENTLOOP_CASE;
  const idle = client === "idle";
  const topic = `bench-evloop-${client}-${rate}-${codec}-${Date.now().toString(36)}-${seq++}`;
  if (!idle) await ctx.admin.create(topic, c.partitions);
  const settings = {
    client,
    bootstrap: ctx.bootstrap,
    topic,
    rate: idle ? 0 : rate,
    seconds: c.seconds,
    valueSize: c.valueSize,
    codec,
    acks: c.acks,
    lingerMs: c.lingerMs,
    batchBytes: c.batchBytes,
    tickMs: c.tickMs,
    maxInFlight: c.maxInFlight,
    warmupSeconds: c.warmupSeconds,
  };
  const load1 = loadavg()[0];
  const brokerCpu0 = ctx.brokerPid ? processCpuSeconds(ctx.brokerPid) : undefined;
  const res = await runMeasured(
    process.execPath,
    [join(ctx.here, "clients/paced.mjs"), JSON.stringify(settings)],
    { env: { KAFKAJS_NO_PARTITIONER_WARNING: "1" }, timeoutMs: ctx.timeoutSeconds * 1000 },
  );
  const brokerCpu1 = ctx.brokerPid ? processCpuSeconds(ctx.brokerPid) : undefined;
  let verified;
  if (!idle) {
    try {
      verified = await ctx.admin.recordCount(topic);
    } catch {}
    await ctx.admin.remove(topic).catch(() => {});
  }
  let out = {};
  try {
    out = JSON.parse(res.stdout.trim().split("\n").filter(Boolean).pop() ?? "{}");
  } catch {}
  // The topic holds the first record and the warm-up's too.
  const expected =
    out.handed === undefined ? undefined : out.handed + (idle ? 0 : 1 + (out.warmup?.handed ?? 0));
  const ok =
    res.code === 0 &&
    out.delayMs !== undefined &&
    (idle || (out.failed === 0 && out.delivered === out.handed && verified === expected));
  return {
    client,
    codec,
    rate: idle ? 0 : rate,
    ok,
    ...out,
    verified,
    cpuUsPerRecord: out.handed > 0 ? (out.cpu.toDeliveredSeconds / out.handed) * 1e6 : undefined,
    wholeProcessCpuSeconds: res.cpuSeconds,
    maxRssKb: res.maxRssKb,
    wallSeconds: res.wallSeconds,
    brokerCpuSeconds:
      brokerCpu0 !== undefined && brokerCpu1 !== undefined ? brokerCpu1 - brokerCpu0 : undefined,
    load1,
    ...(!ok && {
      error:
        out.firstError ??
        (res.stderr.trim().slice(-600) ||
          `exit ${res.code ?? res.signal}; delivered ${out.delivered} of ${out.handed}, topic ${verified}`),
    }),
  };
}

/**
 * Every run of the case. `ctx` is bench/run.mjs's context (admin, bootstrap, brokerPid, here,
 * timeoutSeconds); `opts`: log, repeat, clients, codecs, and `into`, the array the runs go to.
 * Each round runs every rate, each after a baseline run, and every codec, each with every client (the order
 * of the clients turning each round); a cell a client cannot run is recorded once as not run,
 * with the reason. Returns the settings and availability, for the results' meta.
 */
export async function eventLoopCase(ctx, opts) {
  const c = EVENTLOOP_CASE;
  const { log, into } = opts;
  const repeat = opts.repeat ?? c.repeat;
  const clients = c.clients.filter((x) => opts.clients?.includes(x) ?? true);
  const codecs = c.codecs.filter((x) => opts.codecs?.includes(x) ?? true);
  const availability = await codecAvailability(clients, codecs);
  for (let rep = 0; rep < repeat; rep++) {
    for (const rate of c.rates) {
      // The baseline before each rate's runs: the machine's load moves within a round.
      const base = { ...(await runOne(ctx, "idle", 0, "none")), rep };
      into.push(base);
      log(
        base.ok
          ? `  eventloop baseline (no client): p50 ${base.delayMs.p50.toFixed(2)} p99 ${base.delayMs.p99.toFixed(2)} max ${base.delayMs.max.toFixed(2)} ms, load ${base.load1.toFixed(2)}`
          : `  eventloop baseline: FAILED ${base.error}`,
      );
      for (const codec of codecs) {
        const order = clients.map((_, i) => clients[(i + rep) % clients.length]);
        for (const client of order) {
          const a = availability[client][codec];
          if (!a.available) {
            if (rep === 0) {
              log(`  eventloop ${client} ${codec}: not run: ${a.reason}`);
              into.push({ client, codec, rate, ok: false, notRun: true, reason: a.reason, rep });
            }
            continue;
          }
          const run = { ...(await runOne(ctx, client, rate, codec)), rep };
          into.push(run);
          const d = run.delayMs;
          log(
            run.ok
              ? `  eventloop ${client.padEnd(12)} ${String(rate).padStart(6)}/s ${codec.padEnd(6)}: ${Math.round(run.achievedPerSec)} rec/s, delay p50 ${d.p50.toFixed(2)} p99 ${d.p99.toFixed(2)} max ${d.max.toFixed(2)} ms, cpu ${run.cpuUsPerRecord.toFixed(2)} µs/record, load ${run.load1.toFixed(2)}`
              : `  eventloop ${client} ${rate}/s ${codec}: FAILED ${run.error}`,
          );
        }
      }
    }
  }
  return { ...c, repeat, clients, codecs, availability };
}

const ms = (v) => (v === undefined ? "?" : v.toFixed(2));
const int = (n) => Math.round(n).toLocaleString("en-US");

/** The case's section of the results' markdown: `results.eventloop`, `results.meta`. */
export function eventLoopSection(results) {
  const runs = results.eventloop ?? [];
  const spec = results.meta?.settings?.eventloop ?? EVENTLOOP_CASE;
  const t = spec.targets ?? EVENTLOOP_CASE.targets;
  const out = [];
  out.push("### Event loop under a paced load");
  out.push("");
  out.push(
    `Each client sends ${int(spec.valueSize)} B event lines (compressible JSON, every one distinct) ` +
      `at a fixed rate for ${spec.seconds} s: every ${spec.tickMs} ms it is handed the records due ` +
      "since the start (a late tick catches up) — one `produce()` each for this project " +
      `(acks=${spec.acks}, linger.ms=${spec.lingerMs}, batch.size=${spec.batchBytes}), one send() ` +
      `array per tick for KafkaJS and @platformatic/kafka, not awaited, at most ${spec.maxInFlight} ` +
      "in flight — one process and a fresh topic of 3 partitions per run, every record counted in " +
      "the topic afterwards. The event loop's delay is perf_hooks.monitorEventLoopDelay({ resolution: 1 }) " +
      `over the sending window, after ${spec.warmupSeconds ?? 0} s at the same rate that is not judged ` +
      "(a cold process stalls while the JIT compiles the send path; its p99 and max are listed apart), " +
      "as Node reports it (the 1 ms sampling period included: an idle loop " +
      "reads about 1.1 ms). CPU per record is the process's CPU (process.cpuUsage) from the first tick " +
      "to the last delivery ÷ records; CPU % is its share of one core over the window. " +
      `Targets for this project, every run: p99 ≤ ${t.p99Ms} ms and max ≤ ${t.maxMs} ms. ` +
      `${spec.repeat > 1 ? `${spec.repeat} runs per cell; the row shows the run with the median p99, the met column counts every run. ` : ""}` +
      `This machine has ${results.meta?.machine?.cpus ?? "?"} cores shared with the broker and other work: ` +
      "the baseline row (no client, the same timer and histogram) shows what the machine alone gives.",
  );
  out.push("");
  const baseline = runs.filter((r) => r.client === "idle" && r.ok);
  if (baseline.length > 0) {
    const worst = (k) => Math.max(...baseline.map((r) => r.delayMs[k]));
    const loads = baseline.map((r) => r.load1.toFixed(2)).join(", ");
    out.push(
      `Baseline, no client (${baseline.length} run${baseline.length > 1 ? "s" : ""}, one before each rate's runs, the worst of each): ` +
        `p50 ${ms(worst("p50"))}, p99 ${ms(worst("p99"))}, max ${ms(worst("max"))} ms; load average (1 min) as they started: ${loads}. ` +
        "The load as each run started is in the JSON (`load1`).",
    );
    out.push("");
  }
  out.push(
    `| client | codec | rate/s | achieved rec/s | p50 ms | p99 ms | max ms | warm-up p99 / max ms | CPU µs/record | CPU % of a core | p99 ≤ ${t.p99Ms} ms, max ≤ ${t.maxMs} ms |`,
  );
  out.push("|---|---|--:|--:|--:|--:|--:|--:|--:|:-:|");
  const cells = new Map();
  for (const r of runs) {
    if (r.client === "idle") continue;
    const key = `${r.rate}|${r.codec}|${r.client}`;
    if (!cells.has(key)) cells.set(key, []);
    cells.get(key).push(r);
  }
  const notRun = [];
  for (const rate of spec.rates) {
    for (const codec of spec.codecs) {
      for (const client of spec.clients) {
        const cell = cells.get(`${rate}|${codec}|${client}`);
        if (!cell) continue;
        const name = CLIENT_NAMES[client] ?? client;
        if (cell[0].notRun) {
          const line = `${name} ${codec}: ${cell[0].reason}`;
          if (!notRun.includes(line)) notRun.push(line);
          out.push(`| ${name} | ${codec} | ${int(rate)} | not run (below) | | | | | | | |`);
          continue;
        }
        const r = medianRun(cell);
        const judged = client === t.client;
        const ok = cell.filter((x) => x.ok);
        const metCount = ok.filter((x) => meetsTargets(x.delayMs, t).met).length;
        const met = !judged
          ? "–"
          : metCount === cell.length
            ? "met"
            : `**not met**${cell.length > 1 ? ` (${metCount} of ${cell.length})` : ""}`;
        if (!r.ok) {
          out.push(`| ${name} | ${codec} | ${int(rate)} | failed | | | | | | | ${met} |`);
          continue;
        }
        const d = r.delayMs;
        out.push(
          `| ${name} | ${codec} | ${int(rate)} | ${int(r.achievedPerSec)} | ${ms(d.p50)} | ${ms(d.p99)} | ${ms(d.max)} | ${r.warmup ? `${ms(r.warmup.delayMs.p99)} / ${ms(r.warmup.delayMs.max)}` : ""} | ${r.cpuUsPerRecord.toFixed(2)} | ${Math.round((r.cpu.windowSeconds / r.windowSeconds) * 100)} | ${met} |`,
        );
      }
    }
  }
  out.push("");
  // The targets, over every run of this project.
  const ours = runs.filter((r) => r.client === t.client && !r.notRun);
  if (ours.length > 0) {
    const okRuns = ours.filter((r) => r.ok);
    const failed = ours.length - okRuns.length;
    const worstBy = (k) =>
      okRuns.reduce((w, r) => (w === undefined || r.delayMs[k] > w.delayMs[k] ? r : w), undefined);
    const where = (r) => `${r.codec}, ${int(r.rate)}/s`;
    out.push("| target (this project, every run) | figures | met |");
    out.push("|---|---|:-:|");
    for (const [k, limit, label] of [
      ["p99", t.p99Ms, `event-loop delay p99 ≤ ${t.p99Ms} ms`],
      ["max", t.maxMs, `event-loop delay max ≤ ${t.maxMs} ms`],
    ]) {
      const w = worstBy(k);
      const over = okRuns.filter((r) => r.delayMs[k] > limit);
      out.push(
        `| ${label} | ${w ? `worst ${ms(w.delayMs[k])} ms (${where(w)}); over the limit in ${over.length} of ${okRuns.length} runs${over.length ? `: ${over.map(where).join("; ")}` : ""}` : "no successful run"}${failed ? `; ${failed} run(s) failed` : ""} | ${w && over.length === 0 && failed === 0 ? "met" : "**not met**"} |`,
      );
    }
    out.push("");
  }
  if (notRun.length > 0) {
    out.push(`Not run: ${notRun.join("; ")}.`);
    out.push("");
  }
  return out;
}
