import { describe, expect, it } from "vitest";
import { reconnectDelay } from "../../src/client/broker-node.js";
import {
  ConfigError,
  defaultConfig,
  lookupProperty,
  PROPERTIES,
  type ProducerProperties,
  propertiesMarkdown,
  resolveConfig,
} from "../../src/config/index.js";

describe("producer configuration", () => {
  it("has librdkafka's defaults, where the README says ours are the same", () => {
    const c = defaultConfig();
    // Values from librdkafka's CONFIGURATION.md (the original module passes them through).
    expect(c["request.required.acks"]).toBe(-1);
    expect(c["message.timeout.ms"]).toBe(300000);
    expect(c["linger.ms"]).toBe(5);
    expect(c["batch.num.messages"]).toBe(10000);
    expect(c["batch.size"]).toBe(1000000);
    expect(c["queue.buffering.max.messages"]).toBe(100000);
    expect(c["queue.buffering.max.kbytes"]).toBe(1048576);
    expect(c["message.max.bytes"]).toBe(1000000);
    expect(c["compression.codec"]).toBe("none");
    expect(c.partitioner).toBe("murmur2_random");
    expect(c["retry.backoff.ms"]).toBe(100);
    expect(c["max.in.flight.requests.per.connection"]).toBe(5);
  });

  it("accepts aliases and text values", () => {
    const c = resolveConfig({ acks: "all", "queue.buffering.max.ms": "20", linger: undefined });
    expect(c["request.required.acks"]).toBe(-1);
    expect(c["linger.ms"]).toBe(20);
    expect(resolveConfig({ "socket.keepalive.enable": "true" })["socket.keepalive.enable"]).toBe(
      true,
    );
    expect(resolveConfig({ "compression.type": "lz4" })["compression.codec"]).toBe("lz4");
  });

  it("refuses a property given twice, by its name and an alias", () => {
    expect(() => resolveConfig({ "linger.ms": 1, "queue.buffering.max.ms": 50 })).toThrow(
      'Configuration property "linger.ms" is given twice, as "linger.ms" and as "queue.buffering.max.ms": keep one',
    );
    expect(() => resolveConfig({ acks: "all", "request.required.acks": 1 })).toThrow(
      /"request.required.acks" is given twice, as "acks" and as "request.required.acks"/,
    );
  });

  it("suggests the nearest known name for a misspelt one", () => {
    expect(() => resolveConfig({ "lingr.ms": 5 } as ProducerProperties)).toThrow(
      'No such configuration property: "lingr.ms" (did you mean "linger.ms"?)',
    );
    expect(() => resolveConfig({ "compresion.codec": "lz4" } as ProducerProperties)).toThrow(
      /\(did you mean "compression.codec"\?\)$/,
    );
    expect(() => resolveConfig({ Acks: 1 } as ProducerProperties)).toThrow(
      /\(did you mean "acks"\?\)$/,
    );
    // Far from every name: no guess.
    expect(() => resolveConfig({ "no.such.thing": 1 } as ProducerProperties)).toThrow(
      /^No such configuration property: "no.such.thing"$/,
    );
  });

  it("checks names and value types at compile time", () => {
    // Each line below must fail to typecheck (npm test runs tsc over the tests).
    // @ts-expect-error a misspelt name
    const misspelt: ProducerProperties = { "lingr.ms": 5 };
    // @ts-expect-error a codec that does not exist
    const codec: ProducerProperties = { "compression.codec": "brotli" };
    // @ts-expect-error a number where a boolean is wanted
    const flag: ProducerProperties = { "enable.idempotence": 2 };
    const fine: ProducerProperties = { acks: "all", "linger.ms": 5, "compression.type": "lz4" };
    expect([misspelt, codec, flag, fine]).toHaveLength(4);
    expect(resolveConfig(fine)["request.required.acks"]).toBe(-1);
  });

  it("refuses unknown names with librdkafka's wording", () => {
    expect(() => resolveConfig({ "no.such.thing": 1 })).toThrow(
      'No such configuration property: "no.such.thing"',
    );
    try {
      resolveConfig({ "no.such.thing": 1 });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).property).toBe("no.such.thing");
    }
  });

  it("refuses bad values naming the property and the expected range", () => {
    expect(() => resolveConfig({ "linger.ms": "abc" })).toThrow(
      'Invalid value "abc" for configuration property "linger.ms": expected an integer in 0..900000',
    );
    expect(() => resolveConfig({ "linger.ms": 900001 })).toThrow(/linger\.ms/);
    expect(() => resolveConfig({ "linger.ms": 1.5 })).toThrow(/linger\.ms/);
    expect(() => resolveConfig({ acks: "most" })).toThrow(
      'Invalid value "most" for configuration property "acks": expected an integer in -1..1000 or all',
    );
    expect(() => resolveConfig({ partitioner: "round_robin" })).toThrow(
      /expected one of murmur2_random, consistent_random/,
    );
    expect(() => resolveConfig({ "socket.keepalive.enable": "yes" })).toThrow(
      /expected true or false/,
    );
    expect(() =>
      resolveConfig({ "reconnect.backoff.ms": 500, "reconnect.backoff.max.ms": 100 }),
    ).toThrow(/reconnect\.backoff\.max\.ms/);
  });

  it("caps the reconnect backoff at a second by default, however long the outage", () => {
    const c = defaultConfig();
    expect(c["reconnect.backoff.max.ms"]).toBe(1000);
    const settings = {
      reconnectBackoffMs: c["reconnect.backoff.ms"],
      reconnectBackoffMaxMs: c["reconnect.backoff.max.ms"],
    };
    // The most jitter can add (+50%) after 1, 5 and 50 failed attempts in a row.
    expect(reconnectDelay(1, settings, () => 1)).toBe(150);
    expect(reconnectDelay(5, settings, () => 1)).toBe(1000);
    expect(reconnectDelay(50, settings, () => 1)).toBe(1000);
  });

  it("makes the producer idempotent by default, off when acks or max.in.flight say otherwise", () => {
    expect(resolveConfig({})["enable.idempotence"]).toBe(true);
    // Left unset, idempotence gives way to settings it cannot work with (as the Java client does).
    expect(resolveConfig({ acks: 1 })["enable.idempotence"]).toBe(false);
    expect(resolveConfig({ acks: 0 })["enable.idempotence"]).toBe(false);
    expect(resolveConfig({ "max.in.flight": 6 })["enable.idempotence"]).toBe(false);
    expect(resolveConfig({ acks: "all", "max.in.flight": 5 })["enable.idempotence"]).toBe(true);
    expect(resolveConfig({ "enable.idempotence": false })["enable.idempotence"]).toBe(false);
    // Asked for explicitly, a conflict is an error in librdkafka's words.
    expect(() => resolveConfig({ "enable.idempotence": true, acks: 1 })).toThrow(
      "`acks` must be set to `all` when `enable.idempotence` is true",
    );
    expect(() =>
      resolveConfig({ "enable.idempotence": "true", "max.in.flight.requests.per.connection": 10 }),
    ).toThrow("`max.in.flight` must be set <= 5 when `enable.idempotence` is true");
  });

  it("a transactional.id implies idempotence and refuses what idempotence cannot work with", () => {
    const c = resolveConfig({ "transactional.id": "orders" });
    expect(c["enable.idempotence"]).toBe(true);
    expect(c["transaction.timeout.ms"]).toBe(60000);
    expect(() =>
      resolveConfig({ "transactional.id": "orders", "enable.idempotence": false }),
    ).toThrow("`transactional.id` needs `enable.idempotence`: remove enable.idempotence=false");
    expect(() => resolveConfig({ "transactional.id": "orders", acks: 1 })).toThrow(
      "`transactional.id` needs `acks` set to `all`",
    );
    expect(() => resolveConfig({ "transactional.id": "orders", "max.in.flight": 6 })).toThrow(
      "`transactional.id` needs `max.in.flight` <= 5 (it is 6)",
    );
    expect(() => resolveConfig({ "transaction.timeout.ms": 10 })).toThrow(
      'Invalid value "10" for configuration property "transaction.timeout.ms"',
    );
  });

  it("keeps topic-scoped lookups to topic properties", () => {
    expect(lookupProperty("acks", "topic")[0]).toBe("request.required.acks");
    expect(lookupProperty("compression.codec", "topic")[0]).toBe("compression.codec");
    expect(() => lookupProperty("linger.ms", "topic")).toThrow(
      'No such topic configuration property: "linger.ms"',
    );
    // Global lookups accept topic properties too, as librdkafka does.
    expect(lookupProperty("message.timeout.ms", "global")[0]).toBe("message.timeout.ms");
  });

  it("documents every property in the generated table", () => {
    const table = propertiesMarkdown();
    for (const name of Object.keys(PROPERTIES)) expect(table).toContain(`\`${name}\``);
    expect(table).toContain("`acks`");
  });
});
