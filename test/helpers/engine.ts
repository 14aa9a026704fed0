/**
 * The pieces the delivery-engine tests share: fake clusters and producers
 * closed after each test, and a way to produce records in order with one
 * callback each and wait for all their outcomes.
 */
import { afterEach } from "vitest";
import { type Logger, silentLogger } from "../../src/client/logger.js";
import { Producer, type ProducerOptions } from "../../src/producer/producer.js";
import type { DeliveryError, DeliveryReport } from "../../src/producer/record.js";
import { type FakeCluster, type FakeClusterOptions, startFakeCluster } from "./fake-broker.js";

const open: { close(): Promise<unknown> }[] = [];

/** Closes every cluster and producer a test opened, newest first. Call once per test file. */
export function closeAfterEach(): void {
  afterEach(async () => {
    for (const c of open.splice(0).reverse()) await c.close();
  });
}

export async function fakeCluster(options: FakeClusterOptions): Promise<FakeCluster> {
  const c = await startFakeCluster(options);
  open.push(c);
  return c;
}

/**
 * A producer on `cluster` with short backoffs and linger.ms 0, closed after the
 * test; `options` go to the constructor beside the logger.
 */
export function producer(
  cluster: FakeCluster,
  props: Record<string, string | number | boolean> = {},
  logger: Logger = silentLogger,
  options: Omit<ProducerOptions, "logger"> = {},
): Producer {
  const p = new Producer(
    {
      "bootstrap.servers": cluster.bootstrap,
      "linger.ms": 0,
      "retry.backoff.ms": 20,
      "retry.backoff.max.ms": 100,
      "reconnect.backoff.ms": 20,
      "reconnect.backoff.max.ms": 100,
      ...props,
    },
    { ...options, logger },
  );
  open.push({ close: () => p.close(2000) });
  return p;
}

export interface Outcome {
  err: DeliveryError | null;
  report: DeliveryReport;
  at: number;
}

/** Produces `values` in order, one callback each; resolves with their outcomes once all are in. */
export function produceAll(
  p: Producer,
  topic: string,
  values: string[],
  partition = 0,
): { outcomes: (Outcome | undefined)[]; done: Promise<Outcome[]> } {
  const outcomes: (Outcome | undefined)[] = values.map(() => undefined);
  let left = values.length;
  let resolve!: (o: Outcome[]) => void;
  const done = new Promise<Outcome[]>((r) => {
    resolve = r;
  });
  values.forEach((value, i) => {
    p.produce({ topic, value, partition }, (err, report) => {
      if (outcomes[i] !== undefined) throw new Error(`second report for record ${i}`);
      outcomes[i] = { err, report, at: Date.now() };
      if (--left === 0) resolve(outcomes as Outcome[]);
    });
  });
  return { outcomes, done };
}

export const values = (n: number, prefix = "r"): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}${i}`);

export const logValues = (c: FakeCluster, topic: string, partition = 0): (string | undefined)[] =>
  c.log(topic, partition).map((r) => r.value?.toString());

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
