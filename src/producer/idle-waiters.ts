/**
 * The callers waiting for the queue to empty (flush(), close()): each is
 * resolved true once no record waits for its report, or false at its
 * deadline, which close() can bring forward.
 */

import type { ProducerStats } from "./stats.js";

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
        timer = setTimeout(expire, Math.max(0, ms));
      });
    });
  }
}
