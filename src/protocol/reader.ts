/**
 * Decoder for the Kafka protocol primitive types.
 *
 * Every read is bounds-checked against the end of the frame and every length or
 * count read from the wire is checked against the bytes that remain before
 * anything is allocated, so truncated or lying input throws a `ProtocolError`.
 * Bytes come back as views into the frame, not copies.
 */
import { ProtocolError } from "./protocol-error.js";
import type { TaggedField, Uuid } from "./writer.js";

const TWO_POW_32 = 0x1_0000_0000;
const MAX_SAFE_HI = 0x1f_ffff; // high 32 bits of Number.MAX_SAFE_INTEGER

export class Reader {
  pos: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    offset = 0,
    end = buf.length,
  ) {
    if (offset < 0 || end > buf.length || offset > end) {
      throw new RangeError(`reader window ${offset}..${end} outside a buffer of ${buf.length}`);
    }
    this.pos = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws unless `n` more bytes are there. */
  need(n: number, what = "value"): void {
    if (n > this.end - this.pos) {
      throw new ProtocolError(
        "TRUNCATED",
        `truncated input: ${what} needs ${n} bytes, ${this.end - this.pos} left`,
        this.pos,
      );
    }
  }

  skip(n: number): void {
    this.need(n, "skipped field");
    this.pos += n;
  }

  int8(): number {
    this.need(1, "int8");
    return this.buf.readInt8(this.pos++);
  }

  uint8(): number {
    this.need(1, "uint8");
    return this.buf[this.pos++]!;
  }

  boolean(): boolean {
    return this.uint8() !== 0;
  }

  int16(): number {
    this.need(2, "int16");
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(): number {
    this.need(2, "uint16");
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4, "int32");
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    this.need(4, "uint32");
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** int64 as a bigint (exact over the full range). */
  int64(): bigint {
    this.need(8, "int64");
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /**
   * int64 as a number without creating a BigInt; throws when the value is not a
   * safe integer (offsets and timestamps always are in practice).
   */
  int64Number(): number {
    this.need(8, "int64");
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    // -2^53 (hi = -2^21, lo = 0) is exact but not a safe integer.
    if (hi > MAX_SAFE_HI || hi < -MAX_SAFE_HI - 1 || (hi === -MAX_SAFE_HI - 1 && lo === 0)) {
      throw new ProtocolError("INVALID_VALUE", "int64 beyond the safe integer range", this.pos);
    }
    this.pos += 8;
    return hi * TWO_POW_32 + lo;
  }

  float64(): number {
    this.need(8, "float64");
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Unsigned varint, at most 5 bytes (32 bits). */
  uvarint(): number {
    const buf = this.buf;
    const start = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) {
        throw new ProtocolError("TRUNCATED", "truncated input: unterminated varint", start);
      }
      const b = buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (result >= TWO_POW_32) {
          throw new ProtocolError("INVALID_VARINT", "varint exceeds 32 bits", start);
        }
        return result;
      }
      mul *= 0x80;
    }
    throw new ProtocolError("INVALID_VARINT", "varint longer than 5 bytes", start);
  }

  /** Zigzag varint (signed 32-bit). */
  varint(): number {
    const z = this.uvarint();
    return (z >>> 1) ^ -(z & 1);
  }

  /** Zigzag varlong as a bigint, exact over the full int64 range. */
  varlong(): bigint {
    const start = this.pos;
    let z = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) {
        throw new ProtocolError("TRUNCATED", "truncated input: unterminated varlong", start);
      }
      const b = this.buf[this.pos++]!;
      z |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) {
        if (z > 0xffff_ffff_ffff_ffffn) {
          throw new ProtocolError("INVALID_VARINT", "varlong exceeds 64 bits", start);
        }
        return (z >> 1n) ^ -(z & 1n);
      }
      shift += 7n;
    }
    throw new ProtocolError("INVALID_VARINT", "varlong longer than 10 bytes", start);
  }

  /**
   * Zigzag varlong as a number, BigInt-free while the value fits in 53 bits
   * (record timestamp and offset deltas always do); exact or it throws.
   */
  varlongNumber(): number {
    const start = this.pos;
    let z = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) {
        throw new ProtocolError("TRUNCATED", "truncated input: unterminated varlong", start);
      }
      const b = this.buf[this.pos++]!;
      z += (b & 0x7f) * mul;
      if (b < 0x80) {
        // Below 2^53 the sum is exact; at or above it may have rounded (and then
        // compares >= 2^53), so such values take the exact path.
        if (z > Number.MAX_SAFE_INTEGER) break;
        // Halve exactly: odd z means negative.
        return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      mul *= 0x80;
    }
    // Longer or larger encodings need the exact path.
    this.pos = start;
    const v = this.varlong();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new ProtocolError("INVALID_VALUE", "varlong beyond the safe integer range", start);
    }
    return Number(v);
  }

  uuid(): Uuid {
    return new Uint8Array(this.raw(16, "uuid"));
  }

  /** `n` raw bytes as a view into the frame. */
  raw(n: number, what = "bytes"): Buffer {
    this.need(n, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private utf8(len: number): string {
    this.need(len, "string");
    const s = this.buf.toString("utf8", this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  private checkLength(len: number, at: number, what: string): void {
    if (len < 0) throw new ProtocolError("INVALID_LENGTH", `negative ${what} length ${len}`, at);
    if (len > this.end - this.pos) {
      throw new ProtocolError(
        "INVALID_LENGTH",
        `${what} length ${len} exceeds the ${this.end - this.pos} bytes left`,
        at,
      );
    }
  }

  string(): string {
    const s = this.nullableString();
    if (s === null)
      throw new ProtocolError("INVALID_LENGTH", "null in a non-nullable string", this.pos - 2);
    return s;
  }

  nullableString(): string | null {
    const at = this.pos;
    const len = this.int16();
    if (len === -1) return null;
    this.checkLength(len, at, "string");
    return this.utf8(len);
  }

  compactString(): string {
    const at = this.pos;
    const s = this.compactNullableString();
    if (s === null)
      throw new ProtocolError("INVALID_LENGTH", "null in a non-nullable compact string", at);
    return s;
  }

  compactNullableString(): string | null {
    const at = this.pos;
    const n = this.uvarint();
    if (n === 0) return null;
    this.checkLength(n - 1, at, "compact string");
    return this.utf8(n - 1);
  }

  bytes(): Buffer {
    const at = this.pos;
    const b = this.nullableBytes();
    if (b === null) throw new ProtocolError("INVALID_LENGTH", "null in non-nullable bytes", at);
    return b;
  }

  nullableBytes(): Buffer | null {
    const at = this.pos;
    const len = this.int32();
    if (len === -1) return null;
    this.checkLength(len, at, "bytes");
    return this.raw(len);
  }

  compactBytes(): Buffer {
    const at = this.pos;
    const b = this.compactNullableBytes();
    if (b === null)
      throw new ProtocolError("INVALID_LENGTH", "null in non-nullable compact bytes", at);
    return b;
  }

  compactNullableBytes(): Buffer | null {
    const at = this.pos;
    const n = this.uvarint();
    if (n === 0) return null;
    this.checkLength(n - 1, at, "compact bytes");
    return this.raw(n - 1);
  }

  /**
   * An element count, checked against the bytes left: every element of every
   * Kafka array takes at least one byte, so a larger count is a lie.
   */
  private checkCount(count: number, at: number): void {
    if (count < 0) throw new ProtocolError("INVALID_LENGTH", `negative array length ${count}`, at);
    if (count > this.end - this.pos) {
      throw new ProtocolError(
        "INVALID_LENGTH",
        `array of ${count} elements cannot fit in the ${this.end - this.pos} bytes left`,
        at,
      );
    }
  }

  array<T>(read: (r: this) => T): T[] {
    const at = this.pos;
    const out = this.nullableArray(read);
    if (out === null) throw new ProtocolError("INVALID_LENGTH", "null in a non-nullable array", at);
    return out;
  }

  nullableArray<T>(read: (r: this) => T): T[] | null {
    const at = this.pos;
    const count = this.int32();
    if (count === -1) return null;
    this.checkCount(count, at);
    const out = new Array<T>(count);
    for (let i = 0; i < count; i++) out[i] = read(this);
    return out;
  }

  compactArray<T>(read: (r: this) => T): T[] {
    const at = this.pos;
    const out = this.compactNullableArray(read);
    if (out === null)
      throw new ProtocolError("INVALID_LENGTH", "null in a non-nullable compact array", at);
    return out;
  }

  compactNullableArray<T>(read: (r: this) => T): T[] | null {
    const at = this.pos;
    const n = this.uvarint();
    if (n === 0) return null;
    this.checkCount(n - 1, at);
    const out = new Array<T>(n - 1);
    for (let i = 0; i < n - 1; i++) out[i] = read(this);
    return out;
  }

  /** TAGGED_FIELDS: returns the fields (data as views); unknown tags are the caller's to ignore. */
  taggedFields(): TaggedField[] {
    const at = this.pos;
    const count = this.uvarint();
    if (count === 0) return [];
    this.checkCount(count, at);
    const out: TaggedField[] = [];
    let last = -1;
    for (let i = 0; i < count; i++) {
      const tagAt = this.pos;
      const tag = this.uvarint();
      if (tag <= last) {
        throw new ProtocolError(
          "INVALID_VALUE",
          `tagged field ${tag} out of ascending order`,
          tagAt,
        );
      }
      last = tag;
      const sizeAt = this.pos;
      const size = this.uvarint();
      this.checkLength(size, sizeAt, "tagged field");
      out.push({ tag, data: this.raw(size) });
    }
    return out;
  }

  /** Throws unless the whole window was consumed. */
  expectEnd(what = "frame"): void {
    if (this.pos !== this.end) {
      throw new ProtocolError(
        "INVALID_LENGTH",
        `${this.end - this.pos} unexpected trailing bytes after ${what}`,
        this.pos,
      );
    }
  }
}

/** A reader over the bytes of one tagged field of `r`, keeping offsets absolute for errors. */
export function taggedFieldReader(r: Reader, f: TaggedField): Reader {
  const start = f.data.byteOffset - r.buf.byteOffset;
  return new Reader(r.buf, start, start + f.data.length);
}
