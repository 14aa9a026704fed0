/**
 * `npm run broker` (node test/broker/cli.mjs [--nodes 1|3] [--prop key=value ...]):
 * starts local Apache Kafka KRaft node(s), prints KAFKA_BOOTSTRAP=..., and stops them on
 * Ctrl-C / SIGTERM. Use the printed line as `KAFKA_BOOTSTRAP=... npx vitest run` to reuse
 * the broker across test runs.
 *
 * `node test/broker/cli.mjs --fetch-jars` only gathers the broker's jars with Maven (what
 * the tests would do on first use) and prints their directory; .ci/run uses it.
 */
import { ensureJars, kafkaVersionFromJars, startCluster } from "./kafka.js";

function usage(): never {
  console.error("usage: npm run broker -- [--nodes 1|3] [--prop key=value ...] | --fetch-jars");
  process.exit(2);
}

function parseArgs(argv: string[]): { nodes: 1 | 3; brokerProps: Record<string, string> } {
  let nodes: 1 | 3 = 1;
  const brokerProps: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--nodes") {
      const n = argv[++i];
      if (n === "1") nodes = 1;
      else if (n === "3") nodes = 3;
      else usage();
    } else if (arg === "--prop") {
      const kv = argv[++i] ?? "";
      const eq = kv.indexOf("=");
      if (eq <= 0) usage();
      brokerProps[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else {
      usage();
    }
  }
  return { nodes, brokerProps };
}

export async function main(argv: string[]): Promise<void> {
  if (argv.length === 1 && argv[0] === "--fetch-jars") {
    const t0 = Date.now();
    const dir = await ensureJars();
    console.log(`Apache Kafka ${kafkaVersionFromJars(dir)} jars in ${dir} (${Date.now() - t0} ms)`);
    return;
  }
  const { nodes, brokerProps } = parseArgs(argv);
  const t0 = Date.now();
  const cluster = await startCluster({ nodes, brokerProps });
  let stopping = false;
  const shutdown = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.error("[broker] stopping...");
    await cluster.stop();
    console.error("[broker] stopped");
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));
  process.on("SIGHUP", () => void shutdown(0));

  console.log(`KAFKA_BOOTSTRAP=${cluster.bootstrap}`);
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  console.error(
    `[broker] Apache Kafka ${cluster.version}, ${nodes} node(s), started in ${secs} s; ` +
      `pids ${cluster.nodes.map((n) => n.pid).join(",")}; Ctrl-C to stop`,
  );
  for (const node of cluster.nodes) console.error(`[broker] node ${node.nodeId}: ${node.dir}`);

  // Exit (non-zero) if a node dies under us rather than sitting there with a dead broker.
  const watch = setInterval(() => {
    const dead = cluster.nodes.find((n) => !n.isRunning());
    if (!dead || stopping) return;
    clearInterval(watch);
    console.error(`[broker] node ${dead.nodeId} exited; log tail:\n${dead.logTail(30)}`);
    void shutdown(1);
  }, 1_000);
}
