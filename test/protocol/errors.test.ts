import { describe, expect, it } from "vitest";
import {
  ErrorCode,
  errorByCode,
  KAFKA_ERRORS,
  KafkaProtocolError,
} from "../../src/protocol/errors.js";
import { ProtocolError } from "../../src/protocol/protocol-error.js";

// Codes and names from the Java client's Errors enum (apache/kafka,
// clients/src/main/java/org/apache/kafka/common/protocol/Errors.java).
const NAME_BY_CODE: ReadonlyArray<readonly [number, string]> = [
  [-1, "UNKNOWN_SERVER_ERROR"],
  [0, "NONE"],
  [1, "OFFSET_OUT_OF_RANGE"],
  [2, "CORRUPT_MESSAGE"],
  [3, "UNKNOWN_TOPIC_OR_PARTITION"],
  [5, "LEADER_NOT_AVAILABLE"],
  [6, "NOT_LEADER_OR_FOLLOWER"],
  [7, "REQUEST_TIMED_OUT"],
  [8, "BROKER_NOT_AVAILABLE"],
  [9, "REPLICA_NOT_AVAILABLE"],
  [10, "MESSAGE_TOO_LARGE"],
  [13, "NETWORK_EXCEPTION"],
  [15, "COORDINATOR_NOT_AVAILABLE"],
  [17, "INVALID_TOPIC_EXCEPTION"],
  [18, "RECORD_LIST_TOO_LARGE"],
  [19, "NOT_ENOUGH_REPLICAS"],
  [20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND"],
  [21, "INVALID_REQUIRED_ACKS"],
  [29, "TOPIC_AUTHORIZATION_FAILED"],
  [31, "CLUSTER_AUTHORIZATION_FAILED"],
  [32, "INVALID_TIMESTAMP"],
  [33, "UNSUPPORTED_SASL_MECHANISM"],
  [35, "UNSUPPORTED_VERSION"],
  [41, "NOT_CONTROLLER"],
  [42, "INVALID_REQUEST"],
  [45, "OUT_OF_ORDER_SEQUENCE_NUMBER"],
  [46, "DUPLICATE_SEQUENCE_NUMBER"],
  [47, "INVALID_PRODUCER_EPOCH"],
  [49, "INVALID_PRODUCER_ID_MAPPING"],
  [51, "CONCURRENT_TRANSACTIONS"],
  [53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"],
  [56, "KAFKA_STORAGE_ERROR"],
  [58, "SASL_AUTHENTICATION_FAILED"],
  [59, "UNKNOWN_PRODUCER_ID"],
  [64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED"],
  [74, "FENCED_LEADER_EPOCH"],
  [75, "UNKNOWN_LEADER_EPOCH"],
  [76, "UNSUPPORTED_COMPRESSION_TYPE"],
  [87, "INVALID_RECORD"],
  [89, "THROTTLING_QUOTA_EXCEEDED"],
  [90, "PRODUCER_FENCED"],
  [100, "UNKNOWN_TOPIC_ID"],
  [110, "FENCED_MEMBER_EPOCH"],
  [120, "TRANSACTION_ABORTABLE"],
  [129, "REBOOTSTRAP_REQUIRED"],
  [133, "SHARE_SESSION_LIMIT_REACHED"],
];

// Java exception classes that extend RetriableException (directly or through
// RefreshRetriableException / InvalidMetadataException).
const RETRIABLE = [
  "CORRUPT_MESSAGE", // CorruptRecordException
  "UNKNOWN_TOPIC_OR_PARTITION",
  "LEADER_NOT_AVAILABLE",
  "NOT_LEADER_OR_FOLLOWER",
  "REQUEST_TIMED_OUT", // TimeoutException
  "REPLICA_NOT_AVAILABLE",
  "NETWORK_EXCEPTION",
  "COORDINATOR_LOAD_IN_PROGRESS",
  "COORDINATOR_NOT_AVAILABLE",
  "NOT_COORDINATOR",
  "NOT_ENOUGH_REPLICAS",
  "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
  "NOT_CONTROLLER",
  "CONCURRENT_TRANSACTIONS",
  "KAFKA_STORAGE_ERROR",
  "FETCH_SESSION_ID_NOT_FOUND",
  "INVALID_FETCH_SESSION_EPOCH",
  "LISTENER_NOT_FOUND",
  "FENCED_LEADER_EPOCH",
  "UNKNOWN_LEADER_EPOCH",
  "OFFSET_NOT_AVAILABLE",
  "PREFERRED_LEADER_NOT_AVAILABLE",
  "ELIGIBLE_LEADERS_NOT_AVAILABLE",
  "ELECTION_NOT_NEEDED",
  "UNSTABLE_OFFSET_COMMIT",
  "THROTTLING_QUOTA_EXCEEDED",
  "UNKNOWN_TOPIC_ID",
  "INCONSISTENT_TOPIC_ID",
  "FETCH_SESSION_TOPIC_ID_ERROR",
  "SHARE_SESSION_NOT_FOUND",
  "INVALID_SHARE_SESSION_EPOCH",
  "SHARE_SESSION_LIMIT_REACHED",
] as const;

// Java exception classes that extend ApiException but not RetriableException.
const NOT_RETRIABLE = [
  "UNKNOWN_SERVER_ERROR",
  "NONE",
  "OFFSET_OUT_OF_RANGE",
  "BROKER_NOT_AVAILABLE",
  "MESSAGE_TOO_LARGE",
  "INVALID_TOPIC_EXCEPTION",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_REQUIRED_ACKS",
  "TOPIC_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
  "UNSUPPORTED_VERSION",
  "OUT_OF_ORDER_SEQUENCE_NUMBER",
  "DUPLICATE_SEQUENCE_NUMBER",
  "INVALID_PRODUCER_EPOCH",
  "UNKNOWN_PRODUCER_ID",
  "PRODUCER_FENCED",
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
  "NEW_LEADER_ELECTED",
  "OFFSET_MOVED_TO_TIERED_STORAGE",
  "FENCED_MEMBER_EPOCH",
  "STALE_MEMBER_EPOCH",
  "UNKNOWN_SUBSCRIPTION_ID",
  "TELEMETRY_TOO_LARGE",
  "TRANSACTION_ABORTABLE",
  "INVALID_RECORD_STATE",
  "FENCED_STATE_EPOCH",
  "REBOOTSTRAP_REQUIRED",
  "STREAMS_INVALID_TOPOLOGY",
] as const;

// The Java exceptions that extend InvalidMetadataException, plus this client's
// two additions (see errors.ts).
const REFRESH = [
  "UNKNOWN_TOPIC_OR_PARTITION",
  "LEADER_NOT_AVAILABLE",
  "NOT_LEADER_OR_FOLLOWER",
  "REPLICA_NOT_AVAILABLE",
  "NETWORK_EXCEPTION",
  "KAFKA_STORAGE_ERROR",
  "LISTENER_NOT_FOUND",
  "FENCED_LEADER_EPOCH",
  "PREFERRED_LEADER_NOT_AVAILABLE",
  "ELIGIBLE_LEADERS_NOT_AVAILABLE",
  "ELECTION_NOT_NEEDED",
  "UNKNOWN_TOPIC_ID",
  "INCONSISTENT_TOPIC_ID",
  "BROKER_NOT_AVAILABLE",
  "REBOOTSTRAP_REQUIRED",
] as const;

describe("the error table", () => {
  it("maps names to the codes of the Java Errors enum, both ways", () => {
    expect(NAME_BY_CODE.length).toBeGreaterThanOrEqual(25);
    for (const [code, name] of NAME_BY_CODE) {
      expect(errorByCode(code).name, `code ${code}`).toBe(name);
      expect((ErrorCode as Record<string, number>)[name], name).toBe(code);
    }
  });

  it("types ErrorCode members as their literal codes", () => {
    const six: 6 = ErrorCode.NOT_LEADER_OR_FOLLOWER;
    const three: 3 = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    expect([six, three, ErrorCode.NONE, ErrorCode.UNKNOWN_SERVER_ERROR]).toEqual([6, 3, 0, -1]);
  });

  it("flags as retriable exactly the codes whose Java exception is a RetriableException", () => {
    for (const name of RETRIABLE) expect(errorByCode(ErrorCode[name]).retriable, name).toBe(true);
    for (const name of NOT_RETRIABLE) {
      expect(errorByCode(ErrorCode[name]).retriable, name).toBe(false);
    }
    // Nothing else in the table is retriable.
    const retriable = KAFKA_ERRORS.filter((e) => e.retriable).map((e) => e.name);
    expect(retriable.sort()).toEqual([...RETRIABLE].sort());
  });

  it("asks for a metadata refresh exactly for stale-metadata codes", () => {
    const refresh = KAFKA_ERRORS.filter((e) => e.refreshMetadata).map((e) => e.name);
    expect(refresh.sort()).toEqual([...REFRESH].sort());
    // Retriable, but the broker is the one behind (UnknownLeaderEpochException's javadoc).
    expect(errorByCode(ErrorCode.UNKNOWN_LEADER_EPOCH).refreshMetadata).toBe(false);
    expect(errorByCode(ErrorCode.NOT_CONTROLLER).refreshMetadata).toBe(false);
  });

  it("has no duplicate codes or names, and codes run from -1 to 133 without a gap", () => {
    const codes = KAFKA_ERRORS.map((e) => e.code);
    const names = KAFKA_ERRORS.map((e) => e.name);
    expect(new Set(codes).size).toBe(codes.length);
    expect(new Set(names).size).toBe(names.length);
    expect(codes).toEqual(Array.from({ length: codes.length }, (_, i) => i - 1));
    expect(codes.at(-1)).toBe(133);
    expect(KAFKA_ERRORS).toHaveLength(135);
    expect(Object.keys(ErrorCode)).toHaveLength(135);
    for (const name of names) expect(name).toMatch(/^[A-Z][A-Z0-9_]*$/);
  });

  it("returns the table's own entry for a known code", () => {
    const e = errorByCode(6);
    expect(e).toBe(KAFKA_ERRORS[7]);
    expect(e).toEqual({
      code: 6,
      name: "NOT_LEADER_OR_FOLLOWER",
      retriable: true,
      refreshMetadata: true,
    });
    expect(Object.isFrozen(e)).toBe(true);
  });

  it("gives an unknown code a synthetic non-retriable entry, never undefined", () => {
    for (const code of [134, 999, 32767, -2, -32768, 1.5, Number.NaN]) {
      const e = errorByCode(code);
      expect(e.code).toBe(code);
      expect(e.name).toBe(`UNKNOWN_ERROR_CODE_${code}`);
      expect(e.retriable).toBe(false);
      expect(e.refreshMetadata).toBe(false);
    }
  });
});

describe("KafkaProtocolError", () => {
  it("carries the code, the table's flags and the broker's message", () => {
    const err = new KafkaProtocolError(6, "Leader moved", "Produce to orders-3");
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(ProtocolError);
    expect(err.name).toBe("KafkaProtocolError");
    expect(err.code).toBe(6);
    expect(err.errorName).toBe("NOT_LEADER_OR_FOLLOWER");
    expect(err.retriable).toBe(true);
    expect(err.refreshMetadata).toBe(true);
    expect(err.errorMessage).toBe("Leader moved");
    expect(err.message).toBe(
      "Produce to orders-3: NOT_LEADER_OR_FOLLOWER (error code 6): Leader moved",
    );
  });

  it("has a readable message without a broker message or context", () => {
    const err = new KafkaProtocolError(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
    expect(err.errorMessage).toBeNull();
    expect(err.retriable).toBe(false);
    expect(err.message).toBe("TOPIC_AUTHORIZATION_FAILED (error code 29)");
  });

  it("names a code the table lacks", () => {
    const err = new KafkaProtocolError(4242, null);
    expect(err.errorName).toBe("UNKNOWN_ERROR_CODE_4242");
    expect(err.retriable).toBe(false);
    expect(err.message).toBe("UNKNOWN_ERROR_CODE_4242 (error code 4242)");
  });
});

describe("the errors of the transaction APIs", () => {
  it("are in the table with the codes of Kafka 4.4's Errors enum", () => {
    // FindCoordinator, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and TxnOffsetCommit.
    const codes: Record<string, number> = {
      COORDINATOR_LOAD_IN_PROGRESS: 14,
      COORDINATOR_NOT_AVAILABLE: 15,
      NOT_COORDINATOR: 16,
      ILLEGAL_GENERATION: 22,
      UNKNOWN_MEMBER_ID: 25,
      INVALID_COMMIT_OFFSET_SIZE: 28,
      TOPIC_AUTHORIZATION_FAILED: 29,
      GROUP_AUTHORIZATION_FAILED: 30,
      UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
      INVALID_PRODUCER_EPOCH: 47,
      INVALID_TXN_STATE: 48,
      INVALID_PRODUCER_ID_MAPPING: 49,
      INVALID_TRANSACTION_TIMEOUT: 50,
      CONCURRENT_TRANSACTIONS: 51,
      TRANSACTION_COORDINATOR_FENCED: 52,
      TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 53,
      OPERATION_NOT_ATTEMPTED: 55,
      GROUP_ID_NOT_FOUND: 69,
      FENCED_INSTANCE_ID: 82,
      PRODUCER_FENCED: 90,
      TRANSACTIONAL_ID_NOT_FOUND: 105,
      STALE_MEMBER_EPOCH: 113,
      TRANSACTION_ABORTABLE: 120,
    };
    for (const [name, code] of Object.entries(codes)) {
      expect(errorByCode(code).name, `code ${code}`).toBe(name);
      expect((ErrorCode as Record<string, number>)[name]).toBe(code);
    }
    // Of these, only the coordinator lookups and CONCURRENT_TRANSACTIONS are retriable.
    const retriable = Object.values(codes).filter((c) => errorByCode(c).retriable);
    expect(retriable).toEqual([14, 15, 16, 51]);
  });
});
