/**
 * The one error type thrown by every decoder in `src/protocol`.
 *
 * Decoders never trust a length or a count read from the wire: a frame that is
 * truncated, lies about a length or carries a malformed varint throws this error
 * (with the byte offset where decoding stopped) instead of crashing or allocating
 * what the bytes claim.
 */
export type ProtocolErrorCode =
  | "TRUNCATED"
  | "INVALID_LENGTH"
  | "INVALID_VARINT"
  | "INVALID_VALUE"
  | "FRAME_TOO_LARGE"
  | "CRC_MISMATCH"
  | "UNSUPPORTED_VERSION"
  | "UNSUPPORTED_COMPRESSION"
  /** Compressed records (gzip, snappy, lz4, zstd) that do not decompress: corrupt or truncated. */
  | "CORRUPT_COMPRESSED_DATA";

export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
    /** Byte offset in the decoded buffer where the problem was found, when known. */
    readonly offset?: number,
  ) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
  }
}
