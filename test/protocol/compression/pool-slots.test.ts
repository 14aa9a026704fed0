import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { GZIP_SYNC_MAX, gzipCompressAsync } from "../../../src/protocol/compression/gzip.js";
import {
  compressionSlots,
  POOL_COMPRESSIONS,
  PoolSlots,
} from "../../../src/protocol/compression/pool-slots.js";
import {
  ZSTD_SYNC_MAX,
  zstdAvailable,
  zstdCompressAsync,
} from "../../../src/protocol/compression/zstd.js";

/** A job that ends when told, recording how many ran beside it. */
function gate() {
  let open!: () => void;
  let fail!: (e: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { done, open, fail };
}

describe("PoolSlots (thread-pool compressions at once)", () => {
  it("leaves a core to the event loop, and always runs at least one", () => {
    expect(POOL_COMPRESSIONS).toBeGreaterThanOrEqual(1);
  });

  it("never runs more than its limit, starts waiters in order, and frees a slot on failure", async () => {
    const slots = new PoolSlots(2);
    const gates = Array.from({ length: 5 }, gate);
    const started: number[] = [];
    let peak = 0;
    const results = gates.map((g, i) =>
      slots.run(async () => {
        started.push(i);
        peak = Math.max(peak, slots.running);
        await g.done;
        return i;
      }),
    );
    const turn = () => new Promise((r) => setImmediate(r));
    await turn();
    expect(started).toEqual([0, 1]);
    expect(slots.waiting).toBe(3);
    gates[1]!.fail(new Error("corrupt"));
    await expect(results[1]).rejects.toThrow("corrupt");
    await turn();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.open();
    gates[2]!.open();
    await turn();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    gates[3]!.open();
    gates[4]!.open();
    expect(await Promise.all([results[0], results[2], results[3], results[4]])).toEqual([
      0, 2, 3, 4,
    ]);
    expect(peak).toBe(2);
    expect(slots.running).toBe(0);
    expect(slots.waiting).toBe(0);
  });
});

describe("gzip and zstd batches in zlib's thread pool", () => {
  /** The most thread-pool compressions that ran at once while `run` went. */
  async function peakOutstanding(run: () => Promise<unknown>): Promise<number> {
    compressionSlots.resetPeak();
    const started = compressionSlots.started;
    await run();
    expect(compressionSlots.started - started).toBeGreaterThan(0);
    return compressionSlots.peak;
  }

  const batch = (seed: number) =>
    Buffer.from(
      Array.from({ length: 12_000 }, (_, i) => `{"seq":${seed * 1e6 + i},"ok":true}`).join("\n"),
    );

  it("never compress more batches at once than the cores less one", async () => {
    const inputs = [1, 2, 3, 4].map(batch);
    expect(inputs[0]!.length).toBeGreaterThan(GZIP_SYNC_MAX);
    const peak = await peakOutstanding(async () => {
      const out = await Promise.all(inputs.map((d) => gzipCompressAsync(d)));
      for (const [i, o] of out.entries()) expect(gunzipSync(o).equals(inputs[i]!)).toBe(true);
    });
    expect(peak).toBeGreaterThanOrEqual(1);
    expect(peak).toBeLessThanOrEqual(POOL_COMPRESSIONS);
  });

  it.skipIf(!zstdAvailable())("zstd alike", async () => {
    const inputs = [5, 6, 7, 8].map((s) => Buffer.concat([batch(s), batch(s + 10)]));
    expect(inputs[0]!.length).toBeGreaterThan(ZSTD_SYNC_MAX);
    const peak = await peakOutstanding(async () => {
      await Promise.all(inputs.map((d) => zstdCompressAsync(d)));
    });
    expect(peak).toBeGreaterThanOrEqual(1);
    expect(peak).toBeLessThanOrEqual(POOL_COMPRESSIONS);
  });
});
