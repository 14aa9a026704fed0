// The transactional case: this project's transactional producer through its API
// (clients/ours-txn.mjs) beside Kafka's own ProducerPerformance with --transactional-id and
// --transaction-duration-ms, in the same run: 100 B records, transactions committed once they
// have been open 100 ms, acks=all, linger.ms=5, batch.size=1000000, a fresh topic of 3
// partitions per run. Records/s and latency are each client's own figures; CPU is the whole
// process's (GNU time); the transactions committed are counted in the topic's log on the
// broker's disk (the commit markers), for both clients alike, and our client's own count is
// checked against it.
import { closeSync, openSync, readdirSync, readSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { processCpuSeconds, runMeasured } from "./measure.mjs";
import { ensureJavaTools, javaProducerPerformance, parseFinalLine } from "./perf-case.mjs";

export const TXN_CASE = {
  valueSize: 100,
  /**
   * At least 3 s of our client up to 1,600,000 records/s (above its e2e peak without
   * transactions here; it did 780,000 in transactions on a busy machine); Java's takes longer.
   */
  records: 5_000_000,
  /** Every run must last at least this long (first record to last commit); shorter ones are flagged. */
  minSeconds: 3,
  transactionMs: 100,
  acks: -1,
  lingerMs: 5,
  batchBytes: 1_000_000,
  /** produce() calls between turns of our client's event loop, as in the e2e case. */
  chunkRecords: 1000,
  partitions: 3,
  repeat: 3,
  /**
   * An uncounted run of our client first, so neither client pays for the broker's transaction
   * paths warming up (after one of 300,000 records the first measured run was still the slowest
   * of ours in each of three invocations).
   */
  warmupRecords: 1_000_000,
};

// ---------------------------------------------------------------------------------------------
// What the topic's log holds: record batches (v2 format) read from the segment files.

const BATCH_HEADER = 61;
const ATTR_TRANSACTIONAL = 0x10;
const ATTR_CONTROL = 0x20;
const MARKER_GAP_MS = 20;

/** A zig-zag varint at `pos`: [value, next position]. */
function varint(buf, pos) {
  let raw = 0;
  let shift = 0;
  for (;;) {
    const b = buf[pos++];
    raw += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
  }
  return [raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2, pos];
}

/**
 * Walks the batches of every segment of `topic` in `logDir` (only the headers, and the one
 * record of each control batch): the data records, transactional or not, and the commit and
 * abort markers. Transactions committed are counted from the commit markers: the coordinator
 * writes one to each partition of a transaction, stamped with the producer id and epoch and
 * with the time it wrote them. Under Transactions v2 (KIP-890) every transaction has an epoch
 * of its own, so the distinct (producer id, epoch) are the transactions; under v1 the epoch
 * stays, so within one (id, epoch) markers less than MARKER_GAP_MS apart count as one
 * transaction (a transaction here is open 100 ms, and the markers of one are written within a
 * millisecond or two of each other).
 */
export function transactionLog(logDir, topic) {
  const out = {
    dataRecords: 0,
    transactionalRecords: 0,
    dataBatches: 0,
    commitMarkers: 0,
    abortMarkers: 0,
    transactions: 0,
    epochs: 0,
    partitions: 0,
  };
  /** Commit marker times per producer id and epoch. */
  const commits = new Map();
  const header = Buffer.alloc(BATCH_HEADER + 32);
  for (const name of readdirSync(logDir)) {
    const dash = name.lastIndexOf("-");
    if (name.slice(0, dash) !== topic || !/^\d+$/.test(name.slice(dash + 1))) continue;
    out.partitions++;
    const dir = join(logDir, name);
    for (const f of readdirSync(dir).filter((x) => x.endsWith(".log"))) {
      const fd = openSync(join(dir, f), "r");
      try {
        for (let pos = 0; ; ) {
          const n = readSync(fd, header, 0, header.length, pos);
          if (n < BATCH_HEADER) break;
          const batchLength = header.readInt32BE(8);
          if (batchLength <= 0) break; // preallocated zeros past the end
          if (header.readInt8(16) !== 2) throw new Error(`${name}/${f}: batch magic is not 2`);
          const attributes = header.readInt16BE(21);
          const count = header.readInt32BE(57);
          if ((attributes & ATTR_CONTROL) === 0) {
            out.dataBatches++;
            out.dataRecords += count;
            if (attributes & ATTR_TRANSACTIONAL) out.transactionalRecords += count;
          } else {
            // Control record: length, attributes, timestamp delta, offset delta, key length,
            // then the key: version int16, type int16 (0 abort, 1 commit).
            let p = BATCH_HEADER;
            [, p] = varint(header, p); // record length
            p += 1; // attributes
            [, p] = varint(header, p); // timestamp delta
            [, p] = varint(header, p); // offset delta
            [, p] = varint(header, p); // key length
            const type = header.readInt16BE(p + 2);
            const producerId = header.readBigInt64BE(43);
            const epoch = header.readInt16BE(51);
            const time = header.readBigInt64BE(35);
            if (type === 1) {
              out.commitMarkers++;
              const key = `${producerId}:${epoch}`;
              const times = commits.get(key);
              if (times === undefined) commits.set(key, [Number(time)]);
              else times.push(Number(time));
            } else if (type === 0) out.abortMarkers++;
          }
          pos += 12 + batchLength;
        }
      } finally {
        closeSync(fd);
      }
    }
  }
  if (out.partitions === 0) throw new Error(`no partition directories of ${topic} in ${logDir}`);
  out.epochs = commits.size;
  for (const times of commits.values()) {
    times.sort((a, b) => a - b);
    out.transactions++;
    for (let i = 1; i < times.length; i++) {
      if (times[i] - times[i - 1] >= MARKER_GAP_MS) out.transactions++;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function commandFor(tool, { bootstrap, topic, records, transactionalId, jars, here }) {
  const s = TXN_CASE;
  if (tool === "ours") {
    return {
      cmd: process.execPath,
      args: [
        join(here, "clients/ours-txn.mjs"),
        JSON.stringify({
          bootstrap,
          topic,
          records,
          valueSize: s.valueSize,
          acks: s.acks,
          lingerMs: s.lingerMs,
          batchBytes: s.batchBytes,
          chunkRecords: s.chunkRecords,
          transactionMs: s.transactionMs,
          transactionalId,
        }),
      ],
    };
  }
  return javaProducerPerformance({
    jars,
    topic,
    records,
    valueSize: s.valueSize,
    throughput: "-1",
    extra: [
      "--transactional-id",
      transactionalId,
      "--transaction-duration-ms",
      String(s.transactionMs),
    ],
    properties: [
      `bootstrap.servers=${bootstrap}`,
      "acks=all",
      `linger.ms=${s.lingerMs}`,
      `batch.size=${s.batchBytes}`,
    ],
  });
}

let seq = 0;

/** One run of one client: a fresh topic and transactional id, its figures, its log afterwards. */
async function runOne(ctx, tool, records, jars, warmup = false) {
  const id = `${Date.now().toString(36)}-${seq++}`;
  const topic = `bench-txn-${tool}-${id}`;
  const transactionalId = `bench-txn-${tool}-${id}`;
  await ctx.admin.create(topic, TXN_CASE.partitions);
  const { cmd, args } = commandFor(tool, {
    bootstrap: ctx.bootstrap,
    topic,
    records,
    transactionalId,
    jars,
    here: ctx.here,
  });
  // The machine's load as the run starts (2 cores shared with other work here).
  const load1 = loadavg()[0];
  const brokerCpu0 = ctx.brokerPid ? processCpuSeconds(ctx.brokerPid) : undefined;
  const res = await runMeasured(cmd, args, { timeoutMs: ctx.timeoutSeconds * 1000 });
  const brokerCpu1 = ctx.brokerPid ? processCpuSeconds(ctx.brokerPid) : undefined;
  let log;
  let logError;
  if (ctx.logDir) {
    try {
      log = transactionLog(ctx.logDir, topic);
    } catch (err) {
      logError = err.message;
    }
  }
  // Without the log: the high watermarks, which count the commit markers too.
  let offsets;
  try {
    offsets = await ctx.admin.recordCount(topic);
  } catch {}
  await ctx.admin.remove(topic).catch(() => {});
  if (warmup) return { ok: res.code === 0, wallSeconds: res.wallSeconds };

  let figures;
  let out = {};
  if (tool === "ours") {
    try {
      out = JSON.parse(res.stdout.trim().split("\n").filter(Boolean).pop() ?? "{}");
    } catch {}
    if (typeof out.seconds === "number" && out.latencyMs) {
      figures = {
        recordsPerSec: out.delivered / out.seconds,
        MiBps: (out.delivered * TXN_CASE.valueSize) / out.seconds / 2 ** 20,
        seconds: out.seconds,
        latencyMs: out.latencyMs,
      };
    }
  } else {
    const f = parseFinalLine(res.stdout);
    if (f) figures = { ...f, seconds: f.records / f.recordsPerSec };
  }
  const delivered = tool === "ours" ? out.delivered : figures?.records;
  const verified = log ? log.dataRecords === records && log.abortMarkers === 0 : undefined;
  const ok =
    res.code === 0 &&
    figures !== undefined &&
    delivered === records &&
    (verified ?? (offsets !== undefined && offsets > records));
  const cpuUsPerRecord =
    res.cpuSeconds === undefined ? undefined : (res.cpuSeconds / records) * 1e6;
  return {
    tool,
    records,
    transactionalId,
    ok,
    ...figures,
    short: figures !== undefined && figures.seconds < TXN_CASE.minSeconds,
    transactions: log?.transactions,
    ...(tool === "ours" && {
      clientTransactions: out.transactions,
      protocol: out.protocol,
      commitSeconds: out.commitSeconds,
      commitMaxMs: out.commitMaxMs,
      queuedAtCommitMean: out.queuedAtCommitMean,
      queuedAtCommitMax: out.queuedAtCommitMax,
      gc: out.gc,
      initSeconds: out.initSeconds,
      queueFull: out.queueFull,
      stats: out.stats,
      self: out.self,
    }),
    log,
    ...(logError && { logError }),
    offsets,
    load1,
    wallSeconds: res.wallSeconds,
    wholeProcessRecordsPerSec: ok ? records / res.wallSeconds : 0,
    cpuSeconds: res.cpuSeconds,
    cpuUsPerRecord,
    maxRssKb: res.maxRssKb,
    brokerCpuSeconds:
      brokerCpu0 !== undefined && brokerCpu1 !== undefined ? brokerCpu1 - brokerCpu0 : undefined,
    ...(!ok && {
      error:
        out.firstError ??
        (res.stderr.trim().slice(-600) ||
          `exit ${res.code}; delivered ${delivered}; log ${JSON.stringify(log ?? logError)}`),
    }),
  };
}

/**
 * Every run of the case into `into`; each round starts with the other client. `ctx` is
 * bench/run.mjs's context (admin, bootstrap, logDir, brokerPid, here, timeoutSeconds).
 */
export async function txnCase(
  ctx,
  log,
  into,
  { records = TXN_CASE.records, repeat = TXN_CASE.repeat } = {},
) {
  const jars = ensureJavaTools(log);
  const tools = jars instanceof Error ? ["ours"] : ["ours", "java"];
  if (jars instanceof Error) log(`txn: without Java's tool: ${jars.message}`);
  if (!ctx.logDir)
    log("txn: the broker's log.dirs is unknown (--log-dir): no transaction count from the log");
  const w = TXN_CASE.warmupRecords;
  log(`txn: warm-up, ours, ${w.toLocaleString("en-US")} records in transactions (not counted)`);
  const warm = await runOne(ctx, "ours", w, jars, true);
  log(`  warm-up ${warm.ok ? "done" : "FAILED"} in ${warm.wallSeconds.toFixed(1)} s`);
  for (let rep = 0; rep < repeat; rep++) {
    const order = rep % 2 === 0 ? tools : [...tools].reverse();
    for (const tool of order) {
      const run = { ...(await runOne(ctx, tool, records, jars)), rep };
      into.push(run);
      const l = run.latencyMs;
      log(
        run.ok
          ? `  txn ${tool.padEnd(4)} ${Math.round(run.recordsPerSec).toLocaleString("en-US")} rec/s in ${run.seconds.toFixed(2)} s${run.short ? " (SHORT)" : ""}, p50 ${l.p50} p99 ${l.p99} max ${l.max} ms, ${run.transactions ?? "?"} transactions${run.clientTransactions !== undefined ? ` (client: ${run.clientTransactions})` : ""}, cpu ${run.cpuSeconds?.toFixed(2)} s (${run.cpuUsPerRecord?.toFixed(2)} µs/record), broker cpu ${run.brokerCpuSeconds?.toFixed(2) ?? "?"} s`
          : `  txn ${tool}: FAILED ${run.error}`,
      );
    }
  }
  return { tools, javaError: jars instanceof Error ? jars.message : undefined };
}

/** The fastest successful run per client (or a failed one when none succeeded). */
export function bestTxnRuns(runs) {
  const best = new Map();
  for (const r of runs) {
    const old = best.get(r.tool);
    if (!old || (r.ok && (!old.ok || r.recordsPerSec > old.recordsPerSec))) best.set(r.tool, r);
  }
  return best;
}
