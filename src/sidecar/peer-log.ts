/** Log lines that a misbehaving peer or a flood of one cause cannot multiply. */

export type LogWriter = (line: string) => void;

export const stderrLog: LogWriter = (line) => {
  process.stderr.write(`event-kafka serve: ${line}\n`);
};

/** At most one line per key per interval; the lines held back are counted in the next one. */
export class ThrottledLog {
  private readonly next = new Map<string, { at: number; held: number }>();

  constructor(
    private readonly write: LogWriter,
    private readonly intervalMs = 60_000,
    /** Keys remembered at most (datagram peers are unbounded): older ones are forgotten. */
    private readonly maxKeys = 4096,
  ) {}

  log(key: string, line: string, now = Date.now()): void {
    const entry = this.next.get(key);
    if (entry !== undefined && now < entry.at) {
      entry.held++;
      return;
    }
    const held = entry?.held ?? 0;
    this.write(held > 0 ? `${line} (${held} more like it in the last minute)` : line);
    if (entry === undefined && this.next.size >= this.maxKeys) this.forget(now);
    this.next.set(key, { at: now + this.intervalMs, held: 0 });
  }

  private forget(now: number): void {
    for (const [k, v] of this.next) if (v.at <= now) this.next.delete(k);
    if (this.next.size >= this.maxKeys) this.next.clear();
  }
}

/** One line per key, ever (an event name with no route). */
export class OnceLog {
  private readonly seen = new Set<string>();

  constructor(
    private readonly write: LogWriter,
    private readonly maxKeys = 10_000,
  ) {}

  log(key: string, line: string): void {
    if (this.seen.has(key)) return;
    if (this.seen.size >= this.maxKeys) return;
    this.seen.add(key);
    this.write(line);
  }
}
