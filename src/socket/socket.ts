/**
 * The event_kafka socket: `kafka:BROKERS/TOPIC[?PROPERTIES]`, parsed with the
 * rules and error messages of docs/event-kafka.md, "The socket". Every error
 * names the socket and the 1-based column where parsing stopped.
 */

import { inspect } from "node:util";
import {
  ConfigError,
  isSecretProperty,
  lookupProperty,
  type ProducerProperties,
  type PropertyName,
  parseValue,
  REDACTED,
  resolveConfig,
  textProperties,
} from "../config/index.js";
import { isValidTopicName, TOPIC_NAME_RULE } from "../protocol/topic-name.js";

export const SOCKET_PREFIX = "kafka:";

export interface SocketProperty {
  /** As written, prefix included (`g.linger.ms`, `t.acks`, `key`). */
  name: string;
  /** Percent-decoded. */
  value: string;
}

export interface KafkaSocket {
  /** The whole socket string as given (with the `kafka:` prefix); secrets included. */
  readonly raw: string;
  /** `raw` with the values of secret properties (passwords, keys, tokens) as ***: for printing. */
  readonly text: string;
  /** Bootstrap servers, `host:port` each (IPv6 as `[addr]:port`). */
  readonly brokers: readonly string[];
  readonly topic: string;
  /** The properties in the order written, duplicates dropped (the first wins). */
  readonly properties: readonly SocketProperty[];
  /** `key=callid`: event records carry the SIP Call-ID as their key. */
  readonly keyCallId: boolean;
  /** `key=param:NAME` (only with ParseOptions.keyParam): the key is the event's NAME parameter. */
  readonly keyParam?: string;
  /** The `g.`/`t.` properties by canonical librdkafka name, validated. */
  readonly producerProperties: Readonly<Record<PropertyName, string>>;
}

export class SocketError extends Error {
  override readonly name = "SocketError";
  /** The socket as given, with secret values as *** (see redactSocketText). */
  readonly input: string;
  constructor(
    input: string,
    /** 1-based column in the socket as given where the problem is. */
    readonly column: number,
    readonly reason: string,
  ) {
    const shown = redactSocketText(input);
    super(`invalid kafka socket "${shown}": ${reason} at column ${column}`);
    this.input = shown;
  }
}

/**
 * The socket string with the value of every secret property (sasl.password,
 * ssl.key.password, ssl.key.pem, sasl.oauthbearer.config) replaced by ***.
 * Works on malformed strings too, since error messages quote them.
 */
export function redactSocketText(input: string): string {
  if (typeof input !== "string") return input;
  const q = input.indexOf("?");
  if (q < 0) return input;
  const pairs = input
    .slice(q + 1)
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      if (eq < 0) return pair;
      const name = pair.slice(0, eq);
      const bare = name.startsWith("g.") || name.startsWith("t.") ? name.slice(2) : name;
      return isSecretProperty(bare) && eq < pair.length - 1 ? `${name}=${REDACTED}` : pair;
    });
  return `${input.slice(0, q + 1)}${pairs.join("&")}`;
}

export interface ParseOptions {
  /** Accept the string without the `kafka:` prefix (broker_id values). */
  prefixOptional?: boolean;
  /** Accept `kafka:BROKERS[?PROPERTIES]` without a topic (topic ""): the CLI's metadata command. */
  topicOptional?: boolean;
  /**
   * Refuse a property given twice (under one name or a name and an alias)
   * instead of keeping the first, as the original module does: the CLI's choice.
   */
  refuseDuplicates?: boolean;
  /** Accept `key=param:NAME` besides `key=callid`: the sidecar's routes. */
  keyParam?: boolean;
}

/** Parses `host:port` entries (port 9092 when absent); returns them normalised. */
function parseBrokers(input: string, text: string, column: number): string[] {
  if (text === "")
    throw new SocketError(input, column, "invalid brokers: the broker list is empty");
  const out: string[] = [];
  let col = column;
  for (const entry of text.split(",")) {
    const m = /^(?:(\[[0-9a-fA-F:.]+\])|([A-Za-z0-9._-]+))(?::(\d{1,5}))?$/.exec(entry);
    const port = m?.[3] === undefined ? 9092 : Number(m[3]);
    if (!m || port < 1 || port > 65535) {
      throw new SocketError(input, col, `invalid brokers: "${entry}" is not host:port`);
    }
    out.push(`${m[1] ?? m[2]}:${port}`);
    col += entry.length + 1;
  }
  return out;
}

function percentDecode(input: string, value: string, column: number): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    throw new SocketError(input, column, `invalid value: bad percent-escape in "${value}"`);
  }
}

export function parseSocket(input: string, options: ParseOptions = {}): KafkaSocket {
  if (typeof input !== "string") {
    throw new TypeError(`a kafka socket must be a string, got ${typeof input}`);
  }
  let start = 0;
  if (input.startsWith(SOCKET_PREFIX)) start = SOCKET_PREFIX.length;
  else if (!options.prefixOptional) {
    throw new SocketError(input, 1, `missing "${SOCKET_PREFIX}" prefix`);
  }
  const q = input.indexOf("?", start);
  const slash = input.indexOf("/", start);
  const end = q < 0 ? input.length : q;
  const noTopic = slash < 0 || slash >= end;
  if (noTopic && !options.topicOptional) {
    throw new SocketError(input, (slash < 0 || q < 0 ? input.length : q) + 1, "missing topic");
  }
  const brokers = parseBrokers(input, input.slice(start, noTopic ? end : slash), start + 1);
  const topic = noTopic ? "" : input.slice(slash + 1, end);
  if (!noTopic && topic === "") {
    throw new SocketError(
      input,
      slash + 2,
      q < 0 ? "missing topic" : "invalid topic: the topic name is empty",
    );
  }
  const second = topic.indexOf("/");
  if (second >= 0) throw new SocketError(input, slash + 2 + second, "unexpected '/'");
  if (!noTopic && !isValidTopicName(topic)) {
    throw new SocketError(input, slash + 2, `invalid topic: "${topic}" is not ${TOPIC_NAME_RULE}`);
  }

  const properties: SocketProperty[] = [];
  const producerProperties: Record<string, string> = {};
  /** Each property's first name as written (g.linger.ms, t.queue.buffering.max.ms ...). */
  const firstName = new Map<string, string>();
  let keyCallId = false;
  let keyParam: string | undefined;
  if (q >= 0) {
    if (q === input.length - 1) {
      throw new SocketError(input, q + 1, "missing properties after '?'");
    }
    let col = q + 2; // column of the first character after '?'
    for (const pair of input.slice(q + 1).split("&")) {
      const eq = pair.indexOf("=");
      if (pair === "" || eq < 0) {
        throw new SocketError(
          input,
          col,
          pair === "" ? "missing property name" : `missing property name: "${pair}" has no '='`,
        );
      }
      if (eq === 0) throw new SocketError(input, col, "missing property name before '='");
      const extra = pair.indexOf("=", eq + 1);
      if (extra >= 0) throw new SocketError(input, col + extra, "unexpected '='");
      const name = pair.slice(0, eq);
      const value = percentDecode(input, pair.slice(eq + 1), col + eq + 1);
      if (name === "key") {
        const param = options.keyParam && value.startsWith("param:") ? value.slice(6) : undefined;
        if (value !== "callid" && (param === undefined || param === "")) {
          const allowed = options.keyParam
            ? "key=callid or key=param:NAME"
            : "only key=callid is supported";
          throw new SocketError(
            input,
            col + eq + 1,
            `unsupported value for key: "${value}" (${allowed})`,
          );
        }
        const given = keyCallId || keyParam !== undefined;
        if (given && options.refuseDuplicates) {
          throw new SocketError(input, col, `property "key" is given twice (keep one)`);
        }
        if (!given) {
          if (param === undefined) keyCallId = true;
          else keyParam = param;
          properties.push({ name, value });
        }
      } else {
        const scope = name.startsWith("g.") ? "global" : name.startsWith("t.") ? "topic" : null;
        if (scope === null) {
          throw new SocketError(
            input,
            col,
            `unknown property prefix in "${name}" (expected g. or t., or key=callid)`,
          );
        }
        const bare = name.slice(2);
        let canonical: PropertyName;
        try {
          const [found, def] = lookupProperty(bare, scope);
          canonical = found;
          parseValue(bare, def, value);
        } catch (err) {
          if (err instanceof ConfigError) throw new SocketError(input, col, err.message);
          throw err;
        }
        if (canonical === "bootstrap.servers") {
          throw new SocketError(
            input,
            col,
            `unsupported property "${name}": the brokers are given before the '/'`,
          );
        }
        if (canonical === "transactional.id" || canonical === "transaction.timeout.ms") {
          // An event is one record with its own report: there is no transaction to hold it.
          throw new SocketError(
            input,
            col,
            `unsupported property "${name}": events are not published in transactions (use the Producer API's transactions)`,
          );
        }
        // The first occurrence of a property wins, whatever name or alias it used.
        const first = firstName.get(canonical);
        if (first === undefined) {
          firstName.set(canonical, name);
          properties.push({ name, value });
          producerProperties[canonical] = value;
        } else if (options.refuseDuplicates) {
          const as = first === name ? "" : `, as "${first}" and as "${name}"`;
          throw new SocketError(
            input,
            col,
            `property "${canonical}" is given twice${as} (keep one)`,
          );
        }
      }
      col += pair.length + 1;
    }
  }
  if (q >= 0) {
    // Values valid one by one may still not go together (zstd on this Node, a
    // level the codec lacks, backoff bounds the wrong way round).
    try {
      resolveConfig(producerProperties);
    } catch (err) {
      if (err instanceof ConfigError) throw new SocketError(input, q + 2, err.message);
      throw err;
    }
  }
  const text = redactSocketText(input);
  const parsed: KafkaSocket = {
    raw: input,
    text,
    brokers,
    topic,
    properties,
    keyCallId,
    ...(keyParam !== undefined && { keyParam }),
    producerProperties: producerProperties as Record<PropertyName, string>,
  };
  // Printed (console.log, JSON.stringify), a socket shows only its redacted text.
  Object.defineProperties(parsed, {
    toJSON: { value: () => text },
    [inspect.custom]: { value: () => `KafkaSocket(${text})` },
  });
  return parsed;
}

/** `kafka:BROKERS/TOPIC`, without the properties (as the original module prints it). */
export function formatSocket(s: KafkaSocket): string {
  return `${SOCKET_PREFIX}${s.brokers.join(",")}/${s.topic}`;
}

/** Two sockets are the same subscription when their whole strings are equal. */
export function socketsEqual(a: KafkaSocket, b: KafkaSocket): boolean {
  return a.raw === b.raw;
}

/**
 * The producer configuration of a socket: its brokers and properties. Sockets
 * with the same configuration key share one producer.
 */
export function producerPropertiesOf(s: KafkaSocket): ProducerProperties {
  return textProperties({ ...s.producerProperties, "bootstrap.servers": s.brokers.join(",") });
}

export function producerKey(s: KafkaSocket): string {
  const props = Object.entries(s.producerProperties).sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([s.brokers, props]);
}
