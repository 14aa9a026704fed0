/** Small helpers shared by the byte-level protocol tests. */
import { expect } from "vitest";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { Writer } from "../../src/protocol/writer.js";

/** ASCII bytes of a string, for hand-assembled vectors. */
export const ascii = (s: string): number[] => [...Buffer.from(s, "latin1")];

/** Concatenates byte values and byte lists into one Buffer. */
export const bytes = (...parts: (number | number[])[]): Buffer => Buffer.from(parts.flat());

/** What `write` puts into a fresh Writer, as a Buffer of its own. */
export function body(write: (w: Writer) => void, capacity = 16): Buffer {
  const w = new Writer(capacity);
  write(w);
  return Buffer.from(w.finish());
}

/** Runs `fn`; any exception must be a ProtocolError. */
export function onlyProtocolErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
  }
}

/** xorshift32: reproducible pseudo-random uint32 values, so failures reproduce. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Bit-at-a-time CRC-32C (reflected polynomial 0x82F63B78): an independent reference. */
export function crc32cBitwise(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
