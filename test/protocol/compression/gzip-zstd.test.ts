import zlib, { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  GZIP_SYNC_MAX,
  gzipCompress,
  gzipCompressAsync,
  gzipDecompress,
  gzipDecompressAsync,
} from "../../../src/protocol/compression/gzip.js";
import { compressionSlots } from "../../../src/protocol/compression/pool-slots.js";
import {
  ZSTD_SYNC_MAX,
  ZSTD_UNAVAILABLE_MESSAGE,
  zstdAvailable,
  zstdCompress,
  zstdCompressAsync,
  zstdDecompress,
  zstdDecompressAsync,
  zstdOutputBound,
} from "../../../src/protocol/compression/zstd.js";
import { ProtocolError } from "../../../src/protocol/protocol-error.js";
import {
  expectProtocolError,
  hasCommand,
  hex,
  jsonLogLines,
  onlyProtocolError,
  randomBytes,
  rng,
  run,
} from "./helpers.js";

const json = jsonLogLines(1 << 20);
const EDGE_INPUTS = [
  Buffer.alloc(0),
  Buffer.from("x"),
  randomBytes(100_000, 1),
  Buffer.alloc(1 << 20, 0x61),
  json,
];

describe("gzip", () => {
  it("round-trips edge cases at every level, sync and async", async () => {
    for (const data of EDGE_INPUTS) {
      for (const level of [-1, 0, 1, 6, 9]) {
        const c = gzipCompress(data, level);
        expect(c.subarray(0, 2)).toEqual(hex("1f8b")); // gzip magic
        expect(gunzipSync(c).equals(data)).toBe(true);
        expect(gzipDecompress(c).equals(data)).toBe(true);
      }
      const a = await gzipCompressAsync(data);
      expect((await gzipDecompressAsync(a)).equals(data)).toBe(true);
    }
    expect(gzipCompress(json, 9).length).toBeLessThan(gzipCompress(json, 1).length);
    expect(gzipCompress(json, 0).length).toBeGreaterThan(json.length);
  });

  it("decodes concatenated members (what some writers produce)", () => {
    const two = Buffer.concat([gzipCompress(Buffer.from("ab")), gzipCompress(Buffer.from("cd"))]);
    expect(gzipDecompress(two).toString()).toBe("abcd");
  });

  it("rejects levels outside -1..9", async () => {
    expect(() => gzipCompress(json, 10)).toThrow(RangeError);
    expect(() => gzipCompress(json, -2)).toThrow(RangeError);
    await expect(gzipCompressAsync(json, 10)).rejects.toThrow(RangeError);
  });

  it("turns corrupt, truncated or oversized input into ProtocolError", async () => {
    const c = gzipCompress(json.subarray(0, 20_000));
    expectProtocolError(() => gzipDecompress(Buffer.from("not gzip")), "CORRUPT_COMPRESSED_DATA");
    expectProtocolError(() => gzipDecompress(Buffer.alloc(0)), "CORRUPT_COMPRESSED_DATA");
    for (let n = 0; n < c.length; n += 1 + (n % 97)) {
      expectProtocolError(() => gzipDecompress(c.subarray(0, n)), "CORRUPT_COMPRESSED_DATA");
    }
    const crc = Buffer.from(c);
    crc[crc.length - 6] ^= 1; // the CRC-32 trailer
    expectProtocolError(() => gzipDecompress(crc), "CORRUPT_COMPRESSED_DATA");
    await expect(gzipDecompressAsync(crc)).rejects.toBeInstanceOf(ProtocolError);
    const big = gzipCompress(Buffer.alloc(1 << 20));
    expectProtocolError(() => gzipDecompress(big, { maxOutputSize: 1000 }), "FRAME_TOO_LARGE");
    const next = rng(9);
    for (let i = 0; i < 500; i++) {
      const bad = Buffer.from(c);
      bad[next() % bad.length] ^= 1 + (next() % 255);
      onlyProtocolError(() => gzipDecompress(bad));
    }
  });
});

describe("async compression of small inputs", () => {
  it("gzip: in place up to GZIP_SYNC_MAX bytes, in the thread pool above", async () => {
    const pool = compressionSlots.started;
    for (const n of [0, 1, 1000, GZIP_SYNC_MAX]) {
      const data = json.subarray(0, n);
      const c = await gzipCompressAsync(data);
      expect(c.equals(gzipCompress(data))).toBe(true);
      expect(gunzipSync(c).equals(data)).toBe(true);
    }
    expect(compressionSlots.started).toBe(pool);
    const big = json.subarray(0, GZIP_SYNC_MAX + 1);
    expect(gunzipSync(await gzipCompressAsync(big)).equals(big)).toBe(true);
    expect(compressionSlots.started).toBe(pool + 1);
    await expect(gzipCompressAsync(json.subarray(0, 10), 10)).rejects.toThrow(RangeError);
  });

  it.runIf(zstdAvailable())(
    "zstd: in place up to ZSTD_SYNC_MAX bytes, in the thread pool above",
    async () => {
      const pool = compressionSlots.started;
      for (const n of [0, 1, 1000, ZSTD_SYNC_MAX]) {
        const data = json.subarray(0, n);
        const c = await zstdCompressAsync(data);
        expect(c.equals(zstdCompress(data))).toBe(true);
        expect(zstdDecompress(c).equals(data)).toBe(true);
      }
      expect(compressionSlots.started).toBe(pool);
      const big = json.subarray(0, ZSTD_SYNC_MAX + 1);
      expect(zstdDecompress(await zstdCompressAsync(big)).equals(big)).toBe(true);
      expect(compressionSlots.started).toBe(pool + 1);
      await expect(zstdCompressAsync(json.subarray(0, 10), 23)).rejects.toThrow(RangeError);
    },
  );
});

describe("zstd", () => {
  it.runIf(!zstdAvailable())(
    "fails at once, naming the Node version it needs, where node:zlib has no zstd",
    async () => {
      expect(ZSTD_UNAVAILABLE_MESSAGE).toMatch(/Node\.js 22\.15\.0 or newer/);
      expect(ZSTD_UNAVAILABLE_MESSAGE).toContain(process.version);
      const err = expectProtocolError(() => zstdCompress(json), "UNSUPPORTED_COMPRESSION");
      expect(err.message).toBe(ZSTD_UNAVAILABLE_MESSAGE);
      expectProtocolError(() => zstdDecompress(hex("28b52ffd")), "UNSUPPORTED_COMPRESSION");
      await expect(zstdCompressAsync(json)).rejects.toMatchObject({
        code: "UNSUPPORTED_COMPRESSION",
      });
      await expect(zstdDecompressAsync(json)).rejects.toMatchObject({
        code: "UNSUPPORTED_COMPRESSION",
      });
    },
  );

  it.runIf(zstdAvailable())(
    "round-trips edge cases at several levels, sync and async",
    async () => {
      for (const data of EDGE_INPUTS) {
        for (const level of [-1, 0, 1, 3, 12, 22]) {
          const c = zstdCompress(data, level);
          expect(c.subarray(0, 4)).toEqual(hex("28b52ffd")); // zstd frame magic 0xFD2FB528 LE
          expect(zstdDecompress(c).equals(data)).toBe(true);
        }
        expect((await zstdDecompressAsync(await zstdCompressAsync(data))).equals(data)).toBe(true);
      }
      expect(() => zstdCompress(json, 23)).toThrow(RangeError);
      expectProtocolError(() => zstdDecompress(Buffer.from("not zstd")), "CORRUPT_COMPRESSED_DATA");
      const c = zstdCompress(json);
      for (let n = 0; n < c.length; n += 1 + (n % 997)) {
        expectProtocolError(() => zstdDecompress(c.subarray(0, n)), "CORRUPT_COMPRESSED_DATA");
      }
    },
  );

  it.runIf(zstdAvailable())(
    "writes one pass into a buffer of the bound: the bytes node:zlib writes in 16 KB chunks",
    async () => {
      // The zstd slice of node:zlib (Node >= 22.15), absent from @types/node 20.
      const z = zlib as unknown as {
        zstdCompressSync(d: Uint8Array, o: object): Buffer;
        constants: Record<string, number>;
      };
      const inputs = [
        ...EDGE_INPUTS,
        json.subarray(0, 65_536),
        json,
        randomBytes(200_000, 1), // incompressible: the output is longer than the input
        randomBytes(131_071, 2),
      ];
      for (const data of inputs) {
        const chunked = z.zstdCompressSync(data, {
          params: { [z.constants.ZSTD_c_compressionLevel!]: 3 },
          pledgedSrcSize: data.length,
        });
        const c = zstdCompress(data);
        expect(c.length).toBeLessThanOrEqual(zstdOutputBound(data.length));
        // Node's bytes; Deno's node:zlib cuts the blocks of the same frame otherwise.
        if (process.versions.deno === undefined) expect(c.equals(chunked)).toBe(true);
        expect(zstdDecompress(c).equals(data)).toBe(true);
        // Async, above ZSTD_SYNC_MAX, node:zlib feeds the input before it ends the frame, so
        // the blocks may be cut elsewhere (1 MB of one byte: 53 bytes, not 50); still one frame.
        expect(zstdDecompress(await zstdCompressAsync(data)).equals(data)).toBe(true);
      }
    },
  );

  it.runIf(zstdAvailable() && hasCommand("zstd"))("decodes what the zstd CLI writes", () => {
    const c = run("zstd", ["-c", "-q", "-3"], json);
    expect(zstdDecompress(c).equals(json)).toBe(true);
    expect(run("zstd", ["-d", "-c", "-q"], zstdCompress(json)).equals(json)).toBe(true);
  });
});
