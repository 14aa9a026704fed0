// The partition-count case: what a producer costs as the partitions it writes to grow. 100 B
// keyed records (a pool of 65,536 keys, spread by the partitioner) to one topic of 1, 100,
// 1,000 and 10,000 partitions, acks=all with idempotence, this project's API client beside
// kcat (librdkafka) in the same run; records/s, CPU µs per record and peak RSS of the whole
// process. kcat writes to one topic per process, so 10,000 partitions is one topic (created
// in two steps: a KRaft controller refuses more than 10,000 records in one operation), and
// with fewer records: on a two-core machine the broker takes minutes for a million there.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeKeys, makeValues, POOL } from "./data.mjs";
import { runMeasured } from "./measure.mjs";

export const PARTITIONS_CASE = {
  counts: [1, 100, 1000, 10000],
  records: 1_000_000,
  /** Records per run at 10,000 partitions. */
  records10k: 200_000,
  valueSize: 100,
  keys: 65_536,
  acks: -1,
  idempotence: true,
  lingerMs: 5,
  batchBytes: 1_000_000,
  repeat: 2,
};

/** The file kcat reads: `key:value` lines, key i % keys and value i % POOL, as ours sends. */
function writeKeyedFile(path, records) {
  const keys = makeKeys(PARTITIONS_CASE.keys);
  const values = makeValues(PARTITIONS_CASE.valueSize);
  const lines = [];
  for (let i = 0; i < records; i++) {
    lines.push(`${keys[i % keys.length]}:${values[i % POOL].toString("latin1")}`);
  }
  writeFileSync(path, `${lines.join("\n")}\n`);
}

function ourCommand(here, bootstrap, topic, records) {
  const s = PARTITIONS_CASE;
  return {
    cmd: process.execPath,
    args: [
      join(here, "clients/ours.mjs"),
      JSON.stringify({
        bootstrap,
        topic,
        records,
        valueSize: s.valueSize,
        keys: s.keys,
        acks: s.acks,
        lingerMs: s.lingerMs,
        batchBytes: s.batchBytes,
        chunkRecords: 1000,
      }),
    ],
  };
}

function kcatCommand(bootstrap, topic, dataFile) {
  const s = PARTITIONS_CASE;
  return {
    cmd: "kcat",
    args: [
      "-P",
      "-b",
      bootstrap,
      "-t",
      topic,
      "-l",
      dataFile,
      "-K",
      ":",
      "-X",
      `acks=${s.acks}`,
      "-X",
      `enable.idempotence=${s.idempotence}`,
      "-X",
      `linger.ms=${s.lingerMs}`,
      "-X",
      `batch.size=${s.batchBytes}`,
      "-X",
      "compression.codec=none",
      // librdkafka's default partitioner is consistent_random (CRC32); ours is the Java
      // client's murmur2. Both spread 65,536 keys evenly; the same one keeps them comparable.
      "-X",
      "partitioner=murmur2_random",
    ],
  };
}

/**
 * Runs the case into `into` (one entry per run). `ctx` is bench/run.mjs's context: admin,
 * bootstrap, tmpDir, timeoutSeconds; `clients` those of ours and kcat to run.
 */
export async function partitionsCase(ctx, log, clients, into) {
  const s = PARTITIONS_CASE;
  const files = new Map();
  const dataFile = (records) => {
    const path = join(ctx.tmpDir, `keyed-${s.valueSize}-${records}.txt`);
    if (!files.has(path)) {
      writeKeyedFile(path, records);
      ctx.keepFile(path);
      files.set(path, true);
    }
    return path;
  };
  for (const partitions of s.counts) {
    const records = partitions >= 10000 ? s.records10k : s.records;
    const topic = `bench-parts-${partitions}-${Date.now().toString(36)}`;
    const command = (client, n) =>
      client === "ours"
        ? ourCommand(ctx.here, ctx.bootstrap, topic, n)
        : kcatCommand(ctx.bootstrap, topic, dataFile(n));
    const started = Date.now();
    await ctx.admin.create(topic, partitions);
    log(`partitions: ${partitions} created in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // The first idempotent writes to a fresh partition are slow on the broker (about 20 ms
    // each here, whoever writes them): a run that is not counted takes them.
    const warm = clients[0];
    const t = Date.now();
    const w = command(warm, warm === "ours" ? records / 5 : records);
    await runMeasured(w.cmd, w.args, { timeoutMs: ctx.timeoutSeconds * 1000 });
    log(`  warm-up (${warm}, not counted) took ${((Date.now() - t) / 1000).toFixed(1)} s`);
    for (let rep = 0; rep < s.repeat; rep++) {
      const order = clients.map((_, i) => clients[(i + rep) % clients.length]);
      for (const client of order) {
        const before = await ctx.admin.recordCount(topic);
        const { cmd, args } = command(client, records);
        const res = await runMeasured(cmd, args, { timeoutMs: ctx.timeoutSeconds * 1000 });
        const verified = (await ctx.admin.recordCount(topic)) - before;
        let out = {};
        try {
          out = JSON.parse(res.stdout.trim().split("\n").filter(Boolean).pop() ?? "{}");
        } catch {
          out = {};
        }
        const seconds =
          client === "ours" && typeof out.seconds === "number" ? out.seconds : res.wallSeconds;
        const ok = res.code === 0 && verified === records;
        const run = {
          client,
          partitions,
          records,
          verified,
          ok,
          seconds,
          wallSeconds: res.wallSeconds,
          recordsPerSec: ok ? records / seconds : 0,
          cpuSeconds: res.cpuSeconds,
          cpuUsPerRecord:
            res.cpuSeconds === undefined ? undefined : (res.cpuSeconds / records) * 1e6,
          maxRssKb: res.maxRssKb,
          rep,
          ...(!ok && {
            error: out.firstError ?? (res.stderr.trim().slice(-600) || `exit ${res.code}`),
          }),
        };
        into.push(run);
        log(
          `  ${client.padEnd(5)} ${partitions}: ${
            ok ? `${Math.round(run.recordsPerSec).toLocaleString("en-US")} rec/s` : "FAILED"
          } | ${seconds.toFixed(2)} s, cpu ${run.cpuSeconds?.toFixed(2)} s (${run.cpuUsPerRecord?.toFixed(2)} µs/record), rss ${Math.round((run.maxRssKb ?? 0) / 1024)} MB`,
        );
        if (!ok) log(`    ${run.error}`);
      }
    }
    await ctx.admin.remove(topic).catch(() => {});
  }
}

/** The best run (highest records/s) per client and partition count, in the order the case ran. */
export function bestPartitionRuns(runs) {
  const best = new Map();
  for (const r of runs) {
    const key = `${r.client} ${r.partitions}`;
    const cur = best.get(key);
    if (cur === undefined || (r.ok && (!cur.ok || r.recordsPerSec > cur.recordsPerSec))) {
      best.set(key, r);
    }
  }
  return [...best.values()];
}

/** The case's Markdown table. */
export function partitionsMarkdown(runs) {
  const best = bestPartitionRuns(runs);
  const kcat = new Map(best.filter((r) => r.client === "kcat").map((r) => [r.partitions, r]));
  const rows = [
    "| partitions | client | records/s | CPU µs/record | peak RSS MB | records/s ÷ kcat | RSS ÷ kcat |",
    "|---|---|--:|--:|--:|--:|--:|",
  ];
  for (const r of best) {
    const k = kcat.get(r.partitions);
    const rate = r.ok ? Math.round(r.recordsPerSec).toLocaleString("en-US") : "failed";
    const vsRate =
      k?.ok && r.ok && r.client !== "kcat" ? (r.recordsPerSec / k.recordsPerSec).toFixed(2) : "";
    const vsRss = k && r.client !== "kcat" ? (r.maxRssKb / k.maxRssKb).toFixed(2) : "";
    rows.push(
      `| ${r.partitions} | ${r.client} | ${rate} | ${r.cpuUsPerRecord?.toFixed(2) ?? "?"} | ${Math.round((r.maxRssKb ?? 0) / 1024)} | ${vsRate} | ${vsRss} |`,
    );
  }
  return rows.join("\n");
}
