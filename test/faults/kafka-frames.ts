/**
 * Kafka's framing seen from the proxy: one direction of a connection cut into frames (a 4-byte
 * size, then that many bytes), each frame's first bytes handed over. Requests start with the
 * API key, version and correlation id (8 bytes); responses with the correlation id (4 bytes).
 * Only the sizes are read: the bodies are skipped, whatever they hold.
 */

/** The first `headBytes` bytes after each frame's size, in order, however the chunks fall. */
export class FrameWatcher {
  /** The current frame's size and head, gathered until complete. */
  private head: Buffer;
  private have = 0;
  /** Bytes of the current frame left to skip once its head is read. */
  private skip = 0;

  constructor(
    private readonly headBytes: number,
    private readonly onFrame: (head: Buffer) => void,
  ) {
    this.head = Buffer.alloc(4 + headBytes);
  }

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - pos);
        this.skip -= n;
        pos += n;
        continue;
      }
      const n = Math.min(this.head.length - this.have, chunk.length - pos);
      chunk.copy(this.head, this.have, pos, pos + n);
      this.have += n;
      pos += n;
      if (this.have < this.head.length) continue;
      const size = this.head.readInt32BE(0);
      this.have = 0;
      // A frame shorter than the head (none of Kafka's are) would desynchronise: skip nothing.
      this.skip = Math.max(0, size - this.headBytes);
      this.onFrame(Buffer.from(this.head.subarray(4)));
    }
  }
}

export interface RequestHead {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
}

/** Calls `onRequest` with the header of every request frame (client to broker). */
export function requestWatcher(onRequest: (head: RequestHead) => void): FrameWatcher {
  return new FrameWatcher(8, (h) =>
    onRequest({
      apiKey: h.readInt16BE(0),
      apiVersion: h.readInt16BE(2),
      correlationId: h.readInt32BE(4),
    }),
  );
}

/** Calls `onResponse` with the correlation id of every response frame (broker to client). */
export function responseWatcher(onResponse: (correlationId: number) => void): FrameWatcher {
  return new FrameWatcher(4, (h) => onResponse(h.readInt32BE(0)));
}
