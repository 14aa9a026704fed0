/**
 * Real Apache Kafka (KRaft) nodes on loopback, for the integration tests.
 *
 * The broker is the `org.apache.kafka:kafka_2.13` artifact from Maven Central, gathered by
 * `test/broker/pom.xml` into `test/broker/.cache/jars-<version>`. Each node is one JVM acting
 * as broker and controller. Other versions than the pinned one are started with
 * `startCluster({ version })`: KRaft from 3.9, and before 4.0 also ZooKeeper mode (`mode:
 * "zookeeper"`: brokers plus one ZooKeeper server JVM from the same jars; see test/matrix/). Nothing here imports the code under test: readiness is checked
 * with ApiVersions v0 and Metadata requests built by hand below.
 *
 * With `secure: true` a node also gets TLS and SASL client listeners (see SecureBrokerInfo),
 * with certificates made at start-up by certs.ts.
 *
 * Only Node built-ins and ./certs.js are imported, so `cli.mjs` can transpile these files alone.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import { fileURLToPath } from "node:url";
import { generateTestCertificates, type TestCertificates } from "./certs.js";

export { CLIENT_KEY_PASSPHRASE, type TestCertificates, WRONG_HOST_NAME } from "./certs.js";

// ---------------------------------------------------------------------------------------------
// Public types

/**
 * How the cluster keeps its metadata: KRaft (each node is broker and controller) or, before
 * Kafka 4.0, ZooKeeper (one standalone ZooKeeper server started from the same jars).
 */
export type KafkaMode = "kraft" | "zookeeper";

export interface KafkaNode {
  readonly nodeId: number;
  /** PLAINTEXT port on 127.0.0.1 (inter-broker traffic, readiness checks, and clients). */
  readonly port: number;
  /**
   * The port clients use on 127.0.0.1: the PLAINTEXT port, or with `clientProxyPorts` the
   * CLIENT listener's real port (where a proxy forwards to; the broker advertises the proxy).
   */
  readonly clientPort: number;
  /** CONTROLLER port on 127.0.0.1 (KRaft); in ZooKeeper mode, the ZooKeeper server's port. */
  readonly controllerPort: number;
  /** This node's directory: server.properties, node.log and data/. */
  readonly dir: string;
  /** Pid of the running JVM, undefined when stopped. */
  readonly pid: number | undefined;
  isRunning(): boolean;
  /** SIGTERM (controlled shutdown), then SIGKILL once `timeoutMs` has passed. */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL, and wait for the process to be gone. */
  kill(): Promise<void>;
  /** Start again with the same config and log dir; resolves once it is ready. */
  start(): Promise<void>;
  /** Last `lines` lines of this node's stdout+stderr log. */
  logTail(lines?: number): string;
}

export interface KafkaCluster {
  /** "127.0.0.1:P1,127.0.0.1:P2,..." */
  readonly bootstrap: string;
  /** Apache Kafka version, read from the kafka_2.13-<version>.jar name, e.g. "4.4.0". */
  readonly version: string;
  /** "kraft", or "zookeeper" (then `zookeeperConnect` is set). */
  readonly mode: KafkaMode;
  /** ZooKeeper mode: "127.0.0.1:PORT" of the cluster's ZooKeeper server. */
  readonly zookeeperConnect?: string;
  /**
   * KRaft: the id the storage was formatted with. ZooKeeper mode: the id the brokers created
   * in ZooKeeper (read back from the first node's meta.properties; "" if not found).
   */
  readonly clusterId: string;
  readonly nodes: readonly KafkaNode[];
  /** With `secure: true`: the TLS/SASL listeners, certificates and users. */
  readonly secure?: SecureBrokerInfo;
  /** Stops every node (SIGTERM, SIGKILL after 2 s) and deletes the cluster's temp dir. */
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  /**
   * Apache Kafka version (default: `<kafka.version>` of pom.xml); its jars are gathered into
   * `.cache/jars-<version>` on first use. KRaft works from 3.9, ZooKeeper mode until 3.9.
   */
  version?: string;
  /** Default: KRaft from 3.9 on (the only mode of 4.x), ZooKeeper before (see defaultMode). */
  mode?: KafkaMode;
  /**
   * 1 (default) or 3 nodes: KRaft, combined broker+controller nodes, all of them voters;
   * ZooKeeper mode, brokers sharing one ZooKeeper server.
   */
  nodes?: 1 | 3;
  /** Extra/overriding server.properties entries, applied to every node. */
  brokerProps?: Record<string, string>;
  /** How long each start may take before failing (default 120 s). */
  startTimeoutMs?: number;
  /** Max heap of each node's JVM (default "512m"). */
  heap?: string;
  /**
   * One port per node: adds a listener `CLIENT://127.0.0.1:<node.clientPort>` that advertises
   * `127.0.0.1:<clientProxyPorts[i]>` instead, so clients that bootstrap through a proxy on that
   * port keep going through proxies after Metadata. Inter-broker, controller and readiness
   * traffic stay on the PLAINTEXT and CONTROLLER listeners (and `bootstrap` is PLAINTEXT).
   */
  clientProxyPorts?: readonly number[];
  /**
   * KRaft only. Adds the TLS and SASL client listeners of SecureBrokerInfo (single node only), with
   * certificates generated into the cluster's temp dir and the SCRAM users added at format
   * time. PLAINTEXT stays the inter-broker, readiness and `bootstrap` listener.
   */
  secure?: boolean;
}

// ---------------------------------------------------------------------------------------------
// The secure broker: listeners, users and secrets (test constants, fine to print)

/** SASL mechanisms enabled on the SASL_PLAINTEXT, SASL_SSL and REAUTH listeners. */
export const SASL_MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface SaslPasswordUser {
  readonly mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";
  readonly username: string;
  readonly password: string;
}

/** PLAIN: `user_alice="alice-secret"` in each SASL listener's PlainLoginModule JAAS config. */
export const SASL_PLAIN_USER: SaslPasswordUser = {
  mechanism: "PLAIN",
  username: "alice",
  password: "alice-secret",
};
/** SCRAM-SHA-256 credential, added with `StorageTool format --add-scram`. */
export const SCRAM_SHA_256_USER: SaslPasswordUser = {
  mechanism: "SCRAM-SHA-256",
  username: "scram256",
  password: "scram256-secret",
};
/** SCRAM-SHA-512 credential, added with `StorageTool format --add-scram`. */
export const SCRAM_SHA_512_USER: SaslPasswordUser = {
  mechanism: "SCRAM-SHA-512",
  username: "scram512",
  password: "scram512-secret",
};
/**
 * OAUTHBEARER: the broker runs Kafka's default (unsecured) validator, so a client token is any
 * unsigned JWS (`{"alg":"none"}` header, empty signature) whose claims must hold a string `sub`
 * and a numeric `exp` (seconds) in the future; `iat` and `scope` are optional. No scope is
 * required. `subject` is merely the one the tests use. The broker limits an OAUTHBEARER session
 * to the token's `exp` even where connections.max.reauth.ms is unset (SaslAuthenticate v1
 * reports it), so a short-lived token also exercises re-authentication.
 */
export const OAUTHBEARER_USER = { mechanism: "OAUTHBEARER", subject: "alice" } as const;
/** The subject of the broker's own (unsecured) OAUTHBEARER login token. */
const OAUTHBEARER_BROKER_SUBJECT = "admin";
/** `listener.name.reauth.connections.max.reauth.ms` (KIP-368): sessions on REAUTH last this long. */
export const REAUTH_MS = 3_000;

export type SecureProtocol = "SSL" | "SASL_PLAINTEXT" | "SASL_SSL";

export interface SecureListener {
  /** Kafka listener name, e.g. "SASL_SSL" or "MTLS". */
  name: string;
  /** Its security protocol (listener.security.protocol.map). */
  protocol: SecureProtocol;
  /** Listening and advertised port on 127.0.0.1. */
  port: number;
  /** "127.0.0.1:PORT" */
  bootstrap: string;
}

/** The secure client listeners, by key. */
export interface SecureListeners {
  /** SSL, server authentication only (broker cert: SAN IP:127.0.0.1, DNS:localhost). */
  ssl: SecureListener;
  /** SSL with `ssl.client.auth=required`; client certificates must chain to the CA. */
  mtls: SecureListener;
  /** SSL serving a certificate for DNS:kafka.invalid only (host-name mismatch). */
  wrongHost: SecureListener;
  /** SASL_PLAINTEXT with every mechanism of SASL_MECHANISMS. */
  saslPlaintext: SecureListener;
  /** SASL_SSL with every mechanism of SASL_MECHANISMS (same certificate as `ssl`). */
  saslSsl: SecureListener;
  /** SASL_PLAINTEXT, same mechanisms and users, sessions limited to `reauthMs` (KIP-368). */
  reauth: SecureListener;
}

/** Everything a TLS/SASL test needs about the secure broker. JSON-serialisable. */
export interface SecureBrokerInfo {
  /** Apache Kafka version. */
  version: string;
  /** PLAINTEXT bootstrap of the same broker (no security), e.g. for admin work. */
  plaintextBootstrap: string;
  listeners: SecureListeners;
  /** The certificate set (files live in the cluster's temp dir while it runs). */
  certs: TestCertificates;
  /** Mechanisms enabled on the SASL listeners. */
  saslMechanisms: SaslMechanism[];
  users: {
    plain: SaslPasswordUser;
    scramSha256: SaslPasswordUser;
    scramSha512: SaslPasswordUser;
    oauthbearer: { mechanism: "OAUTHBEARER"; subject: string };
  };
  /** Session lifetime limit on the REAUTH listener, in ms. */
  reauthMs: number;
}

/** One line: "SSL 127.0.0.1:P1, MTLS (SSL) 127.0.0.1:P2, ..." */
export function describeSecureListeners(info: SecureBrokerInfo): string {
  return Object.values(info.listeners)
    .map((l) => `${l.name}${l.name === l.protocol ? "" : ` (${l.protocol})`} ${l.bootstrap}`)
    .join(", ");
}

/** Listener key -> Kafka listener name and protocol, in port-allocation order. */
const SECURE_LISTENER_DEFS: readonly [keyof SecureListeners, string, SecureProtocol][] = [
  ["ssl", "SSL", "SSL"],
  ["mtls", "MTLS", "SSL"],
  ["wrongHost", "WRONGHOST", "SSL"],
  ["saslPlaintext", "SASL_PLAINTEXT", "SASL_PLAINTEXT"],
  ["saslSsl", "SASL_SSL", "SASL_SSL"],
  ["reauth", "REAUTH", "SASL_PLAINTEXT"],
];

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface ApiVersionRange {
  apiKey: number;
  minVersion: number;
  maxVersion: number;
}

// ---------------------------------------------------------------------------------------------
// Paths and jars

function findHarnessDir(): string {
  // This file normally sits next to pom.xml; cli.mjs runs a transpiled copy from .cache/cli/.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, "pom.xml")) && existsSync(join(dir, "kafka.ts"))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`cannot find test/broker/pom.xml above ${fileURLToPath(import.meta.url)}`);
}

/** The test/broker directory (where pom.xml lives). */
export const HARNESS_DIR: string = findHarnessDir();
/** Gitignored cache: jars and the log4j2 config. */
export const CACHE_DIR: string = join(HARNESS_DIR, ".cache");

const COMPLETE_MARKER = ".complete";
const LOG4J_FILE = "log4j2.properties";

/** The Kafka version pinned in pom.xml (`<kafka.version>`). */
export function pinnedKafkaVersion(): string {
  const pom = readFileSync(join(HARNESS_DIR, "pom.xml"), "utf8");
  const m = /<kafka\.version>\s*([^<\s]+)\s*<\/kafka\.version>/.exec(pom);
  if (!m) throw new Error("test/broker/pom.xml has no <kafka.version> property");
  return m[1]!;
}

/** The jars dir of `version`, by default the pinned one (it may not exist yet). */
export function jarsDirFor(version: string = pinnedKafkaVersion()): string {
  return join(CACHE_DIR, `jars-${version}`);
}

/** True when the jar dir was fully populated by a previous ensureJars(). */
export function jarsComplete(dir: string): boolean {
  const marker = join(dir, COMPLETE_MARKER);
  if (!existsSync(marker)) return false;
  const names = readFileSync(marker, "utf8").split("\n").filter(Boolean);
  return names.length > 0 && names.every((n) => existsSync(join(dir, n)));
}

const LOG4J2_PROPERTIES = `# Written by test/broker/kafka.ts: WARN and above to stderr, plus the "started" line.
status = warn
appender.stderr.type = Console
appender.stderr.name = STDERR
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = STDERR
logger.raftserver.name = kafka.server.KafkaRaftServer
logger.raftserver.level = info
logger.zkserver.name = kafka.server.KafkaServer
logger.zkserver.level = info
`;

async function writeIfChanged(file: string, content: string): Promise<void> {
  if (existsSync(file) && readFileSync(file, "utf8") === content) return;
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}

interface RunResult {
  code: number | null;
  output: string;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      cmd,
      args,
      { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: "utf8" },
      (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        if (err && typeof err.code !== "number") {
          // spawn failure (ENOENT) or timeout kill
          if (err.killed) {
            resolvePromise({ code: null, output: `${output}\n(killed after ${timeoutMs} ms)` });
          } else {
            reject(new Error(`cannot run ${cmd}: ${err.message}`));
          }
          return;
        }
        resolvePromise({ code: err ? Number(err.code) : 0, output });
      },
    );
    trackChild(child);
  });
}

// mvn -q still prints ANSI colour resets ("ESC[0m").
const ANSI_SGR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

function tail(text: string, lines: number): string {
  const all = text.replace(ANSI_SGR, "").split("\n");
  return all.slice(-lines).join("\n").trim();
}

const jarsPromises = new Map<string, Promise<string>>();

/**
 * Gathers the jars of Apache Kafka `version` (default: the one pinned in pom.xml) with Maven
 * into `test/broker/.cache/jars-<version>` unless that is already complete, writes the log4j2
 * config next to them, and returns the jar dir. The same pom.xml serves every version
 * (`-Dkafka.version=<version>`); before 4.0 the broker's own dependencies include ZooKeeper
 * (client and server), so a ZooKeeper-mode cluster needs nothing else.
 */
export function ensureJars(version: string = pinnedKafkaVersion()): Promise<string> {
  let promise = jarsPromises.get(version);
  if (!promise) {
    promise = ensureJarsOnce(version).catch((err: unknown) => {
      jarsPromises.delete(version);
      throw err;
    });
    jarsPromises.set(version, promise);
  }
  return promise;
}

async function ensureJarsOnce(version: string): Promise<string> {
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`bad Kafka version "${version}"`);
  const dir = jarsDirFor(version);
  if (!jarsComplete(dir)) {
    await mkdir(CACHE_DIR, { recursive: true });
    // Gather into a private dir, then rename, so a concurrent run never sees half a dir.
    const staging = `${dir}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
    const args = [
      "-B",
      "-q",
      "-f",
      join(HARNESS_DIR, "pom.xml"),
      "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies",
      "-DincludeScope=runtime",
      `-Dkafka.version=${version}`,
      `-DoutputDirectory=${staging}`,
    ];
    try {
      const res = await run("mvn", args, HARNESS_DIR, 600_000);
      if (res.code !== 0) {
        throw new Error(
          `mvn copy-dependencies failed (exit ${res.code}):\n${tail(res.output, 40)}\n` +
            `command: mvn ${args.join(" ")}`,
        );
      }
      const jars = readdirSync(staging).filter((n) => n.endsWith(".jar"));
      if (!jars.includes(`kafka_2.13-${version}.jar`)) {
        throw new Error(
          `mvn copy-dependencies produced no kafka_2.13-${version}.jar in ${staging}`,
        );
      }
      await writeFile(join(staging, COMPLETE_MARKER), `${jars.sort().join("\n")}\n`);
      if (jarsComplete(dir)) {
        // Someone else finished first.
      } else {
        await rm(dir, { recursive: true, force: true });
        try {
          await rename(staging, dir);
        } catch (err) {
          if (!jarsComplete(dir)) throw err;
        }
      }
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  await writeIfChanged(join(dir, LOG4J_FILE), LOG4J2_PROPERTIES);
  return dir;
}

/** "4.4.0" from `<dir>/kafka_2.13-4.4.0.jar`. */
export function kafkaVersionFromJars(dir: string): string {
  for (const name of readdirSync(dir)) {
    const m = /^kafka_2\.13-(.+)\.jar$/.exec(name);
    if (m) return m[1]!;
  }
  throw new Error(`no kafka_2.13-<version>.jar in ${dir}`);
}

// ---------------------------------------------------------------------------------------------
// Child process bookkeeping: whatever we start is SIGKILLed if this process exits first.

const liveChildren = new Set<ChildProcess>();
const liveTempDirs = new Set<string>();
let exitHookInstalled = false;

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function killAllChildren(): void {
  for (const child of liveChildren) {
    if (child.pid !== undefined && isAlive(child)) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

function cleanUpNow(): void {
  killAllChildren();
  for (const dir of liveTempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", cleanUpNow);
  // A signal that nobody else handles would end this process without an "exit" event. In that
  // case kill the children, then let the signal take its default course. When another listener
  // exists, it owns the signal (and its process.exit() runs the hook above).
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      if (process.listenerCount(signal) > 1) return;
      cleanUpNow();
      process.off(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Registers a child process to be SIGKILLed when this Node process exits. */
export function trackChild(child: ChildProcess): void {
  installExitHook();
  if (!isAlive(child)) return;
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
  child.once("error", () => liveChildren.delete(child));
}

/** Pids of the children started by this module (and kcat.ts) that are still running. */
export function trackedPids(): number[] {
  const pids: number[] = [];
  for (const child of liveChildren) {
    if (child.pid !== undefined && isAlive(child)) pids.push(child.pid);
  }
  return pids;
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (!isAlive(child)) return Promise.resolve(true);
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => {
      child.off("exit", onExit);
      resolvePromise(false);
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolvePromise(true);
    };
    child.once("exit", onExit);
  });
}

/** SIGKILL; resolves once the process is gone (at once when there is none). */
async function killNow(child: ChildProcess | undefined): Promise<void> {
  if (!child || !isAlive(child)) return;
  child.kill("SIGKILL");
  await waitExit(child, 10_000);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (!isAlive(child)) return;
  child.kill("SIGTERM");
  if (await waitExit(child, graceMs)) return;
  child.kill("SIGKILL");
  await waitExit(child, 10_000);
}

// ---------------------------------------------------------------------------------------------
// Ports

/** Finds `count` distinct free TCP ports on 127.0.0.1 (binding port 0, all held at once). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((ok, fail) => {
        server.once("error", fail);
        server.listen(0, "127.0.0.1", () => ok());
      });
      const addr = server.address();
      if (addr === null || typeof addr === "string") throw new Error("no port from listen(0)");
      ports.push(addr.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((ok) => s.close(() => ok()))));
  }
}

// ---------------------------------------------------------------------------------------------
// A tiny hand-built Kafka client: just enough for readiness checks.

const API_METADATA = 3;
const API_VERSIONS = 18;
const CLIENT_ID = "broker-harness";
let nextCorrelationId = 1;

function frameRequest(apiKey: number, apiVersion: number, correlationId: number, body: Buffer) {
  const clientId = Buffer.from(CLIENT_ID, "utf8");
  // Request header v1: api_key int16, api_version int16, correlation_id int32, client_id string.
  const header = Buffer.alloc(10);
  header.writeInt16BE(apiKey, 0);
  header.writeInt16BE(apiVersion, 2);
  header.writeInt32BE(correlationId, 4);
  header.writeInt16BE(clientId.length, 8);
  const size = Buffer.alloc(4);
  size.writeInt32BE(header.length + clientId.length + body.length, 0);
  return Buffer.concat([size, header, clientId, body]);
}

export interface KafkaConnectOptions {
  /** node:tls options (ca, cert, key, servername, ...); undefined: plain TCP. */
  tls?: ConnectionOptions;
  /** Connect (and TLS handshake) timeout, default 5 s. */
  timeoutMs?: number;
}

/** One TCP or TLS connection for hand-built requests, sent one at a time. */
export interface KafkaConnection {
  /** The underlying socket (a tls.TLSSocket with `tls`). */
  readonly socket: Socket;
  /**
   * Sends one request (header v1) and resolves with the response frame after its size, from
   * correlation_id on. Rejects if the connection fails or closes first.
   */
  request(apiKey: number, apiVersion: number, body: Buffer, timeoutMs?: number): Promise<Buffer>;
  close(): void;
}

/** Opens a connection for `KafkaConnection.request`; resolves once connected (TLS: handshaken). */
export function openKafkaConnection(
  host: string,
  port: number,
  options: KafkaConnectOptions = {},
): Promise<KafkaConnection> {
  const where = `${host}:${port}`;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const socket: Socket = options.tls
    ? tlsConnect({ host, port, ...options.tls })
    : connect({ host, port });
  let buf = Buffer.alloc(0);
  let failure: Error | undefined;
  let pending:
    | { correlationId: number; ok: (b: Buffer) => void; fail: (e: Error) => void }
    | undefined;
  const fail = (err: Error): void => {
    failure ??= err;
    socket.destroy();
    const p = pending;
    pending = undefined;
    p?.fail(err);
  };
  socket.on("data", (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 4) {
      const size = buf.readInt32BE(0);
      if (size < 4 || size > 64 * 1024 * 1024) {
        fail(new Error(`bad response size ${size} from ${where}`));
        return;
      }
      if (buf.length < 4 + size) return;
      const payload = buf.subarray(4, 4 + size);
      buf = buf.subarray(4 + size);
      const p = pending;
      if (!p) {
        fail(new Error(`unsolicited response from ${where}`));
        return;
      }
      const got = payload.readInt32BE(0);
      if (got !== p.correlationId) {
        fail(new Error(`correlation id ${got} != ${p.correlationId} from ${where}`));
        return;
      }
      pending = undefined;
      p.ok(payload);
    }
  });
  socket.on("error", (err) => fail(err));
  socket.on("close", () => fail(new Error(`${where} closed the connection`)));

  const conn: KafkaConnection = {
    socket,
    request(apiKey, apiVersion, body, reqTimeoutMs = 5_000) {
      if (failure) return Promise.reject(failure);
      if (pending) return Promise.reject(new Error("one request at a time"));
      const correlationId = nextCorrelationId++ & 0x7fffffff;
      return new Promise<Buffer>((ok, reject) => {
        const timer = setTimeout(() => {
          pending = undefined;
          reject(new Error(`no response from ${where} within ${reqTimeoutMs} ms`));
          socket.destroy();
        }, reqTimeoutMs);
        pending = {
          correlationId,
          ok: (b) => {
            clearTimeout(timer);
            ok(b);
          },
          fail: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        socket.write(frameRequest(apiKey, apiVersion, correlationId, body));
      });
    },
    close() {
      failure ??= new Error(`connection to ${where} closed by the caller`);
      socket.destroy();
    },
  };
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      fail(new Error(`cannot connect to ${where} within ${timeoutMs} ms`));
    }, timeoutMs);
    pending = {
      correlationId: -1,
      ok: () => {},
      fail: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    };
    socket.once(options.tls ? "secureConnect" : "connect", () => {
      clearTimeout(timer);
      pending = undefined;
      resolvePromise(conn);
    });
  });
}

/**
 * Sends one request on a fresh connection (TLS with `tls`) and returns the response frame after
 * its size (from correlation_id on).
 */
export async function kafkaRequest(
  host: string,
  port: number,
  apiKey: number,
  apiVersion: number,
  body: Buffer,
  timeoutMs = 5_000,
  tls?: ConnectionOptions,
): Promise<Buffer> {
  const deadline = Date.now() + timeoutMs;
  const conn = await openKafkaConnection(host, port, { tls, timeoutMs });
  try {
    return await conn.request(apiKey, apiVersion, body, Math.max(1, deadline - Date.now()));
  } finally {
    conn.close();
  }
}

/**
 * ApiVersions v0 (over TLS with `tls`); throws unless error_code is 0. Returns the broker's
 * version ranges.
 */
export async function probeApiVersions(
  host: string,
  port: number,
  timeoutMs = 5_000,
  tls?: ConnectionOptions,
): Promise<ApiVersionRange[]> {
  const res = await kafkaRequest(host, port, API_VERSIONS, 0, Buffer.alloc(0), timeoutMs, tls);
  // correlation_id int32, error_code int16, [api_key int16, min int16, max int16]
  const errorCode = res.readInt16BE(4);
  if (errorCode !== 0) throw new Error(`ApiVersions v0 error_code ${errorCode}`);
  const count = res.readInt32BE(6);
  const ranges: ApiVersionRange[] = [];
  for (let i = 0, off = 10; i < count; i++, off += 6) {
    ranges.push({
      apiKey: res.readInt16BE(off),
      minVersion: res.readInt16BE(off + 2),
      maxVersion: res.readInt16BE(off + 4),
    });
  }
  return ranges;
}

/** A NULLABLE_STRING (int16 length, -1 for null) at `off`; returns it and the offset after it. */
function readNullableString(buf: Buffer, off: number): [string | null, number] {
  const len = buf.readInt16BE(off);
  if (len < 0) return [null, off + 2];
  return [buf.toString("utf8", off + 2, off + 2 + len), off + 2 + len];
}

function pickMetadataVersion(ranges: ApiVersionRange[]): number {
  const md = ranges.find((r) => r.apiKey === API_METADATA);
  if (!md) throw new Error("broker does not list the Metadata API");
  // v1..v8 share the non-flexible broker layout parsed below; prefer v1.
  const v = Math.max(1, md.minVersion);
  if (v > Math.min(8, md.maxVersion)) {
    throw new Error(`broker Metadata versions ${md.minVersion}..${md.maxVersion} exclude 1..8`);
  }
  return v;
}

/**
 * The brokers a node lists in a Metadata response (v1 when the broker supports it; no topics
 * requested), over TLS with `tls`. Only brokers that are registered and unfenced are listed.
 */
export async function fetchBrokers(
  host: string,
  port: number,
  timeoutMs = 5_000,
  tls?: ConnectionOptions,
): Promise<BrokerInfo[]> {
  const version = pickMetadataVersion(await probeApiVersions(host, port, timeoutMs, tls));
  const parts: number[] = [0, 0, 0, 0]; // topics: empty array (not null, which means "all")
  if (version >= 4) parts.push(0); // allow_auto_topic_creation
  if (version >= 8) parts.push(0, 0); // include_{cluster,topic}_authorized_operations
  const res = await kafkaRequest(
    host,
    port,
    API_METADATA,
    version,
    Buffer.from(parts),
    timeoutMs,
    tls,
  );
  let off = 4; // correlation_id
  if (version >= 3) off += 4; // throttle_time_ms
  const count = res.readInt32BE(off);
  off += 4;
  const brokers: BrokerInfo[] = [];
  for (let i = 0; i < count; i++) {
    const nodeId = res.readInt32BE(off);
    off += 4;
    const hostLen = res.readInt16BE(off);
    off += 2;
    const brokerHost = res.toString("utf8", off, off + hostLen);
    off += hostLen;
    const brokerPort = res.readInt32BE(off);
    off += 4;
    const [rack, afterRack] = readNullableString(res, off);
    off = afterRack;
    brokers.push({ nodeId, host: brokerHost, port: brokerPort, rack });
  }
  return brokers;
}

// ---------------------------------------------------------------------------------------------
// Hand-built SASL requests (for checking the secure broker without the code under test)

const API_SASL_HANDSHAKE = 17;
const API_SASL_AUTHENTICATE = 36;

/** Kafka error codes the SASL checks look for. */
export const KAFKA_ERRORS = {
  UNSUPPORTED_SASL_MECHANISM: 33,
  ILLEGAL_SASL_STATE: 34,
  SASL_AUTHENTICATION_FAILED: 58,
} as const;

export interface SaslHandshakeResult {
  errorCode: number;
  /** The mechanisms enabled on this listener. */
  mechanisms: string[];
}

/** SaslHandshake v1 (key 17; request body: mechanism STRING) on `conn`. */
export async function saslHandshake(
  conn: KafkaConnection,
  mechanism: string,
  timeoutMs = 5_000,
): Promise<SaslHandshakeResult> {
  const name = Buffer.from(mechanism, "utf8");
  const body = Buffer.alloc(2 + name.length);
  body.writeInt16BE(name.length, 0);
  name.copy(body, 2);
  const res = await conn.request(API_SASL_HANDSHAKE, 1, body, timeoutMs);
  // correlation_id int32, error_code int16, mechanisms [STRING]
  const errorCode = res.readInt16BE(4);
  const count = res.readInt32BE(6);
  const mechanisms: string[] = [];
  for (let i = 0, off = 10; i < count; i++) {
    const len = res.readInt16BE(off);
    mechanisms.push(res.toString("utf8", off + 2, off + 2 + len));
    off += 2 + len;
  }
  return { errorCode, mechanisms };
}

export interface SaslAuthenticateResult {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Buffer;
  /** v1 only: the session lifetime the broker grants (0: no limit). */
  sessionLifetimeMs?: number;
}

/** SaslAuthenticate v0 or v1 (key 36; request body: auth_bytes BYTES) on `conn`. */
export async function saslAuthenticate(
  conn: KafkaConnection,
  authBytes: Buffer,
  version: 0 | 1 = 0,
  timeoutMs = 5_000,
): Promise<SaslAuthenticateResult> {
  const body = Buffer.alloc(4 + authBytes.length);
  body.writeInt32BE(authBytes.length, 0);
  authBytes.copy(body, 4);
  const res = await conn.request(API_SASL_AUTHENTICATE, version, body, timeoutMs);
  // correlation_id int32, error_code int16, error_message NULLABLE_STRING, auth_bytes BYTES,
  // v1: session_lifetime_ms int64
  let off = 4;
  const errorCode = res.readInt16BE(off);
  off += 2;
  const [errorMessage, afterMessage] = readNullableString(res, off);
  off = afterMessage;
  const bytesLen = res.readInt32BE(off);
  off += 4;
  const bytes = Buffer.from(res.subarray(off, off + Math.max(0, bytesLen)));
  off += Math.max(0, bytesLen);
  const result: SaslAuthenticateResult = { errorCode, errorMessage, authBytes: bytes };
  if (version >= 1) result.sessionLifetimeMs = Number(res.readBigInt64BE(off));
  return result;
}

// ---------------------------------------------------------------------------------------------
// Nodes and clusters

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function randomClusterId(): string {
  // A Kafka Uuid: 16 random bytes, base64url without padding (22 characters).
  // Drawn again while it starts with "-": the storage tool would read it as an option.
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

function serverProperties(
  node: {
    nodeId: number;
    port: number;
    clientPort: number;
    controllerPort: number;
    dataDir: string;
  },
  /** The port advertised for the CLIENT listener; undefined: no CLIENT listener. */
  proxyPort: number | undefined,
  /** The secure listeners' ports and certificates; undefined: none. */
  secure: SecureSetup | undefined,
  /** KRaft: `controller.quorum.voters`; ZooKeeper mode: `zookeeper.connect`. */
  quorum: string,
  nodeCount: number,
  extra: Record<string, string>,
  mode: KafkaMode,
  /** The broker's version: some keys exist only in newer releases. */
  version: string,
): string {
  const kraft = mode === "kraft";
  const rf = String(Math.min(nodeCount, 3));
  const minIsr = nodeCount >= 3 ? "2" : "1";
  // The CLIENT listener (only with a proxy port): listens on clientPort, advertises proxyPort.
  const proxied = proxyPort !== undefined;
  const client = proxied ? `,CLIENT://127.0.0.1:${node.clientPort}` : "";
  const advertisedClient = proxied ? `,CLIENT://127.0.0.1:${proxyPort}` : "";
  const clientProtocol = proxied ? ",CLIENT:PLAINTEXT" : "";
  // The secure listeners listen and advertise on the same port.
  const secureDefs = secure ? SECURE_LISTENER_DEFS : [];
  const secureListeners = secureDefs
    .map(([key, name]) => `,${name}://127.0.0.1:${secure!.ports[key]}`)
    .join("");
  const secureProtocols = secureDefs.map(([, name, protocol]) => `,${name}:${protocol}`).join("");
  // KRaft: each node is also a controller with a CONTROLLER listener; the static voter set
  // (controller.quorum.voters) works from 3.3 to 4.x, so 3.9 and 4.x share this layout.
  const quorumProps: Record<string, string> = kraft
    ? {
        "process.roles": "broker,controller",
        "node.id": String(node.nodeId),
        "controller.quorum.voters": quorum,
      }
    : {
        "broker.id": String(node.nodeId),
        "zookeeper.connect": quorum,
        "zookeeper.connection.timeout.ms": "30000",
      };
  const controller = kraft ? `,CONTROLLER://127.0.0.1:${node.controllerPort}` : "";
  const props: Record<string, string> = {
    ...quorumProps,
    listeners: `PLAINTEXT://127.0.0.1:${node.port}${controller}${client}${secureListeners}`,
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${node.port}${advertisedClient}${secureListeners}`,
    "inter.broker.listener.name": "PLAINTEXT",
    ...(kraft ? { "controller.listener.names": "CONTROLLER" } : {}),
    "listener.security.protocol.map": `PLAINTEXT:PLAINTEXT${kraft ? ",CONTROLLER:PLAINTEXT" : ""}${clientProtocol}${secureProtocols}`,
    "log.dirs": node.dataDir,
    "auto.create.topics.enable": "true",
    "num.partitions": "3",
    "default.replication.factor": rf,
    "min.insync.replicas": minIsr,
    "offsets.topic.replication.factor": rf,
    "offsets.topic.num.partitions": "1",
    "transaction.state.log.replication.factor": rf,
    "transaction.state.log.min.isr": minIsr,
    "transaction.state.log.num.partitions": "1",
    // Share groups (KIP-932) arrived in 4.0; older brokers would warn about unknown keys.
    ...(compareVersions(version, "4.0.0") >= 0
      ? {
          "share.coordinator.state.topic.replication.factor": rf,
          "share.coordinator.state.topic.min.isr": minIsr,
          "share.coordinator.state.topic.num.partitions": "1",
        }
      : {}),
    "group.initial.rebalance.delay.ms": "0",
    "num.network.threads": "2",
    "num.io.threads": "2",
    "num.recovery.threads.per.data.dir": "1",
    "log.cleaner.dedupe.buffer.size": "2097152",
    ...(secure ? secureProperties(secure.certs) : {}),
    ...extra,
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n")}\n`;
}

interface SecureSetup {
  ports: Record<keyof SecureListeners, number>;
  certs: TestCertificates;
}

const SASL_LISTENERS = ["SASL_PLAINTEXT", "SASL_SSL", "REAUTH"] as const;

/** JAAS config of each SASL mechanism on the broker side. */
function serverJaasConfig(mechanism: SaslMechanism): string {
  switch (mechanism) {
    case "PLAIN":
      return (
        "org.apache.kafka.common.security.plain.PlainLoginModule required " +
        `user_${SASL_PLAIN_USER.username}="${SASL_PLAIN_USER.password}";`
      );
    case "SCRAM-SHA-256":
    case "SCRAM-SHA-512":
      // Credentials live in the cluster metadata (added at format time).
      return "org.apache.kafka.common.security.scram.ScramLoginModule required;";
    case "OAUTHBEARER":
      // No sasl.server.callback.handler.class: the broker validates with the default
      // OAuthBearerUnsecuredValidatorCallbackHandler; its own login token needs a subject.
      return (
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required " +
        `unsecuredLoginStringClaim_sub="${OAUTHBEARER_BROKER_SUBJECT}";`
      );
  }
}

/** server.properties entries of the secure listeners (listener-prefixed where they differ). */
function secureProperties(certs: TestCertificates): Record<string, string> {
  const props: Record<string, string> = {
    // KIP-651 PEM key store: one file with the unencrypted PKCS#8 key and the certificate.
    "ssl.keystore.type": "PEM",
    "ssl.keystore.location": certs.broker.keystoreFile,
    "listener.name.wronghost.ssl.keystore.location": certs.wrongHost.keystoreFile,
    "listener.name.mtls.ssl.client.auth": "required",
    "listener.name.mtls.ssl.truststore.type": "PEM",
    "listener.name.mtls.ssl.truststore.location": certs.ca.certFile,
    // KIP-368; the listener prefix applies to every mechanism of that listener.
    "listener.name.reauth.connections.max.reauth.ms": String(REAUTH_MS),
  };
  for (const listener of SASL_LISTENERS) {
    const prefix = `listener.name.${listener.toLowerCase()}.`;
    props[`${prefix}sasl.enabled.mechanisms`] = SASL_MECHANISMS.join(",");
    for (const mechanism of SASL_MECHANISMS) {
      props[`${prefix}${mechanism.toLowerCase()}.sasl.jaas.config`] = serverJaasConfig(mechanism);
    }
  }
  return props;
}

/** `StorageTool format` arguments that add the SCRAM users. */
function scramFormatArgs(): string[] {
  return [SCRAM_SHA_256_USER, SCRAM_SHA_512_USER].flatMap((u) => [
    "--add-scram",
    `${u.mechanism}=[name=${u.username},password=${u.password}]`,
  ]);
}

function javaBaseArgs(jarsDir: string, heap: string): string[] {
  return [
    "-Xms128m",
    `-Xmx${heap}`,
    "-XX:+UseG1GC",
    "-Djava.awt.headless=true",
    `-Dlog4j2.configurationFile=${resolve(jarsDir, LOG4J_FILE)}`,
    "-cp",
    `${jarsDir}/*`,
  ];
}

/**
 * Starts a JVM in `dir` with its output appended to `logFile`, writes its pid file and tracks
 * it. A spawn error is left to the caller's liveness check (the process is then not alive).
 */
function spawnJvm(dir: string, logFile: string, args: string[]): ChildProcess {
  const fd = openSync(logFile, "a");
  try {
    const child = spawn("java", args, { cwd: dir, stdio: ["ignore", fd, fd] });
    child.on("error", () => {
      // reported by the caller's liveness check
    });
    if (child.pid !== undefined) writeFileSync(join(dir, PID_FILE), `${child.pid}\n`);
    trackChild(child);
    return child;
  } finally {
    closeSync(fd);
  }
}

function readTail(file: string, lines: number): string {
  let fd: number | undefined;
  try {
    // Read just the end: a node's log grows over a long run.
    const size = statSync(file).size;
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    fd = openSync(file, "r");
    readSync(fd, buf, 0, len, size - len);
    return tail(buf.toString("utf8"), lines);
  } catch {
    return "(no log)";
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

interface ClusterContext {
  jarsDir: string;
  heap: string;
  startTimeoutMs: number;
  nodes: LocalNode[];
}

class LocalNode implements KafkaNode {
  private child: ChildProcess | undefined;
  readonly logFile: string;
  readonly propsFile: string;
  readonly dataDir: string;

  constructor(
    readonly nodeId: number,
    readonly port: number,
    readonly clientPort: number,
    readonly controllerPort: number,
    readonly dir: string,
    private readonly ctx: ClusterContext,
  ) {
    this.logFile = join(dir, "node.log");
    this.propsFile = join(dir, "server.properties");
    this.dataDir = join(dir, "data");
  }

  get pid(): number | undefined {
    return this.child && isAlive(this.child) ? this.child.pid : undefined;
  }

  isRunning(): boolean {
    return this.child !== undefined && isAlive(this.child);
  }

  logTail(lines = 30): string {
    return readTail(this.logFile, lines);
  }

  /** Spawns the JVM without waiting for readiness. */
  spawnProcess(): void {
    if (this.isRunning()) throw new Error(`node ${this.nodeId} is already running`);
    this.child = spawnJvm(this.dir, this.logFile, [
      ...javaBaseArgs(this.ctx.jarsDir, this.ctx.heap),
      "kafka.Kafka",
      this.propsFile,
    ]);
  }

  /** Waits until this node answers ApiVersions and its Metadata lists `expected` node ids. */
  async waitReady(expected: number[], deadline: number): Promise<void> {
    let lastError = "not tried";
    for (;;) {
      const child = this.child;
      if (!child || !isAlive(child)) {
        const how = child
          ? `exit code ${child.exitCode}, signal ${child.signalCode}`
          : "not started";
        throw new Error(
          `Kafka node ${this.nodeId} (port ${this.port}) died during start-up (${how}). ` +
            `Log tail (${this.logFile}):\n${this.logTail(40)}`,
        );
      }
      try {
        const brokers = await fetchBrokers("127.0.0.1", this.port, 5_000);
        const ids = new Set(brokers.map((b) => b.nodeId));
        if (expected.every((id) => ids.has(id))) return;
        lastError = `metadata lists brokers [${[...ids].join(",")}], want [${expected.join(",")}]`;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Kafka node ${this.nodeId} (port ${this.port}) not ready after ` +
            `${this.ctx.startTimeoutMs} ms (last: ${lastError}). ` +
            `Log tail (${this.logFile}):\n${this.logTail(40)}`,
        );
      }
      await sleep(200);
    }
  }

  async start(): Promise<void> {
    this.spawnProcess();
    const expected = this.ctx.nodes.filter((n) => n.isRunning()).map((n) => n.nodeId);
    try {
      await this.waitReady(expected, Date.now() + this.ctx.startTimeoutMs);
    } catch (err) {
      await this.kill();
      throw err;
    }
  }

  async stop(timeoutMs = 30_000): Promise<void> {
    if (this.child) await terminate(this.child, timeoutMs);
  }

  kill(): Promise<void> {
    return killNow(this.child);
  }
}

async function formatStorage(
  jarsDir: string,
  node: LocalNode,
  clusterId: string,
  timeoutMs: number,
  extraArgs: readonly string[] = [],
): Promise<void> {
  const args = [
    ...javaBaseArgs(jarsDir, "256m"),
    "kafka.tools.StorageTool",
    "format",
    "--cluster-id",
    clusterId,
    "--config",
    node.propsFile,
    "--ignore-formatted",
    ...extraArgs,
  ];
  const res = await run("java", args, node.dir, timeoutMs);
  if (res.code !== 0) {
    throw new Error(
      `kafka.tools.StorageTool format failed for node ${node.nodeId} (exit ${res.code}):\n` +
        tail(res.output, 30),
    );
  }
}

const TEMP_PREFIX = "kafka-harness-";
const OWNER_FILE = "owner.pid";
const PID_FILE = "java.pid";
let swept = false;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, "utf8"), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Insurance against a test process that was SIGKILLed (no exit hook ran): JVMs whose owning
 * process is gone are killed and their temp dirs deleted. A JVM is killed only if its pid is
 * recorded in such a dir and its command line names that dir (Linux /proc), so an unrelated
 * process that reused the pid is left alone.
 */
function sweepStaleClusters(): void {
  if (swept || !existsSync("/proc/self/cmdline")) return;
  swept = true;
  const root = tmpdir();
  let entries: string[];
  try {
    entries = readdirSync(root).filter((n) => n.startsWith(TEMP_PREFIX));
  } catch {
    return;
  }
  for (const name of entries) {
    const dir = join(root, name);
    const owner = readPid(join(dir, OWNER_FILE));
    if (owner === undefined || pidAlive(owner)) continue;
    let nodeDirs: string[] = [];
    try {
      nodeDirs = readdirSync(dir).filter((n) => n.startsWith("node-"));
    } catch {
      continue;
    }
    for (const nodeDir of nodeDirs) {
      const pid = readPid(join(dir, nodeDir, PID_FILE));
      if (pid === undefined) continue;
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        if (cmdline.includes(`${dir}/`)) process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const PORT_CLASH = /Address already in use|BindException/;

// ---------------------------------------------------------------------------------------------
// Versions and modes

/** Compares "X.Y.Z" versions numerically: negative, 0 or positive. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split(".").map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The modes the harness can start `version` in: KRaft from 3.9 (the first release whose
 * StorageTool and static-voter setup match 4.x's; KRaft itself is older), ZooKeeper before 4.0
 * (4.0 removed it).
 */
export function supportedModes(version: string): KafkaMode[] {
  const modes: KafkaMode[] = [];
  if (compareVersions(version, "3.9.0") >= 0) modes.push("kraft");
  if (compareVersions(version, "4.0.0") < 0) modes.push("zookeeper");
  return modes;
}

/** The mode startCluster uses for `version` unless told: KRaft where supported, else ZooKeeper. */
export function defaultMode(version: string): KafkaMode {
  return supportedModes(version)[0]!;
}

// ---------------------------------------------------------------------------------------------
// ZooKeeper (mode "zookeeper"): one standalone server from the broker's own jars

class ZooKeeperProcess {
  private child: ChildProcess | undefined;
  readonly logFile: string;
  readonly configFile: string;
  readonly dataDir: string;

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly jarsDir: string,
  ) {
    this.logFile = join(dir, "node.log");
    this.configFile = join(dir, "zookeeper.properties");
    this.dataDir = join(dir, "data");
  }

  get connect(): string {
    return `127.0.0.1:${this.port}`;
  }

  isRunning(): boolean {
    return this.child !== undefined && isAlive(this.child);
  }

  logTail(lines = 30): string {
    return readTail(this.logFile, lines);
  }

  /** Writes the config, starts the JVM and waits until the client port answers `srvr`. */
  async start(deadline: number): Promise<void> {
    await mkdir(this.dataDir, { recursive: true });
    await writeFile(
      this.configFile,
      [
        `dataDir=${this.dataDir}`,
        `clientPort=${this.port}`,
        "clientPortAddress=127.0.0.1",
        "tickTime=2000",
        "maxClientCnxns=0",
        // The AdminServer (Jetty, port 8080 by default) would clash between clusters.
        "admin.enableServer=false",
        "4lw.commands.whitelist=srvr",
        "",
      ].join("\n"),
    );
    this.child = spawnJvm(this.dir, this.logFile, [
      ...javaBaseArgs(this.jarsDir, "256m"),
      "org.apache.zookeeper.server.ZooKeeperServerMain",
      this.configFile,
    ]);
    let lastError = "not tried";
    for (;;) {
      if (!this.isRunning()) {
        const c = this.child;
        throw new Error(
          `ZooKeeper (port ${this.port}) died during start-up (exit code ${c?.exitCode}, ` +
            `signal ${c?.signalCode}). Log tail (${this.logFile}):\n${this.logTail(40)}`,
        );
      }
      try {
        const answer = await fourLetterWord("127.0.0.1", this.port, "srvr", 2_000);
        if (/Zookeeper version/i.test(answer)) return;
        lastError = `srvr answered ${JSON.stringify(answer.slice(0, 200))}`;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `ZooKeeper (port ${this.port}) not ready in time (last: ${lastError}). ` +
            `Log tail (${this.logFile}):\n${this.logTail(40)}`,
        );
      }
      await sleep(200);
    }
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.child) await terminate(this.child, timeoutMs);
  }

  kill(): Promise<void> {
    return killNow(this.child);
  }
}

/** Sends a ZooKeeper four-letter word and returns everything it answers before closing. */
function fourLetterWord(host: string, port: number, word: string, timeoutMs: number) {
  return new Promise<string>((ok, fail) => {
    const socket = connect({ host, port });
    let out = "";
    const timer = setTimeout(() => {
      socket.destroy();
      fail(new Error(`no answer to ${word} from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(word));
    socket.on("data", (d: string) => {
      out += d;
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      fail(err);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      ok(out);
    });
  });
}

/** `cluster.id` from a ZooKeeper-mode broker's meta.properties ("" when absent). */
function clusterIdFromMeta(dataDir: string): string {
  try {
    const text = readFileSync(join(dataDir, "meta.properties"), "utf8");
    return /^cluster\.id=(.*)$/m.exec(text)?.[1]?.trim() ?? "";
  } catch {
    return "";
  }
}

async function startOnce(
  jarsDir: string,
  version: string,
  options: Required<Omit<StartClusterOptions, "version">>,
): Promise<KafkaCluster> {
  const kraft = options.mode === "kraft";
  const count = options.nodes;
  const baseDir = await mkdtemp(join(tmpdir(), TEMP_PREFIX));
  liveTempDirs.add(baseDir);
  await writeFile(join(baseDir, OWNER_FILE), `${process.pid}\n`);
  const proxied = options.clientProxyPorts.length > 0;
  if (proxied && options.clientProxyPorts.length !== count) {
    throw new Error(`clientProxyPorts needs one port per node (${count})`);
  }
  // Per node: PLAINTEXT, CONTROLLER and, with proxies, CLIENT; with secure, six more at the end.
  const per = proxied ? 3 : 2;
  const secureCount = options.secure ? SECURE_LISTENER_DEFS.length : 0;
  // ZooKeeper mode: one more port, the ZooKeeper server's (the nodes' CONTROLLER ports go unused).
  const ports = await freePorts(count * per + secureCount + (kraft ? 0 : 1));
  let secure: SecureSetup | undefined;
  if (options.secure) {
    const securePorts = ports.slice(count * per);
    secure = {
      ports: Object.fromEntries(
        SECURE_LISTENER_DEFS.map(([key], i) => [key, securePorts[i]!]),
      ) as Record<keyof SecureListeners, number>,
      certs: generateTestCertificates(join(baseDir, "certs")),
    };
  }
  const ctx: ClusterContext = {
    jarsDir,
    heap: options.heap,
    startTimeoutMs: options.startTimeoutMs,
    nodes: [],
  };
  // "node-zk" so that sweepStaleClusters finds its pid like a broker's.
  const zookeeper = kraft
    ? undefined
    : new ZooKeeperProcess(ports[count * per + secureCount]!, join(baseDir, "node-zk"), jarsDir);
  for (let i = 0; i < count; i++) {
    const dir = join(baseDir, `node-${i + 1}`);
    const port = ports[i * per]!;
    const clientPort = proxied ? ports[i * per + 2]! : port;
    const controllerPort = zookeeper ? zookeeper.port : ports[i * per + 1]!;
    ctx.nodes.push(new LocalNode(i + 1, port, clientPort, controllerPort, dir, ctx));
  }
  const quorum = zookeeper
    ? zookeeper.connect
    : ctx.nodes.map((n) => `${n.nodeId}@127.0.0.1:${n.controllerPort}`).join(",");
  let clusterId = kraft ? randomClusterId() : "";

  const stopAll = async (graceMs: number): Promise<void> => {
    await Promise.all(ctx.nodes.map((n) => n.stop(graceMs)));
    // ZooKeeper last: brokers deregister from it as they shut down.
    await zookeeper?.stop(graceMs);
  };
  const cleanup = async (): Promise<void> => {
    await Promise.all(ctx.nodes.map((n) => n.kill()));
    await zookeeper?.kill();
    await rm(baseDir, { recursive: true, force: true });
    liveTempDirs.delete(baseDir);
  };

  try {
    if (zookeeper) await zookeeper.start(Date.now() + options.startTimeoutMs);
    for (const node of ctx.nodes) {
      await mkdir(node.dataDir, { recursive: true });
      await writeFile(
        node.propsFile,
        serverProperties(
          node,
          options.clientProxyPorts[node.nodeId - 1],
          secure,
          quorum,
          count,
          options.brokerProps,
          options.mode,
          version,
        ),
        "utf8",
      );
    }
    // KRaft needs formatted storage (kafka-storage format); ZooKeeper-mode brokers need none.
    if (kraft) {
      await Promise.all(
        ctx.nodes.map((n) =>
          formatStorage(
            jarsDir,
            n,
            clusterId,
            options.startTimeoutMs,
            secure ? scramFormatArgs() : [],
          ),
        ),
      );
    }
    for (const node of ctx.nodes) node.spawnProcess();
    const deadline = Date.now() + options.startTimeoutMs;
    const ids = ctx.nodes.map((n) => n.nodeId);
    await Promise.all(ctx.nodes.map((n) => n.waitReady(ids, deadline)));
    if (!kraft) clusterId = clusterIdFromMeta(ctx.nodes[0]!.dataDir);
  } catch (err) {
    const clash =
      ctx.nodes.some((n) => PORT_CLASH.test(n.logTail(200))) ||
      (zookeeper !== undefined && PORT_CLASH.test(zookeeper.logTail(200)));
    await cleanup();
    if (clash) throw new PortClashError(err instanceof Error ? err.message : String(err));
    throw err;
  }

  let stopped = false;
  const bootstrap = ctx.nodes.map((n) => `127.0.0.1:${n.port}`).join(",");
  return {
    bootstrap,
    version,
    mode: options.mode,
    ...(zookeeper ? { zookeeperConnect: zookeeper.connect } : {}),
    clusterId,
    nodes: ctx.nodes,
    ...(secure ? { secure: secureBrokerInfo(secure, version, bootstrap) } : {}),
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      // The data is deleted next, so a slow controlled shutdown buys nothing: 2 s, then SIGKILL.
      await stopAll(2_000);
      await cleanup();
    },
  };
}

class PortClashError extends Error {}

function secureBrokerInfo(
  secure: SecureSetup,
  version: string,
  plaintextBootstrap: string,
): SecureBrokerInfo {
  const listeners = Object.fromEntries(
    SECURE_LISTENER_DEFS.map(([key, name, protocol]) => {
      const port = secure.ports[key];
      return [key, { name, protocol, port, bootstrap: `127.0.0.1:${port}` }];
    }),
  ) as unknown as SecureListeners;
  return {
    version,
    plaintextBootstrap,
    listeners,
    certs: secure.certs,
    saslMechanisms: [...SASL_MECHANISMS],
    users: {
      plain: { ...SASL_PLAIN_USER },
      scramSha256: { ...SCRAM_SHA_256_USER },
      scramSha512: { ...SCRAM_SHA_512_USER },
      oauthbearer: { ...OAUTHBEARER_USER },
    },
    reauthMs: REAUTH_MS,
  };
}

/**
 * Starts `nodes` (1 or 3) combined broker+controller KRaft nodes (or, in ZooKeeper mode, brokers
 * and one ZooKeeper server) on 127.0.0.1 with fresh temp dirs and free ports, and resolves once
 * every node answers ApiVersions and lists all the brokers in its Metadata.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<KafkaCluster> {
  const requested = options.version ?? pinnedKafkaVersion();
  const modes = supportedModes(requested);
  const mode = options.mode ?? defaultMode(requested);
  if (!modes.includes(mode)) {
    throw new Error(
      `Kafka ${requested} cannot run in ${mode} mode here (supported: ${modes.join(", ") || "none"})`,
    );
  }
  const opts: Required<Omit<StartClusterOptions, "version">> = {
    mode,
    nodes: options.nodes ?? 1,
    brokerProps: options.brokerProps ?? {},
    startTimeoutMs: options.startTimeoutMs ?? 120_000,
    heap: options.heap ?? "512m",
    clientProxyPorts: options.clientProxyPorts ?? [],
    secure: options.secure ?? false,
  };
  if (opts.nodes !== 1 && opts.nodes !== 3) throw new Error("nodes must be 1 or 3");
  if (opts.secure && opts.nodes !== 1) throw new Error("secure: true needs nodes: 1");
  if (opts.secure && mode !== "kraft") throw new Error("secure: true needs KRaft mode");
  sweepStaleClusters();
  const jarsDir = await ensureJars(requested);
  const version = kafkaVersionFromJars(jarsDir);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(jarsDir, version, opts);
    } catch (err) {
      if (err instanceof PortClashError && attempt < 3) continue;
      throw err;
    }
  }
}

/** True when `java` runs (any version; Kafka 4.x needs 17+). */
export async function javaAvailable(): Promise<boolean> {
  try {
    return (await run("java", ["-version"], tmpdir(), 30_000)).code === 0;
  } catch {
    return false;
  }
}

/** True when `mvn` runs. */
export async function mavenAvailable(): Promise<boolean> {
  try {
    return (await run("mvn", ["-v"], tmpdir(), 60_000)).code === 0;
  } catch {
    return false;
  }
}
