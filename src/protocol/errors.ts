/**
 * The error codes a broker returns in responses (the protocol guide's "Error
 * Codes" table), as one table: code, name, whether a retry can succeed, and
 * whether the error means the client's metadata is stale.
 *
 * - Names and codes are those of the Java client's `Errors` enum (Kafka 4.1:
 *   -1 .. 133, contiguous).
 * - `retriable` is true exactly when the Java exception for the code extends
 *   `RetriableException` (directly, or through `RefreshRetriableException` /
 *   `InvalidMetadataException`), which is also the "Retriable" column of the
 *   protocol guide's table.
 * - `refreshMetadata` is true for the codes whose Java exception extends
 *   `InvalidMetadataException` (the errors after which the Java producer asks for
 *   a metadata update before retrying), plus two this client adds:
 *   BROKER_NOT_AVAILABLE (the broker picked from metadata is gone) and
 *   REBOOTSTRAP_REQUIRED (KIP-1102: the metadata is stale beyond repair).
 *   UNKNOWN_LEADER_EPOCH is retriable but needs no refresh: the broker is the one
 *   behind, not the client. NOT_CONTROLLER and the coordinator errors concern
 *   other lookups than the partition leaders a producer routes by.
 *
 * `KafkaProtocolError` is what a client throws for an error code a broker sent;
 * `ProtocolError` is for bytes that cannot be decoded.
 */

const RETRIABLE = 1;
const REFRESH = 2;
const BOTH = RETRIABLE | REFRESH;

// [code, name, flags]: one row per code, in code order.
const ROWS = [
  [-1, "UNKNOWN_SERVER_ERROR", 0],
  [0, "NONE", 0],
  [1, "OFFSET_OUT_OF_RANGE", 0],
  [2, "CORRUPT_MESSAGE", RETRIABLE],
  [3, "UNKNOWN_TOPIC_OR_PARTITION", BOTH],
  [4, "INVALID_FETCH_SIZE", 0],
  [5, "LEADER_NOT_AVAILABLE", BOTH],
  [6, "NOT_LEADER_OR_FOLLOWER", BOTH],
  [7, "REQUEST_TIMED_OUT", RETRIABLE],
  [8, "BROKER_NOT_AVAILABLE", REFRESH],
  [9, "REPLICA_NOT_AVAILABLE", BOTH],
  [10, "MESSAGE_TOO_LARGE", 0],
  [11, "STALE_CONTROLLER_EPOCH", 0],
  [12, "OFFSET_METADATA_TOO_LARGE", 0],
  [13, "NETWORK_EXCEPTION", BOTH],
  [14, "COORDINATOR_LOAD_IN_PROGRESS", RETRIABLE],
  [15, "COORDINATOR_NOT_AVAILABLE", RETRIABLE],
  [16, "NOT_COORDINATOR", RETRIABLE],
  [17, "INVALID_TOPIC_EXCEPTION", 0],
  [18, "RECORD_LIST_TOO_LARGE", 0],
  [19, "NOT_ENOUGH_REPLICAS", RETRIABLE],
  [20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", RETRIABLE],
  [21, "INVALID_REQUIRED_ACKS", 0],
  [22, "ILLEGAL_GENERATION", 0],
  [23, "INCONSISTENT_GROUP_PROTOCOL", 0],
  [24, "INVALID_GROUP_ID", 0],
  [25, "UNKNOWN_MEMBER_ID", 0],
  [26, "INVALID_SESSION_TIMEOUT", 0],
  [27, "REBALANCE_IN_PROGRESS", 0],
  [28, "INVALID_COMMIT_OFFSET_SIZE", 0],
  [29, "TOPIC_AUTHORIZATION_FAILED", 0],
  [30, "GROUP_AUTHORIZATION_FAILED", 0],
  [31, "CLUSTER_AUTHORIZATION_FAILED", 0],
  [32, "INVALID_TIMESTAMP", 0],
  [33, "UNSUPPORTED_SASL_MECHANISM", 0],
  [34, "ILLEGAL_SASL_STATE", 0],
  [35, "UNSUPPORTED_VERSION", 0],
  [36, "TOPIC_ALREADY_EXISTS", 0],
  [37, "INVALID_PARTITIONS", 0],
  [38, "INVALID_REPLICATION_FACTOR", 0],
  [39, "INVALID_REPLICA_ASSIGNMENT", 0],
  [40, "INVALID_CONFIG", 0],
  [41, "NOT_CONTROLLER", RETRIABLE],
  [42, "INVALID_REQUEST", 0],
  [43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", 0],
  [44, "POLICY_VIOLATION", 0],
  [45, "OUT_OF_ORDER_SEQUENCE_NUMBER", 0],
  [46, "DUPLICATE_SEQUENCE_NUMBER", 0],
  [47, "INVALID_PRODUCER_EPOCH", 0],
  [48, "INVALID_TXN_STATE", 0],
  [49, "INVALID_PRODUCER_ID_MAPPING", 0],
  [50, "INVALID_TRANSACTION_TIMEOUT", 0],
  [51, "CONCURRENT_TRANSACTIONS", RETRIABLE],
  [52, "TRANSACTION_COORDINATOR_FENCED", 0],
  [53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", 0],
  [54, "SECURITY_DISABLED", 0],
  [55, "OPERATION_NOT_ATTEMPTED", 0],
  [56, "KAFKA_STORAGE_ERROR", BOTH],
  [57, "LOG_DIR_NOT_FOUND", 0],
  [58, "SASL_AUTHENTICATION_FAILED", 0],
  [59, "UNKNOWN_PRODUCER_ID", 0],
  [60, "REASSIGNMENT_IN_PROGRESS", 0],
  [61, "DELEGATION_TOKEN_AUTH_DISABLED", 0],
  [62, "DELEGATION_TOKEN_NOT_FOUND", 0],
  [63, "DELEGATION_TOKEN_OWNER_MISMATCH", 0],
  [64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", 0],
  [65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", 0],
  [66, "DELEGATION_TOKEN_EXPIRED", 0],
  [67, "INVALID_PRINCIPAL_TYPE", 0],
  [68, "NON_EMPTY_GROUP", 0],
  [69, "GROUP_ID_NOT_FOUND", 0],
  [70, "FETCH_SESSION_ID_NOT_FOUND", RETRIABLE],
  [71, "INVALID_FETCH_SESSION_EPOCH", RETRIABLE],
  [72, "LISTENER_NOT_FOUND", BOTH],
  [73, "TOPIC_DELETION_DISABLED", 0],
  [74, "FENCED_LEADER_EPOCH", BOTH],
  [75, "UNKNOWN_LEADER_EPOCH", RETRIABLE],
  [76, "UNSUPPORTED_COMPRESSION_TYPE", 0],
  [77, "STALE_BROKER_EPOCH", 0],
  [78, "OFFSET_NOT_AVAILABLE", RETRIABLE],
  [79, "MEMBER_ID_REQUIRED", 0],
  [80, "PREFERRED_LEADER_NOT_AVAILABLE", BOTH],
  [81, "GROUP_MAX_SIZE_REACHED", 0],
  [82, "FENCED_INSTANCE_ID", 0],
  [83, "ELIGIBLE_LEADERS_NOT_AVAILABLE", BOTH],
  [84, "ELECTION_NOT_NEEDED", BOTH],
  [85, "NO_REASSIGNMENT_IN_PROGRESS", 0],
  [86, "GROUP_SUBSCRIBED_TO_TOPIC", 0],
  [87, "INVALID_RECORD", 0],
  [88, "UNSTABLE_OFFSET_COMMIT", RETRIABLE],
  [89, "THROTTLING_QUOTA_EXCEEDED", RETRIABLE],
  [90, "PRODUCER_FENCED", 0],
  [91, "RESOURCE_NOT_FOUND", 0],
  [92, "DUPLICATE_RESOURCE", 0],
  [93, "UNACCEPTABLE_CREDENTIAL", 0],
  [94, "INCONSISTENT_VOTER_SET", 0],
  [95, "INVALID_UPDATE_VERSION", 0],
  [96, "FEATURE_UPDATE_FAILED", 0],
  [97, "PRINCIPAL_DESERIALIZATION_FAILURE", 0],
  [98, "SNAPSHOT_NOT_FOUND", 0],
  [99, "POSITION_OUT_OF_RANGE", 0],
  [100, "UNKNOWN_TOPIC_ID", BOTH],
  [101, "DUPLICATE_BROKER_REGISTRATION", 0],
  [102, "BROKER_ID_NOT_REGISTERED", 0],
  [103, "INCONSISTENT_TOPIC_ID", BOTH],
  [104, "INCONSISTENT_CLUSTER_ID", 0],
  [105, "TRANSACTIONAL_ID_NOT_FOUND", 0],
  [106, "FETCH_SESSION_TOPIC_ID_ERROR", RETRIABLE],
  [107, "INELIGIBLE_REPLICA", 0],
  [108, "NEW_LEADER_ELECTED", 0],
  [109, "OFFSET_MOVED_TO_TIERED_STORAGE", 0],
  [110, "FENCED_MEMBER_EPOCH", 0],
  [111, "UNRELEASED_INSTANCE_ID", 0],
  [112, "UNSUPPORTED_ASSIGNOR", 0],
  [113, "STALE_MEMBER_EPOCH", 0],
  [114, "MISMATCHED_ENDPOINT_TYPE", 0],
  [115, "UNSUPPORTED_ENDPOINT_TYPE", 0],
  [116, "UNKNOWN_CONTROLLER_ID", 0],
  [117, "UNKNOWN_SUBSCRIPTION_ID", 0],
  [118, "TELEMETRY_TOO_LARGE", 0],
  [119, "INVALID_REGISTRATION", 0],
  [120, "TRANSACTION_ABORTABLE", 0],
  [121, "INVALID_RECORD_STATE", 0],
  [122, "SHARE_SESSION_NOT_FOUND", RETRIABLE],
  [123, "INVALID_SHARE_SESSION_EPOCH", RETRIABLE],
  [124, "FENCED_STATE_EPOCH", 0],
  [125, "INVALID_VOTER_KEY", 0],
  [126, "DUPLICATE_VOTER", 0],
  [127, "VOTER_NOT_FOUND", 0],
  [128, "INVALID_REGULAR_EXPRESSION", 0],
  [129, "REBOOTSTRAP_REQUIRED", REFRESH],
  [130, "STREAMS_INVALID_TOPOLOGY", 0],
  [131, "STREAMS_INVALID_TOPOLOGY_EPOCH", 0],
  [132, "STREAMS_TOPOLOGY_FENCED", 0],
  [133, "SHARE_SESSION_LIMIT_REACHED", RETRIABLE],
] as const;

type Row = (typeof ROWS)[number];

/** The name of a known error code, as the Java `Errors` enum spells it. */
export type KafkaErrorName = Row[1];

export interface KafkaErrorInfo {
  readonly code: number;
  /** A `KafkaErrorName`, or `UNKNOWN_ERROR_CODE_<code>` for a code this table lacks. */
  readonly name: string;
  /** A retry of the same request may succeed. */
  readonly retriable: boolean;
  /** The client's view of leaders or topics is stale: refresh metadata before retrying. */
  readonly refreshMetadata: boolean;
}

/** Every known error code, in code order. */
export const KAFKA_ERRORS: readonly KafkaErrorInfo[] = ROWS.map(([code, name, flags]) =>
  Object.freeze({
    code,
    name,
    retriable: (flags & RETRIABLE) !== 0,
    refreshMetadata: (flags & REFRESH) !== 0,
  }),
);

/** Name to code, typed: `ErrorCode.NOT_LEADER_OR_FOLLOWER` has the type `6`. */
export const ErrorCode = Object.freeze(
  Object.fromEntries(ROWS.map(([code, name]) => [name, code])),
) as { readonly [R in Row as R[1]]: R[0] };

export type ErrorCode = Row[0];

const MIN_CODE = ROWS[0][0];

/** The table entry for `code`; a code the table lacks gets a non-retriable entry of its own. */
export function errorByCode(code: number): KafkaErrorInfo {
  const known = KAFKA_ERRORS[code - MIN_CODE];
  if (known !== undefined && known.code === code) return known;
  return {
    code,
    name: `UNKNOWN_ERROR_CODE_${code}`,
    retriable: false,
    refreshMetadata: false,
  };
}

/** An error code a broker returned (not a decoding failure: see `ProtocolError`). */
export class KafkaProtocolError extends Error {
  override readonly name = "KafkaProtocolError";
  readonly code: number;
  readonly errorName: string;
  readonly retriable: boolean;
  readonly refreshMetadata: boolean;
  /** The broker's own error message, when the response carries one. */
  readonly errorMessage: string | null;

  /**
   * @param context what failed, for the message (e.g. "Produce to orders-3").
   */
  constructor(code: number, errorMessage: string | null = null, context?: string) {
    const info = errorByCode(code);
    let message = `${info.name} (error code ${code})`;
    if (context) message = `${context}: ${message}`;
    if (errorMessage) message += `: ${errorMessage}`;
    super(message);
    this.code = code;
    this.errorName = info.name;
    this.retriable = info.retriable;
    this.refreshMetadata = info.refreshMetadata;
    this.errorMessage = errorMessage;
  }
}
