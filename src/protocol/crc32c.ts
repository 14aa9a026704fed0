/**
 * CRC-32C (Castagnoli, polynomial 0x1EDC6F41), the checksum of a v2 record
 * batch (KIP-98). The table-driven implementation is the `crc-32` package's.
 */
import CRC32C from "crc-32/crc32c.js";

/**
 * CRC-32C of `buf[start..end)` as an unsigned 32-bit number. The range is read
 * through a view, never copied.
 */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  if (start < 0 || end > buf.length || start > end) {
    throw new RangeError(`crc32c range ${start}..${end} outside a buffer of ${buf.length}`);
  }
  const data = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
  // The package returns the CRC as a signed int32.
  return CRC32C.buf(data, 0) >>> 0;
}
