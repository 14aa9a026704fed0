// The records every client sends: the same values in the same order, generated here for the
// in-process clients and written to a file (one value per line) for the file-fed ones.

import { once } from "node:events";
import { createWriteStream } from "node:fs";

/** Distinct values cycled through; a power of two so `i & (POOL - 1)` picks one. */
export const POOL = 1024;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * POOL distinct values of `size` printable bytes (no newline, so they are lines too),
 * from a fixed-seed xorshift32: every run and every client sends the same bytes.
 */
export function makeValues(size) {
  let s = 0x9e3779b9 ^ size;
  const values = [];
  for (let v = 0; v < POOL; v++) {
    const b = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      b[i] = ALPHABET.charCodeAt(s & 63);
    }
    values.push(b);
  }
  return values;
}

/** Writes `records` lines (value i is values[i % POOL]) to `file`. */
export async function writeDataFile(file, size, records) {
  const values = makeValues(size);
  const cycle = Buffer.concat(values.flatMap((v) => [v, Buffer.from("\n")]));
  const out = createWriteStream(file);
  const fullCycles = Math.floor(records / POOL);
  for (let c = 0; c < fullCycles; c++) {
    if (!out.write(cycle)) await once(out, "drain");
  }
  const rest = records - fullCycles * POOL;
  if (rest > 0) out.write(cycle.subarray(0, rest * (size + 1)));
  out.end();
  await once(out, "finish");
}
