// Types of examples/opentelemetry.mjs (for TypeScript callers and the tests).
import type { Meter, TextMapPropagator, Tracer } from "@opentelemetry/api";

export declare const ATTR: Readonly<{
  system: string;
  operationName: string;
  operationType: string;
  destination: string;
  partition: string;
  clientId: string;
  key: string;
  tombstone: string;
  offset: string;
  bodySize: string;
  errorType: string;
  serverAddress: string;
  serverPort: string;
}>;

/** What error.type says for an error: the Kafka error name, the client's error code, or its name. */
export declare function errorType(err: Error): string;

/** Subscribes spans (and, with a meter, metrics) to the producer's channels; returns the unsubscribe. */
export declare function instrument(options: {
  tracer: Tracer;
  meter?: Meter;
  propagator?: TextMapPropagator;
}): () => void;
