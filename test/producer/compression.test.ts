/**
 * The producer with each compression codec against the real broker, which
 * decompresses every batch to validate it; records read back by the Java reader
 * (Apache Kafka's own consumer), byte for byte.
 */
import zlib from "node:zlib";
import { describe, expect, inject, it } from "vitest";
import { Producer } from "../../src/producer/producer.js";
import { EventKafka, type PublishReport, parseSocket } from "../../src/socket/index.js";
import { javaConsume, text } from "../broker/java-reader.js";
import { uniqueTopic } from "../helpers/topics.js";

const bootstrap = inject("kafkaBootstrap");
const zstdAvailable =
  typeof (zlib as { zstdCompressSync?: unknown }).zstdCompressSync === "function";

describe("producer compression", () => {
  for (const codec of ["gzip", "snappy", "lz4"] as const) {
    it(`${codec}: batches accepted by the broker, records read back identical, bytes saved`, async () => {
      const topic = uniqueTopic(`comp-${codec}`);
      const producer = new Producer({
        "bootstrap.servers": bootstrap,
        "compression.codec": codec,
        "linger.ms": 20,
      });
      const values: Buffer[] = [];
      for (let i = 0; i < 3000; i++) {
        values.push(Buffer.from(`{"seq":${i},"event":"E_PIKE_BLOCKED","ip":"10.0.${i % 256}.1"}`));
      }
      const big = Buffer.from("0123456789abcdef".repeat(56 * 1024)); // 896 KiB, compressible
      values.push(big);
      const reports = await Promise.all(
        values.map((value, i) => producer.send({ topic, key: `k${i % 10}`, value })),
      );
      const stats = producer.stats();
      await producer.close(5000);
      expect(reports.every((r) => r.offset >= 0)).toBe(true);
      const raw = values.reduce((n, v) => n + v.length, 0);
      // Compressed batches are what went over the wire.
      expect(stats.bytesSent).toBeLessThan(raw / 3);
      const back = await javaConsume(bootstrap, topic);
      expect(back).toHaveLength(values.length);
      const got = back.map((r) => r.value!.toString("latin1")).sort();
      expect(got).toEqual(values.map((v) => v.toString("latin1")).sort());
      // Each record is where its delivery report said, with its own key and value.
      const at = new Map(back.map((r) => [`${r.partition}:${r.offset}`, r]));
      const wrong = reports.flatMap((rep, i) => {
        const r = at.get(`${rep.partition}:${rep.offset}`);
        const ok = r?.value?.equals(values[i]!) && text(r.key) === `k${i % 10}`;
        return ok ? [] : [i];
      });
      expect(wrong).toEqual([]);
    });
  }

  it("zstd: delivered where Node has it, refused at configuration otherwise", async () => {
    const props = { "bootstrap.servers": bootstrap, "compression.codec": "zstd" } as const;
    if (!zstdAvailable) {
      expect(() => new Producer(props)).toThrow(
        /Invalid value "zstd" for configuration property "compression.codec": zstd compression needs Node\.js 22\.15\.0 or newer/,
      );
      expect(() => parseSocket(`kafka:${bootstrap}/t?g.compression.codec=zstd`)).toThrow(
        /needs Node\.js 22\.15\.0/,
      );
      return;
    }
    const topic = uniqueTopic("comp-zstd");
    const producer = new Producer(props);
    const report = await producer.send({ topic, value: "zstd value" });
    await producer.close(5000);
    expect(report.offset).toBe(0);
    const back = await javaConsume(bootstrap, topic);
    expect(back.map((r) => [r.key, text(r.value)])).toEqual([[null, "zstd value"]]);
  });

  it("refuses a level the codec does not have", () => {
    expect(
      () =>
        new Producer({
          "bootstrap.servers": bootstrap,
          "compression.codec": "gzip",
          "compression.level": 12,
        }),
    ).toThrow(/Invalid value "12" for configuration property "compression.level"/);
  });

  it("is set from a socket: g.compression.codec=lz4", async () => {
    const topic = uniqueTopic("comp-socket");
    const kafka = new EventKafka();
    kafka.addBroker(`[z]kafka:${bootstrap}/${topic}?g.compression.codec=lz4&t.compression.level=9`);
    const reports: PublishReport[] = [];
    const message = "lz4 through a socket ".repeat(100);
    expect(kafka.publish("z", message, "key", (r) => reports.push(r))).toBe(1);
    await kafka.close(5000);
    expect(reports.map((r) => r.status)).toEqual([0]);
    const back = await javaConsume(bootstrap, topic);
    expect(back.map((r) => [text(r.key), text(r.value)])).toEqual([["key", message]]);
  });
});
