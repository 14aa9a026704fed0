#!/usr/bin/env node
/**
 * event-kafka: publish records, raise events or list a cluster's metadata
 * through a kafka socket from a shell (see src/cli/usage.ts).
 */
import { main } from "./cli/main.js";

/**
 * The command is done. Node and Bun exit now, as nothing is left to keep them up. Deno (2.9)
 * stays up while a read of standard input is pending, which destroying the stream does not end
 * (`publish` stopped by a signal while its input pipe is still open): an unreferenced timer
 * ends it once standard output and error have drained, and never holds Node or Bun up.
 */
function done(code: number): void {
  process.exitCode = code;
  process.stdout.write("", () => {
    process.stderr.write("", () => {
      setTimeout(() => process.exit(code), 500).unref();
    });
  });
}

main(process.argv.slice(2)).then(done, (err: unknown) => {
  process.stderr.write(`event-kafka: ${err instanceof Error ? err.message : String(err)}\n`);
  done(1);
});
