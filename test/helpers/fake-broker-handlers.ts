/**
 * The fake cluster's answers (see fake-broker.ts): one function per API, from a
 * decoded request to a whole response frame, applying the request to the
 * shared state on the way.
 */
import { ApiKey } from "../../src/protocol/api-keys.js";
import {
  type ApiVersion,
  CLIENT_SOFTWARE_PATTERN,
  encodeApiVersionsResponse,
  UNSUPPORTED_VERSION_ERROR,
} from "../../src/protocol/api-versions.js";
import { ErrorCode } from "../../src/protocol/errors.js";
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
import { isValidTopicName } from "../../src/protocol/topic-name.js";
import { Writer, ZERO_UUID } from "../../src/protocol/writer.js";
import type { FakeCluster, InterceptAction, InterceptedRequest } from "./fake-broker.js";
import type { AppendResult, TopicState } from "./fake-broker-state.js";

export const FAKE_CLUSTER_ID = "fake-cluster";

/** A response frame to send (null: none, as for acks=0) and whether to close the connection. */
export interface Handled {
  frame: Buffer | null;
  close: boolean;
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
      return { frame: initProducerId(cluster, req, action), close: false };
  }
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
  return responseFrame(req, req.apiVersion, (w) =>
    encodeApiVersionsResponse(w, req.apiVersion, {
      errorCode: valid ? 0 : ErrorCode.INVALID_REQUEST,
      apiKeys,
      throttleTimeMs: action.throttleTimeMs ?? 0,
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
  const { acks } = req.body;
  const validAcks = acks === -1 || acks === 0 || acks === 1;
  const endpoints = new Map<number, NodeEndpoint>();
  let anyError = false;

  const responses = req.body.topicData.map((t) => {
    const topic =
      version >= 13 ? state.topicById(t.topicId ?? ZERO_UUID) : state.topics.get(t.name);
    const name = topic?.name ?? t.name;
    const partitionResponses = t.partitionData.map((pd): PartitionProduceResponse => {
      const key = `${name}:${pd.index}`;
      const forced = action.partitionErrors?.[key];
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
      else res = state.append(topic, pd.index, pd.records);
      if (res.errorCode !== 0) anyError = true;
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
  return { frame, close: false };
}

function initProducerId(
  cluster: FakeCluster,
  req: Req<typeof ApiKey.InitProducerId>,
  action: InterceptAction,
): Buffer {
  const { transactionalId, producerId, producerEpoch } = req.body;
  const error = (errorCode: number) => ({ errorCode, producerId: -1, producerEpoch: -1 });
  const res =
    transactionalId === ""
      ? error(ErrorCode.INVALID_REQUEST)
      : action.errorCode !== undefined
        ? error(action.errorCode)
        : action.apply === false
          ? error(ErrorCode.REQUEST_TIMED_OUT)
          : cluster.state.initProducerId(producerId, producerEpoch);
  return responseFrame(req, req.apiVersion, (w) =>
    encodeInitProducerIdResponse(w, req.apiVersion, {
      throttleTimeMs: action.throttleTimeMs ?? 0,
      ...res,
    }),
  );
}
