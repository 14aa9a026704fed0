/**
 * Byte vectors for the protocol primitives, assembled by hand from the protocol
 * guide's "Protocol Primitive Types" (big-endian integers; protobuf-style
 * varints; zigzag for signed varints; int16/int32 lengths with -1 for null;
 * compact lengths as uvarint N+1 with 0 for null; KIP-482 tagged fields).
 */
import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { Reader } from "../../src/protocol/reader.js";
import { randomUuid, Writer, writeInt64At, ZERO_UUID } from "../../src/protocol/writer.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const bytesOf = (write: (w: Writer) => void): string => {
  const w = new Writer(4);
  write(w);
  return w.finish().toString("hex");
};
const reader = (s: string): Reader => new Reader(hex(s));

/** Runs `fn`, which must throw a ProtocolError; returns it. */
function protocolError(fn: () => unknown, code?: string): ProtocolError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    if (code !== undefined) expect((err as ProtocolError).code).toBe(code);
    return err as ProtocolError;
  }
  throw new Error("expected a ProtocolError");
}

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

describe("fixed-width integers", () => {
  it("INT8", () => {
    const cases: Array<[number, string]> = [
      [0, "00"],
      [1, "01"],
      [127, "7f"],
      [-1, "ff"],
      [-128, "80"],
    ];
    for (const [v, b] of cases) {
      expect(bytesOf((w) => w.int8(v))).toBe(b);
      expect(reader(b).int8()).toBe(v);
    }
    expect(reader("ff").uint8()).toBe(255);
    expect(bytesOf((w) => w.uint8(255))).toBe("ff");
  });

  it("BOOLEAN: 0 is false, any other byte true", () => {
    expect(bytesOf((w) => w.boolean(true).boolean(false))).toBe("0100");
    expect(reader("00").boolean()).toBe(false);
    expect(reader("01").boolean()).toBe(true);
    expect(reader("7f").boolean()).toBe(true);
  });

  it("INT16 and UINT16, big-endian", () => {
    const cases: Array<[number, string]> = [
      [0, "0000"],
      [18, "0012"],
      [-1, "ffff"],
      [32767, "7fff"],
      [-32768, "8000"],
    ];
    for (const [v, b] of cases) {
      expect(bytesOf((w) => w.int16(v))).toBe(b);
      expect(reader(b).int16()).toBe(v);
    }
    expect(bytesOf((w) => w.uint16(65535))).toBe("ffff");
    expect(reader("ffff").uint16()).toBe(65535);
  });

  it("INT32 and UINT32, big-endian", () => {
    const cases: Array<[number, string]> = [
      [0, "00000000"],
      [0x01020304, "01020304"],
      [-1, "ffffffff"],
      [2147483647, "7fffffff"],
      [-2147483648, "80000000"],
    ];
    for (const [v, b] of cases) {
      expect(bytesOf((w) => w.int32(v))).toBe(b);
      expect(reader(b).int32()).toBe(v);
    }
    expect(bytesOf((w) => w.uint32(0xffffffff))).toBe("ffffffff");
    expect(reader("ffffffff").uint32()).toBe(0xffffffff);
  });

  it("INT64 from numbers, both 32-bit halves", () => {
    const cases: Array<[number, string]> = [
      [0, "00000000 00000000"],
      [1, "00000000 00000001"],
      [-1, "ffffffff ffffffff"],
      [0xffffffff, "00000000 ffffffff"],
      [2 ** 32, "00000001 00000000"],
      [2 ** 32 + 5, "00000001 00000005"],
      [-(2 ** 32), "ffffffff 00000000"],
      [-(2 ** 32) - 1, "fffffffe ffffffff"],
      [-(2 ** 40), "ffffff00 00000000"],
      [1700000000123, "0000018b cfe5687b"],
      [MAX_SAFE, "001fffff ffffffff"],
      [-MAX_SAFE, "ffe00000 00000001"],
    ];
    for (const [v, b] of cases) {
      expect(
        bytesOf((w) => w.int64(v)),
        `${v}`,
      ).toBe(hex(b).toString("hex"));
      expect(reader(b).int64Number(), b).toBe(v);
      expect(reader(b).int64(), b).toBe(BigInt(v));
    }
  });

  it("INT64 from bigints over the whole range", () => {
    const cases: Array<[bigint, string]> = [
      [2n ** 63n - 1n, "7fffffff ffffffff"],
      [-(2n ** 63n), "80000000 00000000"],
      [2n ** 53n, "00200000 00000000"],
      [-1n, "ffffffff ffffffff"],
    ];
    for (const [v, b] of cases) {
      expect(bytesOf((w) => w.int64(v))).toBe(hex(b).toString("hex"));
      expect(reader(b).int64()).toBe(v);
    }
  });

  it("int64Number refuses values beyond the safe integers", () => {
    for (const b of [
      "00200000 00000000",
      "ffe00000 00000000",
      "7fffffff ffffffff",
      "80000000 00000000",
    ]) {
      const r = reader(b);
      const err = protocolError(() => r.int64Number(), "INVALID_VALUE");
      expect(err.message).toBe("int64 beyond the safe integer range (at byte 0)");
      expect(r.pos).toBe(0);
    }
  });

  it("FLOAT64, IEEE 754 big-endian", () => {
    expect(bytesOf((w) => w.float64(1))).toBe("3ff0000000000000");
    expect(bytesOf((w) => w.float64(-2.5))).toBe("c004000000000000");
    expect(reader("3ff0000000000000").float64()).toBe(1);
  });

  it("writes int64 at an offset (writeInt64At) and back-patches reserved slots", () => {
    const buf = Buffer.alloc(10);
    writeInt64At(buf, 1, -2);
    expect(buf.toString("hex")).toBe("00fffffffffffffffe00");
    writeInt64At(buf, 2, 7n);
    expect(buf.toString("hex")).toBe("00ff0000000000000007");

    const w = new Writer(2);
    const a = w.reserve(4);
    const b = w.reserve(8);
    const c = w.reserve(2);
    const d = w.reserve(1);
    const e = w.reserve(4);
    w.int8(0x55);
    w.setInt32At(a, -2);
    w.setInt64At(b, 2 ** 32 + 1);
    w.setInt16At(c, 0x1234);
    w.setInt8At(d, -1);
    w.setUint32At(e, 0xdeadbeef);
    expect(w.finish().toString("hex")).toBe(
      "fffffffe" + "0000000100000001" + "1234" + "ff" + "deadbeef" + "55",
    );
    w.setInt64At(b, -(2n ** 63n));
    expect(w.finish().subarray(4, 12).toString("hex")).toBe("8000000000000000");
  });
});

describe("UNSIGNED_VARINT", () => {
  const cases: Array<[number, string]> = [
    [0, "00"],
    [1, "01"],
    [127, "7f"],
    [128, "80 01"],
    [300, "ac 02"],
    [16383, "ff 7f"],
    [16384, "80 80 01"],
    [2 ** 31, "80 80 80 80 08"],
    [2 ** 32 - 1, "ff ff ff ff 0f"],
  ];

  it("encodes and decodes 7 bits a byte, low bits first", () => {
    for (const [v, b] of cases) {
      expect(
        bytesOf((w) => w.uvarint(v)),
        `${v}`,
      ).toBe(hex(b).toString("hex"));
      const r = reader(b);
      expect(r.uvarint()).toBe(v);
      expect(r.remaining).toBe(0);
    }
  });

  it("rejects an encoding longer than 5 bytes (e.g. a 10-byte varint)", () => {
    const err = protocolError(
      () => reader("ff ff ff ff ff ff ff ff ff 01").uvarint(),
      "INVALID_VARINT",
    );
    expect(err.message).toBe("varint longer than 5 bytes (at byte 0)");
    protocolError(() => reader("80 80 80 80 80 00").uvarint(), "INVALID_VARINT");
  });

  it("rejects a 5-byte encoding above 32 bits", () => {
    const err = protocolError(() => reader("ff ff ff ff 1f").uvarint(), "INVALID_VARINT");
    expect(err.message).toBe("varint exceeds 32 bits (at byte 0)");
    protocolError(() => reader("80 80 80 80 10").uvarint(), "INVALID_VARINT");
  });

  it("reports an unterminated varint as truncated", () => {
    for (const b of ["", "80", "ff ff", "80 80 80 80"]) {
      const err = protocolError(() => reader(b).uvarint(), "TRUNCATED");
      expect(err.message).toBe("truncated input: unterminated varint (at byte 0)");
    }
  });

  it("refuses to write what is not an unsigned 32-bit integer", () => {
    for (const v of [-1, 2 ** 32, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new Writer().uvarint(v)).toThrow(RangeError);
      expect(() => new Writer().uvarint(v)).toThrow(`unsigned varint out of range: ${v}`);
    }
  });
});

describe("VARINT (zigzag)", () => {
  const cases: Array<[number, string]> = [
    [0, "00"],
    [-1, "01"],
    [1, "02"],
    [-2, "03"],
    [63, "7e"],
    [-64, "7f"],
    [64, "80 01"],
    [-65, "81 01"],
    [2147483647, "fe ff ff ff 0f"],
    [-2147483648, "ff ff ff ff 0f"],
  ];

  it("maps 0, -1, 1, -2, ... to 0, 1, 2, 3, ...", () => {
    for (const [v, b] of cases) {
      expect(
        bytesOf((w) => w.varint(v)),
        `${v}`,
      ).toBe(hex(b).toString("hex"));
      expect(reader(b).varint()).toBe(v);
    }
  });

  it("refuses to write what is not an int32", () => {
    for (const v of [2 ** 31, -(2 ** 31) - 1, 0.5, Number.NaN]) {
      expect(() => new Writer().varint(v)).toThrow(RangeError);
      expect(() => new Writer().varint(v)).toThrow(`varint out of int32 range: ${v}`);
    }
  });
});

describe("VARLONG (zigzag, 64-bit)", () => {
  const cases: Array<[bigint, string]> = [
    [0n, "00"],
    [-1n, "01"],
    [1n, "02"],
    [-2n, "03"],
    [63n, "7e"],
    [-64n, "7f"],
    [64n, "80 01"],
    [2n ** 31n - 1n, "fe ff ff ff 0f"],
    [-(2n ** 31n), "ff ff ff ff 0f"],
    [2n ** 31n, "80 80 80 80 10"],
    // zigzag 2^53 + 1: bits 0 and 53
    [-(2n ** 52n) - 1n, "81 80 80 80 80 80 80 10"],
    // +-(2^53 - 1): zigzag 2^54 - 2 and 2^54 - 3
    [2n ** 53n - 1n, "fe ff ff ff ff ff ff 1f"],
    [-(2n ** 53n) + 1n, "fd ff ff ff ff ff ff 1f"],
    [2n ** 53n, "80 80 80 80 80 80 80 20"],
    // Long.MAX_VALUE: zigzag 2^64 - 2; Long.MIN_VALUE: zigzag 2^64 - 1
    [2n ** 63n - 1n, "fe ff ff ff ff ff ff ff ff 01"],
    [-(2n ** 63n), "ff ff ff ff ff ff ff ff ff 01"],
  ];

  it("is exact over the full int64 range with bigints", () => {
    for (const [v, b] of cases) {
      expect(
        bytesOf((w) => w.varlong(v)),
        `${v}`,
      ).toBe(hex(b).toString("hex"));
      const r = reader(b);
      expect(r.varlong()).toBe(v);
      expect(r.remaining).toBe(0);
    }
  });

  it("writes the same bytes from safe-integer numbers", () => {
    for (const [v, b] of cases) {
      if (v > BigInt(MAX_SAFE) || v < BigInt(-MAX_SAFE)) continue;
      expect(
        bytesOf((w) => w.varlong(Number(v))),
        `${v}`,
      ).toBe(hex(b).toString("hex"));
    }
  });

  it("reads safe values as exact numbers, including +-(2^53 - 1)", () => {
    for (const [v, b] of cases) {
      if (v > BigInt(MAX_SAFE) || v < BigInt(-MAX_SAFE)) continue;
      const r = reader(b);
      expect(r.varlongNumber(), `${v}`).toBe(Number(v));
      expect(r.remaining).toBe(0);
    }
  });

  it("varlongNumber refuses values beyond the safe integers", () => {
    for (const v of [2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)]) {
      const bytes = Buffer.from(new Writer().varlong(v).finish());
      const err = protocolError(() => new Reader(bytes).varlongNumber(), "INVALID_VALUE");
      expect(err.message).toBe("varlong beyond the safe integer range (at byte 0)");
    }
  });

  it("number path and bigint path agree on random safe integers", () => {
    const next = rng(1);
    for (let i = 0; i < 5000; i++) {
      // Spread the magnitudes over every bit length up to 53.
      const bits = Math.floor(next() * 54);
      let v = Math.floor(next() * 2 ** bits);
      if (v > MAX_SAFE) v = MAX_SAFE;
      if (next() < 0.5 && v !== 0) v = -v;
      const fromNumber = new Writer(1).varlong(v).finish();
      const fromBigint = new Writer(1).varlong(BigInt(v)).finish();
      expect(fromNumber.toString("hex"), `${v}`).toBe(fromBigint.toString("hex"));
      expect(new Reader(Buffer.from(fromNumber)).varlongNumber()).toBe(v);
      expect(new Reader(Buffer.from(fromNumber)).varlong()).toBe(BigInt(v));
    }
  });

  it("rejects an encoding longer than 10 bytes or above 64 bits", () => {
    const long = protocolError(
      () => reader("80 80 80 80 80 80 80 80 80 80 00").varlong(),
      "INVALID_VARINT",
    );
    expect(long.message).toBe("varlong longer than 10 bytes (at byte 0)");
    const wide = protocolError(
      () => reader("ff ff ff ff ff ff ff ff ff 02").varlong(),
      "INVALID_VARINT",
    );
    expect(wide.message).toBe("varlong exceeds 64 bits (at byte 0)");
    protocolError(() => reader("ff ff ff ff ff ff ff ff ff 02").varlongNumber(), "INVALID_VARINT");
    protocolError(() => reader("80 80").varlong(), "TRUNCATED");
    protocolError(() => reader("80 80 80 80 80 80 80 80 80").varlongNumber(), "TRUNCATED");
  });

  it("refuses to write what is not an int64", () => {
    expect(() => new Writer().varlong(2 ** 53)).toThrow(RangeError);
    expect(() => new Writer().varlong(2 ** 53)).toThrow(`varlong needs a safe integer: ${2 ** 53}`);
    expect(() => new Writer().varlong(0.5)).toThrow("varlong needs a safe integer: 0.5");
    expect(() => new Writer().varlong(2n ** 63n)).toThrow(RangeError);
    expect(() => new Writer().varlong(2n ** 63n)).toThrow(
      `varlong out of int64 range: ${2n ** 63n}`,
    );
    expect(() => new Writer().varlong(-(2n ** 63n) - 1n)).toThrow(RangeError);
  });
});

describe("strings", () => {
  it("STRING: int16 length then UTF-8", () => {
    expect(bytesOf((w) => w.string("abc"))).toBe("0003616263");
    expect(bytesOf((w) => w.string(""))).toBe("0000");
    expect(bytesOf((w) => w.string("é"))).toBe("0002c3a9");
    expect(reader("0003 616263").string()).toBe("abc");
    expect(reader("0002 c3a9").string()).toBe("é");
  });

  it("NULLABLE_STRING: length -1 for null", () => {
    expect(bytesOf((w) => w.nullableString(null))).toBe("ffff");
    expect(bytesOf((w) => w.nullableString(undefined))).toBe("ffff");
    expect(bytesOf((w) => w.nullableString("a"))).toBe("000161");
    expect(reader("ffff").nullableString()).toBeNull();
    expect(reader("0000").nullableString()).toBe("");
  });

  it("COMPACT_STRING: uvarint length + 1 then UTF-8", () => {
    expect(bytesOf((w) => w.compactString("abc"))).toBe("04616263");
    expect(bytesOf((w) => w.compactString(""))).toBe("01");
    const s127 = "x".repeat(127); // length + 1 = 128 -> 80 01
    expect(bytesOf((w) => w.compactString(s127))).toBe(`8001${"78".repeat(127)}`);
    expect(reader("04 616263").compactString()).toBe("abc");
    expect(new Reader(hex(`8001${"78".repeat(127)}`)).compactString()).toBe(s127);
  });

  it("COMPACT_NULLABLE_STRING: 0 for null", () => {
    expect(bytesOf((w) => w.compactNullableString(null))).toBe("00");
    expect(bytesOf((w) => w.compactNullableString("a"))).toBe("0261");
    expect(reader("00").compactNullableString()).toBeNull();
    expect(reader("01").compactNullableString()).toBe("");
  });

  it("refuses null where the type is not nullable, and lying lengths", () => {
    expect(protocolError(() => reader("ffff").string(), "INVALID_LENGTH").message).toBe(
      "null in a non-nullable string (at byte 0)",
    );
    expect(protocolError(() => reader("00").compactString(), "INVALID_LENGTH").message).toBe(
      "null in a non-nullable compact string (at byte 0)",
    );
    expect(protocolError(() => reader("fffe").nullableString(), "INVALID_LENGTH").message).toBe(
      "negative string length -2 (at byte 0)",
    );
    expect(protocolError(() => reader("0005 6162").string(), "INVALID_LENGTH").message).toBe(
      "string length 5 exceeds the 2 bytes left (at byte 0)",
    );
    protocolError(() => reader("ffffffff0f").compactString(), "INVALID_LENGTH");
  });

  it("refuses to write a STRING over 32767 bytes", () => {
    expect(bytesOf((w) => w.string("a".repeat(32767))).length).toBe(2 * (2 + 32767));
    expect(() => new Writer().string("a".repeat(32768))).toThrow(RangeError);
    expect(() => new Writer().string("é".repeat(16384))).toThrow(
      "string longer than 32767 bytes (32768)",
    );
  });
});

describe("bytes", () => {
  it("BYTES and NULLABLE_BYTES: int32 length, -1 for null", () => {
    expect(bytesOf((w) => w.bytes(Uint8Array.of(1, 2)))).toBe("000000020102");
    expect(bytesOf((w) => w.bytes(new Uint8Array(0)))).toBe("00000000");
    expect(bytesOf((w) => w.nullableBytes(null))).toBe("ffffffff");
    expect([...reader("00000002 0102").bytes()]).toEqual([1, 2]);
    expect(reader("ffffffff").nullableBytes()).toBeNull();
    protocolError(() => reader("ffffffff").bytes(), "INVALID_LENGTH");
  });

  it("COMPACT_BYTES and COMPACT_NULLABLE_BYTES: uvarint length + 1, 0 for null", () => {
    expect(bytesOf((w) => w.compactBytes(Uint8Array.of(1, 2)))).toBe("030102");
    expect(bytesOf((w) => w.compactBytes(new Uint8Array(0)))).toBe("01");
    expect(bytesOf((w) => w.compactNullableBytes(null))).toBe("00");
    expect([...reader("03 0102").compactBytes()]).toEqual([1, 2]);
    expect(reader("00").compactNullableBytes()).toBeNull();
    expect(reader("01").compactNullableBytes()?.length).toBe(0);
    protocolError(() => reader("00").compactBytes(), "INVALID_LENGTH");
  });

  it("returns views into the frame, not copies", () => {
    const frame = hex("00000002 0102 03 0304");
    const r = new Reader(frame);
    const a = r.bytes();
    const b = r.compactBytes();
    expect(a.buffer).toBe(frame.buffer);
    expect(a.byteOffset).toBe(frame.byteOffset + 4);
    expect(b.buffer).toBe(frame.buffer);
    expect(b.byteOffset).toBe(frame.byteOffset + 7);
  });

  it("refuses lying lengths before reading or allocating", () => {
    const err = protocolError(() => reader("7fffffff 00").bytes(), "INVALID_LENGTH");
    expect(err.message).toBe("bytes length 2147483647 exceeds the 1 bytes left (at byte 0)");
    protocolError(() => reader("80000000").nullableBytes(), "INVALID_LENGTH");
    protocolError(() => reader("ffffffff0f 00").compactBytes(), "INVALID_LENGTH");
  });
});

describe("arrays", () => {
  const int32 = (r: Reader) => r.int32();

  it("ARRAY: int32 count, -1 for null", () => {
    const two = "00000002 00000001 00000002";
    expect(bytesOf((w) => w.array([1, 2], (x, v) => x.int32(v)))).toBe(hex(two).toString("hex"));
    expect(bytesOf((w) => w.array(null, (x, v: number) => x.int32(v)))).toBe("ffffffff");
    expect(bytesOf((w) => w.array([], (x, v: number) => x.int32(v)))).toBe("00000000");
    expect(reader(two).array(int32)).toEqual([1, 2]);
    expect(reader("ffffffff").nullableArray(int32)).toBeNull();
    expect(reader("00000000").array(int32)).toEqual([]);
    protocolError(() => reader("ffffffff").array(int32), "INVALID_LENGTH");
  });

  it("COMPACT_ARRAY: uvarint count + 1, 0 for null", () => {
    expect(bytesOf((w) => w.compactArray([1, 2], (x, v) => x.int8(v)))).toBe("030102");
    expect(bytesOf((w) => w.compactArray(undefined, (x, v: number) => x.int8(v)))).toBe("00");
    expect(bytesOf((w) => w.compactArray([], (x, v: number) => x.int8(v)))).toBe("01");
    expect(reader("03 0102").compactArray((r) => r.int8())).toEqual([1, 2]);
    expect(reader("00").compactNullableArray(int32)).toBeNull();
    expect(reader("01").compactArray(int32)).toEqual([]);
    protocolError(() => reader("00").compactArray(int32), "INVALID_LENGTH");
  });

  it("refuses lying counts without reading a single element", () => {
    let calls = 0;
    const count = (r: Reader) => {
      calls++;
      return r.int8();
    };
    const err = protocolError(() => reader("7fffffff 0102").array(count), "INVALID_LENGTH");
    expect(err.message).toBe(
      "array of 2147483647 elements cannot fit in the 2 bytes left (at byte 0)",
    );
    protocolError(() => reader("fffffffe").nullableArray(count), "INVALID_LENGTH");
    protocolError(() => reader("ffffffff0f 01").compactArray(count), "INVALID_LENGTH");
    expect(calls).toBe(0);
  });
});

describe("TAGGED_FIELDS (KIP-482)", () => {
  it("is the single byte 0 with no fields", () => {
    expect(bytesOf((w) => w.taggedFields())).toBe("00");
    expect(bytesOf((w) => w.taggedFields([]))).toBe("00");
    expect(reader("00").taggedFields()).toEqual([]);
  });

  it("writes count, then tag, size, data per field in ascending tag order", () => {
    const fields = [
      { tag: 300, data: Uint8Array.of() },
      { tag: 5, data: Uint8Array.of(0xaa) },
      { tag: 0, data: Uint8Array.of(0x01, 0x02) },
    ];
    // count 3 | tag 0, size 2, 01 02 | tag 5, size 1, aa | tag 300 (ac 02), size 0
    const expected = "03 00 02 0102 05 01 aa ac02 00";
    expect(bytesOf((w) => w.taggedFields(fields))).toBe(hex(expected).toString("hex"));
    const read = reader(expected).taggedFields();
    expect(read.map((f) => f.tag)).toEqual([0, 5, 300]);
    expect(read.map((f) => [...f.data])).toEqual([[1, 2], [0xaa], []]);
  });

  it("refuses out-of-order or repeated tags and lying sizes", () => {
    expect(
      protocolError(() => reader("02 05 00 01 00").taggedFields(), "INVALID_VALUE").message,
    ).toBe("tagged field 1 out of ascending order (at byte 3)");
    protocolError(() => reader("02 01 00 01 00").taggedFields(), "INVALID_VALUE");
    protocolError(() => reader("01 00 05 aa").taggedFields(), "INVALID_LENGTH");
    protocolError(() => reader("7f 00 00").taggedFields(), "INVALID_LENGTH");
  });

  it("refuses to write a repeated tag", () => {
    const dup = [
      { tag: 1, data: Uint8Array.of(1) },
      { tag: 1, data: Uint8Array.of(2) },
    ];
    expect(() => new Writer().taggedFields(dup)).toThrow(RangeError);
    expect(() => new Writer().taggedFields(dup)).toThrow("tagged field 1 given twice");
  });
});

describe("UUID", () => {
  it("is 16 raw bytes", () => {
    const id = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    expect(bytesOf((w) => w.uuid(id))).toBe("0102030405060708090a0b0c0d0e0f10");
    expect(bytesOf((w) => w.uuid(ZERO_UUID))).toBe("00".repeat(16));
    const frame = hex("0102030405060708090a0b0c0d0e0f10");
    const read = new Reader(frame).uuid();
    expect([...read]).toEqual([...id]);
    frame[0] = 0xff; // the result is a copy, not a view
    expect(read[0]).toBe(1);
    expect(randomUuid()).toHaveLength(16);
    protocolError(() => reader("00".repeat(15)).uuid(), "TRUNCATED");
  });

  it("refuses to write anything but 16 bytes", () => {
    expect(() => new Writer().uuid(new Uint8Array(15))).toThrow("a UUID is 16 bytes, got 15");
  });
});

describe("Writer", () => {
  it("grows from any initial capacity, zero included", () => {
    for (const cap of [0, 1, 3]) {
      const w = new Writer(cap);
      for (let i = 0; i < 1000; i++) w.int32(i);
      const r = new Reader(Buffer.from(w.finish()));
      for (let i = 0; i < 1000; i++) expect(r.int32()).toBe(i);
      r.expectEnd();
    }
  });

  it("finish() is a view; reset() keeps the buffer", () => {
    const w = new Writer(16);
    w.int16(7);
    const first = w.finish();
    expect(first.buffer).toBe(w.buf.buffer);
    const buf = w.buf;
    w.reset().int8(1);
    expect(w.buf).toBe(buf);
    expect(w.finish().toString("hex")).toBe("01");
  });

  it("throws a RangeError with a message for out-of-range fixed-width values", () => {
    expect(() => new Writer().int8(128)).toThrow(RangeError);
    expect(() => new Writer().int16(32768)).toThrow(RangeError);
    expect(() => new Writer().int32(2 ** 31)).toThrow(RangeError);
    expect(() => new Writer().int64(2 ** 53)).toThrow(`int64 needs a safe integer: ${2 ** 53}`);
    expect(() => new Writer().int64(2n ** 63n)).toThrow(RangeError);
    expect(() => new Writer().int32(2 ** 31)).toThrow(/out of range/);
  });
});

describe("round trips", () => {
  it("random values through every primitive", () => {
    const next = rng(3);
    const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
    const str = () =>
      String.fromCodePoint(
        ...Array.from({ length: int(0, 20) }, () =>
          next() < 0.8 ? int(32, 126) : int(160, 0x2fff),
        ),
      );
    for (let i = 0; i < 300; i++) {
      const v = {
        i8: int(-128, 127),
        i16: int(-32768, 32767),
        i32: int(-(2 ** 31), 2 ** 31 - 1),
        i64: int(-MAX_SAFE, MAX_SAFE),
        big: BigInt(int(-(2 ** 31), 2 ** 31 - 1)) * 2n ** 32n + BigInt(int(0, 2 ** 32 - 1)),
        uv: int(0, 2 ** 32 - 1),
        vi: int(-(2 ** 31), 2 ** 31 - 1),
        vl: int(-MAX_SAFE, MAX_SAFE),
        s: str(),
        ns: next() < 0.3 ? null : str(),
        cs: str(),
        cns: next() < 0.3 ? null : str(),
        b: Uint8Array.from({ length: int(0, 10) }, () => int(0, 255)),
        arr: Array.from({ length: int(0, 5) }, () => int(-1000, 1000)),
        carr: next() < 0.3 ? null : Array.from({ length: int(0, 5) }, () => str()),
        tags: next() < 0.5 ? [] : [{ tag: int(0, 10), data: Uint8Array.of(int(0, 255)) }],
        id: randomUuid(),
      };
      const w = new Writer(8);
      w.int8(v.i8).int16(v.i16).int32(v.i32).int64(v.i64).int64(v.big);
      w.uvarint(v.uv).varint(v.vi).varlong(v.vl).varlong(v.big);
      w.string(v.s).nullableString(v.ns).compactString(v.cs).compactNullableString(v.cns);
      w.bytes(v.b).nullableBytes(v.b).compactBytes(v.b).compactNullableBytes(null);
      w.array(v.arr, (x, n) => x.varint(n)).compactArray(v.carr, (x, s) => x.compactString(s));
      w.taggedFields(v.tags).uuid(v.id);
      const r = new Reader(Buffer.from(w.finish()));
      expect(r.int8()).toBe(v.i8);
      expect(r.int16()).toBe(v.i16);
      expect(r.int32()).toBe(v.i32);
      expect(r.int64Number()).toBe(v.i64);
      expect(r.int64()).toBe(v.big);
      expect(r.uvarint()).toBe(v.uv);
      expect(r.varint()).toBe(v.vi);
      expect(r.varlongNumber()).toBe(v.vl);
      expect(r.varlong()).toBe(v.big);
      expect(r.string()).toBe(v.s);
      expect(r.nullableString()).toBe(v.ns);
      expect(r.compactString()).toBe(v.cs);
      expect(r.compactNullableString()).toBe(v.cns);
      expect([...r.bytes()]).toEqual([...v.b]);
      expect([...r.nullableBytes()!]).toEqual([...v.b]);
      expect([...r.compactBytes()]).toEqual([...v.b]);
      expect(r.compactNullableBytes()).toBeNull();
      expect(r.array((x) => x.varint())).toEqual(v.arr);
      expect(r.compactNullableArray((x) => x.compactString())).toEqual(v.carr);
      expect(r.taggedFields().map((f) => ({ tag: f.tag, data: [...f.data] }))).toEqual(
        v.tags.map((f) => ({ tag: f.tag, data: [...f.data] })),
      );
      expect([...r.uuid()]).toEqual([...v.id]);
      r.expectEnd();
    }
  });
});

describe("Reader", () => {
  it("reads only inside its window and reports trailing bytes", () => {
    const buf = hex("ff 0001 0002 ff");
    const r = new Reader(buf, 1, 5);
    expect(r.int16()).toBe(1);
    expect(r.remaining).toBe(2);
    expect(() => r.expectEnd()).toThrow(ProtocolError);
    expect(protocolError(() => r.expectEnd("header"), "INVALID_LENGTH").message).toBe(
      "2 unexpected trailing bytes after header (at byte 3)",
    );
    expect(r.int16()).toBe(2);
    r.expectEnd();
    expect(protocolError(() => r.int8(), "TRUNCATED").message).toBe(
      "truncated input: int8 needs 1 bytes, 0 left (at byte 5)",
    );
    expect(() => new Reader(buf, 4, 7)).toThrow(RangeError);
  });

  it("skip and raw are bounds-checked", () => {
    const r = reader("01020304");
    r.skip(1);
    expect([...r.raw(2)]).toEqual([2, 3]);
    protocolError(() => r.skip(2), "TRUNCATED");
    protocolError(() => r.raw(2), "TRUNCATED");
    expect(r.pos).toBe(3);
  });

  const composite = (): Buffer => {
    const w = new Writer();
    w.int16(0x0102).compactString("topic").nullableString("client");
    w.compactArray([1, 2, 3], (x, n) => x.int32(n).compactBytes(Uint8Array.of(n, n)));
    w.varlong(-123456789).uuid(Uint8Array.from({ length: 16 }, (_, i) => i));
    w.taggedFields([{ tag: 0, data: Uint8Array.of(9, 9, 9) }]);
    return Buffer.from(w.finish());
  };
  const decode = (r: Reader) => {
    const out = {
      a: r.int16(),
      b: r.compactString(),
      c: r.nullableString(),
      d: r.compactArray((x) => [x.int32(), x.compactBytes()] as const),
      e: r.varlongNumber(),
      f: r.uuid(),
      g: r.taggedFields(),
    };
    r.expectEnd();
    return out;
  };

  it("throws TRUNCATED or INVALID_LENGTH for every truncation of a valid encoding", () => {
    const full = composite();
    expect(decode(new Reader(full)).b).toBe("topic");
    for (let len = 0; len < full.length; len++) {
      const err = protocolError(() => decode(new Reader(full.subarray(0, len))));
      expect(["TRUNCATED", "INVALID_LENGTH"], `length ${len}`).toContain(err.code);
    }
  });

  it("throws only ProtocolError, and never reads past its end, on random bytes", () => {
    const next = rng(11);
    const methods: Array<(r: Reader) => unknown> = [
      (r) => r.int8(),
      (r) => r.uint8(),
      (r) => r.boolean(),
      (r) => r.int16(),
      (r) => r.uint16(),
      (r) => r.int32(),
      (r) => r.uint32(),
      (r) => r.int64(),
      (r) => r.int64Number(),
      (r) => r.float64(),
      (r) => r.uvarint(),
      (r) => r.varint(),
      (r) => r.varlong(),
      (r) => r.varlongNumber(),
      (r) => r.uuid(),
      (r) => r.string(),
      (r) => r.nullableString(),
      (r) => r.compactString(),
      (r) => r.compactNullableString(),
      (r) => r.bytes(),
      (r) => r.nullableBytes(),
      (r) => r.compactBytes(),
      (r) => r.compactNullableBytes(),
      (r) => r.array((x) => x.int32()),
      (r) => r.nullableArray((x) => x.string()),
      (r) => r.compactArray((x) => x.compactString()),
      (r) => r.compactNullableArray((x) => x.taggedFields()),
      (r) => r.taggedFields(),
      (r) => decode(r),
    ];
    let protocolErrors = 0;
    for (let round = 0; round < 3000; round++) {
      const buf = Buffer.alloc(Math.floor(next() * 48));
      for (let i = 0; i < buf.length; i++) {
        // Bias towards bytes that make small lengths, nulls and long varints.
        const p = next();
        buf[i] =
          p < 0.3
            ? 0
            : p < 0.45
              ? 0xff
              : p < 0.6
                ? 0x80 | Math.floor(next() * 4)
                : Math.floor(next() * 256);
      }
      const r = new Reader(buf);
      // Either a single method until the input runs out, or a random mix.
      const single = next() < 0.5 ? methods[Math.floor(next() * methods.length)]! : null;
      try {
        while (r.remaining > 0) {
          const before = r.pos;
          (single ?? methods[Math.floor(next() * methods.length)]!)(r);
          expect(r.pos).toBeGreaterThan(before);
        }
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        protocolErrors++;
      }
      expect(r.pos).toBeLessThanOrEqual(buf.length);
    }
    expect(protocolErrors).toBeGreaterThan(100);
  });
});
