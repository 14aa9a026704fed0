/**
 * The diagnostics channels against real brokers: every record's produce trace
 * with the partition and offset where Apache Kafka's Java consumer reads it
 * back, carrying the header a start subscriber added; the request trace of
 * every Kafka request; connected, SASL authenticated (and re-authenticated,
 * KIP-368), disconnected and closed on the secure broker; fatal when a newer
 * transactional producer fences this one.
 */
import * as dc from "node:diagnostics_channel";
import type { Admin } from "kafkajs";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { silentLogger } from "../../src/client/logger.js";
import {
  AUTHENTICATED_CHANNEL,
  type AuthenticatedEvent,
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
import { Producer } from "../../src/producer/producer.js";
import type { DeliveryReport } from "../../src/producer/record.js";
import { headerPairs, javaConsume, text } from "../broker/java-reader.js";
import { secureBroker } from "../broker/secure.js";
import { uniqueTopic } from "../helpers/topics.js";
import { connectAdmin, createTopic, producerSet } from "./helpers.js";

const bootstrap = inject("kafkaBootstrap");
const producers = producerSet(bootstrap);
let admin: Admin;

beforeAll(async () => {
  admin = await connectAdmin(bootstrap);
});
afterAll(async () => {
  await producers.closeAll();
  await admin?.disconnect();
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const undo of cleanups.splice(0).reverse()) undo();
});

type TraceEvent = "start" | "end" | "asyncStart" | "asyncEnd" | "error";

/** Each context of a TracingChannel with the events it went through, in start order. */
function recordTrace<C extends object>(
  name: string,
  onStart?: (ctx: C) => void,
): Map<C, TraceEvent[]> {
  const seen = new Map<C, TraceEvent[]>();
  const tc = dc.tracingChannel<unknown, C>(name);
  const on = (event: TraceEvent) => (ctx: C) => {
    if (event === "start") {
      seen.set(ctx, []);
      onStart?.(ctx);
    }
    seen.get(ctx)?.push(event);
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
  return seen;
}

function recordChannel<M>(name: string): M[] {
  const messages: M[] = [];
  const fn = (m: unknown) => messages.push(m as M);
  dc.subscribe(name, fn);
  cleanups.push(() => dc.unsubscribe(name, fn));
  return messages;
}

describe("the produce and request traces", () => {
  it("trace every record to the offset the Java consumer reads it at, with the header added at start", async () => {
    const topic = uniqueTopic("dc-produce");
    await createTopic(admin, topic, { partitions: 3 });
    let n = 0;
    const produce = recordTrace<ProduceContext>(PRODUCE_CHANNEL, (ctx) => {
      ctx.headers.push({ key: "seen-at-start", value: String(n++) });
    });
    const requests = recordTrace<RequestContext>(REQUEST_CHANNEL);
    const producer = producers.create({ "client.id": "dc-real", "linger.ms": 5 });
    const total = 300;
    const reports = await Promise.all(
      Array.from({ length: total }, (_, i) =>
        producer.send({ topic, key: i % 7 === 0 ? null : `k${i % 11}`, value: `v${i}` }),
      ),
    );
    const contexts = [...produce.keys()];
    expect(contexts).toHaveLength(total);
    const byPlace = new Map<string, { ctx: ProduceContext; report: DeliveryReport; i: number }>();
    contexts.forEach((ctx, i) => {
      const report = reports[i]!;
      expect(produce.get(ctx)).toEqual(["start", "end", "asyncStart", "asyncEnd"]);
      expect(ctx.topic).toBe(topic);
      expect(ctx.partition).toBe(report.partition);
      expect(ctx.offset).toBe(report.offset);
      expect(ctx.valueSize).toBe(`v${i}`.length);
      expect(ctx.broker?.nodeId).toBeGreaterThanOrEqual(0);
      byPlace.set(`${report.partition}/${report.offset}`, { ctx, report, i });
    });
    const read = await javaConsume(bootstrap, topic, { count: total });
    expect(read).toHaveLength(total);
    for (const r of read) {
      const mine = byPlace.get(`${r.partition}/${r.offset}`);
      expect(mine, `${r.partition}/${r.offset}`).toBeDefined();
      expect(text(r.value)).toBe(`v${mine!.i}`);
      expect(headerPairs(r)).toEqual([["seen-at-start", String(mine!.i)]]);
    }

    const reqs = [...requests.keys()];
    const names = new Set(reqs.map((r) => r.apiName));
    for (const api of ["ApiVersions", "Metadata", "InitProducerId", "Produce"]) {
      expect(names, api).toContain(api);
    }
    const [host, port] = bootstrap.split(",")[0]!.split(":");
    for (const r of reqs) {
      expect(requests.get(r)).toEqual(["start", "end", "asyncStart", "asyncEnd"]);
      expect(r.clientId).toBe("dc-real");
      expect(r.broker.host).toBe(host);
      expect(r.requestBytes).toBeGreaterThan(4);
      expect(r.responseBytes).toBeGreaterThan(4);
      expect(r.error).toBeUndefined();
    }
    const produceRequests = reqs.filter((r) => r.apiName === "Produce");
    expect(produceRequests.every((r) => r.broker.nodeId >= 0)).toBe(true);
    expect(produceRequests.some((r) => r.broker.port === Number(port))).toBe(true);
    // The record bytes went out in the Produce requests.
    const produced = produceRequests.reduce((sum, r) => sum + r.requestBytes, 0);
    expect(produced).toBeGreaterThan(total * 4);
    await producer.close();
  });
});

describe("connection and producer events", () => {
  it("tells connected and authenticated (SASL), re-authenticated before the session ends, disconnected and closed", async () => {
    const info = secureBroker();
    const connected = recordChannel<ConnectedEvent>(CONNECTED_CHANNEL);
    const authenticated = recordChannel<AuthenticatedEvent>(AUTHENTICATED_CHANNEL);
    const disconnected = recordChannel<DisconnectedEvent>(DISCONNECTED_CHANNEL);
    const closed = recordChannel<ClosedEvent>(CLOSED_CHANNEL);
    const producer = new Producer(
      {
        "bootstrap.servers": info.listeners.reauth.bootstrap,
        "security.protocol": "sasl_plaintext",
        "sasl.mechanisms": "PLAIN",
        "sasl.username": info.users.plain.username,
        "sasl.password": info.users.plain.password,
        "client.id": "dc-sasl",
      },
      { logger: silentLogger },
    );
    const topic = uniqueTopic("dc-sasl");
    let again = 0;
    try {
      await producer.send({ topic, value: "first" });
      expect(connected.length).toBeGreaterThanOrEqual(1);
      expect(connected[0]).toMatchObject({
        clientId: "dc-sasl",
        broker: { host: "127.0.0.1", port: info.listeners.reauth.port },
        tls: false,
        saslMechanism: "PLAIN",
      });
      const first = authenticated.filter((a) => !a.reauthentication);
      expect(first.length).toBe(connected.length);
      expect(first[0]).toMatchObject({ clientId: "dc-sasl", mechanism: "PLAIN" });
      expect(first[0]!.sessionLifetimeMs).toBeGreaterThan(0);
      expect(first[0]!.sessionLifetimeMs).toBeLessThanOrEqual(info.reauthMs);
      // Traffic across a session's end: the connection re-authenticates (KIP-368).
      await vi.waitFor(
        async () => {
          await producer.send({ topic, value: "again" });
          again++;
          expect(authenticated.some((a) => a.reauthentication)).toBe(true);
        },
        { timeout: info.reauthMs * 3, interval: 200 },
      );
    } finally {
      expect(await producer.close(5000)).toBe(0);
    }
    expect(closed).toEqual([{ clientId: "dc-sasl", failed: 0 }]);
    // close() ends every connection that was up: each tells it, with the reason.
    const up = disconnected.filter((d) => d.established);
    expect(up.length).toBe(connected.length);
    for (const d of up) {
      expect(d.clientId).toBe("dc-sasl");
      expect(d.reason).toBeInstanceOf(Error);
    }
    // An auto-created topic may have several partitions: no order across them.
    const read = await javaConsume(info.plaintextBootstrap, topic, { count: 1 + again });
    expect(read.map((r) => text(r.value)).sort()).toEqual([
      ...Array<string>(again).fill("again"),
      "first",
    ]);
  });

  it("tells fatal when a newer producer with the same transactional.id fences this one", async () => {
    const topic = uniqueTopic("dc-fence");
    await createTopic(admin, topic, { partitions: 1 });
    const id = uniqueTopic("dc-fenced");
    const fatal = recordChannel<FatalEvent>(FATAL_CHANNEL);
    const make = (clientId: string) =>
      producers.create(
        { "transactional.id": id, "client.id": clientId, "linger.ms": 5 },
        { logger: silentLogger },
      );
    const first = make("dc-zombie");
    await first.initTransactions();
    first.beginTransaction();
    await first.send({ topic, value: "zombie" });
    const second = make("dc-successor");
    await second.initTransactions();
    expect(fatal).toEqual([]);
    await first.commitTransaction().catch(() => {});
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ clientId: "dc-zombie", transactionalId: id });
    expect(fatal[0]!.error.message).toMatch(/PRODUCER_FENCED|INVALID_PRODUCER_EPOCH/);
  });
});
