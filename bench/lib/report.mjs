// The results as a markdown table, a hand-drawn SVG bar chart, and the table in bench/README.md.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { RUNTIMES } from "../../test/runtimes/runtimes.mjs";
import { eventLoopSection } from "./eventloop-case.mjs";
import { partitionsMarkdown } from "./partitions-case.mjs";
import { targetsSection } from "./targets.mjs";
import { bestTxnRuns } from "./txn-case.mjs";

export const CLIENTS = [
  { id: "ours", label: "this project, API", color: "#d9480f" },
  { id: "ours-string", label: "this project, API, string values", color: "#f76707" },
  {
    id: "ours-stream",
    label: "this project, API, pipeline into createWriteStream()",
    color: "#ff922b",
  },
  { id: "ours-plain", label: "this project, API, idempotence off", color: "#e8590c" },
  // Only when named (--client): a subscriber on every diagnostics channel.
  {
    id: "ours-traced",
    label: "this project, API, a subscriber on every diagnostics channel",
    color: "#a61e4d",
    optIn: true,
  },
  { id: "cli", label: "this project, CLI from a file", color: "#f08c00" },
  { id: "cli-pipe", label: "this project, CLI from a pipe", color: "#fab005" },
  { id: "sidecar", label: "this project, event-kafka serve (TCP events)", color: "#ffd43b" },
  { id: "kcat", label: "librdkafka (kcat -l file)", color: "#1971c2" },
  { id: "kcat-idem", label: "librdkafka, enable.idempotence=true", color: "#4dabf7" },
  { id: "ours-tls", label: "this project, API, over TLS", color: "#c2255c" },
  { id: "kcat-tls", label: "librdkafka (kcat -l file), over TLS", color: "#1864ab" },
  { id: "kafkajs", label: "KafkaJS", color: "#7048e8" },
  { id: "platformatic", label: "@platformatic/kafka", color: "#2f9e44" },
  // Only when named (--runtime or --client): the API client on another runtime.
  ...RUNTIMES.map((rt, i) => ({
    id: `ours@${rt.id}`,
    label: `this project, API, on ${rt.label} (${rt.version})`,
    color: ["#ff8787", "#ffa8a8", "#ffc9c9", "#e599f7", "#b197fc"][i % 5],
    optIn: true,
    runtime: rt,
  })),
];

const README_START = "<!-- bench:results:start -->";
const README_END = "<!-- bench:results:end -->";

const int = (n) => Math.round(n).toLocaleString("en-US");
const mb = (n) => n.toFixed(1);
const ratio = (a, b) => (a > 0 && b > 0 ? `${(a / b).toFixed(a / b >= 10 ? 0 : 2)}×` : "–");
const sizeName = (s) =>
  s % 2 ** 20 === 0 ? `${s / 2 ** 20} MiB` : s % 1024 === 0 ? `${s / 1024} KiB` : `${s} B`;
const caseName = (c) => `${sizeName(c.valueSize)}, acks=${c.acks === -1 ? "-1 (all)" : c.acks}`;

function clientLabel(id, meta) {
  const v = meta.versions ?? {};
  switch (id) {
    case "ours":
      return `this project ${v.ours ?? ""}, API`;
    case "kcat":
      return `librdkafka ${v.librdkafka ?? ""} (kcat ${v.kcat ?? ""} -l file)`;
    case "kcat-idem":
      return `librdkafka ${v.librdkafka ?? ""}, enable.idempotence=true`;
    case "kcat-tls":
      return `librdkafka ${v.librdkafka ?? ""} (kcat -l file), over TLS`;
    case "kafkajs":
      return `KafkaJS ${v.kafkajs ?? ""}`;
    case "platformatic":
      return `@platformatic/kafka ${v.platformatic ?? ""}`;
    default:
      return CLIENTS.find((c) => c.id === id)?.label ?? id;
  }
}

/** The fastest successful run per client and case (or the failed one when none succeeded). */
export function bestRuns(e2e, keyOf = (r) => `${r.valueSize}|${r.acks}|${r.client}`) {
  const best = new Map();
  for (const r of e2e) {
    const key = keyOf(r);
    const old = best.get(key);
    if (!old || (r.ok && (!old.ok || r.recordsPerSec > old.recordsPerSec))) best.set(key, r);
  }
  return best;
}

/** A rate in short form: 1.52M, 845k, 912. */
const short = (n) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${Math.round(n / 1e3)}k` : `${Math.round(n)}`;

/**
 * The spread of the successful runs that share `best`'s key: slowest–fastest records/s and
 * the run count, e.g. " [1.52–1.65M, 3 runs]"; empty for a single run.
 */
export function spreadOf(runs, best, keyOf = (r) => `${r.valueSize}|${r.acks}|${r.client}`) {
  const key = keyOf(best);
  const rates = runs.filter((r) => r.ok && keyOf(r) === key).map((r) => r.recordsPerSec);
  if (rates.length < 2) return "";
  return ` [${short(Math.min(...rates))}–${short(Math.max(...rates))}, ${rates.length} runs]`;
}

/** CPU per record in µs: the API window for our in-process clients, else the whole process. */
export function cpuPerRecord(r) {
  const cpu = r.apiCpuSeconds ?? r.cpuSeconds;
  return cpu === undefined || !(r.records > 0) ? undefined : (cpu / r.records) * 1e6;
}

/** bestRuns() of the codec case, keyed `valueSize|codec|client`. */
export const bestCodecRuns = (runs) =>
  bestRuns(runs, (r) => `${r.valueSize}|${r.codec}|${r.client}`);

function casesOf(e2e) {
  const cases = [];
  for (const r of e2e) {
    if (!cases.some((c) => c.valueSize === r.valueSize && c.acks === r.acks)) {
      cases.push({ valueSize: r.valueSize, acks: r.acks });
    }
  }
  return cases;
}

function clientsOf(e2e) {
  return CLIENTS.map((c) => c.id).filter((id) => e2e.some((r) => r.client === id));
}

export function toMarkdown(results) {
  const { meta, e2e, hotpath, rssScaling } = results;
  const out = [];
  const load = (l) => (l ? l.map((x) => x.toFixed(2)).join(", ") : "?");
  out.push(
    `Run ${meta.date.slice(0, 16).replace("T", " ")} UTC on ${meta.machine.cpus} cores ` +
      `(${meta.machine.cpuModel ?? "?"}), ${meta.machine.memoryGB} GB, Node ${meta.versions.node}` +
      `${meta.versions.kafka ? `, Apache Kafka ${meta.versions.kafka} (one KRaft node on the same machine)` : ""}. ` +
      `Load average (1, 5, 15 min) ${load(meta.loadBefore)} before, ${load(meta.loadAfter)} after` +
      ` — the machine is shared, so figures carry noise.` +
      (meta.durationSeconds ? ` The run took ${Math.round(meta.durationSeconds)} s.` : ""),
  );
  if (meta.skipped?.length) out.push(`\nNot run: ${meta.skipped.join("; ")}.`);
  out.push("");
  out.push(...targetsSection(results));

  if (e2e.length > 0) {
    const best = bestRuns(e2e);
    const cases = casesOf(e2e);
    const clients = clientsOf(e2e);
    const get = (c, id) => best.get(`${c.valueSize}|${c.acks}|${id}`);
    const s = meta.settings;
    out.push("### End-to-end: records/s (MB/s of values)");
    out.push("");
    out.push(
      `Topic of ${s.partitions} partitions (RF ${s.replicationFactor}), created fresh per run; ` +
        `linger.ms=${s.lingerMs} and batch.size=${s.batchBytes} where the client has them, no compression. ` +
        `KafkaJS and @platformatic/kafka have neither: they send arrays of ` +
        `${s.arrayClients.kafkajs.batchRecords} and ${s.arrayClients.platformatic.batchRecords} records, ` +
        `${s.arrayClients.kafkajs.concurrency} and ${s.arrayClients.platformatic.concurrency} calls in flight` +
        ` (their fastest in a sweep, see README); this project's API client yields to the event loop ` +
        `every ${s.ours?.chunkRecords ?? "?"} produce() calls.` +
        (meta.repeat > 1 ? ` Best of ${meta.repeat} runs.` : ""),
    );
    out.push("");
    out.push(`| case | ${clients.map((id) => clientLabel(id, meta)).join(" | ")} |`);
    out.push(`|---|${clients.map(() => "--:").join("|")}|`);
    for (const c of cases) {
      const cells = clients.map((id) => {
        const r = get(c, id);
        if (!r) return "";
        if (!r.ok) return "failed";
        const v = `${int(r.recordsPerSec)} (${mb(r.MBps)})`;
        return `${id === "ours" ? `**${v}**` : v}${spreadOf(e2e, r)}`;
      });
      out.push(`| ${caseName(c)} | ${cells.join(" | ")} |`);
    }
    out.push("");
    const counts = clients.map((id) => {
      const per = cases
        .map((c) => get(c, id))
        .filter(Boolean)
        .map((r) => `${int(r.records)} × ${sizeName(r.valueSize)}`);
      return `${clientLabel(id, meta)}: ${[...new Set(per)].join(", ")}`;
    });
    out.push(`Records per run — ${counts.join("; ")}.`);
    out.push(
      "Timing: the API clients from the first record handed over to the last delivery " +
        "confirmed; the file-fed ones (CLI, kcat) the whole process, start to exit. Every run's " +
        "records are counted in the topic afterwards (sum of high watermarks).",
    );
    out.push("");

    const peers = [
      ["kcat", "ours", "API ÷ librdkafka"],
      ["kcat", "cli", "CLI ÷ librdkafka (both from a file)"],
      ["kcat", "cli-pipe", "CLI from a pipe ÷ librdkafka from a file"],
      ["kafkajs", "ours", "API ÷ KafkaJS"],
      ["platformatic", "ours", "API ÷ @platformatic/kafka"],
    ].filter(([p, o]) => clients.includes(p) && clients.includes(o));
    if (peers.length > 0) {
      out.push("### Ratios (records/s)");
      out.push("");
      out.push(`| case | ${peers.map((p) => p[2]).join(" | ")} |`);
      out.push(`|---|${peers.map(() => "--:").join("|")}|`);
      for (const c of cases) {
        const cells = peers.map(([p, o]) =>
          ratio(get(c, o)?.recordsPerSec ?? 0, get(c, p)?.recordsPerSec ?? 0),
        );
        out.push(`| ${caseName(c)} | ${cells.join(" | ")} |`);
      }
      out.push("");
    }

    // Whole process, start to exit, for every client: start-up and connection included.
    const bestWall = bestRuns(
      e2e.map((r) => ({ ...r, recordsPerSec: r.ok ? r.records / r.wallSeconds : 0 })),
    );
    const wall = (c, id) => bestWall.get(`${c.valueSize}|${c.acks}|${id}`);
    out.push("### Whole process, start to exit: records/s");
    out.push("");
    out.push(
      "The same runs timed from outside for every client, from spawn to exit, so no client's " +
        "start-up (Node's or the JVM's, module loading, connecting, metadata, a producer id) " +
        "is left out; best of the runs by this timing.",
    );
    out.push("");
    out.push(`| case | ${clients.map((id) => clientLabel(id, meta)).join(" | ")} |`);
    out.push(`|---|${clients.map(() => "--:").join("|")}|`);
    for (const c of cases) {
      const cells = clients.map((id) => {
        const r = wall(c, id);
        if (!r) return "";
        return r.ok ? `${int(r.recordsPerSec)} (${r.wallSeconds.toFixed(2)} s)` : "failed";
      });
      out.push(`| ${caseName(c)} | ${cells.join(" | ")} |`);
    }
    out.push("");
    const cliTargets = cases.filter((c) => c.valueSize === 100 && wall(c, "kcat")?.ok);
    if (cliTargets.length > 0 && (clients.includes("cli") || clients.includes("cli-pipe"))) {
      out.push("| target (whole process, 100 B) | figures | met |");
      out.push("|---|---|:-:|");
      for (const c of cliTargets) {
        const k = wall(c, "kcat");
        for (const [id, name] of [
          ["cli", "CLI from a file"],
          ["cli-pipe", "CLI from a pipe"],
        ]) {
          const r = wall(c, id);
          if (!r) continue;
          const x = r.ok ? r.recordsPerSec / k.recordsPerSec : 0;
          out.push(
            `| ${name} at least 1.2× kcat, ${caseName(c)} | ${r.ok ? `${int(r.recordsPerSec)} vs ${int(k.recordsPerSec)} rec/s = ${x.toFixed(2)}×` : "failed"} | ${x >= 1.2 ? "yes" : "**no**"} |`,
          );
        }
      }
      out.push("");
    }

    out.push("### Peak RSS and CPU time (user + system) per run");
    out.push("");
    out.push(
      `Measured from outside by ${meta.measureMethod === "gnu-time" ? "GNU time (rusage of the finished process)" : "polling /proc/PID"}; ` +
        "CPU per record in µs in brackets; the broker's CPU time during the run last.",
    );
    out.push("");
    out.push(`| case | ${clients.map((id) => clientLabel(id, meta)).join(" | ")} |`);
    out.push(`|---|${clients.map(() => "--:").join("|")}|`);
    for (const c of cases) {
      const cells = clients.map((id) => {
        const r = get(c, id);
        if (!r || r.maxRssKb === undefined || r.cpuSeconds === undefined) return "";
        const per = (r.cpuSeconds / r.records) * 1e6;
        const broker =
          r.brokerCpuSeconds === undefined ? "" : `; broker ${r.brokerCpuSeconds.toFixed(2)} s`;
        return `${Math.round(r.maxRssKb / 1024)} MB; ${r.cpuSeconds.toFixed(2)} s (${per.toFixed(2)})${broker}`;
      });
      out.push(`| ${caseName(c)} | ${cells.join(" | ")} |`);
    }
    out.push("");

    const target = cases.find((c) => c.valueSize === 100 && c.acks === 1);
    const ours = target && get(target, "ours");
    if (ours?.ok) {
      out.push("### Targets (100 B, acks=1, this project's API)");
      out.push("");
      out.push("| target | figures | met |");
      out.push("|---|---|:-:|");
      const row = (name, peerId, factor) => {
        const p = get(target, peerId);
        if (!p?.ok) return;
        const need = p.recordsPerSec * factor;
        out.push(
          `| ${name} | ${int(ours.recordsPerSec)} vs ${int(p.recordsPerSec)} rec/s = ${ratio(ours.recordsPerSec, p.recordsPerSec)} | ${ours.recordsPerSec >= need ? "yes" : "**no**"} |`,
        );
      };
      row("at least librdkafka's throughput", "kcat", 1);
      row("at least 10× KafkaJS", "kafkajs", 10);
      row("ahead of @platformatic/kafka", "platformatic", 1.0000001);
      if (rssScaling?.maxRssKb?.every((x) => x > 0)) {
        // Retaining the records (or anything per record) would add at least their values.
        const [n1, n2] = rssScaling.records;
        const [r1, r2] = rssScaling.maxRssKb.map((x) => x / 1024);
        const extraValuesMB = ((n2 - n1) * 100) / 2 ** 20;
        const growth = r2 - r1;
        out.push(
          `| peak RSS bounded by the queue limits, not the record count | ${Math.round(r1)} MB at ${int(n1)} records, ${Math.round(r2)} MB at ${int(n2)}: ${growth >= 0 ? "+" : ""}${Math.round(growth)} MB for ${int(n2 - n1)} more records (${Math.round(extraValuesMB)} MB of values) | ${growth < extraValuesMB / 2 ? "yes" : "**no**"} |`,
        );
      }
      out.push("");
    }
  }

  if (results.perf?.length > 0) out.push(...perfSection(results));

  if (results.txn?.length > 0) out.push(...txnSection(results));

  if (results.codecs?.length > 0) out.push(...codecSection(results));

  if (results.eventloop?.length > 0) out.push(...eventLoopSection(results));

  if (results.partitions?.length > 0) {
    const p = meta.settings.partitionsCase;
    out.push("### Partition count: cost per record as the partitions grow");
    out.push("");
    out.push(
      `${int(p.records)} keyed records of ${p.valueSize} B (${int(p.keys)} keys) per run ` +
        `(${int(p.records10k)} at 10,000 partitions, where the broker on this machine is the bound), ` +
        `one topic, acks=all with idempotence, linger.ms=${p.lingerMs}, batch.size=${p.batchBytes}, ` +
        `one broker; an uncounted run first writes to every partition. Whole-process CPU and peak ` +
        `RSS; records/s from the first record to the last report for this project's API client, ` +
        `the whole process for kcat. Best of ${p.repeat} runs.`,
    );
    out.push("");
    out.push(partitionsMarkdown(results.partitions));
    out.push("");
  }

  if (hotpath) {
    out.push("### Hot path without the network");
    out.push("");
    out.push(
      "Records/s of 3-partition Produce requests written to /dev/null, best of several passes; the ceiling " +
        "is Buffer.copy of the same values one by one into a 1 MB arena.",
    );
    out.push("");
    out.push(
      "| value | Producer.produce() to delivery report | encoder only (batch + request) | Buffer.copy ceiling | producer ÷ ceiling | encoder ÷ ceiling |",
    );
    out.push("|---|--:|--:|--:|--:|--:|");
    for (const r of hotpath.records) {
      out.push(
        `| ${sizeName(r.valueSize)} | ${int(r.producerRecordsPerSec)} | ${int(r.encoderRecordsPerSec)} | ${int(r.copyRecordsPerSec)} | ${pct(r.producerRecordsPerSec, r.copyRecordsPerSec)} | ${pct(r.encoderRecordsPerSec, r.copyRecordsPerSec)} |`,
      );
    }
    out.push("");
    const c = hotpath.crc32c;
    out.push("| checksum | CRC32C MB/s | crc-32 package MB/s | Buffer.copy MB/s | CRC32C ÷ copy |");
    out.push("|---|--:|--:|--:|--:|");
    // Results saved before the package comparison have the 1 MB figures only.
    for (const s of c.sizes ?? [c]) {
      const pkg = s.crc32cPackageMBps == null ? "n/a" : int(s.crc32cPackageMBps);
      out.push(
        `| ${sizeName(s.blockBytes)} blocks | ${int(s.crc32cMBps)} | ${pkg} | ${int(s.copyMBps)} | ${pct(s.crc32cMBps, s.copyMBps)} |`,
      );
    }
    out.push("");
    if (hotpath.codecs) {
      out.push(
        "Compression of one record batch's records (100 B JSON event lines), MB/s of input and ratio, " +
          "ours beside the C libraries on the same bytes at librdkafka's default levels (bench/codecs/cbench.c).",
      );
      out.push("");
      out.push("| records | codec | ours MB/s | C MB/s | ours ÷ C | ratio ours | ratio C |");
      out.push("|---|---|--:|--:|--:|--:|--:|");
      for (const s of hotpath.codecs.sizes) {
        for (const [codec, o] of Object.entries(s.ours)) {
          if (o === null) continue;
          const k = s.c?.[codec];
          out.push(
            `| ${Math.round(s.inputBytes / 1024)} KB | ${codec} | ${int(o.MBps)} | ${k ? int(k.MBps) : "n/a"} | ${k ? pct(o.MBps, k.MBps) : "n/a"} | ${o.ratio.toFixed(2)} | ${k ? k.ratio.toFixed(2) : "n/a"} |`,
          );
        }
      }
      if (hotpath.codecs.cSkipped) out.push("", hotpath.codecs.cSkipped);
      out.push("");
    }
  }
  return out.join("\n").trimEnd();
}

const CODEC_CLIENTS = ["ours", "ours-string", "kcat"];

/** Mean log bytes of a client's successful runs with a codec, or undefined. */
function meanLogBytes(runs, valueSize, codec, client) {
  const sizes = runs
    .filter(
      (r) =>
        r.ok &&
        r.valueSize === valueSize &&
        r.codec === codec &&
        r.client === client &&
        r.logBytes > 0,
    )
    .map((r) => r.logBytes / r.records);
  return sizes.length > 0 ? sizes.reduce((a, b) => a + b, 0) / sizes.length : undefined;
}

/** Per codec: records/s, MB/s and ratio of this project beside librdkafka's. */
export function codecTable(results) {
  const runs = results.codecs ?? [];
  const best = bestCodecRuns(runs);
  const set = results.meta.settings.codecs ?? {};
  const rows = [];
  for (const valueSize of [...new Set(runs.map((r) => r.valueSize))]) {
    for (const codec of set.codecs ?? [...new Set(runs.map((r) => r.codec))]) {
      const row = { valueSize, codec };
      for (const client of CODEC_CLIENTS) {
        const r = best.get(`${valueSize}|${codec}|${client}`);
        if (!r) continue;
        const perRecord = meanLogBytes(runs, valueSize, codec, client);
        const nonePerRecord = meanLogBytes(runs, valueSize, "none", client);
        row[client] = {
          run: r,
          notRun: r.notRun === true,
          logBytesPerRecord: perRecord,
          ratio: perRecord && nonePerRecord ? nonePerRecord / perRecord : undefined,
        };
      }
      rows.push(row);
    }
  }
  return rows;
}

function codecSection(results) {
  const { meta } = results;
  const set = meta.settings.codecs ?? {};
  const rows = codecTable(results);
  const clients = CODEC_CLIENTS.filter((id) => rows.some((row) => row[id]));
  const label = (id) =>
    id === "kcat"
      ? `librdkafka ${meta.versions.librdkafka ?? ""} (kcat -z)`
      : `this project ${meta.versions.ours ?? ""}, API, ${id === "ours-string" ? "string" : "Buffer"} values`;
  const codecKey = (r) => `${r.valueSize}|${r.codec}|${r.client}`;
  const notes = [];
  const note = (text) => {
    const i = notes.indexOf(text);
    if (i >= 0) return i + 1;
    notes.push(text);
    return notes.length;
  };
  const out = [];
  out.push("### Compression: records/s (MB/s of values) and ratio per codec");
  out.push("");
  out.push(
    `Event lines (JSON-RPC, every one distinct${set.example ? `, e.g. \`${set.example}\`` : ""}), ` +
      `one file for every client; ${set.sized ? `runs sized to last ${set.sized} s or more` : `${int(set.records ?? 0)} records per run`}, acks=1, ` +
      `linger.ms=${meta.settings.lingerMs} and batch.size=${meta.settings.batchBytes} (both clients' defaults), ` +
      "the codec's default level, a fresh topic of 3 partitions. This project through its API with " +
      "`compression.codec`; librdkafka as `kcat -P -z CODEC -l FILE`" +
      (set.repeat > 1 ? `. Best of ${set.repeat} runs.` : ".") +
      " **Ratio**: bytes of the topic's log segments on the broker after the run with `none` ÷ with " +
      "the codec, the same client's runs averaged; stored bytes per record in brackets (values are " +
      `${[...new Set(rows.map((r) => r.valueSize))].map(sizeName).join(", ")}).`,
  );
  out.push("");
  const head = clients.flatMap((id) => [`${label(id)}`, "ratio (log B/record)"]);
  const both = clients.includes("ours") && clients.includes("kcat");
  out.push(`| codec | ${head.join(" | ")}${both ? " | API ÷ librdkafka (records/s) |" : " |"}`);
  out.push(`|---|${head.map(() => "--:").join("|")}${both ? "|--:|" : "|"}`);
  const multiSize = new Set(rows.map((r) => r.valueSize)).size > 1;
  for (const row of rows) {
    const cells = clients.flatMap((id) => {
      const c = row[id];
      if (!c) return ["", ""];
      if (c.notRun) {
        const reason = meta.settings.codecs?.ours?.[row.codec]?.reason ?? "not available";
        const n = note(`${label(id)}, ${row.codec}: ${reason}`);
        return [`n/a (${n})`, "n/a"];
      }
      if (!c.run.ok) {
        const n = note(
          `${label(id)}, ${row.codec}: failed — ${String(c.run.error ?? "")
            .split("\n")[0]
            .slice(0, 200)}`,
        );
        return [`failed (${n})`, "–"];
      }
      const rate = `${int(c.run.recordsPerSec)} (${mb(c.run.MBps)})`;
      const stored =
        c.logBytesPerRecord === undefined
          ? "not measured"
          : `${c.ratio === undefined ? "–" : `${c.ratio.toFixed(2)}×`} (${c.logBytesPerRecord.toFixed(1)})`;
      return [
        `${id === "ours" ? `**${rate}**` : rate}${spreadOf(results.codecs, c.run, codecKey)}`,
        stored,
      ];
    });
    const vs = both
      ? ` | ${ratio(row.ours?.run.ok ? row.ours.run.recordsPerSec : 0, row.kcat?.run.ok ? row.kcat.run.recordsPerSec : 0)}`
      : "";
    const name = multiSize ? `${row.codec}, ${sizeName(row.valueSize)}` : row.codec;
    out.push(`| ${name} | ${cells.join(" | ")}${vs} |`);
  }
  out.push("");
  notes.forEach((text, i) => {
    out.push(`(${i + 1}) ${text}`);
  });
  if (notes.length > 0) out.push("");

  // CPU: compression is paid for in CPU, by the client and (validating) by the broker.
  out.push(
    "CPU time (user + system) of the fastest run, µs per record in brackets: for this project the API's own " +
      "(first produce() to the end of close()), the whole process after it; for kcat the whole process. " +
      "The broker's CPU time during that run after the semicolon:",
  );
  out.push("");
  out.push(`| codec | ${clients.map(label).join(" | ")} |`);
  out.push(`|---|${clients.map(() => "--:").join("|")}|`);
  for (const row of rows) {
    const cells = clients.map((id) => {
      const r = row[id]?.run;
      if (!r?.ok || r.cpuSeconds === undefined) return row[id]?.notRun ? "n/a" : "";
      const broker =
        r.brokerCpuSeconds === undefined ? "" : `; broker ${r.brokerCpuSeconds.toFixed(2)} s`;
      const api =
        r.apiCpuSeconds === undefined
          ? ""
          : `API ${r.apiCpuSeconds.toFixed(2)} s (${cpuPerRecord(r).toFixed(2)}), process `;
      return `${api}${r.cpuSeconds.toFixed(2)} s (${((r.cpuSeconds / r.records) * 1e6).toFixed(2)})${broker}`;
    });
    const name = multiSize ? `${row.codec}, ${sizeName(row.valueSize)}` : row.codec;
    out.push(`| ${name} | ${cells.join(" | ")} |`);
  }
  out.push("");

  // Cross-check of the method: the broker stores our batches as sent, so the log holds exactly
  // the record-batch bytes the producer counted (offsets are rewritten in place, not resized).
  const checked = (results.codecs ?? []).filter(
    (r) => r.ok && r.client === "ours" && r.logBytes > 0 && r.stats?.bytesSent > 0,
  );
  if (checked.length > 0) {
    const equal = checked.filter(
      (r) => r.logBytes === r.stats.bytesSent && (r.stats.retries ?? 0) === 0,
    ).length;
    out.push(
      `Cross-check: in ${equal} of ${checked.length} of this project's runs the topic's log held exactly ` +
        "the record-batch bytes the producer reports sent (`stats().bytesSent`).",
    );
    out.push("");
  }
  return out;
}

function pct(a, b) {
  const p = (a / b) * 100;
  return `${p < 10 ? p.toFixed(1) : p.toFixed(0)} %`;
}

const esc = (s) =>
  String(s).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/** Horizontal bars: records/s per client and case, then the hot path beside its ceiling. */
export function toSvg(results) {
  const { meta, e2e, hotpath } = results;
  const W = 900;
  const labelW = 300;
  const barMax = 420;
  const barH = 16;
  const gap = 4;
  const parts = [];
  let y = 34;
  parts.push(
    `<text x="16" y="24" font-size="16" font-weight="bold">Kafka producers, one local broker: records/s (higher is better; one scale per value size)</text>`,
  );
  if (e2e.length > 0) {
    const best = bestRuns(e2e);
    // One scale per value size: records/s of 1 KiB values would be slivers beside 100 B ones.
    const maxOf = (size) =>
      Math.max(
        1,
        ...[...best.values()].filter((r) => r.valueSize === size).map((r) => r.recordsPerSec),
      );
    for (const c of casesOf(e2e)) {
      const max = maxOf(c.valueSize);
      y += 18;
      parts.push(`<text x="16" y="${y}" font-weight="bold">${esc(caseName(c))}</text>`);
      y += 6;
      for (const id of clientsOf(e2e)) {
        const r = best.get(`${c.valueSize}|${c.acks}|${id}`);
        if (!r) continue;
        const color = CLIENTS.find((k) => k.id === id)?.color ?? "#868e96";
        const w = Math.max(1, (r.recordsPerSec / max) * barMax);
        const text = r.ok ? `${int(r.recordsPerSec)}  (${mb(r.MBps)} MB/s)` : "failed";
        parts.push(
          `<text x="${labelW - 8}" y="${y + barH - 4}" text-anchor="end">${esc(clientLabel(id, meta))}</text>`,
          `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${color}"/>`,
          `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + barH - 4}">${esc(text)}</text>`,
        );
        y += barH + gap;
      }
    }
  }
  const codecRows = results.codecs?.length > 0 ? codecTable(results) : [];
  if (codecRows.length > 0) {
    const max = Math.max(
      1,
      ...codecRows.flatMap((row) =>
        CODEC_CLIENTS.map((id) => (row[id]?.run.ok ? row[id].run.recordsPerSec : 0)),
      ),
    );
    const sizes = [...new Set(codecRows.map((r) => r.valueSize))];
    y += 26;
    parts.push(
      `<text x="16" y="${y}" font-size="15" font-weight="bold">${esc(`Compression, event lines of ${sizes.map(sizeName).join(", ")}, acks=1: records/s and ratio (log bytes with none ÷ with the codec)`)}</text>`,
    );
    y += 8;
    for (const row of codecRows) {
      for (const id of CODEC_CLIENTS) {
        const c = row[id];
        if (!c) continue;
        const r = c.run;
        const color = CLIENTS.find((k) => k.id === id)?.color ?? "#868e96";
        // Shorter bars than above: the ratio follows the figure.
        const w = r.ok ? Math.max(1, (r.recordsPerSec / max) * (barMax - 80)) : 0;
        const text = c.notRun
          ? "n/a (not available on this Node)"
          : !r.ok
            ? "failed"
            : `${int(r.recordsPerSec)}  (${mb(r.MBps)} MB/s)${c.ratio ? `, ratio ${c.ratio.toFixed(2)}×` : ""}`;
        const who = id === "kcat" ? "librdkafka (kcat -z)" : "this project, API";
        const name = `${row.codec}${sizes.length > 1 ? ` ${sizeName(row.valueSize)}` : ""}: ${who}`;
        parts.push(
          `<text x="${labelW - 8}" y="${y + barH - 4}" text-anchor="end">${esc(name)}</text>`,
          ...(w > 0
            ? [
                `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${color}"/>`,
              ]
            : []),
          `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + barH - 4}">${esc(text)}</text>`,
        );
        y += barH + gap;
      }
      y += gap;
    }
  }
  if (hotpath) {
    y += 26;
    parts.push(
      `<text x="16" y="${y}" font-size="15" font-weight="bold">Hot path without the network: records/s to /dev/null (bar = share of the Buffer.copy ceiling)</text>`,
    );
    y += 8;
    for (const r of hotpath.records) {
      for (const [name, rate] of [
        ["Producer.produce() to delivery report", r.producerRecordsPerSec],
        ["encoder only", r.encoderRecordsPerSec],
      ]) {
        const share = rate / r.copyRecordsPerSec;
        const w = Math.max(1, share * barMax);
        parts.push(
          `<text x="${labelW - 8}" y="${y + barH - 4}" text-anchor="end">${esc(`${sizeName(r.valueSize)}: ${name}`)}</text>`,
          `<rect x="${labelW}" y="${y}" width="${barMax}" height="${barH}" fill="#e9ecef"/>`,
          `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="#d9480f"/>`,
          `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + barH - 4}">${esc(`${int(rate)} (${pct(rate, r.copyRecordsPerSec)} of ${int(r.copyRecordsPerSec)})`)}</text>`,
        );
        y += barH + gap;
      }
    }
    const c = hotpath.crc32c;
    const share = c.crc32cMBps / c.copyMBps;
    parts.push(
      `<text x="${labelW - 8}" y="${y + barH - 4}" text-anchor="end">CRC32C, MB/s</text>`,
      `<rect x="${labelW}" y="${y}" width="${barMax}" height="${barH}" fill="#e9ecef"/>`,
      `<rect x="${labelW}" y="${y}" width="${Math.max(1, share * barMax).toFixed(1)}" height="${barH}" fill="#1971c2"/>`,
      `<text x="${(labelW + Math.max(1, share * barMax) + 6).toFixed(1)}" y="${y + barH - 4}">${esc(`${int(c.crc32cMBps)} (${pct(c.crc32cMBps, c.copyMBps)} of ${int(c.copyMBps)})`)}</text>`,
    );
    y += barH + gap;
  }
  y += 20;
  const load = meta.loadBefore ? meta.loadBefore[0].toFixed(1) : "?";
  parts.push(
    `<text x="16" y="${y}" fill="#495057">${esc(
      `${meta.date.slice(0, 10)}, ${meta.machine.cpus} cores, load ${load}, Node ${meta.versions.node}${meta.versions.kafka ? `, Kafka ${meta.versions.kafka}` : ""}; bench/results/latest.md has the method and every figure`,
    )}</text>`,
  );
  y += 14;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#ffffff"/>
${parts.join("\n")}
</svg>
`;
}

/** Replaces the table between the markers in bench/README.md. */
export function updateReadme(file, md) {
  if (!existsSync(file)) return;
  const text = readFileSync(file, "utf8");
  const a = text.indexOf(README_START);
  const b = text.indexOf(README_END);
  if (a < 0 || b < a) return;
  writeFileSync(file, `${text.slice(0, a + README_START.length)}\n${md}\n${text.slice(b)}`);
}

/** The perf case: event-kafka perf beside Java's ProducerPerformance. */
function perfSection(results) {
  const { meta, perf } = results;
  const spec = meta.settings.perf;
  const out = [];
  const toolName = (t) =>
    t === "ours"
      ? `event-kafka perf ${meta.versions.ours ?? ""}`
      : `Java ProducerPerformance ${spec?.tools?.includes("java") ? `(kafka-tools ${meta.versions.javaTools ?? "4.4.0"})` : ""}`;
  // Best run per tool, mode and acks: the fastest at peak; at a fixed rate the one run.
  const best = new Map();
  for (const r of perf) {
    const key = `${r.mode}|${r.acks}|${r.tool}`;
    const old = best.get(key);
    if (!old || (r.ok && (!old.ok || r.recordsPerSec > old.recordsPerSec))) best.set(key, r);
  }
  out.push("### perf: this producer's perf tool beside Kafka's own");
  out.push("");
  out.push(
    `\`event-kafka perf\` and Kafka's ProducerPerformance (the class behind kafka-producer-perf-test.sh), ` +
      `${spec?.valueSize ?? 100} B records of random letters, linger.ms=5, batch.size=1000000, ` +
      "idempotence on (both defaults), a fresh topic of 3 partitions per run. " +
      `Peak: ${int(spec?.peak?.records ?? 0)} records with no rate cap, best of ${spec?.peak?.repeat ?? "?"}. ` +
      `Fixed rate: ${int(spec?.rate?.records ?? 0)} records at ${int(spec?.rate?.perSecond ?? 0)} records/s, one run. ` +
      "Records/s and latency are each tool's own figures (first record to last callback; latency from " +
      "the send call to the record's callback, ms); the whole-process column is records ÷ spawn-to-exit time. " +
      "Our tool delivers one warm-up record, not counted, before its clock starts; Java's blocks in its first send() for metadata.",
  );
  out.push("");
  out.push(
    "| mode | acks | tool | records/s | MB/s (2^20) | avg | p50 | p95 | p99 | p99.9 | max | whole process | CPU |",
  );
  out.push("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
  for (const mode of ["peak", "rate"]) {
    for (const acks of [1, -1]) {
      for (const tool of ["ours", "java"]) {
        const r = best.get(`${mode}|${acks}|${tool}`);
        if (!r) continue;
        const name = mode === "peak" ? "peak" : `${int(r.perSecond)}/s`;
        if (!r.ok) {
          out.push(`| ${name} | ${acks} | ${toolName(tool)} | failed | | | | | | | | | |`);
          continue;
        }
        const l = r.latencyMs;
        out.push(
          `| ${name} | ${acks === -1 ? "all" : acks} | ${toolName(tool)} | ${int(r.recordsPerSec)} | ${r.MiBps.toFixed(2)} | ${l.avg.toFixed(2)} | ${l.p50} | ${l.p95} | ${l.p99} | ${l.p99_9} | ${l.max} | ${int(r.wholeProcessRecordsPerSec)} (${r.wallSeconds.toFixed(2)} s) | ${r.cpuSeconds?.toFixed(2) ?? "?"} s |`,
        );
      }
    }
  }
  out.push("");
  return out;
}

/** The transactional case: this project's transactional producer beside Java's ProducerPerformance. */
export function txnSection(results) {
  const { meta, txn } = results;
  const spec = meta.settings.txn ?? {};
  const out = [];
  const name = (t) =>
    t === "ours"
      ? `this project ${meta.versions.ours ?? ""}, API (clients/ours-txn.mjs)`
      : `Java ProducerPerformance (kafka-tools ${meta.versions.javaTools ?? "4.4.0"})`;
  const best = bestTxnRuns(txn);
  const tools = ["ours", "java"].filter((t) => best.has(t));
  const ms = (v) => (v === undefined ? "?" : Number.isInteger(v) ? String(v) : v.toFixed(1));
  out.push("### Transactions: this producer beside Kafka's ProducerPerformance");
  out.push("");
  out.push(
    `${int(spec.records ?? 0)} records of ${spec.valueSize ?? 100} B per run, in transactions committed once ` +
      `they have been open ${spec.transactionMs ?? 100} ms (the age is checked after each send, the loop waits ` +
      `for the commit, the next transaction begins with the next record), acks=all, linger.ms=${spec.lingerMs}, ` +
      `batch.size=${spec.batchBytes}, no compression, a fresh topic of ${spec.partitions ?? 3} partitions and ` +
      `transactional id per run; ProducerPerformance with \`--transactional-id ID --transaction-duration-ms ` +
      `${spec.transactionMs ?? 100} --throughput -1\`. Best of ${spec.repeat ?? "?"} runs (by records/s), the ` +
      "rounds alternating which client goes first, after an uncounted transactional run that warms the broker up. " +
      "Records/s and latency are each client's own figures: from the first record (after initTransactions) " +
      "to the last commit; latency per record from produce()/send() to its delivery report/callback " +
      "(ours in µs from a log-linear histogram, Java's in whole ms). CPU per record is the whole " +
      "client process's CPU time (user + system, GNU time; start-up, and for Java the JVM's JIT and GC threads, " +
      "included) ÷ records. Transactions: commit markers in the topic's log on the broker's disk (ours' own " +
      "count in brackets). Every run's log must hold exactly the records sent and no abort marker. " +
      `This machine has ${meta.machine.cpus} cores shared with other work (the broker, both clients and ` +
      "whatever else runs there): the load average as each run started is in the table of every run, " +
      "and figures move with it.",
  );
  out.push("");
  out.push(
    "| client | records/s | p50 ms | p99 ms | p99.9 ms | max ms | CPU µs/record | transactions | run s | whole process | broker CPU s |",
  );
  out.push("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
  for (const t of tools) {
    const r = best.get(t);
    if (!r.ok) {
      out.push(`| ${name(t)} | failed | | | | | | | | | |`);
      continue;
    }
    const l = r.latencyMs;
    const tx =
      r.transactions === undefined
        ? "?"
        : `${int(r.transactions)}${r.clientTransactions !== undefined ? ` (${int(r.clientTransactions)})` : ""}`;
    out.push(
      `| ${name(t)} | ${int(r.recordsPerSec)} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.p99_9)} | ${ms(l.max)} | ${r.cpuUsPerRecord?.toFixed(2) ?? "?"} | ${tx} | ${r.seconds.toFixed(2)}${r.short ? " (short)" : ""} | ${int(r.wholeProcessRecordsPerSec)} (${r.wallSeconds.toFixed(2)} s) | ${r.brokerCpuSeconds?.toFixed(2) ?? "?"} |`,
    );
  }
  out.push("");
  const ours = best.get("ours");
  const java = best.get("java");
  if (ours?.ok && java?.ok) {
    const faster = ours.recordsPerSec >= java.recordsPerSec;
    const lower = ours.latencyMs.p99 < java.latencyMs.p99;
    out.push("| target | figures | met |");
    out.push("|---|---|:-:|");
    out.push(
      `| at least ProducerPerformance's records/s, with a lower p99 | ${int(ours.recordsPerSec)} vs ${int(java.recordsPerSec)} rec/s = ${ratio(ours.recordsPerSec, java.recordsPerSec)}; p99 ${ms(ours.latencyMs.p99)} vs ${ms(java.latencyMs.p99)} ms | ${faster && lower ? "yes" : `**no** (${[!faster && "records/s", !lower && "p99"].filter(Boolean).join(", ")})`} |`,
    );
    out.push("");
  }
  // Round by round: each round runs both clients back to back, so they share its load.
  const rounds = [...new Set(txn.map((r) => r.rep))];
  const pairs = rounds
    .map((rep) => [
      txn.find((r) => r.rep === rep && r.tool === "ours"),
      txn.find((r) => r.rep === rep && r.tool === "java"),
    ])
    .filter(([o, j]) => o?.ok && j?.ok);
  if (pairs.length > 0) {
    const faster = pairs.filter(([o, j]) => o.recordsPerSec >= j.recordsPerSec).length;
    const lower = pairs.filter(([o, j]) => o.latencyMs.p99 < j.latencyMs.p99).length;
    const both = pairs.filter(
      ([o, j]) => o.recordsPerSec >= j.recordsPerSec && o.latencyMs.p99 < j.latencyMs.p99,
    ).length;
    out.push(
      `Round by round (both clients back to back): ours at least as fast in ${faster} of ${pairs.length}, ` +
        `with the lower p99 in ${lower} of ${pairs.length}, both in ${both} of ${pairs.length}.`,
    );
    out.push("");
  }
  // Every run, so the spread on a shared machine is there to see.
  out.push("Every run:");
  out.push("");
  out.push(
    "| round | client | load (1 min) | records/s | p50 ms | p99 ms | CPU µs/record | transactions | run s | ok |",
  );
  out.push("|--:|---|--:|--:|--:|--:|--:|--:|--:|:-:|");
  for (const r of txn) {
    const l = r.latencyMs ?? {};
    out.push(
      `| ${r.rep + 1} | ${r.tool === "ours" ? "this project" : "ProducerPerformance"} | ${r.load1?.toFixed(2) ?? "?"} | ${r.ok ? int(r.recordsPerSec) : "failed"} | ${ms(l.p50)} | ${ms(l.p99)} | ${r.cpuUsPerRecord?.toFixed(2) ?? "?"} | ${r.transactions ?? "?"} | ${r.seconds?.toFixed(2) ?? "?"}${r.short ? " (short)" : ""} | ${r.ok ? "yes" : "**no**"} |`,
    );
  }
  out.push("");
  if (ours?.ok && ours.commitSeconds !== undefined) {
    out.push(
      `Our fastest run spent ${ours.commitSeconds.toFixed(2)} s of its ${ours.seconds.toFixed(2)} s waiting in ` +
        `commitTransaction() (the last batches' delivery and EndTxn; longest ${ms(ours.commitMaxMs)} ms), ` +
        `Transactions v${ours.protocol ?? "?"}; ` +
        (ours.queuedAtCommitMax === undefined
          ? ""
          : `records still queued as a commit began (produced ahead of the network): ${int(ours.queuedAtCommitMean)} on average, ${int(ours.queuedAtCommitMax)} at most; `) +
        (ours.gc === undefined
          ? ""
          : `GC pauses ${int(ours.gc.ms)} ms in ${int(ours.gc.count)}, longest ${ms(ours.gc.maxMs)} ms; `) +
        `queue full ${ours.queueFull ?? 0} time(s).`,
    );
    out.push("");
  }
  return out;
}

/** The codecs of the hot path's figures, in order. */
export const CODECS = ["none", "snappy", "lz4", "zstd", "gzip"];

/** The hot path's codec figures as lines of text, for its print and bench/run.mjs's log. */
export function codecLines(codecs) {
  const f = (n) => Math.round(n).toLocaleString("en-US");
  const lines = [];
  for (const s of codecs.sizes) {
    const cells = CODECS.map((codec) => {
      const o = s.ours[codec];
      if (o === null) return `${codec} n/a`;
      const c = s.c?.[codec];
      const vs = c ? ` (C ${f(c.MBps)} MB/s ×${c.ratio.toFixed(2)})` : "";
      return `${codec} ${f(o.MBps)} MB/s ×${o.ratio.toFixed(2)}${vs}`;
    });
    lines.push(`compress ${Math.round(s.inputBytes / 1024)} KB of records: ${cells.join(", ")}`);
  }
  if (codecs.cSkipped) lines.push(codecs.cSkipped);
  return lines;
}
