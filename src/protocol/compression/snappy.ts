/**
 * Snappy for codec 2. Compression is `snappyjs`, written as one raw snappy
 * block, as librdkafka does. Decompression is written here (snappyjs's decoder
 * does not check that a copy stays inside the output or that the output is
 * complete) and accepts both the raw format and the xerial framing that the
 * Java client (snappy-java's SnappyOutputStream) writes:
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
import SnappyJS from "snappyjs";
import { ProtocolError } from "../protocol-error.js";
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

/** Compresses `data` into one raw snappy block (a fresh buffer). */
export function snappyCompress(data: Uint8Array): Buffer {
  const view = Buffer.isBuffer(data)
    ? data
    : Buffer.from(data.buffer, data.byteOffset, data.length);
  return SnappyJS.compress(view);
}

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
