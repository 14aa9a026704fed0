// The perf case: `event-kafka perf` beside Kafka's own ProducerPerformance (the code behind
// kafka-producer-perf-test.sh, from Maven), at peak and at a fixed rate, with their latency
// percentiles. Both are timed by themselves (first record to last callback) and as whole
// processes (start to exit).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { processCpuSeconds, runMeasured } from "./measure.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const benchDir = dirname(here);
const root = dirname(benchDir);
export const JAVA_TOOLS_VERSION = "4.4.0";
const toolsDir = join(benchDir, ".cache", `kafka-tools-${JAVA_TOOLS_VERSION}`);

/** The perf case's runs: peak (no cap) and a fixed rate, 100 B records. */
export const PERF_CASE = {
  valueSize: 100,
  peak: { records: 1_000_000, acks: [1, -1], repeat: 3 },
  rate: { records: 500_000, perSecond: 50_000, acks: [1, -1], repeat: 1 },
};

/**
 * Kafka's kafka-tools jar and its runtime dependencies, gathered once by Maven into
 * bench/.cache/ (bench/java/pom.xml); the directory, or an Error saying why not.
 */
export function ensureJavaTools(log) {
  const marker = join(toolsDir, ".complete");
  if (existsSync(marker)) return toolsDir;
  log(`fetching kafka-tools ${JAVA_TOOLS_VERSION} with Maven (once) ...`);
  const staging = `${toolsDir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(dirname(toolsDir), { recursive: true });
  const res = spawnSync(
    "mvn",
    [
      "-B",
      "-q",
      "-f",
      join(benchDir, "java", "pom.xml"),
      "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies",
      "-DincludeScope=runtime",
      `-Dkafka.version=${JAVA_TOOLS_VERSION}`,
      `-DoutputDirectory=${staging}`,
    ],
    { encoding: "utf8", timeout: 600_000 },
  );
  const jar = `kafka-tools-${JAVA_TOOLS_VERSION}.jar`;
  if (res.status !== 0 || !existsSync(join(staging, jar))) {
    rmSync(staging, { recursive: true, force: true });
    return new Error(
      `mvn could not gather kafka-tools (exit ${res.status ?? res.error?.message}): ${(res.stdout + res.stderr).trim().slice(-400)}`,
    );
  }
  writeFileSync(join(staging, ".complete"), `${readdirSync(staging).sort().join("\n")}\n`);
  rmSync(toolsDir, { recursive: true, force: true });
  renameSync(staging, toolsDir);
  return toolsDir;
}

/** The Java tool's version line, e.g. "openjdk 17.0.x". */
export function javaVersion() {
  const res = spawnSync("java", ["-version"], { encoding: "utf8" });
  return (res.stderr || res.stdout).split("\n")[0]?.trim();
}

// 1000000 records sent, 352485.0 records/sec (33.62 MB/sec), 9.67 ms avg latency, 664.00 ms max
// latency, 8 ms 50th, 21 ms 95th, 32 ms 99th, 35 ms 99.9th.
const FINAL_LINE =
  /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, ([\d.]+) ms 50th, ([\d.]+) ms 95th, ([\d.]+) ms 99th, ([\d.]+) ms 99\.9th/;

/** The figures of a final line in Java's wording (both tools print one). */
export function parseFinalLine(text) {
  const lines = text.trim().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = FINAL_LINE.exec(lines[i]);
    if (!m) continue;
    const n = m.slice(1).map(Number);
    return {
      records: n[0],
      recordsPerSec: n[1],
      MiBps: n[2],
      latencyMs: { avg: n[3], max: n[4], p50: n[5], p95: n[6], p99: n[7], p99_9: n[8] },
    };
  }
  return undefined;
}

function commandFor(tool, { bootstrap, topic, records, acks, perSecond, jars }) {
  const { valueSize } = PERF_CASE;
  const throughput = String(perSecond ?? -1);
  if (tool === "ours") {
    return {
      cmd: process.execPath,
      args: [
        join(root, "dist/cli.js"),
        "perf",
        `kafka:${bootstrap}/${topic}?t.acks=${acks}&g.linger.ms=5&g.batch.size=1000000`,
        "--records",
        String(records),
        "--record-size",
        String(valueSize),
        "--throughput",
        throughput,
      ],
    };
  }
  return javaProducerPerformance({
    jars,
    topic,
    records,
    valueSize,
    throughput,
    properties: [
      `bootstrap.servers=${bootstrap}`,
      `acks=${acks === -1 ? "all" : acks}`,
      "linger.ms=5",
      "batch.size=1000000",
    ],
  });
}

/**
 * Apache Kafka's own perf tool (org.apache.kafka.tools.ProducerPerformance) from the broker's
 * jars: `extra` goes before the producer properties (e.g. its transaction flags).
 */
export function javaProducerPerformance({
  jars,
  topic,
  records,
  valueSize,
  throughput,
  extra = [],
  properties,
}) {
  return {
    cmd: "java",
    args: [
      "-Xmx512m",
      "-cp",
      `${jars}/*`,
      "org.apache.kafka.tools.ProducerPerformance",
      "--topic",
      topic,
      "--num-records",
      String(records),
      "--record-size",
      String(valueSize),
      "--throughput",
      throughput,
      ...extra,
      "--command-property",
      ...properties,
    ],
  };
}

let seq = 0;

/** One run of one tool: a fresh topic, the tool's own figures, the process measured from outside. */
async function runOne(ctx, tool, mode, acks, records, perSecond, jars) {
  const topic = `perf-${tool}-${mode}-${acks === 1 ? "a1" : "aall"}-${Date.now().toString(36)}-${seq++}`;
  await ctx.admin.create(topic);
  const { cmd, args } = commandFor(tool, {
    bootstrap: ctx.bootstrap,
    topic,
    records,
    acks,
    perSecond,
    jars,
  });
  const brokerCpu0 = ctx.brokerPid ? processCpuSeconds(ctx.brokerPid) : undefined;
  const res = await runMeasured(cmd, args, { timeoutMs: ctx.timeoutSeconds * 1000 });
  const brokerCpu1 = ctx.brokerPid ? processCpuSeconds(ctx.brokerPid) : undefined;
  let verified;
  try {
    verified = await ctx.admin.recordCount(topic);
  } catch {}
  await ctx.admin.remove(topic).catch(() => {});
  const figures = parseFinalLine(res.stdout);
  // Our tool sends one warm-up record before its clock starts.
  const expected = records + (tool === "ours" ? 1 : 0);
  const ok = res.code === 0 && figures !== undefined && verified === expected;
  return {
    tool,
    mode,
    acks,
    records,
    perSecond,
    ok,
    verified,
    ...figures,
    wallSeconds: res.wallSeconds,
    wholeProcessRecordsPerSec: ok ? records / res.wallSeconds : 0,
    cpuSeconds: res.cpuSeconds,
    maxRssKb: res.maxRssKb,
    brokerCpuSeconds:
      brokerCpu0 !== undefined && brokerCpu1 !== undefined ? brokerCpu1 - brokerCpu0 : undefined,
    ...(!ok && {
      error: res.stderr.trim().slice(-600) || `exit ${res.code}; verified ${verified}`,
    }),
  };
}

/** Every run of the perf case, into `into`; each round starts with the other tool. */
export async function perfCase(ctx, log, into) {
  const jars = ensureJavaTools(log);
  const tools = jars instanceof Error ? ["ours"] : ["ours", "java"];
  if (jars instanceof Error) log(`perf: without Java's tool: ${jars.message}`);
  const modes = [
    ["peak", PERF_CASE.peak, undefined],
    ["rate", PERF_CASE.rate, PERF_CASE.rate.perSecond],
  ];
  for (const [mode, spec, perSecond] of modes) {
    for (const acks of spec.acks) {
      for (let rep = 0; rep < spec.repeat; rep++) {
        const order = rep % 2 === 0 ? tools : [...tools].reverse();
        for (const tool of order) {
          const run = {
            ...(await runOne(ctx, tool, mode, acks, spec.records, perSecond, jars)),
            rep,
          };
          into.push(run);
          const l = run.latencyMs;
          log(
            run.ok
              ? `  perf ${tool.padEnd(4)} ${mode} acks=${acks}: ${Math.round(run.recordsPerSec)} rec/s, p50 ${l.p50} p99 ${l.p99} p99.9 ${l.p99_9} max ${l.max} ms | ${run.wallSeconds.toFixed(2)} s whole process`
              : `  perf ${tool} ${mode} acks=${acks}: FAILED ${run.error}`,
          );
        }
      }
    }
  }
  return { tools, javaError: jars instanceof Error ? jars.message : undefined };
}
