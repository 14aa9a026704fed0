/**
 * `event-kafka serve`: the sidecar. Listens for OpenSIPS event_stream (TCP)
 * and event_datagram (UDP, UNIX) messages and publishes each event to the
 * kafka socket its route names, until SIGTERM or SIGINT.
 */
import { consoleLogger } from "../client/logger.js";
import {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  maxFrameOf,
  parseEndpoint,
  readConfigFile,
  type SidecarConfig,
} from "../sidecar/config.js";
import { stderrLog } from "../sidecar/peer-log.js";
import { parseRouteOption } from "../sidecar/routes.js";
import { startSidecar } from "../sidecar/server.js";
import { parseCommandArgs, stringOf, stringsOf } from "./options.js";
import { UsageError } from "./usage.js";

const OPTIONS = {
  tcp: { type: "string", multiple: true },
  udp: { type: "string", multiple: true },
  unix: { type: "string", multiple: true },
  route: { type: "string", multiple: true },
  config: { type: "string" },
  http: { type: "string" },
  "event-param": { type: "string" },
  "shutdown-timeout": { type: "string" },
  "max-frame": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** The command line's settings, then the file's: listeners add up, routes keep that order. */
function configOf(values: ReturnType<typeof parseCommandArgs>["values"]): SidecarConfig {
  const file = ((): Partial<SidecarConfig> => {
    const path = stringOf(values, "config");
    return path === undefined ? {} : readConfigFile(path);
  })();
  const http = stringOf(values, "http");
  const timeout = stringOf(values, "shutdown-timeout");
  const seconds = timeout === undefined ? undefined : Number(timeout);
  if (seconds !== undefined && !(seconds >= 0 && Number.isFinite(seconds))) {
    throw new UsageError(`--shutdown-timeout expects seconds, got "${timeout}"`);
  }
  const maxFrame = stringOf(values, "max-frame");
  const config: SidecarConfig = {
    tcp: [...stringsOf(values, "tcp").map((t) => parseEndpoint(t, "--tcp")), ...(file.tcp ?? [])],
    udp: [...stringsOf(values, "udp").map((t) => parseEndpoint(t, "--udp")), ...(file.udp ?? [])],
    unix: [...stringsOf(values, "unix"), ...(file.unix ?? [])],
    http: http === undefined ? file.http : parseEndpoint(http, "--http"),
    routes: [...stringsOf(values, "route").map(parseRouteOption), ...(file.routes ?? [])],
    eventParam: stringOf(values, "event-param") ?? file.eventParam,
    shutdownTimeoutMs:
      seconds === undefined
        ? (file.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS)
        : seconds * 1000,
    maxFrameBytes:
      maxFrame === undefined
        ? (file.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES)
        : maxFrameOf(maxFrame, "--max-frame"),
  };
  if (config.tcp.length + config.udp.length + config.unix.length === 0) {
    throw new UsageError("serve needs a listener: --tcp HOST:PORT, --udp HOST:PORT or --unix PATH");
  }
  if (config.routes.length === 0) {
    throw new UsageError("serve needs a route: --route 'EVENT=kafka:BROKERS/TOPIC' (or '*=...')");
  }
  if (config.eventParam === "") throw new UsageError("--event-param needs a parameter name");
  return config;
}

export async function serve(args: readonly string[]): Promise<number | "help"> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  if (values.help) return "help";
  if (positionals.length > 0) {
    throw new UsageError(`serve takes options only, got "${positionals[0]}"`);
  }
  const config = configOf(values);
  const logger = consoleLogger(process.env.EVENT_KAFKA_DEBUG ? "debug" : "warn");
  let running: Awaited<ReturnType<typeof startSidecar>>;
  try {
    running = await startSidecar(config, stderrLog, logger);
  } catch (err) {
    process.stderr.write(`event-kafka: ${(err as Error).message}\n`);
    return 1;
  }
  for (const r of running.sidecar.routes.routes) {
    stderrLog(`route ${r.spec.event} -> ${r.spec.socket.text}`);
  }
  stderrLog(`listening on ${running.addresses.join(", ")}`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  stderrLog(
    `${signal}: draining (up to ${config.shutdownTimeoutMs / 1000} s; send it again to stop at once)`,
  );
  const again = () => {
    stderrLog("stopped at once: answers and records still owed are lost");
    process.exit(1);
  };
  process.once("SIGTERM", again);
  process.once("SIGINT", again);
  const summary = await running.shutdown();
  process.off("SIGTERM", again);
  process.off("SIGINT", again);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return summary.lost_at_shutdown > 0 ? 1 : 0;
}
