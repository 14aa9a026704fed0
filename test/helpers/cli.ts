/**
 * The event-kafka CLI as a user runs it: the built bin (dist/cli.js) in a
 * child process, with its output and exit status.
 */
import { spawn } from "node:child_process";
import { openSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

export const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in ms. */
  ms: number;
}

/** Runs the CLI; `stdin` is text to pipe in, or `{ file }` to redirect from a file (like `<`). */
export function run(
  args: string[],
  stdin?: string | Buffer | { file: string },
  timeoutMs = 60000,
  env?: Record<string, string>,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const file = typeof stdin === "object" && "file" in stdin ? stdin.file : undefined;
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: [file === undefined ? "pipe" : openSync(file, "r"), "pipe", "pipe"],
      ...(env && { env: { ...process.env, ...env } }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`event-kafka ${args.join(" ")} did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
    if (file === undefined) child.stdin?.end(stdin as string | Buffer | undefined);
  });
}

/** The one summary line `publish` and `raise` print on stdout. */
export function summary(out: string): {
  delivered: number;
  failed: number;
  undelivered: number;
  seconds: number;
  msgs_per_s: number;
} {
  const lines = out.trim().split("\n");
  expect(lines).toHaveLength(1);
  const s = JSON.parse(lines[0]!);
  expect(Object.keys(s)).toEqual(["delivered", "failed", "undelivered", "seconds", "msgs_per_s"]);
  return s;
}
