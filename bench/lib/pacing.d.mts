// Types of bench/lib/pacing.mjs (for the tests).

/** Records due `elapsedMs` after the start at `rate` records/s, never more than `total`. */
export declare function dueRecords(rate: number, elapsedMs: number, total: number): number;

export interface DelayFigures {
  p50: number;
  p99: number;
  max: number;
  mean: number;
  samples: number;
}

/** The figures of a monitorEventLoopDelay() histogram (ns) in ms. */
export declare function delaySummary(h: {
  percentile(p: number): number;
  max: number;
  mean: number;
  count: number;
}): DelayFigures;

/** CPU seconds (user + system) between two process.cpuUsage() readings. */
export declare function cpuSeconds(
  from: { user: number; system: number },
  to: { user: number; system: number },
): number;
