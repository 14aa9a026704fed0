/**
 * event-kafka: a Kafka producer written from scratch in TypeScript, with the
 * OpenSIPS event_kafka surface on top.
 */

export { type ClientErrorCode, KafkaClientError } from "./client/client-error.js";
export type {
  BrokerDescription,
  ClusterDescription,
  PartitionDescription,
  TopicDescription,
} from "./client/cluster-metadata.js";
export {
  AUTHENTICATED_CHANNEL,
  type AuthenticatedEvent,
  type BrokerAddress,
  CLOSED_CHANNEL,
  type ClosedEvent,
  CONNECTED_CHANNEL,
  type ConnectedEvent,
  DISCONNECTED_CHANNEL,
  type DisconnectedEvent,
  FATAL_CHANNEL,
  type FatalEvent,
  PRODUCE_CHANNEL,
  type ProduceContext,
  REQUEST_CHANNEL,
  type RequestContext,
} from "./client/diagnostics.js";
export { consoleLogger, type Logger, type LogLevel, silentLogger } from "./client/logger.js";
export type { OAuthBearerToken, OAuthBearerTokenProvider } from "./client/security.js";
export {
  ConfigError,
  PROPERTIES,
  type ProducerConfig,
  type ProducerProperties,
  type PropertyText,
  propertiesMarkdown,
  REDACTED,
  redactProperties,
  resolveConfig,
  textProperties,
} from "./config/index.js";
export { AbortError, type TimedWaitOptions, type WaitOptions } from "./producer/abort.js";
export { PARTITIONER_NAMES, type PartitionerName } from "./producer/partitioners.js";
export { Producer, type ProducerOptions } from "./producer/producer.js";
export type {
  DelimitedRecords,
  DelimitedResult,
  DeliveryCallback,
  DeliveryError,
  DeliveryReport,
  DeliveryTally,
  ProducerRecord,
} from "./producer/record.js";
export type { BatchReport } from "./producer/send-batch.js";
export type { ProducerStats } from "./producer/stats.js";
export { type PrometheusOptions, prometheusText } from "./producer/stats-prometheus.js";
export { TransactionError, type TransactionErrorKind } from "./producer/transaction-error.js";
export type {
  TransactionGroup,
  TransactionOffset,
  TransactionState,
} from "./producer/transactions.js";
export {
  ProducerWriteStream,
  type StreamProducer,
  type WriteStreamOptions,
} from "./producer/write-stream.js";
export { ErrorCode, KafkaProtocolError } from "./protocol/errors.js";
export {
  BrokerIdError,
  EventKafka,
  type EventKafkaOptions,
  type EventParams,
  type EventStatus,
  type EventValue,
  eventPayload,
  formatSocket,
  type KafkaSocket,
  type PublishReport,
  parseBrokerId,
  parseSocket,
  type RaiseOptions,
  redactSocketText,
  SocketError,
  socketsEqual,
} from "./socket/index.js";
