/**
 * Encoder for the Kafka protocol primitive types (see the protocol guide,
 * "Protocol Primitive Types").
 *
 * One growable buffer, written front to back. Lengths, sizes and CRCs that are
 * only known after the body is written are reserved with `reserve()` and patched
 * with the `set*At()` methods, so nothing is encoded twice or concatenated.
 */
import { randomBytes } from "node:crypto";

const UTF8 = "utf8";
const TWO_POW_32 = 0x1_0000_0000;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MASK = 2n ** 64n - 1n;

export type Int64 = number | bigint;

/** A Kafka UUID: 16 raw bytes. */
export type Uuid = Uint8Array;

export const ZERO_UUID: Uuid = new Uint8Array(16);

export function randomUuid(): Uuid {
  return new Uint8Array(randomBytes(16));
}

export class Writer {
  buf: Buffer;
  pos = 0;
  /**
   * While splicing (see `beginSplicing`), byte arrays given to `spliced()` are
   * kept by reference and go out beside the buffer, not copied into it.
   */
  private splices: { at: number; data: Uint8Array }[] | null = null;
  /** Bytes referenced by splices: part of the message, not of `buf`. */
  splicedBytes = 0;

  constructor(initialCapacity = 1024) {
    this.buf = Buffer.allocUnsafe(initialCapacity);
  }

  /** Makes room for `n` more bytes, growing the buffer (doubling) when needed. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    // max(): a zero-capacity writer would otherwise double 0 forever.
    let size = Math.max(this.buf.length * 2, 64);
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Forgets what was written; the buffer is kept for reuse. */
  reset(): this {
    this.pos = 0;
    this.splices = null;
    this.splicedBytes = 0;
    return this;
  }

  /**
   * From here on, `spliced()` records large byte arrays instead of copying
   * them: the message is then `chunks()`, for a vectored socket write.
   */
  beginSplicing(): this {
    this.splices = [];
    this.splicedBytes = 0;
    return this;
  }

  /** Writes `bytes` by reference while splicing, by copy otherwise. */
  spliced(bytes: Uint8Array): this {
    if (this.splices === null) return this.raw(bytes);
    this.splices.push({ at: this.pos, data: bytes });
    this.splicedBytes += bytes.length;
    return this;
  }

  /**
   * The message from `start` as chunks: the buffer's bytes interleaved with
   * the spliced arrays, in order. Valid until the writer is written again.
   */
  chunks(start = 0): Uint8Array[] {
    const out: Uint8Array[] = [];
    let from = start;
    for (const s of this.splices ?? []) {
      if (s.at < start) continue;
      if (s.at > from) out.push(this.buf.subarray(from, s.at));
      out.push(s.data);
      from = s.at;
    }
    if (this.pos > from) out.push(this.buf.subarray(from, this.pos));
    return out;
  }

  /** The bytes written so far (a view, not a copy). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Reserves `n` bytes to patch later; returns their offset. */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  int8(v: number): this {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
    return this;
  }

  uint8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  boolean(v: boolean): this {
    return this.uint8(v ? 1 : 0);
  }

  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  uint16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  uint32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  /**
   * int64 from a safe-integer number (written as two 32-bit halves, no BigInt)
   * or from a bigint.
   */
  int64(v: Int64): this {
    this.ensure(8);
    writeInt64At(this.buf, this.pos, v);
    this.pos += 8;
    return this;
  }

  float64(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
    return this;
  }

  /** Unsigned varint (protobuf style, 7 bits a byte, low bits first); 0 .. 2^32-1. */
  uvarint(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v >= TWO_POW_32) {
      throw new RangeError(`unsigned varint out of range: ${v}`);
    }
    this.ensure(5);
    const buf = this.buf;
    let pos = this.pos;
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
    return this;
  }

  /** Zigzag varint of a signed 32-bit value. */
  varint(v: number): this {
    if (!Number.isInteger(v) || v < -0x8000_0000 || v > 0x7fff_ffff) {
      throw new RangeError(`varint out of int32 range: ${v}`);
    }
    return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  /**
   * Zigzag varlong of a signed 64-bit value. Safe-integer numbers take a
   * BigInt-free path; a bigint covers the full int64 range exactly.
   */
  varlong(v: Int64): this {
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v)) throw new RangeError(`varlong needs a safe integer: ${v}`);
      // zigzag(v) = 2m + s with m = v or -v - 1 and s the sign bit. 2m + s can reach
      // 2^54 and is not exact as a double, so build its low 7 bits from m's low 6
      // bits and s, and continue with m / 64 (= zigzag >> 7), which is exact.
      const s = v < 0 ? 1 : 0;
      const m = v < 0 ? -v - 1 : v;
      let b = (m % 64) * 2 + s;
      let rest = Math.floor(m / 64);
      this.ensure(10);
      const buf = this.buf;
      let pos = this.pos;
      while (rest > 0) {
        buf[pos++] = b | 0x80;
        b = rest % 0x80;
        rest = Math.floor(rest / 0x80);
      }
      buf[pos++] = b;
      this.pos = pos;
      return this;
    }
    if (v < INT64_MIN || v > INT64_MAX) throw new RangeError(`varlong out of int64 range: ${v}`);
    let z = ((v << 1n) ^ (v >> 63n)) & UINT64_MASK;
    this.ensure(10);
    while (z >= 0x80n) {
      this.buf[this.pos++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.buf[this.pos++] = Number(z);
    return this;
  }

  uuid(v: Uuid): this {
    if (v.length !== 16) throw new RangeError(`a UUID is 16 bytes, got ${v.length}`);
    return this.raw(v);
  }

  /** Copies raw bytes. */
  raw(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  /** STRING: int16 length then UTF-8 bytes. */
  string(s: string): this {
    const len = Buffer.byteLength(s, UTF8);
    if (len > 0x7fff) throw new RangeError(`string longer than 32767 bytes (${len})`);
    this.ensure(2 + len);
    this.buf.writeInt16BE(len, this.pos);
    this.buf.write(s, this.pos + 2, len, UTF8);
    this.pos += 2 + len;
    return this;
  }

  /** NULLABLE_STRING: length -1 for null. */
  nullableString(s: string | null | undefined): this {
    return s == null ? this.int16(-1) : this.string(s);
  }

  /** COMPACT_STRING: unsigned varint of length + 1, then UTF-8 bytes. */
  compactString(s: string): this {
    const len = Buffer.byteLength(s, UTF8);
    this.uvarint(len + 1);
    this.ensure(len);
    this.buf.write(s, this.pos, len, UTF8);
    this.pos += len;
    return this;
  }

  /** COMPACT_NULLABLE_STRING: 0 for null. */
  compactNullableString(s: string | null | undefined): this {
    return s == null ? this.uvarint(0) : this.compactString(s);
  }

  /** BYTES: int32 length then the bytes. */
  bytes(b: Uint8Array): this {
    this.int32(b.length);
    return this.raw(b);
  }

  /** NULLABLE_BYTES: length -1 for null. */
  nullableBytes(b: Uint8Array | null | undefined): this {
    return b == null ? this.int32(-1) : this.bytes(b);
  }

  /** COMPACT_BYTES: unsigned varint of length + 1, then the bytes. */
  compactBytes(b: Uint8Array): this {
    this.uvarint(b.length + 1);
    return this.raw(b);
  }

  compactNullableBytes(b: Uint8Array | null | undefined): this {
    return b == null ? this.uvarint(0) : this.compactBytes(b);
  }

  /** ARRAY: int32 count (-1 for null) then each element. */
  array<T>(items: readonly T[] | null | undefined, write: (w: this, item: T) => void): this {
    if (items == null) return this.int32(-1);
    this.int32(items.length);
    for (const item of items) write(this, item);
    return this;
  }

  /** COMPACT_ARRAY: unsigned varint of count + 1 (0 for null) then each element. */
  compactArray<T>(items: readonly T[] | null | undefined, write: (w: this, item: T) => void): this {
    if (items == null) return this.uvarint(0);
    this.uvarint(items.length + 1);
    for (const item of items) write(this, item);
    return this;
  }

  /**
   * TAGGED_FIELDS (KIP-482): count, then per field its tag, size and bytes, in
   * ascending tag order. With no fields this is the single byte 0.
   */
  taggedFields(fields?: ReadonlyArray<TaggedField>): this {
    if (!fields || fields.length === 0) return this.uint8(0);
    const sorted = [...fields].sort((a, b) => a.tag - b.tag);
    for (let i = 1; i < sorted.length; i++) {
      // Readers reject a repeated tag, so never write one.
      if (sorted[i]!.tag === sorted[i - 1]!.tag) {
        throw new RangeError(`tagged field ${sorted[i]!.tag} given twice`);
      }
    }
    this.uvarint(sorted.length);
    for (const f of sorted) {
      this.uvarint(f.tag);
      this.uvarint(f.data.length);
      this.raw(f.data);
    }
    return this;
  }

  setInt8At(at: number, v: number): void {
    this.buf.writeInt8(v, at);
  }

  setInt16At(at: number, v: number): void {
    this.buf.writeInt16BE(v, at);
  }

  setInt32At(at: number, v: number): void {
    this.buf.writeInt32BE(v, at);
  }

  setUint32At(at: number, v: number): void {
    this.buf.writeUInt32BE(v, at);
  }

  setInt64At(at: number, v: Int64): void {
    writeInt64At(this.buf, at, v);
  }
}

export interface TaggedField {
  tag: number;
  data: Uint8Array;
}

/** Writes an int64 big-endian; numbers must be safe integers. */
export function writeInt64At(buf: Buffer, at: number, v: Int64): void {
  if (typeof v === "bigint") {
    buf.writeBigInt64BE(v, at);
    return;
  }
  if (!Number.isSafeInteger(v)) throw new RangeError(`int64 needs a safe integer: ${v}`);
  const hi = Math.floor(v / TWO_POW_32);
  buf.writeInt32BE(hi, at);
  buf.writeUInt32BE(v - hi * TWO_POW_32, at + 4);
}

/** Unsigned varint width of a uint32. */
export function uvarintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x20_0000) return 3;
  if (v < 0x1000_0000) return 4;
  return 5;
}

/** Writes an unsigned varint (uint32) at `pos`, no range checks; returns the position after it. */
export function putUvarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}
