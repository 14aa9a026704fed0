/**
 * The diagnostics channels (src/client/diagnostics.ts) against the in-process
 * fake cluster: the produce trace per record (start, end, then error,
 * asyncStart, asyncEnd at the report), headers a start subscriber adds going
 * into the record, stores bound with bindStore seen in the delivery callback,
 * the request trace per Kafka request, the connection and producer events,
 * and nothing published or built while nobody subscribes.
 * The real-broker proof is test/producer/diagnostics.test.ts.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import * as dc from "node:diagnostics_channel";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { KafkaClientError } from "../../src/client/client-error.js";
import {
  AUTHENTICATED_CHANNEL,
  CLOSED_CHANNEL,
  type ClosedEvent,
  CONNECTED_CHANNEL,
  type ConnectedEvent,
  DISCONNECTED_CHANNEL,
  type DisconnectedEvent,
  FATAL_CHANNEL,
  type FatalEvent,
  PRODUCE_CHANNEL,
  type ProduceContext,
  REQUEST_CHANNEL,
  type RequestContext,
} from "../../src/index.js";
import type { DeliveryReport } from "../../src/producer/record.js";
import { ApiKey } from "../../src/protocol/api-keys.js";
import { ErrorCode } from "../../src/protocol/errors.js";
import { closeAfterEach, fakeCluster, producer } from "../helpers/engine.js";

closeAfterEach();

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const undo of cleanups.splice(0).reverse()) undo();
});

type TraceEvent = "start" | "end" | "asyncStart" | "asyncEnd" | "error";
const TRACE_EVENTS: readonly TraceEvent[] = ["start", "end", "asyncStart", "asyncEnd", "error"];

/** Every event of a TracingChannel, in order, with its context; unsubscribed after the test. */
function recordTrace<C extends object>(
  name: string,
  onStart?: (ctx: C) => void,
): { events: [TraceEvent, C][]; of(ctx: C): TraceEvent[] } {
  const events: [TraceEvent, C][] = [];
  const tc = dc.tracingChannel<unknown, C>(name);
  const on = (event: TraceEvent) => (ctx: C) => {
    events.push([event, ctx]);
    if (event === "start") onStart?.(ctx);
  };
  const subscribers = {
    start: on("start"),
    end: on("end"),
    asyncStart: on("asyncStart"),
    asyncEnd: on("asyncEnd"),
    error: on("error"),
  };
  tc.subscribe(subscribers);
  cleanups.push(() => tc.unsubscribe(subscribers));
  return { events, of: (ctx) => events.filter(([, c]) => c === ctx).map(([e]) => e) };
}

/** The messages of a plain channel; unsubscribed after the test. */
function recordChannel<M>(name: string): M[] {
  const messages: M[] = [];
  const fn = (m: unknown) => messages.push(m as M);
  dc.subscribe(name, fn);
  cleanups.push(() => dc.unsubscribe(name, fn));
  return messages;
}

/** Distinct contexts of a trace in the order they started. */
function started<C>(events: [TraceEvent, C][]): C[] {
  return events.filter(([e]) => e === "start").map(([, c]) => c);
}

const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

describe("the produce trace", () => {
  it("runs start and end at produce(), asyncStart and asyncEnd around each report, with its partition and offset", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 2 }] });
    const trace = recordTrace<ProduceContext>(PRODUCE_CHANNEL, (ctx) => {
      // What a tracer does: the record goes out with this header.
      ctx.headers.push({ key: "traceparent", value: TRACEPARENT });
    });
    const p = producer(c);
    const seenInCallback: TraceEvent[][] = [];
    const reports: DeliveryReport[] = [];
    await new Promise<void>((done) => {
      let left = 3;
      for (let i = 0; i < 3; i++) {
        p.produce(
          {
            topic: "t",
            key: `k${i}`,
            value: "héllo",
            partition: i % 2,
            headers: [{ key: "h", value: "v" }],
          },
          (err, report) => {
            expect(err).toBeNull();
            reports[i] = report;
            // The caller's callback runs between asyncStart and asyncEnd.
            seenInCallback.push(trace.of(started(trace.events)[i]!));
            if (--left === 0) done();
          },
        );
      }
    });
    const contexts = started(trace.events);
    expect(contexts).toHaveLength(3);
    contexts.forEach((ctx, i) => {
      expect(trace.of(ctx)).toEqual(["start", "end", "asyncStart", "asyncEnd"]);
      expect(seenInCallback[i]).toEqual(["start", "end", "asyncStart"]);
      expect(ctx).toMatchObject({
        clientId: p.config["client.id"],
        topic: "t",
        key: `k${i}`,
        valueSize: 6, // é is two bytes in UTF-8
        partition: reports[i]!.partition,
        offset: reports[i]!.offset,
      });
      expect(ctx.partition).toBe(i % 2);
      expect(ctx.offset).toBeGreaterThanOrEqual(0);
      expect(ctx.result).toBe(reports[i]);
      expect(ctx.broker).toEqual({ nodeId: 1, host: "127.0.0.1", port: c.broker(1).port });
      expect(ctx.error).toBeUndefined();
    });
    // The header a start subscriber added was written with the record, after the caller's.
    const logged = c.log("t", 0)[0]!;
    expect(logged.headers.map((h) => [h.key, h.value?.toString()])).toEqual([
      ["h", "v"],
      ["traceparent", TRACEPARENT],
    ]);
  });

  it("runs stores bound to start and asyncStart (AsyncLocalStorage) around produce() and the report", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    const tc = dc.tracingChannel<unknown, ProduceContext>(PRODUCE_CHANNEL);
    const store = new AsyncLocalStorage<string>();
    tc.start.bindStore(store, (ctx) => `start ${ctx.topic}`);
    tc.asyncStart.bindStore(store, (ctx) => `report ${ctx.offset}`);
    cleanups.push(() => {
      tc.start.unbindStore(store);
      tc.asyncStart.unbindStore(store);
    });
    let inStart: string | undefined;
    const onStart = () => {
      inStart = store.getStore();
    };
    tc.start.subscribe(onStart);
    cleanups.push(() => tc.start.unsubscribe(onStart));
    const p = producer(c);
    const inCallback = await new Promise<string | undefined>((done) =>
      store.run("caller", () =>
        p.produce({ topic: "t", value: "x" }, () => done(store.getStore())),
      ),
    );
    expect(inStart).toBe("start t");
    expect(inCallback).toBe("report 0");
  });

  it("publishes error before asyncStart on a failed report, and the fatal event of a fenced producer", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    c.broker(1).intercept((req) =>
      req.apiKey === ApiKey.Produce
        ? { partitionErrors: { "t:0": ErrorCode.PRODUCER_FENCED } }
        : undefined,
    );
    const trace = recordTrace<ProduceContext>(PRODUCE_CHANNEL);
    const fatal = recordChannel<FatalEvent>(FATAL_CHANNEL);
    const p = producer(c, { "client.id": "fenced-one" });
    const err = await p.send({ topic: "t", value: "x" }).then(
      () => undefined,
      (e: KafkaClientError) => e,
    );
    expect(err?.message).toMatch(/PRODUCER_FENCED/);
    const [ctx] = started(trace.events);
    expect(trace.of(ctx!)).toEqual(["start", "end", "error", "asyncStart", "asyncEnd"]);
    expect(ctx!.error).toBe(err);
    expect(ctx!.offset).toBe(-1);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ clientId: "fenced-one", transactionalId: undefined });
    expect(fatal[0]!.error.message).toMatch(/PRODUCER_FENCED/);
  });

  it("publishes error and end, and no asyncStart, when produce() throws", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    const p = producer(c);
    await p.send({ topic: "t", value: "warm" }); // the partition count is known
    const trace = recordTrace<ProduceContext>(PRODUCE_CHANNEL);
    expect(() => p.produce({ topic: "t", value: "x", partition: 7 })).toThrow(/partition/);
    const [ctx] = started(trace.events);
    expect(trace.of(ctx!)).toEqual(["start", "error", "end"]);
    expect(ctx!.error?.message).toMatch(/partition/);
  });
});

describe("the request trace", () => {
  it("traces every request with its API name, broker, sizes and duration", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    const trace = recordTrace<RequestContext>(REQUEST_CHANNEL);
    const p = producer(c, { "client.id": "req-test" });
    await p.send({ topic: "t", value: "x" });
    const contexts = started(trace.events);
    const names = contexts.map((ctx) => ctx.apiName);
    expect(names).toEqual(expect.arrayContaining(["ApiVersions", "Metadata", "InitProducerId"]));
    const produce = contexts.find((ctx) => ctx.apiKey === ApiKey.Produce)!;
    expect(produce).toMatchObject({
      clientId: "req-test",
      apiName: "Produce",
      expectsResponse: true,
      broker: { nodeId: 1, host: "127.0.0.1", port: c.broker(1).port },
    });
    for (const ctx of contexts) {
      expect(trace.of(ctx)).toEqual(["start", "end", "asyncStart", "asyncEnd"]);
      expect(ctx.requestBytes).toBeGreaterThan(4);
      expect(ctx.responseBytes).toBeGreaterThan(4);
      expect(ctx.durationMs).toBeGreaterThanOrEqual(0);
      expect(ctx.error).toBeUndefined();
      expect(ctx.broker.port).toBe(c.broker(1).port);
    }
    // The fake broker saw the frames the contexts measured.
    const received = c.broker(1).requests.find((r) => r.apiKey === ApiKey.Produce)!;
    expect(received.correlationId).toBe(produce.correlationId);
  });

  it("ends an acks=0 Produce at its write, and a request cut off with its error", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    const trace = recordTrace<RequestContext>(REQUEST_CHANNEL);
    const p = producer(c, { acks: 0 });
    await p.send({ topic: "t", value: "x" });
    const fire = started(trace.events).find((ctx) => ctx.apiKey === ApiKey.Produce)!;
    expect(fire.expectsResponse).toBe(false);
    expect(fire.responseBytes).toBe(0);
    expect(trace.of(fire)).toEqual(["start", "end", "asyncStart", "asyncEnd"]);

    let cut = 0;
    c.broker(1).intercept((req) =>
      req.apiKey === ApiKey.Metadata && cut++ === 0 ? { closeConnection: "before" } : undefined,
    );
    await p.metadata({ topics: ["t"], timeoutMs: 5000 });
    const failed = started(trace.events).find((ctx) => ctx.error !== undefined)!;
    expect(failed.apiName).toBe("Metadata");
    expect(trace.of(failed)).toEqual(["start", "end", "error", "asyncStart", "asyncEnd"]);
    expect(failed.responseBytes).toBe(0);
  });
});

describe("connection and producer events", () => {
  it("tells connected, disconnected with the reason, and closed", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    const connected = recordChannel<ConnectedEvent>(CONNECTED_CHANNEL);
    const disconnected = recordChannel<DisconnectedEvent>(DISCONNECTED_CHANNEL);
    const closed = recordChannel<ClosedEvent>(CLOSED_CHANNEL);
    const authenticated = recordChannel<unknown>(AUTHENTICATED_CHANNEL);
    const p = producer(c, { "client.id": "conn-test" });
    await p.send({ topic: "t", value: "x" });
    expect(connected.length).toBeGreaterThanOrEqual(1);
    expect(connected[0]).toMatchObject({
      clientId: "conn-test",
      broker: { host: "127.0.0.1", port: c.broker(1).port },
      tls: false,
      saslMechanism: undefined,
    });
    expect(connected[0]!.apiVersionsVersion).toBeGreaterThanOrEqual(0);
    expect(connected[0]!.durationMs).toBeGreaterThanOrEqual(0);
    expect(authenticated).toEqual([]); // no SASL here; the real-broker test has it
    expect(disconnected).toEqual([]);
    await c.broker(1).stop();
    await vi.waitFor(() => expect(disconnected.length).toBeGreaterThanOrEqual(1));
    expect(disconnected[0]).toMatchObject({
      clientId: "conn-test",
      broker: { port: c.broker(1).port },
      established: true,
    });
    expect(disconnected[0]!.reason.message).toMatch(/closed/);
    expect(await p.close(100)).toBe(0);
    expect(closed).toEqual([{ clientId: "conn-test", failed: 0 }]);
  });
});

describe("nobody subscribed", () => {
  it("publishes nothing and builds no context: the value is not even measured", async () => {
    const c = await fakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    const channels = [
      ...[PRODUCE_CHANNEL, REQUEST_CHANNEL].flatMap((name) => {
        const tc = dc.tracingChannel(name);
        return TRACE_EVENTS.map((e) => tc[e]);
      }),
      ...[CONNECTED_CHANNEL, AUTHENTICATED_CHANNEL, DISCONNECTED_CHANNEL, FATAL_CHANNEL].map(
        (name) => dc.channel(name),
      ),
      dc.channel(CLOSED_CHANNEL),
    ];
    for (const ch of channels) expect(ch.hasSubscribers).toBe(false);
    const spies = channels.flatMap((ch) => [vi.spyOn(ch, "publish"), vi.spyOn(ch, "runStores")]);
    const restore = () => {
      for (const s of spies) s.mockRestore();
    };
    cleanups.push(restore);
    // Building a context measures the value (Buffer.byteLength of a string); the plain path
    // never does for a short ASCII value whose topic is known.
    const byteLength = vi.spyOn(Buffer, "byteLength");
    const measured = (value: string) => byteLength.mock.calls.some(([arg]) => arg === value);
    cleanups.push(() => byteLength.mockRestore());
    const p = producer(c);
    await p.send({ topic: "t", value: "warm" }); // metadata known: no waiting copy either
    await p.send({ topic: "t", value: "plain-value-1", key: "k" });
    await p.close(1000);
    expect(measured("plain-value-1")).toBe(false);
    for (const s of spies) expect(s).not.toHaveBeenCalled();
    restore();

    // The same with a subscriber: the checks above can fail.
    recordTrace<ProduceContext>(PRODUCE_CHANNEL);
    const q = producer(c);
    await q.send({ topic: "t", value: "warm" });
    await q.send({ topic: "t", value: "traced-value-2" });
    expect(measured("traced-value-2")).toBe(true);
  });
});
