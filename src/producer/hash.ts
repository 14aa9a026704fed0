/**
 * The key hashes behind the partitioners, bit-compatible with the clients
 * whose partitioning they reproduce:
 *
 * - `murmur2`: the Java client's `Utils.murmur2` (MurmurHash2, seed 0x9747b28c),
 *   which librdkafka's `rd_murmur2` also matches.
 * - `fnv1a`: librdkafka's `rd_fnv1a`, i.e. 32-bit FNV-1a read as a signed int
 *   and made absolute (Sarama's `NewHashPartitioner` convention).
 * - `crc32`: the zlib CRC-32 (reflected 0xEDB88320) librdkafka's `rd_crc32` uses.
 *
 * Each takes a byte range so callers can hash a region of a reusable scratch
 * buffer without `subarray()`; none of them allocates.
 */

const MURMUR2_SEED = 0x9747b28c;
const MURMUR2_M = 0x5bd1e995;
const MURMUR2_R = 24;

/**
 * MurmurHash2 of `data[start, end)` as the Java client computes it: a signed
 * 32-bit int (e.g. "21" gives -973932308).
 */
export function murmur2(data: Uint8Array, start = 0, end = data.length): number {
  const len = end - start;
  let h = MURMUR2_SEED ^ len;
  let i = start;
  const blocks = start + (len & ~3);
  // 4-byte little-endian words, whatever the alignment (MurmurHashNeutral2).
  for (; i < blocks; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, MURMUR2_M);
    k ^= k >>> MURMUR2_R;
    k = Math.imul(k, MURMUR2_M);
    h = Math.imul(h, MURMUR2_M) ^ k;
  }
  const rest = len & 3;
  if (rest === 3) h ^= data[i + 2] << 16;
  if (rest >= 2) h ^= data[i + 1] << 8;
  if (rest >= 1) h = Math.imul(h ^ data[i], MURMUR2_M);
  h ^= h >>> 13;
  h = Math.imul(h, MURMUR2_M);
  h ^= h >>> 15;
  return h;
}

/** Java's `Utils.toPositive`: clears the sign bit (not `Math.abs`). */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

const FNV1A_OFFSET = 0x811c9dc5;
const FNV1A_PRIME = 0x01000193;

/**
 * librdkafka's `rd_fnv1a` of `data[start, end)`: the FNV-1a state is a signed
 * 32-bit int whose absolute value is returned, so the result is in
 * [0, 2^31] (INT32_MIN stays 2^31, as its unsigned cast does in C).
 */
export function fnv1a(data: Uint8Array, start = 0, end = data.length): number {
  let h = FNV1A_OFFSET | 0;
  for (let i = start; i < end; i++) {
    h = Math.imul(h ^ data[i], FNV1A_PRIME);
  }
  return h < 0 ? -h : h;
}

const CRC32_TABLE = makeCrc32Table();

function makeCrc32Table(): Int32Array {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
}

/** CRC-32 (zlib/IEEE) of `data[start, end)`, unsigned ("123456789" gives 0xcbf43926). */
export function crc32(data: Uint8Array, start = 0, end = data.length): number {
  let c = -1;
  for (let i = start; i < end; i++) c = CRC32_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
