/**
 * Snappy for codec 2, both directions written here. Compression writes one
 * raw snappy block, as librdkafka does, with the reference's algorithm: the
 * input in 64 KB fragments, each matched on a hash of 4-byte sequences with
 * the search step growing over incompressible stretches. Decompression checks
 * that a copy stays inside the output and that the output is complete, and
 * accepts both the raw format and the xerial framing that the Java client
 * (snappy-java's SnappyOutputStream) writes:
 *
 *   magic [8]byte               0x82 "SNAPPY" 0x00
 *   version int32 BE            1
 *   compatible version int32 BE 1
 *   chunks                      int32 BE length, then a raw snappy block
 *
 * Raw snappy (google/snappy format_description.txt):
 *   uncompressed length uvarint (at most 32 bits), then elements by tag bits 0-1:
 *   00 literal: length - 1 in bits 2-7 (60..63: 1..4 more LE bytes hold it), the bytes
 *   01 copy: length 4..11 in bits 2-4, offset 11 bits (bits 5-7 and one byte)
 *   10 copy: length 1..64 in bits 2-7, offset u16 LE
 *   11 copy: length 1..64 in bits 2-7, offset u32 LE
 */
import { ProtocolError } from "../protocol-error.js";
import { commonLength } from "./common-length.js";
import type { DecompressOptions } from "./options.js";

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;

/**
 * The most a raw snappy block of `n` bytes can decode to: a 3-byte copy makes
 * 64 bytes, the densest element, so about 21.4 bytes per input byte.
 */
function maxSnappyOutput(n: number): number {
  return Math.ceil((n * 64) / 3);
}

function corrupt(message: string, offset?: number): ProtocolError {
  return new ProtocolError("CORRUPT_COMPRESSED_DATA", `snappy: ${message}`, offset);
}

// ---------------------------------------------------------------------------
// Compression

/** Fragments are compressed independently, so every copy offset fits 16 bits. */
const FRAGMENT = 65536;
/** The last bytes of a fragment are never searched: word loads stay inside it. */
const INPUT_MARGIN = 15;
/** The table's size bounds, as the reference's: 2^8, up to 2^14 entries used. */
const MIN_HASH_LOG = 8;
const HASH_LOG = 14;
/** Entry values stay below 2^31: past this the table is cleared once. */
const EPOCH_LIMIT = 0x4000_0000;

// One table for every call: an entry is `position + delta`, with `delta` moved on by each
// fragment, so entries of earlier fragments read as positions before the fragment and the
// table needs no clearing (64 KB cleared per fragment cost as much as a short input).
const table = new Int32Array(1 << HASH_LOG);
let epoch = 1;

/** Worst-case size of the raw snappy block of `n` bytes (the reference's bound). */
export function snappyMaxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

function hash(seq: number, shift: number): number {
  return Math.imul(seq, 0x1e35a7bd) >>> shift;
}

/** A little-endian view of `b`, for 32-bit loads at any offset. */
function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Writes the literal `src[from, to)` (not empty) at `d`; returns the end. */
function putLiteral(src: Uint8Array, from: number, to: number, dst: Uint8Array, d: number): number {
  const n = to - from;
  const l = n - 1;
  if (l < 60) {
    dst[d++] = l << 2;
  } else if (l < 0x100) {
    dst[d++] = 60 << 2;
    dst[d++] = l;
  } else if (l < 0x1_0000) {
    dst[d++] = 61 << 2;
    dst[d++] = l & 0xff;
    dst[d++] = l >>> 8;
  } else if (l < 0x100_0000) {
    dst[d++] = 62 << 2;
    dst[d++] = l & 0xff;
    dst[d++] = (l >>> 8) & 0xff;
    dst[d++] = l >>> 16;
  } else {
    dst[d++] = 63 << 2;
    dst[d++] = l & 0xff;
    dst[d++] = (l >>> 8) & 0xff;
    dst[d++] = (l >>> 16) & 0xff;
    dst[d++] = l >>> 24;
  }
  // Short runs by hand: cheaper than a subarray and a native call.
  if (n <= 16) for (let i = 0; i < n; i++) dst[d + i] = src[from + i]!;
  else dst.set(src.subarray(from, to), d);
  return d + n;
}

/** Writes a copy of 4..64 bytes: 2 bytes when it fits copy-1, else 3 (copy-2). */
function putCopyUpTo64(dst: Uint8Array, d: number, offset: number, len: number): number {
  if (len < 12 && offset < 2048) {
    dst[d++] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
    dst[d++] = offset & 0xff;
  } else {
    dst[d++] = 2 | ((len - 1) << 2);
    dst[d++] = offset & 0xff;
    dst[d++] = offset >>> 8;
  }
  return d;
}

/** Writes a copy of any length >= 4 as 64-byte pieces, never leaving a piece under 4. */
function putCopy(dst: Uint8Array, d: number, offset: number, len: number): number {
  while (len >= 68) {
    d = putCopyUpTo64(dst, d, offset, 64);
    len -= 64;
  }
  if (len > 64) {
    d = putCopyUpTo64(dst, d, offset, 60);
    len -= 60;
  }
  return putCopyUpTo64(dst, d, offset, len);
}

/** Compresses the fragment `src[start, end)` into `dst` at `d`; returns the end in `dst`. */
function compressFragment(
  src: Uint8Array,
  sv: DataView,
  start: number,
  end: number,
  dst: Uint8Array,
  d: number,
): number {
  const len = end - start;
  if (len < INPUT_MARGIN + 2) return len === 0 ? d : putLiteral(src, start, end, dst, d);
  if (epoch > EPOCH_LIMIT) {
    table.fill(0);
    epoch = 1;
  }
  const delta = epoch - start;
  epoch += len + 1;
  // As the reference sizes its table: the power of two >= the fragment, within the bounds.
  let bits = MIN_HASH_LOG;
  while (bits < HASH_LOG && 1 << bits < len) bits++;
  const shift = 32 - bits;
  const ipLimit = end - INPUT_MARGIN;
  let anchor = start;
  let ip = start + 1;
  let nextHash = hash(sv.getInt32(ip, true), shift);
  search: for (;;) {
    // Probe every position at first, then further apart the longer nothing matches.
    let skip = 32;
    let next = ip;
    let ref: number;
    do {
      ip = next;
      const h = nextHash;
      next = ip + (skip++ >> 5);
      if (next > ipLimit) break search;
      nextHash = hash(sv.getInt32(next, true), shift);
      // An entry from before this fragment reads as its start, as the reference's
      // zeroed table does.
      ref = Math.max(table[h]! - delta, start);
      table[h] = ip + delta;
    } while (sv.getInt32(ip, true) !== sv.getInt32(ref, true));
    d = putLiteral(src, anchor, ip, dst, d);
    // One copy after another while the position after a copy matches too.
    do {
      const matched = 4 + commonLength(sv, src, ip + 4, ref + 4, end);
      d = putCopy(dst, d, ip - ref, matched);
      ip += matched;
      anchor = ip;
      if (ip >= ipLimit) break search;
      table[hash(sv.getInt32(ip - 1, true), shift)] = ip - 1 + delta;
      const h = hash(sv.getInt32(ip, true), shift);
      ref = Math.max(table[h]! - delta, start);
      table[h] = ip + delta;
    } while (sv.getInt32(ip, true) === sv.getInt32(ref, true));
    nextHash = hash(sv.getInt32(++ip, true), shift);
  }
  return anchor < end ? putLiteral(src, anchor, end, dst, d) : d;
}

/** Reused output scratch, kept while it stays this small. */
const SCRATCH_KEEP = 4 * 1024 * 1024;
let scratch = Buffer.allocUnsafe(0);

/** Compresses `data` into one raw snappy block (a fresh buffer of exactly its size). */
export function snappyCompress(data: Uint8Array): Buffer {
  const n = data.length;
  if (n > 0xffff_ffff) throw new RangeError(`snappy: ${n} bytes is more than a block holds`);
  const need = snappyMaxCompressedLength(n);
  let out = scratch;
  if (out.length < need) {
    out = Buffer.allocUnsafe(need);
    if (need <= SCRATCH_KEEP) scratch = out;
  }
  let d = 0;
  // The preamble: the uncompressed length as a uvarint.
  let v = n;
  while (v >= 0x80) {
    out[d++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[d++] = v;
  const sv = viewOf(data);
  for (let start = 0; start < n; start += FRAGMENT) {
    d = compressFragment(data, sv, start, Math.min(start + FRAGMENT, n), out, d);
  }
  return Buffer.from(out.subarray(0, d));
}

// ---------------------------------------------------------------------------
// Decompression

/** Whether `data` starts with the xerial (snappy-java stream) magic. */
export function isXerialSnappy(data: Uint8Array): boolean {
  if (data.length < XERIAL_MAGIC.length) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

/** Decompresses raw snappy, or xerial-framed snappy when it starts with the xerial magic. */
export function snappyDecompress(data: Uint8Array, options: DecompressOptions = {}): Buffer {
  const max = options.maxOutputSize ?? 0xffff_ffff;
  if (isXerialSnappy(data)) return decompressXerial(data, max);
  const [length, start] = readLength(data, 0, data.length, max);
  const out = Buffer.allocUnsafe(length);
  decodeRaw(data, start, data.length, out, 0, length);
  return out;
}

/** The preamble: uncompressed length and where the elements start. */
function readLength(data: Uint8Array, pos: number, end: number, max: number): [number, number] {
  const at = pos;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= end) throw corrupt("truncated length preamble", pos);
    const b = data[pos++]!;
    if (shift === 28 && b > 0x0f) throw corrupt("length preamble beyond 32 bits", at);
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (length > maxSnappyOutput(end - pos)) {
    throw corrupt(`length ${length} is more than ${end - pos} bytes can hold`, at);
  }
  if (length > max) {
    throw new ProtocolError("FRAME_TOO_LARGE", `snappy: ${length} bytes exceed ${max}`, at);
  }
  return [length, pos];
}

/** Decodes the elements `data[pos, end)` into exactly `out[o, oEnd)`. */
function decodeRaw(
  data: Uint8Array,
  pos: number,
  end: number,
  out: Buffer,
  o: number,
  oEnd: number,
): void {
  const base = o;
  while (pos < end) {
    const at = pos;
    const tag = data[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = (tag >>> 2) + 1;
      if (len > 60) {
        const n = len - 60;
        if (end - pos < n) throw corrupt("truncated literal length", at);
        len = 0;
        for (let i = n - 1; i >= 0; i--) len = len * 256 + data[pos + i]!;
        len += 1;
        pos += n;
      }
      if (len > end - pos) throw corrupt(`literal of ${len} bytes runs past the input`, at);
      if (len > oEnd - o) throw corrupt("literal overflows the declared length", at);
      out.set(data.subarray(pos, pos + len), o);
      pos += len;
      o += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (pos >= end) throw corrupt("truncated copy", at);
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | data[pos++]!;
    } else if (kind === 2) {
      if (end - pos < 2) throw corrupt("truncated copy", at);
      len = (tag >>> 2) + 1;
      offset = data[pos]! | (data[pos + 1]! << 8);
      pos += 2;
    } else {
      if (end - pos < 4) throw corrupt("truncated copy", at);
      len = (tag >>> 2) + 1;
      offset =
        (data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16) | (data[pos + 3]! << 24)) >>>
        0;
      pos += 4;
    }
    if (offset === 0 || offset > o - base) {
      throw corrupt(`copy offset ${offset} reaches before the start of the output`, at);
    }
    if (len > oEnd - o) throw corrupt("copy overflows the declared length", at);
    let from = o - offset;
    if (offset >= len) {
      out.copyWithin(o, from, from + len);
      o += len;
    } else {
      const stop = o + len;
      while (o < stop) out[o++] = out[from++]!;
    }
  }
  if (o !== oEnd) throw corrupt(`${oEnd - base} bytes declared, ${o - base} decoded`, end);
}

/** xerial framing: the header, then [int32 length, raw snappy block]...; two passes, one allocation. */
function decompressXerial(data: Uint8Array, max: number): Buffer {
  if (data.length < XERIAL_HEADER_SIZE) throw corrupt("truncated xerial header", 0);
  const view = Buffer.from(data.buffer, data.byteOffset, data.length);
  const chunks: number[] = []; // [start, end, uncompressed length, elements start]...
  let total = 0;
  let pos = XERIAL_HEADER_SIZE;
  while (pos < data.length) {
    if (data.length - pos < 4) throw corrupt("truncated xerial chunk length", pos);
    const size = view.readInt32BE(pos);
    if (size < 0 || size > data.length - pos - 4) {
      throw corrupt(`xerial chunk of ${size} bytes runs past the input`, pos);
    }
    const start = pos + 4;
    const end = start + size;
    const [length, elements] = readLength(data, start, end, max - total);
    chunks.push(start, end, length, elements);
    total += length;
    pos = end;
  }
  const out = Buffer.allocUnsafe(total);
  let o = 0;
  for (let i = 0; i < chunks.length; i += 4) {
    const length = chunks[i + 2]!;
    decodeRaw(data, chunks[i + 3]!, chunks[i + 1]!, out, o, o + length);
    o += length;
  }
  return out;
}
