/**
 * The event-loop case's arithmetic (bench/lib/pacing.mjs, bench/lib/eventloop-case.mjs):
 * how many records a paced client owes, the histogram's figures in ms, and the targets.
 */
import { describe, expect, it } from "vitest";
import { EVENTLOOP_CASE, medianRun, meetsTargets } from "../../bench/lib/eventloop-case.mjs";
import { cpuSeconds, delaySummary, dueRecords } from "../../bench/lib/pacing.mjs";

describe("dueRecords", () => {
  it("owes rate × elapsed, rounded down", () => {
    expect(dueRecords(50_000, 0, 250_000)).toBe(0);
    expect(dueRecords(50_000, 10, 250_000)).toBe(500);
    expect(dueRecords(100_000, 10.004, 500_000)).toBe(1000);
    expect(dueRecords(3, 999, 10)).toBe(2);
  });

  it("a late tick catches up: what is due depends on the time alone", () => {
    // Ticks at 10, 20, 47 ms (the third 17 ms late) owe 500, 1000 and 2350 in all.
    const due = [10, 20, 47].map((t) => dueRecords(50_000, t, 250_000));
    expect(due).toEqual([500, 1000, 2350]);
  });

  it("never owes more than the run's total, nor anything before the start", () => {
    expect(dueRecords(50_000, 5_000, 250_000)).toBe(250_000);
    expect(dueRecords(50_000, 5_250, 250_000)).toBe(250_000);
    expect(dueRecords(50_000, -3, 250_000)).toBe(0);
  });
});

describe("delaySummary and cpuSeconds", () => {
  it("turns the histogram's nanoseconds into ms", () => {
    const h = {
      percentile: (p: number) => (p === 50 ? 1_100_000 : p === 99 ? 2_500_000 : Number.NaN),
      max: 9_000_000,
      mean: 1_250_000,
      count: 4321,
    };
    expect(delaySummary(h)).toEqual({ p50: 1.1, p99: 2.5, max: 9, mean: 1.25, samples: 4321 });
  });

  it("adds user and system time between two readings, in seconds", () => {
    expect(cpuSeconds({ user: 1_000, system: 500 }, { user: 1_501_000, system: 250_500 })).toBe(
      1.75,
    );
  });
});

describe("meetsTargets", () => {
  it("holds p99 ≤ 5 ms and max ≤ 20 ms, the limits included", () => {
    expect(EVENTLOOP_CASE.targets).toMatchObject({ client: "ours", p99Ms: 5, maxMs: 20 });
    expect(meetsTargets({ p99: 5, max: 20 })).toEqual({ p99: true, max: true, met: true });
    expect(meetsTargets({ p99: 5.01, max: 6 })).toEqual({ p99: false, max: true, met: false });
    expect(meetsTargets({ p99: 2, max: 20.5 })).toEqual({ p99: true, max: false, met: false });
    expect(meetsTargets(undefined).met).toBe(false);
  });
});

describe("medianRun", () => {
  it("shows the successful run with the median p99, the upper middle of an even count", () => {
    const run = (p99: number, ok = true) => ({ ok, delayMs: { p99 } });
    expect(medianRun([run(9), run(2), run(4)]).delayMs.p99).toBe(4);
    expect(medianRun([run(9), run(2), run(4), run(3)]).delayMs.p99).toBe(4);
    expect(medianRun([run(1, false), run(7)]).delayMs.p99).toBe(7);
    const failed = { ok: false, delayMs: { p99: 0 } };
    expect(medianRun([failed])).toBe(failed);
  });
});
