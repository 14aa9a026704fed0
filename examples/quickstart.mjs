// The quickstart: events raised through a kafka socket and a kafka_publish() to
// a named broker, with their delivery reports. Uses KAFKA_BOOTSTRAP when set;
// otherwise starts a local Apache Kafka broker (test/broker, Java + Maven) and
// stops it at the end.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
// Inside this repository the name resolves to the package itself (its "exports"), once built.
import { EventKafka } from "event-kafka";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Starts the test harness broker and resolves with its bootstrap address. */
function startLocalBroker() {
  return new Promise((resolve, reject) => {
    console.log("KAFKA_BOOTSTRAP is not set: starting a local Apache Kafka broker...");
    const child = spawn(process.execPath, ["test/broker/cli.mjs"], {
      cwd: root,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = /KAFKA_BOOTSTRAP=(\S+)/.exec(out);
      if (m) resolve({ bootstrap: m[1], stop: () => stopChild(child) });
    });
    child.on("exit", (code) => reject(new Error(`the local broker exited (${code}):\n${out}`)));
  });
}

function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.removeAllListeners("exit");
    child.on("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

const external = process.env.KAFKA_BOOTSTRAP;
const broker = external ? { bootstrap: external, stop: async () => {} } : await startLocalBroker();
console.log(`Kafka at ${broker.bootstrap}\n`);

const kafka = new EventKafka();
let pending = 0;
let done;
const allReported = new Promise((r) => {
  done = r;
});
const reported = () => {
  if (--pending === 0) done();
};

try {
  // 1. An event socket, as in modparam/event_subscribe: events become JSON-RPC records.
  const socket = `kafka:${broker.bootstrap}/opensips-events?key=callid&g.linger.ms=5&t.acks=all`;
  kafka.subscribe("E_PIKE_BLOCKED", socket);
  const onStatus = (s) => {
    console.log(
      `event ${s.event}: status ${s.status} partition ${s.partition} offset ${s.offset}${s.error ? ` (${s.error.message})` : ""}`,
    );
    reported();
  };
  for (const [ip, callId] of [
    ["192.168.2.11", "a84b4c76e66710@pc33.atlanta.com"],
    ["10.0.0.7", "3848276298220188511@atlanta.example.com"],
  ]) {
    pending += kafka.raise("E_PIKE_BLOCKED", { ip }, { callId, onStatus });
  }

  // 2. broker_id + kafka_publish() with a report route.
  kafka.addBroker(`[k1]kafka:${broker.bootstrap}/opensips-publish`);
  const queued = kafka.publish("k1", "my msg content", "a84b4c76e66710@pc33", (r) => {
    console.log(`kafka_report: ${JSON.stringify({ ...r, error: r.error?.message })}`);
    reported();
  });
  console.log(`kafka_publish returned ${queued}`);
  if (queued === 1) pending++;

  await allReported;
} finally {
  await kafka.close(10000);
  await broker.stop();
}
if (external) {
  console.log(`\nRead them back with: kcat -C -b ${external} -t opensips-events -e -f '%k %s\\n'`);
}
