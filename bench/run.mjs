// `npm run bench`: end-to-end throughput of this producer beside the clients a user would pick
// instead, against one local Apache Kafka broker started here, throughput and compression
// ratio per codec beside librdkafka's, plus the hot path without the network. Writes
// bench/results/latest.{json,md}, bench/results/chart.svg and the table in bench/README.md.
// See bench/README.md for the method; `npm run bench -- --help` for options.
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureRuntime, RUNTIMES, scriptCommand } from "../test/runtimes/runtimes.mjs";
import { EVENT_MIN_SIZE, makeEventLines, writeDataFile, writeEventFile } from "./lib/data.mjs";
import { EVENTLOOP_CASE, eventLoopCase } from "./lib/eventloop-case.mjs";
import { killChildren, measureMethod, processCpuSeconds, runMeasured } from "./lib/measure.mjs";
import { PARTITIONS_CASE, partitionsCase } from "./lib/partitions-case.mjs";
import { javaVersion, PERF_CASE, perfCase } from "./lib/perf-case.mjs";
import {
  bestCodecRuns,
  bestRuns,
  CLIENTS,
  codecLines,
  toMarkdown,
  toSvg,
  updateReadme,
} from "./lib/report.mjs";
import { MIN_RUN_SECONDS, RunSizer } from "./lib/sizing.mjs";
import { connectAdmin } from "./lib/topics.mjs";
import { bestTxnRuns, TXN_CASE, txnCase } from "./lib/txn-case.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const resultsDir = join(here, "results");
const tmpDir = join(resultsDir, "tmp");

/** The codec case: codecs, records per run, runs per client and codec. */
const CODECS = ["none", "gzip", "snappy", "lz4", "zstd"];
const CODEC_RECORDS = 500_000;
const CODEC_REPEAT = 3;
const CODEC_CLIENTS = ["ours", "ours-string", "kcat"];

const USAGE = `Usage: npm run bench -- [options]     (or: node bench/run.mjs [options] after npm run build)

  --case all|e2e|codecs|perf|txn|partitions|eventloop|hotpath
                              what to run (default all); partitions: keyed records to
                              1, 100, 1,000 and 10,000 partitions, ours beside kcat;
                              txn: transactions of 100 ms, ours beside Java's
                              ProducerPerformance (written to bench/results/txn.*);
                              eventloop: event-loop delay at 50,000 and 100,000
                              records/s per codec, ours, KafkaJS, @platformatic/kafka
  --client LIST               clients, comma-separated (default ${CLIENTS.filter((c) => !c.optIn)
    .map((c) => c.id)
    .join(",")};
                              only when named: ${CLIENTS.filter((c) => c.optIn)
                                .map((c) => c.id)
                                .join(",")};
                              the codec case runs ours, ours-string and kcat only)
  --runtime LIST              also run the API client on these runtimes, each a client of its
                              own (ours@ID): ${RUNTIMES.map((r) => r.id).join(",")} or all;
                              fetched from the npm registry into test/runtimes/.cache
  --value LIST                value sizes in bytes (default 100,1024; codecs: 100)
  --acks LIST                 1 and/or -1 (default 1,-1; the codec case always uses acks=1)
  --codec LIST                codecs of the codec case (default ${CODECS.join(",")}; none is
                              always run, it is what the ratios divide by)
  --records N                 records per run for every client (default: e2e and codecs, a
                              first run per client and case, not counted, sizes the counted
                              runs to last ${MIN_RUN_SECONDS} s or more; txn ${TXN_CASE.records.toLocaleString("en-US")})
  --repeat N                  runs per client and case, the fastest is reported (default 3;
                              codecs 3, txn ${TXN_CASE.repeat})
  --bootstrap HOST:PORT       use this broker instead of starting one (or set KAFKA_BOOTSTRAP)
  --log-dir DIR               that broker's log.dirs, for the compression ratios (the broker
                              started here is found by itself)
  --save / --no-save          write bench/results/latest.* and the README table (default: only
                              when every case and client runs with the default record counts);
                              the txn case's bench/results/txn.* are written unless --records
                              or --no-save is given
  --keep-data                 keep the data files in bench/results/tmp/
  --timeout SECONDS           per client run (default 180)`;

/** Records per run when --records is not given: enough for ~1 s or more of the faster clients. */
function defaultRecords(client, valueSize) {
  if (client === "kafkajs") return valueSize <= 128 ? 300_000 : 100_000;
  return valueSize <= 128 ? 1_000_000 : 250_000;
}

const SETTINGS = { lingerMs: 5, batchBytes: 1_000_000 };
/** This project's API client yields to the event loop every chunkRecords produce() calls. */
const OURS = { chunkRecords: 1000 };
/** The runtime clients asked for (ours@ID): their command, [binary, ...flags], set in main(). */
const runtimeCommands = new Map();
/** Records per send() call and calls in flight for the clients without their own batching. */
const ARRAY_CLIENTS = {
  kafkajs: { batchRecords: 1000, concurrency: 4 },
  platformatic: { batchRecords: 500, concurrency: 2 },
};

function parseArgs(argv) {
  const o = {
    case: "all",
    clients: CLIENTS.filter((c) => !c.optIn).map((c) => c.id),
    values: [100, 1024],
    valuesGiven: false,
    acks: [1, -1],
    codecs: CODECS,
    records: undefined,
    repeat: 3,
    repeatGiven: false,
    bootstrap: process.env.KAFKA_BOOTSTRAP || undefined,
    logDir: undefined,
    save: undefined,
    keepData: false,
    timeoutSeconds: 180,
  };
  let selective = false;
  const list = (v, parse) => String(v).split(",").filter(Boolean).map(parse);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case "--help":
      case "-h":
        console.log(USAGE);
        process.exit(0);
        break;
      case "--case":
        o.case = next();
        if (
          !["all", "e2e", "codecs", "perf", "txn", "partitions", "eventloop", "hotpath"].includes(
            o.case,
          )
        )
          fail(`unknown case ${o.case}`);
        selective ||= o.case !== "all";
        break;
      case "--client":
        o.clients = list(next(), (c) => {
          if (!CLIENTS.some((k) => k.id === c)) fail(`unknown client ${c}`);
          return c;
        });
        selective = true;
        break;
      case "--runtime": {
        const v = next();
        const ids = v === "all" ? RUNTIMES.map((r) => r.id) : list(v, String);
        for (const id of ids) {
          if (!RUNTIMES.some((r) => r.id === id)) fail(`unknown runtime ${id}`);
          if (!o.clients.includes(`ours@${id}`)) o.clients.push(`ours@${id}`);
        }
        selective = true;
        break;
      }
      case "--value":
        o.values = list(next(), (v) => {
          const n = Number(v);
          if (!Number.isInteger(n) || n < 1 || n > 900_000) fail(`bad value size ${v}`);
          return n;
        });
        o.valuesGiven = true;
        selective = true;
        break;
      case "--acks":
        o.acks = list(next(), (v) => {
          if (v !== "1" && v !== "-1" && v !== "all") fail(`acks must be 1 or -1, got ${v}`);
          return v === "1" ? 1 : -1;
        });
        selective = true;
        break;
      case "--codec":
        o.codecs = list(next(), (c) => {
          if (!CODECS.includes(c)) fail(`unknown codec ${c} (${CODECS.join(", ")})`);
          return c;
        });
        if (!o.codecs.includes("none")) o.codecs.unshift("none");
        selective = true;
        break;
      case "--records":
        o.records = Number(next());
        if (!Number.isInteger(o.records) || o.records < 1)
          fail("--records needs a positive integer");
        selective = true;
        break;
      case "--repeat":
        o.repeat = Number(next());
        if (!Number.isInteger(o.repeat) || o.repeat < 1) fail("--repeat needs a positive integer");
        o.repeatGiven = true;
        break;
      case "--bootstrap":
        o.bootstrap = next();
        break;
      case "--log-dir":
        o.logDir = next();
        break;
      case "--save":
        o.save = true;
        break;
      case "--no-save":
        o.save = false;
        break;
      case "--keep-data":
        o.keepData = true;
        break;
      case "--timeout":
        o.timeoutSeconds = Number(next());
        break;
      default:
        fail(`unknown option ${a}`);
    }
  }
  o.saveGiven = o.save;
  o.save ??= !selective;
  return o;
}

function fail(message) {
  console.error(`bench: ${message}\n\n${USAGE}`);
  process.exit(2);
}

const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
const fmt = (n) => Math.round(n).toLocaleString("en-US");

// ---------------------------------------------------------------------------------------------
// The broker: test/broker/cli.mjs (the project's harness) in a child process.

/** The secured broker's SSL listener and CA, from the listing `cli.mjs --secure` prints. */
function tlsListener(stdout) {
  const bootstrap = /^\s+SSL\s+SSL\s+(\S+)$/m.exec(stdout)?.[1];
  const caFile = /^\s+CA\s+(\S+)$/m.exec(stdout)?.[1];
  return bootstrap && caFile ? { bootstrap, caFile } : undefined;
}

async function startBroker() {
  log("starting Apache Kafka (test/broker/cli.mjs --secure) ...");
  const child = spawn(process.execPath, [join(root, "test/broker/cli.mjs"), "--secure"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let pid;
  let tls;
  const bootstrap = await new Promise((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(
      () => reject(new Error(`broker not up after 300 s:\n${stderr}`)),
      300_000,
    );
    child.stdout.setEncoding("utf8").on("data", (d) => {
      stdout += d;
      const m = /KAFKA_BOOTSTRAP=(\S+)/.exec(stdout);
      tls = tlsListener(stdout);
      if (m && tls) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.stderr.setEncoding("utf8").on("data", (d) => {
      stderr += d;
      pid ??= Number(/pids (\d+)/.exec(stderr)?.[1]) || undefined;
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`broker harness exited (${code}) before it was ready:\n${stderr}`));
    });
  });
  // The pid line and the node's directory follow the bootstrap line on stderr.
  const nodeDir = () => /\[broker\] node 1: (\S+)/.exec(stderr)?.[1];
  for (let i = 0; i < 50 && (pid === undefined || nodeDir() === undefined); i++) await sleep(20);
  const version = /Apache Kafka (\S+),/.exec(stderr)?.[1];
  // test/broker/kafka.ts gives each node `<node dir>/data` as its log.dirs.
  const logDir = nodeDir() && join(nodeDir(), "data");
  log(
    `broker ${version ?? "?"} at ${bootstrap}, TLS at ${tls.bootstrap} (JVM pid ${pid ?? "?"}, log.dirs ${logDir ?? "?"})`,
  );
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    // A timer that is cleared: a pending one would hold the finished run open for 30 s.
    let timer;
    const timeout = new Promise((r) => {
      timer = setTimeout(() => r("timeout"), 30_000);
    });
    const how = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (how === "timeout") {
      child.kill("SIGKILL");
      if (pid) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }
  };
  return { bootstrap, tls, version, pid, logDir, stop, child };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// One e2e run: a fresh topic, one client process, the topic's record count afterwards.

function commandFor(client, { bootstrap, tls, topic, records, valueSize, acks, dataFile, codec }) {
  const node = process.execPath;
  const nodeSettings = (extra = {}) =>
    JSON.stringify({ bootstrap, topic, records, valueSize, acks, ...SETTINGS, ...extra });
  const runtime = runtimeCommands.get(client);
  if (runtime !== undefined) {
    const [cmd, ...flags] = runtime;
    return {
      cmd,
      args: [...flags, join(here, "clients/ours.mjs"), nodeSettings({ ...OURS })],
    };
  }
  switch (client) {
    case "ours":
    case "ours-string":
    case "ours-stream":
    case "ours-plain":
    case "ours-tls":
    case "ours-traced":
      return {
        cmd: node,
        args: [
          join(here, "clients/ours.mjs"),
          nodeSettings({
            ...OURS,
            ...(codec !== undefined && { codec, dataFile }),
            ...(client === "ours-plain" && { idempotence: false }),
            ...(client === "ours-traced" && { traced: true }),
            ...(client === "ours-string" && { strings: true }),
            ...(client === "ours-stream" && { stream: true }),
            ...(client === "ours-tls" && { bootstrap: tls.bootstrap, caFile: tls.caFile }),
          }),
        ],
      };
    case "kafkajs":
      return {
        cmd: node,
        args: [join(here, "clients/kafkajs.mjs"), nodeSettings(ARRAY_CLIENTS.kafkajs)],
        env: { KAFKAJS_NO_PARTITIONER_WARNING: "1" },
      };
    case "platformatic":
      return {
        cmd: node,
        args: [join(here, "clients/platformatic.mjs"), nodeSettings(ARRAY_CLIENTS.platformatic)],
      };
    case "sidecar":
      return { cmd: node, args: [join(here, "clients/sidecar.mjs"), nodeSettings()] };
    case "cli":
    case "cli-pipe": {
      const props = [
        `t.acks=${acks}`,
        `g.linger.ms=${SETTINGS.lingerMs}`,
        `g.batch.size=${SETTINGS.batchBytes}`,
        "g.compression.codec=none",
      ].join("&");
      const socket = `kafka:${bootstrap}/${topic}?${props}`;
      const cli = join(root, "dist/cli.js");
      if (client === "cli")
        return { cmd: node, args: [cli, "publish", socket], stdinFile: dataFile };
      // The same, but the records come through a pipe (cat), as from another program.
      return {
        cmd: "sh",
        args: ["-c", 'cat "$0" | "$1" "$2" publish "$3"', dataFile, node, cli, socket],
      };
    }
    case "kcat":
    case "kcat-idem":
    case "kcat-tls":
      return {
        cmd: "kcat",
        args: [
          "-P",
          "-b",
          client === "kcat-tls" ? tls.bootstrap : bootstrap,
          "-t",
          topic,
          "-l",
          dataFile,
          "-X",
          `acks=${acks}`,
          "-X",
          `linger.ms=${SETTINGS.lingerMs}`,
          "-X",
          `batch.size=${SETTINGS.batchBytes}`,
          ...(client === "kcat-idem" ? ["-X", "enable.idempotence=true"] : []),
          ...(client === "kcat-tls"
            ? ["-X", "security.protocol=ssl", "-X", `ssl.ca.location=${tls.caFile}`]
            : []),
          ...(codec === undefined ? ["-X", "compression.codec=none"] : ["-z", codec]),
        ],
      };
    default:
      throw new Error(`unknown client ${client}`);
  }
}

let topicSeq = 0;

/**
 * Bytes of the topic's log segments on the broker's disk: the record batches as stored, which
 * with the topic's default compression.type=producer are the batches as the client sent them.
 */
function topicLogBytes(logDir, topic) {
  let bytes = 0;
  let partitions = 0;
  for (const name of readdirSync(logDir)) {
    const dash = name.lastIndexOf("-");
    if (name.slice(0, dash) !== topic || !/^\d+$/.test(name.slice(dash + 1))) continue;
    partitions++;
    const dir = join(logDir, name);
    for (const f of readdirSync(dir)) if (f.endsWith(".log")) bytes += statSync(join(dir, f)).size;
  }
  if (partitions === 0) throw new Error(`no partition directories of ${topic} in ${logDir}`);
  return bytes;
}

/**
 * runOne(), with any error of the run's set-up recorded as a failed run instead of thrown.
 * `codec` makes it a codec-case run: the event lines file for every client, that codec.
 */
async function runSafely(ctx, client, valueSize, acks, records, codec) {
  try {
    return await runOne(ctx, client, valueSize, acks, records, codec);
  } catch (err) {
    log(`  ${client}: ${err.message}`);
    return {
      client,
      valueSize,
      acks,
      records,
      ...(codec !== undefined && { codec }),
      ok: false,
      recordsPerSec: 0,
      MBps: 0,
      seconds: 0,
      error: err.message,
    };
  }
}

/**
 * A counted run of `records` or, with `ctx.sizer`, of the records sized for `key`: the first
 * time a key is seen, a run of `records` (not counted) sizes it; a counted run still shorter
 * than MIN_RUN_SECONDS is run again with more records, up to three times.
 */
async function runCounted(ctx, key, client, valueSize, acks, records, codec) {
  if (ctx.sizer !== undefined && ctx.sizer.recordsFor(key) === undefined) {
    log(`  sizing ${client} for runs of ${MIN_RUN_SECONDS} s or more (not counted)`);
    ctx.sizer.learn(key, await runSafely(ctx, client, valueSize, acks, records, codec));
  }
  for (let attempt = 0; ; attempt++) {
    const n = ctx.sizer?.recordsFor(key) ?? records;
    const run = await runSafely(ctx, client, valueSize, acks, n, codec);
    if (ctx.sizer === undefined || !run.ok || run.seconds >= MIN_RUN_SECONDS || attempt === 3) {
      return run;
    }
    ctx.sizer.learn(key, run);
    log(`  ${client}: ${run.seconds.toFixed(2)} s is under ${MIN_RUN_SECONDS} s, run again`);
  }
}

async function runOne(ctx, client, valueSize, acks, records, codec) {
  const topic = `bench-${client.replace("@", "-on-")}-${valueSize}-${acks === 1 ? "a1" : "aall"}${codec ? `-${codec}` : ""}-${Date.now().toString(36)}-${topicSeq++}`;
  await ctx.admin.create(topic);
  const dataFile =
    codec !== undefined
      ? await ctx.eventFile(valueSize, records)
      : client.startsWith("cli") || client.startsWith("kcat")
        ? await ctx.dataFile(valueSize, records)
        : undefined;
  const { cmd, args, env, stdinFile } = commandFor(client, {
    bootstrap: ctx.bootstrap,
    tls: ctx.tls,
    topic,
    records,
    valueSize,
    acks,
    dataFile,
    codec,
  });
  const load1 = loadavg()[0];
  const brokerCpu0 = ctx.brokerPid ? processCpuSeconds(ctx.brokerPid) : undefined;
  const res = await runMeasured(cmd, args, {
    stdinFile,
    env,
    timeoutMs: ctx.timeoutSeconds * 1000,
  });
  const brokerCpu1 = ctx.brokerPid ? processCpuSeconds(ctx.brokerPid) : undefined;
  let logBytes;
  if (codec !== undefined && ctx.logDir) {
    try {
      logBytes = topicLogBytes(ctx.logDir, topic);
    } catch (err) {
      log(`  cannot measure the log of ${topic}: ${err.message}`);
    }
  }
  let verified;
  try {
    verified = await ctx.admin.recordCount(topic);
  } catch (err) {
    log(`  cannot count the records of ${topic}: ${err.message}`);
  }
  await ctx.admin.remove(topic).catch((err) => log(`  cannot delete ${topic}: ${err.message}`));

  let out = {};
  const line = res.stdout.trim().split("\n").filter(Boolean).pop();
  try {
    out = line ? JSON.parse(line) : {};
  } catch {
    out = {};
  }
  // The file-fed clients are timed like kcat must be: the whole process, start to exit.
  const inProcess =
    client === "ours" ||
    client === "ours-string" ||
    client === "ours-stream" ||
    client === "ours-plain" ||
    client === "ours-tls" ||
    client === "ours-traced" ||
    runtimeCommands.has(client) ||
    client === "kafkajs" ||
    client === "platformatic" ||
    client === "sidecar";
  const seconds = inProcess && typeof out.seconds === "number" ? out.seconds : res.wallSeconds;
  const delivered = typeof out.delivered === "number" ? out.delivered : verified;
  const ok = res.code === 0 && verified === records && (delivered ?? 0) === records;
  const run = {
    client,
    valueSize,
    acks,
    records,
    ...(codec !== undefined && { codec, logBytes, ...(out.stats && { stats: out.stats }) }),
    delivered,
    verified,
    failed: out.failed ?? (verified === undefined ? undefined : records - verified),
    ok,
    timing: inProcess ? "first record to last delivery report" : "process wall time",
    seconds,
    wallSeconds: res.wallSeconds,
    recordsPerSec: ok ? records / seconds : 0,
    MBps: ok ? (records * valueSize) / seconds / 1e6 : 0,
    cpuSeconds: res.cpuSeconds,
    // Our API clients' own CPU from the first produce() to the end of close().
    ...(typeof out.apiCpuSeconds === "number" && { apiCpuSeconds: out.apiCpuSeconds }),
    maxRssKb: res.maxRssKb,
    brokerCpuSeconds:
      brokerCpu0 !== undefined && brokerCpu1 !== undefined ? brokerCpu1 - brokerCpu0 : undefined,
    load1,
    ...(out.batchRecords && { batchRecords: out.batchRecords, concurrency: out.concurrency }),
    ...(out.self && { self: out.self }),
    ...(client.startsWith("cli") && out.msgs_per_s && { cliReported: out }),
    ...(!ok && {
      error: out.firstError ?? (res.stderr.trim().slice(-800) || `exit ${res.code ?? res.signal}`),
    }),
  };
  const rate = ok ? `${fmt(run.recordsPerSec)} rec/s, ${run.MBps.toFixed(1)} MB/s` : "FAILED";
  const stored = logBytes === undefined ? "" : `, log ${(logBytes / records).toFixed(1)} B/record`;
  log(
    `  ${client.padEnd(12)} ${fmt(records).padStart(9)} x ${valueSize} B acks=${acks}${codec ? ` ${codec}` : ""}: ${rate}${stored}` +
      ` | ${seconds.toFixed(2)} s, cpu ${run.cpuSeconds?.toFixed(2) ?? "?"} s${
        run.apiCpuSeconds === undefined ? "" : ` (API ${run.apiCpuSeconds.toFixed(2)} s)`
      }, rss ${
        run.maxRssKb ? Math.round(run.maxRssKb / 1024) : "?"
      } MB${run.brokerCpuSeconds === undefined ? "" : `, broker cpu ${run.brokerCpuSeconds.toFixed(2)} s`}`,
  );
  if (!ok) log(`    ${String(run.error).split("\n").join("\n    ")}`);
  return run;
}

// ---------------------------------------------------------------------------------------------
// The codec case: this project and librdkafka, the same file of event lines, one codec each run.

/** Which codecs this project can be configured with here, and why not where it cannot. */
async function probeCodecs(codecs) {
  const { resolveConfig } = await import("../dist/index.js");
  const out = {};
  for (const codec of codecs) {
    try {
      resolveConfig({ "compression.codec": codec });
      out[codec] = { available: true };
    } catch (err) {
      out[codec] = { available: false, reason: err.message };
    }
  }
  return out;
}

/** One of the event lines the codec case sends, for the table's description. */
function eventExample(values) {
  const size = values.find((v) => v >= EVENT_MIN_SIZE);
  if (size === undefined) return undefined;
  const lines = makeEventLines(size, 50);
  return lines.find((l) => l.includes("E_PIKE_BLOCKED")) ?? lines[0];
}

async function codecCase(ctx, opts, meta, clients, values, into) {
  const { records, repeat, ours } = meta.settings.codecs;
  if (!ctx.logDir) {
    log("codecs: the broker's log.dirs is unknown (--log-dir), so no compression ratios");
  }
  for (const valueSize of values) {
    if (valueSize < EVENT_MIN_SIZE) {
      log(`codecs: ${valueSize} B is too small for an event line (${EVENT_MIN_SIZE}+), skipped`);
      continue;
    }
    // Repetitions outermost, so each codec's runs are spread over the case's time.
    for (let rep = 0; rep < repeat; rep++) {
      for (const codec of opts.codecs) {
        log(`codecs: ${valueSize} B, ${codec}, round ${rep + 1} of ${repeat}`);
        const order = clients.map((_, i) => clients[(i + rep) % clients.length]);
        for (const client of order) {
          if (client.startsWith("ours") && !ours[codec]?.available) {
            if (rep === 0) {
              log(`  ours: ${codec} not run: ${ours[codec]?.reason}`);
              into.push({ client, codec, valueSize, acks: 1, records, ok: false, notRun: true });
            }
            continue;
          }
          const key = `codecs|${valueSize}|${codec}|${client}`;
          const run = await runCounted(ctx, key, client, valueSize, 1, records, codec);
          into.push({ ...run, rep });
        }
      }
    }
  }
}

function versions() {
  const pkg = (p) => {
    try {
      return JSON.parse(readFileSync(join(root, "node_modules", p, "package.json"), "utf8"))
        .version;
    } catch {
      return undefined;
    }
  };
  const kcat = spawnSync("kcat", ["-V"], { encoding: "utf8" });
  const kcatText = `${kcat.stdout ?? ""}${kcat.stderr ?? ""}`;
  return {
    node: process.version,
    kafkajs: pkg("kafkajs"),
    platformatic: pkg("@platformatic/kafka"),
    kcat: /Version (\S+)/.exec(kcatText)?.[1],
    librdkafka: /librdkafka (\S+)/.exec(kcatText)?.[1],
    ours: JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version,
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  if (!existsSync(join(root, "dist/index.js"))) fail("dist/ is missing: run `npm run build` first");
  mkdirSync(tmpDir, { recursive: true });
  for (const client of opts.clients) {
    const rt = CLIENTS.find((c) => c.id === client)?.runtime;
    if (rt === undefined) continue;
    try {
      runtimeCommands.set(client, scriptCommand(rt, await ensureRuntime(rt, log)));
    } catch (err) {
      fail(`${rt.label} ${rt.version} for ${client}: ${err.message}`);
    }
  }
  const startedAt = new Date();
  const meta = {
    date: startedAt.toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGB: Math.round(totalmem() / 2 ** 30),
    },
    versions: versions(),
    measureMethod,
    runtimes: Object.fromEntries(
      CLIENTS.filter((c) => c.runtime && runtimeCommands.has(c.id)).map((c) => [
        c.id,
        `${c.runtime.label} ${c.runtime.version}`,
      ]),
    ),
    loadBefore: loadavg(),
    settings: {
      ...SETTINGS,
      compression: "none",
      partitions: 3,
      replicationFactor: 1,
      arrayClients: ARRAY_CLIENTS,
      ours: OURS,
      // Without --records each counted run is sized to last at least this long.
      ...(opts.records === undefined && { minRunSeconds: MIN_RUN_SECONDS }),
    },
    repeat: opts.repeat,
  };
  log(
    `${meta.machine.cpus} cores, load ${meta.loadBefore.map((l) => l.toFixed(2)).join(" ")}; ` +
      `peak RSS and CPU by ${measureMethod}`,
  );
  const runE2e = opts.case === "all" || opts.case === "e2e";
  const runCodecs = opts.case === "all" || opts.case === "codecs";
  const runPerf = opts.case === "all" || opts.case === "perf";
  const runPartitions = opts.case === "all" || opts.case === "partitions";
  const runTxn = opts.case === "all" || opts.case === "txn";
  const runEventLoop = opts.case === "all" || opts.case === "eventloop";
  const codecClients = CODEC_CLIENTS.filter((c) => opts.clients.includes(c));
  const codecValues = opts.valuesGiven ? opts.values : [100];
  if (runCodecs) {
    meta.settings.codecs = {
      codecs: opts.codecs,
      records: opts.records ?? CODEC_RECORDS,
      // Without --records a first run of each client and codec sizes the counted ones.
      ...(opts.records === undefined && { sized: MIN_RUN_SECONDS }),
      repeat: opts.repeatGiven ? opts.repeat : CODEC_REPEAT,
      values: codecValues,
      acks: 1,
      data: "event lines (JSON-RPC, every one distinct), one file for every client",
      example: eventExample(codecValues),
      ratio: "log bytes on the broker with none ÷ with the codec, per client",
      ours: await probeCodecs(opts.codecs),
    };
  }
  const results = {
    meta,
    e2e: [],
    codecs: [],
    perf: [],
    txn: [],
    partitions: [],
    eventloop: [],
    rssScaling: undefined,
    hotpath: undefined,
  };
  const dataFiles = [];
  let broker;
  const cleanup = async () => {
    killChildren();
    await broker?.stop();
    broker = undefined;
    if (!opts.keepData) for (const f of dataFiles) rmSync(f, { force: true });
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.once(sig, () => {
      log(`${sig}: stopping`);
      cleanup().finally(() => process.exit(130));
    });
  }

  try {
    if (
      runE2e ||
      runPerf ||
      runTxn ||
      runPartitions ||
      runEventLoop ||
      (runCodecs && codecClients.length > 0)
    ) {
      if (opts.clients.includes("kcat") && spawnSync("kcat", ["-V"]).status !== 0) {
        log("kcat is not installed (apt-get install kcat): running without the librdkafka figures");
        opts.clients = opts.clients.filter((c) => !c.startsWith("kcat"));
        meta.skipped = ["librdkafka: kcat is not installed"];
      }
      let bootstrap = opts.bootstrap;
      if (bootstrap === undefined) {
        broker = await startBroker();
        bootstrap = broker.bootstrap;
        meta.versions.kafka = broker.version;
      } else {
        log(`using the broker at ${bootstrap}: no TLS listener, so no TLS rows`);
        opts.clients = opts.clients.filter((c) => !c.endsWith("-tls"));
      }
      meta.brokerStartedHere = broker !== undefined;
      // Each topic chore connects for itself (bench/lib/topics.mjs): nothing to disconnect.
      const admin = await connectAdmin(bootstrap);
      const files = new Map();
      const file = (name, write) => {
        const path = join(tmpDir, name);
        if (!files.has(path)) {
          files.set(path, write(path));
          dataFiles.push(path);
        }
        return files.get(path).then(() => path);
      };
      const ctx = {
        admin,
        bootstrap,
        tls: broker?.tls,
        brokerPid: broker?.pid,
        logDir: opts.logDir ?? broker?.logDir,
        timeoutSeconds: opts.timeoutSeconds,
        dataFile: (valueSize, records) =>
          file(`values-${valueSize}-${records}.txt`, (p) => writeDataFile(p, valueSize, records)),
        eventFile: (valueSize, records) =>
          file(`events-${valueSize}-${records}.txt`, (p) => writeEventFile(p, valueSize, records)),
        here,
        tmpDir,
        keepFile: (path) => dataFiles.push(path),
      };

      // Without --records, a first run of each client and case sizes its counted runs.
      ctx.sizer = opts.records === undefined ? new RunSizer() : undefined;
      // Warm the broker's JIT up (not counted): the first measured client must not pay for it.
      for (const warm of ["kcat", "ours"].filter((c) => opts.clients.includes(c))) {
        log(`warm-up: ${warm}, 300,000 x 100 B (not counted)`);
        await runSafely(ctx, warm, 100, 1, 300_000);
      }

      for (const valueSize of runE2e ? opts.values : []) {
        for (const acks of opts.acks) {
          log(`case ${valueSize} B, acks=${acks}`);
          // The idempotence variants only differ from the plain rows at acks=all.
          const clients = opts.clients.filter(
            (c) => acks !== 1 || (c !== "ours-plain" && c !== "kcat-idem"),
          );
          const key = (client) => `e2e|${valueSize}|${acks}|${client}`;
          for (let rep = 0; rep < opts.repeat; rep++) {
            // Each repetition starts with another client, so none always runs first.
            const n = clients.length;
            const order = clients.map((_, i) => clients[(i + rep) % n]);
            for (const client of order) {
              const records = opts.records ?? defaultRecords(client, valueSize);
              const run = await runCounted(ctx, key(client), client, valueSize, acks, records);
              results.e2e.push({ ...run, rep });
            }
          }
        }
      }

      // Peak RSS against the record count: the same run with a quarter of the records.
      if (
        runE2e &&
        opts.clients.includes("ours") &&
        opts.values.includes(100) &&
        opts.acks.includes(1)
      ) {
        const big = results.e2e
          .filter((r) => r.client === "ours" && r.valueSize === 100 && r.acks === 1)
          .sort((a, b) => b.recordsPerSec - a.recordsPerSec)[0];
        const full = big?.records ?? opts.records ?? defaultRecords("ours", 100);
        const quarter = Math.max(1, Math.floor(full / 4));
        log(`peak RSS against record count: ours with ${fmt(quarter)} records`);
        const small = await runSafely(ctx, "ours", 100, 1, quarter);
        results.rssScaling = {
          records: [quarter, full],
          maxRssKb: [small.maxRssKb, big?.maxRssKb],
          queueLimit: "queue.buffering.max.messages=100000, queue.buffering.max.kbytes=1048576",
        };
      }
      if (runPerf) {
        log("perf: event-kafka perf and Java's ProducerPerformance, at peak and at a fixed rate");
        const perf = await perfCase(ctx, log, results.perf);
        meta.settings.perf = { ...PERF_CASE, tools: perf.tools };
        if (perf.tools.includes("java")) meta.versions.java = javaVersion();
        if (perf.javaError)
          meta.skipped = [...(meta.skipped ?? []), `Java's tool: ${perf.javaError}`];
      }
      if (runTxn) {
        const records = opts.records ?? TXN_CASE.records;
        const repeat = opts.repeatGiven ? opts.repeat : TXN_CASE.repeat;
        meta.settings.txn = { ...TXN_CASE, records, repeat };
        log("txn: transactions of 100 ms, ours beside Java's ProducerPerformance");
        const txn = await txnCase(ctx, log, results.txn, { records, repeat });
        meta.settings.txn.tools = txn.tools;
        if (txn.tools.includes("java")) meta.versions.java ??= javaVersion();
        if (txn.javaError)
          meta.skipped = [...(meta.skipped ?? []), `Java's tool (txn): ${txn.javaError}`];
      }
      if (runPartitions) {
        meta.settings.partitionsCase = PARTITIONS_CASE;
        const clients = ["ours", "kcat"].filter((c) => opts.clients.includes(c));
        log("partitions: cost per record against the partition count, ours beside kcat");
        await partitionsCase(ctx, log, clients, results.partitions);
      }
      if (runCodecs) {
        // After the kcat check above, which may have dropped kcat from opts.clients.
        const clients = CODEC_CLIENTS.filter((c) => opts.clients.includes(c));
        await codecCase(ctx, opts, meta, clients, codecValues, results.codecs);
      }
      if (runEventLoop) {
        log("eventloop: event-loop delay at a fixed rate, per codec and client");
        const repeat = opts.repeatGiven ? opts.repeat : EVENTLOOP_CASE.repeat;
        const { clients, codecs } = opts;
        const into = results.eventloop;
        meta.settings.eventloop = await eventLoopCase(ctx, { log, into, repeat, clients, codecs });
      }
      if (broker) {
        log("stopping the broker");
        await broker.stop();
        broker = undefined;
      }
    }

    if (opts.case === "all" || opts.case === "hotpath") {
      log("hot path (bench/hotpath.mjs) ...");
      const args = [join(here, "hotpath.mjs"), "--json", "--value", opts.values.join(",")];
      const res = await runMeasured(process.execPath, args, { timeoutMs: 300_000 });
      if (res.code !== 0) throw new Error(`hotpath failed:\n${res.stderr}`);
      results.hotpath = JSON.parse(res.stdout.trim().split("\n").pop());
      for (const r of results.hotpath.records) {
        log(
          `  ${r.valueSize} B: producer ${fmt(r.producerRecordsPerSec)} rec/s, encoder ${fmt(
            r.encoderRecordsPerSec,
          )} rec/s, Buffer.copy ${fmt(r.copyRecordsPerSec)} rec/s`,
        );
      }
      for (const c of results.hotpath.crc32c.sizes) {
        const pkg = c.crc32cPackageMBps === null ? "n/a" : fmt(c.crc32cPackageMBps);
        log(
          `  crc32c ${fmt(c.crc32cMBps)} MB/s (crc-32 package ${pkg}), Buffer.copy ${fmt(c.copyMBps)} MB/s (${c.blockBytes >> 10} KB)`,
        );
      }
      for (const line of codecLines(results.hotpath.codecs)) log(`  ${line}`);
    }
  } finally {
    await cleanup();
  }

  meta.loadAfter = loadavg();
  meta.durationSeconds = (performance.now() - t0) / 1000;
  const md = toMarkdown(results);
  process.stdout.write(`\n${md}\n`);
  if (opts.save) {
    writeFileSync(join(resultsDir, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(resultsDir, "latest.md"), `${md}\n`);
    writeFileSync(join(resultsDir, "chart.svg"), toSvg(results));
    updateReadme(join(here, "README.md"), md);
    log("wrote bench/results/latest.json, latest.md, chart.svg and the table in bench/README.md");
  } else {
    writeFileSync(join(tmpDir, "partial.json"), `${JSON.stringify(results, null, 2)}\n`);
    log("partial run: wrote bench/results/tmp/partial.json (latest.* untouched; --save to keep)");
  }
  // The transactional case keeps results of its own, so `--case txn` need not replace latest.*.
  if (
    results.txn.length > 0 &&
    opts.saveGiven !== false &&
    (opts.records === undefined || opts.saveGiven === true)
  ) {
    const only = { meta, e2e: [], codecs: [], perf: [], txn: results.txn, partitions: [] };
    writeFileSync(join(resultsDir, "txn.json"), `${JSON.stringify(only, null, 2)}\n`);
    writeFileSync(join(resultsDir, "txn.md"), `${toMarkdown(only)}\n`);
    log("wrote bench/results/txn.json and txn.md");
  }
  log(`done in ${meta.durationSeconds.toFixed(0)} s`);
  const runs = [...results.e2e, ...results.codecs.filter((r) => !r.notRun)];
  const retried = runs.filter((r) => !r.ok).length;
  const failed = [
    ...bestRuns(results.e2e).values(),
    ...bestCodecRuns(results.codecs).values(),
    ...[...bestTxnRuns(results.txn).values()].map((r) => ({
      ...r,
      client: `txn ${r.tool}`,
      valueSize: TXN_CASE.valueSize,
      acks: TXN_CASE.acks,
    })),
  ].filter((r) => !r.ok && !r.notRun);
  if (retried > failed.length)
    log(`${retried - failed.length} run(s) failed, others of theirs did not`);
  if (failed.length > 0) {
    log(
      `no successful run: ${failed.map((r) => `${r.client} ${r.valueSize} B acks=${r.acks}${r.codec ? ` ${r.codec}` : ""}`).join(", ")}`,
    );
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(`bench: ${err?.stack ?? err}`);
  killChildren();
  process.exit(1);
});
