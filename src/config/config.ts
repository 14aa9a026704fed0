/**
 * Resolution of user properties against the table in properties.ts: names and
 * aliases, value parsing and range checks, settings that only make sense
 * together, and redaction of secrets for printing.
 */
import { validateCompression } from "../protocol/compression/index.js";
import {
  PROPERTIES,
  type ProducerConfig,
  type ProducerProperties,
  type PropertyDef,
  type PropertyName,
  type PropertyScope,
  type PropertyText,
} from "./properties.js";

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
  if (c["transactional.id"] !== "") {
    // A transaction is idempotent writes plus markers: the id needs what idempotence needs.
    if (!c["enable.idempotence"]) {
      throw new ConfigError(
        "`transactional.id` needs `enable.idempotence`: remove enable.idempotence=false",
        "enable.idempotence",
      );
    }
    const maxInFlight = c["max.in.flight.requests.per.connection"];
    if (maxInFlight > MAX_IN_FLIGHT_IDEMPOTENT) {
      throw new ConfigError(
        `\`transactional.id\` needs \`max.in.flight\` <= 5 (it is ${maxInFlight})`,
        "max.in.flight.requests.per.connection",
      );
    }
    if (c["request.required.acks"] !== -1) {
      throw new ConfigError(
        "`transactional.id` needs `acks` set to `all`",
        "request.required.acks",
      );
    }
  }
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
