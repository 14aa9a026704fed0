/** What a Producer takes beside its properties: callbacks, a logger, token provider, protocol caps. */
import type { Logger } from "../client/logger.js";
import type { OAuthBearerTokenProvider } from "../client/security.js";
import type { DeliveryCallback } from "./record.js";

export interface ProducerOptions {
  /**
   * Where the producer logs. By default `consoleLogger("warn")`: warnings and
   * errors on stderr (a broker that cannot be reached, once per broker and
   * cause; all brokers down). `silentLogger` silences it.
   */
  logger?: Logger;
  /** Called for every record produced without a callback of its own (librdkafka's dr_msg_cb). */
  onDelivery?: DeliveryCallback;
  /**
   * Called when a connection to a broker fails or drops (librdkafka's error_cb):
   * code SSL or AUTHENTICATION for TLS and SASL failures, TRANSPORT or TIMED_OUT
   * otherwise. The producer keeps retrying with the reconnect backoff. Once
   * every known broker has failed and none is connected it is called with
   * ALL_BROKERS_DOWN (the last connection error as its cause), once until a
   * broker connects again.
   */
  onError?: (err: Error) => void;
  /** OAUTHBEARER tokens; called again when 80% of a token's lifetime has passed. */
  oauthBearerTokenProvider?: OAuthBearerTokenProvider;
  /**
   * The newest transaction protocol to use: 2 (the default) where the cluster
   * finalizes transaction.version >= 2 (KIP-890), else 1; 1 keeps to
   * Transactions v1 everywhere (as clients before Kafka 4.0 do).
   */
  maxTransactionVersion?: 1 | 2;
}
