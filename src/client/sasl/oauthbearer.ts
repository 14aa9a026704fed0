/**
 * OAUTHBEARER (RFC 7628, KIP-255), the client side, plus the unsecured JWT
 * that librdkafka's `enable.sasl.oauthbearer.unsecure.jwt` sends, for brokers
 * with Kafka's OAuthBearerUnsecuredValidatorCallbackHandler (testing only).
 *
 *   client  n,,^Aauth=Bearer <token>^A<key>=<value>^A...^A^A     (^A is 0x01)
 *   server  empty on success; on failure an error JSON (RFC 7628 §3.2.2),
 *           to which the client answers ^A and the server then fails the login.
 *
 * Error messages never carry the token or extension values.
 */
import { SaslMechanismError, type SaslSession } from "./mechanism.js";

export interface OAuthBearerSession extends SaslSession {
  /** The server's error JSON (RFC 7628 §3.2.2), once it sent one. */
  readonly serverError: string | undefined;
}

/** RFC 7628 §3.1 key. */
const EXTENSION_KEY = /^[A-Za-z]+$/;
/**
 * RFC 7628 §3.1 value: VCHAR, SP, HTAB, CR, LF. Kafka's broker also wants one
 * character at least, so an empty value is refused here too.
 */
const EXTENSION_VALUE = /^[\x21-\x7e \t\r\n]+$/;
/** RFC 6750 §2.1 b64token; this also keeps 0x01 out of the message. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** "auth" is the token's own key (Kafka's OAuthBearerClientInitialResponse refuses it too). */
const RESERVED_KEY = "auth";
const KVSEP = "\x01";
const DUMMY_RESPONSE = new Uint8Array([0x01]);

/** Throws SaslMechanismError for an extension Kafka or RFC 7628 would refuse; names only the key. */
export function validateOAuthBearerExtensions(extensions: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(extensions)) {
    if (!EXTENSION_KEY.test(key) || key === RESERVED_KEY) {
      throw new SaslMechanismError(
        `OAUTHBEARER extension name ${JSON.stringify(key.slice(0, 64))} is invalid ` +
          `(letters only, not "auth")`,
      );
    }
    if (typeof value !== "string" || !EXTENSION_VALUE.test(value)) {
      throw new SaslMechanismError(
        `OAUTHBEARER extension ${key} has an invalid value ` +
          "(printable ASCII, space, tab, CR or LF; not empty)",
      );
    }
  }
}

export function oauthBearerSession(
  token: string,
  extensions: Readonly<Record<string, string>> = {},
): OAuthBearerSession {
  if (!B64TOKEN.test(token)) {
    throw new SaslMechanismError("OAUTHBEARER token is not an RFC 6750 b64token");
  }
  validateOAuthBearerExtensions(extensions);
  let kvpairs = `auth=Bearer ${token}${KVSEP}`;
  for (const [key, value] of Object.entries(extensions)) kvpairs += `${key}=${value}${KVSEP}`;
  // gs2 header without authzid: the broker takes the principal from the token.
  const message = Buffer.from(`n,,${KVSEP}${kvpairs}${KVSEP}`, "utf8");

  let state: "sent" | "failed" | "done" = "sent";
  let serverError: string | undefined;
  return {
    get serverError() {
      return serverError;
    },
    initial: () => message,
    next(server: Uint8Array): Uint8Array | null {
      if (state === "sent") {
        if (server.length === 0) {
          state = "done";
          return null;
        }
        // RFC 7628 §3.2.3: the client must answer an error with a lone 0x01.
        state = "failed";
        serverError = Buffer.from(server).toString("utf8");
        return DUMMY_RESPONSE;
      }
      if (state === "failed") {
        throw new SaslMechanismError(
          `OAUTHBEARER: message from the server after its error ${serverError!.slice(0, 500)}`,
        );
      }
      throw new SaslMechanismError("OAUTHBEARER: the exchange is already complete");
    },
  };
}

export interface UnsecuredJwtClaims {
  principal: string;
  scope?: string[];
  lifeSeconds: number;
  nowMs: number;
  /** The claim that holds the principal; default "sub" (librdkafka's principalClaimName). */
  principalClaimName?: string;
  /** The claim that holds the scope; default "scope" (librdkafka's scopeClaimName). */
  scopeClaimName?: string;
}

/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * base64url without padding of JSON text. Kafka's unsecured validator decoded
 * the segments as plain base64 before KAFKA-17089, which rejects '-' and '_'.
 * For ASCII input those only come from '>', '?', '~' or DEL, so those and all
 * non-ASCII characters are written as JSON \u escapes: both decoders then agree.
 */
function jsonSegment(value: unknown): string {
  const json = JSON.stringify(value).replace(
    /[^\x20-\x3d\x40-\x7d]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return Buffer.from(json, "ascii").toString("base64url");
}

/**
 * An unsigned JWS (alg "none", empty signature) in the shape Kafka's
 * OAuthBearerUnsecuredValidatorCallbackHandler accepts: a non-blank principal
 * claim and numeric iat and exp in seconds. `expiresAt` is in milliseconds.
 */
export function unsecuredJwt(claims: UnsecuredJwtClaims): { token: string; expiresAt: number } {
  const { principal, scope, lifeSeconds, nowMs } = claims;
  const principalClaim = claims.principalClaimName ?? "sub";
  const scopeClaim = claims.scopeClaimName ?? "scope";
  if (typeof principal !== "string" || principal.trim() === "") {
    throw new RangeError("unsecured JWT: the principal must not be blank");
  }
  if (!Number.isSafeInteger(lifeSeconds) || lifeSeconds <= 0) {
    throw new RangeError(
      `unsecured JWT: lifeSeconds must be a positive integer, got ${lifeSeconds}`,
    );
  }
  if (!Number.isFinite(nowMs) || nowMs < 0) {
    throw new RangeError(`unsecured JWT: nowMs must be a time, got ${nowMs}`);
  }
  const names = [principalClaim, scopeClaim];
  if (
    names.some((n) => n.trim() === "" || n === "iat" || n === "exp") ||
    principalClaim === scopeClaim
  ) {
    throw new RangeError("unsecured JWT: claim names must be distinct, non-blank, not iat or exp");
  }
  scope?.forEach((s, i) => {
    if (!SCOPE_TOKEN.test(s)) throw new RangeError(`unsecured JWT: scope entry ${i} is invalid`);
  });
  const iat = Math.floor(nowMs / 1000);
  const exp = iat + lifeSeconds;
  const payload: Record<string, unknown> = { [principalClaim]: principal, iat, exp };
  if (scope !== undefined) payload[scopeClaim] = scope;
  const token = `${jsonSegment({ alg: "none" })}.${jsonSegment(payload)}.`;
  return { token, expiresAt: exp * 1000 };
}

export interface OAuthBearerConfig {
  principal: string;
  scope?: string[];
  lifeSeconds: number;
  extensions: Record<string, string>;
  /** Only when given. */
  principalClaimName?: string;
  /** Only when given. */
  scopeClaimName?: string;
}

const EXTENSION_PREFIX = "extension_";

/**
 * librdkafka's `sasl.oauthbearer.config` for its unsecured JWT: space-separated
 * `principal=NAME` (required), `scope=a,b`, `lifeSeconds=N` (default 3600),
 * `principalClaimName=`, `scopeClaimName=` and `extension_NAME=value`.
 * Errors name the bad entry's key, never the text: it may hold secrets.
 */
export function parseOAuthBearerConfig(text: string): OAuthBearerConfig {
  const seen = new Set<string>();
  const extensions: Record<string, string> = {};
  let principal: string | undefined;
  let scope: string[] | undefined;
  let lifeSeconds = 3600;
  let principalClaimName: string | undefined;
  let scopeClaimName: string | undefined;
  const entries = text.split(/\s+/).filter((e) => e !== "");
  entries.forEach((entry, index) => {
    const eq = entry.indexOf("=");
    if (eq <= 0) {
      throw new Error(`sasl.oauthbearer.config: entry ${index + 1} is not key=value`);
    }
    const key = entry.slice(0, eq);
    const value = entry.slice(eq + 1);
    const bad = (why: string): never => {
      throw new Error(`sasl.oauthbearer.config: ${key.slice(0, 64)} ${why}`);
    };
    if (seen.has(key)) bad("is given twice");
    seen.add(key);
    if (value === "") bad("has an empty value");
    if (key === "principal") {
      principal = value;
    } else if (key === "scope") {
      scope = value.split(",").filter((s) => s !== "");
      if (scope.length === 0 || !scope.every((s) => SCOPE_TOKEN.test(s))) {
        bad("must be a comma-separated list of scope tokens");
      }
    } else if (key === "lifeSeconds") {
      if (!/^[1-9][0-9]{0,9}$/.test(value)) bad("must be a positive integer");
      lifeSeconds = Number(value);
    } else if (key === "principalClaimName") {
      principalClaimName = value;
    } else if (key === "scopeClaimName") {
      scopeClaimName = value;
    } else if (key.startsWith(EXTENSION_PREFIX)) {
      const name = key.slice(EXTENSION_PREFIX.length);
      if (!EXTENSION_KEY.test(name) || name === RESERVED_KEY) {
        bad('needs a name of letters only, not "auth"');
      }
      if (!EXTENSION_VALUE.test(value)) bad("has an invalid value");
      extensions[name] = value;
    } else {
      bad("is not a known key");
    }
  });
  if (principal === undefined) {
    throw new Error("sasl.oauthbearer.config: principal=NAME is required");
  }
  const out: OAuthBearerConfig = { principal, lifeSeconds, extensions };
  if (scope !== undefined) out.scope = scope;
  if (principalClaimName !== undefined) out.principalClaimName = principalClaimName;
  if (scopeClaimName !== undefined) out.scopeClaimName = scopeClaimName;
  return out;
}
