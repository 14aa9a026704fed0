/**
 * Bootstrap and metadata: the map of brokers, topics, partitions, leaders and
 * leader epochs, kept fresh by a periodic refresh and by refreshes asked for
 * when a broker reports stale routing or a connection drops. The pieces live
 * beside it: the bootstrap list (bootstrap.ts), when refreshes run
 * (refresh-scheduler.ts), what failing brokers are logged and reported as
 * (connection-failures.ts), and each broker's connection (broker-node.ts).
 */
import { ApiKey } from "../protocol/api-keys.js";
import {
  decodeMetadataResponse,
  encodeMetadataRequest,
  type MetadataResponse,
} from "../protocol/metadata.js";
import { BrokerNode, type ConnectionSettings } from "./broker-node.js";
import { KafkaClientError } from "./client-error.js";
import type { BrokerConnection } from "./connection.js";
import { ConnectionFailures } from "./connection-failures.js";
import type { BrokerAddress } from "./diagnostics.js";
import type { Logger } from "./logger.js";
import { RefreshScheduler } from "./refresh-scheduler.js";
import { sleep } from "./request.js";

export { parseBootstrap } from "./bootstrap.js";

export interface PartitionMetadata {
  /** Leader node id, -1 while unknown. */
  leader: number;
  leaderEpoch: number;
  errorCode: number;
}

export interface TopicMetadata {
  name: string;
  /** Hex of the topic id (Metadata v10+); "" when the broker does not send ids. */
  topicId: string;
  errorCode: number;
  partitions: PartitionMetadata[];
  updatedAt: number;
}

export interface ClusterOptions {
  bootstrap: readonly { host: string; port: number }[];
  connection: ConnectionSettings;
  reconnectBackoffMs: number;
  reconnectBackoffMaxMs: number;
  /** Periodic refresh of the topics in use (-1: none beyond metadata.max.age.ms). */
  refreshIntervalMs: number;
  maxAgeMs: number;
  /** First delay of a refresh asked for after an error; doubles up to retryBackoffMaxMs. */
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
  /** allow.auto.create.topics: a topic records wait for may be created by the broker. */
  allowAutoCreate: boolean;
  logger: Logger;
}

export interface ClusterEvents {
  /** New metadata arrived: routing may have changed. */
  onMetadata(): void;
  /**
   * Topics with records waiting for their metadata: the only ones a refresh
   * asks the broker to create (librdkafka's allow.auto.create.topics), so
   * that a topic deleted on purpose is not created again by a refresh.
   */
  topicsAwaitingMetadata(): Iterable<string>;
  /** A broker's connection came up or freed an in-flight slot. */
  onBrokerReady(nodeId: number): void;
  /** A broker's connection failed or closed. */
  onBrokerDown(nodeId: number, err: Error): void;
  /**
   * A connection attempt or a connection to any broker (bootstrap ones too)
   * failed; or, once per outage, every broker is down (ALL_BROKERS_DOWN).
   */
  onConnectionError(err: Error): void;
}

export class Cluster {
  private readonly nodes = new Map<number, BrokerNode>();
  private readonly bootstrapNodes: BrokerNode[];
  readonly topics = new Map<string, TopicMetadata>();
  /** Topics the producer uses: every refresh asks for all of them. */
  private readonly wanted = new Set<string>();
  private readonly refreshes: RefreshScheduler;
  private closed = false;
  /** Bumped by every metadata response applied. */
  version = 0;
  /**
   * Why the last connection attempt or connection failed, until metadata
   * arrives again: the cause given to records that fail for want of a broker.
   */
  lastConnectionError: Error | undefined;
  clusterId: string | null = null;
  /** Which causes were warned about, which addresses fail: for the logs and ALL_BROKERS_DOWN. */
  private readonly failures: ConnectionFailures;

  constructor(
    private readonly options: ClusterOptions,
    private readonly events: ClusterEvents,
  ) {
    this.failures = new ConnectionFailures(options.logger);
    this.bootstrapNodes = options.bootstrap.map((b, i) => this.makeNode(-1 - i, b.host, b.port));
    this.refreshes = new RefreshScheduler(() => this.fetch(), options);
  }

  private makeNode(nodeId: number, host: string, port: number): BrokerNode {
    return new BrokerNode(
      nodeId,
      host,
      port,
      this.options.connection,
      {
        reconnectBackoffMs: this.options.reconnectBackoffMs,
        reconnectBackoffMaxMs: this.options.reconnectBackoffMaxMs,
      },
      {
        onUp: (node) => this.events.onBrokerReady(node.nodeId),
        onConnected: (node) => this.failures.connected(node.address),
        onDown: (node, err, established) => {
          this.lastConnectionError = err;
          this.failures.failed(node.address, err, established);
          this.events.onConnectionError(err);
          if (node.nodeId >= 0) {
            this.events.onBrokerDown(node.nodeId, err);
            this.requestRefresh("connection lost");
          }
          this.checkAllDown(err);
        },
      },
    );
  }

  /** Every broker address known: the bootstrap list and the metadata's brokers. */
  private knownAddresses(): Set<string> {
    const out = new Set<string>();
    for (const node of this.bootstrapNodes) out.add(node.address);
    for (const node of this.nodes.values()) out.add(node.address);
    return out;
  }

  /**
   * Reports ALL_BROKERS_DOWN (once until a broker connects) when every known
   * broker failed its latest connection attempt and none is connected.
   */
  private checkAllDown(last: Error): void {
    if (this.closed) return;
    for (const node of this.nodes.values()) if (node.ready()) return;
    for (const node of this.bootstrapNodes) if (node.ready()) return;
    const err = this.failures.allBrokersDown(this.knownAddresses(), last);
    if (err !== undefined) this.events.onConnectionError(err);
  }

  /** Adds topics to those kept in the metadata map. */
  want(topic: string): void {
    this.wanted.add(topic);
  }

  /** No longer asks for `topic` (the producer has not used it for metadata.max.idle.ms). */
  forget(topic: string): void {
    this.wanted.delete(topic);
    this.topics.delete(topic);
  }

  /**
   * A ready connection to `nodeId`, or undefined; in the latter case a
   * connection attempt is started and onBrokerReady fires when it is up (or,
   * for a node the metadata does not list, a metadata refresh is asked for).
   */
  connection(nodeId: number): BrokerConnection | undefined {
    const node = this.nodes.get(nodeId);
    if (!node) {
      // A leader the broker list does not name: the metadata is inconsistent.
      this.requestRefresh(`node ${nodeId} missing from the broker list`);
      return undefined;
    }
    const up = node.ready();
    if (up) return up;
    node.connect().catch(() => {});
    return undefined;
  }

  /**
   * A ready connection to any broker (for requests any broker answers), or
   * undefined while none is up: a connection attempt is then started and
   * onBrokerReady fires when it is up.
   */
  anyConnection(): BrokerConnection | undefined {
    for (const node of this.nodes.values()) {
      const up = node.ready();
      if (up) return up;
    }
    for (const node of this.bootstrapNodes) {
      const up = node.ready();
      if (up) return up;
    }
    this.candidates()[0]
      ?.connect()
      .catch(() => {});
    return undefined;
  }

  /**
   * A ready connection to any broker, trying them best first until one is up
   * or `deadline` passes (for requests that wait on an answer, such as a
   * coordinator lookup).
   */
  async readyConnection(deadline: number): Promise<BrokerConnection> {
    let last: Error | undefined;
    for (let round = 0; ; round++) {
      if (this.closed) throw new KafkaClientError("DESTROYED", "the producer is closed");
      for (const node of this.candidates()) {
        try {
          return await node.connect();
        } catch (err) {
          last = err as Error;
        }
        if (Date.now() >= deadline || this.closed) break;
      }
      if (Date.now() >= deadline) {
        throw new KafkaClientError(
          "TIMED_OUT",
          `no broker reachable${last ? `: ${last.message}` : ""}`,
          { cause: last },
        );
      }
      await sleep(
        Math.min(this.options.retryBackoffMaxMs, this.options.retryBackoffMs * 2 ** round),
      );
    }
  }

  /**
   * A ready connection to broker `nodeId` at host:port (a coordinator): the
   * metadata's node, or one added from the address a FindCoordinator answer gave.
   */
  nodeConnection(nodeId: number, host: string, port: number): Promise<BrokerConnection> {
    if (this.closed) {
      return Promise.reject(new KafkaClientError("DESTROYED", "the producer is closed"));
    }
    this.addNode(nodeId, host, port);
    return this.nodes.get(nodeId)!.connect();
  }

  /** Round-trip time of the last response per broker, in ms. */
  rtts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const node of this.nodes.values()) {
      if (node.conn) out[node.address] = node.conn.lastRttMs;
    }
    return out;
  }

  /** The leader of a partition as the metadata names it, with its address (diagnostics). */
  leaderAddress(topic: string, partition: number): BrokerAddress | undefined {
    const leader = this.topics.get(topic)?.partitions[partition]?.leader;
    return leader === undefined ? undefined : this.nodes.get(leader)?.brokerAddress;
  }

  /** In-flight requests over all connections. */
  inFlight(): number {
    let n = 0;
    for (const node of this.nodes.values()) n += node.conn?.inFlight ?? 0;
    return n;
  }

  /**
   * Asks for a refresh soon: at once the first time, then with a growing
   * delay while refreshes keep being asked for (RefreshScheduler).
   */
  requestRefresh(reason: string): void {
    this.refreshes.requestRefresh(reason);
  }

  /** Fetches metadata for the wanted topics (one request at a time). */
  refresh(): Promise<void> {
    return this.refreshes.refresh();
  }

  /**
   * One request for the topics records wait for, with auto-creation allowed,
   * and one for the other wanted topics without it.
   */
  private async fetch(): Promise<void> {
    const create = new Set<string>();
    if (this.options.allowAutoCreate) {
      for (const t of this.events.topicsAwaitingMetadata()) if (this.wanted.has(t)) create.add(t);
    }
    if (create.size > 0) {
      const response = await this.ask([...create], true, true);
      if (response !== undefined) this.apply(response);
    }
    const known = [...this.wanted].filter((t) => !create.has(t));
    if (known.length > 0 || create.size === 0) {
      const response = await this.ask(known, false, true);
      if (response !== undefined) this.apply(response);
    }
  }

  /**
   * The metadata of `topics` (null: every topic), for a caller to read: the
   * producer's own map is left as it is. Tries each broker once, best first.
   */
  async describe(topics: readonly string[] | null): Promise<MetadataResponse> {
    const response = await this.ask(topics, false, false);
    if (response === undefined) throw new KafkaClientError("DESTROYED", "the producer is closed");
    return response;
  }

  /**
   * One Metadata request, to the first broker that answers; undefined once
   * closed. When none answers a refresh (`isRefresh`) is asked for again later.
   */
  private async ask(
    names: readonly string[] | null,
    autoCreate: boolean,
    isRefresh: boolean,
  ): Promise<MetadataResponse | undefined> {
    const topics = names === null ? null : names.map((name) => ({ name }));
    let lastError: Error | undefined;
    for (const node of this.candidates()) {
      if (this.closed) return undefined;
      try {
        const conn = await node.connect();
        const version = conn.versionFor(ApiKey.Metadata);
        return await conn.request({
          apiKey: ApiKey.Metadata,
          apiVersion: version,
          encode: (w) =>
            encodeMetadataRequest(w, version, {
              topics,
              ...(version >= 4 && { allowAutoTopicCreation: autoCreate }),
            }),
          decode: (r) => decodeMetadataResponse(r, version),
        });
      } catch (err) {
        lastError = err as Error;
        this.options.logger.debug("metadata request failed", {
          broker: node.address,
          error: lastError.message,
        });
      }
    }
    if (isRefresh) this.requestRefresh("no broker answered the metadata request");
    throw lastError ?? new KafkaClientError("TRANSPORT", "no broker to ask for metadata");
  }

  /** Brokers to ask, best first: connected ones, then known ones, then bootstrap. */
  private candidates(): BrokerNode[] {
    const known = [...this.nodes.values()];
    const up = known.filter((n) => n.ready());
    const down = known
      .filter((n) => !n.ready())
      .sort((a, b) => a.backoffRemaining() - b.backoffRemaining());
    const boot = [...this.bootstrapNodes].sort(
      (a, b) => a.backoffRemaining() - b.backoffRemaining(),
    );
    return [...up, ...down, ...boot];
  }

  private apply(m: MetadataResponse): void {
    const now = Date.now();
    this.lastConnectionError = undefined;
    this.clusterId = m.clusterId;
    const seen = new Set<number>();
    for (const b of m.brokers) {
      seen.add(b.nodeId);
      this.addNode(b.nodeId, b.host, b.port);
    }
    for (const [id, node] of this.nodes) {
      if (!seen.has(id)) {
        node.close();
        this.nodes.delete(id);
      }
    }
    this.failures.forgetAllBut(this.knownAddresses());
    for (const t of m.topics) {
      if (t.name === null) continue;
      const topicId = Buffer.from(t.topicId).toString("hex");
      let old = this.topics.get(t.name);
      // A topic deleted and created again has a new id and leader epochs from 0:
      // the old epochs say nothing about it.
      if (old && old.topicId !== topicId && !/^0*$/.test(topicId)) old = undefined;
      const partitions: PartitionMetadata[] = [];
      for (const p of t.partitions) {
        const prev = old?.partitions[p.partitionIndex];
        // A lagging broker may answer with an older leader epoch: keep the newer view.
        if (prev && prev.leaderEpoch > p.leaderEpoch && p.leaderEpoch >= 0) {
          partitions[p.partitionIndex] = prev;
        } else {
          partitions[p.partitionIndex] = {
            leader: p.errorCode === 0 || p.leaderId >= 0 ? p.leaderId : -1,
            leaderEpoch: p.leaderEpoch,
            errorCode: p.errorCode,
          };
        }
      }
      this.topics.set(t.name, {
        name: t.name,
        topicId,
        errorCode: t.errorCode,
        partitions,
        updatedAt: now,
      });
    }
    this.version++;
    this.events.onMetadata();
  }

  /**
   * Adds or updates a broker the metadata (or a KIP-951 node_endpoints list)
   * names. A bootstrap entry at the same address hands over its connection,
   * so each broker has one connection.
   */
  private addNode(nodeId: number, host: string, port: number): void {
    const node = this.nodes.get(nodeId);
    if (node && node.host === host && node.port === port) return;
    node?.close();
    const fresh = this.makeNode(nodeId, host, port);
    this.nodes.set(nodeId, fresh);
    const boot = this.bootstrapNodes.find((b) => b.host === host && b.port === port);
    const conn = boot?.release();
    if (conn) fresh.adopt(conn);
  }

  /**
   * Takes a partition's new leader from a Produce response (KIP-951), when it
   * is newer than what the map has; `endpoints` names brokers the map may
   * not know yet.
   */
  updateLeader(
    topic: string,
    partition: number,
    leader: number,
    leaderEpoch: number,
    endpoints: readonly { nodeId: number; host: string; port: number }[] = [],
  ): void {
    const p = this.topics.get(topic)?.partitions[partition];
    if (p === undefined || leaderEpoch <= p.leaderEpoch) return;
    if (!this.nodes.has(leader)) {
      const e = endpoints.find((n) => n.nodeId === leader);
      if (e === undefined) return;
      this.addNode(e.nodeId, e.host, e.port);
    }
    p.leader = leader;
    p.leaderEpoch = leaderEpoch;
    this.events.onMetadata();
  }

  close(): void {
    this.closed = true;
    this.refreshes.stop();
    for (const node of this.nodes.values()) node.close();
    for (const node of this.bootstrapNodes) node.close();
  }
}
