// One subscriber on every diagnostics channel of the producer (the "ours-traced" bench rows):
// what a tracer costs at the least — each event is seen and counted, a start time kept on the
// context from start to asyncEnd as a span would be, and nothing exported.
import { subscribe, tracingChannel } from "node:diagnostics_channel";
import {
  AUTHENTICATED_CHANNEL,
  CLOSED_CHANNEL,
  CONNECTED_CHANNEL,
  DISCONNECTED_CHANNEL,
  FATAL_CHANNEL,
  PRODUCE_CHANNEL,
  REQUEST_CHANNEL,
} from "../../dist/index.js";

export function subscribeAll() {
  const counts = { produce: 0, produceErrors: 0, requests: 0, events: 0 };
  for (const [name, key] of [
    [PRODUCE_CHANNEL, "produce"],
    [REQUEST_CHANNEL, "requests"],
  ]) {
    const startedAt = Symbol("startedAt");
    tracingChannel(name).subscribe({
      start(ctx) {
        ctx[startedAt] = performance.now();
      },
      end() {},
      asyncStart() {},
      asyncEnd(ctx) {
        if (ctx[startedAt] !== undefined) counts[key]++;
      },
      error() {
        if (key === "produce") counts.produceErrors++;
      },
    });
  }
  for (const name of [
    CONNECTED_CHANNEL,
    AUTHENTICATED_CHANNEL,
    DISCONNECTED_CHANNEL,
    FATAL_CHANNEL,
    CLOSED_CHANNEL,
  ]) {
    subscribe(name, () => {
      counts.events++;
    });
  }
  return { counts };
}
