/**
 * When the Sender runs next: soon (after the current task, so a loop of
 * produce() calls fills batches first), or at a given time at the latest,
 * one timer for the earliest such time; nothing runs after stop().
 */

export class DrainTimer {
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private at = Number.POSITIVE_INFINITY;
  private stopped = false;

  constructor(
    /** The Sender's run. */
    private readonly run: () => void,
  ) {}

  /** Runs soon, once however often it is asked before that. */
  schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.fire();
    });
  }

  /** Runs at `time` at the latest. */
  wake(time: number): void {
    if (time >= this.at || !Number.isFinite(time) || this.stopped) return;
    clearTimeout(this.timer);
    this.at = time;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.at = Number.POSITIVE_INFINITY;
        this.fire();
      },
      Math.max(0, time - Date.now()),
    );
  }

  /** No more runs: the timer cleared (close()). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    if (!this.stopped) this.run();
  }
}
