// OpenTelemetry spans and metrics for event-kafka, built from its diagnostics channels
// (docs/observability.md). Plain ESM with no Node-only API beyond node:diagnostics_channel,
// so it runs as is on Node, Bun and Deno.
//
//   import { instrument } from "./examples/opentelemetry.mjs";
//   const stop = instrument({ tracer, meter, propagator });   // before or after new Producer()
//   ...
//   stop();                                                   // unsubscribes everything
//
// Each produce()/send() record becomes a PRODUCER span "send {topic}", child of the span active
// at produce(), ended at its delivery report; with a propagator its context goes into the
// record's headers (W3C traceparent). Metrics: messaging.client.sent.messages and
// messaging.client.operation.duration per record, event_kafka.request.duration per Kafka
// request. Run as a script (KAFKA_BOOTSTRAP=host:port node examples/opentelemetry.mjs) it sends
// one record under a span and prints the spans.
import { subscribe, tracingChannel, unsubscribe } from "node:diagnostics_channel";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { DISCONNECTED_CHANNEL, PRODUCE_CHANNEL, REQUEST_CHANNEL } from "event-kafka";

/**
 * The attribute names, from the OpenTelemetry messaging and Kafka semantic conventions as of
 * v1.27-v1.3x (still "Development"). v1.45 renamed some (messaging.system.name, kafka.offset,
 * kafka.message.key): change them here and nowhere else.
 */
export const ATTR = Object.freeze({
  system: "messaging.system",
  operationName: "messaging.operation.name",
  operationType: "messaging.operation.type",
  destination: "messaging.destination.name",
  partition: "messaging.destination.partition.id",
  clientId: "messaging.client.id",
  key: "messaging.kafka.message.key",
  tombstone: "messaging.kafka.message.tombstone",
  offset: "messaging.kafka.offset",
  bodySize: "messaging.message.body.size",
  errorType: "error.type",
  serverAddress: "server.address",
  serverPort: "server.port",
});

/** Bucket boundaries (s) the conventions give for messaging.client.operation.duration. */
const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** Writes a propagator's fields as record headers (the context's `headers` array). */
const headerSetter = {
  set(headers, key, value) {
    headers.push({ key, value });
  },
};

/** What error.type says: the Kafka error name, the client's error code, or the error's name. */
export function errorType(err) {
  return (
    err.errorName ?? (typeof err.code === "string" ? err.code : undefined) ?? err.name ?? "_OTHER"
  );
}

/** A record key as the conventions want it: a string, or nothing when it has no text form. */
function keyText(key) {
  if (key === null || key === undefined) return undefined;
  if (typeof key === "string") return key;
  const text = new TextDecoder("utf-8", { fatal: false }).decode(key);
  return text.includes("\uFFFD") ? undefined : text;
}

/**
 * Subscribes to the producer's channels. `tracer` (required) makes the spans; `meter` adds the
 * metrics; `propagator` (a TextMapPropagator such as W3CTraceContextPropagator) puts each
 * record's span context into its headers. Returns a function that unsubscribes.
 */
export function instrument({ tracer, meter, propagator }) {
  // Each record's span rides on its context object, under a symbol only this function knows:
  // cheaper than a WeakMap when many records are in flight.
  const SPAN = Symbol("span");
  const sent = meter?.createCounter("messaging.client.sent.messages", {
    unit: "{message}",
    description: "Records the producer attempted to send (counted at their delivery report).",
  });
  const duration = meter?.createHistogram("messaging.client.operation.duration", {
    unit: "s",
    description: "From produce() to the delivery report.",
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const requestDuration = meter?.createHistogram("event_kafka.request.duration", {
    unit: "s",
    description: "Kafka requests: from the write to the response.",
  });
  const disconnections = meter?.createCounter("event_kafka.disconnections", {
    unit: "{connection}",
    description: "Broker connections that closed or failed their handshake.",
  });

  const produce = {
    start(ctx) {
      const parent = context.active();
      const attributes = {
        [ATTR.system]: "kafka",
        [ATTR.operationName]: "send",
        [ATTR.operationType]: "send",
        [ATTR.destination]: ctx.topic,
        [ATTR.clientId]: ctx.clientId,
      };
      const key = keyText(ctx.key);
      if (key !== undefined) attributes[ATTR.key] = key;
      if (ctx.valueSize < 0) attributes[ATTR.tombstone] = true;
      else attributes[ATTR.bodySize] = ctx.valueSize;
      if (ctx.partition >= 0) attributes[ATTR.partition] = String(ctx.partition);
      const span = tracer.startSpan(
        `send ${ctx.topic}`,
        { kind: SpanKind.PRODUCER, attributes },
        parent,
      );
      // The record is encoded after start: headers added here travel with it.
      propagator?.inject(trace.setSpan(parent, span), ctx.headers, headerSetter);
      ctx[SPAN] = { span, startedAt: performance.now() };
    },
    end(ctx) {
      // produce() threw: no report follows.
      if (ctx.error !== undefined && ctx.result === undefined) finish(ctx);
    },
    asyncEnd(ctx) {
      finish(ctx);
    },
  };

  function finish(ctx) {
    const entry = ctx[SPAN];
    if (entry === undefined) return;
    ctx[SPAN] = undefined;
    const { span, startedAt } = entry;
    const common = {
      [ATTR.system]: "kafka",
      [ATTR.operationName]: "send",
      [ATTR.operationType]: "send",
      [ATTR.destination]: ctx.topic,
    };
    if (ctx.partition >= 0) common[ATTR.partition] = String(ctx.partition);
    if (ctx.broker !== undefined) {
      common[ATTR.serverAddress] = ctx.broker.host;
      common[ATTR.serverPort] = ctx.broker.port;
    }
    if (ctx.error !== undefined) {
      common[ATTR.errorType] = errorType(ctx.error);
      span.recordException(ctx.error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: ctx.error.message });
    }
    span.setAttributes(common);
    if (ctx.offset >= 0) span.setAttribute(ATTR.offset, ctx.offset);
    span.end();
    if (ctx.result !== undefined) sent?.add(1, common);
    duration?.record((performance.now() - startedAt) / 1000, common);
  }

  const request = {
    asyncEnd(ctx) {
      const attributes = {
        [ATTR.system]: "kafka",
        "event_kafka.api.name": ctx.apiName,
        [ATTR.serverAddress]: ctx.broker.host,
        [ATTR.serverPort]: ctx.broker.port,
      };
      if (ctx.error !== undefined) attributes[ATTR.errorType] = errorType(ctx.error);
      requestDuration?.record(ctx.durationMs / 1000, attributes);
    },
  };
  const onDisconnected = (event) => {
    disconnections?.add(1, {
      [ATTR.system]: "kafka",
      [ATTR.serverAddress]: event.broker.host,
      [ATTR.serverPort]: event.broker.port,
      [ATTR.errorType]: errorType(event.reason),
    });
  };

  const produceChannel = tracingChannel(PRODUCE_CHANNEL);
  const requestChannel = tracingChannel(REQUEST_CHANNEL);
  produceChannel.subscribe(produce);
  if (meter !== undefined) {
    requestChannel.subscribe(request);
    subscribe(DISCONNECTED_CHANNEL, onDisconnected);
  }
  return function uninstrument() {
    produceChannel.unsubscribe(produce);
    if (meter !== undefined) {
      requestChannel.unsubscribe(request);
      unsubscribe(DISCONNECTED_CHANNEL, onDisconnected);
    }
  };
}

// As a script: one record under a span, the spans printed (needs KAFKA_BOOTSTRAP).
const isMain = (() => {
  const url = import.meta.url;
  const argv1 = globalThis.process?.argv?.[1];
  if (import.meta.main !== undefined) return import.meta.main; // Bun, Deno
  return argv1 !== undefined && url.endsWith(argv1.replace(/\\/g, "/"));
})();

if (isMain) {
  const bootstrap = globalThis.process?.env?.KAFKA_BOOTSTRAP;
  if (!bootstrap) {
    console.error("set KAFKA_BOOTSTRAP=host:port");
    globalThis.process?.exit(2);
  }
  const { Producer } = await import("event-kafka");
  const { AsyncLocalStorageContextManager } = await import("@opentelemetry/context-async-hooks");
  const { W3CTraceContextPropagator } = await import("@opentelemetry/core");
  const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await import(
    "@opentelemetry/sdk-trace-base"
  );
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = provider.getTracer("event-kafka-example");
  const stop = instrument({ tracer, propagator: new W3CTraceContextPropagator() });
  const producer = new Producer({ "bootstrap.servers": bootstrap });
  const topic = globalThis.process?.env?.TOPIC ?? "otel-example";
  await tracer.startActiveSpan("example", async (parent) => {
    const report = await producer.send({ topic, key: "k", value: "hello" });
    console.log(`delivered to ${report.topic}/${report.partition} at ${report.offset}`);
    parent.end();
  });
  await producer.close();
  stop();
  for (const s of exporter.getFinishedSpans()) {
    console.log(JSON.stringify({ name: s.name, kind: s.kind, attributes: s.attributes }));
  }
}
