/**
 * Command-line parsing: node:util parseArgs with getopt's rule that a string
 * option takes the next argument whatever it starts with (`-p -1`, `-K -`),
 * kcat-style delimiters, and -X properties merged with a socket's.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import {
  ConfigError,
  lookupProperty,
  type ProducerProperties,
  type PropertyName,
  parseValue,
  textProperties,
} from "../config/index.js";
import type { KafkaSocket } from "../socket/socket.js";
import { UsageError } from "./usage.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

export interface ParsedArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/** Parses `args` for one command; every failure is a UsageError naming the argument. */
export function parseCommandArgs(args: readonly string[], options: Options): ParsedArgs {
  const byShort = new Map<string, string>();
  for (const [long, o] of Object.entries(options)) if (o.short) byShort.set(o.short, long);
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      joined.push(...args.slice(i));
      break;
    }
    // A short or long string option takes the next argument whatever it starts with
    // (so `-p -1` and `--throughput -1` work), as getopt does.
    const long = /^-[A-Za-z]$/.test(a)
      ? byShort.get(a.slice(1))
      : /^--[a-z][a-z-]*$/.test(a)
        ? a.slice(2)
        : undefined;
    if (long !== undefined && options[long]?.type === "string") {
      const value = args[i + 1];
      if (value === undefined) throw new UsageError(`${a} needs a value`);
      joined.push(`--${long}=${value}`);
      i++;
    } else joined.push(a);
  }
  try {
    const { values, positionals } = parseArgs({
      args: joined,
      options,
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs["values"], positionals };
  } catch (err) {
    const code = (err as { code?: string }).code;
    const named = /'([^']+)'/.exec((err as Error).message)?.[1];
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && named) {
      throw new UsageError(`unknown option ${named}`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && named) {
      throw new UsageError(`${named.split(" ")[0]!.replace(/,$/, "")} needs a value`);
    }
    throw new UsageError((err as Error).message);
  }
}

/** A string option's value (the last one when given several times). */
export function stringOf(values: ParsedArgs["values"], name: string): string | undefined {
  const v = values[name];
  if (Array.isArray(v)) return v.length > 0 ? String(v[v.length - 1]) : undefined;
  return typeof v === "string" ? v : undefined;
}

/** A repeatable string option's values, in order. */
export function stringsOf(values: ParsedArgs["values"], name: string): string[] {
  const v = values[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/**
 * A delimiter as kcat writes it: text with \n, \r, \t, \\ and \xNN escapes
 * (`-D '\x1e'`, `-K '\t'`). Empty is refused: it would split nothing.
 */
export function parseDelimiter(flag: string, text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== "\\" || i === text.length - 1) {
      bytes.push(...Buffer.from(c));
      continue;
    }
    const e = text[++i]!;
    if (e === "n") bytes.push(10);
    else if (e === "r") bytes.push(13);
    else if (e === "t") bytes.push(9);
    else if (e === "\\") bytes.push(92);
    else if (e === "x" && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      throw new UsageError(`${flag}: unknown escape \\${e} in "${text}" (\\n \\r \\t \\\\ \\xNN)`);
    }
  }
  if (bytes.length === 0) throw new UsageError(`${flag} needs a non-empty delimiter`);
  return Buffer.from(bytes);
}

/** A whole number from an option, within bounds. */
export function integerOf(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || n < min || n > max) {
    throw new UsageError(`${flag} expects an integer in ${min}..${max}, got "${text}"`);
  }
  return n;
}

/**
 * The producer properties of a socket with the -X ones added. A property set
 * twice (in the socket and by -X, twice by -X, or under a name and an alias)
 * is refused: which one should win is not for the CLI to guess.
 */
export function propertiesWith(
  socket: KafkaSocket,
  settings: readonly string[],
): ProducerProperties {
  const props: Record<string, string> = { ...socket.producerProperties };
  const givenBy = new Map<string, string>();
  for (const canonical of Object.keys(props)) givenBy.set(canonical, "the socket");
  for (const setting of settings) {
    const eq = setting.indexOf("=");
    if (eq <= 0) throw new UsageError(`-X expects name=value, got "${setting.split("=")[0]}"`);
    const written = setting.slice(0, eq);
    const value = setting.slice(eq + 1);
    // kcat's "topic." prefix names a topic property; ours has one namespace.
    const topic = written.startsWith("topic.");
    const name = topic ? written.slice("topic.".length) : written;
    let canonical: PropertyName;
    try {
      const [found, def] = lookupProperty(name, topic ? "topic" : "global");
      parseValue(name, def, value);
      canonical = found;
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(`-X ${written}: ${err.message}`);
      throw err;
    }
    if (canonical === "bootstrap.servers") {
      throw new UsageError(`-X ${written}: the brokers are given in the socket`);
    }
    const earlier = givenBy.get(canonical);
    if (earlier !== undefined) {
      throw new UsageError(
        `property "${canonical}" is given twice (in ${earlier} and by -X ${written}): keep one`,
      );
    }
    givenBy.set(canonical, `-X ${written}`);
    props[canonical] = value;
  }
  return textProperties({ ...props, "bootstrap.servers": socket.brokers.join(",") });
}
