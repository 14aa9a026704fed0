/**
 * The configuration properties: one table, named and typed as librdkafka's
 * CONFIGURATION.md names them, that drives parsing, validation, defaults, the
 * README table and the CLI help. Nothing about a property is written anywhere
 * else; config.ts resolves user input against this table.
 */

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

/** The partitioners' names (the engine's partitioners.ts implements each). */
export const PARTITIONER_NAMES = [
  "murmur2_random",
  "consistent_random",
  "consistent",
  "murmur2",
  "random",
  "fnv1a",
  "fnv1a_random",
] as const;
export type PartitionerName = (typeof PARTITIONER_NAMES)[number];
export const DEFAULT_PARTITIONER: PartitionerName = "murmur2_random";

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
  "transactional.id": str(
    "global",
    "",
    "Makes the producer transactional: records are produced inside transactions (initTransactions, beginTransaction, commitTransaction, abortTransaction) that become visible to read_committed consumers all at once or not at all. A newer producer with the same id fences this one. Implies enable.idempotence.",
  ),
  "transaction.timeout.ms": int(
    "global",
    1000,
    INT32_MAX,
    60000,
    "How long the transaction coordinator lets a transaction stay open before it aborts it; the broker caps it at transaction.max.timeout.ms (15 minutes by default).",
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
