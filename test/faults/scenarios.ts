/**
 * The faults, each injected while one producer writes one topic of a FaultCluster:
 *
 * - leader-kill: once about 25% of the records are in the log, SIGKILL the leader of
 *   partition 0 and start it again 3 s later;
 * - reset: every connection through every proxy reset (RST) once about 25% of the records are
 *   in the log, and again every 2 s until the producer is done (a run at full speed may take
 *   less than 2 s: resetting from the start on a 2 s period could miss it entirely);
 * - blackhole: once about 25% of the records are in the log, the proxy of partition 0's leader
 *   stops forwarding for 5 s (sockets kept open, bytes held), then forwards again.
 *
 * Progress is read from the log (the topic's high watermarks through the admin, which does not
 * go through the proxies), so the trigger means the same for every client whatever its queue.
 */
import { partitionMetadata, waitFor } from "../producer/helpers.js";
import type { FaultCluster } from "./cluster.js";
import { resetEvery } from "./proxy.js";

export const SCENARIOS = ["leader-kill", "reset", "blackhole"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** What happened, for the results. */
export interface FaultReport {
  /** The fault happened during the run (false: the run ended before the trigger). */
  injected: boolean;
  /** Records in the log when it was injected. */
  atRecords?: number;
  /** Node the fault hit (leader of partition 0). */
  nodeId?: number;
  /** reset: how many times every connection was reset. */
  resets?: number;
  /** Anything worth knowing (restart time, ISR wait...). */
  notes: string[];
}

export interface Fault {
  /**
   * Called once the producer is done: ends the fault (a pending trigger is cancelled), waits
   * for its own timeline (restart) and for every partition of the topic to have 3 in-sync
   * replicas again.
   */
  finish(): Promise<FaultReport>;
}

export const TRIGGER_FRACTION = 0.25;
export const RESTART_AFTER_MS = 3_000;
export const RESET_EVERY_MS = 2_000;
export const BLACKHOLE_MS = 5_000;
const ISR_WAIT_MS = 120_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Records in the topic's log: the sum of its partitions' high watermarks. */
async function logSize(fc: FaultCluster, topic: string): Promise<number> {
  const offsets = await fc.admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

/** Waits for every partition of `topic` to have a leader and 3 in-sync replicas. */
export function waitForFullIsr(fc: FaultCluster, topic: string, timeoutMs = ISR_WAIT_MS) {
  return waitFor(
    `3 in-sync replicas for every partition of ${topic}`,
    async () => {
      const m = await partitionMetadata(fc.admin, topic);
      return m.every((p) => p.isr.length === 3 && p.leader >= 0) ? m : undefined;
    },
    timeoutMs,
    200,
  );
}

/**
 * Resolves with the log size once it reaches `target`, or with undefined once `cancelled()`.
 */
async function whenLogReaches(
  fc: FaultCluster,
  topic: string,
  target: number,
  cancelled: () => boolean,
): Promise<number | undefined> {
  for (;;) {
    if (cancelled()) return undefined;
    try {
      const size = await logSize(fc, topic);
      if (size >= target) return size;
    } catch {
      // a leader moving: ask again
    }
    await sleep(100);
  }
}

/** Starts `scenario` against `topic` (whose partition 0 is led by `leader0`). */
export function startFault(
  fc: FaultCluster,
  scenario: ScenarioName,
  topic: string,
  count: number,
  leader0: number,
): Fault {
  const report: FaultReport = { injected: false, notes: [] };
  let done = false;
  const settle = async (timeline: Promise<void>, end?: () => void): Promise<FaultReport> => {
    done = true;
    try {
      await timeline;
    } finally {
      end?.();
    }
    const started = Date.now();
    await waitForFullIsr(fc, topic);
    const waited = Date.now() - started;
    if (waited > 1000) report.notes.push(`ISR back to 3 after ${(waited / 1000).toFixed(1)} s`);
    return report;
  };

  /** Runs `inject` once the log holds TRIGGER_FRACTION of the records (unless done first). */
  const onTrigger = (inject: () => Promise<void> | void): Promise<void> => {
    const timeline = (async () => {
      const at = await whenLogReaches(fc, topic, count * TRIGGER_FRACTION, () => done);
      // Not once the producer is done: a fault after the run proves nothing.
      if (at === undefined || done) return;
      report.injected = true;
      report.atRecords = at;
      await inject();
    })();
    // Handled in settle(); this only keeps an early rejection from counting as unhandled.
    timeline.catch(() => {});
    return timeline;
  };

  switch (scenario) {
    case "leader-kill": {
      const node = fc.node(leader0);
      report.nodeId = leader0;
      const timeline = onTrigger(async () => {
        await node.kill();
        await sleep(RESTART_AFTER_MS);
        const t = Date.now();
        await node.start();
        const took = ((Date.now() - t) / 1000).toFixed(1);
        report.notes.push(`node ${leader0} ready ${took} s after its restart`);
      });
      return { finish: () => settle(timeline) };
    }
    case "reset": {
      let stop: (() => void) | undefined;
      let firstAt = 0;
      const timeline = onTrigger(() => {
        for (const p of fc.proxies) p.resetAll();
        firstAt = Date.now();
        stop = resetEvery(fc.proxies, RESET_EVERY_MS);
      });
      const end = (): void => {
        stop?.();
        if (report.injected)
          report.resets = 1 + Math.floor((Date.now() - firstAt) / RESET_EVERY_MS);
      };
      return { finish: () => settle(timeline, end) };
    }
    case "blackhole": {
      const proxy = fc.proxyOf(leader0);
      report.nodeId = leader0;
      const timeline = onTrigger(async () => {
        proxy.blackhole(true);
        try {
          await sleep(BLACKHOLE_MS);
        } finally {
          proxy.blackhole(false);
        }
      });
      return { finish: () => settle(timeline) };
    }
  }
}
