/**
 * A pluggable logger. Without one the producer uses `consoleLogger("warn")`
 * (warnings and errors on stderr); `silentLogger` silences it, `consoleLogger`
 * prints to stderr at a chosen level.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const noop = (): void => {};

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function consoleLogger(level: LogLevel = "info"): Logger {
  const make =
    (at: LogLevel) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (RANK[at] < RANK[level]) return;
      const extra = fields ? ` ${JSON.stringify(fields)}` : "";
      process.stderr.write(`${new Date().toISOString()} ${at.toUpperCase()} ${message}${extra}\n`);
    };
  return { debug: make("debug"), info: make("info"), warn: make("warn"), error: make("error") };
}
