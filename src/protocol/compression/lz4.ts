/**
 * LZ4, written here: the block format, a fast compressor, a hash-chain (HC)
 * compressor for higher levels, and the frame format Kafka uses for codec 3.
 *
 * Block: a sequence of
 *   token u8                  high nibble literal length, low nibble match length - 4
 *   literal length extension  while the nibble is 15: bytes added until one is < 255
 *   literals
 *   offset u16 LE             1..65535 back into the output (absent in the last sequence)
 *   match length extension    as for literals
 * The last sequence holds only literals; a match is at least 4 bytes, the last
 * 5 bytes of a block are literals and the last match starts 12 or more bytes
 * before the end (the compressor keeps these; the decoder does not need them).
 *
 * Frame (lz4 doc/lz4_Frame_format.md):
 *   magic u32 LE              0x184D2204
 *   FLG u8                    version 01 (bits 7-6), block independence (5),
 *                             block checksum (4), content size (3),
 *                             content checksum (2), reserved (1), dictID (0)
 *   BD u8                     block max size id (bits 6-4): 4 64 KB, 5 256 KB, 6 1 MB, 7 4 MB
 *   content size u64 LE       when FLG bit 3
 *   dictID u32 LE             when FLG bit 0
 *   HC u8                     (xxh32(FLG .. last descriptor byte, 0) >> 8) & 0xff
 *   blocks                    u32 LE size (high bit: stored uncompressed), data,
 *                             u32 LE xxh32(data) when FLG bit 4
 *   end mark u32              0
 *   content checksum u32 LE   xxh32 of the decompressed content, when FLG bit 2
 *
 * Kafka (magic >= 1, KIP-57) wants the correct HC and independent blocks (the
 * Java client's Lz4BlockInputStream refuses linked ones); librdkafka and the
 * Java client write 64 KB independent blocks, no content size and no checksums,
 * and so does `lz4CompressFrame` by default.
 *
 * The compressors use module-level tables that are never cleared between calls:
 * an entry stores `position + delta`, and `delta` moves past every earlier
 * entry at each block, so stale entries point before the block and are ignored.
 * Decoding trusts nothing: every length, offset and checksum is checked and a
 * bad frame throws `ProtocolError` (CORRUPT_COMPRESSED_DATA).
 *
 * Speed: 4-byte sequences are read, compared and copied as 32-bit words
 * through DataViews (one load instead of four), short copies in whole words
 * that may run up to 7 bytes past their end, always inside the buffer and
 * into bytes written again later or lying past the result.
 */
import { ProtocolError } from "../protocol-error.js";
import { commonLength } from "./common-length.js";
import type { DecompressOptions } from "./options.js";
import { xxh32 } from "./xxhash32.js";

export const LZ4_FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC_MIN = 0x184d2a50;
const SKIPPABLE_MAGIC_MAX = 0x184d2a5f;
const LEGACY_MAGIC = 0x184c2102;

const FLG_VERSION_MASK = 0xc0;
const FLG_VERSION_01 = 0x40;
const FLG_BLOCK_INDEPENDENCE = 0x20;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_RESERVED = 0x02;
const FLG_DICT_ID = 0x01;
const BD_RESERVED = 0x8f;
const UNCOMPRESSED_BLOCK = 0x8000_0000;

/** Block maximum sizes of the frame format, by BD id 4..7. */
export type Lz4BlockSize = 65536 | 262144 | 1048576 | 4194304;
const BLOCK_SIZE_IDS: ReadonlyMap<number, number> = new Map([
  [65536, 4],
  [262144, 5],
  [1048576, 6],
  [4194304, 7],
]);

const MIN_MATCH = 4;
const LAST_LITERALS = 5;
const MF_LIMIT = 12;
const MAX_DISTANCE = 65535;
/** Below this a block is stored as literals only (a match needs MF_LIMIT + 1 bytes). */
const MIN_INPUT = MF_LIMIT + 1;

/** Highest level; levels 3 and up use the hash-chain compressor. */
export const LZ4_MAX_LEVEL = 12;
/** Lowest level of the hash-chain compressor; -1..2 use the fast compressor. */
export const LZ4_HC_MIN_LEVEL = 3;

/** Worst-case size of one compressed block of `n` bytes. */
export function lz4CompressBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

function read32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

function corrupt(message: string, offset?: number): ProtocolError {
  return new ProtocolError("CORRUPT_COMPRESSED_DATA", `lz4: ${message}`, offset);
}

// ---------------------------------------------------------------------------
// Block compression

/** A little-endian view of `b`, for 32-bit loads and stores at any offset. */
function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Copies `n` bytes; short runs by hand (cheaper than a subarray and a native call). */
function copy(src: Uint8Array, s: number, dst: Uint8Array, d: number, n: number): void {
  if (n > 24) dst.set(src.subarray(s, s + n), d);
  else for (let i = 0; i < n; i++) dst[d + i] = src[s + i]!;
}

/**
 * Copies `n` bytes in 32-bit words, 8 bytes a turn, so up to 7 bytes past
 * `s + n` are read and past `d + n` overwritten: the caller keeps both inside
 * bytes it owns and overwrites later. Word by word and in order, so a copy
 * within one buffer may overlap when `d - s >= 4`: every word read was
 * written before.
 */
function wildCopy(sv: DataView, s: number, dv: DataView, d: number, n: number): void {
  for (let i = 0; i < n; i += 8) {
    dv.setInt32(d + i, sv.getInt32(s + i, true), true);
    dv.setInt32(d + i + 4, sv.getInt32(s + i + 4, true), true);
  }
}

/** Writes a length's extension bytes (255 while more, then the rest) at `d`; returns the end. */
function putLengthExt(dst: Uint8Array, d: number, rest: number): number {
  while (rest >= 255) {
    dst[d++] = 255;
    rest -= 255;
  }
  dst[d++] = rest;
  return d;
}

/** Writes one sequence: literals `src[anchor, anchor + litLen)` then a match. */
function putSequence(
  src: Uint8Array,
  anchor: number,
  litLen: number,
  dst: Uint8Array,
  d: number,
  offset: number,
  matchLen: number,
): number {
  const tokenAt = d++;
  let token: number;
  if (litLen >= 15) {
    token = 0xf0;
    d = putLengthExt(dst, d, litLen - 15);
  } else {
    token = litLen << 4;
  }
  copy(src, anchor, dst, d, litLen);
  d += litLen;
  dst[d++] = offset & 0xff;
  dst[d++] = offset >>> 8;
  const m = matchLen - MIN_MATCH;
  if (m >= 15) {
    token |= 15;
    d = putLengthExt(dst, d, m - 15);
  } else {
    token |= m;
  }
  dst[tokenAt] = token;
  return d;
}

/** Writes the final, literals-only sequence. */
function putLastLiterals(src: Uint8Array, anchor: number, end: number, dst: Uint8Array, d: number) {
  const litLen = end - anchor;
  if (litLen >= 15) {
    dst[d++] = 0xf0;
    d = putLengthExt(dst, d, litLen - 15);
  } else {
    dst[d++] = litLen << 4;
  }
  copy(src, anchor, dst, d, litLen);
  return d + litLen;
}

const FAST_HASH_LOG = 16;
const FAST_SHIFT = 32 - FAST_HASH_LOG;
/** Misses before the search step grows (the reference's skip trigger). */
const SKIP_TRIGGER = 6;
/** Entry values stay below 2^31: past this the table is cleared once. */
const EPOCH_LIMIT = 0x4000_0000;

const fastTable = new Int32Array(1 << FAST_HASH_LOG);
let fastEpoch = 1;

function hash4(seq: number, shift: number): number {
  return Math.imul(seq, 0x9e3779b1) >>> shift;
}

/**
 * Compresses `src[start, end)` as one independent block into `dst` at `d`
 * (which needs `lz4CompressBound(end - start)` bytes); returns the end in `dst`.
 * Greedy single-probe matching on a hash of 4-byte sequences, with the search
 * step growing over incompressible stretches (acceleration 1).
 */
function compressBlockFast(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  d: number,
): number {
  const len = end - start;
  if (len < MIN_INPUT) return putLastLiterals(src, start, end, dst, d);
  const table = fastTable;
  if (fastEpoch > EPOCH_LIMIT) {
    table.fill(0);
    fastEpoch = 1;
  }
  // An entry is `position + delta`; entries from earlier blocks land below `start`.
  const delta = fastEpoch - start;
  fastEpoch += len + 1;
  const sv = viewOf(src);
  const dv = viewOf(dst);
  const mfLimit = end - MF_LIMIT;
  const matchLimit = end - LAST_LITERALS;
  let anchor = start;
  let ip = start;
  table[hash4(sv.getInt32(ip, true), FAST_SHIFT)] = ip + delta;
  ip++;

  search: for (;;) {
    let ref = 0;
    let step = 1;
    let misses = 1 << SKIP_TRIGGER;
    for (;;) {
      if (ip > mfLimit) break search;
      const seq = sv.getInt32(ip, true);
      const h = hash4(seq, FAST_SHIFT);
      ref = table[h]! - delta;
      table[h] = ip + delta;
      if (ref >= start && ip - ref <= MAX_DISTANCE && sv.getInt32(ref, true) === seq) break;
      ip += step;
      step = misses++ >> SKIP_TRIGGER;
    }
    // Extend the match backwards over literals not yet written.
    while (ip > anchor && ref > start && src[ip - 1] === src[ref - 1]) {
      ip--;
      ref--;
    }
    // The literals, then one match after another while the next position matches too.
    const litLen = ip - anchor;
    let tokenAt = d++;
    let token = 0xf0;
    if (litLen >= 15) d = putLengthExt(dst, d, litLen - 15);
    else token = litLen << 4;
    // The over-copy stays inside both: in the input the match (ip <= mfLimit) follows,
    // in the output an offset, a token and the 5 last literals at least.
    if (litLen <= 32) wildCopy(sv, anchor, dv, d, litLen);
    else dst.set(src.subarray(anchor, ip), d);
    d += litLen;
    for (;;) {
      dv.setUint16(d, ip - ref, true);
      d += 2;
      const m = commonLength(sv, src, ip + MIN_MATCH, ref + MIN_MATCH, matchLimit);
      if (m >= 15) {
        dst[tokenAt] = token | 15;
        d = putLengthExt(dst, d, m - 15);
      } else {
        dst[tokenAt] = token | m;
      }
      ip += MIN_MATCH + m;
      anchor = ip;
      if (ip > mfLimit) break search;
      table[hash4(sv.getInt32(ip - 2, true), FAST_SHIFT)] = ip - 2 + delta;
      // A match right here needs no literals.
      const seq = sv.getInt32(ip, true);
      const h = hash4(seq, FAST_SHIFT);
      ref = table[h]! - delta;
      table[h] = ip + delta;
      if (!(ref >= start && ip - ref <= MAX_DISTANCE && sv.getInt32(ref, true) === seq)) break;
      tokenAt = d++;
      token = 0;
    }
    ip++;
  }
  return putLastLiterals(src, anchor, end, dst, d);
}

const HC_HASH_LOG = 15;
const HC_SHIFT = 32 - HC_HASH_LOG;
let hcHead: Int32Array | undefined;
/** Distance to the previous position with the same hash, by position mod 64 KB. */
let hcChain: Uint16Array | undefined;
let hcEpoch = 1;
// The best match of the last `hcFind`.
let hcBestLen = 0;
let hcBestRef = 0;

/** Chain probes per position for levels 3..12. */
function hcAttempts(level: number): number {
  return level >= LZ4_MAX_LEVEL ? 4096 : 1 << (Math.min(level, 11) - 1);
}

/**
 * The hash-chain compressor of levels 3..12: every position is inserted in a
 * chain of earlier positions with the same 4-byte hash, up to `attempts` of
 * them are compared, and the longest match wins; a match found one byte later
 * that is longer replaces it (one step of lazy matching). The reference's
 * optimal parser (its levels 10-12) is not implemented: those levels search
 * deeper with the same parser.
 */
function compressBlockHC(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  d: number,
  attempts: number,
): number {
  const len = end - start;
  if (len < MIN_INPUT) return putLastLiterals(src, start, end, dst, d);
  hcHead ??= new Int32Array(1 << HC_HASH_LOG);
  hcChain ??= new Uint16Array(MAX_DISTANCE + 1);
  const head = hcHead;
  const chain = hcChain;
  if (hcEpoch > EPOCH_LIMIT) {
    head.fill(0);
    hcEpoch = 1;
  }
  const delta = hcEpoch - start;
  hcEpoch += len + 1;
  const mfLimit = end - MF_LIMIT;
  const matchLimit = end - LAST_LITERALS;
  const sv = viewOf(src);
  let nextToInsert = start;

  const find = (ip: number): void => {
    while (nextToInsert <= ip) {
      const p = nextToInsert++;
      const h = hash4(read32(src, p), HC_SHIFT);
      const dist = p - (head[h]! - delta);
      chain[p & MAX_DISTANCE] = Math.min(dist, MAX_DISTANCE);
      head[h] = p + delta;
    }
    const seq = read32(src, ip);
    let bestLen = MIN_MATCH - 1;
    let bestRef = 0;
    let m = ip - chain[ip & MAX_DISTANCE]!;
    for (let n = attempts; n > 0 && m >= start && ip - m <= MAX_DISTANCE; n--) {
      if (src[m + bestLen] === src[ip + bestLen] && read32(src, m) === seq) {
        const l = MIN_MATCH + commonLength(sv, src, ip + MIN_MATCH, m + MIN_MATCH, matchLimit);
        if (l > bestLen) {
          bestLen = l;
          bestRef = m;
          if (ip + l >= matchLimit) break;
        }
      }
      m -= chain[m & MAX_DISTANCE]!;
    }
    hcBestLen = bestLen;
    hcBestRef = bestRef;
  };

  let anchor = start;
  let ip = start;
  while (ip <= mfLimit) {
    find(ip);
    if (hcBestLen < MIN_MATCH) {
      ip++;
      continue;
    }
    let matchLen = hcBestLen;
    let ref = hcBestRef;
    while (ip + 1 <= mfLimit && ip + matchLen < matchLimit) {
      find(ip + 1);
      if (hcBestLen <= matchLen) break;
      ip++;
      matchLen = hcBestLen;
      ref = hcBestRef;
    }
    d = putSequence(src, anchor, ip - anchor, dst, d, ip - ref, matchLen);
    ip += matchLen;
    anchor = ip;
  }
  return putLastLiterals(src, anchor, end, dst, d);
}

function checkLevel(level: number): void {
  if (!Number.isInteger(level) || level < -1 || level > LZ4_MAX_LEVEL) {
    throw new RangeError(`lz4 compression level must be -1..${LZ4_MAX_LEVEL}: ${level}`);
  }
}

/**
 * Compresses `src[start, end)` as one independent LZ4 block into `dst` at
 * `dstOffset`; `dst` needs `lz4CompressBound(end - start)` bytes from there.
 * Returns the compressed size. Levels -1..2 are the fast compressor, 3..12 the
 * hash-chain one.
 */
export function lz4CompressBlock(
  src: Uint8Array,
  dst: Uint8Array,
  dstOffset = 0,
  level = -1,
  start = 0,
  end = src.length,
): number {
  checkLevel(level);
  if (dst.length - dstOffset < lz4CompressBound(end - start)) {
    throw new RangeError("lz4 block destination is smaller than lz4CompressBound(input)");
  }
  return compressBlockAt(src, start, end, dst, dstOffset, level) - dstOffset;
}

function compressBlockAt(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  d: number,
  level: number,
): number {
  return level >= LZ4_HC_MIN_LEVEL
    ? compressBlockHC(src, start, end, dst, d, hcAttempts(level))
    : compressBlockFast(src, start, end, dst, d);
}

// ---------------------------------------------------------------------------
// Block decompression

/**
 * Decodes the block `src[s, sEnd)` into `dst` at `d`, writing no further than
 * `dEnd`; matches may reach back to `windowStart` (the block start for
 * independent blocks, the frame's first output byte for linked ones).
 * Returns the end of the output.
 */
function decodeBlock(
  src: Uint8Array,
  s: number,
  sEnd: number,
  dst: Uint8Array,
  d: number,
  dEnd: number,
  windowStart: number,
): number {
  const sv = viewOf(src);
  const dv = viewOf(dst);
  // From at or below these, a word copy of up to 32 bytes (32 at most, in 8-byte
  // turns) stays inside the buffers.
  const sWild = src.length - 32;
  const dWild = dst.length - 32;
  for (;;) {
    if (s >= sEnd) throw corrupt("block ends inside a sequence", s);
    const token = src[s++]!;
    let litLen = token >>> 4;
    if (litLen === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw corrupt("block ends inside a literal length", s);
        b = src[s++]!;
        litLen += b;
      } while (b === 255);
    }
    if (litLen > sEnd - s) throw corrupt(`${litLen} literals run past the block`, s);
    if (litLen > dEnd - d) throw new Overflow("CORRUPT_COMPRESSED_DATA", "lz4: block too large", s);
    // The bytes written past the literals are overwritten by the match or lie past the output.
    if (litLen <= 32 && s <= sWild && d <= dWild) wildCopy(sv, s, dv, d, litLen);
    else copy(src, s, dst, d, litLen);
    s += litLen;
    d += litLen;
    if (s === sEnd) return d; // the last sequence: literals only
    if (sEnd - s < 2) throw corrupt("block ends inside a match offset", s);
    const offset = src[s]! | (src[s + 1]! << 8);
    if (offset === 0 || offset > d - windowStart) {
      throw corrupt(`match offset ${offset} reaches before the start of the output`, s);
    }
    s += 2;
    let matchLen = (token & 15) + MIN_MATCH;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (s >= sEnd) throw corrupt("block ends inside a match length", s);
        b = src[s++]!;
        matchLen += b;
      } while (b === 255);
    }
    if (matchLen > dEnd - d)
      throw new Overflow("CORRUPT_COMPRESSED_DATA", "lz4: block too large", s);
    let from = d - offset;
    if (matchLen > 64 && offset >= matchLen) {
      dst.copyWithin(d, from, from + matchLen);
      d += matchLen;
    } else if (offset >= 4 && d + matchLen <= dst.length - 7) {
      // Up to 7 bytes past the match are written (the next sequence overwrites them).
      wildCopy(dv, from, dv, d, matchLen);
      d += matchLen;
    } else if (offset === 1 && matchLen > 32) {
      dst.fill(dst[from]!, d, d + matchLen);
      d += matchLen;
    } else {
      // Overlapping copy: the match repeats the last `offset` bytes.
      const stop = d + matchLen;
      while (d < stop) dst[d++] = dst[from++]!;
    }
  }
}

/**
 * Decodes one raw LZ4 block (no frame) into a new buffer of at most `maxSize`
 * bytes (the block format does not record its decompressed size).
 */
export function lz4DecompressBlock(src: Uint8Array, maxSize: number): Buffer {
  if (!Number.isSafeInteger(maxSize) || maxSize < 0) {
    throw new RangeError(`lz4 block maxSize must be a non-negative integer: ${maxSize}`);
  }
  const cap = Math.min(maxSize, maxBlockOutput(src.length));
  const out = Buffer.allocUnsafe(cap);
  try {
    return out.subarray(0, decodeBlock(src, 0, src.length, out, 0, cap, 0));
  } catch (e) {
    if (e instanceof Overflow) throw corrupt(`block decodes to more than ${maxSize} bytes`);
    throw e;
  }
}

/** An upper bound of what `n` bytes of block can decode to (255 bytes per input byte, at most). */
function maxBlockOutput(n: number): number {
  return n * 255 + 16;
}

// ---------------------------------------------------------------------------
// Frames

export interface Lz4FrameOptions {
  /** -1 (default) or 0..2: the fast compressor; 3..12: hash-chain, deeper with the level. */
  level?: number;
  /** Block maximum size; 64 KB by default (as librdkafka and the Java client write). */
  blockSize?: Lz4BlockSize;
  /** xxh32 after each block (FLG bit 4). Default false. */
  blockChecksum?: boolean;
  /** xxh32 of the whole content after the end mark (FLG bit 2). Default false. */
  contentChecksum?: boolean;
  /** The content size in the frame descriptor (FLG bit 3). Default false. */
  contentSize?: boolean;
}

interface FramePlan {
  level: number;
  blockMax: number;
  blockChecksum: boolean;
  contentChecksum: boolean;
  contentSize: boolean;
  /** Enough room for the frame and one block's worst case. */
  scratchSize: number;
}

function planFrame(n: number, options: Lz4FrameOptions): FramePlan {
  const level = options.level ?? -1;
  checkLevel(level);
  const blockMax = options.blockSize ?? 65536;
  if (!BLOCK_SIZE_IDS.has(blockMax)) {
    throw new RangeError(`lz4 block size must be 64 KB, 256 KB, 1 MB or 4 MB: ${blockMax}`);
  }
  const blocks = Math.ceil(n / blockMax);
  const blockChecksum = options.blockChecksum ?? false;
  const perBlock = 4 + (blockChecksum ? 4 : 0);
  // Header 4 + 2 + 8 + 1, the blocks (never more than stored), end mark, checksum,
  // and the slack of compressing one block in place before falling back to storing it.
  const scratchSize =
    15 +
    blocks * perBlock +
    n +
    8 +
    lz4CompressBound(Math.min(n, blockMax)) -
    Math.min(n, blockMax);
  return {
    level,
    blockMax,
    blockChecksum,
    contentChecksum: options.contentChecksum ?? false,
    contentSize: options.contentSize ?? false,
    scratchSize,
  };
}

/**
 * Input compressed between two yields of the async compressor: a few ms of
 * work either way (the fast compressor does some 600 MB/s, the hash-chain one
 * 10-60 MB/s).
 */
const FAST_SLICE = 1024 * 1024;
const HC_SLICE = 64 * 1024;

function blocksPerSlice(plan: FramePlan): number {
  const slice = plan.level >= LZ4_HC_MIN_LEVEL ? HC_SLICE : FAST_SLICE;
  return Math.max(1, Math.floor(slice / plan.blockMax));
}

/**
 * Writes the frame of `data` into `out`, yielding after every few blocks so an
 * async caller can give the event loop a turn. Returns the frame size.
 */
function* writeFrame(data: Uint8Array, plan: FramePlan, out: Buffer): Generator<void, number> {
  out.writeUInt32LE(LZ4_FRAME_MAGIC, 0);
  let flg = FLG_VERSION_01 | FLG_BLOCK_INDEPENDENCE;
  if (plan.blockChecksum) flg |= FLG_BLOCK_CHECKSUM;
  if (plan.contentSize) flg |= FLG_CONTENT_SIZE;
  if (plan.contentChecksum) flg |= FLG_CONTENT_CHECKSUM;
  out[4] = flg;
  out[5] = BLOCK_SIZE_IDS.get(plan.blockMax)! << 4;
  let pos = 6;
  if (plan.contentSize) {
    out.writeUInt32LE(data.length >>> 0, pos);
    out.writeUInt32LE(Math.floor(data.length / 0x1_0000_0000), pos + 4);
    pos += 8;
  }
  out[pos] = (xxh32(out, 0, 4, pos) >>> 8) & 0xff;
  pos++;

  let blocks = 0;
  const perSlice = blocksPerSlice(plan);
  for (let start = 0; start < data.length; start += plan.blockMax) {
    const end = Math.min(start + plan.blockMax, data.length);
    const raw = end - start;
    const dataAt = pos + 4;
    const size = compressBlockAt(data, start, end, out, dataAt, plan.level) - dataAt;
    let stored: number;
    if (size < raw) {
      out.writeUInt32LE(size, pos);
      stored = size;
    } else {
      // Compression did not help: the block goes in as it is.
      out.writeUInt32LE((raw | UNCOMPRESSED_BLOCK) >>> 0, pos);
      out.set(data.subarray(start, end), dataAt);
      stored = raw;
    }
    pos = dataAt + stored;
    if (plan.blockChecksum) {
      out.writeUInt32LE(xxh32(out, 0, dataAt, pos), pos);
      pos += 4;
    }
    if (++blocks % perSlice === 0) yield;
  }
  out.writeUInt32LE(0, pos); // end mark
  pos += 4;
  if (plan.contentChecksum) {
    out.writeUInt32LE(xxh32(data), pos);
    pos += 4;
  }
  return pos;
}

/** Reused output scratch of the sync compressor, kept while it stays this small. */
const SCRATCH_KEEP = 4 * 1024 * 1024;
let scratch = Buffer.allocUnsafe(0);

/** Compresses `data` into one LZ4 frame (a fresh buffer of exactly the frame's size). */
export function lz4CompressFrame(data: Uint8Array, options: Lz4FrameOptions = {}): Buffer {
  const plan = planFrame(data.length, options);
  let out = scratch;
  if (out.length < plan.scratchSize) {
    out = Buffer.allocUnsafe(plan.scratchSize);
    if (plan.scratchSize <= SCRATCH_KEEP) scratch = out;
  }
  const frame = writeFrame(data, plan, out);
  let step = frame.next();
  while (!step.done) step = frame.next();
  return Buffer.from(out.subarray(0, step.value));
}

/**
 * Like `lz4CompressFrame`, giving the event loop a turn after every 1 MB of
 * input (64 KB at the hash-chain levels 3..12); an input of one slice or less
 * is compressed in one go.
 */
export async function lz4CompressFrameAsync(
  data: Uint8Array,
  options: Lz4FrameOptions = {},
): Promise<Buffer> {
  const plan = planFrame(data.length, options);
  if (data.length <= plan.blockMax * blocksPerSlice(plan)) return lz4CompressFrame(data, options);
  // Its own buffer: other compressions may run while this one waits.
  const out = Buffer.allocUnsafe(plan.scratchSize);
  const frame = writeFrame(data, plan, out);
  let step = frame.next();
  while (!step.done) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    step = frame.next();
  }
  return Buffer.from(out.subarray(0, step.value));
}

/** A growable output for the decoder, never larger than `max`. */
class Output {
  buf: Buffer;
  pos = 0;
  constructor(
    initial: number,
    readonly max: number,
  ) {
    this.buf = Buffer.allocUnsafe(Math.min(Math.max(initial, 64), max));
  }

  /** Room for up to `n` more bytes (an upper bound of what comes), within `max`. */
  ensure(n: number): void {
    const need = Math.min(this.pos + n, this.max);
    if (need <= this.buf.length) return;
    const size = Math.min(Math.max(this.buf.length * 2, need), this.max);
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  tooLarge(at: number): ProtocolError {
    return new ProtocolError("FRAME_TOO_LARGE", `lz4: content exceeds ${this.max} bytes`, at);
  }
}

/** A block that decodes past its room: corrupt, or past the caller's size limit. */
class Overflow extends ProtocolError {}

/**
 * Decompresses an LZ4 frame, or several back to back, skipping skippable
 * frames. Handles every block size, linked or independent blocks, block and
 * content checksums and the content size. Frames with a dictionary ID and the
 * legacy format throw UNSUPPORTED_COMPRESSION; anything malformed throws
 * CORRUPT_COMPRESSED_DATA.
 */
export function lz4DecompressFrame(data: Uint8Array, options: DecompressOptions = {}): Buffer {
  const max = options.maxOutputSize ?? 0xffff_ffff;
  // Sized by each frame's descriptor and block sizes as it starts; doubles if that falls short.
  const out = new Output(0, max);
  let pos = 0;
  let frames = 0;
  while (pos < data.length || frames === 0) {
    if (data.length - pos < 4) throw corrupt("truncated frame magic", pos);
    const magic = read32(data, pos) >>> 0;
    if (magic >= SKIPPABLE_MAGIC_MIN && magic <= SKIPPABLE_MAGIC_MAX) {
      if (data.length - pos < 8) throw corrupt("truncated skippable frame", pos);
      const size = read32(data, pos + 4) >>> 0;
      if (size > data.length - pos - 8) throw corrupt("skippable frame runs past the input", pos);
      pos += 8 + size;
      frames++;
      continue;
    }
    if (magic === LEGACY_MAGIC) {
      throw new ProtocolError(
        "UNSUPPORTED_COMPRESSION",
        "lz4: the legacy frame format is not supported",
        pos,
      );
    }
    if (magic !== LZ4_FRAME_MAGIC) {
      throw corrupt(`bad frame magic 0x${magic.toString(16).padStart(8, "0")}`, pos);
    }
    pos = decodeFrame(data, pos + 4, out, max);
    frames++;
  }
  return out.buf.subarray(0, out.pos);
}

/**
 * The room the blocks from `pos` ask for, each as much as it may decode to
 * (a compressor fills every block but the last), so the output is allocated
 * once instead of doubled and copied. Only blocks present in the input count,
 * none more than its bytes can decode to: a lying header allocates nothing.
 */
function frameOutputGuess(
  data: Uint8Array,
  pos: number,
  blockMax: number,
  blockChecksum: boolean,
): number {
  let total = 0;
  while (data.length - pos >= 4) {
    const word = read32(data, pos) >>> 0;
    const size = word & 0x7fff_ffff;
    if (word === 0 || size > blockMax || size > data.length - pos - 4) break;
    total += word & UNCOMPRESSED_BLOCK ? size : Math.min(blockMax, maxBlockOutput(size));
    pos += 4 + size + (blockChecksum ? 4 : 0);
  }
  return total;
}

/** Decodes one frame whose descriptor starts at `pos`; returns the position after it. */
function decodeFrame(data: Uint8Array, pos: number, out: Output, max: number): number {
  const descriptorAt = pos;
  if (data.length - pos < 3) throw corrupt("truncated frame descriptor", pos);
  const flg = data[pos]!;
  const bd = data[pos + 1]!;
  if ((flg & FLG_VERSION_MASK) !== FLG_VERSION_01) {
    throw corrupt(`unsupported frame version ${flg >>> 6}`, pos);
  }
  if (flg & FLG_RESERVED || bd & BD_RESERVED) throw corrupt("reserved descriptor bits set", pos);
  const blockSizeId = (bd >>> 4) & 7;
  if (blockSizeId < 4) throw corrupt(`invalid block maximum size id ${blockSizeId}`, pos + 1);
  const blockMax = 1 << (2 * blockSizeId + 8);
  pos += 2;
  let contentSize = -1;
  if (flg & FLG_CONTENT_SIZE) {
    if (data.length - pos < 9) throw corrupt("truncated content size", pos);
    const lo = read32(data, pos) >>> 0;
    const hi = read32(data, pos + 4) >>> 0;
    // Beyond 2^53 (or any Buffer) it can only fail the size check below.
    contentSize = hi * 0x1_0000_0000 + lo;
    pos += 8;
  }
  if (flg & FLG_DICT_ID) {
    throw new ProtocolError(
      "UNSUPPORTED_COMPRESSION",
      "lz4: frames that need a dictionary are not supported",
      descriptorAt,
    );
  }
  if (pos >= data.length) throw corrupt("truncated frame descriptor", pos);
  const hc = (xxh32(data, 0, descriptorAt, pos) >>> 8) & 0xff;
  if (data[pos] !== hc) {
    throw corrupt(
      `frame descriptor checksum 0x${data[pos]!.toString(16)} should be 0x${hc.toString(16)}`,
      pos,
    );
  }
  pos++;
  if (contentSize > max) {
    throw new ProtocolError(
      "FRAME_TOO_LARGE",
      `lz4: content size ${contentSize} exceeds the ${max}-byte limit`,
      descriptorAt,
    );
  }
  const independent = (flg & FLG_BLOCK_INDEPENDENCE) !== 0;
  const blockChecksum = (flg & FLG_BLOCK_CHECKSUM) !== 0;
  if (contentSize > 0 && contentSize <= maxBlockOutput(data.length - pos)) out.ensure(contentSize);
  else out.ensure(frameOutputGuess(data, pos, blockMax, blockChecksum));
  const frameStart = out.pos;
  for (;;) {
    if (data.length - pos < 4) throw corrupt("truncated block size", pos);
    const word = read32(data, pos) >>> 0;
    const sizeAt = pos;
    pos += 4;
    if (word === 0) break; // end mark
    const size = word & 0x7fff_ffff;
    if (size > blockMax) throw corrupt(`block of ${size} bytes exceeds ${blockMax}`, sizeAt);
    if (size + (blockChecksum ? 4 : 0) > data.length - pos) {
      throw corrupt("block runs past the input", sizeAt);
    }
    if (blockChecksum) {
      const want = read32(data, pos + size) >>> 0;
      if (xxh32(data, 0, pos, pos + size) !== want) throw corrupt("block checksum mismatch", pos);
    }
    if (word & UNCOMPRESSED_BLOCK) {
      if (size > max - out.pos) throw out.tooLarge(sizeAt);
      out.ensure(size);
      out.buf.set(data.subarray(pos, pos + size), out.pos);
      out.pos += size;
    } else {
      // What this block may decode to: its maximum size, or less when so few bytes cannot make it.
      const room = Math.min(blockMax, maxBlockOutput(size));
      out.ensure(room);
      const limit = Math.min(out.pos + room, max);
      const blockStart = out.pos;
      try {
        out.pos = decodeBlock(
          data,
          pos,
          pos + size,
          out.buf,
          out.pos,
          limit,
          independent ? blockStart : frameStart,
        );
      } catch (e) {
        if (e instanceof Overflow) {
          if (limit === max && blockStart + room > max) throw out.tooLarge(sizeAt);
          throw corrupt(`block decodes to more than its maximum size ${blockMax}`, sizeAt);
        }
        throw e;
      }
    }
    pos += size + (blockChecksum ? 4 : 0);
  }
  if (flg & FLG_CONTENT_CHECKSUM) {
    if (data.length - pos < 4) throw corrupt("truncated content checksum", pos);
    const want = read32(data, pos) >>> 0;
    if (xxh32(out.buf, 0, frameStart, out.pos) !== want) {
      throw corrupt("content checksum mismatch", pos);
    }
    pos += 4;
  }
  if (contentSize >= 0 && out.pos - frameStart !== contentSize) {
    throw corrupt(
      `frame declares ${contentSize} bytes of content but holds ${out.pos - frameStart}`,
      descriptorAt,
    );
  }
  return pos;
}
