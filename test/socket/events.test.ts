/**
 * Events and kafka_publish against the real broker: records read back
 * byte-exact with the Java reader (Apache Kafka's own consumer), keys included
 * (a missing key is null, not empty), and delivery reports for success and for
 * each kind of failure.
 */
import { afterAll, describe, expect, inject, it } from "vitest";
import type { EventStatus, PublishReport } from "../../src/socket/index.js";
import { EventKafka, eventPayload } from "../../src/socket/index.js";
import { javaConsume, text } from "../broker/java-reader.js";
import { uniqueTopic } from "../helpers/topics.js";
import { waitFor } from "../helpers/wait.js";

const bootstrap = inject("kafkaBootstrap");
const kafka = new EventKafka({ closeTimeoutMs: 5000 });
afterAll(async () => {
  await kafka.close(5000);
});

/** A port on loopback where nothing listens. */
const DEAD_BROKER = "127.0.0.1:1";

/** Resolves with `list` once it holds `n` entries. */
function waitForCount<T>(list: T[], n: number, timeoutMs = 20000): Promise<T[]> {
  return waitFor(`${n} reports`, () => (list.length >= n ? list : undefined), timeoutMs, 20);
}

describe("JSON-RPC payload", () => {
  it("is the compact notification of the behaviour doc", () => {
    expect(eventPayload("E_PIKE_BLOCKED", { ip: "192.168.2.11" })).toBe(
      '{"jsonrpc":"2.0","method":"E_PIKE_BLOCKED","params":{"ip":"192.168.2.11"}}',
    );
    expect(eventPayload("E_X")).toBe('{"jsonrpc":"2.0","method":"E_X"}');
    expect(eventPayload("E_X", {})).toBe('{"jsonrpc":"2.0","method":"E_X"}');
    expect(eventPayload("E_X", [])).toBe('{"jsonrpc":"2.0","method":"E_X"}');
    expect(eventPayload("E_X", [1, "a", null])).toBe(
      '{"jsonrpc":"2.0","method":"E_X","params":[1,"a",null]}',
    );
    expect(eventPayload("E_X", { n: -3, s: 'q"\\\n', z: null })).toBe(
      '{"jsonrpc":"2.0","method":"E_X","params":{"n":-3,"s":"q\\"\\\\\\n","z":null}}',
    );
    expect(JSON.parse(eventPayload("E_Ü", { ключ: "✓" }))).toEqual({
      jsonrpc: "2.0",
      method: "E_Ü",
      params: { ключ: "✓" },
    });
    expect(() => eventPayload("E_X", { bad: Number.NaN })).toThrow(/event parameter "bad"/);
    expect(() => eventPayload("E_X", { bad: true as unknown as string })).toThrow(/boolean/);
  });
});

describe("event transport against the broker", () => {
  it("publishes raised events keyed by Call-ID and reports their delivery", async () => {
    const topic = uniqueTopic("ev-pike");
    const socket = `kafka:${bootstrap}/${topic}?key=callid&g.linger.ms=1`;
    kafka.subscribe("E_PIKE_BLOCKED", socket, 60);
    const statuses: EventStatus[] = [];
    const onStatus = (s: EventStatus) => statuses.push(s);
    expect(
      kafka.raise(
        "E_PIKE_BLOCKED",
        { ip: "192.168.2.11" },
        { callId: "a84b4c76e66710@pc33", onStatus },
      ),
    ).toBe(1);
    expect(kafka.raise("E_PIKE_BLOCKED", ["x", 7, null], { onStatus })).toBe(1);
    expect(kafka.raise("E_PIKE_BLOCKED", undefined, { callId: "", onStatus })).toBe(1);
    expect(kafka.raise("E_NOBODY_LISTENS", { a: 1 })).toBe(0);
    await waitForCount(statuses, 3);
    expect(statuses.map((s) => s.status)).toEqual([0, 0, 0]);
    expect(statuses.every((s) => s.offset >= 0 && s.socket === socket)).toBe(true);

    const back = await javaConsume(bootstrap, topic);
    back.sort((a, b) => a.timestamp - b.timestamp || a.offset - b.offset);
    const byValue = new Map(back.map((r) => [text(r.value)!, r]));
    const first = byValue.get(
      '{"jsonrpc":"2.0","method":"E_PIKE_BLOCKED","params":{"ip":"192.168.2.11"}}',
    );
    expect(first?.key).toEqual(Buffer.from("a84b4c76e66710@pc33"));
    const second = byValue.get('{"jsonrpc":"2.0","method":"E_PIKE_BLOCKED","params":["x",7,null]}');
    expect(second).toBeDefined();
    expect(second!.key).toBeNull(); // no Call-ID given
    const third = byValue.get('{"jsonrpc":"2.0","method":"E_PIKE_BLOCKED"}');
    expect(third).toBeDefined();
    expect(third!.key).toBeNull(); // empty Call-ID: no key (null, not empty)
    expect(back).toHaveLength(3);
    expect(kafka.unsubscribe("E_PIKE_BLOCKED", socket)).toBe(true);
  });

  it("refreshes a re-subscribed socket, shares producers, and expires subscriptions", async () => {
    const topic = uniqueTopic("ev-subs");
    const local = new EventKafka({ closeTimeoutMs: 2000 });
    const a = `kafka:${bootstrap}/${topic}?g.linger.ms=2`;
    const b = `kafka:${bootstrap}/${topic}-other?g.linger.ms=2`;
    local.subscribe("E_A", a);
    local.subscribe("E_A", a); // same string: refreshed, not added twice
    local.subscribe("E_B", b, 1);
    expect(local.events.subscribers("E_A")).toEqual([a]);
    expect(local.producerCount).toBe(1); // same brokers and properties share a producer
    expect(local.raise("E_A", { n: 1 })).toBe(1);
    // E_B expires after one second and its producer use is released.
    await new Promise((r) => setTimeout(r, 1300));
    expect(local.events.subscribers("E_B")).toEqual([]);
    expect(local.raise("E_B", { n: 1 })).toBe(0);
    expect(local.unsubscribe("E_A", a)).toBe(true);
    expect(local.unsubscribe("E_A", a)).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(local.producerCount).toBe(0); // nothing uses it any more: closed
    await local.close(2000);
    const back = await javaConsume(bootstrap, topic);
    expect(back.map((r) => [r.key, text(r.value)])).toEqual([
      [null, '{"jsonrpc":"2.0","method":"E_A","params":{"n":1}}'],
    ]);
  });

  it("refuses a malformed socket at subscribe time", () => {
    expect(() => kafka.subscribe("E_X", "kafka:h:1/a/b")).toThrow(
      "invalid kafka socket \"kafka:h:1/a/b\": unexpected '/' at column 12",
    );
  });

  it("reports failure when the broker is down at the message timeout", async () => {
    const socket = `kafka:${DEAD_BROKER}/ev-dead?t.message.timeout.ms=1500&g.reconnect.backoff.max.ms=200`;
    kafka.subscribe("E_DEAD", socket);
    const statuses: EventStatus[] = [];
    expect(kafka.raise("E_DEAD", { a: 1 }, { onStatus: (s) => statuses.push(s) })).toBe(1);
    await waitForCount(statuses, 1, 10000);
    expect(statuses[0]?.status).toBe(-1);
    expect(statuses[0]?.error?.message).toMatch(/message\.timeout\.ms/);
    kafka.unsubscribe("E_DEAD", socket);
  });
});

describe("broker_id and kafka_publish against the broker", () => {
  it("publishes with and without keys and reports each record once", async () => {
    const topic = uniqueTopic("pub");
    const id = kafka.addBroker(`  [k1]kafka:${bootstrap}/${topic}?g.linger.ms=1&t.acks=1`);
    expect(id).toBe("k1");
    const reports: PublishReport[] = [];
    const report = (r: PublishReport) => reports.push(r);
    expect(kafka.publish("k1", "my msg content", "a84b4c76e66710@pc33", report)).toBe(1);
    expect(kafka.publish("k1", "no key", undefined, report)).toBe(1);
    expect(kafka.publish("k1", "empty key", "", report)).toBe(1);
    expect(kafka.publish("k1", "ünïcødé ✓", "ключ", report)).toBe(1);
    expect(kafka.publish("nope", "x")).toBe(-1);
    await waitForCount(reports, 4);
    await new Promise((r) => setTimeout(r, 100));
    expect(reports).toHaveLength(4); // exactly one report per record
    // Records of different partitions may be reported in any order.
    expect(reports.map((r) => [r.id, r.status, r.key, r.msg]).sort()).toEqual(
      [
        ["k1", 0, "a84b4c76e66710@pc33", "my msg content"],
        ["k1", 0, "", "no key"],
        ["k1", 0, "", "empty key"],
        ["k1", 0, "ключ", "ünïcødé ✓"],
      ].sort(),
    );
    const back = await javaConsume(bootstrap, topic);
    const got = back.map((r) => [text(r.key), text(r.value)]).sort();
    expect(got).toEqual(
      [
        ["a84b4c76e66710@pc33", "my msg content"],
        [null, "no key"],
        [null, "empty key"],
        ["ключ", "ünïcødé ✓"],
      ].sort(),
    );
    for (const r of reports) {
      const rec = back.find((b) => text(b.value) === r.msg);
      expect(rec?.partition).toBe(r.partition);
      expect(rec?.offset).toBe(r.offset);
    }
  });

  it("refuses bad broker_id values with the doc's errors", () => {
    expect(() => kafka.addBroker("k2]kafka:h:1/t")).toThrow(
      'invalid broker_id "k2]kafka:h:1/t": expected [ID] before the socket',
    );
    expect(() => kafka.addBroker("[]kafka:h:1/t")).toThrow(/the ID between \[ and \] is empty/);
    expect(() => kafka.addBroker("[k3kafka:h:1/t")).toThrow(/missing '\]' after the ID/);
    kafka.addBroker("[dup]h:1/t"); // the kafka: prefix is optional here
    expect(() => kafka.addBroker("[dup]kafka:h:1/t")).toThrow(/duplicate ID "dup"/);
    expect(() => kafka.addBroker("[k4]kafka:h:1/t?g.nope=1")).toThrow(
      /No such configuration property: "nope"/,
    );
    expect(() => kafka.brokers.check("k9")).toThrow(/unknown broker ID "k9"/);
  });

  it("returns -1 for a record over message.max.bytes and reports nothing for it", async () => {
    kafka.addBroker(`[small]kafka:${bootstrap}/${uniqueTopic("small")}?g.message.max.bytes=1000`);
    const reports: PublishReport[] = [];
    expect(kafka.publish("small", "x".repeat(2000), undefined, (r) => reports.push(r))).toBe(-1);
    await new Promise((r) => setTimeout(r, 100));
    expect(reports).toEqual([]);
  });

  it("returns -1 when the queue is full", () => {
    kafka.addBroker(
      `[full]kafka:${DEAD_BROKER}/full?g.queue.buffering.max.messages=3&t.message.timeout.ms=1000`,
    );
    const results = [1, 2, 3, 4, 5].map((i) => kafka.publish("full", `m${i}`));
    expect(results).toEqual([1, 1, 1, -1, -1]);
  });

  it("reports failure when the broker is down at the message timeout", async () => {
    const reports: PublishReport[] = [];
    kafka.addBroker(
      `[gone]kafka:${DEAD_BROKER}/gone-topic?t.message.timeout.ms=1200&g.reconnect.backoff.max.ms=100`,
    );
    expect(kafka.publish("gone", "lost", "k", (r) => reports.push(r))).toBe(1);
    await waitForCount(reports, 1, 10000);
    expect(reports[0]).toMatchObject({ id: "gone", status: -1, key: "k", msg: "lost" });
    expect(reports[0]?.error?.message).toMatch(/not delivered/);
  });
});
