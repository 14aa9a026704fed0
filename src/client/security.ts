/**
 * A producer's security settings, resolved once from its configuration: the
 * TLS context (CA, client certificate and key read here, so a bad path, PEM
 * or passphrase fails at construction with the property's name) and the SASL
 * mechanism with its credentials. The credentials stay inside closures: no
 * object that a user can print holds them.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import tls from "node:tls";
import { ConfigError, type ProducerConfig } from "../config/index.js";
import { KafkaClientError } from "./client-error.js";
import type { Logger } from "./logger.js";
import {
  oauthBearerSession,
  parseOAuthBearerConfig,
  plainSession,
  type SaslSession,
  scramSession,
  unsecuredJwt,
} from "./sasl/index.js";

export interface TlsSettings {
  readonly context: tls.SecureContext;
  /** enable.ssl.certificate.verification */
  readonly verify: boolean;
  /** ssl.endpoint.identification.algorithm=https */
  readonly checkHostname: boolean;
}

export type SaslMechanism = "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512" | "OAUTHBEARER";

export interface SaslSettings {
  readonly mechanism: SaslMechanism;
  /** A fresh exchange for one authentication (fetching a token first when needed). */
  session(): Promise<SaslSession>;
}

/** What an OAUTHBEARER token provider returns. */
export interface OAuthBearerToken {
  /** The token (a JWT, usually) sent to the broker. */
  value: string;
  /** When it expires, in milliseconds since the epoch. */
  expiresAt: number;
  /** Who it names, for logs. */
  principal?: string;
  /** SASL extensions sent with it (RFC 7628 section 3.1), e.g. a logical cluster id. */
  extensions?: Record<string, string>;
}

/**
 * Called for a token when the producer has none, and again when 80% of the
 * current one's lifetime has passed (so a fresh one is ready before it expires).
 */
export type OAuthBearerTokenProvider = () => OAuthBearerToken | Promise<OAuthBearerToken>;

export interface Security {
  readonly tls: TlsSettings | undefined;
  readonly sasl: SaslSettings | undefined;
  /** Stops the token refresh timer. */
  close(): void;
}

export interface SecurityOptions {
  oauthBearerTokenProvider?: OAuthBearerTokenProvider | undefined;
  logger: Logger;
}

export function resolveSecurity(config: ProducerConfig, options: SecurityOptions): Security {
  const protocol = config["security.protocol"];
  const useTls = protocol === "ssl" || protocol === "sasl_ssl";
  const useSasl = protocol === "sasl_plaintext" || protocol === "sasl_ssl";
  let tokens: OAuthTokenSource | undefined;
  let sasl: SaslSettings | undefined;
  if (useSasl) {
    const mechanism = config["sasl.mechanisms"] as SaslMechanism;
    if (mechanism === "OAUTHBEARER") {
      tokens = new OAuthTokenSource(oauthProvider(config, options), options.logger);
      const source = tokens;
      sasl = {
        mechanism,
        session: async () => {
          const token = await source.token();
          return oauthBearerSession(token.value, token.extensions);
        },
      };
    } else {
      const username = config["sasl.username"];
      const password = config["sasl.password"];
      sasl = {
        mechanism,
        session: async () =>
          mechanism === "PLAIN"
            ? plainSession(username, password)
            : scramSession(mechanism === "SCRAM-SHA-256" ? "sha256" : "sha512", username, password),
      };
    }
  }
  return {
    tls: useTls ? tlsSettings(config) : undefined,
    sasl,
    close: () => tokens?.close(),
  };
}

function oauthProvider(config: ProducerConfig, options: SecurityOptions): OAuthBearerTokenProvider {
  if (options.oauthBearerTokenProvider) return options.oauthBearerTokenProvider;
  if (!config["enable.sasl.oauthbearer.unsecure.jwt"]) {
    throw new ConfigError(
      "sasl.mechanisms=OAUTHBEARER needs a token: pass oauthBearerTokenProvider to the Producer, or set enable.sasl.oauthbearer.unsecure.jwt=true with sasl.oauthbearer.config (testing only)",
      "sasl.mechanisms",
    );
  }
  let settings: ReturnType<typeof parseOAuthBearerConfig>;
  try {
    settings = parseOAuthBearerConfig(config["sasl.oauthbearer.config"]);
  } catch (err) {
    throw new ConfigError(
      `Invalid value for configuration property "sasl.oauthbearer.config": ${(err as Error).message}`,
      "sasl.oauthbearer.config",
    );
  }
  return () => {
    const { extensions: _, ...claims } = settings;
    const { token, expiresAt } = unsecuredJwt({ ...claims, nowMs: Date.now() });
    return {
      value: token,
      expiresAt,
      principal: settings.principal,
      extensions: settings.extensions,
    };
  };
}

/** Share of a token's lifetime after which a new one is asked for (librdkafka's 80%). */
const TOKEN_REFRESH_SHARE = 0.8;

/** The current OAUTHBEARER token, refreshed before it expires. */
class OAuthTokenSource {
  #token: OAuthBearerToken | undefined;
  #refreshAt = 0;
  #pending: Promise<OAuthBearerToken> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    private readonly provider: OAuthBearerTokenProvider,
    private readonly logger: Logger,
  ) {}

  /** A token valid now: the current one, or a new one from the provider. */
  token(): Promise<OAuthBearerToken> {
    const now = Date.now();
    const current = this.#token;
    if (current !== undefined && now < current.expiresAt) {
      if (now >= this.#refreshAt) this.refresh().catch(() => {});
      return Promise.resolve(current);
    }
    return this.refresh();
  }

  private refresh(): Promise<OAuthBearerToken> {
    this.#pending ??= this.fetch().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  private async fetch(): Promise<OAuthBearerToken> {
    let token: OAuthBearerToken;
    try {
      token = await this.provider();
    } catch (err) {
      throw new KafkaClientError(
        "AUTHENTICATION",
        `OAUTHBEARER token provider failed: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    const now = Date.now();
    const problem = tokenProblem(token, now);
    if (problem !== undefined) {
      throw new KafkaClientError("AUTHENTICATION", `OAUTHBEARER token provider: ${problem}`);
    }
    this.#token = token;
    this.#refreshAt = now + (token.expiresAt - now) * TOKEN_REFRESH_SHARE;
    this.logger.debug("OAUTHBEARER token received", {
      principal: token.principal,
      expiresAt: new Date(token.expiresAt).toISOString(),
    });
    this.schedule();
    return token;
  }

  /** Asks for the next token at the refresh point, whether or not a connection needs it. */
  private schedule(): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    const delay = Math.max(1000, this.#refreshAt - Date.now());
    this.#timer = setTimeout(() => {
      this.refresh().catch((err: Error) =>
        this.logger.warn("OAUTHBEARER token refresh failed", { error: err.message }),
      );
    }, delay);
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}

function tokenProblem(token: unknown, now: number): string | undefined {
  if (token === null || typeof token !== "object") return "expected { value, expiresAt }";
  const t = token as Partial<OAuthBearerToken>;
  if (typeof t.value !== "string" || t.value === "") return "the token value is empty";
  // RFC 7628: the value goes between 0x01 separators, and RFC 6750 tokens are printable.
  if (!/^[\x21-\x7e]+$/.test(t.value))
    return "the token value has characters a bearer token cannot have";
  if (typeof t.expiresAt !== "number" || !Number.isFinite(t.expiresAt)) {
    return "expiresAt must be a time in milliseconds since the epoch";
  }
  if (t.expiresAt <= now) return `the token expired at ${new Date(t.expiresAt).toISOString()}`;
  return undefined;
}

// --- TLS -----------------------------------------------------------------------------------

/** Where common systems keep their CA bundle (what OpenSSL's default paths would find). */
const SYSTEM_CA_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
  "/etc/ssl/ca-bundle.pem",
  "/etc/ssl/cert.pem",
];

let systemCaCache: string[] | undefined;

/**
 * The system's trust store: Node's own list is Mozilla's, compiled in, so the
 * system bundle (with any CA an administrator added) is read beside it.
 */
function systemCa(): string[] {
  if (systemCaCache !== undefined) return systemCaCache;
  const getCa = (tls as unknown as { getCACertificates?: (kind: "system" | "default") => string[] })
    .getCACertificates;
  let system: string[] = [];
  if (typeof getCa === "function") system = getCa("system");
  else {
    for (const file of SYSTEM_CA_BUNDLES) {
      try {
        system = [readFileSync(file, "utf8")];
        break;
      } catch {
        // not on this system
      }
    }
  }
  systemCaCache = [...system, ...tls.rootCertificates];
  return systemCaCache;
}

function unreadable(name: string, path: string, err: unknown): ConfigError {
  const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  return new ConfigError(`cannot read "${name}" ${path}: ${why}`, name);
}

function readProperty(name: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw unreadable(name, path, err);
  }
}

/**
 * The PEM blocks of one kind in a text, e.g. a keystore PEM's certificates without its key.
 * Node skips blocks of other kinds; Deno parses the first block whatever it is, and fails on a
 * key where it wants a certificate and on a certificate after a key. The whole text when it has
 * no such block, so the parser gives its own error.
 */
function pemBlocks(pem: string, kind: "certificate" | "key", first = false): string {
  const re =
    kind === "certificate"
      ? /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g
      : /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g;
  const blocks = pem.match(re);
  if (!blocks) return pem;
  return first ? blocks[0]! : `${blocks.join("\n")}\n`;
}

/** ssl.ca.location: a PEM file, or a directory whose files hold PEM certificates. */
function readCaLocation(path: string): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (err) {
    throw unreadable("ssl.ca.location", path, err);
  }
  if (!isDir) return [readProperty("ssl.ca.location", path)];
  const out: string[] = [];
  for (const name of readdirSync(path).sort()) {
    const file = join(path, name);
    try {
      if (!statSync(file).isFile()) continue;
      const text = readFileSync(file, "utf8");
      if (text.includes("-----BEGIN CERTIFICATE-----")) out.push(text);
    } catch {
      // an unreadable entry is not a certificate
    }
  }
  if (out.length === 0) {
    throw new ConfigError(
      `"ssl.ca.location" ${path} is a directory with no PEM certificate in it`,
      "ssl.ca.location",
    );
  }
  return out;
}

function tlsSettings(config: ProducerConfig): TlsSettings {
  const ca: string[] = [];
  if (config["ssl.ca.location"] !== "") ca.push(...readCaLocation(config["ssl.ca.location"]));
  if (config["ssl.ca.pem"] !== "") ca.push(config["ssl.ca.pem"]);
  const certName =
    config["ssl.certificate.location"] !== "" ? "ssl.certificate.location" : "ssl.certificate.pem";
  const keyName = config["ssl.key.location"] !== "" ? "ssl.key.location" : "ssl.key.pem";
  const cert = pemBlocks(
    certName === "ssl.certificate.location"
      ? readProperty(certName, config[certName])
      : config["ssl.certificate.pem"],
    "certificate",
  );
  const key = pemBlocks(
    keyName === "ssl.key.location" ? readProperty(keyName, config[keyName]) : config["ssl.key.pem"],
    "key",
    true,
  );
  const passphrase = config["ssl.key.password"];
  // Each part is checked on its own first, so the error names the property at fault.
  for (const pem of ca) {
    try {
      new X509Certificate(pemBlocks(pem, "certificate", true));
    } catch (err) {
      const name = config["ssl.ca.location"] !== "" ? "ssl.ca.location" : "ssl.ca.pem";
      throw new ConfigError(`"${name}" holds no valid PEM certificate: ${errText(err)}`, name);
    }
  }
  let certificate: X509Certificate | undefined;
  if (cert !== "") {
    try {
      certificate = new X509Certificate(pemBlocks(cert, "certificate", true));
    } catch (err) {
      throw new ConfigError(
        `"${certName}" holds no valid PEM certificate: ${errText(err)}`,
        certName,
      );
    }
  }
  let privateKey: KeyObject | undefined;
  if (key !== "") {
    try {
      privateKey = createPrivateKey(passphrase !== "" ? { key, passphrase } : { key });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const encrypted = key.includes("ENCRYPTED");
      if (
        code === "ERR_MISSING_PASSPHRASE" ||
        encrypted ||
        /decrypt|password/i.test(errText(err))
      ) {
        throw new ConfigError(
          `cannot decrypt the client private key in "${keyName}": wrong or missing "ssl.key.password"`,
          "ssl.key.password",
        );
      }
      throw new ConfigError(
        `"${keyName}" holds no valid PEM private key: ${errText(err)}`,
        keyName,
      );
    }
  }
  // Checked here rather than read from createSecureContext's error: Deno's does not check the
  // pair at all, and Bun's (BoringSSL) words the error otherwise than OpenSSL.
  if (certificate && privateKey && !certificate.checkPrivateKey(privateKey)) {
    throw new ConfigError(
      `the client certificate in "${certName}" does not match the private key in "${keyName}"`,
      keyName,
    );
  }
  let context: tls.SecureContext;
  try {
    context = tls.createSecureContext({
      ca: ca.length > 0 ? ca : systemCa(),
      ...(cert !== "" && { cert }),
      ...(key !== "" && { key }),
      ...(passphrase !== "" && { passphrase }),
    });
  } catch (err) {
    const mismatch = /key[ _]values[ _]mismatch/i.test(errText(err));
    throw new ConfigError(
      mismatch
        ? `the client certificate in "${certName}" does not match the private key in "${keyName}"`
        : `invalid TLS settings: ${errText(err)}`,
      mismatch ? keyName : certName,
    );
  }
  return {
    context,
    verify: config["enable.ssl.certificate.verification"],
    checkHostname: config["ssl.endpoint.identification.algorithm"] === "https",
  };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
