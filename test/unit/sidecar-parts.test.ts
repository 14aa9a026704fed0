/** The sidecar's pure parts: stream framing, routes, throttled logs (messages: sidecar-messages). */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { maxFrameOf, readConfigFile } from "../../src/sidecar/config.js";
import { JsonFrameSplitter } from "../../src/sidecar/json-frames.js";
import { ThrottledLog } from "../../src/sidecar/peer-log.js";
import { parseRouteOption, RouteTable } from "../../src/sidecar/routes.js";

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

  it("skips a frame over the bound, whole or in pieces, and goes on with the next", () => {
    const big = `{"id":42,"v":"${"a".repeat(100)}"}`;
    const next = '{"id":43,"v":"b"}';
    const stream = Buffer.from(`${big}\n${next}`);
    for (let cut = 0; cut <= stream.length; cut++) {
      for (let cut2 = cut; cut2 <= stream.length; cut2 += 7) {
        const skipped: [string, number][] = [];
        const s = new JsonFrameSplitter(100, (head, bytes) =>
          skipped.push([head.toString(), bytes]),
        );
        const out: string[] = [];
        for (const piece of [
          stream.subarray(0, cut),
          stream.subarray(cut, cut2),
          stream.subarray(cut2),
        ]) {
          expect(s.push(piece, (f) => out.push(f.toString()))).toBeUndefined();
        }
        expect(out).toEqual([next]);
        expect(skipped).toEqual([[big.slice(0, 256), big.length]]);
        expect(s.pendingBytes).toBe(0);
      }
    }
    // Exactly the bound is accepted.
    const exact = `{"v":"${"a".repeat(92)}"}`;
    expect(exact.length).toBe(100);
    expect(frames(new JsonFrameSplitter(100), [Buffer.from(exact)]).out).toEqual([exact]);
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

describe("--max-frame and max_frame", () => {
  it("takes a whole number of bytes, at least 64, and names a bad one", () => {
    expect(maxFrameOf("1000000", "--max-frame")).toBe(1_000_000);
    expect(maxFrameOf(64, "x")).toBe(64);
    for (const bad of ["63", "1e6", "-5", "", "12kB", 1.5, null]) {
      expect(() => maxFrameOf(bad, "--max-frame")).toThrow(/--max-frame must be a whole number/);
    }
  });

  it("is read from the configuration file", () => {
    const dir = mkdtempSync(join(tmpdir(), "sidecar-config-"));
    const path = join(dir, "c.json");
    writeFileSync(path, JSON.stringify({ max_frame: 2_000_000 }));
    expect(readConfigFile(path).maxFrameBytes).toBe(2_000_000);
    writeFileSync(path, JSON.stringify({ max_frame: "big" }));
    expect(() => readConfigFile(path)).toThrow(/"max_frame" must be a whole number/);
    rmSync(dir, { recursive: true });
  });
});
