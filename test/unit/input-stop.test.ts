/**
 * `publish` stops reading its input on a signal. On Deno a pending read of standard input
 * outlives process.stdin.destroy() (found by `npm run test:runtimes`), so forEachRegion itself
 * must stop at the abort, whatever the input's pending read does.
 */
import { describe, expect, it } from "vitest";
import { forEachRegion } from "../../src/cli/input.js";

/** One block, then a read that never returns, and does not end when asked to (as on Deno). */
function stuckInput(first: string): AsyncIterable<Buffer> & { returned: boolean } {
  const state = { returned: false };
  return Object.assign(state, {
    [Symbol.asyncIterator]() {
      let sent = false;
      return {
        next: (): Promise<IteratorResult<Buffer>> => {
          if (!sent) {
            sent = true;
            return Promise.resolve({ done: false, value: Buffer.from(first) });
          }
          return new Promise(() => {});
        },
        return: (): Promise<IteratorResult<Buffer>> => {
          state.returned = true;
          return new Promise(() => {});
        },
      };
    },
  });
}

describe("forEachRegion with a stop signal", () => {
  it("ends at the abort although the input's read is still pending", async () => {
    const input = stuckInput("a\nb\n");
    const stop = new AbortController();
    const seen: string[] = [];
    const reading = forEachRegion(
      input,
      Buffer.from("\n"),
      (buf, start, end) => {
        seen.push(buf.subarray(start, end).toString());
        return end;
      },
      () => Promise.resolve(),
      stop.signal,
    );
    await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    const outcome = await Promise.race([
      reading.then(() => "ended"),
      new Promise((r) => setTimeout(() => r("still reading after 1 s"), 1000)),
    ]);
    expect(outcome).toBe("ended");
    expect(seen).toEqual(["a\nb\n"]);
    expect(input.returned).toBe(true);
  });

  it("reads nothing when the signal is already aborted", async () => {
    const stop = new AbortController();
    stop.abort();
    const seen: string[] = [];
    const reading = forEachRegion(
      stuckInput("a\n"),
      Buffer.from("\n"),
      (buf, start, end) => {
        seen.push(buf.subarray(start, end).toString());
        return end;
      },
      () => Promise.resolve(),
      stop.signal,
    );
    const outcome = await Promise.race([
      reading.then(() => "ended"),
      new Promise((r) => setTimeout(() => r("still reading after 1 s"), 1000)),
    ]);
    expect(outcome).toBe("ended");
    expect(seen).toEqual([]);
  });
});
