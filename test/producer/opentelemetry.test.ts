/**
 * The OpenTelemetry recipe (examples/opentelemetry.mjs, docs/observability.md) with the
 * OpenTelemetry SDK against the shared real broker: a PRODUCER span "send {topic}" per record
 * with the messaging attributes, partition and offset as the delivery report has them, the
 * span active at produce() as its parent, error.type on a failed record, the metrics, and
 * the W3C traceparent header as Apache Kafka's Java consumer reads it back.
 */
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import type { Admin } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { instrument } from "../../examples/opentelemetry.mjs";
import type { DeliveryReport } from "../../src/producer/record.js";
import { KafkaProtocolError } from "../../src/protocol/errors.js";
import { headerPairs, javaConsume, text } from "../broker/java-reader.js";
import { uniqueTopic } from "../helpers/topics.js";
import { connectAdmin, createTopic, producerSet } from "./helpers.js";

const bootstrap = inject("kafkaBootstrap");
const producers = producerSet(bootstrap);
let admin: Admin;
const contextManager = new AsyncLocalStorageContextManager();
const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(spans)],
});
const tracer = tracerProvider.getTracer("event-kafka-test");
const metrics = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({
  exporter: metrics,
  exportIntervalMillis: 3_600_000,
});
const meterProvider = new MeterProvider({ readers: [reader] });
let uninstrument: () => void;

beforeAll(async () => {
  context.setGlobalContextManager(contextManager.enable());
  uninstrument = instrument({
    tracer,
    meter: meterProvider.getMeter("event-kafka-test"),
    propagator: new W3CTraceContextPropagator(),
  });
  admin = await connectAdmin(bootstrap);
});

afterAll(async () => {
  uninstrument?.();
  await producers.closeAll();
  await admin?.disconnect();
  await meterProvider.shutdown();
  context.disable();
});

const brokerHost = bootstrap.split(",")[0]!.split(":")[0]!;

describe("the OpenTelemetry recipe", () => {
  it("makes a PRODUCER span per record, child of the active span, whose traceparent the Java consumer reads back", async () => {
    const topic = uniqueTopic("otel");
    await createTopic(admin, topic, { partitions: 3 });
    const producer = producers.create({ "client.id": "otel-test" });
    spans.reset();
    const reports: DeliveryReport[] = [];
    const parent = tracer.startSpan("parent");
    await context.with(trace.setSpan(context.active(), parent), async () => {
      for (let i = 0; i < 6; i++) {
        reports.push(
          await producer.send({
            topic,
            key: `key-${i}`,
            value: `value-${i}`,
            headers: [{ key: "app", value: "x" }],
          }),
        );
      }
    });
    parent.end();
    const sendSpans = spans.getFinishedSpans().filter((s) => s.name === `send ${topic}`);
    expect(sendSpans).toHaveLength(6);
    const records = await javaConsume(bootstrap, topic, { count: 6 });
    for (let i = 0; i < 6; i++) {
      const report = reports[i]!;
      // Spans end in report order, which is produce order here (one send at a time).
      const span = sendSpans[i]!;
      expect(span.kind).toBe(3); // SpanKind.PRODUCER
      expect(span.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
      expect(span.spanContext().traceId).toBe(parent.spanContext().traceId);
      expect(span.status.code).toBe(0); // UNSET: no error
      expect(span.attributes).toMatchObject({
        "messaging.system": "kafka",
        "messaging.operation.name": "send",
        "messaging.operation.type": "send",
        "messaging.destination.name": topic,
        "messaging.destination.partition.id": String(report.partition),
        "messaging.kafka.offset": report.offset,
        "messaging.kafka.message.key": `key-${i}`,
        "messaging.client.id": "otel-test",
        "messaging.message.body.size": `value-${i}`.length,
        "server.address": brokerHost,
      });
      expect(span.attributes["server.port"]).toEqual(expect.any(Number));
      expect(span.attributes["error.type"]).toBeUndefined();
      // The independent reader finds the record where the report says, with the span's context.
      const read = records.find(
        (r) => r.partition === report.partition && r.offset === report.offset,
      );
      expect(read, `record ${i} at ${report.partition}/${report.offset}`).toBeDefined();
      expect(text(read!.value)).toBe(`value-${i}`);
      const headers = headerPairs(read!);
      expect(headers[0]).toEqual(["app", "x"]);
      const traceparent = headers.find(([k]) => k === "traceparent")?.[1];
      const { traceId, spanId } = span.spanContext();
      expect(traceparent).toBe(`00-${traceId}-${spanId}-01`);
    }
  });

  it("starts a root span without an active one, and sets error.type on a failed record", async () => {
    const topic = uniqueTopic("otel-fail");
    await createTopic(admin, topic, { partitions: 1, configs: { "max.message.bytes": "2000" } });
    const producer = producers.create({ "linger.ms": 0 });
    await producer.send({ topic, value: "warm-up" });
    spans.reset();
    const err = await producer.send({ topic, value: "x".repeat(5000) }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(KafkaProtocolError);
    const errorName = (err as KafkaProtocolError).errorName;
    const [span] = spans.getFinishedSpans().filter((s) => s.name === `send ${topic}`);
    expect(span).toBeDefined();
    expect(span!.parentSpanContext).toBeUndefined();
    expect(span!.status.code).toBe(2); // ERROR
    expect(span!.attributes).toMatchObject({
      "error.type": errorName,
      "messaging.destination.partition.id": "0",
    });
    expect(span!.attributes["messaging.kafka.offset"]).toBeUndefined();
    expect(span!.events.map((e) => e.name)).toContain("exception");
  });

  it("counts sent records and measures durations, per topic and outcome", async () => {
    const topic = uniqueTopic("otel-metrics");
    await createTopic(admin, topic, { partitions: 1 });
    const producer = producers.create();
    for (let i = 0; i < 4; i++) await producer.send({ topic, value: `m${i}` });
    await reader.forceFlush();
    const all = metrics.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((s) => s.metrics));
    const last = (name: string) => all.filter((m) => m.descriptor.name === name).at(-1);
    const sent = last("messaging.client.sent.messages")!;
    const ours = sent.dataPoints.filter(
      (p) => p.attributes["messaging.destination.name"] === topic,
    );
    expect(ours).toHaveLength(1);
    expect(ours[0]!.value).toBe(4);
    expect(ours[0]!.attributes["error.type"]).toBeUndefined();
    const duration = last("messaging.client.operation.duration")!;
    expect(duration.descriptor.unit).toBe("s");
    const point = duration.dataPoints.find(
      (p) => p.attributes["messaging.destination.name"] === topic,
    )!;
    expect((point.value as { count: number }).count).toBe(4);
    const requests = last("event_kafka.request.duration")!;
    const apis = new Set(requests.dataPoints.map((p) => p.attributes["event_kafka.api.name"]));
    expect(apis).toContain("Produce");
    expect(apis).toContain("Metadata");
  });
});
