/**
 * `npm run broker` (node test/broker/cli.mjs [--nodes 1|3] [--secure] [--prop key=value ...]):
 * starts local Apache Kafka KRaft node(s), prints KAFKA_BOOTSTRAP=..., and stops them on
 * Ctrl-C / SIGTERM. Use the printed line as `KAFKA_BOOTSTRAP=... npx vitest run` to reuse
 * the broker across test runs.
 *
 * `--secure` (single node) adds the TLS and SASL listeners of kafka.ts's SecureBrokerInfo and
 * prints each listener, the certificate files and the SASL users (test constants). With `--json`
 * it also prints `BROKER_JSON={...}`: the cluster's bootstrap, node pids and SecureBrokerInfo on
 * one line, for scripts (test/runtimes/run.mjs).
 *
 * `node test/broker/cli.mjs --fetch-jars` only gathers the broker's jars with Maven (what
 * the tests would do on first use) and prints their directory; .ci/run uses it.
 */
import { ensureJars, kafkaVersionFromJars, type SecureBrokerInfo, startCluster } from "./kafka.js";

function usage(): never {
  console.error(
    "usage: npm run broker -- [--nodes 1|3] [--secure] [--json] [--prop key=value ...] | --fetch-jars",
  );
  process.exit(2);
}

interface CliArgs {
  nodes: 1 | 3;
  secure: boolean;
  json: boolean;
  brokerProps: Record<string, string>;
}

function parseArgs(argv: string[]): CliArgs {
  let nodes: 1 | 3 = 1;
  let secure = false;
  let json = false;
  const brokerProps: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--nodes") {
      const n = argv[++i];
      if (n === "1") nodes = 1;
      else if (n === "3") nodes = 3;
      else usage();
    } else if (arg === "--secure") {
      secure = true;
    } else if (arg === "--json") {
      json = true;
    } else if (arg === "--prop") {
      const kv = argv[++i] ?? "";
      const eq = kv.indexOf("=");
      if (eq <= 0) usage();
      brokerProps[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else {
      usage();
    }
  }
  if (secure && nodes !== 1) {
    console.error("--secure starts a single node (leave out --nodes 3)");
    process.exit(2);
  }
  return { nodes, secure, json, brokerProps };
}

function printSecure(info: SecureBrokerInfo): void {
  const out = (line: string): void => console.log(line);
  out("Secure listeners (127.0.0.1, each advertised at its own port):");
  for (const l of Object.values(info.listeners)) {
    out(`  ${l.name.padEnd(15)} ${l.protocol.padEnd(15)} ${l.bootstrap}`);
  }
  out(`  REAUTH sessions: connections.max.reauth.ms=${info.reauthMs}`);
  const c = info.certs;
  out(`Certificates (${c.dir}, valid ${c.notBefore} .. ${c.notAfter}):`);
  out(`  CA                ${c.ca.certFile}`);
  out(`  broker            ${c.broker.certFile} (SAN IP:127.0.0.1, DNS:localhost)`);
  out(`  wrong-host broker ${c.wrongHost.certFile} (SAN DNS:kafka.invalid)`);
  out(`  client cert       ${c.client.certFile}`);
  out(`  client key        ${c.client.keyFile}`);
  out(`  client key (enc.) ${c.client.encryptedKeyFile} (passphrase "${c.client.passphrase}")`);
  out(`  unrelated CA      ${c.otherCa.certFile}`);
  out(`SASL mechanisms: ${info.saslMechanisms.join(", ")}; users:`);
  for (const u of [info.users.plain, info.users.scramSha256, info.users.scramSha512]) {
    out(`  ${u.mechanism.padEnd(13)} ${u.username} / ${u.password}`);
  }
  out(
    `  OAUTHBEARER   unsecured JWS (alg "none"), any sub (tests use "${info.users.oauthbearer.subject}"), exp required`,
  );
}

export async function main(argv: string[]): Promise<void> {
  if (argv.length === 1 && argv[0] === "--fetch-jars") {
    const t0 = Date.now();
    const dir = await ensureJars();
    console.log(`Apache Kafka ${kafkaVersionFromJars(dir)} jars in ${dir} (${Date.now() - t0} ms)`);
    return;
  }
  const { nodes, secure, json, brokerProps } = parseArgs(argv);
  const t0 = Date.now();
  const cluster = await startCluster({ nodes, brokerProps, secure });
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
  if (cluster.secure) printSecure(cluster.secure);
  if (json) {
    const info = {
      bootstrap: cluster.bootstrap,
      version: cluster.version,
      pids: cluster.nodes.map((n) => n.pid),
      secure: cluster.secure ?? null,
    };
    console.log(`BROKER_JSON=${JSON.stringify(info)}`);
  }
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
