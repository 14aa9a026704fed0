import { createRequire } from "node:module";
import SnappyJS from "snappyjs";
import { describe, expect, it } from "vitest";
import {
  isXerialSnappy,
  snappyCompress,
  snappyDecompress,
} from "../../../src/protocol/compression/snappy.js";
import { ProtocolError } from "../../../src/protocol/protocol-error.js";
import {
  expectProtocolError,
  hex,
  jsonLogLines,
  onlyProtocolError,
  randomBytes,
  rng,
} from "./helpers.js";
import { JAVA_XERIAL_SNAPPY, javaInput } from "./java-fixtures.js";

const require = createRequire(import.meta.url);
type KafkaJsCodec = { decompress(b: Buffer): Promise<Buffer> };
const kafkajsSnappy = require("kafkajs-snappy") as () => KafkaJsCodec;

const ascii = (s: string) => Buffer.from(s, "latin1");
const ABCD = ascii("abcdabcdabcdabcdabcdXYZWV");
// Raw snappy assembled from format_description.txt: preamble uvarint 25;
// literal tag (4-1)<<2 = 0x0c "abcd"; copy-2 tag (16-1)<<2|2 = 0x3e offset 04 00;
// literal tag (5-1)<<2 = 0x10 "XYZWV".
const ABCD_RAW = hex("19", "0c", "61626364", "3e", "0400", "10", "58595a5756");

/** The xerial header snappy-java writes: magic, version 1, compatible version 1. */
const XERIAL_HEADER = hex("82534e4150505900", "00000001", "00000001");

describe("snappy raw format", () => {
  it("decodes a hand-assembled block with each element kind", () => {
    expect(snappyDecompress(ABCD_RAW)).toEqual(ABCD);
    // copy-1: tag ((8-4)<<2) | (offset>>8)<<5 | 1 = 0x11, offset byte 0x04 -> 8 bytes at offset 4.
    expect(snappyDecompress(hex("0c", "0c", "61626364", "11", "04"))).toEqual(
      ascii("abcdabcdabcd"),
    );
    // copy-4: tag (6-1)<<2 | 3 = 0x17, offset 03 00 00 00: "xyz" repeated (overlapping copy).
    expect(snappyDecompress(hex("09", "08", "78797a", "17", "03000000"))).toEqual(
      ascii("xyzxyzxyz"),
    );
    // A literal whose length (70) is in one extra byte: tag 60<<2 = 0xf0, then 69.
    const lit = Buffer.alloc(70, 0x41);
    expect(snappyDecompress(Buffer.concat([hex("46", "f0", "45"), lit]))).toEqual(lit);
  });

  it("round-trips what we write, read by our decoder and snappyjs's, on edge cases", () => {
    const json = jsonLogLines(1 << 20);
    const inputs = [
      Buffer.alloc(0),
      ascii("x"),
      ABCD,
      randomBytes(100_000, 1),
      Buffer.alloc(1 << 20, 0x61),
      json,
      json.subarray(0, 65537),
    ];
    for (const data of inputs) {
      const c = snappyCompress(data);
      expect(isXerialSnappy(c)).toBe(false);
      expect(snappyDecompress(c).equals(data)).toBe(true);
      expect(Buffer.from(SnappyJS.uncompress(c)).equals(data)).toBe(true);
    }
    expect(snappyCompress(Buffer.alloc(0))).toEqual(hex("00"));
    expect(snappyCompress(json).length).toBeLessThan(json.length / 3);
    // A Uint8Array that is not a Buffer, and a view with an offset.
    const u8 = new Uint8Array(json.buffer, json.byteOffset + 5, 1000);
    expect(snappyDecompress(snappyCompress(u8))).toEqual(Buffer.from(u8));
  });

  it("compresses at fragment boundaries, short, incompressible and repetitive input", () => {
    const next = rng(0x1e35a7bd);
    const json = jsonLogLines(300_000, 3);
    const inputs: Buffer[] = [];
    // Around the 17 bytes below which a fragment is one literal, and the 64 KB fragments.
    for (const n of [1, 15, 16, 17, 18, 31, 65_535, 65_536, 65_537, 131_071, 131_072, 131_073]) {
      inputs.push(json.subarray(0, n), Buffer.alloc(n, 0x62), randomBytes(n, n));
    }
    // Few distinct bytes: short copies with small offsets (copy-1) and long ones (64-byte pieces).
    for (let t = 0; t < 60; t++) {
      const alphabet = 1 + (next() % 6);
      inputs.push(
        Buffer.from(Array.from({ length: next() % 140_000 }, () => 97 + (next() % alphabet))),
      );
    }
    // A match running over a fragment's end, and views at odd offsets of a larger buffer.
    inputs.push(Buffer.concat([json.subarray(0, 65_530), json.subarray(0, 70_000)]));
    inputs.push(json.subarray(3, 200_003), json.subarray(65_535, 65_535 + 65_537));
    for (const data of inputs) {
      const c = snappyCompress(data);
      expect(c.length).toBeLessThanOrEqual(32 + data.length + Math.floor(data.length / 6));
      expect(snappyDecompress(c).equals(data)).toBe(true);
      expect(Buffer.from(SnappyJS.uncompress(c)).equals(data)).toBe(true);
    }
    // As compact as snappyjs (a port of the reference) on text, within a fraction of a percent.
    const ours = snappyCompress(json).length;
    expect(ours).toBeLessThanOrEqual(SnappyJS.compress(json).length * 1.005);
    // Incompressible input costs at most the literal tags: a few bytes per 64 KB.
    const noise = randomBytes(1 << 20, 5);
    expect(snappyCompress(noise).length).toBeLessThan(noise.length + 100);
    // Repeated calls write the same bytes (the shared hash table carries nothing over).
    const again = json.subarray(1000, 90_000);
    expect(snappyCompress(again).equals(snappyCompress(again))).toBe(true);
  });

  it("KafkaJS's kafkajs-snappy reads what we write", async () => {
    const data = jsonLogLines(200_000, 9);
    const back = await kafkajsSnappy().decompress(snappyCompress(data));
    expect(Buffer.from(back).equals(data)).toBe(true);
  });
});

describe("snappy xerial framing", () => {
  it("decodes hand-assembled xerial with two chunks, and an empty one", () => {
    const c1 = ABCD_RAW;
    const c2 = hex("03", "08", "787978");
    const framed = Buffer.concat([
      XERIAL_HEADER,
      hex("0000000f"), // chunk 1: 15 bytes
      c1,
      hex("00000005"), // chunk 2: 5 bytes
      c2,
    ]);
    expect(isXerialSnappy(framed)).toBe(true);
    expect(snappyDecompress(framed)).toEqual(Buffer.concat([ABCD, ascii("xyx")]));
    expect(snappyDecompress(XERIAL_HEADER)).toEqual(Buffer.alloc(0));
  });

  it("decodes what the Java client (snappy-java SnappyOutputStream) writes", async () => {
    expect(JAVA_XERIAL_SNAPPY.subarray(0, 16)).toEqual(XERIAL_HEADER);
    expect(snappyDecompress(JAVA_XERIAL_SNAPPY)).toEqual(javaInput());
    // KafkaJS agrees on the fixture.
    expect(await kafkajsSnappy().decompress(JAVA_XERIAL_SNAPPY)).toEqual(javaInput());
  });
});

describe("snappy corrupt input", () => {
  it("rejects lying preambles without allocating them", () => {
    // 0xffffffff claimed by 6 bytes of input.
    expectProtocolError(() => snappyDecompress(hex("ffffffff0f", "00")), "CORRUPT_COMPRESSED_DATA");
    expectProtocolError(() => snappyDecompress(hex("ffffffff1f")), "CORRUPT_COMPRESSED_DATA");
    expectProtocolError(() => snappyDecompress(hex("ffff")), "CORRUPT_COMPRESSED_DATA");
    expectProtocolError(() => snappyDecompress(Buffer.alloc(0)), "CORRUPT_COMPRESSED_DATA");
    // Declared more than decoded, and less.
    expectProtocolError(
      () => snappyDecompress(hex("05", "0c", "61626364")),
      "CORRUPT_COMPRESSED_DATA",
    );
    expectProtocolError(
      () => snappyDecompress(hex("03", "0c", "61626364")),
      "CORRUPT_COMPRESSED_DATA",
    );
    // A copy reaching before the output, and an offset of 0.
    expectProtocolError(() => snappyDecompress(hex("08", "0c", "61626364", "01", "05")));
    expectProtocolError(() => snappyDecompress(hex("08", "0c", "61626364", "01", "00")));
    // maxOutputSize.
    const big = snappyCompress(Buffer.alloc(100_000));
    expectProtocolError(() => snappyDecompress(big, { maxOutputSize: 99_999 }), "FRAME_TOO_LARGE");
    expect(snappyDecompress(big, { maxOutputSize: 100_000 }).length).toBe(100_000);
  });

  it("rejects a xerial chunk that lies about its length", () => {
    const framed = Buffer.concat([XERIAL_HEADER, hex("00000040"), ABCD_RAW]);
    expectProtocolError(() => snappyDecompress(framed), "CORRUPT_COMPRESSED_DATA");
    const negative = Buffer.concat([XERIAL_HEADER, hex("ffffffff"), ABCD_RAW]);
    expectProtocolError(() => snappyDecompress(negative), "CORRUPT_COMPRESSED_DATA");
    expectProtocolError(
      () => snappyDecompress(XERIAL_HEADER.subarray(0, 12)),
      "CORRUPT_COMPRESSED_DATA",
    );
  });

  it("rejects every truncation of raw and xerial input", () => {
    const raw = snappyCompress(jsonLogLines(5000, 2));
    for (let n = 0; n < raw.length; n++) {
      expectProtocolError(() => snappyDecompress(raw.subarray(0, n)), "CORRUPT_COMPRESSED_DATA");
    }
    // xerial has no end marker: a cut between chunks is a shorter valid stream.
    const boundaries = new Set<number>();
    for (let pos = 16; pos < JAVA_XERIAL_SNAPPY.length; ) {
      boundaries.add(pos);
      pos += 4 + JAVA_XERIAL_SNAPPY.readInt32BE(pos);
    }
    expect(boundaries.size).toBe(4); // 4 chunks of up to 1 KB (3290 bytes)
    for (let n = 0; n < JAVA_XERIAL_SNAPPY.length; n++) {
      const cut = JAVA_XERIAL_SNAPPY.subarray(0, n);
      if (boundaries.has(n)) {
        const prefix = snappyDecompress(cut);
        expect(javaInput().subarray(0, prefix.length)).toEqual(prefix);
      } else if (n >= 8) {
        expectProtocolError(() => snappyDecompress(cut), "CORRUPT_COMPRESSED_DATA");
      }
    }
  });

  it("throws only ProtocolError on random bytes and random edits, quickly", () => {
    const next = rng(5);
    const raw = snappyCompress(jsonLogLines(20_000, 4));
    const started = Date.now();
    let errors = 0;
    for (let i = 0; i < 5000; i++) {
      const bad = i % 2 === 0 ? randomBytes(next() % 200, i) : Buffer.from(raw);
      if (i % 2 === 1)
        for (let k = 1 + (next() % 3); k > 0; k--) bad[next() % bad.length] = next() & 0xff;
      if (i % 5 === 0) XERIAL_HEADER.copy(bad, 0, 0, Math.min(16, bad.length));
      if (onlyProtocolError(() => snappyDecompress(bad)) instanceof ProtocolError) errors++;
    }
    expect(errors).toBeGreaterThan(2500);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
