/**
 * CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), the
 * checksum of a v2 record batch (KIP-98), in plain TypeScript: slicing-by-16
 * (16 tables of 256 entries, built once at load), reading the input as
 * little-endian 32-bit words where the platform is little-endian.
 *
 * Measured against slicing-by-8 and -32, one shared table, and a fresh
 * Int32Array view per call: this was fastest on Node 20 and 24 from 1 KB to
 * 1 MB (32 tables no longer fit the L1 cache alongside the data).
 */

const POLY = 0x82f63b78;
const SLICES = 16;

function makeTables(): Int32Array {
  const t = new Int32Array(256 * SLICES);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[i] = c;
  }
  // Table k advances a byte's CRC through k more zero bytes.
  for (let i = 0; i < 256; i++) {
    let c = t[i]!;
    for (let k = 1; k < SLICES; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + i] = c;
    }
  }
  return t;
}

const TABLES = makeTables();
// Separate views rather than one table with offsets: fewer instructions per lookup in V8.
const [T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15] = Array.from(
  { length: SLICES },
  (_, k) => TABLES.subarray(k * 256, k * 256 + 256),
) as [
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
];

/** Int32Array reads bytes in platform order; the word loop assumes little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// The word view of the last buffer seen: a batch is checksummed where it was written, in
// a buffer the writer reuses, and making a view costs as much as hashing ~200 bytes.
let lastBuffer: ArrayBufferLike | undefined;
let lastWords: Int32Array<ArrayBufferLike> = new Int32Array(0);

function wordsOf(buffer: ArrayBufferLike, needed: number): Int32Array<ArrayBufferLike> {
  // `needed` guards a resizable ArrayBuffer that grew or shrank since the view was made.
  if (buffer !== lastBuffer || lastWords.length < needed) {
    lastBuffer = buffer;
    lastWords = new Int32Array(buffer, 0, buffer.byteLength >>> 2);
  }
  return lastWords;
}

/**
 * CRC-32C of `buf[start..end)` as an unsigned 32-bit number. The range is read
 * in place, never copied.
 */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  if (start < 0 || end > buf.length || start > end) {
    throw new RangeError(`crc32c range ${start}..${end} outside a buffer of ${buf.length}`);
  }
  return crc32cRange(buf, start, end, LITTLE_ENDIAN);
}

/**
 * `crc32c` without the range check; `words` false reads byte by byte (the
 * big-endian path, exported for the tests to reach on a little-endian machine).
 */
export function crc32cRange(buf: Uint8Array, start: number, end: number, words: boolean): number {
  let c = -1;
  let i = start;
  if (end - i >= 64) {
    if (words) {
      const base = buf.byteOffset;
      // Bytes up to a 4-byte boundary of the underlying ArrayBuffer, then 16 bytes a turn.
      while (((base + i) & 3) !== 0) c = T0[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
      const blocks = (end - i) >>> 4;
      let j = (base + i) >>> 2;
      const stop = j + blocks * 4;
      const w = wordsOf(buf.buffer, stop);
      for (; j < stop; j += 4) {
        c ^= w[j]!;
        const a = w[j + 1]!;
        const b = w[j + 2]!;
        const d = w[j + 3]!;
        c =
          T15[c & 0xff]! ^
          T14[(c >>> 8) & 0xff]! ^
          T13[(c >>> 16) & 0xff]! ^
          T12[c >>> 24]! ^
          T11[a & 0xff]! ^
          T10[(a >>> 8) & 0xff]! ^
          T9[(a >>> 16) & 0xff]! ^
          T8[a >>> 24]! ^
          T7[b & 0xff]! ^
          T6[(b >>> 8) & 0xff]! ^
          T5[(b >>> 16) & 0xff]! ^
          T4[b >>> 24]! ^
          T3[d & 0xff]! ^
          T2[(d >>> 8) & 0xff]! ^
          T1[(d >>> 16) & 0xff]! ^
          T0[d >>> 24]!;
      }
      i += blocks * 16;
    } else {
      const stop = end - 15;
      for (; i < stop; i += 16) {
        c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
        c =
          T15[c & 0xff]! ^
          T14[(c >>> 8) & 0xff]! ^
          T13[(c >>> 16) & 0xff]! ^
          T12[c >>> 24]! ^
          T11[buf[i + 4]!]! ^
          T10[buf[i + 5]!]! ^
          T9[buf[i + 6]!]! ^
          T8[buf[i + 7]!]! ^
          T7[buf[i + 8]!]! ^
          T6[buf[i + 9]!]! ^
          T5[buf[i + 10]!]! ^
          T4[buf[i + 11]!]! ^
          T3[buf[i + 12]!]! ^
          T2[buf[i + 13]!]! ^
          T1[buf[i + 14]!]! ^
          T0[buf[i + 15]!]!;
      }
    }
  }
  for (; i < end; i++) c = T0[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
