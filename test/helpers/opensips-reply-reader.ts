/**
 * OpenSIPS's reader of JSON-RPC answers, as event_stream has it in reliable
 * mode (modules/event_stream/stream_send.c, handle_reply_jsonrpc, with the
 * cJSON parser of lib/cJSON.c), modelled step by step so that a test fails
 * wherever the real one would lose an answer or drop the connection:
 *
 * - each read() takes at most 8,192 bytes (STREAM_BUFFER_SIZE) into a stack
 *   buffer that is not NUL-terminated;
 * - answers are parsed one after another with cJSON_ParseWithOpts, which
 *   stops right after a value's closing brace;
 * - every answer that leaves bytes after it counts one "pending read", and
 *   the connection is dropped once the count passes 4
 *   (STREAM_MAX_PENDING_READS); the count is reset only when an answer ends
 *   exactly at the end of what is buffered;
 * - leftover bytes go to a heap buffer: copied (malloc, no terminator) the
 *   first time, moved to its front (memmove) after that; the next read is
 *   appended to it (realloc, NUL-terminated);
 * - an answer must carry a numeric "id" (first match, any case) or the
 *   connection is dropped; one with an "error" member fails its command.
 *
 * What the C code would do with bytes beyond what it read or buffered
 * (stale stack or heap bytes: undefined behaviour) counts as a failure here.
 */

export const STREAM_BUFFER_SIZE = 8192;
const STREAM_MAX_PENDING_READS = 4;

/** A parse touched memory past the valid bytes. */
class PastTheData extends Error {}

interface Memory {
  bytes: Buffer;
  /** Bytes [0, valid) are what was read or buffered. */
  valid: number;
  /** A NUL sits at `valid` (a realloc'd pending buffer). */
  terminated: boolean;
}

type JsonValue = number | string | boolean | null | JsonValue[] | [string, JsonValue][];

interface Parsed {
  value: JsonValue | undefined;
  /** cJSON's return_parse_end: after the value, or where the error was (null: not set). */
  end: number | null;
}

/** cJSON's parser (lib/cJSON.c) over one memory, reading byte by byte as it does. */
class CJsonParser {
  private ep: number | null = null;

  constructor(private readonly mem: Memory) {}

  private at(i: number): number {
    const m = this.mem;
    if (i < m.valid) return m.bytes[i]!;
    if (i === m.valid && m.terminated) return 0;
    throw new PastTheData();
  }

  /** cJSON_ParseWithOpts(value, &end, 0). */
  parse(start: number): Parsed {
    this.ep = null;
    const end = this.value(this.skip(start));
    if (end === null) return { value: undefined, end: this.ep };
    return { value: this.last, end };
  }

  private last: JsonValue | undefined;

  private skip(i: number): number {
    for (;;) {
      const b = this.at(i);
      if (b === 0 || b > 32) return i;
      i++;
    }
  }

  private literal(i: number, word: string): boolean {
    // strncmp: stops at the first difference (a NUL differs too).
    for (let k = 0; k < word.length; k++) if (this.at(i + k) !== word.charCodeAt(k)) return false;
    return true;
  }

  private value(i: number): number | null {
    if (this.literal(i, "null")) {
      this.last = null;
      return i + 4;
    }
    if (this.literal(i, "false")) {
      this.last = false;
      return i + 5;
    }
    if (this.literal(i, "true")) {
      this.last = true;
      return i + 4;
    }
    const b = this.at(i);
    if (b === 0x22) return this.string(i);
    if (b === 0x2d || (b >= 0x30 && b <= 0x39)) return this.number(i);
    if (b === 0x5b) return this.array(i);
    if (b === 0x7b) return this.object(i);
    this.ep = i;
    return null;
  }

  private string(i: number): number | null {
    let j = i + 1;
    const out: number[] = [];
    for (;;) {
      const b = this.at(j);
      if (b === 0x22) break;
      if (b === 0) return null; // ep not set: cJSON's "goto fail"
      if (b === 0x5c) {
        const e = this.at(j + 1);
        if (e === 0) return null;
        out.push(e);
        j += 2;
        continue;
      }
      out.push(b);
      j++;
    }
    this.last = Buffer.from(out).toString("latin1");
    return j + 1;
  }

  /** strtod: sign, digits, fraction, exponent; reads the byte after to know it ended. */
  private number(i: number): number | null {
    let j = i;
    let text = "";
    const take = () => {
      text += String.fromCharCode(this.at(j));
      j++;
    };
    const digit = () => {
      const b = this.at(j);
      return b >= 0x30 && b <= 0x39;
    };
    if (this.at(j) === 0x2d) take();
    if (!digit()) return null;
    while (digit()) take();
    if (this.at(j) === 0x2e) {
      take();
      while (digit()) take();
    }
    const e = this.at(j);
    if (e === 0x65 || e === 0x45) {
      take();
      if (this.at(j) === 0x2b || this.at(j) === 0x2d) take();
      while (digit()) take();
    }
    this.last = Number(text);
    return j;
  }

  private array(i: number): number | null {
    const items: JsonValue[] = [];
    let j = this.skip(i + 1);
    if (this.at(j) === 0x5d) {
      this.last = items;
      return j + 1;
    }
    let next = this.value(this.skip(j));
    if (next === null) return null;
    items.push(this.last!);
    j = this.skip(next);
    while (this.at(j) === 0x2c) {
      next = this.value(this.skip(j + 1));
      if (next === null) return null;
      items.push(this.last!);
      j = this.skip(next);
    }
    if (this.at(j) === 0x5d) {
      this.last = items;
      return j + 1;
    }
    this.ep = j;
    return null;
  }

  private object(i: number): number | null {
    const members: [string, JsonValue][] = [];
    let j = this.skip(i + 1);
    if (this.at(j) === 0x7d) {
      this.last = members;
      return j + 1;
    }
    for (;;) {
      const k = this.skip(j);
      if (this.at(k) !== 0x22) {
        this.ep = k;
        return null;
      }
      const afterKey = this.string(k);
      if (afterKey === null) return null;
      const key = this.last as string;
      j = this.skip(afterKey);
      if (this.at(j) !== 0x3a) {
        this.ep = j;
        return null;
      }
      const afterValue = this.value(this.skip(j + 1));
      if (afterValue === null) return null;
      members.push([key, this.last!]);
      j = this.skip(afterValue);
      if (this.at(j) === 0x2c) {
        j++;
        continue;
      }
      if (this.at(j) === 0x7d) {
        this.last = members;
        return j + 1;
      }
      this.ep = j;
      return null;
    }
  }
}

/** cJSON_GetObjectItem: the first member whose name matches, ignoring case. */
function member(obj: JsonValue | undefined, name: string): JsonValue | undefined {
  if (!Array.isArray(obj)) return undefined;
  for (const m of obj) {
    if (Array.isArray(m) && typeof m[0] === "string" && m[0].toLowerCase() === name) {
      return m[1] as JsonValue;
    }
  }
  return undefined;
}

export class OpenSipsReplyReader {
  /** Why the connection was dropped (or an answer lost); undefined while all is well. */
  failure: string | undefined;
  /** Answers handled, in order: the id and whether it was an error. */
  readonly handled: { id: number; error: boolean }[] = [];
  /** The largest number of answers one read held. */
  mostInOneRead = 0;
  reads = 0;
  private pending: Buffer | undefined;
  private pendingLen = 0;
  private pendingReads = 0;

  /** One read() of at most STREAM_BUFFER_SIZE bytes. */
  read(data: Buffer): void {
    if (this.failure !== undefined) return;
    if (data.length === 0 || data.length > STREAM_BUFFER_SIZE) {
      throw new Error(`a read() returns 1 to ${STREAM_BUFFER_SIZE} bytes, not ${data.length}`);
    }
    this.reads++;
    try {
      this.handle(data);
    } catch (err) {
      if (!(err instanceof PastTheData)) throw err;
      this.failure =
        "a parse ran past the bytes read (an answer cut across reads, or bytes after the last answer)";
    }
  }

  /** Feeds what arrived, as the reads OpenSIPS would make of it. */
  feed(chunk: Buffer): void {
    for (let at = 0; at < chunk.length; at += STREAM_BUFFER_SIZE) {
      this.read(chunk.subarray(at, Math.min(chunk.length, at + STREAM_BUFFER_SIZE)));
    }
  }

  private handle(data: Buffer): void {
    let mem: Memory;
    if (this.pendingLen > 0) {
      // realloc: what was left, then this read, NUL-terminated.
      const merged = Buffer.concat([this.pending!.subarray(0, this.pendingLen), data]);
      this.pending = merged;
      this.pendingLen = merged.length;
      mem = { bytes: merged, valid: merged.length, terminated: true };
    } else {
      // The stack buffer: exactly what was read, no terminator after it.
      mem = { bytes: data, valid: data.length, terminated: false };
    }
    let onPending = this.pendingLen > 0;
    let s = 0;
    let len = mem.valid;
    let inThisRead = 0;
    let reply: JsonValue | undefined;
    do {
      const parsed = new CJsonParser(mem).parse(s);
      reply = parsed.value;
      if (reply === undefined && (parsed.end === null || parsed.end === s)) {
        this.failure = "cannot parse reply";
        return;
      }
      if (reply !== undefined) {
        inThisRead++;
        this.mostInOneRead = Math.max(this.mostInOneRead, inThisRead);
        const id = member(reply, "id");
        if (typeof id !== "number") {
          this.failure = "reply does not have an integer ID";
          return;
        }
        this.handled.push({ id: Math.trunc(id), error: member(reply, "error") !== undefined });
      }
      const consumed = parsed.end! - s;
      len -= consumed;
      s += consumed;
      if (len > 0) {
        if (this.pending !== undefined) {
          this.pendingReads++;
          if (this.pendingReads > STREAM_MAX_PENDING_READS) {
            this.failure = `too many reads retries: ${this.pendingReads} (${inThisRead} answers in one read)`;
            return;
          }
          if (!(onPending && s === 0)) {
            // memmove to the front of the heap buffer; no terminator after.
            const rest = Buffer.from(mem.bytes.subarray(s, s + len));
            rest.copy(this.pending, 0);
            this.pendingLen = len;
            mem = { bytes: this.pending, valid: len, terminated: false };
            onPending = true;
            s = 0;
          }
        } else {
          // malloc(len) and copy; parsing goes on in the stack buffer.
          this.pending = Buffer.from(mem.bytes.subarray(s, s + len));
          this.pendingLen = len;
          this.pendingReads++;
        }
      } else if (this.pendingLen > 0) {
        this.pending = undefined;
        this.pendingLen = 0;
        this.pendingReads = 0;
      }
    } while (reply !== undefined && len !== 0);
  }
}
