/**
 * The producer's configuration properties: one table, named and typed as
 * librdkafka's CONFIGURATION.md names them, that drives parsing, validation,
 * defaults, the README table and the CLI help. Nothing about a property is
 * written anywhere else.
 */
// Importing the codecs registers them with the record-batch encoder.
import { validateCompression } from "../protocol/compression/index.js";
import { DEFAULT_PARTITIONER, PARTITIONER_NAMES } from "./partitioners.js";

export type PropertyScope = "global" | "topic";

interface PropertyBase<T> {
  /** Where librdkafka files it: `g.` properties are global, `t.` ones topic-level. */
  readonly scope: PropertyScope | "both";
  readonly default: T;
  readonly doc: string;
  /** Other names librdkafka accepts for the same property. */
  readonly aliases?: readonly string[];
  /** A password, key or token: printed as *** everywhere (logs, errors, sockets, the CLI). */
  readonly secret?: boolean;
}

export interface IntegerProperty extends PropertyBase<number> {
  readonly type: "integer";
  readonly min: number;
  readonly max: number;
  /** Words accepted in place of a number, e.g. acks=all. */
  readonly words?: Readonly<Record<string, number>>;
}

export interface BooleanProperty extends PropertyBase<boolean> {
  readonly type: "boolean";
}

export interface StringProperty extends PropertyBase<string> {
  readonly type: "string";
}

export interface EnumProperty<V extends string = string> extends PropertyBase<V> {
  readonly type: "enum";
  readonly values: readonly V[];
  /** Accept any letter case (librdkafka does for security.protocol and the SASL mechanism). */
  readonly ignoreCase?: boolean;
}

export type PropertyDef = IntegerProperty | BooleanProperty | StringProperty | EnumProperty;

/**
 * The table's builders keep aliases and words as literal types, so that
 * ProducerProperties can offer `acks: "all"` as well as `request.required.acks`.
 */
type Named<P, A extends readonly string[]> = Omit<P, "aliases"> & { readonly aliases?: A };

const int = <
  const A extends readonly string[] = readonly [],
  const W extends Readonly<Record<string, number>> = Readonly<Record<never, number>>,
>(
  scope: PropertyScope | "both",
  min: number,
  max: number,
  def: number,
  doc: string,
  extra: { aliases?: A; words?: W } = {},
): Named<Omit<IntegerProperty, "words">, A> & { readonly words?: W } => ({
  type: "integer",
  scope,
  min,
  max,
  default: def,
  doc,
  ...extra,
});

const bool = <const A extends readonly string[] = readonly []>(
  scope: PropertyScope,
  def: boolean,
  doc: string,
  aliases?: A,
): Named<BooleanProperty, A> => ({
  type: "boolean",
  scope,
  default: def,
  doc,
  ...(aliases && { aliases }),
});

const str = <const A extends readonly string[] = readonly []>(
  scope: PropertyScope,
  def: string,
  doc: string,
  aliases?: A,
): Named<StringProperty, A> => ({
  type: "string",
  scope,
  default: def,
  doc,
  ...(aliases && { aliases }),
});

/** A string property whose value is a password, key or token. */
const secret = (doc: string): Named<StringProperty, readonly []> => ({
  type: "string",
  scope: "global",
  default: "",
  doc,
  secret: true,
});

const oneOf = <
  V extends string,
  const A extends readonly string[] = readonly [],
  const I extends boolean = false,
>(
  scope: PropertyScope | "both",
  values: readonly V[],
  def: V,
  doc: string,
  extra: { aliases?: A; ignoreCase?: I } = {},
): Named<Omit<EnumProperty<V>, "ignoreCase">, A> & { readonly ignoreCase?: I } => ({
  type: "enum",
  scope,
  values,
  default: def,
  doc,
  ...extra,
});

export const COMPRESSION_CODECS = ["none", "gzip", "snappy", "lz4", "zstd"] as const;
export type CompressionCodecName = (typeof COMPRESSION_CODECS)[number];

export const SECURITY_PROTOCOLS = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];

/** GSSAPI is librdkafka's default; it is listed so that choosing it gets a clear refusal. */
export const SASL_MECHANISM_NAMES = [
  "GSSAPI",
  "PLAIN",
  "SCRAM-SHA-256",
  "SCRAM-SHA-512",
  "OAUTHBEARER",
] as const;
export type SaslMechanismName = (typeof SASL_MECHANISM_NAMES)[number];

export { PARTITIONER_NAMES, type PartitionerName } from "./partitioners.js";

const INT32_MAX = 2147483647;

/** Every property this producer understands, by its canonical librdkafka name. */
export const PROPERTIES = {
  "bootstrap.servers": str(
    "global",
    "",
    "Initial list of brokers as a CSV list of host:port (IPv6 as [addr]:port; port defaults to 9092).",
    ["metadata.broker.list"],
  ),
  "client.id": str("global", "event-kafka", "Client identifier sent with every request."),
  "message.max.bytes": int(
    "global",
    1000,
    1000000000,
    1000000,
    "Largest record (key, value and headers, as encoded) accepted at enqueue; also caps a Produce request.",
  ),
  "receive.message.max.bytes": int(
    "global",
    1000,
    INT32_MAX,
    100000000,
    "Largest response frame accepted from a broker; a larger size prefix closes the connection.",
  ),
  "max.in.flight.requests.per.connection": int(
    "global",
    1,
    1000000,
    5,
    "Requests sent to one broker and not yet answered (librdkafka's default is 1000000; ours, the Java client's, is 5).",
    { aliases: ["max.in.flight"] },
  ),
  "metadata.max.age.ms": int(
    "global",
    1,
    86400000,
    900000,
    "Cluster metadata older than this is refreshed before use.",
  ),
  "topic.metadata.refresh.interval.ms": int(
    "global",
    -1,
    3600000,
    300000,
    "Period of the background metadata refresh of the topics in use; -1 disables it.",
  ),
  "metadata.max.idle.ms": int(
    "global",
    1000,
    86400000,
    300000,
    "A topic with nothing queued and no record produced for this long is forgotten: its metadata is no longer refreshed (the Java client's setting).",
  ),
  "allow.auto.create.topics": bool(
    "global",
    true,
    "Ask the broker to create a topic that records are produced to and the cluster does not know (the broker's auto.create.topics.enable decides). Only a topic records wait for is asked for, never one already known: a topic deleted while in use is not created again.",
  ),
  "topic.metadata.propagation.max.ms": int(
    "global",
    0,
    3600000,
    30000,
    "Time a topic the cluster does not know may take to appear before its queued records fail with UNKNOWN_TOPIC.",
  ),
  "socket.timeout.ms": int(
    "global",
    10,
    300000,
    60000,
    "Time a request may wait for its response before the connection is considered broken.",
  ),
  "socket.connection.setup.timeout.ms": int(
    "global",
    1000,
    INT32_MAX,
    30000,
    "Time allowed to connect to a broker and negotiate API versions.",
  ),
  "socket.keepalive.enable": bool("global", false, "Enable TCP keep-alives on broker sockets."),
  "socket.nagle.disable": bool(
    "global",
    true,
    "Disable Nagle's algorithm (TCP_NODELAY) on broker sockets.",
  ),
  "reconnect.backoff.ms": int(
    "global",
    0,
    3600000,
    100,
    "First wait before reconnecting to a broker; doubles per failure up to reconnect.backoff.max.ms, with -25%..+50% jitter.",
  ),
  "reconnect.backoff.max.ms": int(
    "global",
    0,
    3600000,
    1000,
    "Longest wait before reconnecting to a broker, so that records flow again within about a second of a broker coming back (librdkafka's default is 10000; ours, the Java client's, is 1000).",
  ),
  "retry.backoff.ms": int(
    "global",
    1,
    300000,
    100,
    "First wait before retrying a failed Produce request; grows exponentially up to retry.backoff.max.ms.",
  ),
  "retry.backoff.max.ms": int("global", 1, 300000, 1000, "Longest wait before a retry."),
  "queue.buffering.max.messages": int(
    "global",
    1,
    INT32_MAX,
    100000,
    "Records queued and not yet delivered; enqueue past this fails at once with QUEUE_FULL.",
  ),
  "queue.buffering.max.kbytes": int(
    "global",
    1,
    INT32_MAX,
    1048576,
    "Kilobytes of queued records; enqueue past this fails at once with QUEUE_FULL.",
  ),
  "linger.ms": int(
    "global",
    0,
    900000,
    5,
    "Time a partition's batch may wait for more records before it is sent.",
    { aliases: ["queue.buffering.max.ms"] },
  ),
  "message.send.max.retries": int(
    "global",
    0,
    INT32_MAX,
    INT32_MAX,
    "Times a failed batch is retried (within message.timeout.ms).",
    { aliases: ["retries"] },
  ),
  "batch.num.messages": int("global", 1, 1000000, 10000, "Most records in one record batch."),
  "batch.size": int(
    "global",
    1,
    INT32_MAX,
    1000000,
    "Most bytes in one record batch (a first record larger than this still gets a batch of its own).",
  ),
  "sticky.partitioning.linger.ms": int(
    "global",
    0,
    900000,
    10,
    "Time keyless records stick to one partition before another is picked; 0 picks one per record.",
  ),
  "compression.codec": oneOf("both", COMPRESSION_CODECS, "none", "Compression of record batches.", {
    aliases: ["compression.type"],
  }),
  "enable.idempotence": bool(
    "global",
    true,
    "Idempotent producer: a producer id and per-partition sequence numbers in every batch, so retries never write a record twice and order holds with up to 5 batches in flight per partition. Needs acks=all and max.in.flight <= 5; left unset it is turned off when those say otherwise (librdkafka's default is false; ours, the Java client's, is true).",
  ),
  "security.protocol": oneOf(
    "global",
    SECURITY_PROTOCOLS,
    "plaintext",
    "How to talk to brokers: plaintext, ssl (TLS), sasl_plaintext (SASL without TLS) or sasl_ssl (SASL over TLS); any letter case.",
    { ignoreCase: true },
  ),
  "ssl.ca.location": str(
    "global",
    "",
    "File or directory of PEM CA certificates that verify the broker's certificate; with neither this nor ssl.ca.pem, the system's trust store is used.",
  ),
  "ssl.ca.pem": str(
    "global",
    "",
    "CA certificate(s) as PEM text, beside or instead of ssl.ca.location.",
  ),
  "ssl.certificate.location": str(
    "global",
    "",
    "File of the client's PEM certificate (chain), for brokers that require client authentication (mutual TLS).",
  ),
  "ssl.certificate.pem": str("global", "", "The client's certificate as PEM text."),
  "ssl.key.location": str("global", "", "File of the client's PEM private key."),
  "ssl.key.pem": secret("The client's private key as PEM text."),
  "ssl.key.password": secret("Passphrase of an encrypted client private key."),
  "enable.ssl.certificate.verification": bool(
    "global",
    true,
    "Verify the broker's certificate chain; false accepts any certificate (testing only).",
  ),
  "ssl.endpoint.identification.algorithm": oneOf(
    "global",
    ["https", "none"] as const,
    "https",
    "https: the broker's certificate must name the host connected to (SAN DNS or IP); none: skip the host name check.",
    { ignoreCase: true },
  ),
  "sasl.mechanisms": oneOf(
    "global",
    SASL_MECHANISM_NAMES,
    "GSSAPI",
    "SASL mechanism with sasl_plaintext and sasl_ssl: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER (GSSAPI, librdkafka's default, is not supported).",
    { aliases: ["sasl.mechanism"], ignoreCase: true },
  ),
  "sasl.username": str("global", "", "SASL user name for PLAIN and SCRAM."),
  "sasl.password": secret("SASL password for PLAIN and SCRAM."),
  "enable.sasl.oauthbearer.unsecure.jwt": bool(
    "global",
    false,
    "OAUTHBEARER without a token provider: send an unsigned JWT built from sasl.oauthbearer.config (for brokers with the unsecured validator; testing only).",
  ),
  "sasl.oauthbearer.config": secret(
    'Settings of the unsecured JWT: "principal=NAME [scope=a,b] [lifeSeconds=3600] [extension_NAME=value ...]".',
  ),
  "request.required.acks": int(
    "topic",
    -1,
    1000,
    -1,
    "Acknowledgements the leader waits for: 0 none (no response), 1 the leader, -1 or all every in-sync replica.",
    { aliases: ["acks"], words: { all: -1 } },
  ),
  "request.timeout.ms": int(
    "topic",
    1,
    900000,
    30000,
    "Time the broker may take to satisfy acks before it answers with a timeout error.",
  ),
  "message.timeout.ms": int(
    "topic",
    0,
    INT32_MAX,
    300000,
    "Delivery deadline counted from enqueue, retries included; 0 means no deadline.",
    { aliases: ["delivery.timeout.ms"] },
  ),
  partitioner: oneOf(
    "topic",
    PARTITIONER_NAMES,
    DEFAULT_PARTITIONER,
    "How records are spread over partitions. murmur2_random (Java-compatible) is our default; librdkafka's is consistent_random.",
  ),
  "compression.level": int(
    "topic",
    -1,
    12,
    -1,
    "Codec-dependent compression level; -1 is the codec's default.",
  ),
} as const satisfies Record<string, PropertyDef>;

export type PropertyName = keyof typeof PROPERTIES;

type ValueOf<D> =
  D extends EnumProperty<infer V>
    ? V
    : D extends PropertyBase<infer T>
      ? T extends number
        ? number
        : T extends boolean
          ? boolean
          : T extends string
            ? string
            : never
      : never;

/** A fully resolved configuration: every property with its value. */
export type ProducerConfig = { -readonly [K in PropertyName]: ValueOf<(typeof PROPERTIES)[K]> };

type Def<K extends PropertyName> = (typeof PROPERTIES)[K];

/** What a property accepts as input: its typed value, or the text form a socket or CLI carries. */
type InputOf<D> = D extends {
  readonly type: "enum";
  readonly values: readonly (infer V extends string)[];
}
  ? V | (D extends { readonly ignoreCase?: true } ? Lowercase<V> | Uppercase<V> : never)
  : D extends { readonly type: "integer" }
    ?
        | number
        | `${number}`
        | (D extends { readonly words?: infer W } ? keyof NonNullable<W> & string : never)
    : D extends { readonly type: "boolean" }
      ? boolean | "true" | "false" | "1" | "0"
      : string;

/** librdkafka's other names of property K (e.g. acks for request.required.acks). */
type AliasOf<K extends PropertyName> =
  Def<K> extends { readonly aliases?: infer A }
    ? NonNullable<A> extends readonly (infer N extends string)[]
      ? string extends N
        ? never // a builder called without aliases
        : N
      : never
    : never;

/**
 * What a user may pass, generated from PROPERTIES: every property by its
 * canonical name or an alias, with its type (enums as their values), so an
 * editor completes and checks it. Names are checked again at runtime
 * (resolveConfig), for input that did not come through the type checker.
 */
export type ProducerProperties = { [K in PropertyName]?: InputOf<Def<K>> } & {
  [K in PropertyName as AliasOf<K>]?: InputOf<Def<K>>;
};

/** Properties as text from a socket string, a CLI flag or a file, before resolveConfig checks them. */
export type PropertyText = Readonly<Record<string, string | number | boolean | undefined>>;

/**
 * Hands text properties to the producer: their names and values are checked
 * at runtime by resolveConfig (unknown names refused, with a suggestion).
 */
export function textProperties(text: PropertyText): ProducerProperties {
  return text as ProducerProperties;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    message: string,
    /** The property name as the user wrote it. */
    readonly property: string,
  ) {
    super(message);
  }
}

/** How a secret value is printed. */
export const REDACTED = "***";

/** Whether `name` (canonical or alias) is a password, key or token. */
export function isSecretProperty(name: string): boolean {
  const canonical = ALIASES.get(name);
  return canonical !== undefined && (PROPERTIES[canonical] as PropertyDef).secret === true;
}

/** A copy of `props` with every secret value replaced by ***, for printing. */
export function redactProperties<T extends Record<string, unknown>>(props: T): T {
  const out: Record<string, unknown> = { ...props };
  for (const name of Object.keys(out)) {
    if (isSecretProperty(name) && out[name] !== "" && out[name] !== undefined) out[name] = REDACTED;
  }
  return out as T;
}

const ALIASES: ReadonlyMap<string, PropertyName> = (() => {
  const map = new Map<string, PropertyName>();
  for (const [name, def] of Object.entries(PROPERTIES) as [PropertyName, PropertyDef][]) {
    map.set(name, name);
    for (const alias of def.aliases ?? []) map.set(alias, name);
  }
  return map;
})();

/** The canonical name of a property or alias, or undefined when unknown. */
export function canonicalName(name: string): PropertyName | undefined {
  return ALIASES.get(name);
}

/**
 * Looks a property up as the socket's `g.`/`t.` prefix asks: topic-level
 * names only accept topic properties; global names accept both (librdkafka
 * forwards topic properties set globally to the default topic configuration).
 */
export function lookupProperty(
  name: string,
  scope: PropertyScope = "global",
): [PropertyName, PropertyDef] {
  const canonical = ALIASES.get(name);
  const def = canonical === undefined ? undefined : (PROPERTIES[canonical] as PropertyDef);
  if (
    canonical === undefined ||
    def === undefined ||
    (scope === "topic" && def.scope === "global")
  ) {
    const where = scope === "topic" ? "topic " : "";
    const near = canonical === undefined ? nearestName(name) : undefined;
    const hint = near === undefined ? "" : ` (did you mean "${near}"?)`;
    throw new ConfigError(`No such ${where}configuration property: "${name}"${hint}`, name);
  }
  return [canonical, def];
}

/** Edit distance (insertions, deletions, substitutions) between two names. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** The known name (canonical or alias) closest to a misspelt one, when it is close enough. */
function nearestName(name: string): string | undefined {
  const limit = Math.max(2, Math.floor(name.length / 5));
  let best: string | undefined;
  let bestDistance = limit + 1;
  const lower = name.toLowerCase();
  for (const known of ALIASES.keys()) {
    const d = editDistance(lower, known);
    if (d < bestDistance) {
      best = known;
      bestDistance = d;
    }
  }
  return best;
}

function invalid(name: string, def: PropertyDef, raw: unknown, expected: string): ConfigError {
  const shown = def.secret ? REDACTED : String(raw);
  return new ConfigError(
    `Invalid value "${shown}" for configuration property "${name}": expected ${expected}`,
    name,
  );
}

/** Parses and range-checks one value given as text or as a typed value. */
export function parseValue(
  name: string,
  def: PropertyDef,
  raw: string | number | boolean,
): string | number | boolean {
  switch (def.type) {
    case "integer": {
      const expected = `an integer in ${def.min}..${def.max}${
        def.words ? ` or ${Object.keys(def.words).join(", ")}` : ""
      }`;
      let n: number;
      if (typeof raw === "number") n = raw;
      else if (typeof raw === "string" && def.words && raw in def.words) n = def.words[raw]!;
      else if (typeof raw === "string" && /^-?\d+$/.test(raw.trim())) n = Number(raw.trim());
      else throw invalid(name, def, raw, expected);
      if (!Number.isInteger(n) || n < def.min || n > def.max)
        throw invalid(name, def, raw, expected);
      return n;
    }
    case "boolean": {
      if (typeof raw === "boolean") return raw;
      if (raw === "true" || raw === "1") return true;
      if (raw === "false" || raw === "0") return false;
      throw invalid(name, def, raw, "true or false");
    }
    case "string": {
      if (typeof raw !== "string") throw invalid(name, def, raw, "a string");
      return raw;
    }
    case "enum": {
      const value =
        typeof raw !== "string"
          ? undefined
          : def.ignoreCase
            ? def.values.find((v) => v.toLowerCase() === raw.toLowerCase())
            : def.values.find((v) => v === raw);
      if (value === undefined) throw invalid(name, def, raw, `one of ${def.values.join(", ")}`);
      return value;
    }
  }
}

/** Whether `props` gives `name` (under its own name or an alias). */
export function isGiven(props: ProducerProperties | PropertyText, name: PropertyName): boolean {
  for (const [given, value] of Object.entries(props)) {
    if (value !== undefined && ALIASES.get(given) === name) return true;
  }
  return false;
}

/** Every property at its default. */
export function defaultConfig(): ProducerConfig {
  const out: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(PROPERTIES)) out[name] = def.default;
  return out as ProducerConfig;
}

/**
 * Resolves user properties over the defaults: unknown names, bad values and
 * a property given twice (by its name and an alias, e.g. acks and
 * request.required.acks) throw a ConfigError naming the property.
 */
export function resolveConfig(props: ProducerProperties | PropertyText = {}): ProducerConfig {
  const out = defaultConfig() as Record<string, unknown>;
  const seen = new Map<PropertyName, string>();
  for (const [name, raw] of Object.entries(props)) {
    if (raw === undefined) continue;
    const [canonical, def] = lookupProperty(name);
    const first = seen.get(canonical);
    if (first !== undefined) {
      throw new ConfigError(
        `Configuration property "${canonical}" is given twice, as "${first}" and as "${name}": keep one`,
        name,
      );
    }
    seen.set(canonical, name);
    out[canonical] = parseValue(name, def, raw);
  }
  const config = out as ProducerConfig;
  checkConsistency(config, seen);
  return config;
}

/** MAX_IN_FLIGHT_IDEMPOTENT: the broker keeps the last five batches per producer for dedup. */
const MAX_IN_FLIGHT_IDEMPOTENT = 5;

function checkConsistency(c: ProducerConfig, given: ReadonlyMap<PropertyName, string>): void {
  if (c["enable.idempotence"]) {
    const explicit = given.has("enable.idempotence");
    const maxInFlight = c["max.in.flight.requests.per.connection"];
    const acks = c["request.required.acks"];
    if (maxInFlight > MAX_IN_FLIGHT_IDEMPOTENT) {
      if (explicit) {
        throw new ConfigError(
          "`max.in.flight` must be set <= 5 when `enable.idempotence` is true",
          "max.in.flight.requests.per.connection",
        );
      }
      c["enable.idempotence"] = false;
    } else if (acks !== -1) {
      if (explicit) {
        throw new ConfigError(
          "`acks` must be set to `all` when `enable.idempotence` is true",
          "request.required.acks",
        );
      }
      c["enable.idempotence"] = false;
    }
  }
  try {
    validateCompression(c["compression.codec"], c["compression.level"]);
  } catch (err) {
    const level = c["compression.level"];
    const name = err instanceof RangeError ? "compression.level" : "compression.codec";
    throw new ConfigError(
      `Invalid value "${name === "compression.level" ? level : c["compression.codec"]}" for configuration property "${name}": ${(err as Error).message}`,
      name,
    );
  }
  if (c["reconnect.backoff.max.ms"] < c["reconnect.backoff.ms"]) {
    throw new ConfigError(
      `"reconnect.backoff.max.ms" (${c["reconnect.backoff.max.ms"]}) must be at least "reconnect.backoff.ms" (${c["reconnect.backoff.ms"]})`,
      "reconnect.backoff.max.ms",
    );
  }
  checkSecurity(c);
  if (c["retry.backoff.max.ms"] < c["retry.backoff.ms"]) {
    throw new ConfigError(
      `"retry.backoff.max.ms" (${c["retry.backoff.max.ms"]}) must be at least "retry.backoff.ms" (${c["retry.backoff.ms"]})`,
      "retry.backoff.max.ms",
    );
  }
}

/** Settings that only make sense together (the files themselves are read by security.ts). */
function checkSecurity(c: ProducerConfig): void {
  const protocol = c["security.protocol"];
  if (protocol === "sasl_plaintext" || protocol === "sasl_ssl") {
    const mechanism = c["sasl.mechanisms"];
    if (mechanism === "GSSAPI") {
      throw new ConfigError(
        `"sasl.mechanisms" GSSAPI (Kerberos) is not supported: set it to PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER (security.protocol=${protocol})`,
        "sasl.mechanisms",
      );
    }
    if (mechanism !== "OAUTHBEARER") {
      for (const name of ["sasl.username", "sasl.password"] as const) {
        if (c[name] === "") {
          throw new ConfigError(`"${name}" must be set for sasl.mechanisms=${mechanism}`, name);
        }
      }
    }
  }
  if (protocol === "ssl" || protocol === "sasl_ssl") {
    const pairs = [
      ["ssl.certificate.location", "ssl.certificate.pem"],
      ["ssl.key.location", "ssl.key.pem"],
    ] as const;
    for (const [file, pem] of pairs) {
      if (c[file] !== "" && c[pem] !== "") {
        throw new ConfigError(`set one of "${file}" and "${pem}", not both`, pem);
      }
    }
    const hasCert = c["ssl.certificate.location"] !== "" || c["ssl.certificate.pem"] !== "";
    const hasKey = c["ssl.key.location"] !== "" || c["ssl.key.pem"] !== "";
    if (hasCert !== hasKey) {
      const missing = hasCert ? "ssl.key.location" : "ssl.certificate.location";
      throw new ConfigError(
        `a client certificate needs its private key and the other way round: set "${missing}" (or its .pem twin) too`,
        missing,
      );
    }
  }
}

/** The README's property table, generated from PROPERTIES. */
export function propertiesMarkdown(): string {
  const rows = [
    "| property | scope | type / range | default | description |",
    "|---|---|---|---|---|",
  ];
  for (const [name, d] of Object.entries(PROPERTIES) as [string, PropertyDef][]) {
    const range =
      d.type === "integer"
        ? `integer ${d.min} .. ${d.max}`
        : d.type === "enum"
          ? d.values.join(", ")
          : d.type;
    const names = [name, ...(d.aliases ?? [])].map((n) => `\`${n}\``).join(" / ");
    rows.push(`| ${names} | ${d.scope} | ${range} | ${String(d.default)} | ${d.doc} |`);
  }
  return rows.join("\n");
}
