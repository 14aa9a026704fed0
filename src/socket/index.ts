/**
 * The event_kafka surface in one object: event subscriptions over kafka
 * sockets, named brokers with publish(), shared producers, one close().
 */
import type { ProducerOptions } from "../producer/producer.js";
import { BrokerRegistry, type PublishReportCallback } from "./brokers.js";
import { type EventParams, EventTransport, type RaiseOptions } from "./events.js";
import { ProducerPool } from "./producer-pool.js";

export interface EventKafkaOptions extends ProducerOptions {
  /** Time given to producers to deliver what they hold when closed (default 30 s). */
  closeTimeoutMs?: number;
}

export class EventKafka {
  private readonly pool: ProducerPool;
  readonly events: EventTransport;
  readonly brokers: BrokerRegistry;

  constructor(options: EventKafkaOptions = {}) {
    const { closeTimeoutMs, ...producerOptions } = options;
    this.pool = new ProducerPool(producerOptions, closeTimeoutMs);
    this.events = new EventTransport(this.pool);
    this.brokers = new BrokerRegistry(this.pool);
  }

  subscribe(event: string, socket: string, expireSeconds?: number): void {
    this.events.subscribe(event, socket, expireSeconds);
  }

  unsubscribe(event: string, socket: string): boolean {
    return this.events.unsubscribe(event, socket);
  }

  raise(event: string, params?: EventParams, options?: RaiseOptions): number {
    return this.events.raise(event, params, options);
  }

  /** The `broker_id` parameter: "[ID]kafka:BROKERS/TOPIC?PROPERTIES". */
  addBroker(spec: string): string {
    return this.brokers.addBroker(spec);
  }

  /** kafka_publish(): 1 when queued, -1 otherwise. */
  publish(id: string, message: string, key?: string, report?: PublishReportCallback): 1 | -1 {
    return this.brokers.publish(id, message, key, report);
  }

  /** Producers alive (sockets with the same brokers and properties share one). */
  get producerCount(): number {
    return this.pool.size;
  }

  /**
   * Flushes and closes every producer within `timeoutMs`; records still
   * undelivered then are reported failed. Resolves with their number.
   */
  async close(timeoutMs?: number): Promise<number> {
    const failed = await this.pool.closeAll(timeoutMs);
    this.events.clear();
    await this.brokers.clear();
    return failed;
  }

  /** `await using kafka = new EventKafka()`: close() with its default deadline at the scope's end. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export { BrokerIdError, BrokerRegistry, type PublishReport, parseBrokerId } from "./brokers.js";
export {
  type EventParams,
  type EventStatus,
  EventTransport,
  type EventValue,
  eventPayload,
  type RaiseOptions,
} from "./events.js";
export { ProducerPool } from "./producer-pool.js";
export {
  formatSocket,
  type KafkaSocket,
  parseSocket,
  redactSocketText,
  SocketError,
  socketsEqual,
} from "./socket.js";
