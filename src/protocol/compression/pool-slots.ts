/**
 * How many compressions run in zlib's thread pool at once. The pool has four
 * threads, each able to keep a core busy: on a machine of two cores three
 * batches compressing with gzip took both cores from the event loop that the
 * application and the producer run on (event-loop delay p99 16 ms, max 49 ms
 * at 100,000 records/s of 1 KiB). One core is left to the event loop, as
 * librdkafka compresses on one thread per broker.
 */
import { availableParallelism, cpus } from "node:os";

/** Compressions in the thread pool at once: the cores less one, at least one. */
export const POOL_COMPRESSIONS = Math.max(
  1,
  (typeof availableParallelism === "function" ? availableParallelism() : cpus().length) - 1,
);

/** Runs `job` once fewer than `limit` jobs started through the same slots are running. */
export class PoolSlots {
  #running = 0;
  #started = 0;
  #peak = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** Jobs running now (at most `limit`). */
  get running(): number {
    return this.#running;
  }

  /** Jobs started since the slots were made. */
  get started(): number {
    return this.#started;
  }

  /** The most jobs that ran at once (resettable, for tests and the bench). */
  get peak(): number {
    return this.#peak;
  }

  resetPeak(): void {
    this.#peak = this.#running;
  }

  /** Jobs waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#running < this.limit) this.#running++;
    // A finishing job hands its slot straight to the first waiter (running stays counted).
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#started++;
    if (this.#running > this.#peak) this.#peak = this.#running;
    try {
      return await job();
    } finally {
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#running--;
    }
  }
}

/** The slots every thread-pool compression of this process takes. */
export const compressionSlots = new PoolSlots(POOL_COMPRESSIONS);

/**
 * A compression that runs `inPlace` on the event loop when the input is at
 * most `inPlaceMax` bytes (the thread-pool hop would cost more CPU than the
 * work), else `pooled` in zlib's thread pool, holding one of the slots. Either
 * way a Promise, rejected with what either one throws or reports.
 */
export function compressInPlaceOrPooled(
  size: number,
  inPlaceMax: number,
  inPlace: () => Buffer,
  pooled: (done: (err: Error | null, out: Buffer) => void) => void,
): Promise<Buffer> {
  if (size <= inPlaceMax) {
    try {
      return Promise.resolve(inPlace());
    } catch (e) {
      return Promise.reject(e);
    }
  }
  return compressionSlots.run(
    () =>
      new Promise<Buffer>((resolve, reject) =>
        pooled((err, out) => (err ? reject(err) : resolve(out))),
      ),
  );
}
