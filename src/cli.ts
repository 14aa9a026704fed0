#!/usr/bin/env node
/**
 * event-kafka: publish records or raise events through a kafka socket from a shell.
 *
 *   event-kafka publish SOCKET [MESSAGE...] [-k KEY | -K DELIM] [-H name=value]...
 *   event-kafka raise SOCKET EVENT [name=value ...] [--callid ID]
 */
import { createReadStream, fstatSync, readFileSync } from "node:fs";
import { KafkaClientError } from "./producer/client-error.js";
import { ConfigError } from "./producer/config.js";
import { consoleLogger } from "./producer/logger.js";
import { Producer } from "./producer/producer.js";
import type { RecordHeader } from "./protocol/record-batch.js";
import { type EventValue, eventPayload } from "./socket/events.js";
import {
  type KafkaSocket,
  parseSocket,
  producerPropertiesOf,
  SocketError,
} from "./socket/socket.js";

const USAGE = `Usage:
  event-kafka publish SOCKET [MESSAGE...] [options]
      Publishes each MESSAGE, or one record per line of standard input, to the
      socket's topic. Prints {"delivered":N,"failed":M,"seconds":S,"msgs_per_s":R}.
      -k KEY          the key of every record
      -K DELIM        split each line into key and value at the first DELIM
      -H name=value   add a header to every record (repeatable)
      -t SECONDS      how long to wait for delivery at the end (default: the
                      socket's message.timeout.ms)
  event-kafka raise SOCKET EVENT [name=value ...] [--callid ID]
      Raises one event: a JSON-RPC notification with the parameters given.
      name=value is always a string, kept byte for byte; name:=JSON is typed:
      n:=42 (an integer), n:=null, n:='"text"'. With key=callid in the
      socket, --callid sets the record key.
  event-kafka --version
  event-kafka --help

SOCKET is kafka:BROKERS/TOPIC[?PROPERTIES], e.g.
  kafka:127.0.0.1:9092/events?g.linger.ms=10&t.acks=1
Properties take librdkafka's names with a g. (global) or t. (topic) prefix.
Set EVENT_KAFKA_DEBUG=1 to log the producer's activity on stderr.

Exit status: 0 every record delivered, 1 some failed, 2 bad arguments or socket.`;

class UsageError extends Error {}

interface Summary {
  delivered: number;
  failed: number;
  seconds: number;
  msgs_per_s: number;
}

function printSummary(delivered: number, failed: number, startedAt: number): Summary {
  const seconds = (performance.now() - startedAt) / 1000;
  const summary: Summary = {
    delivered,
    failed,
    seconds: Math.round(seconds * 1000) / 1000,
    msgs_per_s: seconds > 0 ? Math.round(delivered / seconds) : 0,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return summary;
}

/**
 * A TLS or SASL failure will not mend itself within one run of a shell
 * command, so the CLI stops at the first one instead of retrying until
 * message.timeout.ms (the API keeps retrying: a broker may be reconfigured).
 */
function isSecurityFailure(err: Error): boolean {
  return err instanceof KafkaClientError && (err.code === "SSL" || err.code === "AUTHENTICATION");
}

/** The producer of one CLI run, and the security failure that ended it early, if any. */
function makeProducer(
  socket: KafkaSocket,
  onDelivery: (failed: boolean, err: unknown) => void,
): { producer: Producer; aborted: () => Error | undefined; stopped: AbortSignal } {
  let abortedWith: Error | undefined;
  const stop = new AbortController();
  /** Connection failures already printed: each cause is said once, at once, not per retry. */
  const warned = new Set<string>();
  const producer = new Producer(producerPropertiesOf(socket), {
    ...(process.env.EVENT_KAFKA_DEBUG && { logger: consoleLogger("debug") }),
    onDelivery: (err) => onDelivery(err !== null, err),
    onError: (err) => {
      if (abortedWith !== undefined) return;
      if (!isSecurityFailure(err)) {
        if (warned.has(err.message)) return;
        warned.add(err.message);
        process.stderr.write(`event-kafka: warning: ${err.message} (retrying)\n`);
        return;
      }
      abortedWith = err;
      stop.abort();
      void producer.close(0);
    },
  });
  return { producer, aborted: () => abortedWith, stopped: stop.signal };
}

/** The closing line on stderr: the security failure that stopped the run, or the first failure. */
function reportFailures(failed: number, firstError: unknown, aborted: Error | undefined): void {
  if (aborted !== undefined) {
    process.stderr.write(`event-kafka: ${aborted.message} (${failed} record(s) not delivered)\n`);
  } else if (failed > 0) {
    process.stderr.write(
      `event-kafka: ${failed} record(s) failed: ${(firstError as Error)?.message ?? firstError}\n`,
    );
  }
}

interface PublishArgs {
  socket: KafkaSocket;
  messages: string[];
  key: Buffer | null;
  keyDelimiter: Buffer | null;
  headers: RecordHeader[] | undefined;
  waitSeconds: number | undefined;
}

function parsePublishArgs(args: string[]): PublishArgs {
  let socketText: string | undefined;
  const messages: string[] = [];
  let key: Buffer | null = null;
  let keyDelimiter: Buffer | null = null;
  const headers: RecordHeader[] = [];
  let waitSeconds: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = (): string => {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === "-k") key = Buffer.from(next());
    else if (a === "-K") {
      const d = next();
      if (d === "") throw new UsageError("-K needs a non-empty delimiter");
      keyDelimiter = Buffer.from(d);
    } else if (a === "-H") {
      const h = next();
      const eq = h.indexOf("=");
      if (eq <= 0) throw new UsageError(`-H expects name=value, got "${h}"`);
      headers.push({ key: h.slice(0, eq), value: h.slice(eq + 1) });
    } else if (a === "-t") {
      const t = Number(next());
      if (!(t >= 0)) throw new UsageError(`-t expects seconds, got "${args[i]}"`);
      waitSeconds = t;
    } else if (a === "--") {
      messages.push(...args.slice(i + 1));
      break;
    } else if (a.startsWith("-") && a !== "-") throw new UsageError(`unknown option ${a}`);
    else if (socketText === undefined) socketText = a;
    else messages.push(a);
  }
  if (socketText === undefined) throw new UsageError("publish needs a SOCKET");
  if (key && keyDelimiter) throw new UsageError("-k and -K cannot be used together");
  return {
    socket: parseSocket(socketText),
    messages,
    key,
    keyDelimiter,
    headers: headers.length > 0 ? headers : undefined,
    waitSeconds,
  };
}

async function publish(args: string[]): Promise<number> {
  const opts = parsePublishArgs(args);
  const { socket, headers } = opts;
  let delivered = 0;
  let failed = 0;
  let firstError: unknown;
  let resume: (() => void) | undefined;
  const { producer, aborted, stopped } = makeProducer(socket, (isFailure, err) => {
    if (isFailure) {
      failed++;
      firstError ??= err;
    } else delivered++;
    if (resume && producer.queueLength <= lowWater) {
      const r = resume;
      resume = undefined;
      r();
    }
  });
  const maxQueued = producer.config["queue.buffering.max.messages"];
  const lowWater = Math.floor(maxQueued / 2);
  const topic = socket.topic;
  const startedAt = performance.now();
  const progress = startProgress(() => [delivered, failed]);

  const delimiter = opts.keyDelimiter;
  /**
   * Queues one line as a record: synchronous, no allocation beyond the record
   * itself. Returns false, with nothing queued, when the queue is full.
   */
  const produceLine = (line: Buffer): boolean => {
    let key = opts.key;
    let value = line;
    if (delimiter) {
      const at = line.indexOf(delimiter);
      if (at >= 0) {
        key = line.subarray(0, at);
        value = line.subarray(at + delimiter.length);
      }
    }
    try {
      producer.produce({ topic, key, value, headers });
      return true;
    } catch (err) {
      if (!(err instanceof KafkaClientError)) throw err;
      if (err.code === "DESTROYED" && aborted()) throw new StopReading();
      if (err.code === "QUEUE_FULL") return false;
      if (err.code !== "MSG_SIZE_TOO_LARGE") throw err;
      // One line too large for a record fails alone; the stream goes on.
      failed++;
      firstError ??= err;
      return true;
    }
  };
  /** Resolves once deliveries have made room in the queue. */
  const room = (): Promise<void> =>
    new Promise((r) => {
      resume = r;
    });

  try {
    if (opts.messages.length > 0) {
      for (const m of opts.messages) {
        const line = Buffer.from(m);
        while (!produceLine(line)) await room();
      }
    } else {
      await forEachLine(produceLine, room, stopped);
    }
  } catch (err) {
    if (!(err instanceof StopReading) && !aborted()) {
      progress.stop();
      throw err;
    }
  }
  try {
    const waitMs =
      opts.waitSeconds !== undefined
        ? opts.waitSeconds * 1000
        : producer.config["message.timeout.ms"] || 2 ** 31 - 1;
    await producer.close(waitMs);
  } finally {
    progress.stop();
  }
  printSummary(delivered, failed, startedAt);
  reportFailures(failed, firstError, aborted());
  return failed > 0 || aborted() ? 1 : 0;
}

/** Thrown out of the line loop when the run was stopped by a security failure. */
class StopReading extends Error {}

/**
 * Feeds every line of standard input (without its newline or CR; empty lines
 * skipped) to `onLine`; when it refuses a line, waits for `room()` and offers
 * the same line again. Large reads keep the per-chunk cost low.
 */
async function forEachLine(
  onLine: (line: Buffer) => boolean,
  room: () => Promise<void>,
  stopped: AbortSignal,
): Promise<void> {
  // A regular file (input redirected with <) is read in large blocks; pipes
  // and terminals through process.stdin (a non-blocking pipe cannot be read as a file).
  const input = fstatSync(0).isFile()
    ? createReadStream("", { fd: 0, highWaterMark: 1 << 20, autoClose: false })
    : process.stdin;
  // A stopped run must not wait for input that may never come (a terminal, an open pipe).
  stopped.addEventListener("abort", () => input.destroy(), { once: true });
  /** The pieces of a line cut at read boundaries (several when it spans blocks). */
  let rest: Buffer[] = [];
  const offer = async (line: Buffer): Promise<void> => {
    while (!onLine(line)) await room();
  };
  for await (const data of input) {
    const chunk = data as Buffer;
    let start = 0;
    if (rest.length > 0) {
      // Only the line cut at the chunk boundary is joined (copied), not the chunk.
      const nl = chunk.indexOf(10);
      if (nl < 0) {
        rest.push(chunk);
        continue;
      }
      rest.push(chunk.subarray(0, nl));
      const joined = Buffer.concat(rest);
      rest = [];
      const end =
        joined.length > 0 && joined[joined.length - 1] === 13 ? joined.length - 1 : joined.length;
      if (end > 0) await offer(joined.subarray(0, end));
      start = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      let end = nl;
      if (end > start && chunk[end - 1] === 13) end--; // CRLF
      if (end > start) {
        const line = chunk.subarray(start, end);
        if (!onLine(line)) await offer(line);
      }
      start = nl + 1;
    }
    if (start < chunk.length) rest = [chunk.subarray(start)];
  }
  if (rest.length > 0) {
    const last = Buffer.concat(rest);
    if (last.length > 0) await offer(last);
  }
}

function startProgress(counts: () => [number, number]): { stop(): void } {
  if (!process.stderr.isTTY) return { stop: () => {} };
  const t0 = performance.now();
  const timer = setInterval(() => {
    const [d, f] = counts();
    const s = (performance.now() - t0) / 1000;
    process.stderr.write(
      `\r${d} delivered, ${f} failed, ${Math.round(d / Math.max(s, 0.001))} msg/s   `,
    );
  }, 1000);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      process.stderr.write("\r\x1b[K");
    },
  };
}

async function raise(args: string[]): Promise<number> {
  const positional: string[] = [];
  let callId: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--callid") {
      callId = args[++i];
      if (callId === undefined) throw new UsageError("--callid needs a value");
    } else if (a.startsWith("--")) throw new UsageError(`unknown option ${a}`);
    else positional.push(a);
  }
  const [socketText, event, ...pairs] = positional;
  if (socketText === undefined || event === undefined) {
    throw new UsageError("raise needs a SOCKET and an EVENT");
  }
  const socket = parseSocket(socketText);
  const params: Record<string, EventValue> = {};
  for (const p of pairs) {
    const [name, value] = eventParam(p);
    params[name] = value;
  }
  let delivered = 0;
  let failed = 0;
  let error: unknown;
  const { producer, aborted } = makeProducer(socket, (isFailure, err) => {
    if (isFailure) {
      failed++;
      error = err;
    } else delivered++;
  });
  const startedAt = performance.now();
  producer.produce({
    topic: socket.topic,
    key: socket.keyCallId && callId ? callId : null,
    value: eventPayload(event, pairs.length > 0 ? params : undefined),
  });
  await producer.close(producer.config["message.timeout.ms"] || 2 ** 31 - 1);
  printSummary(delivered, failed, startedAt);
  if (aborted()) reportFailures(failed, error, aborted());
  else if (failed > 0) {
    process.stderr.write(`event-kafka: event not delivered: ${(error as Error).message}\n`);
  }
  return failed > 0 || aborted() ? 1 : 0;
}

/**
 * One event parameter from the command line. `name=value` is always the
 * string value, byte for byte (0049301234 stays a string); `name:=JSON` is a
 * typed value: an integer, a "string" or null, the types an OpenSIPS event
 * parameter can have.
 */
function eventParam(arg: string): [string, EventValue] {
  const eq = arg.indexOf("=");
  if (eq <= 0 || (eq === 1 && arg[0] === ":")) {
    throw new UsageError(`event parameters are name=value or name:=JSON, got "${arg}"`);
  }
  if (arg[eq - 1] !== ":") return [arg.slice(0, eq), arg.slice(eq + 1)];
  const name = arg.slice(0, eq - 1);
  const text = arg.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(
      `${name}:= needs a JSON value (an integer, a "string" or null), got ${text}`,
    );
  }
  if (value === null || typeof value === "string" || Number.isSafeInteger(value)) {
    return [name, value as EventValue];
  }
  throw new UsageError(
    `${name}:=${text}: an event parameter is an integer, a string or null (write ${name}=${text} to send it as the string)`,
  );
}

/** The package's version, from the package.json beside dist/. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "--version" || command === "-V") {
    process.stdout.write(`event-kafka ${version()} (Node.js ${process.version})\n`);
    return 0;
  }
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    if (command === "publish") return await publish(rest);
    if (command === "raise") return await raise(rest);
    throw new UsageError(`unknown command "${command}" (publish or raise)`);
  } catch (err) {
    if (err instanceof UsageError || err instanceof SocketError || err instanceof ConfigError) {
      process.stderr.write(`event-kafka: ${err.message}\n`);
      return 2;
    }
    if (err instanceof KafkaClientError && err.code === "INVALID_ARG") {
      process.stderr.write(`event-kafka: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`event-kafka: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
