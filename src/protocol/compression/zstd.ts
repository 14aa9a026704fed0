/**
 * zstd (codec 4, KIP-110) through `node:zlib`, which has it from Node.js
 * 22.15.0 (and 23.8.0 on the 23 line). On an older Node there is no zstd at
 * all, in either direction: `zstdAvailable()` is false and every call throws
 * ProtocolError UNSUPPORTED_COMPRESSION with `ZSTD_UNAVAILABLE_MESSAGE`.
 *
 * Levels: -1 is zstd's default (3), 0 also means the default, 1..22 as zstd.
 */
import zlib from "node:zlib";
import { ProtocolError } from "../protocol-error.js";
import { zlibFailure } from "./gzip.js";
import type { DecompressOptions } from "./options.js";

export const ZSTD_MAX_LEVEL = 22;
/** zstd's own default level (ZSTD_CLEVEL_DEFAULT), what -1 selects. */
export const ZSTD_DEFAULT_LEVEL = 3;

type Callback = (err: Error | null, result: Buffer) => void;
interface ZstdOptions {
  params?: Record<number, number>;
  maxOutputLength?: number;
}
/** The zstd slice of `node:zlib` in Node >= 22.15 (absent from @types/node 20). */
interface ZlibWithZstd {
  zstdCompressSync(data: Uint8Array, options?: ZstdOptions): Buffer;
  zstdCompress(data: Uint8Array, options: ZstdOptions, callback: Callback): void;
  zstdDecompressSync(data: Uint8Array, options?: ZstdOptions): Buffer;
  zstdDecompress(data: Uint8Array, options: ZstdOptions, callback: Callback): void;
  constants: { ZSTD_c_compressionLevel: number };
}

const candidate = zlib as unknown as Partial<ZlibWithZstd>;
const native: ZlibWithZstd | undefined =
  typeof candidate.zstdCompressSync === "function" &&
  typeof candidate.zstdDecompressSync === "function" &&
  typeof candidate.zstdCompress === "function" &&
  typeof candidate.zstdDecompress === "function" &&
  typeof candidate.constants?.ZSTD_c_compressionLevel === "number"
    ? (candidate as ZlibWithZstd)
    : undefined;

export const ZSTD_UNAVAILABLE_MESSAGE =
  "zstd compression needs Node.js 22.15.0 or newer (23.8.0 or newer on the 23.x line), " +
  `whose node:zlib has zstd; this is Node.js ${process.version}`;

/** Whether this Node's `node:zlib` has zstd. */
export function zstdAvailable(): boolean {
  return native !== undefined;
}

function zstd(): ZlibWithZstd {
  if (native === undefined)
    throw new ProtocolError("UNSUPPORTED_COMPRESSION", ZSTD_UNAVAILABLE_MESSAGE);
  return native;
}

export function checkZstdLevel(level: number): void {
  if (!Number.isInteger(level) || level < -1 || level > ZSTD_MAX_LEVEL) {
    throw new RangeError(`zstd compression level must be -1..${ZSTD_MAX_LEVEL}: ${level}`);
  }
}

function compressOptions(z: ZlibWithZstd, level: number): ZstdOptions {
  checkZstdLevel(level);
  const l = level <= 0 ? ZSTD_DEFAULT_LEVEL : level;
  return { params: { [z.constants.ZSTD_c_compressionLevel]: l } };
}

function inflateOptions(o: DecompressOptions): ZstdOptions {
  return o.maxOutputSize === undefined ? {} : { maxOutputLength: o.maxOutputSize };
}

export function zstdCompress(data: Uint8Array, level = -1): Buffer {
  const z = zstd();
  return z.zstdCompressSync(data, compressOptions(z, level));
}

export function zstdCompressAsync(data: Uint8Array, level = -1): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const z = zstd();
    z.zstdCompress(data, compressOptions(z, level), (err, out) =>
      err ? reject(err) : resolve(out),
    );
  });
}

export function zstdDecompress(data: Uint8Array, o: DecompressOptions = {}): Buffer {
  const z = zstd();
  try {
    return z.zstdDecompressSync(data, inflateOptions(o));
  } catch (e) {
    throw zlibFailure("zstd", e);
  }
}

export function zstdDecompressAsync(data: Uint8Array, o: DecompressOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const z = zstd();
    z.zstdDecompress(data, inflateOptions(o), (err, out) =>
      err ? reject(zlibFailure("zstd", err)) : resolve(out),
    );
  });
}
