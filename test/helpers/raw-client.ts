/**
 * A raw-socket Kafka client for conformance tests: one connection, one request
 * at a time, built only from `src/protocol` (no producer code), so a failure
 * points at the wire format itself.
 */
import net from "node:net";
import { FrameSplitter } from "../../src/protocol/frame.js";
import {
  encodeRequestFrame,
  readResponseHeader,
  responseHeaderVersion,
} from "../../src/protocol/headers.js";
import { Reader } from "../../src/protocol/reader.js";
import { Writer } from "../../src/protocol/writer.js";

export class RawClient {
  private correlationId = 0;
  private waiting: ((frame: Buffer) => void) | undefined;
  private waitingFailed: ((err: Error) => void) | undefined;
  private failure: Error | undefined;
  private readonly frames: Buffer[] = [];

  private constructor(private readonly socket: net.Socket) {
    const splitter = new FrameSplitter((frame) => {
      const copy = Buffer.from(frame);
      if (this.waiting) {
        const w = this.waiting;
        this.waiting = undefined;
        w(copy);
      } else this.frames.push(copy);
    });
    socket.on("data", (chunk: Buffer) => splitter.push(chunk));
    socket.on("error", (err) => {
      this.failure = err;
    });
    socket.on("close", () => {
      this.failure ??= new Error("connection closed by the broker");
      const fail = this.waitingFailed;
      this.waiting = undefined;
      this.waitingFailed = undefined;
      fail?.(this.failure);
    });
  }

  static connect(address: string): Promise<RawClient> {
    const i = address.lastIndexOf(":");
    const host = address.slice(0, i);
    const port = Number(address.slice(i + 1));
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port }, () => {
        socket.off("error", reject);
        resolve(new RawClient(socket));
      });
      socket.once("error", reject);
    });
  }

  /** Sends raw frame bytes (for requests the encoders would refuse to build). */
  sendRaw(frame: Buffer): void {
    this.socket.write(frame);
  }

  /** Waits for the next response frame (body after the size prefix). */
  nextFrame(timeoutMs = 15000): Promise<Buffer> {
    const ready = this.frames.shift();
    if (ready) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        this.waitingFailed = undefined;
        reject(this.failure ?? new Error(`no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = (frame) => {
        clearTimeout(timer);
        this.waitingFailed = undefined;
        resolve(frame);
      };
      this.waitingFailed = (err) => {
        clearTimeout(timer);
        reject(err);
      };
    });
  }

  nextCorrelationId(): number {
    return ++this.correlationId;
  }

  /** Encodes one request, sends it and decodes its response. */
  async request<T>(
    apiKey: number,
    version: number,
    writeBody: (w: Writer) => void,
    decode: (r: Reader) => T,
    headerVersion: 0 | 1 = responseHeaderVersion(apiKey, version),
  ): Promise<T> {
    const correlationId = this.nextCorrelationId();
    const frame = encodeRequestFrame(
      new Writer(1024),
      { apiKey, apiVersion: version, correlationId, clientId: "event-kafka-conformance" },
      (w) => writeBody(w),
    );
    this.socket.write(Buffer.from(frame));
    const body = await this.nextFrame();
    const r = new Reader(body);
    const header = readResponseHeader(r, headerVersion);
    if (header.correlationId !== correlationId) {
      throw new Error(`correlation id ${header.correlationId}, expected ${correlationId}`);
    }
    const out = decode(r);
    r.expectEnd(`response to API ${apiKey} v${version}`);
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}
