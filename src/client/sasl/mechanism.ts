/**
 * The client side of a SASL mechanism as a pure state machine: bytes in, bytes
 * out, no sockets and no Kafka framing. The connection carries the tokens
 * (raw frames after SaslHandshake v0, SaslAuthenticate requests after v1).
 */

export interface SaslSession {
  /** The client's first message. */
  initial(): Uint8Array;
  /**
   * Takes the server's message; returns the client's next message, or null when
   * the exchange is complete on the client's side. Throws SaslMechanismError for
   * a server message that is malformed or fails verification.
   */
  next(server: Uint8Array): Uint8Array | null;
}

/** A mechanism-level failure. Messages never hold passwords, keys, proofs or tokens. */
export class SaslMechanismError extends Error {
  override readonly name = "SaslMechanismError";
}

/** The mechanisms this client implements (GSSAPI is not among them). */
export const SASL_MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] as const;

export type SaslMechanism = (typeof SASL_MECHANISMS)[number];
