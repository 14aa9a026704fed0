/**
 * The perf tool's latency histogram against exact percentiles of the same
 * values, sorted (nearest-rank, as HdrHistogram defines them): within the
 * histogram's stated precision of 1/64 of the value.
 */
import { describe, expect, it } from "vitest";
import { LatencyHistogram } from "../../src/cli/latency-histogram.js";
import { prng } from "../helpers/bytes.js";

function exactPercentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

describe("LatencyHistogram", () => {
  const shapes: [string, (r: () => number) => number][] = [
    ["uniform 0..1e4 µs", (r) => r() % 10_000],
    ["long tail up to 10 s", (r) => Math.floor(2 ** ((r() % 2400) / 100))],
    ["small integers", (r) => r() % 70],
  ];
  for (const [name, draw] of shapes) {
    it(`gives each percentile within 1/64 of the exact one: ${name}`, () => {
      const rand = prng(name.length * 7919);
      const h = new LatencyHistogram();
      const values: number[] = [];
      for (let i = 0; i < 50_000; i++) {
        const v = draw(rand);
        values.push(v);
        h.record(v);
      }
      values.sort((a, b) => a - b);
      expect(h.count).toBe(values.length);
      expect(h.max).toBe(values[values.length - 1]);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      expect(h.mean).toBeCloseTo(mean, 6);
      for (const p of [0, 1, 25, 50, 90, 95, 99, 99.9, 99.99, 100]) {
        const exact = exactPercentile(values, p);
        const got = h.percentile(p);
        // The bucket's highest value: never below the exact one, at most 1/64 above it.
        expect(got).toBeGreaterThanOrEqual(exact);
        expect(got - exact).toBeLessThanOrEqual(Math.max(0, exact / 64));
      }
    });
  }

  it("adds intervals into a whole and starts again after reset()", () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    for (let v = 0; v < 1000; v++) (v % 2 === 0 ? a : b).record(v * 10);
    a.add(b);
    expect(a.count).toBe(1000);
    expect(a.max).toBe(9990);
    expect(a.percentile(50)).toBeGreaterThanOrEqual(4990);
    expect(a.percentile(50)).toBeLessThanOrEqual(4990 + 4990 / 64);
    a.reset();
    expect([a.count, a.max, a.mean, a.percentile(99)]).toEqual([0, 0, 0, 0]);
  });

  it("floors fractions and takes negative values as 0", () => {
    const h = new LatencyHistogram();
    h.record(12.9);
    h.record(-3);
    expect([h.percentile(100), h.percentile(1), h.max]).toEqual([12, 0, 12]);
  });
});
