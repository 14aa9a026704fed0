/**
 * Answers on an event_stream connection, written so that OpenSIPS's reader
 * never fails. That reader (handle_reply_jsonrpc in event_stream's
 * stream_send.c) reads at most 8,192 bytes at a time, parses the answers in
 * them one after another, drops the connection when a read holds more than
 * five (it counts each answer with bytes after it, and gives up past four),
 * and loses an answer cut across two reads: the first part is parsed from an
 * unterminated buffer.
 *
 * So every answer is exactly ANSWER_BYTES (2,048) bytes, padded with spaces
 * before its closing brace, where JSON allows them: nothing follows the
 * brace, a read of 8,192 bytes holds at most four answers, and as the stream
 * is made of whole answers of that size only, every read ends between two.
 * For that, the kernel must be handed whole answers: up to four go in one
 * write, and the next write waits until the last one was taken whole (and a
 * turn of the event loop), so Node never gathers queued answers into one
 * large write; and no more than ANSWER_BYTES_PER_MS go out each
 * millisecond. TCP keeps no boundaries of its own: a peer that stops reading
 * long enough lets the kernel queue and re-cut what follows
 * (docs/sidecar.md says what that means).
 */
import type { Socket } from "node:net";
import { type Reply, replyText } from "./event-message.js";

export const ANSWER_BYTES = 2048;
/** One write: as many answers as one of OpenSIPS's reads takes. */
export const ANSWERS_PER_WRITE = 4;
/**
 * Answer bytes written per millisecond at most, and at once: a burst (one
 * batch's reports) is spread out so that it does not fill the peer's receive
 * window, which on Linux starts near 64 KiB. A full window is what lets the
 * kernel queue answers and send them cut at its own segment size.
 */
export const ANSWER_BYTES_PER_MS = 32 * 1024;

const SPACE = 0x20;
const CLOSE_BRACE = 0x7d;

/**
 * The answer's compact text, shortened to fit ANSWER_BYTES: an error's
 * message is cut (it says so). Undefined when even that cannot fit (an id of
 * some 2,000 bytes, which OpenSIPS never sends).
 */
export function fittedText(reply: Reply): string | undefined {
  const text = replyText(reply);
  if (Buffer.byteLength(text) <= ANSWER_BYTES) return text;
  const error = reply.error;
  if (error === undefined) return undefined;
  let message = error.message;
  while (message.length > 0) {
    message = message.slice(0, Math.floor(message.length / 2));
    const shorter = replyText({
      id: reply.id,
      error: { code: error.code, message: `${message}...` },
    });
    if (Buffer.byteLength(shorter) <= ANSWER_BYTES) return shorter;
  }
  return undefined;
}

/** Writes `text` (a JSON object) padded to ANSWER_BYTES into `into` at `at`. */
export function writeFixed(text: string, into: Buffer, at: number): void {
  const n = into.write(text, at, "utf8");
  // The closing brace moves to the last byte; spaces fill the gap.
  into.fill(SPACE, at + n - 1, at + ANSWER_BYTES - 1);
  into[at + ANSWER_BYTES - 1] = CLOSE_BRACE;
}

export class AnswerWriter {
  /** Groups of whole answers waiting for their write, in order. */
  private readonly queue: Buffer[] = [];
  private group: Buffer | undefined;
  private inGroup = 0;
  private writing = false;
  private flushScheduled = false;
  private ending = false;
  /** Bytes that may go now (a token bucket: ANSWER_BYTES_PER_MS, at most that at once). */
  private allowance = ANSWER_BYTES_PER_MS;
  private allowanceAt = 0;

  constructor(private readonly socket: Socket) {}

  /** Nothing queued or being written. */
  get idle(): boolean {
    return !this.writing && this.queue.length === 0 && this.inGroup === 0;
  }

  add(reply: Reply): void {
    const text = fittedText(reply);
    if (text === undefined) {
      // Cannot be padded: sent as it is, on its own.
      this.closeGroup();
      this.queue.push(Buffer.from(replyText(reply)));
    } else {
      this.group ??= Buffer.allocUnsafe(ANSWER_BYTES * ANSWERS_PER_WRITE);
      writeFixed(text, this.group, this.inGroup * ANSWER_BYTES);
      if (++this.inGroup === ANSWERS_PER_WRITE) this.closeGroup();
    }
    // Answers made in the same turn (one batch's reports) share writes.
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(this.flush);
  }

  /** Once everything queued is written, ends the connection. */
  endWhenWritten(): void {
    this.ending = true;
    this.flush();
  }

  private closeGroup(): void {
    if (this.inGroup === 0) return;
    this.queue.push(this.group!.subarray(0, this.inGroup * ANSWER_BYTES));
    this.group = undefined;
    this.inGroup = 0;
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    this.closeGroup();
    this.writeNext();
  };

  private writeNext(): void {
    if (this.writing) return;
    const s = this.socket;
    if (s.destroyed || s.writableEnded) {
      this.queue.length = 0;
      return;
    }
    const next = this.queue[0];
    if (next === undefined) {
      if (this.ending) s.end();
      return;
    }
    const now = performance.now();
    this.allowance = Math.min(
      ANSWER_BYTES_PER_MS,
      this.allowance + (now - this.allowanceAt) * ANSWER_BYTES_PER_MS,
    );
    this.allowanceAt = now;
    if (this.allowance < next.length) {
      // The budget is spent: the rest waits until it has grown again.
      this.writing = true;
      setTimeout(this.next, 1);
      return;
    }
    this.queue.shift();
    this.allowance -= next.length;
    this.writing = true;
    s.write(next, this.written);
  }

  private readonly written = (err?: Error | null): void => {
    if (err) {
      this.writing = false;
      return;
    }
    // The next write waits a turn of the event loop, so that a burst of
    // answers is not poured into the kernel faster than the peer reads.
    setImmediate(this.next);
  };

  private readonly next = (): void => {
    this.writing = false;
    this.writeNext();
  };
}
