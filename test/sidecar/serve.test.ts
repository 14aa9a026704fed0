/**
 * `event-kafka serve` against the real broker, driven by a sender written
 * from event_stream's and event_datagram's documented wire format, read back
 * with the Java consumer.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { javaConsume, text } from "../broker/java-reader.js";
import { prng } from "../helpers/bytes.js";
import {
  expectedValue,
  httpGet,
  metric,
  type Params,
  ServeProcess,
  StreamSender,
  streamPayload,
  udpSend,
  unixSend,
} from "../helpers/opensips-sender.js";
import { uniqueTopic } from "../helpers/topics.js";

const bootstrap = inject("kafkaBootstrap");
const cdr = uniqueTopic("sc-cdr");
const other = uniqueTopic("sc-other");
const pike = uniqueTopic("sc-pike");
const unixPath = `/tmp/event-kafka-test-${process.pid}.sock`;
let serve: ServeProcess;

beforeAll(async () => {
  serve = await ServeProcess.start([
    "--tcp",
    "127.0.0.1:0",
    "--udp",
    "127.0.0.1:0",
    "--unix",
    unixPath,
    "--http",
    "127.0.0.1:0",
    "--event-param",
    "opensips_event",
    "--route",
    `E_ACC_CDR=kafka:${bootstrap}/${cdr}?key=callid&g.linger.ms=5`,
    "--route",
    `E_PIKE_BLOCKED=kafka:${bootstrap}/${pike}?key=param:ip`,
    "--route",
    `E_DG_*=kafka:${bootstrap}/${other}`,
  ]);
});

afterAll(() => serve?.kill());

function sortedPairs(list: { key: string | null; value: string | null }[]): string[] {
  return list.map((r) => `${r.key}\u0000${r.value}`).sort();
}

describe("event-kafka serve", () => {
  it("publishes 100k TCP events, back to back, split anywhere, values and keys exact", async () => {
    const n = 100_000;
    const peers = 4;
    const rand = prng(14);
    const expected: { key: string | null; value: string | null }[] = [];
    const senders = await Promise.all(
      Array.from({ length: peers }, () => StreamSender.open(serve.port("tcp"))),
    );
    await Promise.all(
      senders.map(async (s, p) => {
        let chunk = "";
        for (let i = p; i < n; i += peers) {
          const params: Params =
            i % 10 === 9
              ? { duration: i, note: `ünïcødé "quoted" \\ {brace} #${i}` }
              : {
                  callid: `call-${i}@10.0.0.${i % 7}`,
                  duration: i,
                  caller: null,
                  to: `sip:${i}@ex`,
                };
          const key = "callid" in params ? (params.callid as string) : null;
          expected.push({
            key,
            value: expectedValue("E_ACC_CDR", params, { pretty: i % 5 === 0 }),
          });
          chunk += streamPayload("E_ACC_CDR", params, { pretty: i % 5 === 0, nullId: i % 3 === 0 });
          if (i % 2 === 0) chunk += "\n";
          if (chunk.length > 20_000) {
            // Cut at a random byte, not at a message boundary.
            const buf = Buffer.from(chunk);
            const cut = Math.floor(rand() * buf.length);
            await s.write(buf.subarray(0, cut));
            await s.write(buf.subarray(cut));
            chunk = "";
          }
        }
        await s.write(chunk);
        s.end();
        await s.waitClosed(60_000);
      }),
    );
    const read = await javaConsume(bootstrap, cdr, { count: n, timeoutMs: 120_000 });
    expect(read).toHaveLength(n);
    const got = read.map((r) => ({ key: text(r.key), value: text(r.value) }));
    expect(sortedPairs(got)).toEqual(sortedPairs(expected));
    // A notification gets no answer.
    expect(senders.every((s) => s.answers.size === 0)).toBe(true);
  }, 240_000);

  it("answers requests only after the Kafka ack; event_param names the event", async () => {
    const s = await StreamSender.open(serve.port("tcp"));
    const n = 2000;
    let chunk = "";
    for (let i = 1; i <= n; i++) {
      chunk += streamPayload(
        "handle_cmd",
        { opensips_event: "E_PIKE_BLOCKED", ip: `10.1.${i >> 8}.${i & 255}` },
        { id: i },
      );
    }
    await s.write(chunk);
    await s.waitAnswers(n);
    for (let i = 1; i <= n; i++)
      expect(s.answers.get(i)).toEqual({ jsonrpc: "2.0", result: "ok", id: i });
    // Every answer is the fixed size OpenSIPS's reader needs (stream-answers.ts), and that
    // reader would have taken every one of them.
    expect(s.answerSizes.every((b) => b === 2048)).toBe(true);
    expect(s.opensips.failure).toBeUndefined();
    expect(s.opensips.handled).toHaveLength(n);
    const read = await javaConsume(bootstrap, pike, { count: n });
    const got = read.map((r) => ({ key: text(r.key), value: text(r.value) }));
    const want = Array.from({ length: n }, (_, j) => {
      const i = j + 1;
      const params = { opensips_event: "E_PIKE_BLOCKED", ip: `10.1.${i >> 8}.${i & 255}` };
      return { key: params.ip, value: expectedValue("E_PIKE_BLOCKED", params) };
    });
    expect(sortedPairs(got)).toEqual(sortedPairs(want));
    s.end();
  }, 120_000);

  it("bad input gets its error, garbage disconnects its peer, and nothing else is lost", async () => {
    const before = (await httpGet(serve.port("http"), "/metrics")).body;
    const badMetric = (body: string, reason: string) =>
      metric(body, "event_kafka_sidecar_bad_input_total", {
        listener: `tcp:${serve.addresses.get("tcp")}`,
        reason,
      }) ?? 0;
    const good = await StreamSender.open(serve.port("tcp"));
    const noMethod = await StreamSender.open(serve.port("tcp"));
    const garbage = await StreamSender.open(serve.port("tcp"));
    const oversize = await StreamSender.open(serve.port("tcp"));
    const notObject = await StreamSender.open(serve.port("tcp"));
    const params = (i: number) => ({ callid: `bad-test-${i}`, n: i });

    // A request without a method: its error, and the connection stays usable.
    await noMethod.write('{"id":1,"jsonrpc":"2.0","params":{}}');
    await noMethod.write(streamPayload("E_NOBODY_LISTENS", params(0), { id: 2 }));
    await noMethod.write(streamPayload("E_ACC_CDR", params(-1), { id: 3 }));
    await noMethod.waitAnswers(3);
    expect(noMethod.answers.get(1)).toMatchObject({ id: 1, error: { code: -32600 } });
    expect(noMethod.answers.get(2)).toMatchObject({
      id: 2,
      error: { code: -32601, message: 'no route for event "E_NOBODY_LISTENS"' },
    });
    expect(noMethod.answers.get(3)).toEqual({ jsonrpc: "2.0", result: "ok", id: 3 });
    expect(noMethod.closed).toBe(false);

    // Malformed JSON after a good request: the request is answered, then the peer is cut.
    await garbage.write(streamPayload("E_ACC_CDR", params(-2), { id: 10 }));
    await garbage.write('{"id":11,"jsonrpc":"2.0","method":"E_ACC_CDR","params":{"a":tru}}');
    await garbage.write(streamPayload("E_ACC_CDR", params(-3), { id: 12 }));
    await garbage.waitClosed();
    expect(garbage.answers.get(10)).toEqual({ jsonrpc: "2.0", result: "ok", id: 10 });
    expect(garbage.answers.has(12)).toBe(false);

    // A message over --max-frame (1,000,000 bytes by default) is skipped and answered, and the
    // connection goes on; 70,000 bytes are taken.
    await oversize.write(
      streamPayload("E_ACC_CDR", { callid: "big-1", x: "a".repeat(1_100_000) }, { id: 20 }),
    );
    await oversize.write(
      streamPayload("E_ACC_CDR", { callid: "big-2", x: "b".repeat(70_000) }, { id: 21 }),
    );
    await oversize.waitAnswers(2);
    expect(oversize.answers.get(20)).toMatchObject({ id: 20, error: { code: -32600 } });
    expect(oversize.answers.get(21)).toEqual({ jsonrpc: "2.0", result: "ok", id: 21 });
    expect(oversize.closed).toBe(false);
    expect(oversize.opensips.failure).toBeUndefined();
    await notObject.write("hello\n");
    await notObject.waitClosed();

    // Meanwhile another peer's requests all go through.
    let chunk = "";
    for (let i = 100; i < 1100; i++) chunk += streamPayload("E_ACC_CDR", params(i), { id: i });
    await good.write(chunk);
    await good.waitAnswers(1000);
    expect([...good.answers.values()].every((a) => a.result === "ok")).toBe(true);
    expect(good.closed).toBe(false);
    expect(good.opensips.failure).toBeUndefined();
    expect(noMethod.opensips.failure).toBeUndefined();

    const after = (await httpGet(serve.port("http"), "/metrics")).body;
    for (const [reason, n] of [
      ["no_method", 1],
      ["malformed_json", 1],
      ["too_large", 1],
      ["not_object", 1],
    ] as const) {
      expect(badMetric(after, reason) - badMetric(before, reason)).toBe(n);
    }
    const dropped = (b: string) =>
      metric(b, "event_kafka_sidecar_events_dropped_total", { reason: "no_route" }) ?? 0;
    expect(dropped(after) - dropped(before)).toBe(1);
    // The log names the peer and the cause.
    expect(serve.stderr).toMatch(/bad input from 127\.0\.0\.1:\d+ \(tcp:[^)]+\): malformed JSON/);
    expect(serve.stderr).toContain('no route for event "E_NOBODY_LISTENS"');
    good.end();
    noMethod.end();
    oversize.end();
  }, 120_000);

  it("takes event_datagram's UDP and UNIX datagrams; a bad one is counted, not fatal", async () => {
    const n = 1000;
    const udp: string[] = [];
    const unix: string[] = [];
    const want: string[] = [];
    for (let i = 0; i < n; i++) {
      const p = { src: "udp", i };
      udp.push(streamPayload("E_DG_UDP", p));
      want.push(expectedValue("E_DG_UDP", p));
      // Positional, a number first: with event_param set, a string first would be the event name.
      const q: Params = [i, "unix"];
      unix.push(streamPayload("E_DG_UNIX", q));
      want.push(expectedValue("E_DG_UNIX", q));
    }
    udp.splice(
      500,
      0,
      "{not json",
      '{"jsonrpc":"2.0","method":"E_DG_UDP","id":77,"params":{"asked":1}}',
    );
    want.push(expectedValue("E_DG_UDP", { asked: 1 }));
    unix.splice(300, 0, "[1,2]");
    const answers = await udpSend(serve.port("udp"), udp, 1);
    await unixSend(unixPath, unix);
    expect(answers.map((a) => JSON.parse(a))).toEqual([{ jsonrpc: "2.0", result: "ok", id: 77 }]);
    const read = await javaConsume(bootstrap, other, { count: want.length, timeoutMs: 60_000 });
    expect(read.map((r) => text(r.value)).sort()).toEqual(want.sort());
    const m = (await httpGet(serve.port("http"), "/metrics")).body;
    expect(
      metric(m, "event_kafka_sidecar_bad_input_total", {
        listener: `udp:${serve.addresses.get("udp")}`,
        reason: "malformed_json",
      }),
    ).toBe(1);
    expect(
      metric(m, "event_kafka_sidecar_bad_input_total", {
        listener: `unix:${unixPath}`,
        reason: "not_object",
      }),
    ).toBe(1);
    expect(
      metric(m, "event_kafka_sidecar_events_received_total", { listener: `unix:${unixPath}` }),
    ).toBe(n + 1);
    expect(
      metric(m, "event_kafka_sidecar_events_received_total", {
        listener: `udp:${serve.addresses.get("udp")}`,
      }),
    ).toBe(n + 2);
  }, 120_000);

  it("serves /health and /metrics, and drains on SIGTERM with a summary", async () => {
    const health = await httpGet(serve.port("http"), "/health");
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: "ok" });
    const m = (await httpGet(serve.port("http"), "/metrics")).body;
    expect(m).toContain("# TYPE event_kafka_sidecar_events_published_total counter");
    expect(
      metric(m, "event_kafka_sidecar_events_published_total", { route: "E_ACC_CDR", topic: cdr }),
    ).toBe(100_000 + 1 + 1 + 1 + 1000);
    expect(metric(m, "event_kafka_sidecar_producer_queue_records")).toBe(0);
    expect((await httpGet(serve.port("http"), "/nothing")).status).toBe(404);

    // Requests sent just before SIGTERM are still answered.
    const s = await StreamSender.open(serve.port("tcp"));
    let chunk = "";
    for (let i = 1; i <= 200; i++)
      chunk += streamPayload("E_ACC_CDR", { callid: `last-${i}` }, { id: i });
    await s.write(chunk);
    await new Promise((r) => setTimeout(r, 50));
    const { code, summary } = await serve.stop();
    await s.waitClosed();
    const answered = [...s.answers.values()];
    expect(
      answered.filter((a) => a.result === "ok").length + answered.filter((a) => a.error).length,
    ).toBe(answered.length);
    expect(code).toBe(0);
    expect(summary).toMatchObject({ failed: 0, lost_at_shutdown: 0 });
    expect(summary.published).toBeGreaterThanOrEqual(100_000 + 2000 + 1003 + 2001);
    expect(serve.stderr).toContain("SIGTERM: draining");
  }, 60_000);
});
