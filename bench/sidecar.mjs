#!/usr/bin/env node
// The sidecar's own cost per event: `event-kafka serve` in a child process, one TCP
// connection writing event_stream texts as OpenSIPS builds them (id first in reliable
// mode), back to back, as fast as the socket takes them. Reports events/s from the first
// byte written to the last event acknowledged (notify: /metrics; reliable: the last
// answer), and the sidecar process's CPU (user + system, /proc) per event.
//
//   node bench/sidecar.mjs --bootstrap HOST:PORT [--events N] [--repeat N] [--mode notify,reliable]
import { connect } from "node:net";
import { processCpuSeconds } from "./lib/measure.mjs";
import { sidecarCounts, startServe } from "./lib/sidecar.mjs";

const o = {
  bootstrap: process.env.KAFKA_BOOTSTRAP,
  events: 200_000,
  repeat: 3,
  modes: ["notify", "reliable"],
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const next = () => argv[++i];
  switch (argv[i]) {
    case "--bootstrap":
      o.bootstrap = next();
      break;
    case "--events":
      o.events = Number(next());
      break;
    case "--repeat":
      o.repeat = Number(next());
      break;
    case "--mode":
      o.modes = next().split(",");
      break;
    default:
      console.error(`unknown option ${argv[i]}`);
      process.exit(2);
  }
}
if (!o.bootstrap) {
  console.error("give --bootstrap HOST:PORT (or KAFKA_BOOTSTRAP); `npm run broker` starts one");
  process.exit(2);
}

/** An E_ACC_CDR-like event as OpenSIPS's evi_build_payload writes it (about 330 bytes). */
function eventText(i, reliable) {
  const id = reliable ? `"id":${100000 + i},` : "";
  return (
    `{${id}"jsonrpc":"2.0","method":"E_BENCH","params":{"callid":"${i}-4c2a9e@10.0.0.7",` +
    `"from_tag":"a7f3c1","to_tag":"9b2e44","method":"INVITE","code":"200","reason":"OK",` +
    `"time":1733520000,"duration":${i % 3600},"setuptime":2,"created":1733519998,` +
    `"src_ip":"10.0.0.7","dst_uri":"sip:bob@10.0.0.9:5060","caller":"sip:alice@example.com"}}`
  );
}

async function startSidecar(topic) {
  const { child, port } = await startServe([
    "--tcp",
    "127.0.0.1:0",
    "--http",
    "127.0.0.1:0",
    "--route",
    `*=kafka:${o.bootstrap}/${topic}?key=callid&g.linger.ms=5&g.batch.size=1000000`,
  ]);
  return { child, tcp: port("tcp"), http: port("http") };
}

async function published(httpPort) {
  const { published: n, failed } = await sidecarCounts(httpPort);
  return n + failed;
}

/** Counts answers on the connection: each is one JSON object, whitespace allowed. */
function answerCounter(socket) {
  const state = { count: 0, depth: 0, inString: false, escaped: false };
  socket.on("data", (chunk) => {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (state.inString) {
        if (state.escaped) state.escaped = false;
        else if (b === 0x5c) state.escaped = true;
        else if (b === 0x22) state.inString = false;
      } else if (b === 0x22) state.inString = true;
      else if (b === 0x7b) state.depth++;
      else if (b === 0x7d && --state.depth === 0) state.count++;
    }
  });
  return state;
}

async function run(mode, n, seq) {
  const reliable = mode === "reliable";
  const topic = `bench-sidecar-${process.pid}-${mode}-${seq}`;
  const { child, tcp, http } = await startSidecar(topic);
  // A warm-up event creates the topic and its metadata before the clock starts.
  const socket = connect(tcp, "127.0.0.1");
  await new Promise((r) => socket.once("connect", r));
  socket.setNoDelay(true);
  const answers = answerCounter(socket);
  socket.write(eventText(-1, reliable));
  while ((await published(http)) < 1) await new Promise((r) => setTimeout(r, 20));
  const cpu0 = processCpuSeconds(child.pid);
  const started = performance.now();
  let sent = 0;
  while (sent < n) {
    let chunk = "";
    for (let j = 0; j < 200 && sent < n; j++, sent++) chunk += eventText(sent, reliable);
    if (!socket.write(chunk)) await new Promise((r) => socket.once("drain", r));
  }
  if (reliable) {
    while (answers.count < n + 1) await new Promise((r) => setTimeout(r, 2));
  } else {
    while ((await published(http)) < n + 1) await new Promise((r) => setTimeout(r, 10));
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = processCpuSeconds(child.pid) - cpu0;
  socket.end();
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  return {
    mode,
    events: n,
    seconds,
    eventsPerSec: n / seconds,
    cpuSeconds: cpu,
    cpuUsPerEvent: (cpu / n) * 1e6,
  };
}

const rows = [];
for (const mode of o.modes) {
  const runs = [];
  for (let r = 0; r < o.repeat; r++) runs.push(await run(mode, o.events, r));
  runs.sort((a, b) => a.cpuUsPerEvent - b.cpuUsPerEvent);
  const best = runs[0];
  const rates = runs.map((x) => Math.round(x.eventsPerSec));
  rows.push({ ...best, rates });
  console.error(
    `${mode}: best ${best.cpuUsPerEvent.toFixed(2)} µs CPU/event, ${Math.round(best.eventsPerSec)} events/s` +
      ` (runs: ${runs.map((x) => `${x.cpuUsPerEvent.toFixed(2)} µs ${Math.round(x.eventsPerSec)}/s`).join(", ")})`,
  );
}
console.log("| mode | events | events/s (best CPU run) | sidecar CPU s | µs CPU per event |");
console.log("|---|--:|--:|--:|--:|");
for (const r of rows) {
  console.log(
    `| ${r.mode} | ${r.events} | ${Math.round(r.eventsPerSec)} | ${r.cpuSeconds.toFixed(2)} | ${r.cpuUsPerEvent.toFixed(2)} |`,
  );
}
