/**
 * Routes from event names to kafka sockets: `EVENT=kafka:BROKERS/TOPIC?...`,
 * tried in order, the first match wins. EVENT is a name, `*` (any event) or
 * a prefix ending in `*` (`E_ACC_*`).
 */
import { type KafkaSocket, parseSocket } from "../socket/socket.js";

export class RouteError extends Error {
  override readonly name = "RouteError";
}

export interface RouteSpec {
  /** The event pattern as written. */
  readonly event: string;
  readonly socket: KafkaSocket;
  /** The parameter the key is read from (key=callid reads `callid`), or undefined. */
  readonly keyParam: string | undefined;
}

const PATTERN = /^[^\s*]*\*?$/;

/** One `EVENT=SOCKET` route; `where` names it in errors (`--route`, a file's routes[2]). */
export function parseRoute(event: string, socket: string, where: string): RouteSpec {
  if (event === "" || !PATTERN.test(event)) {
    throw new RouteError(
      `${where}: the event "${event}" is not a name, "*" or a prefix ending in "*"`,
    );
  }
  const parsed = parseSocket(socket, { refuseDuplicates: true, keyParam: true });
  const keyParam = parsed.keyParam ?? (parsed.keyCallId ? "callid" : undefined);
  return { event, socket: parsed, keyParam };
}

/** `--route 'EVENT=kafka:...'`: split at the first '='. */
export function parseRouteOption(text: string): RouteSpec {
  const eq = text.indexOf("=");
  if (eq < 0) throw new RouteError(`--route "${text}": expected EVENT=kafka:BROKERS/TOPIC`);
  return parseRoute(text.slice(0, eq), text.slice(eq + 1), `--route "${text.slice(0, eq)}=..."`);
}

/** Whether `pattern` matches the event `name`. */
export function matches(pattern: string, name: string): boolean {
  if (pattern.endsWith("*")) return name.startsWith(pattern.slice(0, -1));
  return pattern === name;
}

/**
 * Finds the route of each event name, first match first, remembering the
 * answer: events come with few distinct names.
 */
export class RouteTable<R extends { readonly spec: RouteSpec }> {
  private readonly cache = new Map<string, R | null>();

  constructor(readonly routes: readonly R[]) {}

  match(name: string): R | undefined {
    let found = this.cache.get(name);
    if (found === undefined) {
      found = this.routes.find((r) => matches(r.spec.event, name)) ?? null;
      // Unbounded names (a sender making them up) must not grow the cache forever.
      if (this.cache.size >= 10_000) this.cache.clear();
      this.cache.set(name, found);
    }
    return found ?? undefined;
  }
}
