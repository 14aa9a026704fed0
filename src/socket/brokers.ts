/**
 * Named brokers (the `broker_id` parameter) and `kafka_publish()`
 * (docs/event-kafka.md, "Named brokers").
 */

import type { Producer } from "../producer/producer.js";
import type { DeliveryError } from "../producer/record.js";
import type { ProducerPool } from "./producer-pool.js";
import { type KafkaSocket, parseSocket, redactSocketText } from "./socket.js";

export class BrokerIdError extends Error {
  override readonly name = "BrokerIdError";
  /** The broker_id value as given, with secret values as ***. */
  readonly input: string;
  constructor(input: string, reason: string) {
    const shown = redactSocketText(input);
    super(`invalid broker_id "${shown}": ${reason}`);
    this.input = shown;
  }
}

/** What the report callback receives, once per queued record. */
export interface PublishReport {
  /** The broker ID. */
  id: string;
  /** 0 delivered, -1 failed. */
  status: 0 | -1;
  /** The key ("" when none). */
  key: string;
  /** The payload. */
  msg: string;
  partition: number;
  offset: number;
  error?: DeliveryError;
}

export type PublishReportCallback = (report: PublishReport) => void;

interface NamedBroker {
  id: string;
  socket: KafkaSocket;
  producer: Producer;
}

/** Splits "[ID]socket" (leading white space skipped) into the ID and the socket. */
export function parseBrokerId(spec: string): { id: string; socket: string } {
  if (typeof spec !== "string") throw new TypeError("broker_id must be a string");
  const text = spec.trimStart();
  if (!text.startsWith("[")) throw new BrokerIdError(spec, "expected [ID] before the socket");
  const close = text.indexOf("]");
  if (close < 0) throw new BrokerIdError(spec, "missing ']' after the ID");
  const id = text.slice(1, close);
  if (id === "") throw new BrokerIdError(spec, "the ID between [ and ] is empty");
  return { id, socket: text.slice(close + 1) };
}

export class BrokerRegistry {
  private readonly brokers = new Map<string, NamedBroker>();

  constructor(private readonly pool: ProducerPool) {}

  /**
   * Adds a named broker from a `broker_id` value: "[ID]kafka:BROKERS/TOPIC?PROPS"
   * (the `kafka:` prefix is optional). Throws for a malformed value, an empty
   * or duplicate ID, or a malformed socket.
   */
  addBroker(spec: string): string {
    const { id, socket } = parseBrokerId(spec);
    if (this.brokers.has(id)) throw new BrokerIdError(spec, `duplicate ID "${id}"`);
    const parsed = parseSocket(socket, { prefixOptional: true });
    this.brokers.set(id, { id, socket: parsed, producer: this.pool.acquire(parsed) });
    return id;
  }

  has(id: string): boolean {
    return this.brokers.has(id);
  }

  /** Throws unless `id` names a broker: for IDs known at configuration time. */
  check(id: string): void {
    if (!this.brokers.has(id)) {
      throw new BrokerIdError(id, `unknown broker ID "${id}" (not set with broker_id)`);
    }
  }

  ids(): string[] {
    return [...this.brokers.keys()];
  }

  /**
   * kafka_publish(): queues `message` (with `key` when given and non-empty) to
   * the named broker's topic. Returns 1 when queued, -1 otherwise (unknown ID,
   * queue full, message over message.max.bytes, producer closed); `report` is
   * then called exactly once for a queued record, never for one that was not.
   */
  publish(id: string, message: string, key?: string, report?: PublishReportCallback): 1 | -1 {
    const broker = this.brokers.get(id);
    if (broker === undefined || typeof message !== "string") return -1;
    const k = typeof key === "string" && key !== "" ? key : null;
    try {
      broker.producer.produce(
        { topic: broker.socket.topic, key: k, value: message },
        report &&
          ((err, r) =>
            report({
              id,
              status: err ? -1 : 0,
              key: k ?? "",
              msg: message,
              partition: r.partition,
              offset: r.offset,
              ...(err && { error: err }),
            })),
      );
      return 1;
    } catch {
      return -1;
    }
  }

  /** Removes every named broker (their producers are released). */
  async clear(): Promise<void> {
    const all = [...this.brokers.values()];
    this.brokers.clear();
    await Promise.all(all.map((b) => this.pool.release(b.socket)));
  }
}
