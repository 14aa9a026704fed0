/**
 * The queue's limits, from message.max.bytes, queue.buffering.max.messages
 * and queue.buffering.max.kbytes (record bytes and batch buffers alike), and
 * the room check produce() makes against them before it queues a record.
 */

import { KafkaClientError } from "../client/client-error.js";
import type { ProducerConfig } from "../config/index.js";
import { type ProducerRecord, recordSize, recordSizeUpperBound } from "./record.js";
import type { ProducerStats } from "./stats.js";

export class QueueLimits {
  /** message.max.bytes: the most one record may take. */
  readonly maxRecordBytes: number;
  /** queue.buffering.max.messages: the most records waiting for their report. */
  readonly maxRecords: number;
  /** queue.buffering.max.kbytes, in bytes: the most record bytes, and batch buffer bytes, held. */
  readonly maxBytes: number;

  constructor(private readonly config: Readonly<ProducerConfig>) {
    this.maxBytes = config["queue.buffering.max.kbytes"] * 1024;
    this.maxRecordBytes = config["message.max.bytes"];
    this.maxRecords = config["queue.buffering.max.messages"];
  }

  /**
   * The bytes `record` (of `topic`) is counted as in the queue: an upper
   * bound, or its exact size when the bound does not fit. Throws
   * MSG_SIZE_TOO_LARGE for a record over message.max.bytes, and QUEUE_FULL
   * when the queue has no room for it.
   */
  roomFor(
    record: ProducerRecord,
    topic: string,
    counters: Pick<ProducerStats, "queued" | "queuedBytes">,
    bufferBytes: number,
  ): number {
    const maxBytes = this.maxRecordBytes;
    let size = recordSizeUpperBound(record);
    if (size > maxBytes || counters.queuedBytes + size > this.maxBytes) {
      size = recordSize(record);
      if (size > maxBytes) {
        throw new KafkaClientError(
          "MSG_SIZE_TOO_LARGE",
          `record of ${size} bytes for topic "${topic}" exceeds message.max.bytes (${maxBytes})`,
        );
      }
    }
    if (counters.queued >= this.maxRecords) {
      throw new KafkaClientError(
        "QUEUE_FULL",
        `queue full: ${counters.queued} records waiting (queue.buffering.max.messages=${this.config["queue.buffering.max.messages"]})`,
      );
    }
    if (counters.queuedBytes + size > this.maxBytes) {
      throw new KafkaClientError(
        "QUEUE_FULL",
        `queue full: ${counters.queuedBytes} bytes waiting (queue.buffering.max.kbytes=${this.config["queue.buffering.max.kbytes"]})`,
      );
    }
    // The batch buffers count too: many partitions each with a small batch hold more
    // buffer than record bytes.
    if (bufferBytes > this.maxBytes) {
      throw new KafkaClientError(
        "QUEUE_FULL",
        `queue full: ${bufferBytes} bytes of batch buffers held (queue.buffering.max.kbytes=${this.config["queue.buffering.max.kbytes"]})`,
      );
    }
    return size;
  }
}
