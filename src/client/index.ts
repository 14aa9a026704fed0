/**
 * The network client: it knows requests, brokers, connections (TCP, TLS,
 * SASL), security settings, cluster metadata and coordinator lookup
 * (transaction and group coordinators), and never records or batches. The
 * producer engine sends what it builds through it.
 */
export { type ClientErrorCode, KafkaClientError } from "./client-error.js";
export {
  Cluster,
  type ClusterEvents,
  type ClusterOptions,
  type PartitionMetadata,
  parseBootstrap,
  type TopicMetadata,
} from "./cluster.js";
export {
  type BrokerDescription,
  type ClusterDescription,
  describeCluster,
  type PartitionDescription,
  type TopicDescription,
} from "./cluster-metadata.js";
export {
  BrokerConnection,
  type ConnectionOptions,
  type KafkaRequest,
  type ResponseCallback,
} from "./connection.js";
export { type CoordinatorCluster, Coordinators, CoordinatorType } from "./coordinators.js";
export { consoleLogger, type Logger, type LogLevel, silentLogger } from "./logger.js";
export { request, sleep } from "./request.js";
export {
  type OAuthBearerToken,
  type OAuthBearerTokenProvider,
  resolveSecurity,
  type Security,
  type SecurityOptions,
} from "./security.js";
