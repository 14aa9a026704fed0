/**
 * The match-length scan the LZ77 compressors (lz4, snappy) share: how far two
 * positions of the input agree, a 32-bit word at a time.
 */

/** The number of equal low-order bytes of two 32-bit words whose xor `x` is not 0. */
function equalLowBytes(x: number): number {
  return (31 - Math.clz32(x & -x)) >>> 3;
}

/** Length of the common run of `src` at `a` and `b` (`b` < `a`), `a` not passing `limit`. */
export function commonLength(
  sv: DataView,
  src: Uint8Array,
  a: number,
  b: number,
  limit: number,
): number {
  const from = a;
  const wordLimit = limit - 4;
  while (a <= wordLimit) {
    const x = sv.getInt32(a, true) ^ sv.getInt32(b, true);
    if (x !== 0) return a - from + equalLowBytes(x);
    a += 4;
    b += 4;
  }
  while (a < limit && src[a] === src[b]) {
    a++;
    b++;
  }
  return a - from;
}
