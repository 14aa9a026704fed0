/**
 * Producers shared by sockets: sockets with the same brokers and properties
 * use one producer, created on first use and closed when the last user lets go.
 */
import { Producer, type ProducerOptions } from "../producer/producer.js";
import { type KafkaSocket, producerKey, producerPropertiesOf } from "./socket.js";

interface Entry {
  producer: Producer;
  users: number;
}

export class ProducerPool {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly options: ProducerOptions = {},
    /** Time close() gives a producer to deliver what it holds when its last user goes. */
    private readonly closeTimeoutMs = 30000,
  ) {}

  /** The producer for `socket`, counting one more user of it. */
  acquire(socket: KafkaSocket): Producer {
    const key = producerKey(socket);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { producer: new Producer(producerPropertiesOf(socket), this.options), users: 0 };
      this.entries.set(key, entry);
    }
    entry.users++;
    return entry.producer;
  }

  /** One user fewer; the producer is closed (flushing first) when none is left. */
  release(socket: KafkaSocket): Promise<number> {
    const key = producerKey(socket);
    const entry = this.entries.get(key);
    if (entry === undefined) return Promise.resolve(0);
    entry.users--;
    if (entry.users > 0) return Promise.resolve(0);
    this.entries.delete(key);
    return entry.producer.close(this.closeTimeoutMs);
  }

  /** Producers alive now. */
  get size(): number {
    return this.entries.size;
  }

  /** Closes every producer; resolves with the number of records failed at the deadline. */
  async closeAll(timeoutMs = this.closeTimeoutMs): Promise<number> {
    const all = [...this.entries.values()];
    this.entries.clear();
    const failed = await Promise.all(all.map((e) => e.producer.close(timeoutMs)));
    return failed.reduce((a, b) => a + b, 0);
  }
}
