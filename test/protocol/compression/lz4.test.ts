import lz4js from "lz4js";
import { describe, expect, it } from "vitest";
import {
  type Lz4BlockSize,
  lz4CompressBlock,
  lz4CompressBound,
  lz4CompressFrame,
  lz4CompressFrameAsync,
  lz4DecompressBlock,
  lz4DecompressFrame,
} from "../../../src/protocol/compression/lz4.js";
import { xxh32 } from "../../../src/protocol/compression/xxhash32.js";
import { ProtocolError } from "../../../src/protocol/protocol-error.js";
import { peerTool } from "../../helpers/peer-tools.js";
import {
  expectProtocolError,
  hex,
  jsonLogLines,
  onlyProtocolError,
  randomBytes,
  rng,
  run,
} from "./helpers.js";
import { JAVA_LZ4_FRAME, JAVA_LZ4_FRAME_BLOCK_CHECKSUM, javaInput } from "./java-fixtures.js";

const ascii = (s: string) => Buffer.from(s, "latin1");
/** The lz4 reference CLI, a cross-check beyond npm ci (skips with a note when missing). */
const lz4Cli = peerTool("lz4");
const BLOCK_SIZES: Lz4BlockSize[] = [65536, 262144, 1048576, 4194304];

/** "abcd" x 5 then "XYZWV": one match of 16 at offset 4, then the 5 last literals. */
const ABCD = ascii("abcdabcdabcdabcdabcdXYZWV");
// Assembled from the block format: token 0x4C (4 literals, match length 4 + 12),
// "abcd", offset 04 00; token 0x50 (5 literals), "XYZWV". 13 bytes.
const ABCD_BLOCK = hex("4c", "61626364", "0400", "50", "58595a5756");

const roundTrip = (data: Uint8Array, options = {}) => {
  const frame = lz4CompressFrame(data, options);
  const back = lz4DecompressFrame(frame);
  expect(back.equals(data)).toBe(true);
  return frame;
};

describe("LZ4 block", () => {
  it("decodes a hand-assembled block and compresses to exactly it", () => {
    expect(lz4DecompressBlock(ABCD_BLOCK, 100)).toEqual(ABCD);
    const dst = Buffer.alloc(lz4CompressBound(ABCD.length));
    const n = lz4CompressBlock(ABCD, dst);
    expect(dst.subarray(0, n)).toEqual(ABCD_BLOCK);
  });

  it("writes inputs shorter than 13 bytes as literals only", () => {
    for (let n = 0; n <= 12; n++) {
      const src = Buffer.alloc(n, 0x61);
      const dst = Buffer.alloc(lz4CompressBound(n));
      const size = lz4CompressBlock(src, dst);
      expect(size).toBe(1 + n); // token (n << 4) and the bytes
      expect(dst[0]).toBe(n << 4);
      expect(lz4DecompressBlock(dst.subarray(0, size), n)).toEqual(src);
    }
  });

  it("extends literal and match lengths past 15 with 255-runs", () => {
    // 300 literals then a match of 600: token 0xFF, literal ext 255+30 -> 0xff 0x1e,
    // offset, match ext 600-4-15 = 581 = 255+255+71 -> 0xff 0xff 0x47; then 5 literals.
    const lit = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff));
    const block = Buffer.concat([
      hex("ff", "ff1e"),
      lit,
      hex("2c01", "ffff47"), // offset 300
      hex("50", "0102030405"),
    ]);
    const out = lz4DecompressBlock(block, 2000);
    expect(out.length).toBe(300 + 600 + 5);
    expect(out.subarray(0, 600)).toEqual(Buffer.concat([lit, lit]));
    expect(out.subarray(600, 900)).toEqual(lit);
    expect(out.subarray(900)).toEqual(hex("0102030405"));
  });

  it("copies overlapping matches (offset 1 is a run)", () => {
    const block = hex("1f", "7a", "0100", "ff", "00", "50", "6162636465"); // "z", match 19+255
    const out = lz4DecompressBlock(block, 1000);
    expect(out.length).toBe(1 + 19 + 255 + 5);
    expect(out.subarray(0, 275).every((b) => b === 0x7a)).toBe(true);
  });

  it("rejects offsets before the output, truncation and overflow", () => {
    expectProtocolError(
      () => lz4DecompressBlock(hex("10", "61", "0200", "50"), 100),
      "CORRUPT_COMPRESSED_DATA",
    );
    expectProtocolError(
      () => lz4DecompressBlock(hex("10", "61", "0000"), 100),
      "CORRUPT_COMPRESSED_DATA",
    );
    expectProtocolError(
      () => lz4DecompressBlock(hex("40", "6162"), 100),
      "CORRUPT_COMPRESSED_DATA",
    );
    expectProtocolError(
      () => lz4DecompressBlock(hex("f0", "ffff"), 100),
      "CORRUPT_COMPRESSED_DATA",
    );
    expectProtocolError(
      () => lz4DecompressBlock(hex("10", "61", "01"), 100),
      "CORRUPT_COMPRESSED_DATA",
    );
    expectProtocolError(() => lz4DecompressBlock(ABCD_BLOCK, 24), "CORRUPT_COMPRESSED_DATA");
    expectProtocolError(() => lz4DecompressBlock(Buffer.alloc(0), 10), "CORRUPT_COMPRESSED_DATA");
  });
});

describe("LZ4 frame format", () => {
  it("writes the frame librdkafka and the Java client write (hand-assembled)", () => {
    const want = hex(
      "04224d18", // magic 0x184D2204 LE
      "60", // FLG: version 01, block independence
      "40", // BD: 64 KB blocks
      "82", // HC: (xxh32(60 40) >> 8) & 0xff
      "0d000000", // block size 13, compressed
      ABCD_BLOCK.toString("hex"),
      "00000000", // end mark
    );
    expect(lz4CompressFrame(ABCD)).toEqual(want);
    expect(lz4DecompressFrame(want)).toEqual(ABCD);
  });

  it("decodes content size, content checksum and stored blocks with block checksums", () => {
    const sized = hex(
      "04224d18",
      "6c", // FLG: version 01, independent, content size, content checksum
      "40",
      "1900000000000000", // content size 25
      "6c", // HC of 6c 40 19 00 00 00 00 00 00 00 (xxhsum: 71a06c06)
      "0d000000",
      ABCD_BLOCK.toString("hex"),
      "00000000",
      "50d2d1d9", // xxh32 of the content (xxhsum: d9d1d250)
    );
    expect(lz4DecompressFrame(sized)).toEqual(ABCD);
    expect(lz4CompressFrame(ABCD, { contentSize: true, contentChecksum: true })).toEqual(sized);

    const stored = hex(
      "04224d18",
      "70", // FLG: version 01, independent, block checksum
      "50", // BD: 256 KB
      "84", // HC of 70 50 (xxhsum: a5e8841e)
      "05000080", // 5 bytes, stored uncompressed (high bit)
      "68656c6c6f", // "hello"
      "f97700fb", // xxh32("hello") (xxhsum: fb0077f9)
      "00000000",
    );
    expect(lz4DecompressFrame(stored)).toEqual(ascii("hello"));
    expect(lz4CompressFrame(ascii("hello"), { blockSize: 262144, blockChecksum: true })).toEqual(
      stored,
    );
  });

  it("writes an empty input as a header and an end mark", () => {
    expect(lz4CompressFrame(Buffer.alloc(0))).toEqual(hex("04224d18604082", "00000000"));
    expect(lz4DecompressFrame(hex("04224d18604082", "00000000"))).toEqual(Buffer.alloc(0));
  });

  it("decodes frames written by the Java client's Lz4BlockOutputStream", () => {
    expect(lz4DecompressFrame(JAVA_LZ4_FRAME)).toEqual(javaInput());
    expect(lz4DecompressFrame(JAVA_LZ4_FRAME_BLOCK_CHECKSUM)).toEqual(javaInput());
    // Same descriptor as ours; the Java fast compressor and ours are close in size.
    const ours = lz4CompressFrame(javaInput());
    expect(ours.subarray(0, 7)).toEqual(JAVA_LZ4_FRAME.subarray(0, 7));
    expect(ours.length).toBeLessThanOrEqual(JAVA_LZ4_FRAME.length * 1.05);
  });

  it("decodes concatenated frames and skips skippable frames", () => {
    const a = lz4CompressFrame(ascii("first "));
    const b = lz4CompressFrame(ascii("second"), { contentChecksum: true });
    const skippable = hex("5a2a4d18", "03000000", "aabbcc");
    expect(lz4DecompressFrame(Buffer.concat([a, skippable, b])).toString()).toBe("first second");
  });
});

describe("LZ4 round trips", () => {
  const json = jsonLogLines(1 << 20);

  it("round-trips edge sizes around the block limits", () => {
    for (const n of [0, 1, 4, 5, 11, 12, 13, 14, 17, 100, 65535, 65536, 65537, 131072 + 3]) {
      roundTrip(json.subarray(0, n));
      roundTrip(Buffer.alloc(n, 7));
      roundTrip(randomBytes(n, n));
    }
  });

  it("round-trips every block size, checksum option and level", () => {
    const data = json.subarray(0, 300_000);
    for (const blockSize of BLOCK_SIZES) {
      for (const level of [-1, 0, 3, 9]) {
        roundTrip(data, { blockSize, level, blockChecksum: true, contentChecksum: true });
        roundTrip(data, { blockSize, level, contentSize: true });
      }
    }
    for (let level = -1; level <= 12; level++) roundTrip(data.subarray(0, 70_000), { level });
  });

  it("stores incompressible blocks uncompressed", () => {
    const data = randomBytes(200_000, 99);
    const frame = roundTrip(data);
    // 7-byte header, 4 blocks of 4 + n, end mark: nothing compressed.
    expect(frame.length).toBe(7 + 4 * 4 + data.length + 4);
    expect(frame.readUInt32LE(7)).toBe((0x8000_0000 | 65536) >>> 0);
  });

  it("compresses repetitive and text data well; higher levels smaller", () => {
    const zeros = roundTrip(Buffer.alloc(1 << 20));
    expect(zeros.length).toBeLessThan(5000);
    const fast = roundTrip(json);
    const hc = roundTrip(json, { level: 9 });
    expect(json.length / fast.length).toBeGreaterThan(3.8);
    expect(hc.length).toBeLessThan(fast.length * 0.8);
  });

  it("round-trips 1 MB of many tiny distinct records", () => {
    const next = rng(3);
    const parts: Buffer[] = [];
    for (let i = 0; i < 20000; i++) parts.push(ascii(`k${i}=${next() % 1000};`));
    roundTrip(Buffer.concat(parts));
  });

  it("the async compressor gives the event loop turns and the same bytes", async () => {
    const data = Buffer.concat([json, json, json]);
    let turns = 0;
    const timer = setInterval(() => turns++, 0);
    const ticker = new Promise<void>((resolve) => setImmediate(() => resolve()));
    const frame = await lz4CompressFrameAsync(data);
    clearInterval(timer);
    await ticker;
    expect(frame).toEqual(lz4CompressFrame(data));
    expect(lz4DecompressFrame(frame).equals(data)).toBe(true);
    expect(turns).toBeGreaterThan(0);
    // Small inputs go in one step.
    expect(await lz4CompressFrameAsync(ABCD)).toEqual(lz4CompressFrame(ABCD));
    // The hash-chain levels yield every 64 KB block.
    let hcTurns = 0;
    const hcTimer = setInterval(() => hcTurns++, 0);
    const hc = await lz4CompressFrameAsync(json.subarray(0, 300_000), { level: 9 });
    clearInterval(hcTimer);
    expect(hc).toEqual(lz4CompressFrame(json.subarray(0, 300_000), { level: 9 }));
    expect(hcTurns).toBeGreaterThan(0);
  });

  it("rejects bad options", () => {
    expect(() => lz4CompressFrame(ABCD, { level: 13 })).toThrow(RangeError);
    expect(() => lz4CompressFrame(ABCD, { level: -2 })).toThrow(RangeError);
    expect(() => lz4CompressFrame(ABCD, { level: 1.5 })).toThrow(RangeError);
    expect(() => lz4CompressFrame(ABCD, { blockSize: 1000 as Lz4BlockSize })).toThrow(RangeError);
    expect(() => lz4CompressBlock(ABCD, Buffer.alloc(10))).toThrow(RangeError);
  });
});

describe("LZ4 against other implementations", () => {
  const json = jsonLogLines(600_000, 77);

  it("lz4js (KafkaJS's pure-JS option) decodes ours and we decode its linked-block frames", () => {
    const ours = lz4CompressFrame(json);
    expect(Buffer.from(lz4js.decompress(ours)).equals(json)).toBe(true);
    const theirs = Buffer.from(lz4js.compress(json));
    expect(theirs[4]! & 0x20).toBe(0); // lz4js links its blocks
    expect(lz4DecompressFrame(theirs).equals(json)).toBe(true);
  });

  it("decodes what the lz4 CLI writes with every option", (ctx) => {
    lz4Cli.need(ctx);
    const data = Buffer.concat([json, randomBytes(70_000, 5), Buffer.alloc(100_000, 1)]);
    const variants = [
      ["-1", "-B4"],
      ["-1", "-B5", "-BD"], // linked blocks
      ["-9", "-B6", "-BX"], // block checksums
      ["-1", "-B7", "--content-size"],
      ["-1", "-B4", "--no-frame-crc"],
      ["-12", "-B4", "-BD", "-BX", "--content-size"],
    ];
    for (const args of variants) {
      const frame = run("lz4", ["-c", "-q", ...args], data);
      expect(lz4DecompressFrame(frame).equals(data), args.join(" ")).toBe(true);
    }
    const tiny = run("lz4", ["-c", "-q"], ABCD);
    expect(lz4DecompressFrame(tiny)).toEqual(ABCD);
  });

  it("the lz4 CLI decodes every frame we write", (ctx) => {
    lz4Cli.need(ctx);
    const data = Buffer.concat([json, randomBytes(70_000, 6)]);
    for (const blockSize of BLOCK_SIZES) {
      for (const options of [
        { blockSize },
        { blockSize, level: 9, blockChecksum: true, contentChecksum: true, contentSize: true },
      ]) {
        const back = run("lz4", ["-d", "-c", "-q"], lz4CompressFrame(data, options));
        expect(back.equals(data), JSON.stringify(options)).toBe(true);
      }
    }
    expect(run("lz4", ["-d", "-c", "-q"], lz4CompressFrame(Buffer.alloc(0))).length).toBe(0);
  });

  it("compresses JSON log lines within 2% of lz4 -1 (64 KB blocks)", (ctx) => {
    lz4Cli.need(ctx);
    const payload = jsonLogLines(1 << 20);
    const reference = run("lz4", ["-c", "-q", "-1", "-B4", "--no-frame-crc"], payload).length;
    const ours = lz4CompressFrame(payload).length;
    expect(ours).toBeLessThanOrEqual(reference * 1.02);
  });
});

describe("LZ4 corrupt input", () => {
  const data = jsonLogLines(150_000, 11);
  const frame = lz4CompressFrame(data, { contentChecksum: true, blockChecksum: false });

  it("rejects every truncation of a valid frame", () => {
    const small = lz4CompressFrame(Buffer.concat([ABCD, randomBytes(70_000, 3), ABCD]), {
      contentChecksum: true,
      blockChecksum: true,
    });
    for (let n = 0; n < small.length; n += n < 100 || n > small.length - 100 ? 1 : 37) {
      expectProtocolError(
        () => lz4DecompressFrame(small.subarray(0, n)),
        "CORRUPT_COMPRESSED_DATA",
      );
    }
    for (let n = 0; n < frame.length; n += 1 + (n % 1013)) {
      expectProtocolError(
        () => lz4DecompressFrame(frame.subarray(0, n)),
        "CORRUPT_COMPRESSED_DATA",
      );
    }
  });

  it("never returns wrong content from a checksummed frame with random edits", () => {
    const next = rng(42);
    let errors = 0;
    for (let i = 0; i < 3000; i++) {
      const bad = Buffer.from(frame);
      for (let k = 1 + (next() % 3); k > 0; k--) bad[next() % bad.length] = next() & 0xff;
      const r = onlyProtocolError(() => lz4DecompressFrame(bad));
      if (r instanceof ProtocolError) errors++;
      else expect(r.equals(data)).toBe(true);
    }
    expect(errors).toBeGreaterThan(2900);
  });

  it("throws only ProtocolError on random bytes behind a valid header, quickly", () => {
    const next = rng(7);
    const started = Date.now();
    for (let i = 0; i < 5000; i++) {
      const body = randomBytes(next() % 300, i);
      const bsId = 4 + (next() % 4);
      const flg = 0x40 | (next() & 0x3c);
      const desc = Buffer.from([flg, bsId << 4]);
      const header = Buffer.concat([
        hex("04224d18"),
        desc,
        Buffer.from([(xxh32(desc) >>> 8) & 0xff]),
      ]);
      onlyProtocolError(() => lz4DecompressFrame(Buffer.concat([header, body])));
      onlyProtocolError(() => lz4DecompressFrame(randomBytes(next() % 64, i + 1e6)));
    }
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("names what is wrong", () => {
    const bad = (edit: (b: Buffer) => void) => {
      const b = Buffer.from(frame);
      edit(b);
      return expectProtocolError(() => lz4DecompressFrame(b)).message;
    };
    expect(bad((b) => b.writeUInt32LE(0x184d2205, 0))).toMatch(/magic/);
    expect(bad((b) => (b[6] ^= 1))).toMatch(/descriptor checksum/);
    expect(bad((b) => (b[4] = 0x80))).toMatch(/version/);
    expect(bad((b) => (b[frame.length - 1] ^= 1))).toMatch(/content checksum/);
    expect(bad((b) => b.writeUInt32LE(65537, 7))).toMatch(/exceeds 65536/);
    const legacy = expectProtocolError(
      () => lz4DecompressFrame(hex("02214c18", "00000000")),
      "UNSUPPORTED_COMPRESSION",
    );
    expect(legacy.message).toMatch(/legacy/);
    // A dictionary ID (FLG bit 0) cannot be honoured without the dictionary.
    const dict = Buffer.from([0x61, 0x40, 1, 2, 3, 4]);
    const hc = (xxh32(dict) >>> 8) & 0xff;
    expectProtocolError(
      () =>
        lz4DecompressFrame(
          Buffer.concat([hex("04224d18"), dict, Buffer.from([hc]), hex("00000000")]),
        ),
      "UNSUPPORTED_COMPRESSION",
    );
  });

  it("does not allocate what a lying content size claims, and honours maxOutputSize", () => {
    // Content size 2^52 on a tiny frame: refused against the limit, nothing allocated.
    const desc = Buffer.from([0x68, 0x40, 0, 0, 0, 0, 0, 0, 0x10, 0]);
    const lying = Buffer.concat([
      hex("04224d18"),
      desc,
      Buffer.from([(xxh32(desc) >>> 8) & 0xff]),
      hex("00000000"),
    ]);
    expectProtocolError(() => lz4DecompressFrame(lying), "FRAME_TOO_LARGE");
    const smallDesc = Buffer.from([0x68, 0x40, 9, 0, 0, 0, 0, 0, 0, 0]);
    const wrongSize = Buffer.concat([
      hex("04224d18"),
      smallDesc,
      Buffer.from([(xxh32(smallDesc) >>> 8) & 0xff]),
      hex("00000000"),
    ]);
    expect(expectProtocolError(() => lz4DecompressFrame(wrongSize)).message).toMatch(/declares 9/);

    const zeros = lz4CompressFrame(Buffer.alloc(1 << 20));
    expect(lz4DecompressFrame(zeros, { maxOutputSize: 1 << 20 }).length).toBe(1 << 20);
    expectProtocolError(
      () => lz4DecompressFrame(zeros, { maxOutputSize: 100_000 }),
      "FRAME_TOO_LARGE",
    );
    const stored = lz4CompressFrame(randomBytes(1000, 1));
    expectProtocolError(
      () => lz4DecompressFrame(stored, { maxOutputSize: 999 }),
      "FRAME_TOO_LARGE",
    );
  });
});

/**
 * Inputs that reach the compressor's and decoder's fast paths (32-bit word
 * copies that run a few bytes past a copy, the word-wise match extension) and
 * their edges: runs and short periods (overlapping matches at offsets 1..9),
 * text, noise, and a mix of them.
 */
function patterned(n: number, seed: number): Buffer {
  const next = rng(seed);
  const b = Buffer.allocUnsafe(n);
  const json = jsonLogLines(Math.max(n, 1), seed);
  let i = 0;
  while (i < n) {
    const len = Math.min(n - i, 1 + (next() % 400));
    const kind = next() % 4;
    if (kind === 0) json.copy(b, i, i, i + len);
    else if (kind === 1) for (let k = 0; k < len; k++) b[i + k] = next() & 0xff;
    else {
      const period = 1 + (next() % 9);
      const pattern = Array.from({ length: period }, () => next() & 0xff);
      for (let k = 0; k < len; k++) b[i + k] = pattern[k % period]!;
    }
    i += len;
  }
  return b;
}

/** A copy of `data` at byte `shift` of a larger buffer full of other bytes (an unaligned view). */
function shifted(data: Uint8Array, shift: number): Buffer {
  const host = randomBytes(data.length + shift + 16, shift + 1);
  host.set(data, shift);
  return host.subarray(shift, shift + data.length);
}

/** Writes an LZ4 length extension (the format's 255-runs) after a nibble of 15. */
function lengthExt(out: number[], rest: number): void {
  for (; rest >= 255; rest -= 255) out.push(255);
  out.push(rest);
}

/**
 * One block assembled from the format by hand, with the content it stands for
 * built alongside by plain byte-at-a-time expansion (no decoder involved).
 */
function handBlock(seed: number, sequences: number) {
  const next = rng(seed);
  const block: number[] = [];
  const content: number[] = [];
  const literals = (n: number) => Array.from({ length: n }, () => next() & 0xff);
  const put = (lits: number[], offset?: number, matchLen?: number) => {
    const litNibble = Math.min(lits.length, 15);
    const m = matchLen === undefined ? 0 : matchLen - 4;
    block.push((litNibble << 4) | Math.min(m, 15));
    if (litNibble === 15) lengthExt(block, lits.length - 15);
    block.push(...lits);
    content.push(...lits);
    if (offset === undefined || matchLen === undefined) return;
    block.push(offset & 0xff, offset >>> 8);
    if (m >= 15) lengthExt(block, m - 15);
    for (let k = 0; k < matchLen; k++) content.push(content[content.length - offset]!);
  };
  put(literals(48), 1 + (next() % 48), 4 + (next() % 40));
  const litLens = [0, 0, 0, 1, 2, 3, 4, 5, 7, 8, 9, 14, 15, 16, 17, 24, 31, 32, 33, 40, 300];
  const matchLens = [4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 18, 19, 24, 31, 32, 33, 40, 63, 64, 65, 66];
  for (let i = 0; i < sequences; i++) {
    const lits = literals(litLens[next() % litLens.length]!);
    const room = content.length + lits.length;
    // Mostly short (overlapping) offsets, some far ones.
    const offset = next() % 3 === 0 ? 1 + (next() % Math.min(room, 65535)) : 1 + (next() % 40);
    const matchLen =
      next() % 10 === 0 ? 67 + (next() % 600) : matchLens[next() % matchLens.length]!;
    put(lits, Math.min(offset, room), matchLen);
  }
  // The compressor leaves 5 or more last literals; the format allows any number, and
  // 29..32 of them end a tight output just inside a word copy's reach.
  const lastLens = [0, 1, 2, 3, 5, 7, 8, 15, 16, 24, 29, 30, 31, 32, 33, 39, 40];
  put(literals(lastLens[next() % lastLens.length]!));
  return { block: Buffer.from(block), content: Buffer.from(content) };
}

describe("LZ4 fast paths", () => {
  it("decodes hand-assembled blocks of every offset 1..40 and many lengths, tight and roomy", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const { block, content } = handBlock(seed, 400);
      // Exactly the content's size: the copies near the end of the output go byte by byte.
      expect(lz4DecompressBlock(block, content.length).equals(content), `seed ${seed}`).toBe(true);
      // Room to spare, and the block at an odd address: the word copies run everywhere.
      const roomy = lz4DecompressBlock(shifted(block, seed % 8), content.length + 1000);
      expect(roomy.equals(content), `seed ${seed} roomy`).toBe(true);
      // In a frame, one block after another in the same output; with checksums after
      // the blocks (input past a block's end) and an output limit of exactly the content.
      const u32 = (n: number) => {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(n >>> 0);
        return b;
      };
      const twice = Buffer.concat([content, content]);
      const frame = Buffer.concat([
        hex("04224d18", "74", "70"), // FLG: version 01, independent, block and content checksums; BD: 4 MB
        Buffer.from([(xxh32(hex("7470")) >>> 8) & 0xff]),
        u32(block.length),
        block,
        u32(xxh32(block)),
        u32(block.length),
        block,
        u32(xxh32(block)),
        hex("00000000"),
        u32(xxh32(twice)),
      ]);
      expect(lz4DecompressFrame(frame).equals(twice)).toBe(true);
      const tight = lz4DecompressFrame(frame, { maxOutputSize: twice.length });
      expect(tight.equals(twice), `seed ${seed} tight frame`).toBe(true);
    }
  });

  it("rejects a hand-assembled block one byte short of its content's size", () => {
    const { block, content } = handBlock(7, 50);
    expectProtocolError(
      () => lz4DecompressBlock(block, content.length - 1),
      "CORRUPT_COMPRESSED_DATA",
    );
  });

  it("round-trips random sizes, alignments, levels and patterned content", () => {
    const next = rng(2024);
    for (let i = 0; i < 300; i++) {
      const n = i < 80 ? i : next() % (i < 250 ? 5000 : 300_000);
      const data = shifted(patterned(n, i), next() % 8);
      const level = [-1, 0, 1, 2, 3, 9][i % 6]!;
      const frame = lz4CompressFrame(data, { level, contentChecksum: i % 2 === 0 });
      expect(lz4DecompressFrame(shifted(frame, i % 5)).equals(data), `case ${i}`).toBe(true);
    }
  });

  it("writes nothing past the block it returns and reads nothing outside its range", () => {
    const next = rng(99);
    for (let i = 0; i < 200; i++) {
      const n = next() % (i < 100 ? 200 : 70_000);
      const host = Buffer.concat([
        randomBytes(40, i),
        patterned(n, i + 500),
        randomBytes(40, i + 1),
      ]);
      const start = next() % 40;
      const end = 40 + n + (next() % 40);
      const dstOffset = next() % 9;
      // Exactly the room the API asks for, between sentinel bytes.
      const bound = lz4CompressBound(end - start);
      const dst = Buffer.alloc(dstOffset + bound + 16, 0xee);
      const view = dst.subarray(0, dstOffset + bound);
      const size = lz4CompressBlock(host, view, dstOffset, i % 2 === 0 ? -1 : 1, start, end);
      expect(dst.subarray(0, dstOffset).every((b) => b === 0xee)).toBe(true);
      expect(
        dst.subarray(dstOffset + size).every((b) => b === 0xee),
        `case ${i}`,
      ).toBe(true);
      const block = dst.subarray(dstOffset, dstOffset + size);
      // The same bytes as compressing a copy of just the range: nothing outside it is read.
      const copy = Buffer.from(host.subarray(start, end));
      const alone = Buffer.alloc(lz4CompressBound(copy.length));
      const aloneSize = lz4CompressBlock(copy, alone, 0, i % 2 === 0 ? -1 : 1);
      expect(block.equals(alone.subarray(0, aloneSize)), `case ${i}`).toBe(true);
      expect(lz4DecompressBlock(block, end - start).equals(copy)).toBe(true);
    }
  });

  it("allocates a 64 KB-block frame's output once, not doubled", () => {
    const json = jsonLogLines(1 << 20, 5);
    const out = lz4DecompressFrame(lz4CompressFrame(json));
    expect(out.equals(json)).toBe(true);
    // Room for 16 full blocks, which is what they hold.
    expect(out.buffer.byteLength).toBe(1 << 20);
  });

  it("the lz4 CLI agrees with us on patterned inputs of many sizes, both ways", (ctx) => {
    lz4Cli.need(ctx);
    const next = rng(31);
    const inputs: Buffer[] = [];
    for (const n of [0, 1, 12, 13, 14, 255, 256, 257, 4095, 4097, 65535, 65536, 65537]) {
      inputs.push(shifted(patterned(n, n), n % 8));
    }
    for (let i = 0; i < 40; i++) inputs.push(shifted(patterned(next() % 200_000, i), i % 8));
    // Our frames, concatenated: the CLI decodes them back to back.
    const ours = Buffer.concat(
      inputs.map((d, i) => lz4CompressFrame(d, { level: i % 3, contentChecksum: i % 2 === 0 })),
    );
    expect(run("lz4", ["-d", "-c", "-q"], ours).equals(Buffer.concat(inputs))).toBe(true);
    // The CLI's frames (with its xxh32 content checksum) of the whole lot and of short ones.
    const all = Buffer.concat(inputs);
    for (const args of [
      ["-1", "-B4"],
      ["-1", "-B4", "-BD"],
      ["-9", "-B5"],
    ]) {
      const frame = run("lz4", ["-c", "-q", ...args], all);
      expect(lz4DecompressFrame(shifted(frame, 3)).equals(all), args.join(" ")).toBe(true);
    }
    for (const d of inputs.slice(0, 13)) {
      expect(lz4DecompressFrame(run("lz4", ["-c", "-q", "-1"], d)).equals(d)).toBe(true);
    }
  });

  it("compresses JSON log lines at least as small as lz4 -1 (64 KB blocks)", (ctx) => {
    lz4Cli.need(ctx);
    for (const seed of [1234567, 42]) {
      const payload = jsonLogLines(1 << 20, seed);
      const reference = run("lz4", ["-c", "-q", "-1", "-B4", "--no-frame-crc"], payload).length;
      expect(lz4CompressFrame(payload).length).toBeLessThanOrEqual(reference);
    }
  });
});
