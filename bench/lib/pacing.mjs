// The arithmetic of the event-loop case's paced clients (clients/paced.mjs), kept apart so
// it can be tested without a broker.

/**
 * Records due `elapsedMs` after the start at `rate` records/s, never more than `total`: a
 * tick that comes late finds more due and catches up.
 */
export function dueRecords(rate, elapsedMs, total) {
  if (elapsedMs <= 0) return 0;
  return Math.min(total, Math.floor((rate * elapsedMs) / 1000));
}

const NS_PER_MS = 1e6;

/**
 * The figures of a perf_hooks.monitorEventLoopDelay() histogram in ms. Node records the time
 * between two of its timer's turns, the resolution included: an idle loop sampled every 1 ms
 * reads about 1.1 ms at the median.
 */
export function delaySummary(h) {
  return {
    p50: h.percentile(50) / NS_PER_MS,
    p99: h.percentile(99) / NS_PER_MS,
    max: h.max / NS_PER_MS,
    mean: h.mean / NS_PER_MS,
    samples: h.count,
  };
}

/** CPU seconds (user + system) between two process.cpuUsage() readings. */
export function cpuSeconds(from, to) {
  return (to.user - from.user + to.system - from.system) / 1e6;
}
