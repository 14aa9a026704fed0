// `npm run test:brokers`: the broker-version matrix. For each Apache Kafka version below, one
// after another, runs test/matrix/conformance.matrix.ts (vitest project "brokers"), which starts
// that broker from its Maven jars, checks it and stops it; then prints a table of the results and
// writes it to test/matrix/results/latest.md and latest.json. Exits 1 unless every version
// passed, after printing the table.
//
//   npm run test:brokers                  the whole matrix
//   npm run test:brokers -- 3.9.1 2.8.2   only these versions (results/latest.* not written)
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The matrix: version and mode. 3.3.2 and 2.8.2 run with ZooKeeper. */
const MATRIX = [
  { version: "4.4.0", mode: "kraft" },
  { version: "4.0.0", mode: "kraft" },
  { version: "3.9.1", mode: "kraft" },
  { version: "3.3.2", mode: "zookeeper" },
  { version: "2.8.2", mode: "zookeeper" },
];

/** Row titles of the checks table, in order (the vitest test titles). */
const CHECKS = [
  "ApiVersions negotiation",
  "Metadata: brokers, topic with partitions, leader",
  "produce none",
  "produce gzip",
  "produce snappy",
  "produce lz4",
  "produce zstd",
  "keyed placement: murmur2, as the Java client places keys",
  "headers, including empty and null values",
  "transactions: a committed transaction over 2 partitions is visible to read_committed",
  "transactions: an aborted transaction is written (read_uncommitted) but invisible to read_committed",
  "transactions: the protocol used, v2 (KIP-890) where the cluster finalizes transaction.version 2 (4.x), else v1",
];

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const resultsDir = join(here, "results");
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");

const wanted = process.argv.slice(2);
const unknown = wanted.filter((v) => !MATRIX.some((m) => m.version === v));
if (unknown.length) {
  console.error(
    `unknown version(s) ${unknown.join(", ")}; the matrix has ${MATRIX.map((m) => m.version).join(", ")}`,
  );
  process.exit(2);
}
const entries = wanted.length ? MATRIX.filter((m) => wanted.includes(m.version)) : MATRIX;

const firstLine = (s) =>
  String(s ?? "")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colours
    .replace(/\u001b\[[0-9;]*m/g, "")
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.length > 0) ?? "";
const oneLine = (s, max = 240) => {
  const t = firstLine(s).replace(/\|/g, "\\|");
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};

function runVitest(entry, jsonFile, infoFile) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        vitest,
        "run",
        "--project",
        "brokers",
        "--reporter=default",
        "--reporter=json",
        `--outputFile.json=${jsonFile}`,
      ],
      {
        cwd: root,
        stdio: "inherit",
        env: {
          ...process.env,
          MATRIX_KAFKA_VERSION: entry.version,
          MATRIX_KAFKA_MODE: entry.mode,
          MATRIX_INFO_FILE: infoFile,
        },
      },
    );
    child.on("error", (err) => resolve({ code: -1, error: err.message }));
    child.on("exit", (code, signal) => resolve({ code: code ?? -1, signal }));
  });
}

function readJson(file) {
  try {
    return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : undefined;
  } catch {
    return undefined;
  }
}

/** Why a start-up failed, in one line: the error's first line plus the log's telling line. */
function startReason(message) {
  const lines = String(message).split("\n");
  const head = (lines[0] ?? "").replace(/\s*Log tail \(.*$/, "").trim();
  const telling = lines
    .slice(1)
    .find((l) =>
      /Exception|Error:|UnsupportedClassVersion|Unrecognized|could not|cannot|failed/i.test(l),
    );
  return telling ? `${head} — ${telling.trim()}` : head;
}

const tmp = mkdtempSync(join(tmpdir(), "kafka-matrix-"));
const t0 = Date.now();
const results = [];
try {
  for (const entry of entries) {
    const label = `Kafka ${entry.version} (${entry.mode === "kraft" ? "KRaft" : "ZooKeeper"})`;
    console.log(`\n==> matrix: ${label}`);
    const jsonFile = join(tmp, `vitest-${entry.version}.json`);
    const infoFile = join(tmp, `info-${entry.version}.json`);
    const started = Date.now();
    const exit = await runVitest(entry, jsonFile, infoFile);
    const wallMs = Date.now() - started;
    const report = readJson(jsonFile);
    const info = readJson(infoFile) ?? {};
    const tests = (report?.testResults ?? []).flatMap((f) => f.assertionResults ?? []);
    const checks = {};
    for (const title of CHECKS) {
      const t = tests.find((x) => x.title === title);
      if (!t) checks[title] = { status: "missing" };
      else if (t.status === "passed") checks[title] = { status: "passed" };
      else if (t.status === "failed") {
        checks[title] = { status: "failed", message: oneLine(t.failureMessages?.[0]) };
      } else {
        checks[title] = {
          status: "skipped",
          message: info.skipped?.[title] ?? "skipped",
        };
      }
    }
    const extra = tests.filter((t) => !CHECKS.includes(t.title));
    const failed = tests.filter((t) => t.status === "failed");
    let result;
    if (info.startError) {
      result = { status: "not started", message: oneLine(startReason(info.startError), 400) };
    } else if (!report) {
      result = {
        status: "failed",
        message: `vitest exited ${exit.code}${exit.signal ? ` (${exit.signal})` : ""} without a report${exit.error ? `: ${exit.error}` : ""}`,
      };
    } else if (failed.length > 0) {
      const f = failed[0];
      result = { status: "failed", message: `${f.title}: ${oneLine(f.failureMessages?.[0])}` };
    } else if (report.numFailedTestSuites > 0 || exit.code !== 0) {
      const suite = (report.testResults ?? []).find((s) => s.status === "failed");
      result = {
        status: "failed",
        message: oneLine(suite?.message) || `vitest exited ${exit.code}`,
      };
    } else if (Object.values(checks).some((c) => c.status === "missing")) {
      result = { status: "failed", message: "some checks did not run" };
    } else {
      const passed = tests.filter((t) => t.status === "passed").length;
      const skipped = Object.entries(checks)
        .filter(([, c]) => c.status === "skipped")
        .map(([title, c]) => `${title.replace(/^produce /, "")}: ${c.message}`);
      result = {
        status: "passed",
        message: `${passed}/${tests.length} passed${skipped.length ? `; skipped ${skipped.join(", ")}` : ""}`,
      };
    }
    if (extra.length) result.extraTests = extra.map((t) => `${t.title}: ${t.status}`);
    results.push({
      version: entry.version,
      mode: entry.mode,
      negotiated: info.negotiated ?? null,
      transactions: info.transactions ?? null,
      startMs: info.startMs ?? null,
      wallMs,
      result,
      checks,
    });
    console.log(`==> ${label}: ${result.status}${result.message ? ` (${result.message})` : ""}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
const totalMs = Date.now() - t0;

// ---------------------------------------------------------------------------------------------
// The table

const modeName = (m) => (m === "kraft" ? "KRaft" : "ZooKeeper");
const versionCell = (n) => {
  if (!n) return "—";
  const picked = n.picked >= 0 ? `v${n.picked}` : "none";
  return `${picked} (broker v${n.min}–v${n.max})`;
};
/** The transaction protocol our producer used, and the cluster's finalized transaction.version. */
const transactionsCell = (t) => {
  if (!t) return "—";
  const used = t.used ? `v${t.used}` : "?";
  const level = t.finalized === null ? "none finalized" : `finalized ${t.finalized}`;
  return `${used} (transaction.version ${level})`;
};
const resultCell = (r) => {
  if (r.status === "passed") return `passed (${r.message})`;
  if (r.status === "not started") return `could not start: ${r.message}`;
  return `failed: ${r.message}`;
};
const secs = (ms) => (ms === null || ms === undefined ? "—" : `${(ms / 1000).toFixed(1)} s`);
const javaVersion = await new Promise((resolve) => {
  const c = spawn("java", ["-version"], { stdio: ["ignore", "ignore", "pipe"] });
  let out = "";
  c.stderr.on("data", (d) => {
    out += d;
  });
  c.on("error", () => resolve("no java"));
  c.on("exit", () => resolve(firstLine(out)));
});

const md = [];
md.push("# Broker-version matrix");
md.push("");
md.push(
  `Written by \`npm run test:brokers\` (test/matrix/run.mjs) on ${new Date().toISOString()}: ` +
    `Node ${process.version}, ${javaVersion}; whole run ${secs(totalMs)}. Each broker is Apache ` +
    "Kafka from its Maven jars, one node on 127.0.0.1, started and stopped in turn. The " +
    "version columns are what this client picks against that broker (Produce: the producer's " +
    "pick, by topic name, so at most v12), with the broker's advertised range; Transactions: " +
    "the protocol our transactional producer used (v2: KIP-890) and the cluster's finalized " +
    "transaction.version.",
);
md.push("");
md.push(
  "| Kafka | Mode | ApiVersions | Metadata | Produce | Transactions | Result | Start / total |",
);
md.push("|---|---|---|---|---|---|---|---|");
for (const r of results) {
  const n = r.negotiated ?? {};
  md.push(
    `| ${r.version} | ${modeName(r.mode)} | ${versionCell(n.ApiVersions)} | ${versionCell(n.Metadata)} | ${versionCell(n.Produce)} | ${transactionsCell(r.transactions)} | ${resultCell(r.result)} | ${secs(r.startMs)} / ${secs(r.wallMs)} |`,
  );
}
md.push("");
md.push(
  "Checks (test/matrix/conformance.matrix.ts; every produced record is read back by Apache " +
    "Kafka's Java consumer and compared byte for byte; the transactions in read_committed " +
    "and read_uncommitted):",
);
md.push("");
md.push(`| Check | ${results.map((r) => r.version).join(" | ")} |`);
md.push(`|---|${results.map(() => "---").join("|")}|`);
const checkCell = (c) => {
  if (!c || c.status === "missing") return "—";
  if (c.status === "passed") return "passed";
  if (c.status === "skipped") return `skipped: ${c.message}`;
  return `**failed**: ${c.message}`;
};
for (const title of CHECKS) {
  md.push(`| ${title} | ${results.map((r) => checkCell(r.checks[title])).join(" | ")} |`);
}
md.push("");
const table = md.join("\n");

console.log(`\n${table}`);
if (!wanted.length) {
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, "latest.md"), table);
  const json = {
    generatedAt: new Date().toISOString(),
    node: process.version,
    java: javaVersion,
    totalMs,
    results,
  };
  writeFileSync(join(resultsDir, "latest.json"), `${JSON.stringify(json, null, 2)}\n`);
  console.log(`written: ${relative(root, join(resultsDir, "latest.md"))} and latest.json`);
}
const ok = results.length > 0 && results.every((r) => r.result.status === "passed");
console.log(`matrix: ${ok ? "all passed" : "NOT all passed"} in ${secs(totalMs)}`);
process.exit(ok ? 0 : 1);
