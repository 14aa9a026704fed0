// Events through `event-kafka serve`: a child sidecar with one route to the topic, and one TCP
// connection writing event_stream notifications (compact, back to back) as fast as the socket
// takes them. Each event's record value is padded to valueSize bytes. The clock runs from the
// first byte written to the sidecar's /metrics counting every event published (acknowledged).
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { report, settings } from "../lib/client.mjs";

const s = settings();
const cli = join(fileURLToPath(new URL("../..", import.meta.url)), "dist/cli.js");
const props = [
  `t.acks=${s.acks}`,
  `g.linger.ms=${s.lingerMs}`,
  `g.batch.size=${s.batchBytes}`,
  "g.compression.codec=none",
].join("&");
const child = spawn(
  process.execPath,
  [
    cli,
    "serve",
    "--tcp",
    "127.0.0.1:0",
    "--http",
    "127.0.0.1:0",
    "--route",
    `*=kafka:${s.bootstrap}/${s.topic}?${props}`,
  ],
  { stdio: ["ignore", "pipe", "pipe"] },
);
let stderr = "";
const addresses = await new Promise((resolve, reject) => {
  child.stderr.on("data", (d) => {
    stderr += d;
    const m = /listening on (.*)\n/.exec(stderr);
    if (m) resolve(m[1]);
  });
  child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
});
const port = (kind) => Number(new RegExp(`${kind}:[^,]*:(\\d+)`).exec(addresses)[1]);

// One event text per distinct padding: the value is {"jsonrpc":"2.0","method":"E_BENCH","params":{"v":"..."}}.
const head = '{"jsonrpc":"2.0","method":"E_BENCH","params":{"v":"';
const tail = '"}}';
const pad = Math.max(1, s.valueSize - head.length - tail.length);
const events = [];
for (let i = 0; i < 64; i++) {
  events.push(`${head}${String.fromCharCode(97 + (i % 26)).repeat(pad)}${tail}`);
}
const perChunk = Math.max(1, Math.floor(65536 / events[0].length));
const chunks = events.map((_, i) => {
  let c = "";
  for (let j = 0; j < perChunk; j++) c += events[(i + j) % events.length];
  return Buffer.from(c);
});

async function published() {
  const body = await (await fetch(`http://127.0.0.1:${port("http")}/metrics`)).text();
  let n = 0;
  let failed = 0;
  for (const line of body.split("\n")) {
    if (line.startsWith("event_kafka_sidecar_events_published_total{"))
      n += Number(line.split(" ").pop());
    if (line.startsWith("event_kafka_sidecar_events_failed_total{"))
      failed += Number(line.split(" ").pop());
  }
  return { n, failed };
}

// No warm-up event (the topic must hold exactly `records`): the clock includes the first
// metadata request, as the CLI's whole-process time does.
const socket = connect(port("tcp"), "127.0.0.1");
await new Promise((r) => socket.once("connect", r));

const started = performance.now();
let sent = 0;
let k = 0;
while (sent < s.records) {
  const left = s.records - sent;
  const chunk =
    left >= perChunk ? chunks[k++ % chunks.length] : chunks[0].subarray(0, left * events[0].length);
  sent += Math.min(perChunk, left);
  if (!socket.write(chunk)) await new Promise((r) => socket.once("drain", r));
}
let last = { n: 0, failed: 0 };
while (last.n + last.failed < s.records) {
  await new Promise((r) => setTimeout(r, 10));
  last = await published();
}
const seconds = (performance.now() - started) / 1000;
socket.end();
child.kill("SIGTERM");
await new Promise((r) => child.once("exit", r));
report({ delivered: last.n, failed: last.failed, seconds });
