/**
 * Producer counters as Prometheus text (exposition format 0.0.4): the lines
 * the format defines (HELP, TYPE, samples with escaped label values), the
 * refusals of names the format does not allow, and the sidecar sharing the
 * same families.
 */
import { describe, expect, it } from "vitest";
import { emptyStats } from "../../src/producer/stats.js";
import { PrometheusText, prometheusText } from "../../src/producer/stats-prometheus.js";

const stats = {
  ...emptyStats(),
  produced: 7,
  queued: 2,
  delivered: 5,
  rttMs: { "127.0.0.1:9092": 1.5 },
};

describe("prometheusText", () => {
  it("writes HELP and TYPE before each family's samples, with the default prefix", () => {
    const lines = prometheusText(stats).split("\n");
    const i = lines.indexOf(
      "# HELP event_kafka_producer_records_produced_total Records accepted by produce().",
    );
    expect(i).toBeGreaterThanOrEqual(0);
    expect(lines.slice(i + 1, i + 3)).toEqual([
      "# TYPE event_kafka_producer_records_produced_total counter",
      "event_kafka_producer_records_produced_total 7",
    ]);
    expect(lines).toContain("# TYPE event_kafka_producer_queue_records gauge");
    expect(lines).toContain("event_kafka_producer_queue_records 2");
    expect(lines).toContain("event_kafka_producer_records_delivered_total 5");
    expect(lines).toContain(
      'event_kafka_producer_broker_rtt_seconds{broker="127.0.0.1:9092"} 0.0015',
    );
    // Every line is a comment or `name{labels} value`; the text ends with a newline.
    expect(lines.at(-1)).toBe("");
    for (const l of lines.slice(0, -1)) {
      expect(l).toMatch(
        /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.]+)$/,
      );
    }
    // Each family is declared once.
    const types = lines.filter((l) => l.startsWith("# TYPE "));
    expect(new Set(types).size).toBe(types.length);
  });

  it("puts the caller's labels and prefix on every sample, escaping values as the format asks", () => {
    const text = prometheusText(stats, { prefix: "app_kafka_", labels: { client: 'a"b\\c\nd' } });
    expect(text).toContain('app_kafka_records_produced_total{client="a\\"b\\\\c\\nd"} 7\n');
    expect(text).toContain(
      'app_kafka_broker_rtt_seconds{client="a\\"b\\\\c\\nd",broker="127.0.0.1:9092"} 0.0015\n',
    );
    expect(text).not.toContain("event_kafka_producer_");
  });

  it("refuses a prefix or label name the format does not allow, naming it", () => {
    expect(() => prometheusText(stats, { prefix: "1bad-" })).toThrow(/prefix "1bad-"/);
    expect(() => prometheusText(stats, { labels: { "a-b": "x" } })).toThrow(/label name "a-b"/);
    expect(() => prometheusText(stats, { labels: { __name__: "x" } })).toThrow(/"__name__"/);
    // "broker" labels the round-trip samples already.
    expect(() => prometheusText(stats, { labels: { broker: "x" } })).toThrow(/"broker"/);
  });

  it("PrometheusText writes a sample without labels bare", () => {
    const out = new PrometheusText();
    out.family("x_total", "counter", "An x.");
    out.sample("x_total", {}, 3);
    expect(out.text()).toBe("# HELP x_total An x.\n# TYPE x_total counter\nx_total 3\n");
  });
});
