#!/usr/bin/env node
/**
 * event-kafka: publish records, raise events or list a cluster's metadata
 * through a kafka socket from a shell (see src/cli/usage.ts).
 */
import { main } from "./cli/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`event-kafka: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
