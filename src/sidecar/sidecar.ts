/**
 * The sidecar's core: routes events to their producers, answers requests once
 * Kafka has acknowledged them, counts everything, and shuts down in order.
 * Listeners (TCP, UDP, UNIX) hand it parsed messages; it knows no sockets.
 */
import { KafkaClientError } from "../client/client-error.js";
import type { Logger } from "../client/logger.js";
import { Producer } from "../producer/producer.js";
import type { DeliveryCallback, DeliveryError } from "../producer/record.js";
import type { ProducerStats } from "../producer/stats.js";
import { producerKey, producerPropertiesOf } from "../socket/socket.js";
import {
  type BadMessage,
  badInputCode,
  type EventMessage,
  EventReader,
  errorReply,
  METHOD_NOT_FOUND,
  okReply,
  type Reply,
  SERVER_ERROR,
} from "./event-message.js";
import { type LogWriter, OnceLog, ThrottledLog } from "./peer-log.js";
import { type RouteSpec, RouteTable } from "./routes.js";

/** Where a request's answer goes: a TCP peer or a UDP sender. */
export interface Replier {
  /** A request was queued: an answer will follow. */
  expect(): void;
  /** The answer to a request expect() announced. */
  answer(reply: Reply): void;
  /** An answer sent at once (bad input, no route), with no expect() before it. */
  send(reply: Reply): void;
}

/** Something waiting for room in a full producer queue (a paused TCP peer). */
export interface RoomWaiter {
  retry(): void;
}

/** Why a routed event was dropped before it was queued (unrouted ones are counted apart). */
export type DropReason = "queue_full" | "shutdown";

/** How often waiters for room retry when no report has woken them. */
const ROOM_FALLBACK_MS = 100;

/** One producer, shared by the routes with the same brokers and properties. */
export class ClusterEntry {
  private readonly waiters = new Set<RoomWaiter>();
  private retryScheduled = false;
  private fallback: NodeJS.Timeout | undefined;
  private readonly maxRecords: number;

  constructor(
    readonly producer: Producer,
    /** Its broker list, for metrics and logs. */
    readonly brokers: string,
    readonly index: number,
  ) {
    this.maxRecords = producer.config["queue.buffering.max.messages"];
  }

  /** The queue cannot take a record now (checked before building one). */
  get full(): boolean {
    return this.producer.queueLength >= this.maxRecords;
  }

  /** A report made room: the waiters try again, once per turn of the event loop. */
  noteRoom(): void {
    if (this.waiters.size === 0 || this.retryScheduled) return;
    this.retryScheduled = true;
    setImmediate(() => {
      this.retryScheduled = false;
      clearTimeout(this.fallback);
      this.fallback = undefined;
      const waiting = [...this.waiters];
      this.waiters.clear();
      for (const w of waiting) w.retry();
    });
  }

  /**
   * Waits for room: reports wake the waiter. A timer backs them up, for a
   * queue full by its bytes limit while few records wait.
   */
  wait(waiter: RoomWaiter): void {
    this.waiters.add(waiter);
    this.fallback ??= setTimeout(() => {
      this.fallback = undefined;
      this.noteRoom();
    }, ROOM_FALLBACK_MS);
  }
}

export class Route {
  published = 0;
  failed = 0;
  readonly dropped: Record<DropReason, number> = { queue_full: 0, shutdown: 0 };
  /** The report of a notification's record: counts, makes room. No closure per record. */
  readonly onReport: DeliveryCallback;

  constructor(
    readonly spec: RouteSpec,
    readonly cluster: ClusterEntry,
    /** Where EventMessage.keys holds this route's key; -1 for no key. */
    readonly keyIndex: number,
    private readonly onFailure: (route: Route, err: Error) => void,
  ) {
    this.onReport = (err) => {
      this.count(err);
      cluster.noteRoom();
    };
  }

  count(err: DeliveryError | null): void {
    if (err === null) this.published++;
    else {
      this.failed++;
      this.onFailure(this, err);
    }
  }
}

/** Messages seen by one listener. */
export class ListenerStats {
  received = 0;
  readonly bad = new Map<string, number>();

  constructor(
    /** `tcp:127.0.0.1:8090`, `udp:...`, `unix:/path`. */
    readonly label: string,
  ) {}
}

export interface SidecarSummary {
  received: number;
  published: number;
  failed: number;
  dropped: number;
  bad_input: number;
  /** Answers owed to peers that had gone. */
  unanswered: number;
  /** Events lost to the shutdown: failed after it began, or still unqueued at its deadline. */
  lost_at_shutdown: number;
  seconds: number;
}

export interface SidecarOptions {
  routes: readonly RouteSpec[];
  eventParam?: string;
  logger: Logger;
  log: LogWriter;
  /** Connection failures of a producer (its onError). */
  onProducerError?: (brokers: string, err: Error) => void;
}

export class Sidecar {
  readonly clusters: ClusterEntry[] = [];
  readonly routes: RouteTable<Route>;
  readonly listeners: ListenerStats[] = [];
  /** Reads every listener's messages (one at a time: it keeps no state between them). */
  readonly reader: EventReader;
  unrouted = 0;
  unanswered = 0;
  /** Requests queued and not yet answered, over all peers. */
  awaiting = 0;
  private stoppingFlag = false;
  private failedBeforeStop = 0;
  private readonly startedAt = performance.now();
  private readonly peerLog: ThrottledLog;
  private readonly failureLog: ThrottledLog;
  private readonly unroutedLog: OnceLog;

  constructor(options: SidecarOptions) {
    const keyParams = [
      ...new Set(options.routes.flatMap((r) => (r.keyParam === undefined ? [] : [r.keyParam]))),
    ];
    this.reader = new EventReader(keyParams, options.eventParam);
    this.peerLog = new ThrottledLog(options.log);
    this.failureLog = new ThrottledLog(options.log);
    this.unroutedLog = new OnceLog(options.log);
    const byKey = new Map<string, ClusterEntry>();
    const onFailure = (route: Route, err: Error) =>
      this.failureLog.log(
        `route ${route.spec.event}`,
        `route ${route.spec.event}: a record for "${route.spec.socket.topic}" failed: ${err.message}`,
      );
    const routes = options.routes.map((spec) => {
      const key = producerKey(spec.socket);
      let cluster = byKey.get(key);
      if (cluster === undefined) {
        const brokers = spec.socket.brokers.join(",");
        const producer = new Producer(producerPropertiesOf(spec.socket), {
          logger: options.logger,
          onError: (err) => options.onProducerError?.(brokers, err),
        });
        cluster = new ClusterEntry(producer, brokers, this.clusters.length);
        byKey.set(key, cluster);
        this.clusters.push(cluster);
      }
      const keyIndex = spec.keyParam === undefined ? -1 : this.reader.keyIndex(spec.keyParam);
      return new Route(spec, cluster, keyIndex, onFailure);
    });
    this.routes = new RouteTable(routes);
  }

  get stopping(): boolean {
    return this.stoppingFlag;
  }

  addListener(label: string): ListenerStats {
    const stats = new ListenerStats(label);
    this.listeners.push(stats);
    return stats;
  }

  /**
   * Bad input from `peer`: counted, logged once per peer per minute, answered
   * with a JSON-RPC error when it carried an id.
   */
  badInput(listener: ListenerStats, peer: string, bad: BadMessage, replier?: Replier): void {
    listener.bad.set(bad.reason, (listener.bad.get(bad.reason) ?? 0) + 1);
    this.peerLog.log(peer, `bad input from ${peer} (${listener.label}): ${bad.message}`);
    if (bad.id !== undefined && replier !== undefined) {
      replier.send(errorReply(bad.id, badInputCode(bad.reason), bad.message));
    }
  }

  /** The route of an event, or undefined after counting, logging and answering it dropped. */
  routeOf(msg: EventMessage, replier?: Replier): Route | undefined {
    const route = this.routes.match(msg.name);
    if (route !== undefined) return route;
    this.unrouted++;
    this.unroutedLog.log(
      msg.name,
      `no route for event "${msg.name}": dropped (said once per event name)`,
    );
    if (msg.id !== undefined && replier !== undefined) {
      replier.send(errorReply(msg.id, METHOD_NOT_FOUND, `no route for event "${msg.name}"`));
    }
    return undefined;
  }

  /**
   * Queues the event's record. False when the producer queue is full (nothing
   * done: the caller waits for room or drops it); true otherwise, the record
   * queued or (too large, say) failed, counted and answered.
   */
  publish(route: Route, msg: EventMessage, replier?: Replier): boolean {
    const cluster = route.cluster;
    if (cluster.full) return false;
    const record = {
      topic: route.spec.socket.topic,
      key: route.keyIndex < 0 ? null : msg.keys[route.keyIndex]!,
      value: msg.value,
    };
    const id = msg.id;
    try {
      if (id === undefined || replier === undefined) {
        cluster.producer.produce(record, route.onReport);
        return true;
      }
      cluster.producer.produce(record, (err) => {
        route.count(err);
        this.awaiting--;
        replier.answer(err === null ? okReply(id) : errorReply(id, SERVER_ERROR, err.message));
        cluster.noteRoom();
      });
      this.awaiting++;
      replier.expect();
      return true;
    } catch (err) {
      if (err instanceof KafkaClientError && err.code === "QUEUE_FULL") return false;
      route.count(err as DeliveryError);
      if (id !== undefined && replier !== undefined) {
        replier.send(errorReply(id, SERVER_ERROR, (err as Error).message));
      }
      return true;
    }
  }

  /** Waits for room in the route's producer queue: `waiter.retry()` is called after reports. */
  whenRoom(route: Route, waiter: RoomWaiter): void {
    route.cluster.wait(waiter);
  }

  /** A record dropped before it was queued (a datagram meeting a full queue, shutdown). */
  drop(route: Route | undefined, reason: DropReason, msg: EventMessage, replier?: Replier): void {
    if (route !== undefined) route.dropped[reason]++;
    if (msg.id !== undefined && replier !== undefined) {
      const why = reason === "shutdown" ? "shutting down" : "the producer queue is full";
      replier.send(errorReply(msg.id, SERVER_ERROR, `not queued: ${why}`));
    }
  }

  /** Stops taking events: the listeners see `stopping`. */
  beginStop(): void {
    this.stoppingFlag = true;
    this.failedBeforeStop = this.totalFailed();
  }

  private totalFailed(): number {
    let n = 0;
    for (const r of this.routes.routes) n += r.failed;
    return n;
  }

  /**
   * Flushes and closes every producer within `timeoutMs`; records undelivered
   * then fail (and their requests are answered with the error).
   */
  async closeProducers(timeoutMs: number): Promise<void> {
    await Promise.all(this.clusters.map((c) => c.producer.close(timeoutMs)));
  }

  producerStats(): { cluster: ClusterEntry; stats: ProducerStats }[] {
    return this.clusters.map((cluster) => ({ cluster, stats: cluster.producer.stats() }));
  }

  summary(): SidecarSummary {
    let published = 0;
    let failed = 0;
    let dropped = this.unrouted;
    let droppedAtShutdown = 0;
    for (const r of this.routes.routes) {
      published += r.published;
      failed += r.failed;
      dropped += r.dropped.queue_full + r.dropped.shutdown;
      droppedAtShutdown += r.dropped.shutdown;
    }
    let received = 0;
    let bad = 0;
    for (const l of this.listeners) {
      received += l.received;
      for (const n of l.bad.values()) bad += n;
    }
    const seconds = (performance.now() - this.startedAt) / 1000;
    return {
      received,
      published,
      failed,
      dropped,
      bad_input: bad,
      unanswered: this.unanswered,
      lost_at_shutdown: this.stoppingFlag ? failed - this.failedBeforeStop + droppedAtShutdown : 0,
      seconds: Math.round(seconds * 1000) / 1000,
    };
  }
}
