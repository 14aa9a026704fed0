/**
 * Errors raised by the client itself (not returned by a broker), named after
 * librdkafka's local error codes (ERR__QUEUE_FULL, ERR__MSG_TIMED_OUT, ...).
 */
export type ClientErrorCode =
  /** queue.buffering.max.messages or queue.buffering.max.kbytes reached. */
  | "QUEUE_FULL"
  /** A record larger than message.max.bytes. */
  | "MSG_SIZE_TOO_LARGE"
  /** message.timeout.ms passed before the record was delivered. */
  | "MSG_TIMED_OUT"
  /** The producer was closed (or flush's deadline passed) with the record undelivered. */
  | "DESTROYED"
  /** A connection failed or was closed. */
  | "TRANSPORT"
  /**
   * Every known broker (bootstrap and metadata ones) failed its latest
   * connection attempt and none is connected (librdkafka's
   * ERR__ALL_BROKERS_DOWN). Reported to `onError` once per outage, with the
   * last connection error as its cause; the producer keeps retrying, and
   * records fail only at their message.timeout.ms.
   */
  | "ALL_BROKERS_DOWN"
  /** The TLS handshake failed: certificate verification, host name, or a listener without TLS. */
  | "SSL"
  /** SASL failed: wrong credentials, a mechanism the broker does not enable, a token provider error. */
  | "AUTHENTICATION"
  /** A request got no response within socket.timeout.ms. */
  | "TIMED_OUT"
  /** An explicit partition that the topic does not have. */
  | "UNKNOWN_PARTITION"
  /** A topic the cluster does not have and will not create. */
  | "UNKNOWN_TOPIC"
  /** Bad arguments to an API call. */
  | "INVALID_ARG"
  /** No API version in common with the broker. */
  | "UNSUPPORTED_FEATURE"
  /** A codec failed to compress a batch. */
  | "COMPRESSION"
  /** The record's transaction was aborted before the record was sent. */
  | "TRANSACTION_ABORTED"
  /** The idempotent producer cannot go on (see the cause); produce() throws it from then on. */
  | "FATAL"
  /** Records written to a producer's write stream failed (counted, told at its end; the cause is the first). */
  | "DELIVERY_FAILED";

const RETRIABLE: ReadonlySet<ClientErrorCode> = new Set([
  "TRANSPORT",
  "TIMED_OUT",
  "ALL_BROKERS_DOWN",
]);

export class KafkaClientError extends Error {
  override readonly name = "KafkaClientError";
  readonly retriable: boolean;
  /**
   * The record failed while a request carrying it was unanswered, so the
   * broker may have written it (librdkafka's "possibly persisted"): a failure
   * report with this flag is not proof the record is absent.
   */
  readonly possiblyPersisted: boolean;
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    options?: { cause?: unknown; possiblyPersisted?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.retriable = RETRIABLE.has(code);
    this.possiblyPersisted = options?.possiblyPersisted ?? false;
  }
}
