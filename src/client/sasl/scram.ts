/**
 * SCRAM (RFC 5802; SHA-256 per RFC 7677, SHA-512 as Kafka registers it), the
 * client side, without channel binding (gs2 header `n,,`):
 *
 *   client-first  n,,n=<user>,r=<client nonce>
 *   server-first  r=<client nonce + server nonce>,s=<salt>,i=<iterations>
 *   client-final  c=biws,r=<nonce>,p=<ClientProof>
 *   server-final  v=<ServerSignature>  or  e=<error>
 *
 *   SaltedPassword  = PBKDF2-HMAC-H(password, salt, i)
 *   ClientKey       = HMAC(SaltedPassword, "Client Key"),  StoredKey = H(ClientKey)
 *   AuthMessage     = client-first-bare "," server-first "," client-final-without-proof
 *   ClientProof     = ClientKey XOR HMAC(StoredKey, AuthMessage)
 *   ServerSignature = HMAC(HMAC(SaltedPassword, "Server Key"), AuthMessage)
 *
 * The password is used as its UTF-8 bytes with no SASLprep, as the Java client
 * does, so both agree on non-ASCII passwords. Error messages never carry the
 * password, the salted password, keys, proofs or signatures.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { SaslMechanismError, type SaslSession } from "./mechanism.js";

export type ScramHash = "sha1" | "sha256" | "sha512";

export interface ScramOptions {
  /** The client nonce; only for reproducing the RFC test vectors. */
  nonce?: string;
}

/**
 * RFC 7677 §4 asks for at least 4096 iterations, and Kafka's SCRAM mechanisms
 * have the same floor; fewer means a weak or hostile server.
 */
export const SCRAM_MIN_ITERATIONS = 4096;
/**
 * PBKDF2 runs synchronously: a server asking for absurd counts could stall the
 * process (Kafka itself stores at most 16384).
 */
export const SCRAM_MAX_ITERATIONS = 1_000_000;

const DIGEST_BYTES: Readonly<Record<ScramHash, number>> = { sha1: 20, sha256: 32, sha512: 64 };
const GS2_HEADER = "n,,";
/** base64("n,,"): the channel binding attribute without channel binding. */
const CHANNEL_BINDING = Buffer.from(GS2_HEADER).toString("base64");
/** RFC 5802 `printable`: %x21-7E except ','. */
const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

/** RFC 5802 saslname: "=" becomes "=3D" and "," becomes "=2C" (in that order). */
export function scramSaslName(username: string): string {
  return username.replaceAll("=", "=3D").replaceAll(",", "=2C");
}

function fail(message: string): never {
  throw new SaslMechanismError(`SCRAM: ${message}`);
}

/** Splits `a=value` attributes; values may contain '='. */
function attributes(message: string, what: string): { name: string; value: string }[] {
  return message.split(",").map((part) => {
    if (part.length < 2 || part[1] !== "=" || !/^[A-Za-z]$/.test(part[0]!)) {
      fail(`malformed ${what} attribute`);
    }
    return { name: part[0]!, value: part.slice(2) };
  });
}

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    fail(`${what} is not UTF-8`);
  }
}

/**
 * Strict base64: Buffer.from is lenient (skips junk, ignores unused bits), so
 * only a value that re-encodes to itself is accepted.
 */
function base64(value: string, what: string): Buffer {
  const bytes = Buffer.from(value, "base64");
  if (value === "" || bytes.toString("base64") !== value) fail(`${what} is not base64`);
  return bytes;
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

export function scramSession(
  hash: ScramHash,
  username: string,
  password: string,
  options: ScramOptions = {},
): SaslSession {
  const digestBytes = DIGEST_BYTES[hash];
  if (digestBytes === undefined) throw new RangeError(`unknown SCRAM hash ${String(hash)}`);
  const clientNonce = options.nonce ?? randomBytes(32).toString("base64");
  if (!NONCE.test(clientNonce)) throw new RangeError("SCRAM nonce must be printable, without ','");
  const clientFirstBare = `n=${scramSaslName(username)},r=${clientNonce}`;
  const clientFirst = Buffer.from(GS2_HEADER + clientFirstBare, "utf8");

  let state: "server-first" | "server-final" | "done" = "server-first";
  let expectedSignature: Buffer | null = null;

  function clientFinal(serverFirst: string): Buffer {
    const attrs = attributes(serverFirst, "server-first");
    // RFC 5802 §5.1: a leading m= is a mandatory extension we cannot honour.
    if (attrs[0]?.name === "m") fail("server requires an unsupported mandatory extension (m=)");
    const [r, s, i] = attrs;
    if (r?.name !== "r" || s?.name !== "s" || i?.name !== "i") {
      fail("server-first must start with r=, s= and i=");
    }
    // Further attributes are extensions, which RFC 5802 says to ignore.
    const nonce = r.value;
    if (!nonce.startsWith(clientNonce) || nonce.length === clientNonce.length) {
      fail("server nonce does not extend the client nonce");
    }
    if (!NONCE.test(nonce)) fail("server nonce has invalid characters");
    const salt = base64(s.value, "salt");
    if (!/^[1-9][0-9]{0,9}$/.test(i.value)) fail("iteration count is not a positive integer");
    const iterations = Number(i.value);
    if (iterations < SCRAM_MIN_ITERATIONS) {
      fail(`iteration count ${iterations} is below the minimum ${SCRAM_MIN_ITERATIONS}`);
    }
    if (iterations > SCRAM_MAX_ITERATIONS) {
      fail(`iteration count ${iterations} is above the maximum ${SCRAM_MAX_ITERATIONS}`);
    }

    const secret = Buffer.from(password, "utf8");
    const salted = pbkdf2Sync(secret, salt, iterations, digestBytes, hash);
    const clientKey = createHmac(hash, salted).update("Client Key").digest();
    const storedKey = createHash(hash).update(clientKey).digest();
    const withoutProof = `c=${CHANNEL_BINDING},r=${nonce}`;
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
    const clientSignature = createHmac(hash, storedKey).update(authMessage).digest();
    const proof = xor(clientKey, clientSignature);
    const serverKey = createHmac(hash, salted).update("Server Key").digest();
    expectedSignature = createHmac(hash, serverKey).update(authMessage).digest();
    const message = Buffer.from(`${withoutProof},p=${proof.toString("base64")}`, "utf8");
    // Keep only what verification needs; the rest is key material.
    for (const b of [secret, salted, clientKey, storedKey, clientSignature, proof, serverKey])
      b.fill(0);
    return message;
  }

  function verifyServerFinal(serverFinal: string): void {
    const first = attributes(serverFinal, "server-final")[0]!;
    if (first.name === "e") {
      // The value is a short token such as invalid-proof; keep it printable and short.
      const reason = first.value.replace(/[^\x20-\x7e]/g, "?").slice(0, 200);
      throw new SaslMechanismError(`SCRAM server error: ${reason}`);
    }
    if (first.name !== "v") fail("server-final must start with v= or e=");
    const got = base64(first.value, "server signature");
    const want = expectedSignature!;
    expectedSignature = null;
    if (got.length !== want.length || !timingSafeEqual(got, want)) {
      fail("server signature does not verify: the server does not know the credentials");
    }
  }

  return {
    initial: () => clientFirst,
    next(server: Uint8Array): Uint8Array | null {
      switch (state) {
        case "server-first": {
          // A rejected server-first ends the exchange too: no second try.
          state = "done";
          const out = clientFinal(decodeUtf8(server, "server-first"));
          state = "server-final";
          return out;
        }
        case "server-final":
          // Whatever happens, the exchange is over.
          state = "done";
          verifyServerFinal(decodeUtf8(server, "server-final"));
          return null;
        default:
          fail("the exchange is already complete");
      }
    },
  };
}
