/** The CLI's commands and how their errors become exit statuses. */
import { readFileSync } from "node:fs";
import { KafkaClientError } from "../client/client-error.js";
import { ConfigError } from "../config/index.js";
import { runtimeName } from "../runtime.js";
import { RouteError } from "../sidecar/routes.js";
import { SocketError } from "../socket/socket.js";
import { metadata } from "./metadata.js";
import { perf } from "./perf.js";
import { publish } from "./publish.js";
import { raise } from "./raise.js";
import { serve } from "./serve.js";
import { USAGE, UsageError } from "./usage.js";

const COMMANDS: Record<string, (args: readonly string[]) => Promise<number | "help">> = {
  publish,
  raise,
  metadata,
  perf,
  serve,
};

/**
 * The package's version, from its package.json: the first one up from this
 * module (dist/cli/main.js, or the one-file dist/cli.js the build bundles).
 */
function version(): string {
  for (const up of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as {
        name?: string;
        version: string;
      };
      if (pkg.name === "event-kafka") return pkg.version;
    } catch {
      // not this one
    }
  }
  return "unknown";
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "--version" || command === "-V") {
    process.stdout.write(`event-kafka ${version()} (${runtimeName()})\n`);
    return 0;
  }
  if (command === undefined) {
    // A usage error: the text goes to stderr, as getopt tools and kcat do.
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const run = COMMANDS[command];
    if (run === undefined) {
      throw new UsageError(`unknown command "${command}" (${Object.keys(COMMANDS).join(", ")})`);
    }
    const code = await run(rest);
    if (code === "help") {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    return code;
  } catch (err) {
    if (
      err instanceof UsageError ||
      err instanceof SocketError ||
      err instanceof ConfigError ||
      err instanceof RouteError
    ) {
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
