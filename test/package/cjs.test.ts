/**
 * The package as a consumer installs it: `npm pack` of the built tree, installed
 * into a fresh CommonJS project, then loaded with require(), with import, typechecked
 * as a CommonJS TypeScript project (moduleResolution node16) and run as `npx event-kafka`.
 * Needs dist/ (`npm test` builds first); the package has no dependencies to fetch.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const NPX = process.platform === "win32" ? "npx.cmd" : "npx";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 150_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Runs and insists on exit 0, with the output in the failure message. */
async function ok(cmd: string, args: string[], cwd: string): Promise<string> {
  const r = await run(cmd, args, cwd);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

let tmp = "";
let project = "";

beforeAll(async () => {
  for (const f of ["dist/index.js", "dist/cjs/index.js", "dist/cjs/package.json", "dist/cli.js"]) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run npm run build first`);
  }
  tmp = mkdtempSync(join(tmpdir(), "event-kafka-pkg-"));
  const packDir = join(tmp, "pack");
  mkdirSync(packDir);
  await ok(NPM, ["pack", "--ignore-scripts", "--pack-destination", packDir], ROOT);
  const tgz = readdirSync(packDir).filter((f) => f.endsWith(".tgz"));
  expect(tgz).toEqual(["event-kafka-0.1.0.tgz"]);

  project = join(tmp, "consumer");
  mkdirSync(project);
  // No "type": so .js and .ts files here are CommonJS.
  writeFileSync(
    join(project, "package.json"),
    `${JSON.stringify({ name: "consumer", version: "1.0.0", private: true }, null, 2)}\n`,
  );
  await ok(
    NPM,
    ["install", "--no-audit", "--no-fund", "--prefer-offline", join(packDir, tgz[0]!)],
    project,
  );
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("the packed package in a CommonJS project", () => {
  it("loads with require(), from dist/cjs", async () => {
    const script = `
      const assert = require("node:assert/strict");
      const { Producer, parseSocket, KafkaClientError } = require("event-kafka");
      assert.equal(typeof Producer, "function");
      assert.equal(typeof parseSocket, "function");
      assert.equal(typeof KafkaClientError, "function");
      assert.ok(KafkaClientError.prototype instanceof Error);
      assert.equal(parseSocket("kafka:h:1/t").topic, "t");
      assert.match(require.resolve("event-kafka"), /[\\\\/]dist[\\\\/]cjs[\\\\/]index\\.js$/);

      const proto = require("event-kafka/protocol");
      for (const name of ["Writer", "Reader", "encodeRecordBatch", "decodeRecordBatch", "pickVersion", "ErrorCode"]) {
        assert.ok(name in proto, name);
      }
      // The checksum and a codec written in TypeScript.
      assert.equal(proto.crc32c(Buffer.from("123456789")), 0xe3069283);
      const data = Buffer.from("event-kafka ".repeat(50));
      assert.deepEqual(Buffer.from(proto.snappyDecompress(proto.snappyCompress(data))), data);

      const p = new Producer({ "bootstrap.servers": "127.0.0.1:1" });
      p.close(0).then(() => console.log("closed"));
    `;
    expect(await ok(process.execPath, ["-e", script], project)).toBe("closed\n");
  });

  it("loads with import in the same install, from dist/", async () => {
    const script = `
      import assert from "node:assert/strict";
      import { Producer, parseSocket } from "event-kafka";
      import { Writer } from "event-kafka/protocol";
      assert.equal(typeof Producer, "function");
      assert.equal(typeof Writer, "function");
      assert.equal(parseSocket("kafka:h:1/t").topic, "t");
      assert.match(import.meta.resolve("event-kafka"), /\\/dist\\/index\\.js$/);
      await new Producer({ "bootstrap.servers": "127.0.0.1:1" }).close(0);
      console.log("closed");
    `;
    // A file rather than `--input-type=module -e`: Deno, running this suite under
    // `npm run test:runtimes`, does not take that Node flag from a child's arguments.
    writeFileSync(join(project, "import-check.mjs"), script);
    expect(await ok(process.execPath, ["import-check.mjs"], project)).toBe("closed\n");
  });

  it("typechecks as CommonJS TypeScript with moduleResolution node16", async () => {
    const dir = join(project, "ts");
    mkdirSync(dir, { recursive: true });
    const tsconfig = (files: string[], skipLibCheck: boolean) => ({
      compilerOptions: {
        skipLibCheck,
        module: "node16",
        moduleResolution: "node16",
        target: "ES2022",
        strict: true,
        noEmit: true,
        types: ["node"],
        typeRoots: [join(ROOT, "node_modules", "@types")],
      },
      files,
    });
    writeFileSync(
      join(dir, "good.ts"),
      [
        'import { Producer, type ProducerProperties } from "event-kafka";',
        'import { Writer } from "event-kafka/protocol";',
        'const props: ProducerProperties = { "bootstrap.servers": "x", "linger.ms": 5 };',
        "const producer: Producer = new Producer(props);",
        "void producer.close(0);",
        "export const bytes: number = new Writer().boolean(true).finish().length;",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "bad.ts"),
      [
        'import { Producer } from "event-kafka";',
        'export const producer = new Producer({ "bootstrap.servers": "x", "lingr.ms": 5 });',
        "",
      ].join("\n"),
    );
    // The good file also checks the package's .d.ts files themselves (no skipLibCheck).
    writeFileSync(join(dir, "tsconfig.good.json"), JSON.stringify(tsconfig(["good.ts"], false)));
    writeFileSync(join(dir, "tsconfig.bad.json"), JSON.stringify(tsconfig(["bad.ts"], true)));

    const [good, bad] = await Promise.all([
      run(process.execPath, [TSC, "-p", "tsconfig.good.json", "--explainFiles"], dir),
      run(process.execPath, [TSC, "-p", "tsconfig.bad.json"], dir),
    ]);
    expect(good.code, good.stdout + good.stderr).toBe(0);
    // A CommonJS file resolves the "require" condition's types.
    expect(good.stdout).toMatch(/node_modules\/event-kafka\/dist\/cjs\/index\.d\.ts/);
    expect(good.stdout).toMatch(/node_modules\/event-kafka\/dist\/cjs\/protocol\/index\.d\.ts/);

    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toMatch(/bad\.ts\(2,\d+\): error TS\d+: .*lingr\.ms/);
  });

  it("runs the command line with npx", async () => {
    const out = await ok(NPX, ["--no-install", "event-kafka", "--version"], project);
    expect(out.split("\n")[0]).toMatch(/^event-kafka 0\.1\.0\b/);
  });
});
