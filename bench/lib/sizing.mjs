// How many records a run gets, so that every counted run lasts long enough for start-up and
// noise to weigh little: a first run of each client and case sizes the rest (it also warms
// that client's path through the broker, and is not counted).

/** Each counted run lasts at least this long (when --records is not given). */
export const MIN_RUN_SECONDS = 3;
/**
 * Sized for this long, so a run faster than the sizing run still passes the minimum: on this
 * 2-core machine shared with the broker a run may go 1.3 times as fast as the one before it.
 */
const AIM_SECONDS = 4.2;
/** Record counts are rounded up to this step, so the file-fed clients share data files. */
const STEP = 250_000;

/**
 * Records for a run that lasts about AIM_SECONDS at the rate `records / seconds` of an
 * earlier run, never fewer than `records`.
 */
export function recordsForMinimum(records, seconds) {
  if (!(seconds > 0) || !(records > 0)) return records;
  const wanted = Math.ceil((records * AIM_SECONDS) / seconds);
  return Math.max(records, Math.ceil(wanted / STEP) * STEP);
}

/** Remembers the record count per key (client and case) from the runs seen so far. */
export class RunSizer {
  #records = new Map();

  /** The count sized for `key`, or undefined before its sizing run. */
  recordsFor(key) {
    return this.#records.get(key);
  }

  /**
   * Sizes `key` from a successful run (a sizing run, or a counted one that was still too
   * short); a failed run leaves the count as it was.
   */
  learn(key, run) {
    if (!run.ok || !(run.seconds > 0)) return;
    const next = recordsForMinimum(run.records, run.seconds);
    const old = this.#records.get(key);
    if (old === undefined || next > old) this.#records.set(key, next);
  }
}

/** The shortest and longest of the successful runs' seconds, and whether all passed `min`. */
export function runLengths(runs, min = MIN_RUN_SECONDS) {
  const ok = runs.filter((r) => r.ok && r.seconds > 0);
  if (ok.length === 0) return undefined;
  const seconds = ok.map((r) => r.seconds);
  const shortest = Math.min(...seconds);
  return { runs: ok.length, shortest, longest: Math.max(...seconds), met: shortest >= min };
}
