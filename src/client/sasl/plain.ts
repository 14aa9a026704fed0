/**
 * PLAIN (RFC 4616): one message, `authzid NUL authcid NUL passwd`, with an
 * empty authzid (Kafka authorizes as the authenticated user). The password
 * goes in the clear, so use it over TLS.
 */
import { SaslMechanismError, type SaslSession } from "./mechanism.js";

export function plainSession(username: string, password: string): SaslSession {
  // RFC 4616 §2: authcid and passwd are 1*SAFE, and SAFE excludes NUL.
  if (username === "" || password === "") {
    throw new SaslMechanismError("PLAIN needs a non-empty username and password");
  }
  if (username.includes("\0") || password.includes("\0")) {
    throw new SaslMechanismError("PLAIN username and password must not contain NUL");
  }
  const message = Buffer.from(`\0${username}\0${password}`, "utf8");
  return {
    initial: () => message,
    // Kafka's PLAIN server answers with an empty token; nothing is left to do.
    next: () => null,
  };
}
