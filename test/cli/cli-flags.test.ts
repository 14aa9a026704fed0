/**
 * The CLI's kcat-style flags, its metadata command and its signal handling, as
 * a user meets them: the built bin in a child process against the real broker,
 * records read back with the Java reader and metadata checked against KafkaJS
 * (and kcat -L -J where kcat is installed).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Admin } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { headerPairs, javaConsume, text } from "../broker/java-reader.js";
import { CLI, run, summary } from "../helpers/cli.js";
import { peerTool } from "../helpers/peer-tools.js";
import { uniqueTopic } from "../helpers/topics.js";
import { connectAdmin, createTopic } from "../producer/helpers.js";

const bootstrap = inject("kafkaBootstrap");
let admin: Admin;

beforeAll(async () => {
  admin = await connectAdmin(bootstrap);
});
afterAll(async () => {
  await admin?.disconnect();
});

function tempFile(name: string, content: string | Buffer): string {
  const file = join(mkdtempSync(join(tmpdir(), "event-kafka-flags-")), name);
  writeFileSync(file, content);
  return file;
}

describe("kcat's producer flags", () => {
  it("-p writes to one partition, -X sets a property, -z compresses", async () => {
    const topic = uniqueTopic("cli-p");
    await createTopic(admin, topic, { partitions: 3 });
    const r = await run([
      "publish",
      `kafka:${bootstrap}/${topic}?t.acks=1`,
      "-p",
      "2",
      "-X",
      "linger.ms=1",
      "-X",
      "topic.message.timeout.ms=20000",
      "-z",
      "gzip",
      "one",
      "two",
      "three",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(summary(r.stdout)).toMatchObject({ delivered: 3, failed: 0, undelivered: 0 });
    const back = await javaConsume(bootstrap, topic);
    expect(back.map((x) => [x.partition, text(x.value)])).toEqual([
      [2, "one"],
      [2, "two"],
      [2, "three"],
    ]);
  });

  it("-l reads a file, -D splits at a delimiter with escapes, -c stops after COUNT", async () => {
    const topic = uniqueTopic("cli-l");
    const file = tempFile("records.bin", "r1\x1er2 with\nnewline\x1e\x1er3\x1er4\x1e");
    const r = await run(["publish", `kafka:${bootstrap}/${topic}`, "-l", file, "-D", "\\x1e"]);
    expect(r.code).toBe(0);
    expect(summary(r.stdout)).toMatchObject({ delivered: 4 });
    const back = await javaConsume(bootstrap, topic);
    // An empty record (two delimiters in a row) is skipped, as kcat skips it.
    expect(back.map((x) => text(x.value)).sort()).toEqual(["r1", "r2 with\nnewline", "r3", "r4"]);

    // A delimiter that overlaps itself, read from the front, and a last record that ends
    // with half of one: "b|" once had a delimiter appended, read as "b" and "|", and the
    // CLI spun at 100% CPU (deaf to SIGTERM) on the "|" it could not place.
    const overlapping = uniqueTopic("cli-overlap");
    const d = await run(
      [
        "publish",
        `kafka:${bootstrap}/${overlapping}`,
        "-D",
        "||",
        "-l",
        tempFile("overlap-d.txt", "a|||c||b|"),
      ],
      undefined,
      20_000,
    );
    expect(d.code).toBe(0);
    expect(summary(d.stdout)).toMatchObject({ delivered: 3, failed: 0, undelivered: 0 });
    const overlapped = await javaConsume(bootstrap, overlapping);
    expect(overlapped.map((x) => text(x.value)).sort()).toEqual(["a", "b|", "|c"]);

    const limited = uniqueTopic("cli-c");
    const c = await run(
      ["publish", `kafka:${bootstrap}/${limited}`, "-c", "2"],
      "first\nsecond\nthird\nfourth\n",
    );
    expect(c.code).toBe(0);
    expect(summary(c.stdout)).toMatchObject({ delivered: 2 });
    const two = await javaConsume(bootstrap, limited);
    expect(two.map((x) => text(x.value)).sort()).toEqual(["first", "second"]);
  });

  it("-Z sends an empty key or value as null; -T echoes the input, the summary goes to stderr", async () => {
    const topic = uniqueTopic("cli-z");
    await createTopic(admin, topic, { partitions: 1 });
    const input = "k1:v1\nk2:\n:v3\n::\n";
    const r = await run(["publish", `kafka:${bootstrap}/${topic}`, "-K", ":", "-Z", "-T"], input);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(input);
    expect(summary(r.stderr)).toMatchObject({ delivered: 4 });
    const back = await javaConsume(bootstrap, topic);
    expect(back.map((x) => [text(x.key), text(x.value)])).toEqual([
      ["k1", "v1"],
      ["k2", null],
      [null, "v3"],
      [null, ":"],
    ]);
    // Without -Z, the same input keeps empty keys and values as empty bytes.
    const plain = uniqueTopic("cli-no-z");
    await createTopic(admin, plain, { partitions: 1 });
    expect((await run(["publish", `kafka:${bootstrap}/${plain}`, "-K", ":"], input)).code).toBe(0);
    const kept = await javaConsume(bootstrap, plain);
    expect(kept.map((x) => [text(x.key), text(x.value)])).toEqual([
      ["k1", "v1"],
      ["k2", ""],
      ["", "v3"],
      ["", ":"],
    ]);
  });

  it("takes what follows -- as messages, and a value after an option whatever it starts with", async () => {
    const topic = uniqueTopic("cli-dashes");
    await createTopic(admin, topic, { partitions: 1 });
    const r = await run([
      "publish",
      `kafka:${bootstrap}/${topic}`,
      "-k",
      "-key-",
      "-H",
      "h=-1",
      "--",
      "-h",
      "--version",
    ]);
    expect(r.code).toBe(0);
    const back = await javaConsume(bootstrap, topic);
    expect(back.map((x) => [text(x.key), text(x.value), headerPairs(x)])).toEqual([
      ["-key-", "-h", [["h", "-1"]]],
      ["-key-", "--version", [["h", "-1"]]],
    ]);
  });

  it("refuses a property given twice, a misspelt one, and bad flag values, each with exit 2", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["publish", "kafka:h:1/t?g.linger.ms=5&g.queue.buffering.max.ms=6", "x"],
        /property "linger\.ms" is given twice, as "g\.linger\.ms" and as "g\.queue\.buffering\.max\.ms" \(keep one\) at column 27/,
      ],
      [
        ["publish", "kafka:h:1/t?t.acks=1&t.acks=all", "x"],
        /property "request\.required\.acks" is given twice \(keep one\) at column 22/,
      ],
      [
        ["publish", "kafka:h:1/t?g.linger.ms=5", "-X", "queue.buffering.max.ms=1", "x"],
        /property "linger\.ms" is given twice \(in the socket and by -X queue\.buffering\.max\.ms\): keep one/,
      ],
      [
        ["publish", "kafka:h:1/t", "-X", "acks=1", "-X", "request.required.acks=all", "x"],
        /property "request\.required\.acks" is given twice \(in -X acks and by -X request\.required\.acks\)/,
      ],
      [
        ["publish", "kafka:h:1/t", "-z", "gzip", "-X", "compression.codec=lz4", "x"],
        /property "compression\.codec" is given twice/,
      ],
      [
        ["publish", "kafka:h:1/t", "-X", "lingr.ms=5", "x"],
        /^event-kafka: -X lingr\.ms: No such configuration property: "lingr\.ms" \(did you mean "linger\.ms"\?\)\n$/,
      ],
      [["publish", "kafka:h:1/t", "-X", "acks"], /-X expects name=value, got "acks"/],
      [["publish", "kafka:h:1/t", "-p", "x"], /-p expects an integer in -1\.\.\d+, got "x"/],
      [["publish", "kafka:h:1/t", "-c", "0"], /-c expects an integer in 1\.\.\d+, got "0"/],
      [["publish", "kafka:h:1/t", "-D", ""], /-D needs a non-empty delimiter/],
      [["publish", "kafka:h:1/t", "-D", "\\q"], /-D: unknown escape \\q/],
      [["publish", "kafka:h:1/t", "-k"], /^event-kafka: -k needs a value\n$/],
      [["publish", "kafka:h:1/t", "-l", "/no/such/file"], /-l \/no\/such\/file: .*ENOENT/],
      [["publish", "kafka:h:1/t", "-l", "/etc/hostname", "msg"], /MESSAGE arguments or -l FILE/],
      [["raise", "kafka:h:1/t", "E_X", "-X", "nope=1"], /No such configuration property: "nope"/],
      [["metadata"], /metadata needs kafka:BROKERS\[\/TOPIC\]/],
    ];
    for (const [args, why] of cases) {
      const r = await run(args);
      expect(r.stderr, args.join(" ")).toMatch(why);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout, args.join(" ")).toBe("");
    }
  });
});

describe("event-kafka metadata", () => {
  it("lists brokers, topics, partitions, leaders and replicas as KafkaJS sees them", async () => {
    const topic = uniqueTopic("cli-meta");
    await createTopic(admin, topic, { partitions: 3 });
    const r = await run(["metadata", `kafka:${bootstrap}/${topic}`, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const listed = JSON.parse(r.stdout);
    const [host, port] = bootstrap.split(":");
    const cluster = await admin.describeCluster();
    expect(listed.clusterId).toBe(cluster.clusterId);
    expect(listed.controllerId).toBe(cluster.controller);
    expect(listed.brokers).toEqual(
      cluster.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: null })),
    );
    expect(listed.brokers[0]).toMatchObject({ host, port: Number(port) });
    const theirs = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!;
    expect(listed.topics).toHaveLength(1);
    expect(listed.topics[0]).toMatchObject({ name: topic, internal: false, error: null });
    expect(listed.topics[0].topicId).toMatch(/^[0-9a-f]{32}$/);
    expect(
      listed.topics[0].partitions.map(
        (p: { partition: number; leader: number; replicas: number[]; isr: number[] }) => [
          p.partition,
          p.leader,
          p.replicas,
          p.isr,
        ],
      ),
    ).toEqual(
      [...theirs.partitions]
        .sort((a, b) => a.partitionId - b.partitionId)
        .map((p) => [p.partitionId, p.leader, p.replicas, p.isr]),
    );

    const textual = await run(["metadata", `kafka:${bootstrap}/${topic}`]);
    expect(textual.code).toBe(0);
    expect(textual.stdout).toContain(`topic "${topic}" with 3 partition(s)`);
    expect(textual.stdout).toMatch(
      new RegExp(`broker ${cluster.brokers[0]!.nodeId} at ${host}:${port} \\(controller\\)`),
    );
    expect(textual.stdout).toMatch(/partition 2, leader \d+, replicas \d+, isr \d+/);
  });

  it("lists every topic without one, and exits 1 naming a topic that does not exist", async () => {
    const topic = uniqueTopic("cli-meta-all");
    await createTopic(admin, topic, { partitions: 2 });
    const all = await run(["metadata", `kafka:${bootstrap}`, "--json"]);
    expect(all.code).toBe(0);
    const names = JSON.parse(all.stdout).topics.map((t: { name: string }) => t.name);
    expect(names).toContain(topic);
    expect(names).toEqual(await admin.listTopics().then((l) => [...l].sort()));

    const missing = uniqueTopic("cli-meta-missing");
    const r = await run(["metadata", `kafka:${bootstrap}/${missing}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`event-kafka: topic "${missing}": UNKNOWN_TOPIC_OR_PARTITION\n`);
    // Asking did not create it.
    expect(await admin.listTopics()).not.toContain(missing);
  });

  it("names the connection failure when no broker answers", async () => {
    const r = await run(["metadata", "kafka:127.0.0.1:1", "-t", "1.5"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      /^event-kafka: no broker answered a metadata request within 1500 ms: last error .*ECONNREFUSED/,
    );
  });

  it("agrees with kcat -L -J", async (ctx) => {
    peerTool("kcat").need(ctx);
    const topic = uniqueTopic("cli-meta-kcat");
    await createTopic(admin, topic, { partitions: 2 });
    const ours = JSON.parse(
      (await run(["metadata", `kafka:${bootstrap}/${topic}`, "--json"])).stdout,
    );
    const theirs = JSON.parse(
      execFileSync("kcat", ["-b", bootstrap, "-L", "-J", "-t", topic], { encoding: "utf8" }),
    );
    expect(ours.brokers.map((b: { nodeId: number }) => b.nodeId)).toEqual(
      theirs.brokers.map((b: { id: number }) => b.id),
    );
    expect(
      ours.topics[0].partitions.map((p: { partition: number; leader: number; isr: number[] }) => [
        p.partition,
        p.leader,
        p.isr,
      ]),
    ).toEqual(
      theirs.topics[0].partitions.map(
        (p: { partition: number; leader: number; isrs: { id: number }[] }) => [
          p.partition,
          p.leader,
          p.isrs.map((i) => i.id),
        ],
      ),
    );
  });
});

/** The CLI with its stdin left open (a pipe no one closes), so only a signal ends the input. */
function spawnOpen(args: string[]): {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; at: number }>;
} {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => {
    child.on("close", (code) => resolve({ code, at: performance.now() }));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const end = performance.now() + ms;
  while (!check()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("signals during publish", () => {
  it("SIGINT stops reading, delivers what was queued, prints the summary, exits 130", async () => {
    const topic = uniqueTopic("cli-sigint");
    const p = spawnOpen(["publish", `kafka:${bootstrap}/${topic}`]);
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}`);
    p.child.stdin!.write(`${lines.join("\n")}\n`);
    // Every line is in Kafka (read back by Apache Kafka's consumer) before the signal.
    await javaConsume(bootstrap, topic, { count: lines.length, timeoutMs: 30_000 });
    p.child.kill("SIGINT");
    const { code } = await p.exited;
    expect(code).toBe(130);
    expect(summary(p.stdout())).toMatchObject({ delivered: 1000, failed: 0, undelivered: 0 });
    expect(p.stderr()).toMatch(/^event-kafka: SIGINT: stopped reading; flushing for up to 10 s/);
  });

  it("SIGTERM with no broker: flushes for -t, then counts the queued records undelivered, exits 143", async () => {
    const p = spawnOpen(["publish", "kafka:127.0.0.1:1/t", "-t", "1"]);
    p.child.stdin!.write("a\nb\nc\n");
    await until("the connection warning", () => p.stderr().includes("ECONNREFUSED"));
    const sent = performance.now();
    p.child.kill("SIGTERM");
    const { code, at } = await p.exited;
    expect(code).toBe(143);
    expect(at - sent).toBeGreaterThanOrEqual(900);
    expect(summary(p.stdout())).toMatchObject({ delivered: 0, failed: 0, undelivered: 3 });
    expect(p.stderr()).toMatch(/event-kafka: SIGTERM: stopped reading; flushing for up to 1 s/);
    expect(p.stderr()).toMatch(/3 record\(s\) undelivered: .*before the producer closed/);
  });

  it("a second signal exits at once, still with the summary", async () => {
    const p = spawnOpen(["publish", "kafka:127.0.0.1:1/t"]);
    p.child.stdin!.write("a\nb\n");
    await until("the connection warning", () => p.stderr().includes("ECONNREFUSED"));
    p.child.kill("SIGTERM");
    await until("the first signal's line", () => p.stderr().includes("flushing for up to 10 s"));
    const second = performance.now();
    p.child.kill("SIGINT");
    const { code, at } = await p.exited;
    // The first signal's code: the run was ended by SIGTERM; the 10 s flush was cut short.
    expect(code).toBe(143);
    expect(at - second).toBeLessThan(5000);
    expect(summary(p.stdout())).toMatchObject({ delivered: 0, failed: 0, undelivered: 2 });
    expect(p.stderr()).toMatch(/SIGINT again: exiting without waiting/);
  });
});
