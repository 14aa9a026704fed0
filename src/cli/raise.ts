/** `event-kafka raise`: one event as a JSON-RPC notification, as event_kafka publishes it. */
import { type EventValue, eventPayload } from "../socket/events.js";
import { parseSocket } from "../socket/socket.js";
import { parseCommandArgs, propertiesWith, stringOf, stringsOf } from "./options.js";
import { reportFailures, startSession, Tally } from "./session.js";
import { UsageError } from "./usage.js";

const OPTIONS = {
  callid: { type: "string" },
  property: { type: "string", short: "X", multiple: true },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
} as const;

export async function raise(args: readonly string[]): Promise<number | "help"> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  if (values.help) return "help";
  const [socketText, event, ...pairs] = positionals;
  if (socketText === undefined || event === undefined) {
    throw new UsageError("raise needs a SOCKET and an EVENT");
  }
  const socket = parseSocket(socketText, { refuseDuplicates: true });
  const properties = propertiesWith(socket, stringsOf(values, "property"));
  const callId = stringOf(values, "callid");
  const params: Record<string, EventValue> = {};
  for (const p of pairs) {
    const [name, value] = eventParam(p);
    params[name] = value;
  }
  const tally = new Tally();
  const { producer, aborted } = startSession(properties, tally, { quiet: values.quiet === true });
  producer.produce({
    topic: socket.topic,
    key: socket.keyCallId && callId ? callId : null,
    value: eventPayload(event, pairs.length > 0 ? params : undefined),
  });
  await producer.close(producer.config["message.timeout.ms"] || 2 ** 31 - 1);
  process.stdout.write(`${tally.summary()}\n`);
  if (aborted()) reportFailures(tally, aborted());
  else if (tally.failed > 0) {
    process.stderr.write(`event-kafka: event not delivered: ${tally.firstError?.message}\n`);
  }
  return tally.failed > 0 || tally.undelivered > 0 || aborted() ? 1 : 0;
}

/**
 * One event parameter from the command line. `name=value` is always the
 * string value, byte for byte (0049301234 stays a string); `name:=JSON` is a
 * typed value: an integer, a "string" or null, the types an OpenSIPS event
 * parameter can have.
 */
function eventParam(arg: string): [string, EventValue] {
  const eq = arg.indexOf("=");
  if (eq <= 0 || (eq === 1 && arg[0] === ":")) {
    throw new UsageError(`event parameters are name=value or name:=JSON, got "${arg}"`);
  }
  if (arg[eq - 1] !== ":") return [arg.slice(0, eq), arg.slice(eq + 1)];
  const name = arg.slice(0, eq - 1);
  const text = arg.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(
      `${name}:= needs a JSON value (an integer, a "string" or null), got ${text}`,
    );
  }
  if (value === null || typeof value === "string" || Number.isSafeInteger(value)) {
    return [name, value as EventValue];
  }
  throw new UsageError(
    `${name}:=${text}: an event parameter is an integer, a string or null (write ${name}=${text} to send it as the string)`,
  );
}
