/**
 * The callers waiting on the queue: IdleWaiters for it to empty (flush(),
 * close()), RoomWaiters for it to shrink (a write stream held at QUEUE_FULL).
 */

import type { ProducerStats } from "./stats.js";

/**
 * Each waiter is resolved true once no record waits for its report, or false
 * at its deadline, which close() can bring forward.
 */
export class IdleWaiters {
  private readonly waiters: (() => void)[] = [];

  constructor(
    /** The producer's counters: `queued` says whether the queue is empty. */
    private readonly counters: Pick<ProducerStats, "queued">,
  ) {}

  /** Nothing may be queued any more: if so, every waiter is resolved. */
  notify(): void {
    if (this.counters.queued > 0 || this.waiters.length === 0) return;
    const waiters = this.waiters.splice(0);
    for (const w of waiters) w();
  }

  /**
   * Resolves true once nothing is queued, or false after `timeoutMs`;
   * `onDeadline` receives a function that brings the deadline forward.
   */
  wait(timeoutMs: number, onDeadline?: (shorten: (ms: number) => void) => void): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.counters.queued === 0) {
        resolve(true);
        return;
      }
      let deadline = Date.now() + timeoutMs;
      const expire = (): void => {
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      };
      let timer = setTimeout(expire, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(done);
      onDeadline?.((ms) => {
        const at = Date.now() + ms;
        if (at >= deadline) return;
        deadline = at;
        clearTimeout(timer);
        // Now means now (an aborted flush), not a timer's turn later.
        if (ms <= 0) expire();
        else timer = setTimeout(expire, ms);
      });
    });
  }
}

/**
 * One-shot callbacks run once records were reported, so room may have come:
 * after the reporting code has returned (a microtask later), so that a
 * callback may queue records again.
 */
export class RoomWaiters {
  private waiters: (() => void)[] = [];
  private scheduled = false;

  /** Runs `fn` once, after the next report; returns what cancels it. */
  add(fn: () => void): () => void {
    this.waiters.push(fn);
    return () => {
      const i = this.waiters.indexOf(fn);
      if (i >= 0) this.waiters.splice(i, 1);
    };
  }

  /** Records were reported. */
  notify(): void {
    if (this.waiters.length === 0 || this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    });
  }
}
