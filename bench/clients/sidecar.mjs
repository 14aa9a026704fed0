// Events through `event-kafka serve`: a child sidecar with one route to the topic, and one TCP
// connection writing event_stream notifications (compact, back to back) as fast as the socket
// takes them. Each event's record value is padded to valueSize bytes. The clock runs from the
// first byte written to the sidecar's /metrics counting every event published (acknowledged).
import { connect } from "node:net";
import { report, settings } from "../lib/client.mjs";
import { sidecarCounts, startServe } from "../lib/sidecar.mjs";

const s = settings();
const props = [
  `t.acks=${s.acks}`,
  `g.linger.ms=${s.lingerMs}`,
  `g.batch.size=${s.batchBytes}`,
  "g.compression.codec=none",
].join("&");
const { child, port } = await startServe([
  "--tcp",
  "127.0.0.1:0",
  "--http",
  "127.0.0.1:0",
  "--route",
  `*=kafka:${s.bootstrap}/${s.topic}?${props}`,
]);

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
  const { published: n, failed } = await sidecarCounts(port("http"));
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
