/**
 * Which Kafka broker the broker-test harness (global-setup.ts) uses, and one line saying why:
 *
 *   external        KAFKA_BOOTSTRAP is set: that cluster, as it is (Docker is not even asked).
 *   testcontainers  a Docker engine answers: DOCKER_HOST (unix:// or tcp://) when set, else the
 *                   socket path (default /var/run/docker.sock).
 *   local           no engine answers: a local Kafka from Maven jars (kafka.ts).
 *
 * "Answers" means a real Docker engine reply, not just a socket that accepts a connection:
 * `GET /_ping HTTP/1.1` must get `HTTP/1.1 200` with the body `OK` within the timeout (2 s).
 * No side effects beyond that one request; everything is injectable for the unit test
 * (test/unit/broker-choice.test.ts).
 */
import { stat } from "node:fs/promises";
import { connect, type Socket } from "node:net";

export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";
export const DOCKER_PING_TIMEOUT_MS = 2_000;

const LOCAL = "using a local Kafka from Maven jars";
const CONTAINER = "using Kafka in a container (testcontainers)";

export type BrokerChoice =
  | { kind: "external"; bootstrap: string; reason: string }
  | { kind: "testcontainers"; engine: DockerEndpoint; reason: string }
  | { kind: "local"; reason: string };

export interface ChoiceOptions {
  /** Reads KAFKA_BOOTSTRAP and DOCKER_HOST; default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The engine socket tried when DOCKER_HOST is not set; default /var/run/docker.sock. */
  socketPath?: string;
  /** Default 2 s. */
  timeoutMs?: number;
}

/** Where a Docker engine would be; `label` is how the reason line names it. */
export type DockerEndpoint =
  | { kind: "unix"; path: string; label: string }
  | { kind: "tcp"; host: string; port: number; label: string };

export type PingResult = { ok: true } | { ok: false; why: string };

export async function chooseBroker(options: ChoiceOptions = {}): Promise<BrokerChoice> {
  const env = options.env ?? process.env;
  const bootstrap = env.KAFKA_BOOTSTRAP?.trim();
  if (bootstrap) {
    return {
      kind: "external",
      bootstrap,
      reason: `KAFKA_BOOTSTRAP=${bootstrap} is set; using that cluster as it is`,
    };
  }
  const endpoint = dockerEndpoint(env.DOCKER_HOST, options.socketPath ?? DEFAULT_DOCKER_SOCKET);
  if ("error" in endpoint) return { kind: "local", reason: `${endpoint.error}; ${LOCAL}` };
  const ping = await pingDocker(endpoint, options.timeoutMs ?? DOCKER_PING_TIMEOUT_MS);
  if (!ping.ok) {
    return {
      kind: "local",
      reason: `no Docker engine answers at ${endpoint.label} (${ping.why}); ${LOCAL}`,
    };
  }
  return {
    kind: "testcontainers",
    engine: endpoint,
    reason: `a Docker engine answers at ${endpoint.label} (GET /_ping: 200 OK); ${CONTAINER}`,
  };
}

/** DOCKER_HOST (unix:// or tcp://) when set and not blank, else the UNIX socket path. */
export function dockerEndpoint(
  dockerHost: string | undefined,
  socketPath: string,
): DockerEndpoint | { error: string } {
  const value = dockerHost?.trim();
  if (!value) return { kind: "unix", path: socketPath, label: socketPath };
  const label = `DOCKER_HOST=${value}`;
  const notUsable = { error: `${label} is not a unix:// or tcp:// address the harness can ping` };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return notUsable;
  }
  if (url.protocol === "unix:") {
    return url.pathname
      ? { kind: "unix", path: decodeURIComponent(url.pathname), label }
      : notUsable;
  }
  if (url.protocol === "tcp:" && url.hostname) {
    const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
    // Docker's own default for tcp:// without a port.
    return { kind: "tcp", host, port: url.port ? Number(url.port) : 2375, label };
  }
  return notUsable;
}

/** One `GET /_ping` to the engine; ok only for `HTTP/1.1 200` with the body `OK`. */
export async function pingDocker(endpoint: DockerEndpoint, timeoutMs: number): Promise<PingResult> {
  if (endpoint.kind === "unix") {
    try {
      if (!(await stat(endpoint.path)).isSocket()) return { ok: false, why: "not a socket" };
    } catch (err) {
      return { ok: false, why: describeError(err) };
    }
  }
  return new Promise((resolve) => {
    let text = "";
    let settled = false;
    const socket: Socket =
      endpoint.kind === "unix"
        ? connect({ path: endpoint.path })
        : connect({ host: endpoint.host, port: endpoint.port });
    const finish = (result: PingResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ ok: false, why: `no reply to GET /_ping within ${timeoutMs / 1000} s` }),
      timeoutMs,
    );
    socket.setEncoding("latin1");
    socket.once("connect", () => {
      socket.write("GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n");
    });
    socket.on("data", (chunk: string) => {
      text += chunk;
      const got = readPingReply(text, false);
      if (got) finish(got);
    });
    socket.once("end", () => finish(readPingReply(text, true) ?? { ok: false, why: "no reply" }));
    socket.once("close", () => finish(readPingReply(text, true) ?? { ok: false, why: "no reply" }));
    socket.once("error", (err) => finish({ ok: false, why: describeError(err) }));
  });
}

/**
 * Judges the bytes read so far (latin1). Undefined while a well-formed reply is still
 * incomplete and the connection is open; `ended` means no more bytes will come.
 */
export function readPingReply(text: string, ended: boolean): PingResult | undefined {
  if (text.length === 0) {
    return ended ? { ok: false, why: "the connection closed without a reply" } : undefined;
  }
  const prefix = "HTTP/";
  if (!text.startsWith(prefix.slice(0, Math.min(text.length, prefix.length)))) {
    return { ok: false, why: `answered ${quote(firstLine(text))}, not HTTP` };
  }
  const lineEnd = text.indexOf("\r\n");
  if (lineEnd < 0) {
    if (ended || text.length > 1024) {
      return { ok: false, why: `answered ${quote(firstLine(text))}, not an HTTP status line` };
    }
    return undefined;
  }
  const status = text.slice(0, lineEnd);
  if (!/^HTTP\/1\.1 200(?: |$)/.test(status)) {
    return { ok: false, why: `answered ${quote(status)}, not HTTP/1.1 200` };
  }
  const headerEnd = text.indexOf("\r\n\r\n");
  if (headerEnd < 0) {
    return ended ? { ok: false, why: "the reply ended inside its headers" } : undefined;
  }
  const headers = new Map<string, string>();
  for (const line of text.slice(lineEnd + 2, headerEnd).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0)
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const rest = text.slice(headerEnd + 4);
  let body: string | undefined;
  if (/\bchunked\b/i.test(headers.get("transfer-encoding") ?? "")) {
    body = dechunk(rest);
  } else if (headers.has("content-length")) {
    const length = Number(headers.get("content-length"));
    if (!Number.isInteger(length) || length < 0) {
      return {
        ok: false,
        why: `answered a bad Content-Length ${quote(headers.get("content-length")!)}`,
      };
    }
    body = rest.length >= length ? rest.slice(0, length) : undefined;
  } else {
    body = ended ? rest : undefined;
  }
  if (body === undefined) {
    return ended ? { ok: false, why: "the reply ended inside its body" } : undefined;
  }
  return body === "OK"
    ? { ok: true }
    : { ok: false, why: `answered 200 with the body ${quote(body)}, not "OK"` };
}

/** A complete chunked body, or undefined while the last (zero) chunk has not arrived. */
function dechunk(raw: string): string | undefined {
  let body = "";
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", at);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(raw.slice(at, lineEnd), 16);
    if (Number.isNaN(size)) return raw; // not chunked after all: judged as the body
    if (size === 0) return body;
    const start = lineEnd + 2;
    if (raw.length < start + size + 2) return undefined;
    body += raw.slice(start, start + size);
    at = start + size + 2;
  }
}

function describeError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "ECONNREFUSED":
      return "connection refused";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ECONNRESET":
      return "connection reset";
    case "EPIPE":
      return "the connection closed without a reply";
    case "ENOTSOCK":
      return "not a socket";
    case "ETIMEDOUT":
      return "connection timed out";
    case "ENOTFOUND":
      return "host not found";
    default:
      return err instanceof Error ? (code ? `${code}: ${err.message}` : err.message) : String(err);
  }
}

function firstLine(text: string): string {
  return text.split(/\r?\n/, 1)[0]!;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}
