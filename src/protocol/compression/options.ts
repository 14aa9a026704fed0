/** Options shared by the decompressors. */
export interface DecompressOptions {
  /**
   * Refuse (ProtocolError FRAME_TOO_LARGE) output larger than this many bytes.
   * Default: no limit but the largest Buffer.
   */
  maxOutputSize?: number;
}
