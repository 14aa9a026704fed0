/**
 * A sender speaking what OpenSIPS's event_stream and event_datagram modules
 * document: a JSON-RPC notification (or, in event_stream's reliable_mode, a
 * request with an integer id) per event; method = the event name (or the
 * socket's method, the event name then in the event_param parameter, first
 * when the parameters are positional); named parameters as an object,
 * positional ones as an array. event_stream writes the texts back to back on
 * one TCP connection; event_datagram sends one per datagram. And a
 * `event-kafka serve` child to point it at.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { connect, type Socket } from "node:net";
import { StringDecoder } from "node:string_decoder";
import { CLI } from "./cli.js";
import { OpenSipsReplyReader } from "./opensips-reply-reader.js";

export type Params = Record<string, string | number | null> | (string | number | null)[];

export interface PayloadOptions {
  /** reliable_mode: a request with this id. */
  id?: number;
  /** Older releases write `"id": null` in notifications. */
  nullId?: boolean;
  /** Printed with tabs and newlines, as some releases do (cJSON_Print). */
  pretty?: boolean;
}

/** One event as event_stream writes it: id, jsonrpc, method, params. */
export function streamPayload(
  method: string,
  params: Params | undefined,
  o: PayloadOptions = {},
): string {
  const msg: Record<string, unknown> = {};
  if (o.id !== undefined) msg.id = o.id;
  else if (o.nullId) msg.id = null;
  msg.jsonrpc = "2.0";
  msg.method = method;
  if (params !== undefined) msg.params = params;
  return o.pretty ? JSON.stringify(msg, null, "\t") : JSON.stringify(msg);
}

/**
 * The record value the sidecar must write, from docs/sidecar.md's rule: the
 * message as sent without its id member (and, with event_param, the event
 * name as the method). So: the same text, written as streamPayload writes
 * it, with no id.
 */
export function expectedValue(
  event: string,
  params: Params | undefined,
  o: Pick<PayloadOptions, "pretty"> = {},
): string {
  return streamPayload(event, params, { pretty: o.pretty });
}

/**
 * A JSON-RPC peer over TCP collecting the answers it gets, by id, and the
 * size of each. Every byte it gets also goes through the model of
 * OpenSIPS's answer reader (`opensips`), in reads of at most 8,192 bytes as
 * they arrived here: a test checks `opensips.failure`.
 *
 * The chunks are kept as read and go through the model when a test asks for
 * it: the model parses byte by byte in JavaScript, far slower than OpenSIPS's
 * C, and run while reading it held up this reader until the kernel's buffers
 * filled and answers arrived cut, as they would for an OpenSIPS that stalls.
 */
export class StreamSender {
  readonly answers = new Map<number | string | null, Record<string, unknown>>();
  readonly answerSizes: number[] = [];
  private readonly model = new OpenSipsReplyReader();
  /** Chunks read and not yet fed to the model. */
  private readonly unmodelled: Buffer[] = [];
  private held = "";
  private readonly decoder = new StringDecoder("utf8");
  closed = false;
  private readonly waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on("data", (d: Buffer) => {
      this.unmodelled.push(d);
      this.held += this.decoder.write(d);
      this.collect();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  /** OpenSIPS's reader after every chunk read so far. */
  get opensips(): OpenSipsReplyReader {
    for (const d of this.unmodelled.splice(0)) this.model.feed(d);
    return this.model;
  }

  static open(port: number, host = "127.0.0.1"): Promise<StreamSender> {
    return new Promise((resolve, reject) => {
      const s = connect(port, host);
      s.once("error", reject);
      s.once("connect", () => {
        s.off("error", reject);
        resolve(new StreamSender(s));
      });
    });
  }

  /** Answers are JSON objects back to back: cut at each top-level closing brace. */
  private collect(): void {
    let depth = 0;
    let inString = false;
    let escaped = false;
    let start = 0;
    for (let i = 0; i < this.held.length; i++) {
      const c = this.held[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === "\\") escaped = true;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === "{") depth++;
      else if (c === "}" && --depth === 0) {
        const text = this.held.slice(start, i + 1);
        this.answerSizes.push(Buffer.byteLength(text));
        const a = JSON.parse(text) as Record<string, unknown>;
        this.answers.set(a.id as number, a);
        start = i + 1;
      }
    }
    this.held = this.held.slice(start);
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  write(text: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.write(text)) resolve();
      else this.socket.once("drain", resolve);
    });
  }

  /** Resolves once `n` answers are in (or the connection closed); rejects after `timeoutMs`. */
  async waitAnswers(n: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.answers.size < n && !this.closed) {
      if (Date.now() > deadline)
        throw new Error(`${this.answers.size} of ${n} answers after ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  /** Resolves when the sidecar has closed the connection. */
  async waitClosed(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error("the connection is still open");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  end(): void {
    this.socket.end();
  }
}

/**
 * event_datagram over UDP: one text per datagram, paced (UDP drops what a
 * full receive buffer cannot hold); waits for `answers` answers (to ids).
 */
export async function udpSend(
  port: number,
  texts: readonly string[],
  answers = 0,
  host = "127.0.0.1",
): Promise<string[]> {
  const s = createSocket("udp4");
  const got: string[] = [];
  s.on("message", (m) => got.push(m.toString()));
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  for (let i = 0; i < texts.length; i++) {
    await new Promise<void>((resolve, reject) =>
      s.send(texts[i]!, port, host, (err) => (err ? reject(err) : resolve())),
    );
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 2));
  }
  const deadline = Date.now() + 30_000;
  while (got.length < answers && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  s.close();
  return got;
}

/** event_datagram over a UNIX socket: Node.js has none, so a perl one-liner sends. */
export function unixSend(path: string, texts: readonly string[]): Promise<void> {
  const script = String.raw`
use Socket; my $path = shift; binmode STDIN;
socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";
my $to = pack_sockaddr_un($path);
while (read(STDIN, my $len, 4) == 4) {
  read(STDIN, my $buf, unpack("N", $len));
  until (defined send($s, $buf, 0, $to)) { die "send: $!" unless $!{ENOBUFS} || $!{EAGAIN}; select(undef, undef, undef, 0.001); }
}`;
  return new Promise((resolve, reject) => {
    const child = spawn("perl", ["-e", script, path], { stdio: ["pipe", "inherit", "pipe"] });
    let err = "";
    child.stderr!.on("data", (d) => {
      err += d;
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`perl sender: ${err || code}`)),
    );
    const parts: Buffer[] = [];
    for (const t of texts) {
      const b = Buffer.from(t);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      parts.push(len, b);
    }
    child.stdin!.end(Buffer.concat(parts));
  });
}

/** `event-kafka serve` in a child process, with the addresses it reports. */
export class ServeProcess {
  stderr = "";
  stdout = "";
  readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly addresses: Map<string, string>,
  ) {
    this.exited = new Promise((r) => child.on("exit", (code) => r(code)));
  }

  static start(args: string[]): Promise<ServeProcess> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, "serve", ...args], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      let stdout = "";
      let proc: ServeProcess | undefined;
      child.stdout!.on("data", (d) => {
        stdout += d;
        if (proc) proc.stdout = stdout;
      });
      child.stderr!.on("data", (d) => {
        stderr += d;
        if (proc) proc.stderr = stderr;
        const m = /listening on (.*)\n/.exec(stderr);
        if (m && !proc) {
          const addresses = new Map<string, string>();
          for (const a of m[1]!.split(", ")) {
            const colon = a.indexOf(":");
            addresses.set(a.slice(0, colon), a.slice(colon + 1));
          }
          proc = new ServeProcess(child, addresses);
          proc.stderr = stderr;
          proc.stdout = stdout;
          resolve(proc);
        }
      });
      child.on("exit", (code) => {
        if (!proc) reject(new Error(`serve exited ${code} before listening: ${stderr}`));
      });
    });
  }

  /** The port of the first listener of a kind (tcp, udp, http). */
  port(kind: string): number {
    const a = this.addresses.get(kind);
    if (a === undefined) throw new Error(`no ${kind} listener`);
    return Number(a.slice(a.lastIndexOf(":") + 1));
  }

  /** SIGTERM, then the exit status and the summary line. */
  async stop(): Promise<{ code: number | null; summary: Record<string, number> }> {
    this.child.kill("SIGTERM");
    const code = await this.exited;
    const line = this.stdout.trim().split("\n").pop() ?? "{}";
    return { code, summary: JSON.parse(line) as Record<string, number> };
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

/** GET a path of the sidecar's HTTP endpoint. */
export async function httpGet(
  port: number,
  path: string,
): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

/** A sample's value from a Prometheus text exposition. */
export function metric(
  body: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of body.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries(
      [...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}
