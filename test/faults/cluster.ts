/**
 * A three-node cluster whose client traffic goes through one fault proxy per node.
 *
 * The brokers advertise the proxies' ports on a CLIENT listener, so a client that bootstraps
 * through the proxies (`bootstrap`) keeps going through them after Metadata. Inter-broker,
 * controller and readiness traffic stay on the PLAINTEXT/CONTROLLER listeners, and so do the
 * test's own tools (`direct`: the KafkaJS admin and the Java reader), which the faults never hit.
 */
import type { Admin } from "kafkajs";
import { freePorts, type KafkaCluster, type KafkaNode, startCluster } from "../broker/kafka.js";
import { connectAdmin } from "../producer/helpers.js";
import { startProxy, type TcpProxy } from "./proxy.js";

export interface FaultCluster {
  readonly cluster: KafkaCluster;
  /** proxies[i] forwards to cluster.nodes[i]'s CLIENT listener. */
  readonly proxies: readonly TcpProxy[];
  /** The proxies: what the producers under test bootstrap from. */
  readonly bootstrap: string;
  /** The PLAINTEXT listeners, untouched by faults: for the admin and the reader. */
  readonly direct: string;
  readonly admin: Admin;
  node(nodeId: number): KafkaNode;
  proxyOf(nodeId: number): TcpProxy;
  stop(): Promise<void>;
}

export async function startFaultCluster(): Promise<FaultCluster> {
  const proxyPorts = await freePorts(3);
  const cluster = await startCluster({
    nodes: 3,
    clientProxyPorts: proxyPorts,
    // A dead broker is fenced (and its partitions led elsewhere) after 4 s instead of 9 s.
    brokerProps: { "broker.session.timeout.ms": "4000", "broker.heartbeat.interval.ms": "500" },
  });
  const proxies: TcpProxy[] = [];
  let admin: Admin | undefined;
  try {
    for (const [i, node] of cluster.nodes.entries()) {
      proxies.push(await startProxy({ host: "127.0.0.1", port: node.clientPort }, proxyPorts[i]));
    }
    admin = await connectAdmin(cluster.bootstrap);
  } catch (err) {
    await Promise.all(proxies.map((p) => p.close()));
    await cluster.stop();
    throw err;
  }
  const index = (nodeId: number): number => {
    const i = cluster.nodes.findIndex((n) => n.nodeId === nodeId);
    if (i < 0) throw new Error(`no node ${nodeId}`);
    return i;
  };
  const connectedAdmin = admin;
  return {
    cluster,
    proxies,
    bootstrap: proxies.map((p) => `127.0.0.1:${p.port}`).join(","),
    direct: cluster.bootstrap,
    admin: connectedAdmin,
    node: (nodeId) => cluster.nodes[index(nodeId)]!,
    proxyOf: (nodeId) => proxies[index(nodeId)]!,
    async stop(): Promise<void> {
      await connectedAdmin.disconnect().catch(() => {});
      await Promise.all(proxies.map((p) => p.close()));
      await cluster.stop();
    },
  };
}
