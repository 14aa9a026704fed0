/** The sidecar's pure parts: stream framing, message reading, values, routes, throttled logs. */
import { describe, expect, it } from "vitest";
import { eventKey, eventValue, parseEventMessage } from "../../src/sidecar/event-message.js";
import { JsonFrameSplitter } from "../../src/sidecar/json-frames.js";
import { ThrottledLog } from "../../src/sidecar/peer-log.js";
import { parseRouteOption, RouteTable } from "../../src/sidecar/routes.js";
import { eventPayload } from "../../src/socket/events.js";

function frames(splitter: JsonFrameSplitter, chunks: Buffer[]): { out: string[]; err?: string } {
  const out: string[] = [];
  for (const c of chunks) {
    const err = splitter.push(c, (f) => out.push(f.toString()));
    if (err) return { out, err };
  }
  return { out };
}

describe("JsonFrameSplitter", () => {
  const texts = [
    '{"jsonrpc":"2.0","method":"E_A","params":{"s":"a } \\" { ] [","n":1}}',
    '{\n\t"id": 7,\n\t"method": "E_B",\n\t"params": [1, "x\\\\"]\n}',
    '{"method":"E_C","params":{"u":"ünï{cødé}"}}',
    "[1,2]",
  ];
  const stream = Buffer.from(`${texts[0]}${texts[1]}\n\n ${texts[2]}\r\n${texts[3]}`);

  it("cuts objects back to back, with or without whitespace, at every split point", () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const { out, err } = frames(new JsonFrameSplitter(65536), [
        stream.subarray(0, cut),
        stream.subarray(cut),
      ]);
      expect(err).toBeUndefined();
      expect(out).toEqual(texts);
    }
  });

  it("takes one byte at a time", () => {
    const bytes = [...stream].map((b) => Buffer.from([b]));
    expect(frames(new JsonFrameSplitter(65536), bytes).out).toEqual(texts);
  });

  it("refuses a stream that goes on with something else than an object", () => {
    const r = frames(new JsonFrameSplitter(65536), [Buffer.from(`${texts[0]} hello {}`)]);
    expect(r).toEqual({ out: [texts[0]], err: "not_object" });
  });

  it("refuses a frame over the bound, whole or unfinished", () => {
    const big = `{"v":"${"a".repeat(100)}"}`;
    expect(frames(new JsonFrameSplitter(100), [Buffer.from(big)]).err).toBe("too_large");
    const s = new JsonFrameSplitter(100);
    expect(s.push(Buffer.from(big.slice(0, 60)), () => {})).toBeUndefined();
    expect(s.push(Buffer.from(big.slice(60, 90)), () => {})).toBeUndefined();
    expect(s.push(Buffer.from(big.slice(90, 101)), () => {})).toBe("too_large");
    // Exactly the bound is accepted.
    const exact = `{"v":"${"a".repeat(92)}"}`;
    expect(exact.length).toBe(100);
    expect(frames(new JsonFrameSplitter(100), [Buffer.from(exact)]).out).toEqual([exact]);
  });
});

describe("parseEventMessage", () => {
  it("reads notifications, with no id or id null, and requests", () => {
    expect(parseEventMessage('{"jsonrpc":"2.0","method":"E_X"}')).toEqual({
      kind: "event",
      name: "E_X",
      id: undefined,
      params: undefined,
    });
    expect(
      parseEventMessage('{"id":null,"jsonrpc":"2.0","method":"E_X","params":[1]}'),
    ).toMatchObject({
      id: undefined,
      params: [1],
    });
    expect(parseEventMessage('{"id":915243442,"method":"E_X"}')).toMatchObject({ id: "915243442" });
    expect(parseEventMessage('{"id":"a\\"b","method":"E_X"}')).toMatchObject({ id: '"a\\"b"' });
  });

  it("takes the event name from event_param: named, or first when positional", () => {
    const named =
      '{"method":"handle_cmd","params":{"opensips_event":"E_PIKE_BLOCKED","ip":"1.2.3.4"}}';
    expect(parseEventMessage(named, "opensips_event")).toMatchObject({ name: "E_PIKE_BLOCKED" });
    expect(parseEventMessage(named)).toMatchObject({ name: "handle_cmd" });
    expect(
      parseEventMessage('{"method":"m","params":["E_MY_EVENT",3,5]}', "opensips_event"),
    ).toMatchObject({
      name: "E_MY_EVENT",
    });
    // Absent, or not a string: the method.
    expect(parseEventMessage('{"method":"m","params":[3,5]}', "opensips_event")).toMatchObject({
      name: "m",
    });
    expect(parseEventMessage('{"method":"m","params":{"ip":"x"}}', "opensips_event")).toMatchObject(
      {
        name: "m",
      },
    );
  });

  it("names what is wrong, keeping the id to answer", () => {
    expect(parseEventMessage('{"method":"E_X",')).toMatchObject({
      kind: "bad",
      reason: "malformed_json",
      id: undefined,
    });
    expect(parseEventMessage("[1,2]")).toMatchObject({ kind: "bad", reason: "not_object" });
    expect(parseEventMessage('{"id":3,"params":{}}')).toMatchObject({
      kind: "bad",
      reason: "no_method",
      id: "3",
    });
    expect(parseEventMessage('{"id":4,"method":""}')).toMatchObject({
      reason: "no_method",
      id: "4",
    });
    expect(parseEventMessage('{"id":5,"method":"E","params":"x"}')).toMatchObject({
      reason: "bad_params",
      id: "5",
    });
    expect(parseEventMessage('{"id":{},"method":"E"}')).toMatchObject({
      kind: "bad",
      reason: "not_object",
    });
  });
});

describe("eventValue", () => {
  it("is what raise writes for the same event and parameters", () => {
    const cases: [
      string,
      Record<string, string | number | null> | (string | number | null)[] | undefined,
    ][] = [
      ["E_PIKE_BLOCKED", { ip: "192.168.2.11" }],
      ["E_MY_EVENT", [3, 5]],
      ["E_X", { callid: "a@b", n: -1, none: null, s: 'q"\\\n\u0001ü' }],
      ["E_EMPTY", undefined],
      ["E_EMPTY", {}],
      ["E_EMPTY", []],
    ];
    for (const [name, params] of cases)
      expect(eventValue(name, params)).toBe(eventPayload(name, params));
  });

  it("keeps params it does not know as received", () => {
    expect(eventValue("E", { nested: { a: [1, true] }, f: 1.5 })).toBe(
      '{"jsonrpc":"2.0","method":"E","params":{"nested":{"a":[1,true]},"f":1.5}}',
    );
  });

  it("keys from a named parameter: strings and numbers only", () => {
    expect(eventKey({ callid: "abc" }, "callid")).toBe("abc");
    expect(eventKey({ callid: 42 }, "callid")).toBe("42");
    expect(eventKey({ callid: null }, "callid")).toBeNull();
    expect(eventKey({ other: "x" }, "callid")).toBeNull();
    expect(eventKey(["abc"], "callid")).toBeNull();
    expect(eventKey(undefined, "callid")).toBeNull();
  });
});

describe("routes", () => {
  it("first match wins: names, prefixes, *", () => {
    const routes = [
      "E_ACC_CDR=kafka:h:1/cdr?key=callid",
      "E_ACC_*=kafka:h:1/acc?key=param:from",
      "*=kafka:h:1/all",
    ].map((text) => ({ spec: parseRouteOption(text) }));
    const table = new RouteTable(routes);
    expect(table.match("E_ACC_CDR")?.spec.socket.topic).toBe("cdr");
    expect(table.match("E_ACC_MISSED")?.spec.socket.topic).toBe("acc");
    expect(table.match("E_OTHER")?.spec.socket.topic).toBe("all");
    expect(routes[0]!.spec.keyParam).toBe("callid");
    expect(routes[1]!.spec.keyParam).toBe("from");
    expect(routes[2]!.spec.keyParam).toBeUndefined();
    expect(new RouteTable(routes.slice(0, 1)).match("E_OTHER")).toBeUndefined();
  });

  it("refuses bad routes with a message naming them", () => {
    expect(() => parseRouteOption("kafka:h:1/t")).toThrow(/expected EVENT=kafka/);
    expect(() => parseRouteOption("E *=kafka:h:1/t")).toThrow(/not a name, "\*" or a prefix/);
    expect(() => parseRouteOption("E=kafka:h:1/t?key=param:")).toThrow(
      /key=callid or key=param:NAME/,
    );
    expect(() => parseRouteOption("E=kafka:h:1/t?key=callid&key=param:x")).toThrow(/given twice/);
  });
});

describe("ThrottledLog", () => {
  it("says a key's line once per interval, counting the ones held back", () => {
    const lines: string[] = [];
    const log = new ThrottledLog((l) => lines.push(l), 60_000);
    log.log("peer-a", "bad 1", 0);
    log.log("peer-a", "bad 2", 1000);
    log.log("peer-b", "other", 1000);
    log.log("peer-a", "bad 3", 59_999);
    log.log("peer-a", "bad 4", 60_000);
    expect(lines).toEqual(["bad 1", "other", "bad 4 (2 more like it in the last minute)"]);
  });
});
