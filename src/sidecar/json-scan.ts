/**
 * Validates one JSON-RPC message in its received bytes and notes where the
 * parts the sidecar needs sit: the `id`, `method` and `params` members, and
 * chosen members of `params` (the key and event-name parameters). Nothing is
 * decoded or copied, so a record value can be the very bytes received: raw
 * bytes >= 0x80 (a Latin-1 byte from OpenSIPS) and repeated names survive.
 * The grammar is RFC 8259's, except that string bytes >= 0x80 are taken as
 * they are, whether or not they are valid UTF-8.
 */

/** What a value is, by its first byte. */
export enum JsonKind {
  None = 0,
  Object = 1,
  Array = 2,
  String = 3,
  Number = 4,
  True = 5,
  False = 6,
  Null = 7,
}

/** A value's bytes: [start, end) of the frame; kind None when absent. */
export class Span {
  start = 0;
  end = 0;
  kind: JsonKind = JsonKind.None;

  set(start: number, end: number, kind: JsonKind): void {
    this.start = start;
    this.end = end;
    this.kind = kind;
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** Deeper nesting is refused: the scanner recurses once per level. */
export const MAX_DEPTH = 512;

class ScanError extends Error {}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function isHex(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
}

function isDigit(b: number): boolean {
  return b >= ZERO && b <= NINE;
}

/** Byte-wise equality of buf[start, end) with `name`. */
function sameBytes(buf: Buffer, start: number, end: number, name: Buffer): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (buf[start + i] !== name[i]) return false;
  return true;
}

const ID = Buffer.from("id");
const METHOD = Buffer.from("method");
const PARAMS = Buffer.from("params");

/**
 * One scanner per listener, reused for every message: after scan(), its
 * spans describe the last message scanned.
 */
export class MessageScanner {
  /** The `id` value (the last one, when repeated, as JSON.parse keeps it). */
  readonly id = new Span();
  /** The bytes to cut so that the message has no `id` member: [cutStart, cutEnd). */
  cutStart = -1;
  cutEnd = -1;
  /** How many `id` members there were: the cut covers the last one only. */
  idCount = 0;
  /** The object itself, without the whitespace around it. */
  objectStart = 0;
  objectEnd = 0;
  readonly method = new Span();
  readonly params = new Span();
  /** The first element of positional params. */
  readonly firstParam = new Span();
  /** Per name given to the constructor: that member of named params (the last when repeated). */
  readonly named: Span[];
  private readonly names: Buffer[];
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private end = 0;
  private depth = 0;

  constructor(paramNames: readonly string[]) {
    this.names = paramNames.map((n) => Buffer.from(n));
    this.named = paramNames.map(() => new Span());
  }

  /**
   * Scans buf[start, end). Returns undefined when it is one valid JSON
   * object (whitespace around allowed), else what is wrong.
   */
  scan(buf: Buffer, start = 0, end = buf.length): string | undefined {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.depth = 0;
    this.id.kind = JsonKind.None;
    this.method.kind = JsonKind.None;
    this.params.kind = JsonKind.None;
    this.firstParam.kind = JsonKind.None;
    for (const s of this.named) s.kind = JsonKind.None;
    this.cutStart = -1;
    this.cutEnd = -1;
    this.idCount = 0;
    try {
      this.skipSpace();
      if (this.pos >= end || buf[this.pos] !== OPEN_BRACE) {
        return this.pos >= end ? "no JSON text" : "not a JSON object";
      }
      this.objectStart = this.pos;
      this.topObject();
      this.objectEnd = this.pos;
      this.skipSpace();
      if (this.pos < end) throw this.fail("text after the object");
      return undefined;
    } catch (err) {
      if (err instanceof ScanError) return err.message;
      throw err;
    }
  }

  private fail(what: string): ScanError {
    const at = this.pos < this.end ? `at byte ${this.pos}` : "at the end";
    return new ScanError(`${what} ${at}`);
  }

  private skipSpace(): void {
    const buf = this.buf;
    while (this.pos < this.end && isSpace(buf[this.pos]!)) this.pos++;
  }

  private expect(b: number, what: string): void {
    this.skipSpace();
    if (this.pos >= this.end || this.buf[this.pos] !== b) throw this.fail(`expected ${what}`);
    this.pos++;
  }

  /** The message object: notes id, method and params, and where the id member can be cut. */
  private topObject(): void {
    const buf = this.buf;
    this.pos++;
    this.skipSpace();
    if (this.pos < this.end && buf[this.pos] === CLOSE_BRACE) {
      this.pos++;
      return;
    }
    /** End of the previous member's value (-1 before the first member). */
    let previousEnd = -1;
    /** Of the last id member: its key's start, its value's end, the end of the member before. */
    let idKeyStart = -1;
    let idValueEnd = -1;
    let beforeIdEnd = -1;
    /** The start of the key after the last id member (-1: none yet). */
    let afterIdStart = -1;
    for (;;) {
      this.skipSpace();
      const keyStart = this.pos;
      if (idKeyStart >= 0 && afterIdStart < 0) afterIdStart = keyStart;
      this.string();
      const keyEnd = this.pos;
      this.expect(COLON, '":"');
      this.skipSpace();
      const valueStart = this.pos;
      const key = this.keySpan(keyStart, keyEnd);
      this.scanningParams = key === PARAMS;
      const kind = this.value();
      this.scanningParams = false;
      const valueEnd = this.pos;
      if (key === ID) {
        this.id.set(valueStart, valueEnd, kind);
        this.idCount++;
        idKeyStart = keyStart;
        idValueEnd = valueEnd;
        beforeIdEnd = previousEnd;
        afterIdStart = -1;
      } else if (key === METHOD) this.method.set(valueStart, valueEnd, kind);
      else if (key === PARAMS) this.params.set(valueStart, valueEnd, kind);
      previousEnd = valueEnd;
      this.skipSpace();
      if (this.pos >= this.end) throw this.fail('expected "," or "}"');
      const b = buf[this.pos];
      if (b === COMMA) {
        this.pos++;
        continue;
      }
      if (b !== CLOSE_BRACE) throw this.fail('expected "," or "}"');
      this.pos++;
      break;
    }
    if (idKeyStart < 0) return;
    if (afterIdStart >= 0) {
      // The member, the comma after it and the space before the next key.
      this.cutStart = idKeyStart;
      this.cutEnd = afterIdStart;
    } else {
      // The last member: from the end of the one before, its comma included.
      this.cutStart = beforeIdEnd >= 0 ? beforeIdEnd : idKeyStart;
      this.cutEnd = idValueEnd;
    }
  }

  /** Set while the top object's params value is being scanned. */
  private scanningParams = false;

  /** ID, METHOD, PARAMS when the key (its bytes with the quotes) is one of those, else undefined. */
  private keySpan(start: number, end: number): Buffer | undefined {
    const buf = this.buf;
    if (sameBytes(buf, start + 1, end - 1, ID)) return ID;
    if (sameBytes(buf, start + 1, end - 1, METHOD)) return METHOD;
    if (sameBytes(buf, start + 1, end - 1, PARAMS)) return PARAMS;
    return undefined;
  }

  /** Any value at the current position; returns its kind. */
  private value(): JsonKind {
    if (this.pos >= this.end) throw this.fail("expected a value");
    const b = this.buf[this.pos]!;
    if (b === QUOTE) {
      this.string();
      return JsonKind.String;
    }
    if (b === OPEN_BRACE) {
      this.nested(() => this.object());
      return JsonKind.Object;
    }
    if (b === OPEN_BRACKET) {
      this.nested(() => this.array());
      return JsonKind.Array;
    }
    if (b === MINUS || isDigit(b)) {
      this.number();
      return JsonKind.Number;
    }
    if (this.literal("true")) return JsonKind.True;
    if (this.literal("false")) return JsonKind.False;
    if (this.literal("null")) return JsonKind.Null;
    throw this.fail("expected a value");
  }

  private nested(parse: () => void): void {
    if (++this.depth > MAX_DEPTH) throw this.fail(`nested deeper than ${MAX_DEPTH}`);
    parse();
    this.depth--;
  }

  private literal(word: string): boolean {
    if (this.pos + word.length > this.end) return false;
    for (let i = 0; i < word.length; i++) {
      if (this.buf[this.pos + i] !== word.charCodeAt(i)) return false;
    }
    this.pos += word.length;
    return true;
  }

  /** An object below the top: params (depth 1) notes the chosen members. */
  private object(): void {
    const buf = this.buf;
    const isParams = this.depth === 1 && this.scanningParams;
    this.pos++;
    this.skipSpace();
    if (this.pos < this.end && buf[this.pos] === CLOSE_BRACE) {
      this.pos++;
      return;
    }
    for (;;) {
      this.skipSpace();
      const keyStart = this.pos;
      this.string();
      const keyEnd = this.pos;
      this.expect(COLON, '":"');
      this.skipSpace();
      const valueStart = this.pos;
      const kind = this.value();
      if (isParams) this.noteParam(keyStart + 1, keyEnd - 1, valueStart, this.pos, kind);
      this.skipSpace();
      if (this.pos >= this.end) throw this.fail('expected "," or "}"');
      const b = buf[this.pos];
      this.pos++;
      if (b === COMMA) continue;
      if (b === CLOSE_BRACE) return;
      this.pos--;
      throw this.fail('expected "," or "}"');
    }
  }

  private noteParam(keyStart: number, keyEnd: number, start: number, end: number, kind: JsonKind) {
    const names = this.names;
    for (let i = 0; i < names.length; i++) {
      if (sameBytes(this.buf, keyStart, keyEnd, names[i]!)) this.named[i]!.set(start, end, kind);
    }
  }

  private array(): void {
    const buf = this.buf;
    const isParams = this.depth === 1 && this.scanningParams;
    this.pos++;
    this.skipSpace();
    if (this.pos < this.end && buf[this.pos] === CLOSE_BRACKET) {
      this.pos++;
      return;
    }
    let first = true;
    for (;;) {
      this.skipSpace();
      const start = this.pos;
      const kind = this.value();
      if (first && isParams) this.firstParam.set(start, this.pos, kind);
      first = false;
      this.skipSpace();
      if (this.pos >= this.end) throw this.fail('expected "," or "]"');
      const b = buf[this.pos];
      this.pos++;
      if (b === COMMA) continue;
      if (b === CLOSE_BRACKET) return;
      this.pos--;
      throw this.fail('expected "," or "]"');
    }
  }

  /** A string at the current position (the quote), escapes checked. */
  private string(): void {
    const buf = this.buf;
    const end = this.end;
    if (this.pos >= end || buf[this.pos] !== QUOTE) throw this.fail("expected a string");
    let i = this.pos + 1;
    for (;;) {
      if (i >= end) {
        this.pos = i;
        throw this.fail("unterminated string");
      }
      const b = buf[i]!;
      if (b === QUOTE) break;
      if (b < 0x20) {
        this.pos = i;
        throw this.fail("control character in a string");
      }
      if (b === BACKSLASH) {
        const e = buf[i + 1];
        if (
          e === QUOTE ||
          e === BACKSLASH ||
          e === 0x2f ||
          e === 0x62 ||
          e === 0x66 ||
          e === 0x6e ||
          e === 0x72 ||
          e === 0x74
        ) {
          i += 2;
          continue;
        }
        if (
          e === 0x75 &&
          i + 5 < end &&
          isHex(buf[i + 2]!) &&
          isHex(buf[i + 3]!) &&
          isHex(buf[i + 4]!) &&
          isHex(buf[i + 5]!)
        ) {
          i += 6;
          continue;
        }
        this.pos = i;
        throw this.fail("bad escape in a string");
      }
      i++;
    }
    this.pos = i + 1;
  }

  private number(): void {
    const buf = this.buf;
    const end = this.end;
    let i = this.pos;
    if (buf[i] === MINUS) i++;
    if (i < end && buf[i] === ZERO) i++;
    else if (i < end && isDigit(buf[i]!)) while (i < end && isDigit(buf[i]!)) i++;
    else {
      this.pos = i;
      throw this.fail("bad number");
    }
    if (i < end && buf[i] === 0x2e) {
      i++;
      if (!(i < end && isDigit(buf[i]!))) {
        this.pos = i;
        throw this.fail("bad number");
      }
      while (i < end && isDigit(buf[i]!)) i++;
    }
    if (i < end && (buf[i] === 0x65 || buf[i] === 0x45)) {
      i++;
      if (i < end && (buf[i] === 0x2b || buf[i] === MINUS)) i++;
      if (!(i < end && isDigit(buf[i]!))) {
        this.pos = i;
        throw this.fail("bad number");
      }
      while (i < end && isDigit(buf[i]!)) i++;
    }
    this.pos = i;
  }
}
