/**
 * One received JSON-RPC message as an event: its name, its id (a request,
 * answered after the Kafka ack) and the record value, the notification
 * re-serialized compactly as `raise` produces it. And the JSON-RPC answers.
 */

/** What made a message bad input (a metric label and a log line's cause). */
export type BadInputReason =
  | "malformed_json"
  | "not_object"
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
  /** The request id as JSON text; undefined for a notification (no id, or id null). */
  readonly id: string | undefined;
  /** Named or positional parameters, as received; undefined when there are none. */
  readonly params: Readonly<Record<string, unknown>> | readonly unknown[] | undefined;
}

export interface BadMessage {
  readonly kind: "bad";
  readonly reason: BadInputReason;
  /** Says what is wrong, for the log and the JSON-RPC error. */
  readonly message: string;
  /** The request id as JSON text, when one could be read. */
  readonly id: string | undefined;
}

/** How an id is echoed: as received (a number or a string), null for none. */
function idText(id: unknown): string | undefined {
  if (id === undefined || id === null) return undefined;
  if (typeof id === "number" || typeof id === "string") return JSON.stringify(id);
  return "null";
}

function bad(reason: BadInputReason, message: string, id?: string): BadMessage {
  return { kind: "bad", reason, message, id };
}

/**
 * Reads one message. `eventParam` is event_stream's event_param: the name of
 * the parameter that carries the event name (the first element when the
 * parameters are positional).
 */
export function parseEventMessage(text: string, eventParam?: string): EventMessage | BadMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return bad("malformed_json", `malformed JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    const what = Array.isArray(value) ? "an array (batches are not supported)" : typeof value;
    return bad("not_object", `a message must be a JSON-RPC object, got ${what}`);
  }
  const msg = value as Record<string, unknown>;
  const id = idText(msg.id);
  if (id === "null" && msg.id !== null) {
    return bad("not_object", "the id must be a number, a string or null");
  }
  const method = msg.method;
  if (typeof method !== "string" || method === "") {
    return bad(
      "no_method",
      method === undefined ? "no method" : "the method must be a non-empty string",
      id,
    );
  }
  const params = msg.params;
  if (params !== undefined && params !== null && typeof params !== "object") {
    return bad("bad_params", "params must be an object or an array", id);
  }
  const given = (params ?? undefined) as EventMessage["params"];
  let name = method;
  if (eventParam !== undefined && given !== undefined) {
    const carried = Array.isArray(given)
      ? given[0]
      : (given as Record<string, unknown>)[eventParam];
    if (typeof carried === "string" && carried !== "") name = carried;
  }
  return { kind: "event", name, id, params: given };
}

function hasParams(params: EventMessage["params"]): boolean {
  if (params === undefined) return false;
  if (Array.isArray(params)) return params.length > 0;
  for (const _ in params) return true;
  return false;
}

/**
 * The record value: `{"jsonrpc":"2.0","method":NAME,"params":...}`, compact,
 * params omitted when there are none, as eventPayload() writes it.
 */
export function eventValue(name: string, params: EventMessage["params"]): string {
  const head = `{"jsonrpc":"2.0","method":${JSON.stringify(name)}`;
  return hasParams(params) ? `${head},"params":${JSON.stringify(params)}}` : `${head}}`;
}

/**
 * The record key from the parameter `param` of named parameters: a string
 * as is, a number as its decimal text; none for anything else or when absent.
 */
export function eventKey(params: EventMessage["params"], param: string): string | null {
  if (params === undefined || Array.isArray(params)) return null;
  const v = (params as Record<string, unknown>)[param];
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return null;
}

export function okReply(id: string): string {
  return `{"jsonrpc":"2.0","result":"ok","id":${id}}`;
}

export function errorReply(id: string, code: number, message: string): string {
  return `{"jsonrpc":"2.0","error":{"code":${code},"message":${JSON.stringify(message)}},"id":${id}}`;
}

/** The JSON-RPC error code for bad input. */
export function badInputCode(reason: BadInputReason): number {
  return reason === "malformed_json" ? PARSE_ERROR : INVALID_REQUEST;
}
