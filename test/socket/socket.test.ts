/**
 * The socket parser against every error of docs/event-kafka.md ("The socket"),
 * and valid edge cases.
 */
import { describe, expect, it } from "vitest";
import {
  formatSocket,
  parseSocket,
  producerKey,
  producerPropertiesOf,
  SocketError,
  socketsEqual,
} from "../../src/socket/socket.js";

function errorOf(input: string): SocketError {
  try {
    parseSocket(input);
  } catch (e) {
    expect(e).toBeInstanceOf(SocketError);
    return e as SocketError;
  }
  throw new Error(`no error for ${input}`);
}

describe("socket parser: the error table", () => {
  // [input, reason pattern, column] — columns are 1-based and counted by hand.
  const rows: [string, RegExp, number][] = [
    ["kafka:127.0.0.1:9092", /^missing topic$/, 21], // no '/'
    ["kafka:127.0.0.1:9092/", /^missing topic$/, 22], // '/' last
    ["kafka:127.0.0.1:9092?g.linger.ms=1/t", /^missing topic$/, 21], // '?' before '/'
    ["kafka:h:9092/a/b", /^unexpected '\/'$/, 15], // a second '/' before '?'
    ["kafka:h:9092/topic?", /^missing properties after '\?'$/, 19], // '?' last
    ["kafka:h:9092/t?g.linger.ms=1&", /^missing property name$/, 30], // '&' with nothing after
    ["kafka:h:9092/t?&g.linger.ms=1", /^missing property name$/, 16], // '&' with no name before
    ["kafka:h:9092/t?g.linger.ms", /^missing property name: "g.linger.ms" has no '='$/, 16],
    ["kafka:h:9092/t?=5", /^missing property name before '='$/, 16], // '=v'
    ["kafka:h:9092/t?a=b=c", /^unexpected '='$/, 19], // 'a=b=c'
    ["kafka:h:9092/t?linger.ms=5", /^unknown property prefix in "linger.ms"/, 16],
    ["kafka:h:9092/t?x.linger.ms=5", /^unknown property prefix in "x.linger.ms"/, 16],
    ["kafka:h:9092/t?key=from", /^unsupported value for key: "from"/, 20],
    [
      "kafka:h:9092/t?g.transactional.id=x",
      /^unsupported property "g.transactional.id": events are not published in transactions/,
      16,
    ],
    ["kafka:h:9092/t?g.no.such.thing=1", /^No such configuration property: "no.such.thing"$/, 16],
    ["kafka:h:9092/t?t.linger.ms=1", /^No such topic configuration property: "linger.ms"$/, 16],
    [
      "kafka:h:9092/t?g.linger.ms=soon",
      /^Invalid value "soon" for configuration property "linger.ms": expected an integer in 0..900000$/,
      16,
    ],
    ["kafka:h:9092/t?t.acks=2000", /^Invalid value "2000" for configuration property "acks"/, 16],
    [
      "kafka:h:9092/t?g.compression.codec=brotli",
      /^Invalid value "brotli" for configuration property "compression.codec"/,
      16,
    ],
    ["kafka:/topic", /^invalid brokers: the broker list is empty$/, 7],
    ["kafka:h:99999/topic", /^invalid brokers: "h:99999" is not host:port$/, 7],
    ["kafka:a:1,,b:2/topic", /^invalid brokers: "" is not host:port$/, 11],
    ["kafka:h:9092/?g.linger.ms=1", /^invalid topic: the topic name is empty$/, 14],
    ["kafka:h:9092/bad topic", /^invalid topic: "bad topic"/, 14],
    ["kafka:h:9092/..", /^invalid topic: "\.\."/, 14],
    [`kafka:h:9092/${"x".repeat(250)}`, /^invalid topic:/, 14],
    ["kafka:h:9092/t?g.bootstrap.servers=x:1", /^unsupported property "g.bootstrap.servers"/, 16],
    ["kafka:h:9092/t?g.linger.ms=%zz", /^invalid value: bad percent-escape in "%zz"$/, 28],
    ["kafkah:9092/t", /^missing "kafka:" prefix$/, 1],
    ["KAFKA:h:9092/t", /^missing "kafka:" prefix$/, 1], // the prefix is case-sensitive
  ];
  for (const [input, reason, column] of rows) {
    it(`refuses ${JSON.stringify(input.length > 60 ? `${input.slice(0, 57)}...` : input)}`, () => {
      const e = errorOf(input);
      expect(e.reason).toMatch(reason);
      expect(e.column).toBe(column);
      expect(e.input).toBe(input);
      expect(e.message).toBe(`invalid kafka socket "${input}": ${e.reason} at column ${column}`);
    });
  }
});

describe("socket parser: valid sockets", () => {
  it("parses brokers, topic and properties", () => {
    const s = parseSocket(
      "kafka:10.0.0.1:9092,kafka2,[::1]:9093/events.sip-1?g.linger.ms=20&t.acks=all&key=callid&g.client.id=opensips",
    );
    expect(s.brokers).toEqual(["10.0.0.1:9092", "kafka2:9092", "[::1]:9093"]);
    expect(s.topic).toBe("events.sip-1");
    expect(s.keyCallId).toBe(true);
    expect(s.properties.map((p) => p.name)).toEqual([
      "g.linger.ms",
      "t.acks",
      "key",
      "g.client.id",
    ]);
    expect(s.producerProperties).toEqual({
      "linger.ms": "20",
      "request.required.acks": "all",
      "client.id": "opensips",
    });
    expect(producerPropertiesOf(s)).toMatchObject({
      "bootstrap.servers": "10.0.0.1:9092,kafka2:9092,[::1]:9093",
    });
  });

  it("lets property values hold '/' and '?', and decodes %XX escapes", () => {
    const s = parseSocket("kafka:h:1/t?g.client.id=a/b?c&t.partitioner=murmur2&g.linger.ms=%31%30");
    expect(s.producerProperties["client.id"]).toBe("a/b?c");
    expect(s.producerProperties["linger.ms"]).toBe("10");
    const amp = parseSocket("kafka:h:1/t?g.client.id=x%26y%3Dz");
    expect(amp.producerProperties["client.id"]).toBe("x&y=z");
  });

  it("keeps the first of duplicate properties, aliases included", () => {
    const s = parseSocket("kafka:h:1/t?g.linger.ms=1&g.linger.ms=2&g.queue.buffering.max.ms=3");
    expect(s.producerProperties["linger.ms"]).toBe("1");
    expect(s.properties).toHaveLength(1);
    const scopes = parseSocket("kafka:h:1/t?t.acks=1&g.acks=0");
    expect(scopes.producerProperties["request.required.acks"]).toBe("1");
  });

  it("refuses a duplicate property when asked to (the CLI), naming both names", () => {
    const opts = { refuseDuplicates: true };
    expect(() => parseSocket("kafka:h:1/t?g.linger.ms=1&g.queue.buffering.max.ms=3", opts)).toThrow(
      'property "linger.ms" is given twice, as "g.linger.ms" and as "g.queue.buffering.max.ms" (keep one) at column 27',
    );
    expect(() => parseSocket("kafka:h:1/t?key=callid&key=callid", opts)).toThrow(
      /property "key" is given twice \(keep one\) at column 24/,
    );
    expect(parseSocket("kafka:h:1/t?g.linger.ms=1&t.acks=1", opts).properties).toHaveLength(2);
  });

  it("takes a socket without a topic only when told (the CLI's metadata command)", () => {
    const s = parseSocket("kafka:h1:1,h2?g.client.id=x", { topicOptional: true });
    expect(s.brokers).toEqual(["h1:1", "h2:9092"]);
    expect(s.topic).toBe("");
    expect(s.producerProperties["client.id"]).toBe("x");
    expect(parseSocket("kafka:h:1", { topicOptional: true }).topic).toBe("");
    expect(parseSocket("kafka:h:1/t", { topicOptional: true }).topic).toBe("t");
    expect(() => parseSocket("kafka:h:1")).toThrow(/missing topic/);
    expect(() => parseSocket("kafka:h:1/", { topicOptional: true })).toThrow(/missing topic/);
  });

  it("accepts librdkafka's global names that start with topic.", () => {
    const s = parseSocket("kafka:h:1/t?g.topic.metadata.refresh.interval.ms=1000");
    expect(s.producerProperties["topic.metadata.refresh.interval.ms"]).toBe("1000");
  });

  it("prints kafka:BROKERS/TOPIC without properties", () => {
    const s = parseSocket("kafka:h/t1?g.linger.ms=1");
    expect(formatSocket(s)).toBe("kafka:h:9092/t1");
  });

  it("compares whole strings and shares producers by brokers and properties", () => {
    const a = parseSocket("kafka:h:1/t1?g.linger.ms=1&key=callid");
    const b = parseSocket("kafka:h:1/t1?g.linger.ms=1&key=callid");
    const c = parseSocket("kafka:h:1/t2?g.linger.ms=1");
    const d = parseSocket("kafka:h:1/t1?g.linger.ms=2");
    expect(socketsEqual(a, b)).toBe(true);
    expect(socketsEqual(a, c)).toBe(false);
    expect(producerKey(a)).toBe(producerKey(c)); // topic and key=callid do not matter
    expect(producerKey(a)).not.toBe(producerKey(d));
  });

  it("accepts a socket without the prefix only when asked to", () => {
    expect(parseSocket("h:1/t", { prefixOptional: true }).topic).toBe("t");
    expect(() => parseSocket("h:1/t")).toThrow(SocketError);
  });
});
