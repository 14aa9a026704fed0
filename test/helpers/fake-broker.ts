/**
 * An in-process fake Kafka cluster for timing and fault tests of a producer,
 * built only from our own codecs (src/protocol). Each broker listens on
 * 127.0.0.1 (port 0) and speaks ApiVersions, Metadata, Produce and
 * InitProducerId; the state they share is in fake-broker-state.ts.
 *
 * Where it behaves like Kafka:
 * - One request per connection at a time, answered in order (Kafka mutes a
 *   channel until the response is sent): a delayed answer delays the next
 *   request too, and nothing overtakes it.
 * - Produce: leader check (NOT_LEADER_OR_FOLLOWER, with KIP-951 currentLeader
 *   and node endpoints from v10), unknown topic or partition, the idempotence
 *   and batch checks of fake-broker-state.ts, offsets per partition from 0.
 *   acks=0 gets no response; an acks=0 request with an error closes the
 *   connection. Topics are auto-created by Metadata only, never by Produce.
 * - Metadata v1-12: every broker knows every topic and lists every broker
 *   (stopped ones too: what a client sees in the seconds after a crash).
 *   An auto-created topic is answered LEADER_NOT_AVAILABLE (5) the first time.
 * - ApiVersions v0-3 with KIP-511: a version it does not speak is answered
 *   UNSUPPORTED_VERSION in the v0 layout, listing the ApiVersions range.
 * - A request for an API or version not advertised, a malformed request, or a
 *   frame over `maxRequestBytes` closes the connection (recorded in `errors`).
 * - A throttled response (throttleTimeMs) mutes the connection that long after it.
 *
 * - Transactions, with `transactionVersion` set (fake-broker-txn.ts has the
 *   coordinator's rules): FindCoordinator v0-6 (GROUP and TRANSACTION keys),
 *   InitProducerId with a transactional id, AddPartitionsToTxn v0-3,
 *   AddOffsetsToTxn v0-4, TxnOffsetCommit v0-5 and EndTxn v0-5 are advertised,
 *   each answered NOT_COORDINATOR by a node that does not coordinate its key;
 *   ApiVersions v3 finalizes transaction.version at that level (0 lists
 *   nothing); a Produce batch with the transactional bit is checked with the
 *   coordinator first, and one without a transactional id in the request fails
 *   the request (TRANSACTIONAL_ID_AUTHORIZATION_FAILED). Markers take an offset.
 * - Faults for the next N requests of an API on any node (`inject`): an error
 *   code, a dropped connection, a delayed or swallowed answer, a coordinator
 *   moved to another node. Every decoded request is kept in `journal` (by
 *   default only with `transactionVersion`: heavy traffic keeps nothing).
 *
 * Not modelled: transactions without `transactionVersion` (a transactional id
 * is ignored), replication and acks=-1 versus 1, LogAppendTime, retention
 * (logStartOffset is always 0).
 */
import net from "node:net";
import {
  ADD_OFFSETS_TO_TXN_VERSIONS,
  type AddOffsetsToTxnRequest,
  decodeAddOffsetsToTxnRequest,
} from "../../src/protocol/add-offsets-to-txn.js";
import {
  ADD_PARTITIONS_TO_TXN_VERSIONS,
  type AddPartitionsToTxnRequest,
  decodeAddPartitionsToTxnRequest,
} from "../../src/protocol/add-partitions-to-txn.js";
import { ApiKey, isFlexible } from "../../src/protocol/api-keys.js";
import {
  API_VERSIONS_VERSIONS,
  type ApiVersionsRequest,
  decodeApiVersionsRequest,
} from "../../src/protocol/api-versions.js";
import {
  decodeEndTxnRequest,
  END_TXN_VERSIONS,
  type EndTxnRequest,
} from "../../src/protocol/end-txn.js";
import {
  CoordinatorType,
  decodeFindCoordinatorRequest,
  FIND_COORDINATOR_VERSIONS,
  type FindCoordinatorRequest,
} from "../../src/protocol/find-coordinator.js";
import { FrameSplitter } from "../../src/protocol/frame.js";
import {
  decodeInitProducerIdRequest,
  INIT_PRODUCER_ID_VERSIONS,
  type InitProducerIdRequest,
} from "../../src/protocol/init-producer-id.js";
import { decodeMetadataRequest, type MetadataRequest } from "../../src/protocol/metadata.js";
import {
  decodeProduceRequest,
  type LeaderIdAndEpoch,
  type NodeEndpoint,
  type ProduceRequest,
} from "../../src/protocol/produce.js";
import { Reader } from "../../src/protocol/reader.js";
import {
  decodeTxnOffsetCommitRequest,
  TXN_OFFSET_COMMIT_VERSIONS,
  type TxnOffsetCommitRequest,
} from "../../src/protocol/txn-offset-commit.js";
import type { VersionRange } from "../../src/protocol/versions.js";
import type { Uuid } from "../../src/protocol/writer.js";
import { type Handled, handleRequest } from "./fake-broker-handlers.js";
import {
  ClusterState,
  type ClusterStateOptions,
  type LoggedRecord,
  type TxnMarker,
} from "./fake-broker-state.js";
import {
  type EndedTransaction,
  TransactionCoordinatorModel,
  type TransactionView,
} from "./fake-broker-txn.js";

export type { LoggedRecord, TxnMarker } from "./fake-broker-state.js";
export type { EndedTransaction, TransactionView } from "./fake-broker-txn.js";

/** What the fake advertises unless told otherwise. Produce stops at 12 (no topic ids). */
export const FAKE_API_VERSIONS: Readonly<Record<number, VersionRange>> = {
  [ApiKey.Produce]: { min: 3, max: 12 },
  [ApiKey.Metadata]: { min: 1, max: 12 },
  [ApiKey.ApiVersions]: API_VERSIONS_VERSIONS,
  [ApiKey.InitProducerId]: INIT_PRODUCER_ID_VERSIONS,
};

/** What the fake advertises besides, with `transactionVersion` set. */
export const FAKE_TXN_API_VERSIONS: Readonly<Record<number, VersionRange>> = {
  [ApiKey.FindCoordinator]: FIND_COORDINATOR_VERSIONS,
  [ApiKey.AddPartitionsToTxn]: ADD_PARTITIONS_TO_TXN_VERSIONS,
  [ApiKey.AddOffsetsToTxn]: ADD_OFFSETS_TO_TXN_VERSIONS,
  [ApiKey.EndTxn]: END_TXN_VERSIONS,
  [ApiKey.TxnOffsetCommit]: TXN_OFFSET_COMMIT_VERSIONS,
};

/** The versions the fake can decode: an advertised range must stay inside these. */
const DECODABLE: Readonly<Record<number, VersionRange>> = {
  ...FAKE_API_VERSIONS,
  ...FAKE_TXN_API_VERSIONS,
  [ApiKey.Produce]: { min: 3, max: 13 },
};

export interface FakeClusterOptions extends ClusterStateOptions {
  /** Brokers, node ids 1..n; default 1. */
  nodes?: number;
  /** Created at start; leaders are node ids (default round-robin from node 1). */
  topics?: { name: string; partitions: number; leaders?: number[] }[];
  /** Metadata creates unknown topics (when the request allows it); default false. */
  autoCreateTopics?: boolean;
  /** Partitions of an auto-created topic; default 1. */
  autoCreatePartitions?: number;
  /** Replaces advertised ranges; null removes an API (e.g. InitProducerId: no idempotence). */
  apiVersions?: Partial<Record<number, VersionRange | null>>;
  /** socket.request.max.bytes: a larger frame closes the connection. Default 100 MiB. */
  maxRequestBytes?: number;
  /**
   * Models a transaction coordinator (and advertises its APIs) with this
   * transaction.version finalized: 2 is Transactions v2 (KIP-890), 0 and 1 are v1.
   * Unset (the default): no coordinator, a transactional id is ignored.
   */
  transactionVersion?: 0 | 1 | 2;
  /** How long writing a transaction's markers takes (Prepare*: CONCURRENT_TRANSACTIONS). Default 0. */
  markerDelayMs?: number;
  /** transaction.max.timeout.ms; default 900000. */
  transactionMaxTimeoutMs?: number;
  /**
   * Keep every decoded request (with its records) in `journal`; default: only
   * with `transactionVersion`, so that heavy traffic keeps nothing by default.
   */
  journal?: boolean;
}

interface RequestBase {
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** A decoded request, as the interceptor sees it. */
export type InterceptedRequest =
  | (RequestBase & {
      apiKey: typeof ApiKey.ApiVersions;
      /** null for a version the fake does not speak (answered UNSUPPORTED_VERSION). */
      body: ApiVersionsRequest | null;
    })
  | (RequestBase & { apiKey: typeof ApiKey.Metadata; body: MetadataRequest })
  | (RequestBase & { apiKey: typeof ApiKey.Produce; body: ProduceRequest<Buffer | null> })
  | (RequestBase & { apiKey: typeof ApiKey.InitProducerId; body: InitProducerIdRequest })
  | (RequestBase & { apiKey: typeof ApiKey.FindCoordinator; body: FindCoordinatorRequest })
  | (RequestBase & { apiKey: typeof ApiKey.AddPartitionsToTxn; body: AddPartitionsToTxnRequest })
  | (RequestBase & { apiKey: typeof ApiKey.AddOffsetsToTxn; body: AddOffsetsToTxnRequest })
  | (RequestBase & { apiKey: typeof ApiKey.TxnOffsetCommit; body: TxnOffsetCommitRequest })
  | (RequestBase & { apiKey: typeof ApiKey.EndTxn; body: EndTxnRequest });

/** The decoded request of one API. */
export type RequestOf<K extends number> = Extract<InterceptedRequest, { apiKey: K }>;

/**
 * What to do with one request. Order: closeConnection "before"; apply; wait
 * delayMs; closeConnection "after"; respond; mute for throttleTimeMs.
 */
export interface InterceptAction {
  /** Answer this much later (the request is applied at once); later requests wait behind it. */
  delayMs?: number;
  /**
   * Default true. false: no effect on the cluster (nothing appended, no producer id
   * issued or bumped, no transaction changed); an answer, if sent, says
   * REQUEST_TIMED_OUT (7) for every Produce partition not in partitionErrors,
   * and for InitProducerId and the transaction coordinator's APIs.
   */
  apply?: boolean;
  /** Default true. false: the response is swallowed; the connection goes on. */
  respond?: boolean;
  /** Drop the connection before applying, or after applying instead of answering. */
  closeConnection?: "before" | "after";
  /** "topic:partition" -> error code answered for that partition, which is not applied. */
  partitionErrors?: Record<string, number>;
  /** Sent in the response; the connection is then muted this long, as Kafka does. */
  throttleTimeMs?: number;
  /** "topic:partition" -> KIP-951 current leader (Produce v10+), replacing the fake's own. */
  currentLeader?: Record<string, LeaderIdAndEpoch>;
  /** KIP-951 node endpoints (Produce v10+), replacing the fake's own. */
  nodeEndpoints?: NodeEndpoint[];
  /** Produce: the answer lists topics and partitions in reverse order (Kafka keeps no order). */
  reverseOrder?: boolean;
  /**
   * Answered with this error code, nothing applied: InitProducerId (nothing
   * issued), every Produce partition not in partitionErrors, FindCoordinator
   * (every key), AddPartitionsToTxn and TxnOffsetCommit (every partition),
   * AddOffsetsToTxn, EndTxn.
   */
  errorCode?: number;
}

/** A fault for the next requests of one API, on any node (FakeCluster.inject). */
export interface FaultSpec extends InterceptAction {
  apiKey: number;
  /** How many matching requests take it (default 1; Infinity: until removed). */
  times?: number;
  /** Only requests to this node. */
  nodeId?: number;
  /** Only requests this accepts. */
  match?: (req: InterceptedRequest) => boolean;
  /**
   * First moves the coordinator of the request's key (its transactional id, or
   * its group for TxnOffsetCommit) to this node: the request, if it went to
   * the old coordinator, is answered NOT_COORDINATOR.
   */
  moveCoordinatorTo?: number;
}

/** An injected fault: how often it struck and where. */
export interface Fault {
  readonly spec: FaultSpec;
  /** Requests that took it so far. */
  hits: number;
  /** Matching requests left; 0 once spent (it is then removed). */
  remaining: number;
}

/** One request as the cluster received it (FakeCluster.journal; kept with the `journal` option). */
export interface JournalEntry<R extends InterceptedRequest = InterceptedRequest> {
  nodeId: number;
  /** Date.now() at arrival. */
  at: number;
  req: R;
  /** The fault that took it. */
  fault?: Fault;
  /**
   * The error code answered (the first non-zero one of an answer with several,
   * else 0); undefined while unanswered, when no answer was sent, and for
   * ApiVersions and Metadata.
   */
  errorCode?: number;
  /** Date.now() when the answer was written. */
  answeredAt?: number;
}

export type Interceptor = (
  req: InterceptedRequest,
) => InterceptAction | undefined | Promise<InterceptAction | undefined>;

export interface ReceivedRequest {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** Date.now() at arrival. */
  at: number;
}

/** One TCP connection: its requests are processed one after another. */
class Connection {
  private chain: Promise<void> = Promise.resolve();
  private readonly sleeping = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  closed = false;

  constructor(readonly socket: net.Socket) {
    socket.on("close", () => this.close());
    socket.on("error", () => this.close());
  }

  /** Runs `task` after every task queued before it. */
  enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(() => (this.closed ? undefined : task()));
  }

  /** Resolves after `ms`, or at once when the connection closes. */
  sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.sleeping.delete(entry);
          resolve();
        }, ms),
        wake: resolve,
      };
      this.sleeping.add(entry);
    });
  }

  write(frame: Buffer): void {
    if (!this.closed) this.socket.write(frame);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    for (const s of this.sleeping) {
      clearTimeout(s.timer);
      s.wake();
    }
    this.sleeping.clear();
  }
}

export class FakeBroker {
  readonly host = "127.0.0.1";
  port = 0;
  connectionsAccepted = 0;
  /** Every request received, in arrival order (blackholed ones too). */
  readonly requests: ReceivedRequest[] = [];
  /** Requests that closed their connection (malformed, unsupported) and failures of the fake itself. */
  readonly errors: Error[] = [];
  private server: net.Server | null = null;
  private readonly connections = new Set<Connection>();
  private interceptor: Interceptor | null = null;
  private blackholed = false;
  private stalled = false;

  /** @internal use startFakeCluster */
  constructor(
    readonly nodeId: number,
    private readonly cluster: FakeCluster,
  ) {}

  get running(): boolean {
    return this.server !== null;
  }

  /** Sets (or with null clears) the function consulted for every request. */
  intercept(fn: Interceptor | null): void {
    this.interceptor = fn;
  }

  /** While on, connections are accepted and read but nothing is processed or answered. */
  blackhole(on: boolean): void {
    this.blackholed = on;
  }

  /**
   * While on, connections stop reading (the kernel's buffers fill and a
   * client's writes stall), as a broker that hangs does; off reads again.
   */
  stallReads(on: boolean): void {
    this.stalled = on;
    for (const c of this.connections) {
      if (on) c.socket.pause();
      else c.socket.resume();
    }
  }

  /** Listens again, on the same port once it has one. */
  async start(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: this.host, port: this.port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Closes the listener and every connection. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const c of this.connections) c.close();
    this.connections.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.connectionsAccepted++;
    socket.setNoDelay(true);
    const conn = new Connection(socket);
    this.connections.add(conn);
    socket.on("close", () => this.connections.delete(conn));
    const splitter = new FrameSplitter((frame) => this.onFrame(conn, Buffer.from(frame)), {
      maxFrameBytes: this.cluster.maxRequestBytes,
    });
    socket.on("data", (chunk: Buffer) => {
      try {
        splitter.push(chunk);
      } catch (e) {
        this.fail(conn, e);
      }
    });
    if (this.stalled) socket.pause();
  }

  private fail(conn: Connection, e: unknown): void {
    this.errors.push(e instanceof Error ? e : new Error(String(e)));
    conn.close();
  }

  private onFrame(conn: Connection, frame: Buffer): void {
    const r = new Reader(frame);
    const apiKey = r.int16();
    const apiVersion = r.int16();
    const correlationId = r.int32();
    const clientId = r.nullableString();
    this.requests.push({ apiKey, apiVersion, correlationId, at: Date.now() });
    if (this.blackholed) return;
    const base = { apiVersion, correlationId, clientId };
    const what = `API key ${apiKey} v${apiVersion}`;
    let req: InterceptedRequest | Error;
    try {
      req = this.decode(r, apiKey, base) ?? new Error(`${what} is not advertised`);
    } catch (e) {
      req = new Error(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (req instanceof Error) {
      const err = req;
      conn.enqueue(async () => this.fail(conn, err));
      return;
    }
    const entry = this.cluster.record(this.nodeId, req);
    conn.enqueue(async () => {
      await this.process(conn, entry).catch((e: unknown) => this.fail(conn, e));
    });
  }

  /** The decoded request, or null when its API or version is not advertised. */
  private decode(r: Reader, apiKey: number, base: RequestBase): InterceptedRequest | null {
    const range = this.cluster.advertised(apiKey);
    const v = base.apiVersion;
    const inRange = range !== undefined && v >= range.min && v <= range.max;
    if (apiKey === ApiKey.ApiVersions) {
      // KIP-511: a version we do not speak is answered, not dropped.
      if (!inRange) return { ...base, apiKey, body: null };
      if (isFlexible(apiKey, v)) r.taggedFields();
      const body = decodeApiVersionsRequest(r, v);
      r.expectEnd("ApiVersions request");
      return { ...base, apiKey, body };
    }
    if (!inRange) return null;
    if (isFlexible(apiKey, v)) r.taggedFields();
    let req: InterceptedRequest;
    if (apiKey === ApiKey.Metadata) req = { ...base, apiKey, body: decodeMetadataRequest(r, v) };
    else if (apiKey === ApiKey.Produce) req = { ...base, apiKey, body: decodeProduceRequest(r, v) };
    else if (apiKey === ApiKey.InitProducerId) {
      req = { ...base, apiKey, body: decodeInitProducerIdRequest(r, v) };
    } else if (apiKey === ApiKey.FindCoordinator) {
      req = { ...base, apiKey, body: decodeFindCoordinatorRequest(r, v) };
    } else if (apiKey === ApiKey.AddPartitionsToTxn) {
      req = { ...base, apiKey, body: decodeAddPartitionsToTxnRequest(r, v) };
    } else if (apiKey === ApiKey.AddOffsetsToTxn) {
      req = { ...base, apiKey, body: decodeAddOffsetsToTxnRequest(r, v) };
    } else if (apiKey === ApiKey.TxnOffsetCommit) {
      req = { ...base, apiKey, body: decodeTxnOffsetCommitRequest(r, v) };
    } else if (apiKey === ApiKey.EndTxn) {
      req = { ...base, apiKey, body: decodeEndTxnRequest(r, v) };
    } else return null;
    r.expectEnd(`request body`);
    return req;
  }

  private async process(conn: Connection, entry: JournalEntry): Promise<void> {
    const req = entry.req;
    const own = (await this.interceptor?.(req)) ?? {};
    if (conn.closed) return;
    // An injected fault wins over the interceptor where both say something.
    const fault = this.cluster.takeFault(this.nodeId, req);
    const action: InterceptAction = fault ? { ...own, ...fault.spec } : own;
    if (fault) {
      entry.fault = fault;
      if (fault.spec.moveCoordinatorTo !== undefined) {
        const key = coordinatorKey(req);
        if (key) this.cluster.moveCoordinator(key.key, fault.spec.moveCoordinatorTo, key.type);
      }
    }
    if (action.closeConnection === "before") return conn.close();
    const out: Handled = handleRequest(this.cluster, this.nodeId, req, action);
    await conn.sleep(action.delayMs ?? 0);
    if (conn.closed) return;
    if (action.closeConnection === "after" || out.close) return conn.close();
    if (out.frame && action.respond !== false && !this.blackholed) {
      conn.write(out.frame);
      entry.errorCode = out.errorCode;
      entry.answeredAt = Date.now();
    }
    await conn.sleep(action.throttleTimeMs ?? 0);
  }
}

/** The coordinator key a request is about, if any. */
function coordinatorKey(req: InterceptedRequest): { type: CoordinatorType; key: string } | null {
  switch (req.apiKey) {
    case ApiKey.FindCoordinator:
      return { type: req.body.keyType, key: req.body.keys[0] ?? "" };
    case ApiKey.TxnOffsetCommit:
      return { type: CoordinatorType.GROUP, key: req.body.groupId };
    case ApiKey.InitProducerId:
    case ApiKey.Produce:
      return req.body.transactionalId === null
        ? null
        : { type: CoordinatorType.TRANSACTION, key: req.body.transactionalId };
    case ApiKey.AddPartitionsToTxn:
    case ApiKey.AddOffsetsToTxn:
    case ApiKey.EndTxn:
      return { type: CoordinatorType.TRANSACTION, key: req.body.transactionalId };
    default:
      return null;
  }
}

export interface FakeTopic {
  id: Uuid;
  partitions: { leader: number; leaderEpoch: number; logEndOffset: number }[];
}

export class FakeCluster {
  readonly brokers: FakeBroker[] = [];
  readonly state: ClusterState;
  readonly maxRequestBytes: number;
  readonly autoCreateTopics: boolean;
  readonly autoCreatePartitions: number;
  /** The transaction coordinator model; undefined without `transactionVersion`. */
  readonly txn: TransactionCoordinatorModel | undefined;
  /** Every decoded request, in arrival order, with what it was answered (see the `journal` option). */
  readonly journal: JournalEntry[] = [];
  private readonly keepJournal: boolean;
  private readonly faults: Fault[] = [];
  private readonly versions = new Map<number, VersionRange>();

  /** @internal use startFakeCluster */
  constructor(options: FakeClusterOptions) {
    const n = options.nodes ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`nodes must be >= 1, got ${n}`);
    this.state = new ClusterState(
      Array.from({ length: n }, (_, i) => i + 1),
      options,
    );
    this.maxRequestBytes = options.maxRequestBytes ?? 100 * 1024 * 1024;
    this.autoCreateTopics = options.autoCreateTopics ?? false;
    this.autoCreatePartitions = options.autoCreatePartitions ?? 1;
    const tv = options.transactionVersion;
    this.keepJournal = options.journal ?? tv !== undefined;
    this.txn =
      tv === undefined
        ? undefined
        : new TransactionCoordinatorModel(this.state, {
            transactionVersion: tv,
            markerDelayMs: options.markerDelayMs ?? 0,
            maxTimeoutMs: options.transactionMaxTimeoutMs ?? 900_000,
          });
    const defaults =
      tv === undefined ? FAKE_API_VERSIONS : { ...FAKE_API_VERSIONS, ...FAKE_TXN_API_VERSIONS };
    for (const [key, range] of Object.entries({ ...defaults, ...options.apiVersions })) {
      const apiKey = Number(key);
      if (range === null || range === undefined) continue;
      const can = DECODABLE[apiKey];
      if (!can || range.min < can.min || range.max > can.max || range.min > range.max) {
        throw new RangeError(`the fake cannot speak API key ${apiKey} v${range.min}-v${range.max}`);
      }
      this.versions.set(apiKey, range);
    }
    if (!this.versions.has(ApiKey.ApiVersions)) throw new RangeError("ApiVersions is required");
    if (
      tv === undefined &&
      Object.keys(FAKE_TXN_API_VERSIONS).some((k) => this.versions.has(Number(k)))
    ) {
      throw new RangeError("the transaction coordinator's APIs need transactionVersion");
    }
    for (const t of options.topics ?? []) this.state.createTopic(t.name, t.partitions, t.leaders);
    for (const id of this.state.nodeIds) this.brokers.push(new FakeBroker(id, this));
  }

  /** "127.0.0.1:port,..." for every broker. */
  get bootstrap(): string {
    return this.brokers.map((b) => `${b.host}:${b.port}`).join(",");
  }

  broker(nodeId: number): FakeBroker {
    const b = this.brokers.find((b) => b.nodeId === nodeId);
    if (!b) throw new RangeError(`no broker ${nodeId}`);
    return b;
  }

  /** The advertised range of an API, undefined when it is not offered. */
  advertised(apiKey: number): VersionRange | undefined {
    return this.versions.get(apiKey);
  }

  /** Every advertised API, by key. */
  advertisedApis(): [number, VersionRange][] {
    return [...this.versions].sort((a, b) => a[0] - b[0]);
  }

  topic(name: string): FakeTopic {
    const t = this.state.topic(name);
    return {
      id: t.id,
      partitions: t.partitions.map((p) => ({
        leader: p.leader,
        leaderEpoch: p.leaderEpoch,
        logEndOffset: p.nextOffset,
      })),
    };
  }

  createTopic(name: string, partitions: number, leaders?: number[]): void {
    if (this.state.topics.has(name)) throw new RangeError(`topic ${name} exists`);
    this.state.createTopic(name, partitions, leaders);
  }

  /** Moves a partition's leader (-1: none) and bumps its leader epoch. */
  setLeader(topic: string, partition: number, nodeId: number): void {
    this.state.setLeader(topic, partition, nodeId);
  }

  /** Deletes and creates a topic again: a new id, leader epochs 0, empty logs, no producer state. */
  recreateTopic(name: string, partitions: number, leaders?: number[]): void {
    this.state.topic(name);
    this.state.createTopic(name, partitions, leaders);
  }

  /** Deletes a topic: its logs and producer state go; Metadata no longer lists it. */
  deleteTopic(name: string): void {
    this.state.topic(name);
    this.state.topics.delete(name);
  }

  /** The topic's max.message.bytes: a larger batch is answered MESSAGE_TOO_LARGE (10). */
  setMaxMessageBytes(topic: string, bytes: number): void {
    this.state.topic(topic).maxMessageBytes = bytes;
  }

  log(topic: string, partition: number): readonly LoggedRecord[] {
    return this.state.partition(topic, partition).log;
  }

  /** Transaction markers of a partition, in offset order. */
  markers(topic: string, partition: number): readonly TxnMarker[] {
    return this.state.partition(topic, partition).markers;
  }

  /** The records a read_committed consumer reads (no open or aborted transaction's). */
  readCommitted(topic: string, partition: number): LoggedRecord[] {
    return this.state.readCommitted(topic, partition);
  }

  // --- transactions (with transactionVersion) ---------------------------------

  private coordinatorModel(): TransactionCoordinatorModel {
    if (this.txn === undefined)
      throw new RangeError("no transaction coordinator: set transactionVersion");
    return this.txn;
  }

  /** The node coordinating a transactional id (or, with GROUP, a consumer group). */
  coordinatorOf(key: string, type: CoordinatorType = CoordinatorType.TRANSACTION): number {
    return this.coordinatorModel().coordinatorOf(type, key);
  }

  /** Moves the coordinator of a transactional id (or group): the old node answers NOT_COORDINATOR. */
  moveCoordinator(
    key: string,
    nodeId: number,
    type: CoordinatorType = CoordinatorType.TRANSACTION,
  ): void {
    this.coordinatorModel().move(type, key, nodeId);
  }

  /** What the coordinator holds for a transactional id; undefined before its first InitProducerId. */
  transaction(transactionalId: string): TransactionView | undefined {
    return this.coordinatorModel().view(transactionalId);
  }

  /** Transactions that ended (by EndTxn or by the coordinator), oldest first. */
  get endedTransactions(): readonly EndedTransaction[] {
    return this.coordinatorModel().ended;
  }

  /** The coordinator aborts the open transaction itself, as at its timeout; false when none is open. */
  abortTransaction(transactionalId: string): boolean {
    return this.coordinatorModel().abortTransaction(transactionalId);
  }

  /** Offsets committed by transactions for a group: "topic:partition" -> offset. */
  committedOffsets(groupId: string): ReadonlyMap<string, number> {
    return this.coordinatorModel().committedOffsets.get(groupId) ?? new Map();
  }

  // --- faults and the journal --------------------------------------------------

  /** Injects a fault for the next matching requests (see FaultSpec). */
  inject(spec: FaultSpec): Fault {
    if (spec.moveCoordinatorTo !== undefined) {
      this.coordinatorModel();
      this.broker(spec.moveCoordinatorTo);
    }
    const fault: Fault = { spec, hits: 0, remaining: spec.times ?? 1 };
    if (fault.remaining > 0) this.faults.push(fault);
    return fault;
  }

  /** Removes every injected fault not spent yet. */
  clearFaults(): void {
    for (const f of this.faults) f.remaining = 0;
    this.faults.length = 0;
  }

  /** @internal The first fault for this request, counted as taken. */
  takeFault(nodeId: number, req: InterceptedRequest): Fault | undefined {
    const i = this.faults.findIndex(
      (f) =>
        f.spec.apiKey === req.apiKey &&
        (f.spec.nodeId === undefined || f.spec.nodeId === nodeId) &&
        (f.spec.match === undefined || f.spec.match(req)),
    );
    if (i < 0) return undefined;
    const fault = this.faults[i]!;
    fault.hits++;
    fault.remaining--;
    if (fault.remaining <= 0) this.faults.splice(i, 1);
    return fault;
  }

  /** @internal Adds a request to the journal. */
  record(nodeId: number, req: InterceptedRequest): JournalEntry {
    const entry: JournalEntry = { nodeId, at: Date.now(), req };
    if (this.keepJournal) this.journal.push(entry);
    return entry;
  }

  /** The journal's requests of one API, in arrival order. */
  received<K extends number>(apiKey: K): JournalEntry<RequestOf<K>>[] {
    return this.journal.filter((e): e is JournalEntry<RequestOf<K>> => e.req.apiKey === apiKey);
  }

  async close(): Promise<void> {
    this.txn?.close();
    await Promise.all(this.brokers.map((b) => b.stop()));
  }
}

/** Starts every broker of a new fake cluster. */
export async function startFakeCluster(options: FakeClusterOptions = {}): Promise<FakeCluster> {
  const cluster = new FakeCluster(options);
  try {
    await Promise.all(cluster.brokers.map((b) => b.start()));
  } catch (e) {
    await cluster.close();
    throw e;
  }
  return cluster;
}
