/** The network client's options, taken from the producer's configuration. */
import type { ClusterOptions } from "../client/cluster.js";
import type { Logger } from "../client/logger.js";
import type { Security } from "../client/security.js";
import type { ProducerConfig } from "../config/index.js";

export function clusterOptions(
  config: Readonly<ProducerConfig>,
  bootstrap: { host: string; port: number }[],
  security: Security,
  logger: Logger,
  onReauthenticated: () => void,
): ClusterOptions {
  return {
    bootstrap,
    connection: {
      clientId: config["client.id"],
      connectTimeoutMs: config["socket.connection.setup.timeout.ms"],
      requestTimeoutMs: config["socket.timeout.ms"],
      maxInFlight: config["max.in.flight.requests.per.connection"],
      maxResponseBytes: config["receive.message.max.bytes"],
      noDelay: config["socket.nagle.disable"],
      keepAlive: config["socket.keepalive.enable"],
      logger,
      tls: security.tls,
      sasl: security.sasl,
      onReauthenticated,
    },
    reconnectBackoffMs: config["reconnect.backoff.ms"],
    reconnectBackoffMaxMs: config["reconnect.backoff.max.ms"],
    refreshIntervalMs: config["topic.metadata.refresh.interval.ms"],
    maxAgeMs: config["metadata.max.age.ms"],
    retryBackoffMs: config["retry.backoff.ms"],
    retryBackoffMaxMs: config["retry.backoff.max.ms"],
    allowAutoCreate: config["allow.auto.create.topics"],
    logger,
  };
}
