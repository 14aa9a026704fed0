/**
 * The event-kafka CLI as a user runs it: the built bin in a child process,
 * against the real broker, read back with the Java reader (Apache Kafka's own consumer).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { headerPairs, javaConsume, text } from "../broker/java-reader.js";
import { CLI, run, summary } from "../helpers/cli.js";
import { uniqueTopic } from "../helpers/topics.js";

const bootstrap = inject("kafkaBootstrap");

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
});

describe("event-kafka publish", () => {
  it("publishes the messages given and prints the summary line", async () => {
    const topic = uniqueTopic("cli-args");
    const r = await run([
      "publish",
      `kafka:${bootstrap}/${topic}?t.acks=1`,
      "first",
      "second",
      "-k",
      "K",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const s = summary(r.stdout);
    expect(s.delivered).toBe(2);
    expect(s.failed).toBe(0);
    const back = await javaConsume(bootstrap, topic);
    expect(back.map((x) => [text(x.key), text(x.value)]).sort()).toEqual([
      ["K", "first"],
      ["K", "second"],
    ]);
  });

  it("streams standard input, splitting keys at -K and adding -H headers", async () => {
    const topic = uniqueTopic("cli-stdin");
    const lines: string[] = [];
    for (let i = 0; i < 20000; i++) lines.push(`key-${i}::value ${i} ✓`);
    lines.push("no delimiter here");
    const input = `${lines.join("\n")}\r\n\n`;
    const r = await run(
      ["publish", `kafka:${bootstrap}/${topic}`, "-K", "::", "-H", "source=cli", "-H", "n=1"],
      input,
    );
    expect(r.code).toBe(0);
    expect(summary(r.stdout)).toMatchObject({ delivered: 20001, failed: 0 });
    const back = await javaConsume(bootstrap, topic);
    expect(back).toHaveLength(20001);
    const byKey = new Map(back.map((x) => [text(x.key), x]));
    expect(byKey.get("key-123")?.value).toEqual(Buffer.from("value 123 ✓"));
    expect(headerPairs(byKey.get("key-123")!)).toEqual([
      ["source", "cli"],
      ["n", "1"],
    ]);
    // A line without the delimiter is all value, with no key; the CR of CRLF is dropped.
    expect(byKey.get(null)?.value).toEqual(Buffer.from("no delimiter here"));
    expect(headerPairs(byKey.get(null)!)).toEqual([
      ["source", "cli"],
      ["n", "1"],
    ]);
    // Per partition, the order of the input is kept.
    for (const p of [0, 1, 2]) {
      const ids = back
        .filter((x) => x.partition === p && x.key)
        .map((x) => Number(x.key!.toString().slice(4)));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
    }
  });

  it("reads a redirected file in large blocks, lines cut at block boundaries intact", async () => {
    const topic = uniqueTopic("cli-file");
    const lines: string[] = [];
    // Lengths that do not divide the 1 MiB read size, so lines straddle blocks.
    for (let i = 0; i < 30000; i++) lines.push(`${i}:${"v".repeat(37 + (i % 101))}`);
    const file = join(mkdtempSync(join(tmpdir(), "event-kafka-cli-")), "lines.txt");
    writeFileSync(file, `${lines.join("\r\n")}\r\n`);
    const r = await run(["publish", `kafka:${bootstrap}/${topic}?t.acks=1`, "-K", ":"], { file });
    expect(r.code).toBe(0);
    expect(summary(r.stdout)).toMatchObject({ delivered: lines.length, failed: 0 });
    const back = await javaConsume(bootstrap, topic);
    expect(back).toHaveLength(lines.length);
    const got = new Map(back.map((x) => [text(x.key)!, text(x.value)]));
    expect(got.size).toBe(lines.length);
    for (const line of lines) {
      const [k, v] = line.split(":");
      expect(got.get(k!)).toBe(v);
    }
  });

  it("queues whole blocks of lines straight from the read (no -K): CRLF, empty lines, a last line without newline", async () => {
    const topic = uniqueTopic("cli-blocks");
    const lines: string[] = [];
    for (let i = 0; i < 40000; i++) lines.push(`${i}:${"w".repeat(29 + (i % 211))}`);
    const file = join(mkdtempSync(join(tmpdir(), "event-kafka-cli-")), "lines.txt");
    // Empty lines (skipped, as kcat does) between some records; no newline at the end.
    writeFileSync(file, lines.map((l, i) => (i % 997 === 0 ? `\r\n${l}` : l)).join("\r\n"));
    const r = await run(["publish", `kafka:${bootstrap}/${topic}?t.acks=1`], { file });
    expect(r.code).toBe(0);
    expect(summary(r.stdout)).toMatchObject({ delivered: lines.length, failed: 0 });
    const back = await javaConsume(bootstrap, topic);
    expect(back.every((x) => x.key === null)).toBe(true);
    const values = back.map((x) => text(x.value)!);
    expect(values.sort()).toEqual([...lines].sort());
  });

  it("reads a file with a line longer than two read blocks: that line fails as too large, the lines around it arrive intact", async () => {
    const topic = uniqueTopic("cli-long-line");
    const before = Array.from({ length: 3000 }, (_, i) => `before-${i}-${"b".repeat(i % 97)}`);
    const after = Array.from({ length: 3000 }, (_, i) => `after-${i}-${"a".repeat(i % 89)}`);
    const long = "L".repeat(2_500_000);
    const file = join(mkdtempSync(join(tmpdir(), "event-kafka-cli-")), "long.txt");
    writeFileSync(file, `${[...before, long, ...after].join("\n")}\n`);
    const r = await run(["publish", `kafka:${bootstrap}/${topic}?t.acks=1`, "-l", file]);
    expect(r.code).toBe(1);
    expect(summary(r.stdout)).toMatchObject({ delivered: 6000, failed: 1 });
    const back = (await javaConsume(bootstrap, topic)).map((x) => text(x.value)!);
    expect(back.sort()).toEqual([...before, ...after].sort());
  });

  it("counts a line too large for a record as failed and goes on", async () => {
    const topic = uniqueTopic("cli-large");
    const input = `small-1\n${"x".repeat(1_100_000)}\nsmall-2\n`;
    const r = await run(["publish", `kafka:${bootstrap}/${topic}`], input);
    expect(r.code).toBe(1);
    expect(summary(r.stdout)).toMatchObject({ delivered: 2, failed: 1 });
    expect(r.stderr).toMatch(
      /^event-kafka: 1 record\(s\) failed: record of \d+ bytes .* exceeds message\.max\.bytes/,
    );
    const back = await javaConsume(bootstrap, topic);
    expect(back.map((x) => text(x.value)).sort()).toEqual(["small-1", "small-2"]);
    expect(back.every((x) => x.key === null)).toBe(true);
  });

  it("exits 1 and counts failures when the broker is down", async () => {
    const r = await run([
      "publish",
      "kafka:127.0.0.1:1/down?t.message.timeout.ms=800",
      "a",
      "b",
      "c",
    ]);
    expect(r.code).toBe(1);
    expect(summary(r.stdout)).toMatchObject({ delivered: 0, failed: 3 });
    expect(r.stderr).toMatch(
      /^event-kafka: warning: connection to 127\.0\.0\.1:1 failed: connect ECONNREFUSED 127\.0\.0\.1:1 \(retrying\)\n/,
    );
    // Said once, however many times the producer retried.
    expect(r.stderr.match(/warning/g)).toHaveLength(1);
    expect(r.stderr).toMatch(
      /\nevent-kafka: 3 record\(s\) failed: .*message\.timeout\.ms.*ECONNREFUSED/,
    );
  });

  it("names a connection failure on stderr at once, long before the deadline", async () => {
    const child = spawn(process.execPath, [CLI, "publish", "kafka:127.0.0.1:1/t", "x", "-t", "20"]);
    const started = performance.now();
    const firstLine = await new Promise<string>((resolve) => {
      let err = "";
      child.stderr.on("data", (d: Buffer) => {
        err += d.toString();
        if (err.includes("\n")) resolve(err.slice(0, err.indexOf("\n")));
      });
    });
    const ms = performance.now() - started;
    child.kill("SIGKILL");
    expect(firstLine).toMatch(
      /^event-kafka: warning: connection to 127\.0\.0\.1:1 failed: .*ECONNREFUSED/,
    );
    expect(ms).toBeLessThan(10_000); // the record's deadline is 20 s
  });

  it("names a host that does not resolve", async () => {
    const r = await run(["publish", "kafka:no-such-host.invalid:9092/t", "x", "-t", "2"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^event-kafka: warning: .*no-such-host\.invalid.*(ENOTFOUND|EAI_AGAIN).* \(retrying\)\n/,
    );
  });

  it("exits 2 with one clear line for a bad socket or bad arguments", async () => {
    const bad = await run(["publish", "kafka:h:1/a/b", "x"]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toBe(
      "event-kafka: invalid kafka socket \"kafka:h:1/a/b\": unexpected '/' at column 12\n",
    );
    const prop = await run(["publish", "kafka:h:1/t?g.nope=1", "x"]);
    expect(prop.code).toBe(2);
    expect(prop.stderr).toMatch(/No such configuration property: "nope"/);
    const opt = await run(["publish", "kafka:h:1/t", "--bogus"]);
    expect(opt.code).toBe(2);
    expect(opt.stderr).toBe("event-kafka: unknown option --bogus\n");
    const none = await run(["publish"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe("event-kafka: publish needs a SOCKET\n");
    // No command at all is a usage error too: the usage goes to stderr, as getopt tools do.
    const nothing = await run([]);
    expect(nothing.code).toBe(2);
    expect(nothing.stdout).toBe("");
    expect(nothing.stderr).toMatch(/^Usage:\n {2}event-kafka publish SOCKET/);
    const cmd = await run(["frobnicate"]);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toMatch(/unknown command "frobnicate"/);
  });

  it("prints its version", async () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    for (const flag of ["--version", "-V"]) {
      const r = await run([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`event-kafka ${pkg.version} (Node.js ${process.version})\n`);
    }
  });

  it("prints help", async () => {
    for (const args of [["--help"], ["publish", "--help"], ["raise", "-h"]]) {
      const r = await run(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage:\n {2}event-kafka publish SOCKET/);
    }
  });
});

describe("event-kafka raise", () => {
  it("raises one event as a JSON-RPC notification keyed by the Call-ID", async () => {
    const topic = uniqueTopic("cli-raise");
    const r = await run([
      "raise",
      `kafka:${bootstrap}/${topic}?key=callid`,
      "E_PIKE_BLOCKED",
      "ip=192.168.2.11",
      "count:=42",
      "id=007x",
      "phone=0049301234",
      "ext=007",
      'note:="quoted"',
      "gone:=null",
      "--callid",
      "a84b4c76e66710@pc33",
    ]);
    expect(r.code).toBe(0);
    expect(summary(r.stdout)).toMatchObject({ delivered: 1, failed: 0 });
    const back = await javaConsume(bootstrap, topic);
    expect(back).toHaveLength(1);
    expect(text(back[0]!.key)).toBe("a84b4c76e66710@pc33");
    expect(text(back[0]!.value)).toBe(
      '{"jsonrpc":"2.0","method":"E_PIKE_BLOCKED","params":{"ip":"192.168.2.11","count":42,"id":"007x","phone":"0049301234","ext":"007","note":"quoted","gone":null}}',
    );
  });

  it("refuses a typed value an event parameter cannot carry, naming it", async () => {
    for (const [arg, why] of [
      ["flag:=true", /flag:=true: an event parameter is an integer, a string or null/],
      ["n:=1.5", /n:=1\.5: an event parameter is an integer, a string or null/],
      ["x:=[1,2]", /x:=\[1,2\]: an event parameter/],
      ["bad:={", /bad:= needs a JSON value/],
      [":=1", /event parameters are name=value or name:=JSON, got ":=1"/],
    ] as const) {
      const r = await run(["raise", `kafka:${bootstrap}/t`, "E_X", arg]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(why);
    }
  });

  it("omits params for an event without parameters", async () => {
    const topic = uniqueTopic("cli-raise-bare");
    const r = await run(["raise", `kafka:${bootstrap}/${topic}`, "E_STARTUP"]);
    expect(r.code).toBe(0);
    const back = await javaConsume(bootstrap, topic);
    expect(back).toHaveLength(1);
    expect(text(back[0]!.value)).toBe('{"jsonrpc":"2.0","method":"E_STARTUP"}');
    expect(back[0]!.key).toBeNull();
  });
});
