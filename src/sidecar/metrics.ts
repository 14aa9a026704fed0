/** The sidecar's counters in the Prometheus text exposition format (version 0.0.4). */
import type { Sidecar } from "./sidecar.js";

export interface ListenerGauges {
  /** Open TCP connections. */
  tcpConnections: number;
  /** Events received and waiting for room in a full producer queue. */
  held: number;
}

/** A label value, escaped as the format asks (backslash, quote, newline). */
function label(v: string): string {
  return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: "counter" | "gauge", help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }

  sample(name: string, labels: Record<string, string>, value: number): void {
    const pairs = Object.entries(labels).map(([k, v]) => `${k}=${label(v)}`);
    this.lines.push(`${name}${pairs.length > 0 ? `{${pairs.join(",")}}` : ""} ${value}`);
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

const P = "event_kafka_sidecar_";

export function renderMetrics(sidecar: Sidecar, gauges: ListenerGauges): string {
  const out = new Exposition();
  out.family(`${P}events_received_total`, "counter", "Messages received, by listener.");
  for (const l of sidecar.listeners)
    out.sample(`${P}events_received_total`, { listener: l.label }, l.received);

  out.family(
    `${P}bad_input_total`,
    "counter",
    "Messages refused as bad input, by listener and reason.",
  );
  for (const l of sidecar.listeners) {
    for (const [reason, n] of l.bad) {
      out.sample(`${P}bad_input_total`, { listener: l.label, reason }, n);
    }
  }

  const routes = sidecar.routes.routes;
  const routeLabels = (r: (typeof routes)[number]) => ({
    route: r.spec.event,
    topic: r.spec.socket.topic,
  });
  out.family(`${P}events_published_total`, "counter", "Events acknowledged by Kafka, by route.");
  for (const r of routes) out.sample(`${P}events_published_total`, routeLabels(r), r.published);
  out.family(`${P}events_failed_total`, "counter", "Events whose record failed, by route.");
  for (const r of routes) out.sample(`${P}events_failed_total`, routeLabels(r), r.failed);
  out.family(
    `${P}events_dropped_total`,
    "counter",
    'Events dropped before they were queued, by route and reason (route "" : no route).',
  );
  out.sample(
    `${P}events_dropped_total`,
    { route: "", topic: "", reason: "no_route" },
    sidecar.unrouted,
  );
  for (const r of routes) {
    for (const reason of ["queue_full", "shutdown"] as const) {
      out.sample(`${P}events_dropped_total`, { ...routeLabels(r), reason }, r.dropped[reason]);
    }
  }

  out.family(`${P}tcp_connections`, "gauge", "Open TCP connections.");
  out.sample(`${P}tcp_connections`, {}, gauges.tcpConnections);
  out.family(
    `${P}events_held`,
    "gauge",
    "Events received and waiting for room in a producer queue.",
  );
  out.sample(`${P}events_held`, {}, gauges.held);
  out.family(`${P}requests_awaiting_answer`, "gauge", "Requests queued and not yet answered.");
  out.sample(`${P}requests_awaiting_answer`, {}, sidecar.awaiting);
  out.family(`${P}answers_undeliverable_total`, "counter", "Answers owed to peers that had gone.");
  out.sample(`${P}answers_undeliverable_total`, {}, sidecar.unanswered);

  const producers = sidecar.producerStats();
  const perProducer = (
    name: string,
    type: "counter" | "gauge",
    help: string,
    pick: (s: (typeof producers)[number]["stats"]) => number,
  ) => {
    out.family(`${P}${name}`, type, help);
    for (const { cluster, stats } of producers) {
      const labels = { producer: String(cluster.index), brokers: cluster.brokers };
      out.sample(`${P}${name}`, labels, pick(stats));
    }
  };
  const gauge = (name: string, help: string, pick: Parameters<typeof perProducer>[3]) =>
    perProducer(name, "gauge", help, pick);
  const counter = (name: string, help: string, pick: Parameters<typeof perProducer>[3]) =>
    perProducer(name, "counter", help, pick);
  gauge("producer_queue_records", "Records waiting for their delivery report.", (s) => s.queued);
  gauge("producer_queue_bytes", "Bytes of the records waiting.", (s) => s.queuedBytes);
  gauge("producer_buffer_bytes", "Bytes of batch buffers held.", (s) => s.bufferBytes);
  gauge("producer_in_flight_requests", "Produce requests awaiting a response.", (s) => s.inFlight);
  counter("producer_records_delivered_total", "Records reported delivered.", (s) => s.delivered);
  counter("producer_records_failed_total", "Records reported failed.", (s) => s.failed);
  counter("producer_retries_total", "Batches retried (per retry).", (s) => s.retries);
  counter("producer_requests_total", "Produce requests sent.", (s) => s.requests);
  counter("producer_batches_sent_total", "Record batches sent.", (s) => s.batchesSent);
  counter("producer_bytes_sent_total", "Record-batch bytes sent.", (s) => s.bytesSent);
  return out.text();
}
