/**
 * The event-interface transport: events raised towards subscribed kafka
 * sockets become records whose value is a compact JSON-RPC 2.0 notification
 * (docs/event-kafka.md, "Events").
 */

import type { Producer } from "../producer/producer.js";
import type { DeliveryError } from "../producer/record.js";
import type { ProducerPool } from "./producer-pool.js";
import { type KafkaSocket, parseSocket } from "./socket.js";

/** An event parameter: integers are JSON numbers, strings JSON strings, a missing string null. */
export type EventValue = number | string | null;

/** Named parameters (an object) or unnamed ones (an array). */
export type EventParams = Readonly<Record<string, EventValue>> | readonly EventValue[];

export interface EventStatus {
  /** 0 delivered, -1 failed. */
  status: 0 | -1;
  event: string;
  /** The subscriber's socket string, secret values as *** (KafkaSocket.text). */
  socket: string;
  partition: number;
  offset: number;
  error?: DeliveryError;
}

export interface RaiseOptions {
  /** The Call-ID of the SIP message that raised the event (the key with key=callid). */
  callId?: string;
  /** Called once per record queued, when its delivery outcome is known. */
  onStatus?: (status: EventStatus) => void;
}

function jsonValue(name: string, v: EventValue): string {
  if (v === null) return "null";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  throw new TypeError(
    `event parameter ${name} must be a number, a string or null, got ${typeof v === "number" ? String(v) : typeof v}`,
  );
}

/**
 * The record value for an event: keys in the order jsonrpc, method, params;
 * no id; params omitted when there are none.
 */
export function eventPayload(event: string, params?: EventParams): string {
  let out = `{"jsonrpc":"2.0","method":${JSON.stringify(event)}`;
  if (params !== undefined && params !== null) {
    if (Array.isArray(params)) {
      if (params.length > 0) {
        out += `,"params":[${params.map((v, i) => jsonValue(`#${i}`, v)).join(",")}]`;
      }
    } else {
      const entries = Object.entries(params as Record<string, EventValue>);
      if (entries.length > 0) {
        out += `,"params":{${entries
          .map(([k, v]) => `${JSON.stringify(k)}:${jsonValue(JSON.stringify(k), v)}`)
          .join(",")}}`;
      }
    }
  }
  return `${out}}`;
}

interface Subscription {
  socket: KafkaSocket;
  producer: Producer;
  expiresAt: number;
  timer: NodeJS.Timeout | undefined;
}

export class EventTransport {
  /** event name -> socket string -> subscription */
  private readonly subscriptions = new Map<string, Map<string, Subscription>>();

  constructor(private readonly pool: ProducerPool) {}

  /**
   * Subscribes `socket` to `event`. Subscribing the same socket string again
   * refreshes its expiry instead of adding a second subscriber. Throws a
   * SocketError for a malformed socket.
   */
  subscribe(event: string, socket: string, expireSeconds?: number): void {
    if (typeof event !== "string" || event === "") {
      throw new TypeError(`event name must be a non-empty string, got ${JSON.stringify(event)}`);
    }
    if (expireSeconds !== undefined && !(expireSeconds > 0 && Number.isFinite(expireSeconds))) {
      throw new RangeError(`expireSeconds must be a positive number, got ${expireSeconds}`);
    }
    let byEvent = this.subscriptions.get(event);
    const existing = byEvent?.get(socket);
    if (existing) {
      this.arm(event, existing, expireSeconds);
      return;
    }
    const parsed = parseSocket(socket);
    if (byEvent === undefined) {
      byEvent = new Map();
      this.subscriptions.set(event, byEvent);
    }
    const sub: Subscription = {
      socket: parsed,
      producer: this.pool.acquire(parsed),
      expiresAt: Number.POSITIVE_INFINITY,
      timer: undefined,
    };
    byEvent.set(socket, sub);
    this.arm(event, sub, expireSeconds);
  }

  private arm(event: string, sub: Subscription, expireSeconds: number | undefined): void {
    clearTimeout(sub.timer);
    sub.timer = undefined;
    sub.expiresAt = Number.POSITIVE_INFINITY;
    if (expireSeconds === undefined) return;
    sub.expiresAt = Date.now() + expireSeconds * 1000;
    sub.timer = setTimeout(() => this.unsubscribe(event, sub.socket.raw), expireSeconds * 1000);
    sub.timer.unref();
  }

  /** Removes a subscription; its producer closes once no subscription or broker uses it. */
  unsubscribe(event: string, socket: string): boolean {
    const byEvent = this.subscriptions.get(event);
    const sub = byEvent?.get(socket);
    if (!byEvent || !sub) return false;
    clearTimeout(sub.timer);
    byEvent.delete(socket);
    if (byEvent.size === 0) this.subscriptions.delete(event);
    this.pool.release(sub.socket).catch(() => {});
    return true;
  }

  /** The socket strings subscribed to `event` (expired ones excluded). */
  subscribers(event: string): string[] {
    const now = Date.now();
    return [...(this.subscriptions.get(event)?.values() ?? [])]
      .filter((s) => s.expiresAt > now)
      .map((s) => s.socket.raw);
  }

  /**
   * Raises `event`: one record per live subscriber. Returns the number of
   * records queued (0 when nobody listens); a subscriber whose record cannot be
   * queued (queue full, too large) is skipped and, with onStatus, reported
   * failed at once.
   */
  raise(event: string, params?: EventParams, options: RaiseOptions = {}): number {
    const byEvent = this.subscriptions.get(event);
    if (!byEvent || byEvent.size === 0) return 0;
    const value = eventPayload(event, params);
    const now = Date.now();
    let queued = 0;
    for (const sub of byEvent.values()) {
      if (sub.expiresAt <= now) continue;
      const key = sub.socket.keyCallId && options.callId ? options.callId : null;
      const onStatus = options.onStatus;
      try {
        sub.producer.produce({ topic: sub.socket.topic, key, value }, (err, report) => {
          onStatus?.({
            status: err ? -1 : 0,
            event,
            socket: sub.socket.text,
            partition: report.partition,
            offset: report.offset,
            ...(err && { error: err }),
          });
        });
        queued++;
      } catch (err) {
        onStatus?.({
          status: -1,
          event,
          socket: sub.socket.text,
          partition: -1,
          offset: -1,
          error: err as DeliveryError,
        });
      }
    }
    return queued;
  }

  /** Drops every subscription (their producers are released). */
  clear(): void {
    for (const [event, byEvent] of [...this.subscriptions]) {
      for (const socket of [...byEvent.keys()]) this.unsubscribe(event, socket);
    }
  }
}
