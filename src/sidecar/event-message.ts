/**
 * One received JSON-RPC message as an event: its name, its id (a request,
 * answered after the Kafka ack), its record value and keys. The value is the
 * received bytes without the `id` member: OpenSIPS builds the same JSON for
 * event_stream and event_datagram as for event_kafka, so this is the
 * original module's record, byte for byte. And the JSON-RPC answers.
 */
import { JsonKind, MessageScanner, type Span } from "./json-scan.js";

/** What made a message bad input (a metric label and a log line's cause). */
export type BadInputReason =
  | "malformed_json"
  | "not_object"
  | "bad_id"
  | "no_method"
  | "bad_params"
  | "too_large";

/** JSON-RPC error codes (JSON-RPC 2.0, section 5.1); SERVER_ERROR is ours for delivery failures. */
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const SERVER_ERROR = -32000;

export interface EventMessage {
  readonly kind: "event";
  /** The event name: the method, or the event_param parameter when it is set and present. */
  readonly name: string;
  /** The request id as received (JSON text); undefined for a notification (no id, or id null). */
  readonly id: string | undefined;
  /** The record value: the message's bytes without its id member. */
  readonly value: Buffer;
  /** Per key parameter of the reader (keyIndex()), its value as key bytes, or null. */
  readonly keys: readonly (Buffer | null)[];
}

export interface BadMessage {
  readonly kind: "bad";
  readonly reason: BadInputReason;
  /** Says what is wrong, for the log and the JSON-RPC error. */
  readonly message: string;
  /** The request id as JSON text, when one could be read. */
  readonly id: string | undefined;
}

function bad(reason: BadInputReason, message: string, id?: string): BadMessage {
  return { kind: "bad", reason, message, id };
}

const NO_KEYS: readonly (Buffer | null)[] = [];

function hasBackslash(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] === 0x5c) return true;
  return false;
}

/**
 * A JSON string token's bytes, escapes decoded (\uXXXX as UTF-8) and every
 * other byte kept as it is: a raw Latin-1 byte stays one byte.
 */
export function stringBytes(buf: Buffer, start: number, end: number): Buffer {
  if (!hasBackslash(buf, start + 1, end - 1)) return buf.subarray(start + 1, end - 1);
  const out = Buffer.allocUnsafe(end - start);
  let n = 0;
  for (let i = start + 1; i < end - 1; i++) {
    const b = buf[i]!;
    if (b !== 0x5c) {
      out[n++] = b;
      continue;
    }
    const e = buf[++i]!;
    if (e !== 0x75) {
      out[n++] = ESCAPED[e] ?? e;
      continue;
    }
    let code = Number.parseInt(buf.toString("latin1", i + 1, i + 5), 16);
    i += 4;
    const low =
      code >= 0xd800 && code < 0xdc00 && buf[i + 1] === 0x5c && buf[i + 2] === 0x75
        ? Number.parseInt(buf.toString("latin1", i + 3, i + 7), 16)
        : -1;
    if (low >= 0xdc00 && low < 0xe000) {
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
      i += 6;
    }
    n += out.write(String.fromCodePoint(code), n, "utf8");
  }
  return out.subarray(0, n);
}

const ESCAPED: Record<number, number> = {
  98: 0x08,
  102: 0x0c,
  110: 0x0a,
  114: 0x0d,
  116: 0x09,
};

/** A key from a parameter's value: a string's bytes, a number as written; null otherwise. */
function keyBytes(buf: Buffer, span: Span, shift: number, shiftBelow: number): Buffer | null {
  const start = span.start < shiftBelow ? span.start + shift : span.start;
  const end = start + span.end - span.start;
  if (span.kind === JsonKind.String) return stringBytes(buf, start, end);
  if (span.kind === JsonKind.Number) return buf.subarray(start, end);
  return null;
}

/**
 * Reads messages into events, for one set of routes: `keyParams` are the
 * parameters their keys come from, `eventParam` is event_stream's
 * event_param (the parameter that carries the event name, the first one
 * when the parameters are positional).
 */
export class EventReader {
  private readonly scanner: MessageScanner;
  private readonly keyCount: number;
  private readonly eventParamIndex: number;

  constructor(
    readonly keyParams: readonly string[],
    readonly eventParam?: string,
  ) {
    const names = [...keyParams];
    this.keyCount = names.length;
    this.eventParamIndex = eventParam === undefined ? -1 : names.push(eventParam) - 1;
    this.scanner = new MessageScanner(names);
  }

  /** The index in EventMessage.keys of a parameter given to the constructor. */
  keyIndex(param: string): number {
    return this.keyParams.indexOf(param);
  }

  /**
   * Reads one message from `frame`, which it may rewrite in place (the value
   * is a view of it): the caller hands it over.
   */
  read(frame: Buffer): EventMessage | BadMessage {
    const sc = this.scanner;
    const failure = sc.scan(frame);
    if (failure !== undefined) {
      return failure === "not a JSON object"
        ? bad("not_object", "a message must be a JSON-RPC object")
        : bad("malformed_json", `malformed JSON: ${failure}`);
    }
    let id: string | undefined;
    const idKind = sc.id.kind;
    if (idKind === JsonKind.Number) id = frame.toString("latin1", sc.id.start, sc.id.end);
    else if (idKind === JsonKind.String) id = frame.toString("utf8", sc.id.start, sc.id.end);
    else if (idKind !== JsonKind.None && idKind !== JsonKind.Null) {
      return bad("bad_id", "the id must be a number, a string or null");
    }
    if (sc.idCount > 1) return bad("bad_id", "the id is given more than once", id);
    if (sc.method.kind !== JsonKind.String) {
      const what = sc.method.kind === JsonKind.None ? "no method" : "the method must be a string";
      return bad("no_method", what, id);
    }
    if (sc.method.end - sc.method.start === 2) {
      return bad("no_method", "the method must be a non-empty string", id);
    }
    const pk = sc.params.kind;
    if (
      pk !== JsonKind.None &&
      pk !== JsonKind.Null &&
      pk !== JsonKind.Object &&
      pk !== JsonKind.Array
    ) {
      return bad("bad_params", "params must be an object or an array", id);
    }
    // The event name: event_param's value when it is a non-empty string.
    let nameSpan: Span = sc.method;
    if (this.eventParamIndex >= 0) {
      const carried = pk === JsonKind.Array ? sc.firstParam : sc.named[this.eventParamIndex]!;
      if (carried.kind === JsonKind.String && carried.end - carried.start > 2) nameSpan = carried;
    }
    const name = stringBytes(frame, nameSpan.start, nameSpan.end).toString("utf8");
    if (nameSpan !== sc.method) return this.rebuilt(frame, name, nameSpan, id);
    // The common case: cut the id member in place, by moving the bytes before it.
    let start = sc.objectStart;
    const cut = sc.cutEnd - sc.cutStart;
    if (sc.idCount === 1) {
      frame.copyWithin(start + cut, start, sc.cutStart);
      start += cut;
    }
    const value = frame.subarray(start, sc.objectEnd);
    return { kind: "event", name, id, value, keys: this.keysOf(frame, cut, sc.cutStart) };
  }

  private keysOf(frame: Buffer, shift: number, shiftBelow: number): readonly (Buffer | null)[] {
    if (this.keyCount === 0) return NO_KEYS;
    const named = this.scanner.named;
    const keys: (Buffer | null)[] = [];
    for (let i = 0; i < this.keyCount; i++) {
      const span = named[i]!;
      keys.push(span.kind === JsonKind.None ? null : keyBytes(frame, span, shift, shiftBelow));
    }
    return keys;
  }

  /**
   * event_param named the event: the value's method becomes that parameter's
   * string, as the original module would have written it. A new buffer.
   */
  private rebuilt(
    frame: Buffer,
    name: string,
    nameSpan: Span,
    id: string | undefined,
  ): EventMessage {
    const sc = this.scanner;
    const keys = this.keysOf(frame, 0, 0);
    const token = frame.subarray(nameSpan.start, nameSpan.end);
    const edits: [number, number, Buffer][] = [[sc.method.start, sc.method.end, token]];
    if (sc.idCount === 1) edits.push([sc.cutStart, sc.cutEnd, EMPTY]);
    edits.sort((a, b) => a[0] - b[0]);
    const parts: Buffer[] = [];
    let at = sc.objectStart;
    for (const [s, e, r] of edits) {
      parts.push(frame.subarray(at, s), r);
      at = e;
    }
    parts.push(frame.subarray(at, sc.objectEnd));
    return { kind: "event", name, id, value: Buffer.concat(parts), keys };
  }
}

const EMPTY = Buffer.alloc(0);

/** An answer to a request: "ok", or an error with its code and message. */
export interface Reply {
  /** The request's id as received (JSON text). */
  readonly id: string;
  readonly error?: { readonly code: number; readonly message: string };
}

export function okReply(id: string): Reply {
  return { id };
}

export function errorReply(id: string, code: number, message: string): Reply {
  return { id, error: { code, message } };
}

/** The answer's JSON text, compact: `{"jsonrpc":"2.0","result":"ok","id":N}` or with an error. */
export function replyText(r: Reply): string {
  if (r.error === undefined) return `{"jsonrpc":"2.0","result":"ok","id":${r.id}}`;
  const e = r.error;
  return `{"jsonrpc":"2.0","error":{"code":${e.code},"message":${JSON.stringify(e.message)}},"id":${r.id}}`;
}

/** The JSON-RPC error code for bad input. */
export function badInputCode(reason: BadInputReason): number {
  return reason === "malformed_json" ? PARSE_ERROR : INVALID_REQUEST;
}
