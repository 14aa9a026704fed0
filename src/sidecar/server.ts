/**
 * `event-kafka serve` assembled: the sidecar core, its listeners and the
 * HTTP endpoint, started together and shut down in order.
 */
import { createServer, type Server } from "node:http";
import { consoleLogger, type Logger } from "../client/logger.js";
import { formatEndpoint, type SidecarConfig } from "./config.js";
import { UdpListener, UnixListener } from "./datagram-listener.js";
import { renderMetrics } from "./metrics.js";
import type { LogWriter } from "./peer-log.js";
import { Sidecar, type SidecarSummary } from "./sidecar.js";
import { TcpListener } from "./tcp-listener.js";

/** How long /health waits for each cluster's metadata answer. */
const HEALTH_TIMEOUT_MS = 2000;
/** A health answer serves the checks within this long (a probe storm costs one request). */
const HEALTH_CACHE_MS = 1000;

export interface RunningSidecar {
  readonly sidecar: Sidecar;
  /** What is listening, with the ports bound (`tcp:127.0.0.1:8090`, `http:...`). */
  readonly addresses: string[];
  /**
   * Stops accepting, gives deliveries until the shutdown timeout, answers
   * what it can, closes everything. Resolves with the run's counts.
   */
  shutdown(): Promise<SidecarSummary>;
}

interface ClusterHealth {
  brokers: string;
  reachable: boolean;
  error?: string;
}

export async function startSidecar(
  config: SidecarConfig,
  log: LogWriter,
  logger: Logger = consoleLogger("warn"),
): Promise<RunningSidecar> {
  const sidecar = new Sidecar({
    routes: config.routes,
    eventParam: config.eventParam,
    logger,
    log,
  });
  const tcp: TcpListener[] = [];
  const udp: UdpListener[] = [];
  const unix: UnixListener[] = [];
  let http: Server | undefined;
  const addresses: string[] = [];

  const stopListeners = async (): Promise<void> => {
    for (const t of tcp) t.stop();
    await Promise.all([...udp.map((u) => u.stop()), ...unix.map((u) => u.stop())]);
  };

  try {
    for (const e of config.tcp) tcp.push(await TcpListener.open(e, sidecar, config.maxFrameBytes));
    for (const e of config.udp) udp.push(await UdpListener.open(e, sidecar, log));
    for (const p of config.unix) unix.push(await UnixListener.open(p, sidecar, log));
    addresses.push(
      ...tcp.map((t) => t.label),
      ...udp.map((u) => u.label),
      ...unix.map((u) => u.label),
    );
    if (config.http !== undefined) {
      http = await serveHttp(config.http.host, config.http.port, sidecar, tcp);
      const a = http.address();
      const port = typeof a === "object" && a !== null ? a.port : config.http.port;
      addresses.push(`http:${formatEndpoint({ host: config.http.host, port })}`);
    }
  } catch (err) {
    await stopListeners();
    http?.close();
    await sidecar.closeProducers(0);
    throw err;
  }

  let stopping: Promise<SidecarSummary> | undefined;
  const shutdown = async (): Promise<SidecarSummary> => {
    sidecar.beginStop();
    const deadline = Date.now() + config.shutdownTimeoutMs;
    await stopListeners();
    // Events held for room get their chance while the producers deliver.
    while (tcp.some((t) => t.held > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const t of tcp) t.dropHeld();
    await sidecar.closeProducers(Math.max(0, deadline - Date.now()));
    // The last answers go out with the connections' ends; then whatever is left is cut.
    await Promise.all(tcp.map((t) => t.finish(1000)));
    await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
    http?.closeAllConnections();
    return sidecar.summary();
  };
  return {
    sidecar,
    addresses,
    shutdown: () => {
      stopping ??= shutdown();
      return stopping;
    },
  };
}

function serveHttp(
  host: string,
  port: number,
  sidecar: Sidecar,
  tcp: TcpListener[],
): Promise<Server> {
  let health: { at: number; answer: Promise<ClusterHealth[]> } | undefined;
  const checkHealth = (): Promise<ClusterHealth[]> => {
    const now = Date.now();
    if (health !== undefined && now - health.at < HEALTH_CACHE_MS) return health.answer;
    const answer = Promise.all(
      sidecar.clusters.map(async (c): Promise<ClusterHealth> => {
        if (sidecar.stopping)
          return { brokers: c.brokers, reachable: false, error: "shutting down" };
        try {
          await c.producer.metadata({ topics: [], timeoutMs: HEALTH_TIMEOUT_MS });
          return { brokers: c.brokers, reachable: true };
        } catch (err) {
          return { brokers: c.brokers, reachable: false, error: (err as Error).message };
        }
      }),
    );
    health = { at: now, answer };
    return answer;
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/metrics") {
      const body = renderMetrics(sidecar, {
        tcpConnections: tcp.reduce((n, t) => n + t.connections, 0),
        held: tcp.reduce((n, t) => n + t.held, 0),
      });
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(body);
      return;
    }
    if (path === "/health") {
      void checkHealth().then((clusters) => {
        const ok = clusters.every((c) => c.reachable);
        res
          .writeHead(ok ? 200 : 503, { "content-type": "application/json" })
          .end(`${JSON.stringify({ status: ok ? "ok" : "unavailable", clusters })}\n`);
      });
      return;
    }
    res
      .writeHead(404, { "content-type": "text/plain" })
      .end("not found: try /metrics or /health\n");
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}
