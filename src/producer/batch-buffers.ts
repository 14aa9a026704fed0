/**
 * The memory of batch buffers: a pool of the writers of reported batches
 * (WriterPool), and the bytes live batches hold, counted against
 * queue.buffering.max.kbytes (BatchBuffers). The Accumulator calls it as it
 * opens, grows, splits and removes batches; the count is this class's alone.
 */

import { Writer } from "../protocol/writer.js";
import type { Batch } from "./batch.js";

/**
 * Keeps the writers of finished batches for the next ones, bounded in count
 * and in bytes. A new writer starts small and grows with its batch, so a
 * producer writing to many partitions does not hold a large buffer for each.
 */
export class WriterPool {
  private readonly free: Writer[] = [];
  private freeBytes = 0;
  constructor(private readonly maxPooledBytes: number) {}

  /** A pooled writer, or a new one sized for `needBytes` (a power of two, 1 KiB at least). */
  take(needBytes: number): Writer {
    const w = this.free.pop();
    if (w === undefined) {
      let size = 1024;
      while (size < needBytes) size *= 2;
      return new Writer(size);
    }
    this.freeBytes -= w.buf.length;
    return w.reset();
  }

  give(w: Writer): void {
    if (this.freeBytes + w.buf.length > this.maxPooledBytes) return;
    this.free.push(w);
    this.freeBytes += w.buf.length;
  }
}

export class BatchBuffers {
  /** Bytes of buffer held by live batches (counted against queue.buffering.max.kbytes). */
  bytes = 0;
  private readonly pool: WriterPool;

  constructor(maxQueueBytes: number) {
    // Buffers sized for their first record that grow with their batch; the
    // pool keeps grown ones up to a bound, so a steady stream does not reallocate.
    this.pool = new WriterPool(Math.min(64 * 1024 * 1024, maxQueueBytes));
  }

  /** A buffer for a new batch of `needBytes` (counted once the batch has it: see hold). */
  take(needBytes: number): Writer {
    return this.pool.take(needBytes);
  }

  /** Counts the buffer of a new batch as one sized for `needBytes`. */
  hold(batch: Batch, needBytes: number): void {
    batch.heldBytes = Math.min(batch.capacity, bufferSizeFor(needBytes));
    this.bytes += batch.heldBytes;
  }

  /**
   * Counts a batch's buffer as what a buffer sized to its bytes would take
   * (the next power of two), not the size of a larger pooled buffer it was
   * given: pooled slack is bounded by the pool and must not fill the queue.
   */
  track(batch: Batch): void {
    const used = batch.byteLength;
    if (used > batch.heldBytes) {
      const counted = Math.min(batch.capacity, bufferSizeFor(used));
      this.bytes += counted - batch.heldBytes;
      batch.heldBytes = counted;
    }
  }

  /** Stops counting a removed batch's buffer and pools it. */
  release(batch: Batch): void {
    this.bytes -= batch.heldBytes;
    batch.heldBytes = 0;
    // A batch still being compressed keeps its writer: the codec writes into it.
    if (!batch.sealing) this.pool.give(batch.writer);
  }
}

/** The buffer a batch of `bytes` needs: a power of two, 1 KiB at least (as WriterPool sizes new ones). */
function bufferSizeFor(bytes: number): number {
  return bytes <= 1024 ? 1024 : 2 ** Math.ceil(Math.log2(bytes));
}
