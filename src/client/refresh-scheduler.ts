/**
 * When the cluster's metadata is fetched: periodically, soon when a refresh
 * is asked for (with a growing delay while the asks keep coming), and never
 * two fetches at once (an ask during one runs another after it).
 */
import type { Logger } from "./logger.js";

/** What of the cluster's options the schedule reads. */
export interface RefreshSchedule {
  /** Periodic refresh of the topics in use (-1: none beyond metadata.max.age.ms). */
  readonly refreshIntervalMs: number;
  readonly maxAgeMs: number;
  /** First delay of a refresh asked for after an error; doubles up to retryBackoffMaxMs. */
  readonly retryBackoffMs: number;
  readonly retryBackoffMaxMs: number;
  readonly logger: Logger;
}

export class RefreshScheduler {
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private urgentTimer: NodeJS.Timeout | undefined;
  private periodicTimer: NodeJS.Timeout | undefined;
  private urgentFailures = 0;
  private lastUrgentAt = 0;
  private stopped = false;

  /** Starts the periodic refresh; `fetch` is one metadata refresh. */
  constructor(
    private readonly fetch: () => Promise<void>,
    private readonly schedule: RefreshSchedule,
  ) {
    const period = Math.min(
      schedule.refreshIntervalMs < 0 ? Number.POSITIVE_INFINITY : schedule.refreshIntervalMs,
      schedule.maxAgeMs,
    );
    if (Number.isFinite(period)) {
      this.periodicTimer = setInterval(() => this.refresh().catch(() => {}), period);
      this.periodicTimer.unref();
    }
  }

  /**
   * Asks for a refresh soon: at once the first time, then with a growing
   * delay (retry.backoff.ms doubling to retry.backoff.max.ms) while refreshes
   * keep being asked for, so a broken cluster is not hammered.
   */
  requestRefresh(reason: string): void {
    if (this.stopped || this.urgentTimer !== undefined) return;
    const now = Date.now();
    // A quiet spell resets the growth: the next request is served at once.
    if (now - this.lastUrgentAt > 2 * this.schedule.retryBackoffMaxMs) this.urgentFailures = 0;
    this.lastUrgentAt = now;
    const delay =
      this.urgentFailures === 0
        ? 0
        : Math.min(
            this.schedule.retryBackoffMaxMs,
            this.schedule.retryBackoffMs * 2 ** (this.urgentFailures - 1),
          );
    this.urgentFailures++;
    this.schedule.logger.debug("metadata refresh requested", { reason, delay });
    this.urgentTimer = setTimeout(() => {
      this.urgentTimer = undefined;
      this.refresh().catch(() => {});
    }, delay);
    this.urgentTimer.unref();
  }

  /** Runs `fetch` now, or once more after the one under way. */
  refresh(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    const run = this.fetch().finally(() => {
      this.refreshing = undefined;
      if (this.refreshAgain && !this.stopped) {
        this.refreshAgain = false;
        this.refresh().catch(() => {});
      }
    });
    this.refreshing = run;
    return run;
  }

  /** No refresh from now on: the cluster is closed. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.urgentTimer);
    clearInterval(this.periodicTimer);
    this.urgentTimer = undefined;
  }
}
