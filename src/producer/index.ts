/**
 * The producer engine: records from produce() to their delivery reports. It
 * owns the queue (accumulator, batches, buffers, topics and partitions), the
 * sender that turns batches into Produce requests, idempotence (producer id,
 * epochs, sequences), partitioners, and transactions (the state machine and
 * its coordinator requests). It reaches brokers only through src/client.
 */
export { Producer, type ProducerOptions } from "./producer.js";
export type {
  DelimitedRecords,
  DelimitedResult,
  DeliveryCallback,
  DeliveryError,
  DeliveryReport,
  DeliveryTally,
  ProducerRecord,
} from "./record.js";
export type { ProducerStats } from "./stats.js";
export { TransactionError, type TransactionErrorKind } from "./transaction-error.js";
export type {
  TransactionGroup,
  TransactionOffset,
  TransactionState,
} from "./transactions.js";
