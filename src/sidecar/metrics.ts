/** The sidecar's counters in the Prometheus text exposition format (version 0.0.4). */
import { PrometheusText, writeProducerFamilies } from "../producer/stats-prometheus.js";
import type { Sidecar } from "./sidecar.js";

export interface ListenerGauges {
  /** Open TCP connections. */
  tcpConnections: number;
  /** Events received and waiting for room in a full producer queue. */
  held: number;
}

const P = "event_kafka_sidecar_";

export function renderMetrics(sidecar: Sidecar, gauges: ListenerGauges): string {
  const out = new PrometheusText();
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

  // One sample per producer the routes share, labelled with its index and brokers.
  writeProducerFamilies(
    out,
    `${P}producer_`,
    sidecar.producerStats().map(({ cluster, stats }) => ({
      labels: { producer: String(cluster.index), brokers: cluster.brokers },
      stats,
    })),
  );
  return out.text();
}
