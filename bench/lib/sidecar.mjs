// `event-kafka serve` for the bench: started in a child process, with the ports it reports,
// and its /metrics counts of events published and failed.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const cli = join(fileURLToPath(new URL("../..", import.meta.url)), "dist/cli.js");

/** Starts `event-kafka serve ARGS`; resolves once it is listening, with port(kind) for its listeners. */
export async function startServe(args) {
  const child = spawn(process.execPath, [cli, "serve", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
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
  return { child, port };
}

/** Events published and failed so far, over every route, from the sidecar's /metrics. */
export async function sidecarCounts(httpPort) {
  const body = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  let published = 0;
  let failed = 0;
  for (const line of body.split("\n")) {
    if (line.startsWith("event_kafka_sidecar_events_published_total{"))
      published += Number(line.split(" ").pop());
    if (line.startsWith("event_kafka_sidecar_events_failed_total{"))
      failed += Number(line.split(" ").pop());
  }
  return { published, failed };
}
