import { describe, expect, it } from "vitest";
import { xxh32 } from "../../../src/protocol/compression/xxhash32.js";

const utf8 = (s: string) => Buffer.from(s, "utf8");

describe("xxh32", () => {
  // Expected values from `xxhsum -H0` (xxHash 0.8.1) over the same bytes.
  it("matches xxhsum on short and long inputs", () => {
    expect(xxh32(utf8(""))).toBe(0x02cc5d05);
    expect(xxh32(utf8("a"))).toBe(0x550d7456);
    expect(xxh32(utf8("abc"))).toBe(0x32d153ff);
    expect(xxh32(utf8("Nobody inspects the spammish repetition"))).toBe(0xe2293b2f);
    const b17 = Buffer.from(Array.from({ length: 17 }, (_, i) => (i * i * 31 + i) & 0xff));
    expect(xxh32(b17)).toBe(0xaebffda6);
    const b1000 = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7 + 3) & 0xff));
    expect(xxh32(b1000)).toBe(0xc85a5152);
  });

  it("hashes a sub-range like a copy of it", () => {
    const b = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 13) & 0xff));
    for (const [s, e] of [
      [0, 0],
      [5, 6],
      [3, 19],
      [17, 33],
      [1, 299],
    ] as const) {
      expect(xxh32(b, 0, s, e)).toBe(xxh32(Buffer.from(b.subarray(s, e))));
    }
  });

  it("gives the LZ4 header checksum of the descriptors Kafka writes", () => {
    // FLG 0x60 (version 01, independent blocks), BD 0x40 (64 KB): HC 0x82.
    expect((xxh32(Buffer.from([0x60, 0x40])) >>> 8) & 0xff).toBe(0x82);
  });

  it("depends on the seed", () => {
    const b = utf8("abc");
    expect(xxh32(b, 1)).not.toBe(xxh32(b, 0));
    expect(xxh32(b, 0x9e3779b1)).toBe(xxh32(b, 0x9e3779b1));
  });
});
