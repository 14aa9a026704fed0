#!/usr/bin/env node
// `npm run test:opensips`: the sidecar against a real OpenSIPS. An optional check: without
// OPENSIPS it says in one line how to get one and exits 0 (nothing was tested).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const binary = process.env.OPENSIPS;
if (binary === undefined || !existsSync(binary)) {
  console.log(
    'test:opensips: skipped (nothing tested): set OPENSIPS=/path/to/sbin/opensips, built as docs/sidecar.md\'s "Testing against a real OpenSIPS" says',
  );
  process.exit(0);
}
const r = spawnSync("npx", ["vitest", "run", "--project", "opensips"], { stdio: "inherit" });
process.exit(r.status ?? 1);
