import { describe, expect, it } from "vitest";
import {
  COMPRESSION_LEVEL_RANGES,
  compress,
  compressionAvailable,
  compressSync,
  decompress,
  decompressSync,
  lz4DecompressFrame,
  registerCompressionCodecs,
  snappyDecompress,
  validateCompression,
  ZSTD_UNAVAILABLE_MESSAGE,
  zstdAvailable,
} from "../../../src/protocol/compression/index.js";
import { crc32c } from "../../../src/protocol/crc32c.js";
import * as protocol from "../../../src/protocol/index.js";
import { ProtocolError } from "../../../src/protocol/protocol-error.js";
import {
  COMPRESSION_CODEC_IDS,
  type CompressionCodec,
  encodeRecordBatch,
  getCodec,
  RecordBatchBuilder,
  type RecordInput,
  registerCodec,
} from "../../../src/protocol/record-batch.js";
import { decodeRecordBatch } from "../../../src/protocol/record-batch-decoder.js";
import { Writer } from "../../../src/protocol/writer.js";
import { expectProtocolError, jsonLogLines, randomBytes, rng } from "./helpers.js";

const T0 = 1_700_000_000_000;
const ALL: CompressionCodec[] = ["gzip", "snappy", "lz4", "zstd"];
const AVAILABLE = ALL.filter(compressionAvailable);

/** Records with the shapes the issue names: empty, null, binary, headers, big, tiny. */
function mixedRecords(): RecordInput[] {
  return [
    { key: "k", value: "", timestamp: T0 },
    { key: null, value: null, timestamp: T0 + 1 },
    { key: Buffer.from([0, 255, 1]), value: randomBytes(5000, 1), timestamp: T0 + 2 },
    { key: "h", value: "with headers", timestamp: T0 + 3, headers: [{ key: "a", value: "b" }] },
    { key: "json", value: jsonLogLines(20_000), timestamp: T0 + 4 },
  ];
}

function expectRecords(batch: Buffer, inputs: RecordInput[], codec: CompressionCodec): void {
  const b = decodeRecordBatch(batch);
  expect(b.compression).toBe(codec);
  expect(b.attributes & 0x07).toBe(COMPRESSION_CODEC_IDS[codec]);
  expect(b.records.length).toBe(inputs.length);
  const bytes = (d: RecordInput["value"] | undefined) =>
    d == null ? null : typeof d === "string" ? Buffer.from(d) : Buffer.from(d);
  const same = (a: Buffer | null, w: Buffer | null) =>
    a === null ? w === null : w !== null && a.equals(w);
  // Compared with Buffer.equals and reported in one go (deep equality on 1 MB is slow).
  const mismatches: string[] = [];
  b.records.forEach((r, i) => {
    const want = inputs[i]!;
    const headers = r.headers.map((h) => `${h.key}=${h.value?.toString()}`).join(",");
    const wantHeaders = (want.headers ?? []).map((h) => `${h.key}=${String(h.value)}`).join(",");
    if (
      !same(r.key, bytes(want.key)) ||
      !same(r.value, bytes(want.value)) ||
      r.timestamp !== want.timestamp ||
      headers !== wantHeaders
    ) {
      mismatches.push(`record ${i}`);
    }
  });
  expect(mismatches).toEqual([]);
}

/** Re-signs a batch after an edit behind the CRC. */
function fixCrc(b: Buffer): Buffer {
  b.writeUInt32BE(crc32c(b, 21, b.length), 17);
  return b;
}

describe("codec registry", () => {
  it("registers gzip, snappy and lz4 on import, and zstd where Node has it", () => {
    for (const c of ["gzip", "snappy", "lz4"] as const) expect(getCodec(c)).toBeDefined();
    if (zstdAvailable()) expect(getCodec("zstd")).toBeDefined();
    else {
      const err = expectProtocolError(() => getCodec("zstd"), "UNSUPPORTED_COMPRESSION");
      expect(err.message).toBe(ZSTD_UNAVAILABLE_MESSAGE);
      expect(err.message).toMatch(/22\.15\.0/);
    }
    // event-kafka/protocol exports them.
    expect(typeof protocol.lz4CompressFrame).toBe("function");
    expect(typeof protocol.validateCompression).toBe("function");
  });

  it("validateCompression checks the codec and its level ranges up front", () => {
    validateCompression("none");
    for (const c of ["gzip", "snappy", "lz4"] as const) {
      const { min, max } = COMPRESSION_LEVEL_RANGES[c];
      validateCompression(c, -1);
      validateCompression(c, min);
      validateCompression(c, max);
      expect(() => validateCompression(c, max + 1)).toThrow(RangeError);
      expect(() => validateCompression(c, -2)).toThrow(RangeError);
      expect(() => validateCompression(c, 0.5)).toThrow(RangeError);
    }
    expect(() => validateCompression("snappy", 1)).toThrow(
      /snappy compression level must be -1 \(default\) or 0/,
    );
    if (!zstdAvailable()) {
      expectProtocolError(() => validateCompression("zstd", 3), "UNSUPPORTED_COMPRESSION");
    } else {
      validateCompression("zstd", 22);
      expect(() => validateCompression("zstd", 23)).toThrow(RangeError);
    }
    expectProtocolError(
      () => validateCompression("brotli" as CompressionCodec),
      "UNSUPPORTED_COMPRESSION",
    );
  });

  it("compress / decompress (async) and the sync variants agree", async () => {
    const data = jsonLogLines(3 << 20, 5); // big enough for lz4 to slice
    for (const codec of AVAILABLE) {
      const a = await compress(codec, data);
      const s = compressSync(codec, data);
      expect(decompressSync(codec, a).equals(data), codec).toBe(true);
      expect((await decompress(codec, s)).equals(data), codec).toBe(true);
    }
    expect(await compress("none", data.subarray(0, 10))).toEqual(data.subarray(0, 10));
    expect(lz4DecompressFrame(await compress("lz4", data, 3)).equals(data)).toBe(true);
    expect(snappyDecompress(await compress("snappy", data)).equals(data)).toBe(true);
    await expect(compress("gzip", data, 12)).rejects.toThrow(RangeError);
    await expect(decompress("lz4", Buffer.from("nope"))).rejects.toBeInstanceOf(ProtocolError);
  });

  it("registerCompressionCodecs restores the codecs after an override", () => {
    registerCodec("lz4", {
      compress: () => Buffer.from("x"),
      decompress: () => Buffer.from("y"),
    });
    expect(getCodec("lz4").compress(Buffer.alloc(1)).toString()).toBe("x");
    registerCompressionCodecs();
    expect(lz4DecompressFrame(getCodec("lz4").compress(Buffer.from("abc"))).toString()).toBe("abc");
  });
});

describe("compressed record batches", () => {
  it.each(AVAILABLE)("%s: round-trips mixed records, sync finish()", (codec) => {
    const inputs = mixedRecords();
    const batch = encodeRecordBatch(inputs, { baseTimestamp: T0, compression: codec });
    expectRecords(batch, inputs, codec);
    const plain = encodeRecordBatch(inputs, { baseTimestamp: T0 });
    expect(batch.length).toBeLessThan(plain.length);
  });

  it.each(AVAILABLE)("%s: finishAsync() seals the same batch as finish()", async (codec) => {
    const inputs = mixedRecords();
    const build = (w: Writer) => {
      const b = new RecordBatchBuilder().begin(w, { baseTimestamp: T0, compression: codec });
      for (const r of inputs) b.append(r.key, r.value, r.timestamp!, r.headers);
      return b;
    };
    const w1 = new Writer(64);
    w1.int32(0x01020304); // bytes before the batch stay put
    const size = await build(w1).finishAsync();
    const w2 = new Writer(64);
    build(w2).finish();
    expect(w1.finish().subarray(4)).toEqual(w2.finish());
    expect(size).toBe(w2.pos);
    expectRecords(w1.finish().subarray(4), inputs, codec);
  });

  it.each(AVAILABLE)("%s: one 1 MB value and 10000 tiny records", async (codec) => {
    const big: RecordInput[] = [{ key: "big", value: jsonLogLines(1 << 20, 3), timestamp: T0 }];
    expectRecords(encodeRecordBatch(big, { baseTimestamp: T0, compression: codec }), big, codec);
    const incompressible: RecordInput[] = [
      { key: null, value: randomBytes(1 << 20, 8), timestamp: T0 },
    ];
    expectRecords(
      encodeRecordBatch(incompressible, { baseTimestamp: T0, compression: codec }),
      incompressible,
      codec,
    );
    const next = rng(2);
    const tiny: RecordInput[] = Array.from({ length: 10000 }, (_, i) => ({
      key: i % 3 === 0 ? null : `k${i}`,
      value: i % 7 === 0 ? "" : String(next() % 100),
      timestamp: T0 + i,
    }));
    const w = new Writer();
    const b = new RecordBatchBuilder().begin(w, { baseTimestamp: T0, compression: codec });
    for (const r of tiny) b.append(r.key, r.value, r.timestamp!);
    await b.finishAsync();
    expectRecords(w.finish(), tiny, codec);
  });

  it.each(AVAILABLE)("%s: corrupt compressed records give a ProtocolError", (codec) => {
    const inputs = mixedRecords();
    const batch = encodeRecordBatch(inputs, { baseTimestamp: T0, compression: codec });
    // Cut the compressed section short (batchLength and CRC fixed up).
    const cut = Buffer.from(batch.subarray(0, batch.length - 20));
    cut.writeInt32BE(cut.length - 12, 8);
    expectProtocolError(() => decodeRecordBatch(fixCrc(cut)), "CORRUPT_COMPRESSED_DATA");
    // Garbage where the compressed records start.
    const garbage = Buffer.from(batch);
    garbage.fill(0xee, 61, 80);
    expectProtocolError(() => decodeRecordBatch(fixCrc(garbage)), "CORRUPT_COMPRESSED_DATA");
    // Random edits: a ProtocolError (any code: a lucky edit can decompress to bad records) or
    // the original records.
    const next = rng(4);
    for (let i = 0; i < 200; i++) {
      const bad = Buffer.from(batch);
      bad[61 + (next() % (bad.length - 61))] ^= 1 + (next() % 255);
      try {
        decodeRecordBatch(fixCrc(bad));
      } catch (e) {
        expect(e).toBeInstanceOf(ProtocolError);
      }
    }
  });

  it("uses compression.level and refuses a level the codec lacks at begin()", () => {
    const inputs: RecordInput[] = [{ key: null, value: jsonLogLines(200_000, 6), timestamp: T0 }];
    const fast = encodeRecordBatch(inputs, { baseTimestamp: T0, compression: "lz4" });
    const hc = encodeRecordBatch(inputs, {
      baseTimestamp: T0,
      compression: "lz4",
      compressionLevel: 9,
    });
    expect(hc.length).toBeLessThan(fast.length * 0.9);
    expectRecords(hc, inputs, "lz4");
    const gz1 = encodeRecordBatch(inputs, {
      baseTimestamp: T0,
      compression: "gzip",
      compressionLevel: 1,
    });
    const gz9 = encodeRecordBatch(inputs, {
      baseTimestamp: T0,
      compression: "gzip",
      compressionLevel: 9,
    });
    expect(gz9.length).toBeLessThan(gz1.length);
    const w = new Writer(8);
    expect(() =>
      new RecordBatchBuilder().begin(w, { compression: "gzip", compressionLevel: 10 }),
    ).toThrow(RangeError);
    expect(() =>
      new RecordBatchBuilder().begin(w, { compression: "snappy", compressionLevel: 3 }),
    ).toThrow(RangeError);
    expect(w.pos).toBe(0);
    if (!zstdAvailable()) {
      expectProtocolError(
        () => new RecordBatchBuilder().begin(w, { compression: "zstd" }),
        "UNSUPPORTED_COMPRESSION",
      );
    }
  });
});

describe("finishAsync() state", () => {
  // Past GZIP_SYNC_MAX, so gzip really goes to the thread pool (smaller inputs seal in place).
  const inputs: RecordInput[] = [
    ...mixedRecords(),
    { key: "more", value: jsonLogLines(40_000), timestamp: T0 + 5 },
  ];
  const begin = (w: Writer, codec: CompressionCodec = "gzip") => {
    const b = new RecordBatchBuilder().begin(w, { baseTimestamp: T0, compression: codec });
    for (const r of inputs) b.append(r.key, r.value, r.timestamp!, r.headers);
    return b;
  };

  it("freezes the batch while compressing", async () => {
    const w = new Writer();
    const b = begin(w);
    const sealing = b.finishAsync();
    expect(() => b.append("k", "v", T0)).toThrow(/compressed/);
    expect(() => b.finish()).toThrow(/compressed/);
    await expect(b.finishAsync()).rejects.toThrow(/compressed/);
    expect(() => b.begin(w)).toThrow(/already/);
    await sealing;
    expectRecords(w.finish(), inputs, "gzip");
    // Usable again.
    b.begin(w).append(null, "again", T0);
    expect(await b.finishAsync()).toBeGreaterThan(61);
  });

  it("abort() while compressing rewinds the writer and rejects the seal", async () => {
    const w = new Writer();
    w.int8(9);
    const b = begin(w);
    const sealing = b.finishAsync();
    b.abort();
    expect(w.pos).toBe(1);
    await expect(sealing).rejects.toThrow(/aborted/);
    expect(w.pos).toBe(1);
    b.begin(w, { compression: "lz4" }).append(null, "next", T0);
    await b.finishAsync();
    expect(decodeRecordBatch(w.finish(), 1).records[0]!.value!.toString()).toBe("next");
  });

  it("a failing compression leaves the batch open for abort()", async () => {
    registerCodec("gzip", {
      compress: () => Buffer.alloc(0),
      decompress: () => Buffer.alloc(0),
      compressAsync: () => Promise.reject(new Error("disk on fire")),
    });
    try {
      const w = new Writer();
      const b = begin(w);
      await expect(b.finishAsync()).rejects.toThrow(/disk on fire/);
      expect(() => b.append("k", "v", T0)).not.toThrow();
      b.abort();
      expect(w.pos).toBe(0);
    } finally {
      registerCompressionCodecs();
    }
  });

  it("seals synchronously without a codec or an async variant", async () => {
    const w = new Writer();
    const b = new RecordBatchBuilder().begin(w, { baseTimestamp: T0 });
    b.append(null, "plain", T0);
    const p = b.finishAsync();
    expect(() => b.append(null, "x", T0)).toThrow(/begin/); // already sealed
    expect(await p).toBe(w.pos);
    expect(decodeRecordBatch(w.finish()).records[0]!.value!.toString()).toBe("plain");
  });
});
