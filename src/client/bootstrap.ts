/**
 * The bootstrap.servers list: the broker addresses the client first asks for
 * metadata, before the metadata names the brokers.
 */
import { KafkaClientError } from "./client-error.js";

/** Parses "host:port,[v6]:port,host" (port 9092 by default). */
export function parseBootstrap(list: string): { host: string; port: number }[] {
  const out: { host: string; port: number }[] = [];
  for (const raw of list.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(entry);
    const port = m?.[3] === undefined ? 9092 : Number(m[3]);
    if (!m || port < 1 || port > 65535) {
      throw new KafkaClientError(
        "INVALID_ARG",
        `invalid broker address "${entry}": expected host:port`,
      );
    }
    out.push({ host: (m[1] ?? m[2])!, port });
  }
  return out;
}
