/** `event-kafka metadata`: the cluster's brokers and topics, as text or JSON (kcat -L / -L -J). */
import type { ClusterDescription } from "../client/cluster-metadata.js";
import { silentLogger } from "../client/logger.js";
import { Producer } from "../producer/producer.js";
import { parseSocket } from "../socket/socket.js";
import { parseCommandArgs, propertiesWith, stringOf, stringsOf } from "./options.js";
import { UsageError } from "./usage.js";

const OPTIONS = {
  json: { type: "boolean" },
  property: { type: "string", short: "X", multiple: true },
  timeout: { type: "string", short: "t" },
  help: { type: "boolean", short: "h" },
} as const;

export async function metadata(args: readonly string[]): Promise<number | "help"> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  if (values.help) return "help";
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "metadata needs kafka:BROKERS[/TOPIC]"
        : `metadata takes one kafka:BROKERS[/TOPIC], got ${positionals.length} arguments`,
    );
  }
  const socket = parseSocket(positionals[0]!, { topicOptional: true, refuseDuplicates: true });
  const timeout = stringOf(values, "timeout");
  const seconds = timeout === undefined ? 10 : Number(timeout);
  if (!(seconds > 0)) throw new UsageError(`-t expects seconds, got "${timeout}"`);
  const producer = new Producer(propertiesWith(socket, stringsOf(values, "property")), {
    logger: silentLogger,
  });
  try {
    const cluster = await producer.metadata({
      topics: socket.topic === "" ? undefined : [socket.topic],
      timeoutMs: seconds * 1000,
    });
    process.stdout.write(values.json ? `${JSON.stringify(cluster)}\n` : formatCluster(cluster));
    // A topic asked for by name that the cluster lacks (or cannot describe) is a failure.
    const failed = cluster.topics.filter((t) => t.error !== null);
    for (const t of failed) process.stderr.write(`event-kafka: topic "${t.name}": ${t.error}\n`);
    return failed.length > 0 && socket.topic !== "" ? 1 : 0;
  } catch (err) {
    process.stderr.write(`event-kafka: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await producer.close(0);
  }
}

/** The listing as text: one line per broker, topic and partition. */
export function formatCluster(c: ClusterDescription): string {
  const lines: string[] = [];
  lines.push(
    `cluster ${c.clusterId ?? "(no id)"}, controller ${c.controllerId < 0 ? "unknown" : c.controllerId}`,
  );
  lines.push(`${c.brokers.length} broker(s):`);
  for (const b of c.brokers) {
    const rack = b.rack === null ? "" : `, rack ${b.rack}`;
    const controller = b.nodeId === c.controllerId ? " (controller)" : "";
    lines.push(`  broker ${b.nodeId} at ${hostPort(b.host, b.port)}${rack}${controller}`);
  }
  lines.push(`${c.topics.length} topic(s):`);
  for (const t of c.topics) {
    const internal = t.internal ? ", internal" : "";
    const error = t.error === null ? "" : `: ${t.error}`;
    lines.push(`  topic "${t.name}" with ${t.partitions.length} partition(s)${internal}${error}`);
    for (const p of t.partitions) {
      const offline =
        p.offlineReplicas.length > 0 ? `, offline ${p.offlineReplicas.join(",")}` : "";
      const perror = p.error === null ? "" : `: ${p.error}`;
      lines.push(
        `    partition ${p.partition}, leader ${p.leader}, replicas ${p.replicas.join(",")}, isr ${p.isr.join(",")}${offline}${perror}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
