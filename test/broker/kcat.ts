/**
 * kcat (librdkafka) as a second independent reader, and librdkafka's built-in mock cluster.
 * Optional cross-checks: the suite's own read-backs use the Java reader (java-reader.ts), and a
 * test that uses kcat starts with `peerTool("kcat").need(ctx)` (test/helpers/peer-tools.ts), so
 * it skips with a note when kcat is missing (and fails where the peer tools are required).
 *
 * Debian's kcat is 1.7.1 on librdkafka 2.0.2. Its `-J` envelope, as actually printed (the
 * `-h` text documents headers as an object, but 1.7.1 prints a flat array):
 *   {"topic":"t","partition":0,"offset":0,"tstype":"create","ts":1700000000000,"broker":1,
 *    "headers":["h1","x","h2","y"],"key":"k1","payload":"v1"}
 * "headers" is absent when the record has none; a null key/payload is JSON null. Keys and
 * payloads are printed as strings: control bytes are \u-escaped but bytes that are not valid
 * UTF-8 are copied raw, so the JSON mode is not binary-safe (such bytes decode as U+FFFD).
 * For byte-exact comparisons use kcatConsumeBinary(), which frames each record with kcat's
 * `%K`/`%S` length tokens (kcat has no hex/base64 output).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { terminate, trackChild } from "./kafka.js";

export interface KcatRecord {
  topic: string;
  partition: number;
  offset: number;
  tstype: string;
  ts: number;
  key: string | null;
  payload: string | null;
  /** Flat [name, value, name, value, ...] as kcat prints it; undefined when there are none. */
  headers: string[] | undefined;
  broker?: number;
}

export interface KcatBinaryRecord {
  topic: string;
  partition: number;
  offset: number;
  ts: number;
  key: Buffer | null;
  payload: Buffer | null;
  /** Headers exactly as kcat's `%h` prints them: "n1=v1,n2=v2" (empty when none). */
  headersRaw: Buffer;
  /** Best-effort split of headersRaw; wrong if a name or value contains ',' or '='. */
  headers: [string, string][];
}

export interface KcatConsumeOptions {
  /** Stop after this many records (kcat -c). */
  count?: number;
  /** Only this partition (kcat -p). */
  partition?: number;
  /** Kill kcat and fail after this long (default 30 s). */
  timeoutMs?: number;
  /** Start offset (kcat -o); default "beginning". */
  offset?: "beginning" | "end" | number;
  /** Exit at the end of the log (kcat -e); default true. */
  exitAtEnd?: boolean;
  /** Extra librdkafka settings (-X). `check.crcs=true` is set unless overridden. */
  config?: Record<string, string>;
}

const KCAT = process.env.KCAT_BIN ?? "kcat";

interface KcatRun {
  stdout: Buffer;
  stderr: string;
}

function consumeArgs(bootstrap: string, topic: string, opts: KcatConsumeOptions): string[] {
  const args = ["-C", "-b", bootstrap, "-t", topic, "-q"];
  if (opts.exitAtEnd ?? true) args.push("-e");
  args.push("-o", String(opts.offset ?? "beginning"));
  if (opts.partition !== undefined) args.push("-p", String(opts.partition));
  if (opts.count !== undefined) args.push("-c", String(opts.count));
  const config: Record<string, string> = { "check.crcs": "true", ...opts.config };
  for (const [k, v] of Object.entries(config)) args.push("-X", `${k}=${v}`);
  return args;
}

function runKcat(args: string[], timeoutMs: number): Promise<KcatRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(KCAT, args, { stdio: ["ignore", "pipe", "pipe"] });
    trackChild(child);
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (c: string) => {
      stderr += c;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${KCAT}: ${err.message} (apt-get install -y kcat)`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      if (timedOut) {
        reject(
          new Error(
            `kcat ${args.join(" ")} timed out after ${timeoutMs} ms ` +
              `(${stdout.length} bytes read); stderr: ${stderr.trim()}`,
          ),
        );
      } else if (code !== 0) {
        reject(
          new Error(`kcat ${args.join(" ")} exited ${code ?? signal}; stderr: ${stderr.trim()}`),
        );
      } else {
        resolvePromise({ stdout, stderr });
      }
    });
  });
}

function asRecord(line: string): KcatRecord {
  const v: unknown = JSON.parse(line);
  if (typeof v !== "object" || v === null)
    throw new Error(`kcat -J line is not an object: ${line}`);
  const o = v as Record<string, unknown>;
  const str = (x: unknown): string | null => (typeof x === "string" ? x : null);
  const headers = Array.isArray(o.headers) ? o.headers.map((h) => String(h)) : undefined;
  const rec: KcatRecord = {
    topic: String(o.topic),
    partition: Number(o.partition),
    offset: Number(o.offset),
    tstype: String(o.tstype),
    ts: Number(o.ts),
    key: str(o.key),
    payload: str(o.payload),
    headers,
  };
  if (typeof o.broker === "number") rec.broker = o.broker;
  return rec;
}

/**
 * Reads a topic with `kcat -C -J -e -q -o beginning` and parses each JSON line. Records come in
 * kcat's delivery order (per partition in offset order; partitions interleaved).
 */
export async function kcatConsume(
  bootstrap: string,
  topic: string,
  opts: KcatConsumeOptions = {},
): Promise<KcatRecord[]> {
  const args = [...consumeArgs(bootstrap, topic, opts), "-J"];
  const { stdout } = await runKcat(args, opts.timeoutMs ?? 30_000);
  return stdout
    .toString("utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map(asRecord);
}

/**
 * Like kcatConsume but byte-exact for keys and payloads: kcat prints each record as
 * `<topic> <partition> <offset> <ts> <keyLen> <payloadLen>\n<key><payload><headers>\n<nonce>\n`
 * (lengths are -1 for null) and the key/payload are cut by length. Headers come back as kcat's
 * raw "n=v,n=v" text (its `%h`), framed by a random nonce.
 */
export async function kcatConsumeBinary(
  bootstrap: string,
  topic: string,
  opts: KcatConsumeOptions = {},
): Promise<KcatBinaryRecord[]> {
  const nonce = `~kcat-${randomBytes(12).toString("hex")}~`;
  const format = `%t %p %o %T %K %S\\n%k%s%h\\n${nonce}\\n`;
  const args = [...consumeArgs(bootstrap, topic, opts), "-f", format];
  const { stdout } = await runKcat(args, opts.timeoutMs ?? 30_000);
  return parseBinary(stdout, Buffer.from(`\n${nonce}\n`, "latin1"));
}

function parseBinary(buf: Buffer, terminator: Buffer): KcatBinaryRecord[] {
  const records: KcatBinaryRecord[] = [];
  let off = 0;
  while (off < buf.length) {
    const nl = buf.indexOf(0x0a, off);
    if (nl < 0) throw new Error(`kcat -f output truncated at byte ${off}`);
    const meta = buf.toString("latin1", off, nl);
    const m = /^(\S+) (-?\d+) (-?\d+) (-?\d+) (-?\d+) (-?\d+)$/.exec(meta);
    if (!m) throw new Error(`unexpected kcat -f record line: ${JSON.stringify(meta)}`);
    const keyLen = Number(m[5]);
    const payloadLen = Number(m[6]);
    let p = nl + 1;
    const key = keyLen < 0 ? null : Buffer.from(buf.subarray(p, p + keyLen));
    p += Math.max(keyLen, 0);
    const payload = payloadLen < 0 ? null : Buffer.from(buf.subarray(p, p + payloadLen));
    p += Math.max(payloadLen, 0);
    const end = buf.indexOf(terminator, p);
    if (end < 0) throw new Error(`kcat -f record at byte ${off} has no terminator`);
    const headersRaw = Buffer.from(buf.subarray(p, end));
    records.push({
      topic: m[1]!,
      partition: Number(m[2]),
      offset: Number(m[3]),
      ts: Number(m[4]),
      key,
      payload,
      headersRaw,
      headers: splitHeaders(headersRaw.toString("utf8")),
    });
    off = end + terminator.length;
  }
  return records;
}

function splitHeaders(text: string): [string, string][] {
  if (text === "") return [];
  return text.split(",").map((pair): [string, string] => {
    const eq = pair.indexOf("=");
    return eq < 0 ? [pair, ""] : [pair.slice(0, eq), pair.slice(eq + 1)];
  });
}

export interface MockCluster {
  /** "127.0.0.1:P1,127.0.0.1:P2,..." */
  bootstrap: string;
  /** Pid of the kcat that hosts the mock brokers. */
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts librdkafka's mock cluster inside a long-running kcat consumer:
 * `kcat -b 127.0.0.1:1 -X test.mock.num.brokers=N -C -t keepalive -q`, which logs
 * "%5|...|MOCK|...: Mock cluster enabled: original bootstrap.servers and security.protocol
 * ignored and replaced with 127.0.0.1:P1,127.0.0.1:P2,..." on stderr. Other clients can use
 * the brokers while it runs. (librdkafka 2.0.2: Produce <= v7, Metadata <= v2,
 * ApiVersions <= v2; no CRC check.)
 */
export function startMockCluster(brokers = 3, timeoutMs = 15_000): Promise<MockCluster> {
  const args = [
    "-b",
    "127.0.0.1:1",
    "-X",
    `test.mock.num.brokers=${brokers}`,
    "-C",
    "-t",
    "keepalive",
    "-q",
  ];
  return new Promise((resolvePromise, reject) => {
    const child: ChildProcess = spawn(KCAT, args, { stdio: ["ignore", "ignore", "pipe"] });
    trackChild(child);
    let stderr = "";
    let settled = false;
    const fail = (msg: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${msg}; stderr: ${stderr.trim()}`));
    };
    const timer = setTimeout(
      () => fail(`kcat mock cluster printed no address within ${timeoutMs} ms`),
      timeoutMs,
    );
    child.on("error", (err) => fail(`cannot run ${KCAT}: ${err.message}`));
    child.on("exit", (code, signal) => fail(`kcat mock cluster exited (${code ?? signal})`));
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      stderr += chunk;
      if (settled) return;
      const m = /replaced with (\S+)/.exec(stderr);
      if (!m) return;
      settled = true;
      clearTimeout(timer);
      resolvePromise({
        bootstrap: m[1]!,
        pid: child.pid!,
        stop: () => terminate(child, 5_000),
      });
    });
  });
}
