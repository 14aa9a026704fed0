/**
 * The fake cluster's answers (see fake-broker.ts): one function per API, from a
 * decoded request to a whole response frame, applying the request to the
 * shared state on the way. The transaction coordinator's rules are in
 * fake-broker-txn.ts; here, which node is asked and the error codes each
 * request version can carry.
 */
import { encodeAddOffsetsToTxnResponse } from "../../src/protocol/add-offsets-to-txn.js";
import { encodeAddPartitionsToTxnResponse } from "../../src/protocol/add-partitions-to-txn.js";
import { ApiKey } from "../../src/protocol/api-keys.js";
import {
  type ApiVersion,
  CLIENT_SOFTWARE_PATTERN,
  encodeApiVersionsResponse,
  UNSUPPORTED_VERSION_ERROR,
} from "../../src/protocol/api-versions.js";
import { encodeEndTxnResponse } from "../../src/protocol/end-txn.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import {
  type Coordinator,
  CoordinatorType,
  encodeFindCoordinatorResponse,
} from "../../src/protocol/find-coordinator.js";
import { responseHeaderVersion } from "../../src/protocol/headers.js";
import { encodeInitProducerIdResponse } from "../../src/protocol/init-producer-id.js";
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  encodeMetadataResponse,
  type MetadataResponseTopic,
} from "../../src/protocol/metadata.js";
import {
  encodeProduceResponse,
  type LeaderIdAndEpoch,
  type NodeEndpoint,
  type PartitionProduceResponse,
} from "../../src/protocol/produce.js";
import { decodeRecordBatchHeader } from "../../src/protocol/record-batch-decoder.js";
import { isValidTopicName } from "../../src/protocol/topic-name.js";
import { encodeTxnOffsetCommitResponse } from "../../src/protocol/txn-offset-commit.js";
import { Writer, ZERO_UUID } from "../../src/protocol/writer.js";
import type { FakeCluster, InterceptAction, InterceptedRequest } from "./fake-broker.js";
import type { AppendResult, TopicState } from "./fake-broker-state.js";
import type { TransactionCoordinatorModel } from "./fake-broker-txn.js";

export const FAKE_CLUSTER_ID = "fake-cluster";

/** A response frame to send (null: none, as for acks=0) and whether to close the connection. */
export interface Handled {
  frame: Buffer | null;
  close: boolean;
  /**
   * For the journal: the error code answered (the first non-zero one where
   * there are several); unset for ApiVersions and Metadata.
   */
  errorCode?: number;
}

type Req<K extends number> = Extract<InterceptedRequest, { apiKey: K }>;

/** Size, response header (v0 or v1 as the API version asks) and body. */
function responseFrame(
  req: InterceptedRequest,
  version: number,
  writeBody: (w: Writer) => void,
): Buffer {
  const w = new Writer(256);
  const sizeAt = w.reserve(4);
  w.int32(req.correlationId);
  if (responseHeaderVersion(req.apiKey, version) === 1) w.taggedFields();
  writeBody(w);
  w.setInt32At(sizeAt, w.pos - 4);
  return Buffer.from(w.finish());
}

export function handleRequest(
  cluster: FakeCluster,
  nodeId: number,
  req: InterceptedRequest,
  action: InterceptAction,
): Handled {
  switch (req.apiKey) {
    case ApiKey.ApiVersions:
      return { frame: apiVersions(cluster, req, action), close: false };
    case ApiKey.Metadata:
      return { frame: metadata(cluster, req, action), close: false };
    case ApiKey.Produce:
      return produce(cluster, nodeId, req, action);
    case ApiKey.InitProducerId:
      return initProducerId(cluster, nodeId, req, action);
    case ApiKey.FindCoordinator:
      return findCoordinator(cluster, req, action);
    case ApiKey.AddPartitionsToTxn:
      return addPartitionsToTxn(cluster, nodeId, req, action);
    case ApiKey.AddOffsetsToTxn:
      return addOffsetsToTxn(cluster, nodeId, req, action);
    case ApiKey.TxnOffsetCommit:
      return txnOffsetCommit(cluster, nodeId, req, action);
    case ApiKey.EndTxn:
      return endTxn(cluster, nodeId, req, action);
  }
}

/** The first non-zero code, else 0. */
const firstError = (codes: readonly number[]): number => codes.find((c) => c !== 0) ?? 0;

/** A frame for the journal: the answer and its code. */
const answer = (frame: Buffer, errorCode: number): Handled => ({ frame, close: false, errorCode });

/**
 * What a request version can carry: PRODUCER_FENCED exists from InitProducerId
 * v4 and AddPartitionsToTxn, AddOffsetsToTxn and EndTxn v2; older versions get
 * INVALID_PRODUCER_EPOCH, as Kafka answers them.
 */
function fencedFor(code: number, version: number, fencedFrom: number): number {
  return code === ErrorCode.PRODUCER_FENCED && version < fencedFrom
    ? ErrorCode.INVALID_PRODUCER_EPOCH
    : code;
}

/**
 * The answer decided before the coordinator's rules: an injected error, a
 * request not applied, a node that does not coordinate `key`.
 */
function coordinatorPrecheck(
  cluster: FakeCluster,
  nodeId: number,
  action: InterceptAction,
  type: CoordinatorType,
  key: string,
): number | undefined {
  if (action.errorCode !== undefined) return action.errorCode;
  if (action.apply === false) return ErrorCode.REQUEST_TIMED_OUT;
  if (txnModel(cluster).coordinatorOf(type, key) !== nodeId) return ErrorCode.NOT_COORDINATOR;
  return undefined;
}

function txnModel(cluster: FakeCluster): TransactionCoordinatorModel {
  // The coordinator's APIs are advertised only with a model (FakeCluster's constructor).
  if (cluster.txn === undefined) throw new Error("no transaction coordinator model");
  return cluster.txn;
}

function apiVersions(
  cluster: FakeCluster,
  req: Req<typeof ApiKey.ApiVersions>,
  action: InterceptAction,
): Buffer {
  const own = cluster.advertised(ApiKey.ApiVersions)!;
  if (req.body === null) {
    // KIP-511: the v0 layout, naming the ApiVersions range so the client can step down.
    const apiKeys = [{ apiKey: ApiKey.ApiVersions, minVersion: own.min, maxVersion: own.max }];
    return responseFrame(req, req.apiVersion, (w) =>
      encodeApiVersionsResponse(w, 0, { errorCode: UNSUPPORTED_VERSION_ERROR, apiKeys }),
    );
  }
  const { clientSoftwareName: name, clientSoftwareVersion: version } = req.body;
  const valid =
    req.apiVersion < 3 ||
    (CLIENT_SOFTWARE_PATTERN.test(name) && CLIENT_SOFTWARE_PATTERN.test(version));
  const apiKeys: ApiVersion[] = valid
    ? cluster
        .advertisedApis()
        .map(([apiKey, r]) => ({ apiKey, minVersion: r.min, maxVersion: r.max }))
    : [];
  // transaction.version: supported 0-2, finalized at the configured level (0 is not listed).
  const level = cluster.txn?.options.transactionVersion;
  const features =
    level === undefined
      ? {}
      : {
          supportedFeatures: [{ name: "transaction.version", minVersion: 0, maxVersion: 2 }],
          finalizedFeaturesEpoch: 1,
          finalizedFeatures:
            level > 0
              ? [{ name: "transaction.version", maxVersionLevel: level, minVersionLevel: level }]
              : [],
        };
  return responseFrame(req, req.apiVersion, (w) =>
    encodeApiVersionsResponse(w, req.apiVersion, {
      errorCode: valid ? 0 : ErrorCode.INVALID_REQUEST,
      apiKeys,
      throttleTimeMs: action.throttleTimeMs ?? 0,
      ...features,
    }),
  );
}

function describeTopic(cluster: FakeCluster, t: TopicState): MetadataResponseTopic {
  const nodes = [...cluster.state.nodeIds];
  return {
    errorCode: 0,
    name: t.name,
    topicId: t.id,
    isInternal: false,
    partitions: t.partitions.map((p, i) => ({
      errorCode: p.leader === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : 0,
      partitionIndex: i,
      leaderId: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: nodes,
      isrNodes: p.leader === -1 ? [] : nodes,
      offlineReplicas: [],
    })),
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

function topicError(errorCode: number, name: string | null, topicId = ZERO_UUID) {
  return {
    errorCode,
    name,
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
  };
}

function metadata(
  cluster: FakeCluster,
  req: Req<typeof ApiKey.Metadata>,
  action: InterceptAction,
): Buffer {
  const state = cluster.state;
  const mayCreate =
    cluster.autoCreateTopics && req.body.allowAutoTopicCreation !== false && action.apply !== false;
  const asked = req.body.topics ?? [...state.topics.values()].map((t) => ({ name: t.name }));
  const topics = asked.map((q): MetadataResponseTopic => {
    if (q.name === null) {
      const id = "topicId" in q && q.topicId ? q.topicId : ZERO_UUID;
      const t = state.topicById(id);
      return t ? describeTopic(cluster, t) : topicError(ErrorCode.UNKNOWN_TOPIC_ID, null, id);
    }
    const t = state.topics.get(q.name);
    if (t) return describeTopic(cluster, t);
    if (!isValidTopicName(q.name)) return topicError(ErrorCode.INVALID_TOPIC_EXCEPTION, q.name);
    if (!mayCreate) return topicError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, q.name);
    // Kafka answers the request that triggers the creation before the topic has leaders.
    state.createTopic(q.name, cluster.autoCreatePartitions);
    return topicError(ErrorCode.LEADER_NOT_AVAILABLE, q.name);
  });
  return responseFrame(req, req.apiVersion, (w) =>
    encodeMetadataResponse(w, req.apiVersion, {
      throttleTimeMs: action.throttleTimeMs ?? 0,
      brokers: cluster.brokers.map((b) => ({
        nodeId: b.nodeId,
        host: b.host,
        port: b.port,
        rack: null,
      })),
      clusterId: FAKE_CLUSTER_ID,
      controllerId: state.nodeIds[0]!,
      topics,
      clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_OMITTED,
    }),
  );
}

const failed = (errorCode: number): AppendResult => ({
  errorCode,
  baseOffset: -1,
  errorMessage: null,
});

function produce(
  cluster: FakeCluster,
  nodeId: number,
  req: Req<typeof ApiKey.Produce>,
  action: InterceptAction,
): Handled {
  const state = cluster.state;
  const version = req.apiVersion;
  const { acks, transactionalId } = req.body;
  const validAcks = acks === -1 || acks === 0 || acks === 1;
  const endpoints = new Map<number, NodeEndpoint>();
  let anyError = false;
  let firstCode = 0;
  const txn = cluster.txn;
  // Kafka refuses a request with transactional batches and no transactional id as a whole.
  const noTxnId =
    txn !== undefined &&
    transactionalId === null &&
    req.body.topicData.some((t) => t.partitionData.some((pd) => isTransactional(pd.records)));

  const responses = req.body.topicData.map((t) => {
    const topic =
      version >= 13 ? state.topicById(t.topicId ?? ZERO_UUID) : state.topics.get(t.name);
    const name = topic?.name ?? t.name;
    const partitionResponses = t.partitionData.map((pd): PartitionProduceResponse => {
      const key = `${name}:${pd.index}`;
      const forced =
        action.partitionErrors?.[key] ??
        action.errorCode ??
        (noTxnId ? ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED : undefined);
      const p = topic?.partitions[pd.index];
      let leader: LeaderIdAndEpoch | null = null;
      let res: AppendResult;
      if (forced !== undefined) res = failed(forced);
      else if (!validAcks) res = failed(ErrorCode.INVALID_REQUIRED_ACKS);
      else if (!topic) {
        res = failed(
          version >= 13 ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        );
      } else if (!p) res = failed(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      else if (p.leader !== nodeId) {
        res = failed(ErrorCode.NOT_LEADER_OR_FOLLOWER);
        leader = { leaderId: p.leader, leaderEpoch: p.leaderEpoch };
        const b = cluster.brokers.find((b) => b.nodeId === p.leader);
        if (b)
          endpoints.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: null });
      } else if (action.apply === false) res = failed(ErrorCode.REQUEST_TIMED_OUT);
      else {
        const code =
          txn === undefined || transactionalId === null
            ? 0
            : transactionCheck(txn, transactionalId, key, pd.records, version);
        res = code === 0 ? state.append(topic, pd.index, pd.records) : failed(code);
      }
      if (res.errorCode !== 0) {
        anyError = true;
        if (firstCode === 0) firstCode = res.errorCode;
      }
      return {
        index: pd.index,
        errorCode: res.errorCode,
        baseOffset: res.baseOffset,
        logAppendTimeMs: -1,
        logStartOffset: res.errorCode === 0 ? 0 : -1,
        recordErrors: [],
        errorMessage: res.errorMessage,
        currentLeader: action.currentLeader?.[key] ?? leader,
      };
    });
    return { name: t.name, topicId: t.topicId ?? ZERO_UUID, partitionResponses };
  });

  // acks=0: no response; Kafka closes the connection so the producer learns of an error.
  if (acks === 0) return { frame: null, close: anyError };
  if (action.reverseOrder) {
    responses.reverse();
    for (const t of responses) t.partitionResponses.reverse();
  }
  const frame = responseFrame(req, version, (w) =>
    encodeProduceResponse(w, version, {
      responses,
      throttleTimeMs: action.throttleTimeMs ?? 0,
      nodeEndpoints: action.nodeEndpoints ?? [...endpoints.values()],
    }),
  );
  return answer(frame, firstCode);
}

/** Whether the records are one batch with the transactional bit (false when they do not parse). */
function isTransactional(records: Buffer | null): boolean {
  if (records === null) return false;
  try {
    return decodeRecordBatchHeader(records).isTransactional;
  } catch {
    return false;
  }
}

/**
 * A transactional batch asks the coordinator first (the leader's
 * AddPartitionsToTxn, KIP-890): v12+ on a transaction.version 2 cluster adds
 * the partition, older versions must find it added. 0: append.
 */
function transactionCheck(
  txn: TransactionCoordinatorModel,
  transactionalId: string,
  partition: string,
  records: Buffer | null,
  version: number,
): number {
  if (records === null) return 0;
  let producerId: number;
  let producerEpoch: number;
  try {
    const header = decodeRecordBatchHeader(records);
    if (!header.isTransactional || header.producerId < 0) return 0;
    producerId = header.producerId;
    producerEpoch = header.producerEpoch;
  } catch {
    return 0; // the append reports it
  }
  return txn.produce(
    transactionalId,
    producerId,
    producerEpoch,
    partition,
    txn.v2 && version >= 12,
    version >= 11,
  );
}

function initProducerId(
  cluster: FakeCluster,
  nodeId: number,
  req: Req<typeof ApiKey.InitProducerId>,
  action: InterceptAction,
): Handled {
  const { transactionalId, producerId, producerEpoch, transactionTimeoutMs } = req.body;
  const error = (errorCode: number) => ({ errorCode, producerId: -1, producerEpoch: -1 });
  let res: { errorCode: number; producerId: number; producerEpoch: number };
  if (transactionalId === "") res = error(ErrorCode.INVALID_REQUEST);
  else if (transactionalId !== null && cluster.txn !== undefined) {
    const pre = coordinatorPrecheck(
      cluster,
      nodeId,
      action,
      CoordinatorType.TRANSACTION,
      transactionalId,
    );
    if (pre !== undefined) res = error(pre);
    else if ((producerId === -1) !== (producerEpoch === -1)) res = error(ErrorCode.INVALID_REQUEST);
    else {
      const expected = producerId === -1 ? undefined : { producerId, producerEpoch };
      res = cluster.txn.initProducerId(transactionalId, transactionTimeoutMs, expected);
      res.errorCode = fencedFor(res.errorCode, req.apiVersion, 4);
    }
  } else if (action.errorCode !== undefined) res = error(action.errorCode);
  else if (action.apply === false) res = error(ErrorCode.REQUEST_TIMED_OUT);
  else res = cluster.state.initProducerId(producerId, producerEpoch);
  const frame = responseFrame(req, req.apiVersion, (w) =>
    encodeInitProducerIdResponse(w, req.apiVersion, {
      throttleTimeMs: action.throttleTimeMs ?? 0,
      ...res,
    }),
  );
  return answer(frame, res.errorCode);
}

function findCoordinator(
  cluster: FakeCluster,
  req: Req<typeof ApiKey.FindCoordinator>,
  action: InterceptAction,
): Handled {
  const { keyType, keys } = req.body;
  const coordinators = keys.map((key): Coordinator => {
    const error = (errorCode: number): Coordinator => ({
      key,
      nodeId: -1,
      host: "",
      port: -1,
      errorCode,
      errorMessage: null,
    });
    if (action.errorCode !== undefined) return error(action.errorCode);
    if (keyType === CoordinatorType.TRANSACTION && key === "") {
      return error(ErrorCode.INVALID_REQUEST);
    }
    const broker = cluster.broker(txnModel(cluster).coordinatorOf(keyType, key));
    // A stopped coordinator: its __transaction_state / __consumer_offsets partition has no leader.
    if (!broker.running) return error(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    return {
      key,
      nodeId: broker.nodeId,
      host: broker.host,
      port: broker.port,
      errorCode: 0,
      errorMessage: null,
    };
  });
  const frame = responseFrame(req, req.apiVersion, (w) =>
    encodeFindCoordinatorResponse(w, req.apiVersion, {
      throttleTimeMs: action.throttleTimeMs ?? 0,
      coordinators,
    }),
  );
  return answer(frame, firstError(coordinators.map((c) => c.errorCode)));
}

function addPartitionsToTxn(
  cluster: FakeCluster,
  nodeId: number,
  req: Req<typeof ApiKey.AddPartitionsToTxn>,
  action: InterceptAction,
): Handled {
  const { transactionalId, producerId, producerEpoch, topics } = req.body;
  const exists = (name: string, p: number) =>
    cluster.state.topics.get(name)?.partitions[p] !== undefined;
  let code = coordinatorPrecheck(
    cluster,
    nodeId,
    action,
    CoordinatorType.TRANSACTION,
    transactionalId,
  );
  const unknown =
    code === undefined && topics.some((t) => t.partitions.some((p) => !exists(t.name, p)));
  if (code === undefined && !unknown) {
    const partitions = topics.flatMap((t) => t.partitions.map((p) => `${t.name}:${p}`));
    code = cluster.txn!.addPartitions(transactionalId, producerId, producerEpoch, partitions);
    code = fencedFor(code, req.apiVersion, 2);
  }
  // Unknown partitions fail; the others are not attempted (Kafka's answer).
  const codeOf = (name: string, p: number) =>
    code ??
    (exists(name, p) ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const resultsByTopic = topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((p) => ({
      partitionIndex: p,
      partitionErrorCode: codeOf(t.name, p),
    })),
  }));
  const frame = responseFrame(req, req.apiVersion, (w) =>
    encodeAddPartitionsToTxnResponse(w, req.apiVersion, {
      throttleTimeMs: action.throttleTimeMs ?? 0,
      resultsByTopic,
    }),
  );
  const codes = resultsByTopic.flatMap((t) =>
    t.resultsByPartition.map((p) => p.partitionErrorCode),
  );
  return answer(frame, firstError(codes));
}

function addOffsetsToTxn(
  cluster: FakeCluster,
  nodeId: number,
  req: Req<typeof ApiKey.AddOffsetsToTxn>,
  action: InterceptAction,
): Handled {
  const { transactionalId, producerId, producerEpoch, groupId } = req.body;
  let code = coordinatorPrecheck(
    cluster,
    nodeId,
    action,
    CoordinatorType.TRANSACTION,
    transactionalId,
  );
  if (code === undefined) {
    code = cluster.txn!.addOffsets(transactionalId, producerId, producerEpoch, groupId);
    code = fencedFor(code, req.apiVersion, 2);
  }
  const errorCode = code;
  const frame = responseFrame(req, req.apiVersion, (w) =>
    encodeAddOffsetsToTxnResponse(w, req.apiVersion, {
      throttleTimeMs: action.throttleTimeMs ?? 0,
      errorCode,
    }),
  );
  return answer(frame, errorCode);
}

function txnOffsetCommit(
  cluster: FakeCluster,
  nodeId: number,
  req: Req<typeof ApiKey.TxnOffsetCommit>,
  action: InterceptAction,
): Handled {
  const { transactionalId, groupId, producerId, producerEpoch, topics } = req.body;
  let code = coordinatorPrecheck(cluster, nodeId, action, CoordinatorType.GROUP, groupId);
  if (code === undefined) {
    const offsets = new Map<string, number>();
    for (const t of topics) {
      for (const p of t.partitions) offsets.set(`${t.name}:${p.partitionIndex}`, p.committedOffset);
    }
    const txn = cluster.txn!;
    code = txn.commitOffsets(
      transactionalId,
      producerId,
      producerEpoch,
      groupId,
      offsets,
      txn.v2 && req.apiVersion >= 5,
      req.apiVersion >= 4,
    );
  }
  const errorCode = code;
  const frame = responseFrame(req, req.apiVersion, (w) =>
    encodeTxnOffsetCommitResponse(w, req.apiVersion, {
      throttleTimeMs: action.throttleTimeMs ?? 0,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
      })),
    }),
  );
  return answer(frame, errorCode);
}

function endTxn(
  cluster: FakeCluster,
  nodeId: number,
  req: Req<typeof ApiKey.EndTxn>,
  action: InterceptAction,
): Handled {
  const { transactionalId, producerId, producerEpoch, committed } = req.body;
  const pre = coordinatorPrecheck(
    cluster,
    nodeId,
    action,
    CoordinatorType.TRANSACTION,
    transactionalId,
  );
  const res =
    pre !== undefined
      ? { errorCode: pre, producerId: -1, producerEpoch: -1 }
      : cluster.txn!.endTxn(transactionalId, producerId, producerEpoch, committed, req.apiVersion);
  const frame = responseFrame(req, req.apiVersion, (w) =>
    encodeEndTxnResponse(w, req.apiVersion, {
      throttleTimeMs: action.throttleTimeMs ?? 0,
      ...res,
    }),
  );
  return answer(frame, res.errorCode);
}
