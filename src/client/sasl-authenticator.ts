/**
 * One SASL authentication on a connection whose API versions are known:
 * SaslHandshake v1 names the mechanism, then SaslAuthenticate requests carry
 * the mechanism's messages (KIP-152) until it is done. The same exchange
 * re-authenticates a live connection before its session ends (KIP-368).
 */
import { ApiKey } from "../protocol/api-keys.js";
import { errorByCode } from "../protocol/errors.js";
import {
  decodeSaslAuthenticateResponse,
  encodeSaslAuthenticateRequest,
  type SaslAuthenticateResponse,
} from "../protocol/sasl-authenticate.js";
import {
  decodeSaslHandshakeResponse,
  encodeSaslHandshakeRequest,
} from "../protocol/sasl-handshake.js";
import { KafkaClientError } from "./client-error.js";
import type { KafkaRequest } from "./request.js";
import { SaslMechanismError } from "./sasl/index.js";
import type { SaslSettings } from "./security.js";

/** The slice of a connection the exchange needs. */
export interface SaslTransport {
  readonly address: string;
  hasApi(apiKey: number): boolean;
  versionFor(apiKey: number): number;
  request<T>(request: KafkaRequest<T>): Promise<T>;
}

const UNSUPPORTED_SASL_MECHANISM = 33;
const ILLEGAL_SASL_STATE = 34;

/** Authenticates; resolves with the session lifetime the broker set (0: none). */
export async function saslAuthenticate(conn: SaslTransport, sasl: SaslSettings): Promise<number> {
  const { mechanism } = sasl;
  const failed = (why: string, cause?: unknown): KafkaClientError =>
    new KafkaClientError(
      "AUTHENTICATION",
      `SASL authentication failed for ${conn.address}: ${why}`,
      {
        cause,
      },
    );
  // Version 0 of the handshake sends the tokens without Kafka framing; brokers
  // since 1.0 have SaslAuthenticate, the only way spoken here.
  if (!conn.hasApi(ApiKey.SaslHandshake) || !conn.hasApi(ApiKey.SaslAuthenticate)) {
    throw failed(
      "the broker offers no SaslHandshake/SaslAuthenticate on this listener (a broker before 1.0, or a listener without SASL: check security.protocol)",
    );
  }
  const handshake = await conn.request({
    apiKey: ApiKey.SaslHandshake,
    apiVersion: 1,
    encode: (w) => encodeSaslHandshakeRequest(w, 1, mechanism),
    decode: (r) => decodeSaslHandshakeResponse(r, 1),
  });
  if (handshake.errorCode === UNSUPPORTED_SASL_MECHANISM) {
    const offered = handshake.mechanisms.join(", ") || "none";
    throw failed(`mechanism ${mechanism} is not enabled on the broker (it offers ${offered})`);
  }
  if (handshake.errorCode === ILLEGAL_SASL_STATE) {
    throw failed("the listener does not expect SASL now (check security.protocol)");
  }
  if (handshake.errorCode !== 0) {
    throw failed(`SaslHandshake error ${errorByCode(handshake.errorCode).name}`);
  }
  let session: Awaited<ReturnType<SaslSettings["session"]>>;
  try {
    session = await sasl.session();
  } catch (err) {
    if (err instanceof KafkaClientError) throw err;
    throw failed(err instanceof Error ? err.message : String(err), err);
  }
  const version = conn.versionFor(ApiKey.SaslAuthenticate);
  let message: Uint8Array | null = session.initial();
  let lifetimeMs = 0;
  while (message !== null) {
    const bytes: Uint8Array = message;
    const response: SaslAuthenticateResponse = await conn.request({
      apiKey: ApiKey.SaslAuthenticate,
      apiVersion: version,
      encode: (w) => encodeSaslAuthenticateRequest(w, version, bytes),
      decode: (r) => decodeSaslAuthenticateResponse(r, version),
    });
    if (response.errorCode !== 0) {
      throw failed(response.errorMessage ?? errorByCode(response.errorCode).name);
    }
    lifetimeMs = response.sessionLifetimeMs;
    try {
      message = session.next(response.authBytes);
    } catch (err) {
      if (err instanceof SaslMechanismError) throw failed(err.message, err);
      throw err;
    }
  }
  return lifetimeMs;
}
