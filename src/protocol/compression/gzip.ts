/**
 * gzip (codec 1) through `node:zlib`. The async variants run in libuv's thread
 * pool, so a large batch does not hold the event loop (the compressor only
 * above GZIP_SYNC_MAX bytes); the sync ones are for small inputs and for
 * `RecordBatchBuilder.finish()`.
 *
 * Levels: -1 is zlib's default (6), 0..9 as zlib. Decompression accepts
 * concatenated gzip members (zlib does) and maps every zlib failure to
 * ProtocolError CORRUPT_COMPRESSED_DATA.
 */

import { promisify } from "node:util";
import zlib from "node:zlib";
import { ProtocolError } from "../protocol-error.js";
import type { DecompressOptions } from "./options.js";
import { compressInPlaceOrPooled } from "./pool-slots.js";

const gunzipAsync = promisify(zlib.gunzip);

export const GZIP_MAX_LEVEL = 9;

function options(level: number): zlib.ZlibOptions {
  if (!Number.isInteger(level) || level < -1 || level > GZIP_MAX_LEVEL) {
    throw new RangeError(`gzip compression level must be -1..${GZIP_MAX_LEVEL}: ${level}`);
  }
  return { level: level === -1 ? zlib.constants.Z_DEFAULT_COMPRESSION : level };
}

function inflateOptions(o: DecompressOptions): zlib.ZlibOptions {
  return o.maxOutputSize === undefined ? {} : { maxOutputLength: o.maxOutputSize };
}

/** zlib's errors as ProtocolError: a size limit is FRAME_TOO_LARGE, the rest corrupt data. */
export function zlibFailure(codec: string, e: unknown): ProtocolError {
  if (e instanceof ProtocolError) return e;
  const err = e as NodeJS.ErrnoException;
  const why = err instanceof Error ? err.message : String(e);
  if (err?.code === "ERR_BUFFER_TOO_LARGE") {
    return new ProtocolError("FRAME_TOO_LARGE", `${codec}: ${why}`);
  }
  return new ProtocolError("CORRUPT_COMPRESSED_DATA", `${codec}: ${why}`);
}

export function gzipCompress(data: Uint8Array, level = -1): Buffer {
  return zlib.gzipSync(data, options(level));
}

/**
 * Inputs up to this size are compressed in place by `gzipCompressAsync`: the
 * thread-pool round trip costs more CPU than they do (16 KB of event lines
 * took 2.5 times the CPU async on Node 24) and they hold the event loop for
 * some 0.3 ms at most (zlib's level 6 does about 100 MB/s).
 */
export const GZIP_SYNC_MAX = 32 * 1024;

export function gzipCompressAsync(data: Uint8Array, level = -1): Promise<Buffer> {
  return compressInPlaceOrPooled(
    data.length,
    GZIP_SYNC_MAX,
    () => zlib.gzipSync(data, options(level)),
    (done) => zlib.gzip(data, options(level), done),
  );
}

export function gzipDecompress(data: Uint8Array, o: DecompressOptions = {}): Buffer {
  try {
    return zlib.gunzipSync(data, inflateOptions(o));
  } catch (e) {
    throw zlibFailure("gzip", e);
  }
}

export async function gzipDecompressAsync(
  data: Uint8Array,
  o: DecompressOptions = {},
): Promise<Buffer> {
  try {
    return await gunzipAsync(data, inflateOptions(o));
  } catch (e) {
    throw zlibFailure("gzip", e);
  }
}
