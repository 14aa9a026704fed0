/**
 * Cuts a TCP byte stream into JSON texts: objects (or arrays) back to back,
 * with or without whitespace between them, split across reads anywhere. It
 * only tracks nesting and strings; the message reader judges each frame.
 * UTF-8 continuation bytes are all >= 0x80, so they never look like a
 * bracket or a quote. A frame over the limit is skipped whole, its first
 * bytes kept to say which one it was: the frames after it are not lost.
 */

/** Why a stream cannot be cut: its framing is lost and the peer must go. */
export type FramingError = "not_object";

/** How much of a skipped frame is kept: enough for an id written first. */
export const SKIPPED_HEAD_BYTES = 256;

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

export class JsonFrameSplitter {
  /** Nesting depth inside the current frame; 0 between frames. */
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Bytes of the current frame held from earlier reads. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private failed: FramingError | undefined;
  /** The current frame is over the limit: its bytes are counted, not kept. */
  private skipping = false;
  private skippedHead: Buffer | undefined;

  constructor(
    /** The largest frame accepted, in bytes. */
    private readonly maxFrameBytes: number,
    /** A frame over the limit: its first bytes and its size, once it has ended. */
    private readonly onSkipped: (head: Buffer, bytes: number) => void = () => {},
  ) {}

  /**
   * Feeds one read. `onFrame` gets each complete frame's bytes, which it
   * owns. Returns the framing error that ends the stream, once seen; frames
   * before it in the read were delivered.
   */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): FramingError | undefined {
    if (this.failed !== undefined) return this.failed;
    const max = this.maxFrameBytes;
    let start = this.depth > 0 ? 0 : -1;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const b = chunk[i]!;
      if (this.depth === 0) {
        if (isSpace(b)) continue;
        if (b !== OPEN_BRACE && b !== OPEN_BRACKET) return this.fail("not_object");
        start = i;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.inString = false;
        continue;
      }
      if (b === QUOTE) this.inString = true;
      else if (b === OPEN_BRACE || b === OPEN_BRACKET) this.depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        if (--this.depth > 0) continue;
        if (this.skipping || this.heldBytes + i + 1 - start > max) {
          this.skipped(chunk.subarray(start, i + 1));
          start = -1;
          continue;
        }
        if (this.heldBytes === 0) onFrame(chunk.subarray(start, i + 1));
        else {
          this.held.push(chunk.subarray(0, i + 1));
          const frame = Buffer.concat(this.held, this.heldBytes + i + 1);
          this.held = [];
          this.heldBytes = 0;
          onFrame(frame);
        }
        start = -1;
      }
    }
    if (this.depth > 0) {
      const rest = n - start;
      if (this.skipping || this.heldBytes + rest > max) {
        this.startSkipping(chunk.subarray(start));
      } else {
        // A copy: the read's buffer is not kept alive for a few bytes of it.
        this.held.push(Buffer.from(chunk.subarray(start)));
        this.heldBytes += rest;
      }
    }
    return undefined;
  }

  /** The frame is over the limit: from now on only its size and head are kept. */
  private startSkipping(tail: Buffer): void {
    if (!this.skipping) {
      this.skipping = true;
      const bytes = Math.min(SKIPPED_HEAD_BYTES, this.heldBytes + tail.length);
      this.skippedHead = Buffer.concat([...this.held, tail], bytes);
    } else if (this.skippedHead!.length < SKIPPED_HEAD_BYTES) {
      const head = this.skippedHead!;
      const bytes = Math.min(SKIPPED_HEAD_BYTES, head.length + tail.length);
      this.skippedHead = Buffer.concat([head, tail], bytes);
    }
    this.heldBytes += tail.length;
    this.held = [];
  }

  /** The end of a frame over the limit (its last piece is `tail`). */
  private skipped(tail: Buffer): void {
    this.startSkipping(tail);
    const head = this.skippedHead!;
    const bytes = this.heldBytes;
    this.skipping = false;
    this.skippedHead = undefined;
    this.heldBytes = 0;
    this.onSkipped(head, bytes);
  }

  /** Bytes of an unfinished frame held now. */
  get pendingBytes(): number {
    return this.heldBytes;
  }

  private fail(reason: FramingError): FramingError {
    this.failed = reason;
    this.held = [];
    this.heldBytes = 0;
    return reason;
  }
}
