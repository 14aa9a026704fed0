/**
 * The requests in flight on one connection: their correlation ids, the order
 * their responses come back in (Kafka answers a connection's requests in the
 * order sent), the writes of requests that get no response (acks=0), and one
 * timer for the earliest deadline among them all.
 */
import type { Reader } from "../protocol/reader.js";
import type { RequestContext } from "./diagnostics.js";
import type { ResponseCallback } from "./request.js";

export interface InFlightRequest {
  correlationId: number;
  apiKey: number;
  headerVersion: 0 | 1;
  /** undefined: no response comes; the entry waits for the write to complete. */
  decode: ((r: Reader) => unknown) | undefined;
  callback: ResponseCallback<unknown>;
  deadline: number;
  sentAt: number;
  /** The request's diagnostics context, only while someone subscribes to its channel. */
  trace: RequestContext | undefined;
}

export class InFlightRequests {
  /** Requests awaiting their response, in the order sent. */
  private readonly awaiting: InFlightRequest[] = [];
  /** Requests without a response (acks=0) whose write has not completed yet. */
  private readonly writes = new Set<InFlightRequest>();
  private correlationId = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  /**
   * `onExpired` gets the first request found past its deadline; nothing else
   * is done about it here (the connection closes, failing them all).
   */
  constructor(private readonly onExpired: (request: InFlightRequest) => void) {}

  /** Requests awaiting a response or the end of their write. */
  get size(): number {
    return this.awaiting.length + this.writes.size;
  }

  nextCorrelationId(): number {
    this.correlationId = (this.correlationId + 1) & 0x7fffffff;
    return this.correlationId;
  }

  /** Tracks a request until its response arrives. */
  addAwaitingResponse(request: InFlightRequest): void {
    this.awaiting.push(request);
  }

  /** Tracks a request that gets no response until its write completes. */
  addAwaitingWrite(request: InFlightRequest): void {
    this.writes.add(request);
  }

  /** A write completed: false when its request already failed (a close or its deadline). */
  writeDone(request: InFlightRequest): boolean {
    return this.writes.delete(request);
  }

  /** The request the next response answers (the oldest awaiting one), no longer tracked. */
  takeOldest(): InFlightRequest | undefined {
    return this.awaiting.shift();
  }

  /** Puts back a request taken by `takeOldest`, first in line again (its response was bad). */
  putBackOldest(request: InFlightRequest): void {
    this.awaiting.unshift(request);
  }

  /** Every request still tracked, oldest response first, then the writes; none is kept. */
  takeAll(): InFlightRequest[] {
    const all = [...this.awaiting.splice(0), ...this.writes];
    this.writes.clear();
    return all;
  }

  /** Makes sure the timer fires by `deadline`. */
  armTimer(deadline: number): void {
    if (this.timer !== undefined && this.timerAt <= deadline) return;
    this.stopTimer();
    this.timerAt = deadline;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, deadline - Date.now()));
    this.timer.unref();
  }

  stopTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private onTimer(): void {
    this.timer = undefined;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    let expired: InFlightRequest | undefined;
    for (const p of this.awaiting) {
      if (p.deadline <= now) expired ??= p;
      else if (p.deadline < next) next = p.deadline;
    }
    for (const p of this.writes) {
      if (p.deadline <= now) expired ??= p;
      else if (p.deadline < next) next = p.deadline;
    }
    if (expired !== undefined) {
      this.onExpired(expired);
      return;
    }
    if (Number.isFinite(next)) this.armTimer(next);
  }
}
