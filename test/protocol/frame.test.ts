import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_FRAME_BYTES, FrameSplitter } from "../../src/protocol/frame.js";
import { ProtocolError } from "../../src/protocol/protocol-error.js";

/** Big-endian int32 size prefix, by hand. */
function sizePrefix(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function body(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

// Bodies of 0, 1, 3, 4, 5 and 40 bytes: an empty frame, frames shorter than a
// size prefix, and one long enough to span many small chunks.
const BODIES = [body(5, 1), body(0, 2), body(1, 3), body(40, 4), body(3, 5), body(4, 6)];
const STREAM = Buffer.concat(BODIES.map((b) => Buffer.from([...sizePrefix(b.length), ...b])));

function collect(options?: { maxFrameBytes?: number }) {
  const frames: Buffer[] = [];
  const splitter = new FrameSplitter((f) => frames.push(Buffer.from(f)), options);
  return { frames, splitter };
}

function pushCuts(splitter: FrameSplitter, data: Buffer, cuts: number[]): void {
  let prev = 0;
  for (const cut of [...cuts, data.length]) {
    splitter.push(data.subarray(prev, cut));
    prev = cut;
  }
}

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function expectProtocolError(fn: () => void, code: string): ProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe(code);
    return err as ProtocolError;
  }
  throw new Error(`expected a ProtocolError ${code}`);
}

describe("FrameSplitter", () => {
  it("splits a stream pushed whole into its frames, without the size prefixes", () => {
    const { frames, splitter } = collect();
    splitter.push(STREAM);
    expect(frames).toEqual(BODIES);
    expect(splitter.pending).toBe(false);
    expect(splitter.bufferedBytes).toBe(0);
  });

  it("gives every single cut of the stream the same frames", () => {
    for (let cut = 0; cut <= STREAM.length; cut++) {
      const { frames, splitter } = collect();
      pushCuts(splitter, STREAM, [cut]);
      expect(frames, `cut at ${cut}`).toEqual(BODIES);
      expect(splitter.pending).toBe(false);
    }
  });

  it("gives every pair of cuts the same frames", () => {
    for (let a = 0; a <= STREAM.length; a++) {
      for (let b = a; b <= STREAM.length; b++) {
        const { frames, splitter } = collect();
        pushCuts(splitter, STREAM, [a, b]);
        expect(frames, `cuts at ${a}, ${b}`).toEqual(BODIES);
      }
    }
  });

  it("gives random multi-cuts the same frames", () => {
    const next = rng(42);
    for (let round = 0; round < 500; round++) {
      const n = 1 + Math.floor(next() * 12);
      const cuts = Array.from({ length: n }, () => Math.floor(next() * (STREAM.length + 1))).sort(
        (x, y) => x - y,
      );
      const { frames, splitter } = collect();
      pushCuts(splitter, STREAM, cuts);
      expect(frames, `cuts ${cuts.join(",")}`).toEqual(BODIES);
    }
  });

  it("handles 1-byte chunks, reporting what it holds between them", () => {
    const { frames, splitter } = collect();
    // The first frame: 4-byte prefix then 5 body bytes.
    for (let i = 0; i < 8; i++) {
      splitter.push(STREAM.subarray(i, i + 1));
      expect(splitter.pending).toBe(true);
      expect(splitter.bufferedBytes).toBe(i + 1);
    }
    splitter.push(STREAM.subarray(8, 9));
    expect(frames).toEqual([BODIES[0]]);
    expect(splitter.pending).toBe(false);
    expect(splitter.bufferedBytes).toBe(0);
    for (let i = 9; i < STREAM.length; i++) splitter.push(STREAM.subarray(i, i + 1));
    expect(frames).toEqual(BODIES);
    expect(splitter.pending).toBe(false);
  });

  it("ignores empty chunks", () => {
    const { frames, splitter } = collect();
    splitter.push(Buffer.alloc(0));
    splitter.push(STREAM.subarray(0, 2));
    splitter.push(Buffer.alloc(0));
    splitter.push(STREAM.subarray(2));
    expect(frames).toEqual(BODIES);
  });

  it("hands out a view, not a copy, when a frame lies wholly in one chunk", () => {
    const seen: Buffer[] = [];
    const splitter = new FrameSplitter((f) => seen.push(f));
    const chunk = Buffer.from([...sizePrefix(3), 0xaa, 0xbb, 0xcc, ...sizePrefix(1), 0xdd]);
    splitter.push(chunk);
    expect(seen).toHaveLength(2);
    expect(seen[0]!.buffer).toBe(chunk.buffer);
    expect(seen[0]!.byteOffset).toBe(chunk.byteOffset + 4);
    expect([...seen[0]!]).toEqual([0xaa, 0xbb, 0xcc]);
    expect(seen[1]!.buffer).toBe(chunk.buffer);
    expect(seen[1]!.byteOffset).toBe(chunk.byteOffset + 11);
  });

  it("hands out a view of the chunk holding the whole body after a split size prefix", () => {
    const seen: Buffer[] = [];
    const splitter = new FrameSplitter((f) => seen.push(f));
    splitter.push(Buffer.from([0x00, 0x00]));
    splitter.push(Buffer.from([0x00]));
    expect(splitter.bufferedBytes).toBe(3);
    const rest = Buffer.from([0x02, 0x11, 0x22]);
    splitter.push(rest);
    expect(seen).toHaveLength(1);
    expect([...seen[0]!]).toEqual([0x11, 0x22]);
    expect(seen[0]!.buffer).toBe(rest.buffer);
  });

  it("copies a frame spanning chunks once, into a buffer of exactly its size", () => {
    const size = 1 << 20; // 1 MiB in 64 KiB chunks, the prefix split 2 + 2
    const big = body(size, 9);
    const data = Buffer.concat([Buffer.from(sizePrefix(size)), big, Buffer.from(sizePrefix(0))]);
    const seen: Buffer[] = [];
    const splitter = new FrameSplitter((f) => seen.push(f));
    splitter.push(data.subarray(0, 2));
    let pos = 2;
    while (pos < data.length) {
      const end = Math.min(pos + 65536, data.length);
      splitter.push(data.subarray(pos, end));
      if (pos + 65536 < 4 + size) expect(splitter.bufferedBytes).toBe(end);
      pos = end;
    }
    expect(seen).toHaveLength(2);
    expect(seen[0]!.equals(big)).toBe(true);
    expect(seen[0]!.buffer).not.toBe(data.buffer);
    expect(seen[0]!.byteLength).toBe(size);
    expect(seen[0]!.buffer.byteLength).toBe(size);
    expect(seen[1]!.length).toBe(0);
    expect(splitter.pending).toBe(false);
  });

  it("accepts a frame of exactly maxFrameBytes and refuses one byte more", () => {
    const { frames, splitter } = collect({ maxFrameBytes: 4 });
    splitter.push(Buffer.from([...sizePrefix(4), 1, 2, 3, 4]));
    expect(frames).toEqual([Buffer.from([1, 2, 3, 4])]);
    const err = expectProtocolError(
      () => splitter.push(Buffer.from([...sizePrefix(5), 1, 2, 3, 4, 5])),
      "FRAME_TOO_LARGE",
    );
    expect(err.message).toBe("frame of 5 bytes exceeds maxFrameBytes 4 (at byte 8)");
    expect(err.offset).toBe(8);
    expect(frames).toHaveLength(1);
  });

  it("refuses a size over the 100 MiB default as soon as the prefix is complete", () => {
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(104857600);
    const { splitter } = collect();
    expect(splitter.maxFrameBytes).toBe(DEFAULT_MAX_FRAME_BYTES);
    splitter.push(Buffer.from(sizePrefix(DEFAULT_MAX_FRAME_BYTES)));
    expect(splitter.bufferedBytes).toBe(4);
    const { splitter: other } = collect();
    other.push(Buffer.from([0x06, 0x40]));
    expectProtocolError(() => other.push(Buffer.from([0x00, 0x01])), "FRAME_TOO_LARGE");
  });

  it("refuses a negative size with INVALID_LENGTH after delivering the frames before it", () => {
    const { frames, splitter } = collect();
    const data = Buffer.from([...sizePrefix(1), 0x7f, 0xff, 0xff, 0xff, 0xff, 0x00]);
    const err = expectProtocolError(() => splitter.push(data), "INVALID_LENGTH");
    expect(err.message).toBe("negative frame size -1 (at byte 5)");
    expect(frames).toEqual([Buffer.from([0x7f])]);
    const { splitter: min } = collect();
    expectProtocolError(() => min.push(Buffer.from([0x80, 0, 0, 0])), "INVALID_LENGTH");
  });

  it("stays unusable after a refused size", () => {
    const { frames, splitter } = collect({ maxFrameBytes: 8 });
    expectProtocolError(() => splitter.push(Buffer.from(sizePrefix(9))), "FRAME_TOO_LARGE");
    for (let i = 0; i < 2; i++) {
      expectProtocolError(
        () => splitter.push(Buffer.from([...sizePrefix(1), 1])),
        "FRAME_TOO_LARGE",
      );
    }
    expect(frames).toHaveLength(0);
  });

  it("lets an error from onFrame propagate, and is then unusable", () => {
    const boom = new Error("decoder failed");
    let calls = 0;
    const splitter = new FrameSplitter(() => {
      calls++;
      throw boom;
    });
    expect(() => splitter.push(STREAM)).toThrow(boom);
    expect(() => splitter.push(STREAM)).toThrow(boom);
    expect(calls).toBe(1);
  });

  it("checks maxFrameBytes", () => {
    for (const bad of [-1, 1.5, 2 ** 31, Number.NaN]) {
      expect(() => new FrameSplitter(() => {}, { maxFrameBytes: bad })).toThrow(
        /maxFrameBytes must be an integer in 0\.\.2\^31-1/,
      );
    }
    expect(new FrameSplitter(() => {}, { maxFrameBytes: 0 }).maxFrameBytes).toBe(0);
  });

  it("never throws anything but ProtocolError on random streams", () => {
    const next = rng(7);
    for (let round = 0; round < 300; round++) {
      const data = Buffer.alloc(Math.floor(next() * 64));
      for (let i = 0; i < data.length; i++) data[i] = Math.floor(next() * 256);
      // Small sizes are common enough to also exercise complete frames.
      if (data.length > 4 && next() < 0.5) data[0] = data[1] = data[2] = 0;
      const { splitter } = collect({ maxFrameBytes: 1024 });
      let total = 0;
      try {
        let pos = 0;
        while (pos < data.length) {
          const end = Math.min(data.length, pos + 1 + Math.floor(next() * 9));
          splitter.push(data.subarray(pos, end));
          pos = end;
        }
        total = splitter.bufferedBytes;
      } catch (err) {
        expect(err).toBeInstanceOf(ProtocolError);
      }
      expect(total).toBeLessThanOrEqual(data.length);
    }
  });
});
