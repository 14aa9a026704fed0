// Types of the pure parts of bench/lib/eventloop-case.mjs (for the tests).

export interface EventLoopTargets {
  client: string;
  p99Ms: number;
  maxMs: number;
}

export declare const EVENTLOOP_CASE: {
  rates: number[];
  seconds: number;
  valueSize: number;
  codecs: string[];
  clients: string[];
  acks: number;
  lingerMs: number;
  batchBytes: number;
  tickMs: number;
  maxInFlight: number;
  partitions: number;
  repeat: number;
  data: string;
  targets: EventLoopTargets;
};

/** Whether a run's delay (ms) meets the targets: each of p99 and max, and both. */
export declare function meetsTargets(
  delayMs: { p99: number; max: number } | undefined,
  targets?: EventLoopTargets,
): { p99: boolean; max: boolean; met: boolean };

/** The successful run with the median p99 (the upper middle), or the first when none succeeded. */
export declare function medianRun<R extends { ok: boolean; delayMs?: { p99: number } }>(
  runs: R[],
): R;
