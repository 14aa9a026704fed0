/**
 * The producer's counters in the Prometheus text exposition format (0.0.4):
 * the one writer behind `Producer.prometheusMetrics()` and the sidecar's
 * /metrics, so a family has the same name, type and help text in both.
 */
import type { ProducerStats } from "./stats.js";

/** A label value, escaped as the format asks (backslash, quote, newline). */
function labelValue(v: string): string {
  return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** Lines of one exposition: each family's HELP and TYPE, then its samples. */
export class PrometheusText {
  private readonly lines: string[] = [];

  family(name: string, type: "counter" | "gauge", help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }

  sample(name: string, labels: Record<string, string>, value: number): void {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}=${labelValue(v)}`);
    this.lines.push(`${name}${pairs.length > 0 ? `{${pairs.join(",")}}` : ""} ${value}`);
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

/** One producer's counters and the labels that tell it from others in the same exposition. */
export interface LabelledStats {
  labels: Record<string, string>;
  stats: ProducerStats;
}

type Pick = (s: ProducerStats) => number;

/** Family name (after the prefix), type, help, value: in ProducerStats' order. */
const FAMILIES: readonly [string, "counter" | "gauge", string, Pick][] = [
  ["records_produced_total", "counter", "Records accepted by produce().", (s) => s.produced],
  ["queue_records", "gauge", "Records waiting for their delivery report.", (s) => s.queued],
  ["queue_bytes", "gauge", "Bytes of the records waiting.", (s) => s.queuedBytes],
  ["buffer_bytes", "gauge", "Bytes of batch buffers held.", (s) => s.bufferBytes],
  [
    "records_sent_total",
    "counter",
    "Records carried by Produce requests, retries included.",
    (s) => s.sent,
  ],
  ["records_delivered_total", "counter", "Records reported delivered.", (s) => s.delivered],
  ["records_failed_total", "counter", "Records reported failed.", (s) => s.failed],
  [
    "retries_total",
    "counter",
    "Records whose batch was retried, counted per retry.",
    (s) => s.retries,
  ],
  ["bytes_sent_total", "counter", "Record-batch bytes sent.", (s) => s.bytesSent],
  ["batches_sent_total", "counter", "Record batches sent.", (s) => s.batchesSent],
  ["requests_total", "counter", "Produce requests sent.", (s) => s.requests],
  [
    "reauthentications_total",
    "counter",
    "SASL re-authentications of live connections.",
    (s) => s.reauthentications,
  ],
  ["in_flight_requests", "gauge", "Requests awaiting a response.", (s) => s.inFlight],
];

/**
 * Writes every producer family with `prefix` (e.g. "event_kafka_producer_"),
 * one sample per entry, and the last round-trip time per broker in seconds.
 */
export function writeProducerFamilies(
  out: PrometheusText,
  prefix: string,
  entries: readonly LabelledStats[],
): void {
  for (const [name, type, help, pick] of FAMILIES) {
    out.family(`${prefix}${name}`, type, help);
    for (const { labels, stats } of entries) out.sample(`${prefix}${name}`, labels, pick(stats));
  }
  const rtt = `${prefix}broker_rtt_seconds`;
  out.family(rtt, "gauge", "Round-trip time of the last response, by broker address.");
  for (const { labels, stats } of entries) {
    for (const [broker, ms] of Object.entries(stats.rttMs)) {
      out.sample(rtt, { ...labels, broker }, ms / 1000);
    }
  }
}

export interface PrometheusOptions {
  /** Prepended to every family name; default "event_kafka_producer_". */
  prefix?: string;
  /** Labels on every sample, e.g. { client: "billing" }. */
  labels?: Record<string, string>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** One producer's counters as a whole exposition. Throws naming a bad prefix or label name. */
export function prometheusText(stats: ProducerStats, options: PrometheusOptions = {}): string {
  const prefix = options.prefix ?? "event_kafka_producer_";
  if (!METRIC_NAME.test(`${prefix}x`)) {
    throw new TypeError(`Prometheus prefix ${JSON.stringify(prefix)} is not a metric name prefix`);
  }
  const labels = options.labels ?? {};
  for (const name of Object.keys(labels)) {
    if (!LABEL_NAME.test(name) || name.startsWith("__") || name === "broker") {
      throw new TypeError(`Prometheus label name ${JSON.stringify(name)} is not allowed`);
    }
  }
  const out = new PrometheusText();
  writeProducerFamilies(out, prefix, [{ labels, stats }]);
  return out.text();
}
