/**
 * The transaction manager's requests to coordinators, each run until it
 * succeeds or fails for good: InitProducerId with a transactional id,
 * AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and EndTxn. Retries
 * and rediscovery live here (a moved coordinator is looked up again,
 * CONCURRENT_TRANSACTIONS is asked again after 20 ms as the Java client does);
 * what an error means for the transaction is classify()'s answer.
 */
import type { BrokerConnection, KafkaRequest } from "../client/connection.js";
import { COORDINATOR_MOVED, type Coordinators, CoordinatorType } from "../client/coordinators.js";
import type { Logger } from "../client/logger.js";
import { request, sleep } from "../client/request.js";
import {
  ADD_OFFSETS_TO_TXN_VERSIONS,
  type AddOffsetsToTxnResponse,
  decodeAddOffsetsToTxnResponse,
  encodeAddOffsetsToTxnRequest,
} from "../protocol/add-offsets-to-txn.js";
import {
  ADD_PARTITIONS_TO_TXN_VERSIONS,
  type AddPartitionsToTxnResponse,
  type AddPartitionsToTxnTopic,
  decodeAddPartitionsToTxnResponse,
  encodeAddPartitionsToTxnRequest,
} from "../protocol/add-partitions-to-txn.js";
import { ApiKey, apiName } from "../protocol/api-keys.js";
import {
  decodeEndTxnResponse,
  END_TXN_VERSIONS,
  type EndTxnResponse,
  encodeEndTxnRequest,
} from "../protocol/end-txn.js";
import { ErrorCode, errorByCode, KafkaProtocolError } from "../protocol/errors.js";
import {
  decodeInitProducerIdResponse,
  encodeInitProducerIdRequest,
  INIT_PRODUCER_ID_VERSIONS,
  type InitProducerIdResponse,
} from "../protocol/init-producer-id.js";
import {
  decodeTxnOffsetCommitResponse,
  encodeTxnOffsetCommitRequest,
  TXN_OFFSET_COMMIT_VERSIONS,
  type TxnOffsetCommitRequestTopic,
  type TxnOffsetCommitResponse,
} from "../protocol/txn-offset-commit.js";
import { pickVersion, type VersionRange } from "../protocol/versions.js";
import { TransactionError } from "./transaction-error.js";

/** The Java client's quick retry of CONCURRENT_TRANSACTIONS: the previous transaction is finishing. */
const CONCURRENT_RETRY_MS = 20;

/** Errors after which the producer cannot go on. */
const FATAL: ReadonlySet<number> = new Set([
  ErrorCode.PRODUCER_FENCED,
  // From a coordinator, an older epoch than its own: another instance took the id over.
  ErrorCode.INVALID_PRODUCER_EPOCH,
  ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  ErrorCode.TRANSACTION_COORDINATOR_FENCED,
  ErrorCode.INVALID_TRANSACTION_TIMEOUT,
  ErrorCode.UNSUPPORTED_VERSION,
  ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
  ErrorCode.INVALID_TXN_STATE,
]);

/** What an error code means for the transaction: fatal, or abortable. */
export function classify(
  code: number,
  what: string,
  message: string | null = null,
): TransactionError {
  const cause = new KafkaProtocolError(code, message, what);
  const fatal = FATAL.has(code);
  const hint = fatal
    ? code === ErrorCode.PRODUCER_FENCED || code === ErrorCode.INVALID_PRODUCER_EPOCH
      ? ": another producer with the same transactional.id took over; this one must be closed"
      : ": the producer cannot go on"
    : ": abort the transaction and begin a new one";
  return new TransactionError(
    fatal ? "fatal" : "abortable",
    cause.errorName,
    `${cause.message}${hint}`,
    { cause },
  );
}

/** One offset to commit with the transaction: the next record the group should read. */
export interface TransactionOffset {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch?: number;
  metadata?: string | null;
}

export interface ProducerIdEpoch {
  producerId: number;
  producerEpoch: number;
}

export interface OffsetCommitGroup {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

export class TransactionRequests {
  /** The last transaction coordinator connection used (its finalized features tell v1 from v2). */
  coordinator: BrokerConnection | undefined;
  private closed = false;

  constructor(
    private readonly coordinators: Coordinators,
    readonly transactionalId: string,
    private readonly transactionTimeoutMs: number,
    private readonly logger: Logger,
  ) {}

  close(): void {
    this.closed = true;
  }

  /** InitProducerId for the transactional id; with `current`, the KIP-360 bump of our own epoch. */
  async initProducerId(current?: ProducerIdEpoch): Promise<ProducerIdEpoch> {
    const range = { min: current ? 3 : 0, max: INIT_PRODUCER_ID_VERSIONS.max };
    const res = await this.call<InitProducerIdResponse>(
      CoordinatorType.TRANSACTION,
      this.transactionalId,
      "InitProducerId",
      (conn) => {
        const version = this.version(conn, ApiKey.InitProducerId, range);
        return {
          apiKey: ApiKey.InitProducerId,
          apiVersion: version,
          encode: (w) =>
            encodeInitProducerIdRequest(w, version, {
              transactionalId: this.transactionalId,
              transactionTimeoutMs: this.transactionTimeoutMs,
              producerId: current?.producerId ?? -1,
              producerEpoch: current?.producerEpoch ?? -1,
            }),
          decode: (r) => decodeInitProducerIdResponse(r, version),
        };
      },
      (res) => res.errorCode,
    );
    return { producerId: res.producerId, producerEpoch: res.producerEpoch };
  }

  /** AddPartitionsToTxn (Transactions v1): the partitions may then take the transaction's batches. */
  async addPartitions(id: ProducerIdEpoch, topics: AddPartitionsToTxnTopic[]): Promise<void> {
    await this.call<AddPartitionsToTxnResponse>(
      CoordinatorType.TRANSACTION,
      this.transactionalId,
      "AddPartitionsToTxn",
      (conn) => {
        const version = this.version(
          conn,
          ApiKey.AddPartitionsToTxn,
          ADD_PARTITIONS_TO_TXN_VERSIONS,
        );
        return {
          apiKey: ApiKey.AddPartitionsToTxn,
          apiVersion: version,
          encode: (w) =>
            encodeAddPartitionsToTxnRequest(w, version, {
              transactionalId: this.transactionalId,
              ...id,
              topics,
            }),
          decode: (r) => decodeAddPartitionsToTxnResponse(r, version),
        };
      },
      (res) =>
        worstCode(
          res.resultsByTopic.flatMap((t) => t.resultsByPartition.map((p) => p.partitionErrorCode)),
        ),
    );
  }

  /** AddOffsetsToTxn (Transactions v1): the group's offsets join the transaction. */
  async addOffsets(id: ProducerIdEpoch, groupId: string): Promise<void> {
    await this.call<AddOffsetsToTxnResponse>(
      CoordinatorType.TRANSACTION,
      this.transactionalId,
      "AddOffsetsToTxn",
      (conn) => {
        const version = this.version(conn, ApiKey.AddOffsetsToTxn, ADD_OFFSETS_TO_TXN_VERSIONS);
        return {
          apiKey: ApiKey.AddOffsetsToTxn,
          apiVersion: version,
          encode: (w) =>
            encodeAddOffsetsToTxnRequest(w, version, {
              transactionalId: this.transactionalId,
              ...id,
              groupId,
            }),
          decode: (r) => decodeAddOffsetsToTxnResponse(r, version),
        };
      },
      (res) => res.errorCode,
    );
  }

  /**
   * TxnOffsetCommit to the group's coordinator: v5 under Transactions v2 (it
   * adds the offsets to the transaction itself), at most v4 under v1.
   */
  async commitOffsets(
    id: ProducerIdEpoch,
    group: OffsetCommitGroup,
    topics: TxnOffsetCommitRequestTopic[],
    v2: boolean,
  ): Promise<void> {
    const range = v2 ? { min: 5, max: 5 } : { min: TXN_OFFSET_COMMIT_VERSIONS.min, max: 4 };
    await this.call<TxnOffsetCommitResponse>(
      CoordinatorType.GROUP,
      group.groupId,
      "TxnOffsetCommit",
      (conn) => {
        const version = this.version(conn, ApiKey.TxnOffsetCommit, range);
        const withMember = version >= 3;
        return {
          apiKey: ApiKey.TxnOffsetCommit,
          apiVersion: version,
          encode: (w) =>
            encodeTxnOffsetCommitRequest(w, version, {
              transactionalId: this.transactionalId,
              groupId: group.groupId,
              ...id,
              generationIdOrMemberEpoch: withMember ? group.generationId : -1,
              memberId: withMember ? group.memberId : "",
              groupInstanceId: withMember ? group.groupInstanceId : null,
              topics,
            }),
          decode: (r) => decodeTxnOffsetCommitResponse(r, version),
        };
      },
      (res) => worstCode(res.topics.flatMap((t) => t.partitions.map((p) => p.errorCode))),
    );
  }

  /**
   * EndTxn: v5 under Transactions v2 (its answer carries the producer id and
   * epoch of the next transaction), at most v4 under v1. `accept` lists error
   * codes handed back to the caller instead of thrown.
   */
  endTxn(
    id: ProducerIdEpoch,
    commit: boolean,
    v2: boolean,
    accept: readonly number[] = [],
  ): Promise<EndTxnResponse> {
    const range = v2
      ? { min: 5, max: END_TXN_VERSIONS.max }
      : { min: END_TXN_VERSIONS.min, max: 4 };
    return this.call<EndTxnResponse>(
      CoordinatorType.TRANSACTION,
      this.transactionalId,
      "EndTxn",
      (conn) => {
        const version = this.version(conn, ApiKey.EndTxn, range);
        return {
          apiKey: ApiKey.EndTxn,
          apiVersion: version,
          encode: (w) =>
            encodeEndTxnRequest(w, version, {
              transactionalId: this.transactionalId,
              ...id,
              committed: commit,
            }),
          decode: (r) => decodeEndTxnResponse(r, version),
        };
      },
      (res) => res.errorCode,
      accept,
    );
  }

  private version(conn: BrokerConnection, apiKey: number, range: VersionRange): number {
    try {
      return pickVersion(apiKey, conn.brokerVersions, range);
    } catch (err) {
      throw new TransactionError(
        "fatal",
        "UNSUPPORTED_VERSION",
        `broker ${conn.address} offers no version of ${apiName(apiKey)} in ${range.min}..${range.max}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /**
   * Sends what `build` makes to the coordinator of `key` until the answer's
   * error code (`codeOf`) is 0 or in `accept`, or is neither retriable nor a
   * sign of a moved coordinator (then it throws classify()'s error).
   */
  private async call<T extends { throttleTimeMs: number }>(
    type: CoordinatorType,
    key: string,
    what: string,
    build: (conn: BrokerConnection) => KafkaRequest<T>,
    codeOf: (res: T) => number,
    accept: readonly number[] = [],
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) {
        throw new TransactionError("fatal", "DESTROYED", `${what}: the producer is closed`);
      }
      let conn: BrokerConnection;
      try {
        conn = await this.coordinators.connection(type, key, Number.POSITIVE_INFINITY);
      } catch (err) {
        if (err instanceof KafkaProtocolError) throw classify(err.code, what, err.errorMessage);
        throw new TransactionError("fatal", "DESTROYED", `${what}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      if (type === CoordinatorType.TRANSACTION) this.coordinator = conn;
      const req = build(conn);
      let res: T;
      try {
        res = await request(conn, req);
      } catch (err) {
        // No answer: the coordinator may have moved or gone; look it up again.
        this.coordinators.invalidate(type, key);
        this.logger.debug(`${what} failed, retrying`, { error: (err as Error).message });
        await sleep(this.coordinators.backoffMs(Math.min(attempt, 5)));
        continue;
      }
      if (res.throttleTimeMs > 0) conn.throttle(Date.now() + res.throttleTimeMs);
      const code = codeOf(res);
      if (code === 0 || accept.includes(code)) return res;
      if (code === ErrorCode.CONCURRENT_TRANSACTIONS) {
        await sleep(CONCURRENT_RETRY_MS);
        continue;
      }
      if (COORDINATOR_MOVED.has(code) || errorByCode(code).retriable) {
        if (COORDINATOR_MOVED.has(code)) this.coordinators.invalidate(type, key);
        this.logger.debug(`${what} answered ${errorByCode(code).name}, retrying`, { key });
        await sleep(this.coordinators.backoffMs(Math.min(attempt, 5)));
        continue;
      }
      throw classify(code, `${what} for "${this.transactionalId}"`);
    }
  }
}

/**
 * The code that decides a multi-partition answer: a final error before a
 * retriable one, OPERATION_NOT_ATTEMPTED (sent for the partitions beside a
 * failed one) last; 0 when every partition succeeded.
 */
function worstCode(codes: readonly number[]): number {
  let retriable = 0;
  let notAttempted = 0;
  for (const code of codes) {
    if (code === 0) continue;
    if (code === ErrorCode.OPERATION_NOT_ATTEMPTED) notAttempted = code;
    else if (COORDINATOR_MOVED.has(code) || errorByCode(code).retriable) retriable = code;
    else return code;
  }
  return retriable || notAttempted;
}

/** The offsets of sendOffsetsToTransaction as TxnOffsetCommit topics. */
export function offsetTopics(offsets: readonly TransactionOffset[]): TxnOffsetCommitRequestTopic[] {
  const byTopic = new Map<string, TxnOffsetCommitRequestTopic>();
  for (const o of offsets) {
    if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
      throw new TransactionError(
        "state",
        "INVALID_ARG",
        `offset for ${o.topic}-${o.partition} must be a non-negative integer: ${o.offset}`,
      );
    }
    let t = byTopic.get(o.topic);
    if (t === undefined) {
      t = { name: o.topic, partitions: [] };
      byTopic.set(o.topic, t);
    }
    t.partitions.push({
      partitionIndex: o.partition,
      committedOffset: o.offset,
      committedLeaderEpoch: o.leaderEpoch ?? -1,
      committedMetadata: o.metadata ?? null,
    });
  }
  return [...byTopic.values()];
}
