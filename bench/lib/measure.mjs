// Runs one client process and measures it from outside: wall time, CPU time (user + system)
// and peak RSS. GNU time (/usr/bin/time) reports the last two exactly from the kernel's
// rusage of the finished child; without it, /proc/<pid> is polled while the child runs
// (VmHWM is the kernel's own high-water mark, so only CPU after the last poll is missed).
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const GNU_TIME = "/usr/bin/time";
const CLOCK_TICKS = 100; // USER_HZ on Linux

export const measureMethod =
  existsSync(GNU_TIME) && !process.env.BENCH_NO_GNU_TIME ? "gnu-time" : "proc-poll";

const children = new Set();
/** Kills every client still running (the orchestrator calls this when it is interrupted). */
export function killChildren() {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

function readProc(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the ")" that ends the command name: utime is field 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      maxRssKb: hwm ? Number(hwm[1]) : 0,
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
    };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a running process has used so far, or undefined. */
export function processCpuSeconds(pid) {
  return readProc(pid)?.cpuSeconds;
}

/**
 * Runs `cmd args` with stdin from `stdinFile` (or nothing) and resolves with its exit status,
 * stdout, stderr and measurements. Never rejects for a failing child; kills it after `timeoutMs`.
 */
export function runMeasured(cmd, args, { stdinFile, env, timeoutMs = 300_000 } = {}) {
  const timeFile = join(tmpdir(), `bench-time-${process.pid}-${Date.now()}-${Math.random()}`);
  const useTime = measureMethod === "gnu-time";
  const argv = useTime ? ["-f", "%e %U %S %M", "-o", timeFile, cmd, ...args] : args;
  // A file descriptor as stdin: the child reads the file itself, nothing is piped through us.
  const stdinFd = stdinFile ? openSync(stdinFile, "r") : undefined;
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(useTime ? GNU_TIME : cmd, argv, {
      stdio: [stdinFd ?? "ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    if (stdinFd !== undefined) closeSync(stdinFd);
    children.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d) => {
      if (stderr.length < 100_000) stderr += d;
    });
    let polled;
    const poll = useTime
      ? undefined
      : setInterval(() => {
          polled = readProc(child.pid) ?? polled;
        }, 20);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      stderr += `\n${err.message}`;
    });
    child.on("close", (code, signal) => {
      const wallSeconds = (performance.now() - started) / 1000;
      children.delete(child);
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      let cpuSeconds;
      let maxRssKb;
      if (useTime) {
        try {
          // GNU time writes "Command exited with non-zero status N" first on failure.
          const lines = readFileSync(timeFile, "utf8").trim().split("\n");
          const [, user, sys, rss] = lines[lines.length - 1].split(" ").map(Number);
          cpuSeconds = user + sys;
          maxRssKb = rss;
        } catch {
          // the child never ran
        }
        rmSync(timeFile, { force: true });
      } else if (polled) {
        cpuSeconds = polled.cpuSeconds;
        maxRssKb = polled.maxRssKb;
      }
      resolve({ code, signal, stdout, stderr, wallSeconds, cpuSeconds, maxRssKb });
    });
  });
}
