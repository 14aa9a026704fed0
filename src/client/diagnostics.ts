/**
 * The one owner of the package's diagnostics channels (node:diagnostics_channel,
 * also on Bun and Deno): their names, the context objects they carry, and the
 * check the hot paths make before building any context. Nothing here runs, and
 * nothing is allocated per record or per request, while nobody subscribes.
 *
 * - `event-kafka:produce` (TracingChannel), one trace per produce()/send() record:
 *   start at produce(), end when produce() returns, asyncStart/asyncEnd around
 *   the record's delivery report (error just before them on a failure).
 * - `event-kafka:request` (TracingChannel), one trace per Kafka request: start
 *   when written, asyncStart/asyncEnd around its response or failure (an acks=0
 *   Produce at the end of its write).
 * - Plain channels for connection and producer events: `event-kafka:connected`,
 *   `event-kafka:authenticated`, `event-kafka:disconnected`, `event-kafka:fatal`,
 *   `event-kafka:closed`.
 *
 * See docs/observability.md.
 */
import * as dc from "node:diagnostics_channel";
import type { RecordData, RecordHeader } from "../protocol/record-batch.js";

/** The TracingChannel of produced records (channels `tracing:event-kafka:produce:start` ...). */
export const PRODUCE_CHANNEL = "event-kafka:produce";
/** The TracingChannel of Kafka requests (channels `tracing:event-kafka:request:start` ...). */
export const REQUEST_CHANNEL = "event-kafka:request";
/** A connection is up: TCP (or TLS), ApiVersions and, when configured, SASL done. */
export const CONNECTED_CHANNEL = "event-kafka:connected";
/** A SASL authentication (or re-authentication, KIP-368) succeeded. */
export const AUTHENTICATED_CHANNEL = "event-kafka:authenticated";
/** A connection closed (or an opened socket failed its handshake), with the reason. */
export const DISCONNECTED_CHANNEL = "event-kafka:disconnected";
/** The producer hit a fatal error (fenced, idempotence lost): it takes no more records. */
export const FATAL_CHANNEL = "event-kafka:fatal";
/** A producer's close() finished: its connections and timers are gone. */
export const CLOSED_CHANNEL = "event-kafka:closed";

/** Where a request or connection goes. */
export interface BrokerAddress {
  /** The metadata node id; negative for a bootstrap entry not matched to one yet. */
  nodeId: number;
  host: string;
  port: number;
}

/**
 * One produced record, shared by all events of its trace. A `start`
 * subscriber may push onto `headers` (a W3C `traceparent`, say): the record is
 * encoded after start, with these headers.
 */
export interface ProduceContext {
  /** The producer's client.id. */
  clientId: string;
  topic: string;
  /** The partition asked for at start (-1: the partitioner picks); the real one at the report. */
  partition: number;
  /** The record's offset at a successful report; -1 before, on failure, and with acks=0. */
  offset: number;
  key: RecordData | null;
  /** The value's size in bytes (UTF-8 for a string); -1 for a null value (a tombstone). */
  valueSize: number;
  /** The record's headers, a copy the record is encoded from. */
  headers: RecordHeader[];
  /**
   * The partition's leader at the report, as the metadata names it: the broker
   * that took the record unless leadership moved meanwhile. Unset when unknown.
   */
  broker?: BrokerAddress;
  /** The delivery report, set at asyncStart (TracingChannel's `result`). */
  result?: {
    topic: string;
    partition: number;
    offset: number;
    timestamp: number;
    possiblyPersisted: boolean;
  };
  /** Why produce() threw (then no asyncStart/asyncEnd follows) or the delivery failed. */
  error?: Error;
}

/** One Kafka request, shared by all events of its trace. */
export interface RequestContext {
  clientId: string;
  apiKey: number;
  /** The protocol's name of the API: "Produce", "Metadata", "FindCoordinator" ... */
  apiName: string;
  apiVersion: number;
  correlationId: number;
  broker: BrokerAddress;
  /** The frame's size as written, size prefix included. */
  requestBytes: number;
  /** The response frame's size, size prefix included; 0 when none came (or none is due). */
  responseBytes: number;
  /** false for an acks=0 Produce: it ends when written. */
  expectsResponse: boolean;
  /** Milliseconds from the write to the response (or the failure); set at asyncStart. */
  durationMs: number;
  /** A transport failure, a timeout or a closed connection; error codes inside a response are not errors here. */
  error?: Error;
}

export interface ConnectedEvent {
  clientId: string;
  broker: BrokerAddress;
  tls: boolean;
  /** The SASL mechanism used, or undefined without SASL. */
  saslMechanism: string | undefined;
  /** The ApiVersions version the broker accepted. */
  apiVersionsVersion: number;
  /** Milliseconds from the socket's start to ready. */
  durationMs: number;
}

export interface AuthenticatedEvent {
  clientId: string;
  broker: BrokerAddress;
  mechanism: string;
  /** The session lifetime the broker set, in ms (0: none). */
  sessionLifetimeMs: number;
  /** true for a KIP-368 re-authentication of a live connection. */
  reauthentication: boolean;
}

export interface DisconnectedEvent {
  clientId: string;
  broker: BrokerAddress;
  reason: Error;
  /** false when the connection never got ready (its handshake failed). */
  established: boolean;
}

export interface FatalEvent {
  clientId: string;
  /** transactional.id, or undefined for a producer without one. */
  transactionalId: string | undefined;
  error: Error;
}

export interface ClosedEvent {
  clientId: string;
  /** Records reported failed at close()'s deadline. */
  failed: number;
}

/** The five channels of a trace; tracingChannel() where the runtime has it. */
interface Trace<C extends object> {
  readonly start: dc.Channel<unknown, C>;
  readonly end: dc.Channel<unknown, C>;
  readonly asyncStart: dc.Channel<unknown, C>;
  readonly asyncEnd: dc.Channel<unknown, C>;
  readonly error: dc.Channel<unknown, C>;
}

function trace<C extends object>(name: string): Trace<C> {
  // tracingChannel() has existed since Node 19.9; the same channel names by hand elsewhere.
  if (typeof dc.tracingChannel === "function") return dc.tracingChannel<unknown, C>(name);
  const ch = (event: string) => dc.channel(`tracing:${name}:${event}`) as dc.Channel<unknown, C>;
  return {
    start: ch("start"),
    end: ch("end"),
    asyncStart: ch("asyncStart"),
    asyncEnd: ch("asyncEnd"),
    error: ch("error"),
  };
}

export const produceTrace: Trace<ProduceContext> = trace(PRODUCE_CHANNEL);
export const requestTrace: Trace<RequestContext> = trace(REQUEST_CHANNEL);
export const connectedChannel = dc.channel(CONNECTED_CHANNEL);
export const authenticatedChannel = dc.channel(AUTHENTICATED_CHANNEL);
export const disconnectedChannel = dc.channel(DISCONNECTED_CHANNEL);
export const fatalChannel = dc.channel(FATAL_CHANNEL);
export const closedChannel = dc.channel(CLOSED_CHANNEL);

/**
 * Whether any of a trace's channels has a subscriber: the one check a hot path
 * makes (TracingChannel.hasSubscribers is newer than Node 20.0).
 */
export function traced(t: Trace<object>): boolean {
  return (
    t.start.hasSubscribers ||
    t.asyncEnd.hasSubscribers ||
    t.end.hasSubscribers ||
    t.asyncStart.hasSubscribers ||
    t.error.hasSubscribers
  );
}

/**
 * Runs `fn` as `ch.runStores` does (stores bound to the channel see `ctx`
 * inside), or publishes then runs where runStores is missing.
 */
export function runStores<C extends object, R>(ch: dc.Channel<unknown, C>, ctx: C, fn: () => R): R {
  if (typeof ch.runStores === "function") return ch.runStores(ctx, fn);
  ch.publish(ctx);
  return fn();
}

/**
 * Ends a trace whose asynchronous part is over: error (when `ctx.error` is
 * set), then asyncStart and asyncEnd around `fn` (the caller's callback), as
 * TracingChannel.traceCallback does.
 */
export function endAsync<C extends { error?: Error }>(t: Trace<C>, ctx: C, fn: () => void): void {
  if (ctx.error !== undefined) t.error.publish(ctx);
  runStores(t.asyncStart, ctx, () => {
    try {
      fn();
    } finally {
      t.asyncEnd.publish(ctx);
    }
  });
}

/** Publishes `message` on `ch` when someone listens (the message is built only then). */
export function publish<M>(ch: dc.Channel, message: () => M): void {
  if (ch.hasSubscribers) ch.publish(message());
}
