/**
 * What `event-kafka serve` runs: listeners, routes and limits, from the
 * command line and an optional JSON file (docs/sidecar.md, "Configuration").
 */
import { readFileSync } from "node:fs";
import { parseRoute, RouteError, type RouteSpec } from "./routes.js";

export interface Endpoint {
  host: string;
  port: number;
}

export interface SidecarConfig {
  tcp: Endpoint[];
  udp: Endpoint[];
  unix: string[];
  http: Endpoint | undefined;
  routes: RouteSpec[];
  /** event_stream's event_param: the parameter that carries the event name. */
  eventParam: string | undefined;
  /** How long SIGTERM waits for deliveries before giving up on them. */
  shutdownTimeoutMs: number;
  /** The largest message taken on a TCP connection; a larger one is skipped. */
  maxFrameBytes: number;
}

/** The bound on one datagram: 64 KiB, more than UDP can carry. */
export const MAX_DATAGRAM_BYTES = 65536;

/** librdkafka's default message.max.bytes: no larger record could be sent anyway. */
export const DEFAULT_MAX_FRAME_BYTES = 1_000_000;

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/** `HOST:PORT`, `[V6]:PORT`; port 0 takes a free one. */
export function parseEndpoint(text: string, what: string): Endpoint {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : -1;
  if (!m || port > 65535) throw new RouteError(`${what} expects HOST:PORT, got "${text}"`);
  return { host: (m[1] ?? m[2])!, port };
}

/** A --max-frame value: a whole number of bytes, at least 64. */
export function maxFrameOf(value: unknown, where: string): number {
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 64) {
    throw new RouteError(
      `${where} must be a whole number of bytes, at least 64, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

export function formatEndpoint(e: Endpoint): string {
  return e.host.includes(":") ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

function stringList(value: unknown, where: string): string[] {
  if (value === undefined) return [];
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.some((v) => typeof v !== "string")) {
    throw new RouteError(`${where} must be a string or an array of strings`);
  }
  return list as string[];
}

const FILE_KEYS = new Set([
  "tcp",
  "udp",
  "unix",
  "http",
  "routes",
  "event_param",
  "shutdown_timeout",
  "max_frame",
]);

/**
 * The file's settings:
 * `{"tcp":["127.0.0.1:8090"],"udp":[...],"unix":[...],"http":"127.0.0.1:9464",
 *   "event_param":"opensips_event","shutdown_timeout":10,"max_frame":1000000,
 *   "routes":[{"event":"E_ACC_CDR","socket":"kafka:h1:9092/cdr?key=callid"}]}`.
 */
export function readConfigFile(path: string): Partial<SidecarConfig> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new RouteError(`--config ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new RouteError(`--config ${path}: not JSON: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new RouteError(`--config ${path}: expected a JSON object`);
  }
  const file = raw as Record<string, unknown>;
  for (const k of Object.keys(file)) {
    if (!FILE_KEYS.has(k)) {
      throw new RouteError(
        `--config ${path}: unknown setting "${k}" (${[...FILE_KEYS].join(", ")})`,
      );
    }
  }
  const where = (k: string) => `--config ${path}: "${k}"`;
  const out: Partial<SidecarConfig> = {
    tcp: stringList(file.tcp, where("tcp")).map((t) => parseEndpoint(t, where("tcp"))),
    udp: stringList(file.udp, where("udp")).map((t) => parseEndpoint(t, where("udp"))),
    unix: stringList(file.unix, where("unix")),
  };
  if (file.http !== undefined) {
    if (typeof file.http !== "string") throw new RouteError(`${where("http")} must be a string`);
    out.http = parseEndpoint(file.http, where("http"));
  }
  if (file.event_param !== undefined) {
    if (typeof file.event_param !== "string" || file.event_param === "") {
      throw new RouteError(`${where("event_param")} must be a non-empty string`);
    }
    out.eventParam = file.event_param;
  }
  if (file.shutdown_timeout !== undefined) {
    const s = file.shutdown_timeout;
    if (typeof s !== "number" || !(s >= 0) || !Number.isFinite(s)) {
      throw new RouteError(`${where("shutdown_timeout")} must be a number of seconds`);
    }
    out.shutdownTimeoutMs = s * 1000;
  }
  if (file.max_frame !== undefined) {
    out.maxFrameBytes = maxFrameOf(file.max_frame, where("max_frame"));
  }
  const routes = file.routes ?? [];
  if (!Array.isArray(routes)) {
    throw new RouteError(`${where("routes")} must be an array of {"event", "socket"}`);
  }
  out.routes = routes.map((r: unknown, i) => {
    const at = `--config ${path}: routes[${i}]`;
    const entry = r as Record<string, unknown> | null;
    if (
      entry === null ||
      typeof entry !== "object" ||
      typeof entry.event !== "string" ||
      typeof entry.socket !== "string"
    ) {
      throw new RouteError(`${at} must be {"event": "NAME", "socket": "kafka:..."}`);
    }
    return parseRoute(entry.event, entry.socket, at);
  });
  return out;
}
