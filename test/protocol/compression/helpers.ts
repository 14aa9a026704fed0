/** Shared inputs and checks of the compression tests. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { ProtocolError, type ProtocolErrorCode } from "../../../src/protocol/protocol-error.js";

/** A small deterministic PRNG (LCG), so failures reproduce. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 8;
  };
}

export function randomBytes(n: number, seed: number): Buffer {
  const next = rng(seed);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = next() & 0xff;
  return b;
}

/** JSON log lines, the kind of payload Kafka carries: compressible but not trivially. */
export function jsonLogLines(size: number, seed = 1234567): Buffer {
  const next = rng(seed);
  const levels = ["INFO", "DEBUG", "WARN", "ERROR"];
  const services = ["auth", "billing", "gateway", "search", "orders", "inventory"];
  const msgs = [
    "request completed",
    "cache miss for key",
    "user logged in",
    "payment authorized",
    "retrying upstream call",
    "slow query detected",
    "connection reset by peer",
    "session expired",
  ];
  const paths = ["/api/v1/users", "/api/v1/orders", "/api/v2/search", "/health", "/api/v1/pay"];
  const parts: string[] = [];
  let len = 0;
  let t = 1_700_000_000_000;
  while (len < size) {
    t += next() % 50;
    const line = `${JSON.stringify({
      ts: new Date(t).toISOString(),
      level: levels[next() % 4],
      service: services[next() % 6],
      msg: msgs[next() % 8],
      path: paths[next() % 5],
      status: [200, 200, 200, 404, 500][next() % 5],
      latency_ms: next() % 2000,
      request_id: (next().toString(16) + next().toString(16)).padStart(12, "0"),
      user_id: next() % 100000,
    })}\n`;
    parts.push(line);
    len += line.length;
  }
  return Buffer.from(parts.join("")).subarray(0, size);
}

/** The ProtocolError `fn` throws (failing the test on any other outcome), checked for `code`. */
export function expectProtocolError(fn: () => unknown, code?: ProtocolErrorCode): ProtocolError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, "expected a ProtocolError").toBeInstanceOf(ProtocolError);
  const err = thrown as ProtocolError;
  if (code !== undefined) expect(err.code, err.message).toBe(code);
  return err;
}

/** Runs `fn`; anything thrown must be a ProtocolError. Returns the result or the error. */
export function onlyProtocolError<T>(fn: () => T): T | ProtocolError {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    return e;
  }
}

export function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

/** Runs a command with `input` on stdin; returns stdout, failing on a non-zero exit. */
export function run(cmd: string, args: string[], input: Uint8Array): Buffer {
  // The input goes through a file that sh redirects, not through spawnSync's `input`: Deno's
  // spawnSync (2.9, under npm run test:runtimes) hangs once the input fills the pipe.
  const dir = mkdtempSync(join(tmpdir(), "peer-input-"));
  try {
    const file = join(dir, "input");
    writeFileSync(file, input);
    const r = spawnSync("sh", ["-c", 'f=$1; shift; exec "$@" < "$f"', "sh", file, cmd, ...args], {
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const hex = (...parts: string[]): Buffer =>
  Buffer.from(parts.join("").replace(/\s/g, ""), "hex");
