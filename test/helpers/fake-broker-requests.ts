/** Raw-socket requests for tests of the fake cluster (fake-broker.ts), one partition at a time. */
import {
  type AddOffsetsToTxnResponse,
  decodeAddOffsetsToTxnResponse,
  encodeAddOffsetsToTxnRequest,
} from "../../src/protocol/add-offsets-to-txn.js";
import {
  type AddPartitionsToTxnResponse,
  type AddPartitionsToTxnTopic,
  decodeAddPartitionsToTxnResponse,
  encodeAddPartitionsToTxnRequest,
} from "../../src/protocol/add-partitions-to-txn.js";
import { ApiKey } from "../../src/protocol/api-keys.js";
import {
  type ApiVersionsResponse,
  decodeApiVersionsResponse,
  encodeApiVersionsRequest,
} from "../../src/protocol/api-versions.js";
import {
  decodeEndTxnResponse,
  type EndTxnResponse,
  encodeEndTxnRequest,
} from "../../src/protocol/end-txn.js";
import {
  CoordinatorType,
  decodeFindCoordinatorResponse,
  encodeFindCoordinatorRequest,
  type FindCoordinatorResponse,
} from "../../src/protocol/find-coordinator.js";
import {
  encodeRequestFrame,
  readResponseHeader,
  responseHeaderVersion,
} from "../../src/protocol/headers.js";
import {
  decodeInitProducerIdResponse,
  encodeInitProducerIdRequest,
  type InitProducerIdResponse,
} from "../../src/protocol/init-producer-id.js";
import {
  decodeMetadataResponse,
  encodeMetadataRequest,
  type MetadataResponse,
} from "../../src/protocol/metadata.js";
import {
  decodeProduceResponse,
  encodeProduceRequest,
  type ProduceResponse,
} from "../../src/protocol/produce.js";
import { Reader } from "../../src/protocol/reader.js";
import { encodeRecordBatch } from "../../src/protocol/record-batch.js";
import {
  decodeTxnOffsetCommitResponse,
  encodeTxnOffsetCommitRequest,
  type TxnOffsetCommitResponse,
} from "../../src/protocol/txn-offset-commit.js";
import { type Uuid, Writer } from "../../src/protocol/writer.js";
import type { FakeBroker } from "./fake-broker.js";
import { RawClient } from "./raw-client.js";
import { T0 } from "./records.js";

export const connect = (b: FakeBroker): Promise<RawClient> =>
  RawClient.connect(`${b.host}:${b.port}`);

export function apiVersions(c: RawClient, version: number): Promise<ApiVersionsResponse> {
  return c.request(
    ApiKey.ApiVersions,
    version,
    (w) =>
      encodeApiVersionsRequest(w, version, {
        clientSoftwareName: "event-kafka",
        clientSoftwareVersion: "0.1.0",
      }),
    (r) => decodeApiVersionsResponse(r, version),
  );
}

export function metadata(
  c: RawClient,
  version: number,
  topics: string[] | null,
  allowAutoTopicCreation = true,
): Promise<MetadataResponse> {
  return c.request(
    ApiKey.Metadata,
    version,
    (w) =>
      encodeMetadataRequest(w, version, {
        topics: topics === null ? null : topics.map((name) => ({ name })),
        allowAutoTopicCreation,
      }),
    (r) => decodeMetadataResponse(r, version),
  );
}

export function initProducerId(
  c: RawClient,
  version: number,
  producerId = -1,
  producerEpoch = -1,
  transactionalId: string | null = null,
  transactionTimeoutMs = 60000,
): Promise<InitProducerIdResponse> {
  return c.request(
    ApiKey.InitProducerId,
    version,
    (w) =>
      encodeInitProducerIdRequest(w, version, {
        transactionalId,
        transactionTimeoutMs,
        producerId,
        producerEpoch,
      }),
    (r) => decodeInitProducerIdResponse(r, version),
  );
}

export function findCoordinator(
  c: RawClient,
  version: number,
  keys: string[],
  keyType: CoordinatorType = CoordinatorType.TRANSACTION,
): Promise<FindCoordinatorResponse> {
  return c.request(
    ApiKey.FindCoordinator,
    version,
    (w) => encodeFindCoordinatorRequest(w, version, { keyType, keys }),
    (r) => decodeFindCoordinatorResponse(r, version, keys[0]),
  );
}

/** A transactional id with its current producer id and epoch. */
export interface TxnIdentity {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
}

export function addPartitionsToTxn(
  c: RawClient,
  version: number,
  id: TxnIdentity,
  topics: AddPartitionsToTxnTopic[],
): Promise<AddPartitionsToTxnResponse> {
  return c.request(
    ApiKey.AddPartitionsToTxn,
    version,
    (w) => encodeAddPartitionsToTxnRequest(w, version, { ...id, topics }),
    (r) => decodeAddPartitionsToTxnResponse(r, version),
  );
}

export function addOffsetsToTxn(
  c: RawClient,
  version: number,
  id: TxnIdentity,
  groupId: string,
): Promise<AddOffsetsToTxnResponse> {
  return c.request(
    ApiKey.AddOffsetsToTxn,
    version,
    (w) => encodeAddOffsetsToTxnRequest(w, version, { ...id, groupId }),
    (r) => decodeAddOffsetsToTxnResponse(r, version),
  );
}

/** TxnOffsetCommit of one offset ("topic", partition 0). */
export function txnOffsetCommit(
  c: RawClient,
  version: number,
  id: TxnIdentity,
  groupId: string,
  topic: string,
  offset: number,
): Promise<TxnOffsetCommitResponse> {
  return c.request(
    ApiKey.TxnOffsetCommit,
    version,
    (w) =>
      encodeTxnOffsetCommitRequest(w, version, {
        ...id,
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: "",
        groupInstanceId: null,
        topics: [
          {
            name: topic,
            partitions: [
              {
                partitionIndex: 0,
                committedOffset: offset,
                committedLeaderEpoch: -1,
                committedMetadata: null,
              },
            ],
          },
        ],
      }),
    (r) => decodeTxnOffsetCommitResponse(r, version),
  );
}

export function endTxn(
  c: RawClient,
  version: number,
  id: TxnIdentity,
  committed: boolean,
): Promise<EndTxnResponse> {
  return c.request(
    ApiKey.EndTxn,
    version,
    (w) => encodeEndTxnRequest(w, version, { ...id, committed }),
    (r) => decodeEndTxnResponse(r, version),
  );
}

export interface ProduceTo {
  topic: string;
  /** For Produce v13. */
  topicId?: Uuid;
  partition?: number;
  version?: number;
  acks?: number;
  /** The request's transactional id (default null). */
  transactionalId?: string | null;
}

/** Writes a Produce request frame for one partition; returns its correlation id. */
export function sendProduce(c: RawClient, records: Buffer | null, to: ProduceTo): number {
  const version = to.version ?? 12;
  const correlationId = c.nextCorrelationId();
  const w = new Writer(256);
  const frame = encodeRequestFrame(
    w,
    { apiKey: ApiKey.Produce, apiVersion: version, correlationId, clientId: "fake-test" },
    (body) =>
      encodeProduceRequest(body, version, {
        transactionalId: to.transactionalId ?? null,
        acks: to.acks ?? -1,
        timeoutMs: 5000,
        topicData: [
          {
            name: to.topic,
            topicId: to.topicId,
            partitionData: [{ index: to.partition ?? 0, records }],
          },
        ],
      }),
  );
  c.sendRaw(Buffer.from(frame));
  return correlationId;
}

/** Reads the next frame as the Produce response to `correlationId`. */
export async function readProduce(
  c: RawClient,
  correlationId: number,
  version = 12,
): Promise<ProduceResponse> {
  const r = new Reader(await c.nextFrame(5000));
  const header = readResponseHeader(r, responseHeaderVersion(ApiKey.Produce, version));
  if (header.correlationId !== correlationId) {
    throw new Error(`correlation id ${header.correlationId}, expected ${correlationId}`);
  }
  const res = decodeProduceResponse(r, version);
  r.expectEnd("Produce response");
  return res;
}

/** One Produce round trip for one partition; returns that partition's answer and the throttle. */
export async function produce(c: RawClient, records: Buffer | null, to: ProduceTo) {
  const version = to.version ?? 12;
  const res = await readProduce(c, sendProduce(c, records, to), version);
  return { ...res.responses[0]!.partitionResponses[0]!, res };
}

/**
 * A batch of `n` records "k<seq>"/"v<seq>" from producer `pid`, sequence `seq`
 * (-1: no producer), with the transactional bit when `transactional`.
 */
export function batch(seq: number, n = 1, pid = 1000, epoch = 0, transactional = false): Buffer {
  const records = Array.from({ length: n }, (_, i) => ({
    key: `k${seq + i}`,
    value: `v${seq + i}`,
    timestamp: T0 + i,
  }));
  return Buffer.from(
    encodeRecordBatch(records, {
      producerId: pid,
      producerEpoch: pid === -1 ? -1 : epoch,
      baseSequence: pid === -1 ? -1 : seq,
      transactional,
    }),
  );
}
