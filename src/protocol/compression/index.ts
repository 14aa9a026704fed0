/**
 * The record batch compression codecs (attributes bits 0-2): gzip (1), snappy
 * (2), lz4 (3), zstd (4). Importing this module registers them with the codec
 * registry of `record-batch.ts`, so `RecordBatchBuilder` and
 * `decodeRecordBatch` can use them; zstd only where `node:zlib` has it (Node
 * 22.15+), otherwise it is marked unavailable with a message naming the Node
 * version needed.
 *
 * `compress()` / `decompress()` are async: gzip and zstd run in zlib's thread
 * pool (compression only above 32 KB and 64 KB: below, the hop costs more
 * CPU than the work; at most one compression per core but one at once, see
 * pool-slots.ts), lz4 gives the event loop a turn every 1 MB (64 KB at levels 3..12),
 * snappy is synchronous (one raw snappy block cannot be cut; ours does some
 * 500 MB/s, about 2 ms for a 1 MB batch). The `*Sync` variants do it all in
 * place.
 *
 * Levels (`compression.level`, -1 is the codec's default):
 *   gzip   0..9  (-1: zlib's 6)
 *   snappy 0     (snappy has no levels)
 *   lz4    0..12 (-1 and 0..2: the fast compressor; 3..12: hash chains, deeper
 *                  with the level; the reference's optimal parser of 10..12 is not
 *                  implemented, those levels search deeper instead)
 *   zstd   0..22 (-1 and 0: zstd's 3)
 */
import { ProtocolError } from "../protocol-error.js";
import {
  type Codec,
  type CompressionCodec,
  getCodec,
  markCodecUnavailable,
  registerCodec,
} from "../record-batch.js";
import {
  GZIP_MAX_LEVEL,
  gzipCompress,
  gzipCompressAsync,
  gzipDecompress,
  gzipDecompressAsync,
} from "./gzip.js";
import {
  LZ4_MAX_LEVEL,
  lz4CompressFrame,
  lz4CompressFrameAsync,
  lz4DecompressFrame,
} from "./lz4.js";
import { snappyCompress, snappyDecompress } from "./snappy.js";
import {
  checkZstdLevel,
  ZSTD_MAX_LEVEL,
  ZSTD_UNAVAILABLE_MESSAGE,
  zstdAvailable,
  zstdCompress,
  zstdCompressAsync,
  zstdDecompress,
  zstdDecompressAsync,
} from "./zstd.js";

export {
  GZIP_MAX_LEVEL,
  gzipCompress,
  gzipCompressAsync,
  gzipDecompress,
  gzipDecompressAsync,
} from "./gzip.js";
export {
  LZ4_FRAME_MAGIC,
  LZ4_HC_MIN_LEVEL,
  LZ4_MAX_LEVEL,
  type Lz4BlockSize,
  type Lz4FrameOptions,
  lz4CompressBlock,
  lz4CompressBound,
  lz4CompressFrame,
  lz4CompressFrameAsync,
  lz4DecompressBlock,
  lz4DecompressFrame,
} from "./lz4.js";
export type { DecompressOptions } from "./options.js";
export { isXerialSnappy, snappyCompress, snappyDecompress } from "./snappy.js";
export { xxh32 } from "./xxhash32.js";
export {
  ZSTD_DEFAULT_LEVEL,
  ZSTD_MAX_LEVEL,
  ZSTD_UNAVAILABLE_MESSAGE,
  zstdAvailable,
  zstdCompress,
  zstdCompressAsync,
  zstdDecompress,
  zstdDecompressAsync,
} from "./zstd.js";

export type CompressedCodec = Exclude<CompressionCodec, "none">;

/** The levels each codec takes besides -1 (its default). */
export const COMPRESSION_LEVEL_RANGES: Readonly<
  Record<CompressedCodec, { readonly min: number; readonly max: number }>
> = {
  gzip: { min: 0, max: GZIP_MAX_LEVEL },
  snappy: { min: 0, max: 0 },
  lz4: { min: 0, max: LZ4_MAX_LEVEL },
  zstd: { min: 0, max: ZSTD_MAX_LEVEL },
};

function levelChecker(codec: CompressedCodec): (level: number) => void {
  const { min, max } = COMPRESSION_LEVEL_RANGES[codec];
  return (level) => {
    if (!Number.isInteger(level) || (level !== -1 && (level < min || level > max))) {
      throw new RangeError(
        `${codec} compression level must be -1 (default) or ${min === max ? min : `${min}..${max}`}: ${level}`,
      );
    }
  };
}

const resolved = Promise.resolve();

export const gzipCodec: Codec = {
  compress: (data, level = -1) => gzipCompress(data, level),
  decompress: (data) => gzipDecompress(data),
  compressAsync: (data, level = -1) => gzipCompressAsync(data, level),
  decompressAsync: (data) => gzipDecompressAsync(data),
  checkLevel: levelChecker("gzip"),
};

const checkSnappyLevel = levelChecker("snappy");
export const snappyCodec: Codec = {
  compress: (data, level = -1) => {
    checkSnappyLevel(level);
    return snappyCompress(data);
  },
  decompress: (data) => snappyDecompress(data),
  checkLevel: checkSnappyLevel,
};

export const lz4Codec: Codec = {
  compress: (data, level = -1) => lz4CompressFrame(data, { level }),
  decompress: (data) => lz4DecompressFrame(data),
  compressAsync: (data, level = -1) => lz4CompressFrameAsync(data, { level }),
  decompressAsync: (data) => resolved.then(() => lz4DecompressFrame(data)),
  checkLevel: levelChecker("lz4"),
};

export const zstdCodec: Codec = {
  compress: (data, level = -1) => zstdCompress(data, level),
  decompress: (data) => zstdDecompress(data),
  compressAsync: (data, level = -1) => zstdCompressAsync(data, level),
  decompressAsync: (data) => zstdDecompressAsync(data),
  checkLevel: checkZstdLevel,
};

/**
 * Registers the four codecs (zstd only where this Node has it). Runs when this
 * module is first imported; call it again to undo a `registerCodec` override.
 */
export function registerCompressionCodecs(): void {
  registerCodec("gzip", gzipCodec);
  registerCodec("snappy", snappyCodec);
  registerCodec("lz4", lz4Codec);
  if (zstdAvailable()) registerCodec("zstd", zstdCodec);
  else markCodecUnavailable("zstd", ZSTD_UNAVAILABLE_MESSAGE);
}

registerCompressionCodecs();

/** Whether `codec` can be used here ("none" always; zstd only on Node 22.15+). */
export function compressionAvailable(codec: CompressionCodec): boolean {
  if (codec === "zstd") return zstdAvailable();
  return codec === "none" || Object.hasOwn(COMPRESSION_LEVEL_RANGES, codec);
}

/**
 * Checks a `compression.codec` / `compression.level` pair up front, for the
 * producer to call when it is configured: ProtocolError UNSUPPORTED_COMPRESSION
 * for an unknown codec or one this Node lacks (zstd before Node 22.15, with the
 * version in the message), RangeError for a level the codec does not have.
 */
export function validateCompression(codec: CompressionCodec, level = -1): void {
  if (codec === "none") {
    if (!Number.isInteger(level))
      throw new RangeError(`compression level must be an integer: ${level}`);
    return;
  }
  if (!Object.hasOwn(COMPRESSION_LEVEL_RANGES, codec)) {
    throw new ProtocolError("UNSUPPORTED_COMPRESSION", `unknown compression codec '${codec}'`);
  }
  const impl = getCodec(codec);
  (impl.checkLevel ?? levelChecker(codec))(level);
}

function codecOf(codec: CompressionCodec): Codec | null {
  if (codec === "none") return null;
  if (!Object.hasOwn(COMPRESSION_LEVEL_RANGES, codec)) {
    throw new ProtocolError("UNSUPPORTED_COMPRESSION", `unknown compression codec '${codec}'`);
  }
  return getCodec(codec);
}

/** Compresses `data` with a codec, synchronously ("none" returns a copy). */
export function compressSync(codec: CompressionCodec, data: Uint8Array, level = -1): Buffer {
  const impl = codecOf(codec);
  if (impl === null) return Buffer.from(data);
  impl.checkLevel?.(level);
  return impl.compress(data, level);
}

/**
 * Compresses `data` with a codec, off the event loop where the codec can (see
 * the module comment). Rejects like `compressSync` throws.
 */
export async function compress(
  codec: CompressionCodec,
  data: Uint8Array,
  level = -1,
): Promise<Buffer> {
  const impl = codecOf(codec);
  if (impl === null) return Buffer.from(data);
  impl.checkLevel?.(level);
  return impl.compressAsync ? impl.compressAsync(data, level) : impl.compress(data, level);
}

/** Decompresses a records section; corrupt input throws ProtocolError CORRUPT_COMPRESSED_DATA. */
export function decompressSync(codec: CompressionCodec, data: Uint8Array): Buffer {
  const impl = codecOf(codec);
  return impl === null ? Buffer.from(data) : impl.decompress(data);
}

/** Async `decompressSync` (gzip and zstd in zlib's thread pool). */
export async function decompress(codec: CompressionCodec, data: Uint8Array): Promise<Buffer> {
  const impl = codecOf(codec);
  if (impl === null) return Buffer.from(data);
  return impl.decompressAsync ? impl.decompressAsync(data) : impl.decompress(data);
}
