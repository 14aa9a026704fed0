/**
 * zstd (codec 4, KIP-110) through `node:zlib`, which has it from Node.js
 * 22.15.0 (and 23.8.0 on the 23 line). On an older Node there is no zstd at
 * all, in either direction: `zstdAvailable()` is false and every call throws
 * ProtocolError UNSUPPORTED_COMPRESSION with `ZSTD_UNAVAILABLE_MESSAGE`.
 *
 * Levels: -1 is zstd's default (3), 0 also means the default, 1..22 as zstd.
 *
 * `zstdCompressAsync` runs in zlib's thread pool above ZSTD_SYNC_MAX bytes and
 * in place below, where the hop costs more than the work.
 */

import zlib from "node:zlib";
import { runtimeName } from "../../runtime.js";
import { ProtocolError } from "../protocol-error.js";
import { zlibFailure } from "./gzip.js";
import type { DecompressOptions } from "./options.js";
import { compressInPlaceOrPooled } from "./pool-slots.js";

export const ZSTD_MAX_LEVEL = 22;
/** zstd's own default level (ZSTD_CLEVEL_DEFAULT), what -1 selects. */
export const ZSTD_DEFAULT_LEVEL = 3;

type Callback = (err: Error | null, result: Buffer) => void;
interface ZstdOptions {
  params?: Record<number, number>;
  chunkSize?: number;
  maxOutputLength?: number;
  pledgedSrcSize?: number;
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
  `whose node:zlib has zstd; this is ${runtimeName()}`;

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

/**
 * At least ZSTD_compressBound(n): n + n/256, plus up to 64 bytes below 128 KB.
 * An output buffer this large lets zstd compress the whole input in one pass
 * straight into it; node:zlib's default 16 KB chunks instead send the frame
 * through zstd's internal buffers chunk by chunk (and, async, one thread-pool
 * round trip per chunk), which cost up to twice the CPU of the compression.
 */
export function zstdOutputBound(n: number): number {
  return n + (n >>> 7) + 128;
}

function compressOptions(z: ZlibWithZstd, level: number, size: number): ZstdOptions {
  checkZstdLevel(level);
  const l = level <= 0 ? ZSTD_DEFAULT_LEVEL : level;
  // The size up front puts it in the frame header, as the one-shot call does.
  return {
    params: { [z.constants.ZSTD_c_compressionLevel]: l },
    pledgedSrcSize: size,
    chunkSize: zstdOutputBound(size),
  };
}

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

function truncated(at: number): ProtocolError {
  return new ProtocolError(
    "CORRUPT_COMPRESSED_DATA",
    `zstd: incomplete or malformed frame at byte ${at}`,
  );
}

/**
 * Walks the frames (RFC 8878 section 3.1) to check the input is whole: node's
 * zstd returns what it could decode, even nothing, for a truncated frame
 * instead of failing, which would turn a cut batch into missing records.
 */
export function checkZstdFrames(data: Uint8Array): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  if (data.length === 0) throw truncated(0);
  while (pos < data.length) {
    if (pos + 4 > data.length) throw truncated(pos);
    const magic = view.getUint32(pos, true);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (pos + 8 > data.length) throw truncated(pos);
      pos += 8 + view.getUint32(pos + 4, true);
      if (pos > data.length) throw truncated(pos);
      continue;
    }
    if (magic !== ZSTD_MAGIC || pos + 5 > data.length) throw truncated(pos);
    const descriptor = data[pos + 4]!;
    const fcsFlag = descriptor >> 6;
    const singleSegment = (descriptor >> 5) & 1;
    const checksum = (descriptor >> 2) & 1;
    const dictIdSize = [0, 1, 2, 4][descriptor & 3]!;
    const fcsSize = [singleSegment, 2, 4, 8][fcsFlag]!;
    pos += 5 + (singleSegment ? 0 : 1) + dictIdSize + fcsSize;
    for (;;) {
      if (pos + 3 > data.length) throw truncated(pos);
      const header = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16);
      const last = header & 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw truncated(pos); // reserved block type
      pos += 3 + (type === 1 ? 1 : size); // an RLE block stores one byte
      if (pos > data.length) throw truncated(pos);
      if (last) break;
    }
    pos += checksum ? 4 : 0;
    if (pos > data.length) throw truncated(pos);
  }
}

function inflateOptions(o: DecompressOptions): ZstdOptions {
  return o.maxOutputSize === undefined ? {} : { maxOutputLength: o.maxOutputSize };
}

export function zstdCompress(data: Uint8Array, level = -1): Buffer {
  const z = zstd();
  return z.zstdCompressSync(data, compressOptions(z, level, data.length));
}

/**
 * Inputs up to this size are compressed in place by `zstdCompressAsync`: the
 * thread-pool round trip costs more CPU than they do (on Node 24, 16 KB of
 * event lines took 5 times the CPU async). Above it the pool's thread works
 * while the event loop encodes the next batch: at 256 KB, batches of 100-200 KB
 * were compressed on the loop and 100 B records went out at 0.98 times
 * librdkafka's rate; at 64 KB, 1.19 times, for the same CPU per record.
 */
export const ZSTD_SYNC_MAX = 64 * 1024;

export function zstdCompressAsync(data: Uint8Array, level = -1): Promise<Buffer> {
  return compressInPlaceOrPooled(
    data.length,
    ZSTD_SYNC_MAX,
    () => zstdCompress(data, level),
    (done) => {
      const z = zstd();
      z.zstdCompress(data, compressOptions(z, level, data.length), done);
    },
  );
}

export function zstdDecompress(data: Uint8Array, o: DecompressOptions = {}): Buffer {
  const z = zstd();
  checkZstdFrames(data);
  try {
    return z.zstdDecompressSync(data, inflateOptions(o));
  } catch (e) {
    throw zlibFailure("zstd", e);
  }
}

export function zstdDecompressAsync(data: Uint8Array, o: DecompressOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const z = zstd();
    checkZstdFrames(data);
    z.zstdDecompress(data, inflateOptions(o), (err, out) =>
      err ? reject(zlibFailure("zstd", err)) : resolve(out),
    );
  });
}
