/**
 * Splits a byte stream (socket data) into Kafka frames: an int32 size, then
 * `size` bytes (the protocol guide, "Common Request and Response Structure").
 *
 * - A frame that lies wholly in one pushed chunk is handed out as a view into
 *   that chunk (no copy). A frame spread over several chunks is copied once, at
 *   its end, into a buffer of exactly its size. Until then the splitter holds
 *   views of the pieces, so memory follows the bytes received, never the size a
 *   prefix claims.
 * - The splitter keeps references to pushed chunks and hands out views of them:
 *   do not reuse a chunk's memory after pushing it.
 * - A negative size (INVALID_LENGTH) or one above `maxFrameBytes` (FRAME_TOO_LARGE)
 *   throws a `ProtocolError` from `push()`. The stream cannot be resynchronised
 *   after that, so the splitter is dead: every later `push()` throws again. An
 *   error thrown by `onFrame` propagates from `push()` and kills the splitter the
 *   same way, as the rest of that chunk was never consumed.
 * - `onFrame` must not call `push()` on the same splitter.
 */
import { ProtocolError } from "./protocol-error.js";

/**
 * 100 MiB: the broker's default `socket.request.max.bytes`, and the order of
 * librdkafka's `receive.message.max.bytes`. A producer's responses are far smaller.
 */
export const DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024;

export interface FrameSplitterOptions {
  /** Largest frame body accepted, in bytes (excluding the 4-byte size). */
  maxFrameBytes?: number;
}

export class FrameSplitter {
  readonly maxFrameBytes: number;
  /** The size prefix when it arrives split over chunks. */
  private readonly head = Buffer.alloc(4);
  private headHave = 0;
  /** Body size of the frame being collected; -1 while reading a size prefix. */
  private size = -1;
  private have = 0;
  private parts: Buffer[] = [];
  /** Bytes pushed before the current chunk, for error offsets. */
  private streamPos = 0;
  private failure: unknown = null;

  constructor(
    private readonly onFrame: (frame: Buffer) => void,
    options: FrameSplitterOptions = {},
  ) {
    const max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < 0 || max > 0x7fff_ffff) {
      throw new RangeError(`maxFrameBytes must be an integer in 0..2^31-1, got ${max}`);
    }
    this.maxFrameBytes = max;
  }

  /** True while part of a frame (its size prefix or body) is held. */
  get pending(): boolean {
    return this.headHave > 0 || this.size >= 0;
  }

  /** Bytes of the incomplete frame held so far, size prefix included. */
  get bufferedBytes(): number {
    return this.size >= 0 ? 4 + this.have : this.headHave;
  }

  /** Feeds socket data; calls `onFrame` for each frame it completes, in order. */
  push(chunk: Buffer): void {
    if (this.failure !== null) throw this.failure;
    const end = chunk.length;
    const base = this.streamPos;
    this.streamPos += end;
    let pos = 0;
    while (pos < end) {
      if (this.size < 0) {
        let size: number;
        if (this.headHave === 0 && end - pos >= 4) {
          size = chunk.readInt32BE(pos);
          pos += 4;
        } else {
          const n = Math.min(4 - this.headHave, end - pos);
          chunk.copy(this.head, this.headHave, pos, pos + n);
          this.headHave += n;
          pos += n;
          if (this.headHave < 4) return;
          this.headHave = 0;
          size = this.head.readInt32BE(0);
        }
        if (size < 0 || size > this.maxFrameBytes) this.refuse(size, base + pos - 4);
        if (end - pos >= size) {
          const frame = chunk.subarray(pos, pos + size);
          pos += size;
          this.emit(frame);
          continue;
        }
        this.size = size;
        this.have = 0;
      }
      const take = Math.min(this.size - this.have, end - pos);
      this.parts.push(take === end ? chunk : chunk.subarray(pos, pos + take));
      this.have += take;
      pos += take;
      if (this.have === this.size) {
        const parts = this.parts;
        const frame = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.size);
        this.parts = [];
        this.size = -1;
        this.have = 0;
        this.emit(frame);
      }
    }
  }

  private emit(frame: Buffer): void {
    try {
      this.onFrame(frame);
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }

  private refuse(size: number, at: number): never {
    const err =
      size < 0
        ? new ProtocolError("INVALID_LENGTH", `negative frame size ${size}`, at)
        : new ProtocolError(
            "FRAME_TOO_LARGE",
            `frame of ${size} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`,
            at,
          );
    this.failure = err;
    this.parts = [];
    throw err;
  }
}
