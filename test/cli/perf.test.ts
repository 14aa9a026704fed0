/**
 * `event-kafka perf` as a user runs it: the built bin against the real broker,
 * the records it wrote read back with the Java reader, its figures checked for
 * consistency (every record counted once, percentiles in order, a rate cap
 * kept), and bad arguments refused with exit 2.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { javaConsume, text } from "../broker/java-reader.js";
import { run } from "../helpers/cli.js";
import { uniqueTopic } from "../helpers/topics.js";

const bootstrap = inject("kafkaBootstrap");

interface PerfJson {
  records: number;
  delivered: number;
  failed: number;
  seconds: number;
  records_per_s: number;
  mb_per_s: number;
  latency_ms: { avg: number; max: number; p50: number; p95: number; p99: number; p99_9: number };
}

function lastJson(stdout: string): PerfJson {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!) as PerfJson;
}

describe("event-kafka perf", () => {
  it("sends N records of the size asked, each counted once, with ordered percentiles", async () => {
    const topic = uniqueTopic("perf-size");
    const r = await run([
      "perf",
      `kafka:${bootstrap}/${topic}?t.acks=all`,
      "--records",
      "20000",
      "--record-size",
      "64",
      "--json",
      "--interval",
      "200",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    // Interval lines in Java's wording before the JSON one.
    for (const line of lines.slice(0, -1)) {
      expect(line).toMatch(
        /^\d+ records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency\.$/,
      );
    }
    const out = lastJson(r.stdout);
    expect(out).toMatchObject({ records: 20000, delivered: 20000, failed: 0 });
    const l = out.latency_ms;
    expect(l.p50).toBeGreaterThan(0);
    expect(l.p50).toBeLessThanOrEqual(l.p95);
    expect(l.p95).toBeLessThanOrEqual(l.p99);
    expect(l.p99).toBeLessThanOrEqual(l.p99_9);
    expect(l.p99_9).toBeLessThanOrEqual(l.max);
    expect(l.avg).toBeLessThanOrEqual(l.max);
    // seconds is rounded to the ms: the rate agrees with it to within that rounding.
    expect(
      Math.abs(out.records_per_s - out.delivered / out.seconds) / out.records_per_s,
    ).toBeLessThan(0.01);
    expect(out.mb_per_s).toBeCloseTo((out.records_per_s * 64) / 2 ** 20, 1);
    const back = await javaConsume(bootstrap, topic);
    // And the warm-up record, sent before the clock starts.
    expect(back).toHaveLength(20001);
    for (const rec of back.slice(0, 100)) expect(text(rec.value)).toMatch(/^[A-Z]{64}$/);
  });

  it("sends lines of a payload file, keeps a rate cap, and prints Java's final line", async () => {
    const topic = uniqueTopic("perf-file");
    const dir = mkdtempSync(join(tmpdir(), "event-kafka-perf-"));
    const file = join(dir, "payloads.txt");
    writeFileSync(file, "alpha\nbeta\n\ngamma\n");
    const r = await run([
      "perf",
      `kafka:${bootstrap}/${topic}`,
      "--records",
      "3000",
      "--payload-file",
      file,
      "--throughput",
      "2000",
    ]);
    expect(r.code).toBe(0);
    const last = r.stdout.trim().split("\n").pop()!;
    const m =
      /^3000 records sent, ([\d.]+) records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, [\d.]+ ms 50th, [\d.]+ ms 95th, [\d.]+ ms 99th, [\d.]+ ms 99\.9th\.$/.exec(
        last,
      );
    expect(m, last).not.toBeNull();
    // 3000 records at 2000/s cannot take less than 1.5 s: the rate is at most the cap.
    expect(Number(m![1])).toBeLessThanOrEqual(2000 * 1.05);
    const back = await javaConsume(bootstrap, topic);
    expect(back).toHaveLength(3001); // with the warm-up record
    const values = new Set(back.map((x) => text(x.value)));
    expect([...values].sort()).toEqual(["alpha", "beta", "gamma"]);
  });

  it("refuses bad arguments with exit 2, naming them", async () => {
    const socket = `kafka:${bootstrap}/t`;
    const cases: [string[], RegExp][] = [
      [["perf", socket, "--record-size", "10"], /--records N/],
      [["perf", socket, "--records", "10"], /one of --record-size BYTES and --payload-file FILE/],
      [["perf", socket, "--records", "0", "--record-size", "10"], /--records expects an integer/],
      [
        ["perf", socket, "--records", "5", "--record-size", "10", "--throughput", "0"],
        /--throughput expects/,
      ],
      [
        ["perf", socket, "--records", "5", "--payload-file", "/no/such/file"],
        /--payload-file \/no\/such\/file: ENOENT/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
