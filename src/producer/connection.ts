/**
 * One TCP connection to one broker: requests pipelined with correlation ids,
 * responses matched in order (Kafka answers a connection's requests in the
 * order they were sent), a bound on requests in flight, a response deadline
 * and the ApiVersions handshake with its downgrade rule (KIP-511).
 */
import net from "node:net";
import { ApiKey, apiName } from "../protocol/api-keys.js";
import {
  API_VERSIONS_VERSIONS,
  type ApiVersionsResponse,
  decodeApiVersionsResponseTolerant,
  encodeApiVersionsRequest,
  pickApiVersionsFallback,
  UNSUPPORTED_VERSION_ERROR,
} from "../protocol/api-versions.js";
import { FrameSplitter } from "../protocol/frame.js";
import {
  encodeRequestFrame,
  readResponseHeader,
  responseHeaderVersion,
} from "../protocol/headers.js";
import { Reader } from "../protocol/reader.js";
import { brokerVersionMap, pickVersion, type VersionRange } from "../protocol/versions.js";
import { Writer } from "../protocol/writer.js";
import { KafkaClientError } from "./client-error.js";
import { type Logger, silentLogger } from "./logger.js";

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId: string;
  /** socket.connection.setup.timeout.ms: TCP connect plus the ApiVersions handshake. */
  connectTimeoutMs: number;
  /** socket.timeout.ms: longest wait for a response. */
  requestTimeoutMs: number;
  /** max.in.flight.requests.per.connection */
  maxInFlight: number;
  /** receive.message.max.bytes */
  maxResponseBytes: number;
  noDelay: boolean;
  keepAlive: boolean;
  logger?: Logger;
  softwareName?: string;
  softwareVersion?: string;
}

export type ResponseCallback<T> = (err: Error | null, response?: T) => void;

/**
 * One request as a value: what the connection needs to frame, send and match
 * it. The connection assigns the correlation id and writes the header.
 */
export interface KafkaRequest<T> {
  readonly apiKey: number;
  readonly apiVersion: number;
  /** Writes the request body; byte arrays given to `w.spliced()` go out by reference. */
  encode(w: Writer): void;
  /** Decodes the response body; undefined when the broker sends none (Produce with acks=0). */
  readonly decode: ((r: Reader) => T) | undefined;
  /** Initial size of the header-and-body buffer. */
  readonly sizeHint?: number;
}

interface Pending {
  correlationId: number;
  apiKey: number;
  headerVersion: 0 | 1;
  /** undefined: no response comes; the entry waits for the write to complete. */
  decode: ((r: Reader) => unknown) | undefined;
  callback: ResponseCallback<unknown>;
  deadline: number;
  sentAt: number;
}

const CLIENT_SOFTWARE_NAME = "event-kafka";
const CLIENT_SOFTWARE_VERSION = "0.1.0";

export class BrokerConnection {
  readonly address: string;
  private readonly socket: net.Socket;
  private readonly splitter: FrameSplitter;
  /** Requests awaiting their response, in the order sent (Kafka answers in that order). */
  private readonly pending: Pending[] = [];
  /** Requests without a response (acks=0) whose write has not completed yet. */
  private readonly writes = new Set<Pending>();
  private correlationId = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  /** No request before this time: the broker throttles this client (KIP-219). */
  throttledUntil = 0;
  private closedWith: Error | undefined;
  private versions = new Map<number, VersionRange>();
  private readonly logger: Logger;
  /** The ApiVersions version the broker accepted (after any downgrade). */
  apiVersionsVersion = -1;
  /** Round-trip time of the last response, in milliseconds. */
  lastRttMs = 0;
  /** Called once when the connection closes, with the reason. */
  onClose: ((err: Error) => void) | undefined;
  /** Called when a response frees an in-flight slot. */
  onDrain: (() => void) | undefined;

  private constructor(
    private readonly options: ConnectionOptions,
    socket: net.Socket,
  ) {
    this.address = `${options.host}:${options.port}`;
    this.socket = socket;
    this.logger = options.logger ?? silentLogger;
    this.splitter = new FrameSplitter((frame) => this.onFrame(frame), {
      maxFrameBytes: options.maxResponseBytes,
    });
    socket.on("data", (chunk: Buffer) => {
      try {
        this.splitter.push(chunk);
      } catch (err) {
        this.destroy(
          new KafkaClientError("TRANSPORT", `bad response from ${this.address}: ${errText(err)}`, {
            cause: err,
          }),
        );
      }
    });
    socket.on("error", (err) =>
      this.destroy(
        new KafkaClientError("TRANSPORT", `connection to ${this.address} failed: ${err.message}`, {
          cause: err,
        }),
      ),
    );
    socket.on("close", () =>
      this.destroy(new KafkaClientError("TRANSPORT", `connection to ${this.address} closed`)),
    );
  }

  /**
   * Connects and negotiates API versions; rejects with a TRANSPORT or TIMED_OUT error.
   * Aborting `signal` gives up at once: no socket or timer outlives the attempt.
   */
  static connect(options: ConnectionOptions, signal?: AbortSignal): Promise<BrokerConnection> {
    return new Promise((resolve, reject) => {
      const address = `${options.host}:${options.port}`;
      const aborted = (): KafkaClientError =>
        new KafkaClientError(
          "TRANSPORT",
          `connection to ${address} aborted: the client is closing`,
        );
      if (signal?.aborted) {
        reject(aborted());
        return;
      }
      const socket = net.connect({ host: options.host, port: options.port });
      socket.setNoDelay(options.noDelay);
      if (options.keepAlive) socket.setKeepAlive(true);
      let settled = false;
      const onAbort = (): void => fail(aborted());
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(
        () =>
          fail(
            new KafkaClientError(
              "TIMED_OUT",
              `connection to ${address} not ready within ${options.connectTimeoutMs} ms`,
            ),
          ),
        options.connectTimeoutMs,
      );
      signal?.addEventListener("abort", onAbort, { once: true });
      const onConnectError = (err: Error): void =>
        fail(
          new KafkaClientError("TRANSPORT", `connection to ${address} failed: ${err.message}`, {
            cause: err,
          }),
        );
      socket.once("error", onConnectError);
      socket.once("connect", () => {
        socket.off("error", onConnectError);
        const conn = new BrokerConnection(options, socket);
        conn.onClose = (err) => fail(err);
        conn.negotiate(API_VERSIONS_VERSIONS.max).then(
          () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            signal?.removeEventListener("abort", onAbort);
            conn.onClose = undefined;
            resolve(conn);
          },
          (err: Error) => {
            conn.close();
            fail(err);
          },
        );
      });
    });
  }

  /** ApiVersions at `version`, stepping down once as the broker's answer says. */
  private async negotiate(version: number): Promise<void> {
    const response = await this.apiVersions(version);
    if (response.errorCode === UNSUPPORTED_VERSION_ERROR) {
      const fallback = pickApiVersionsFallback(response, version);
      if (fallback >= version) {
        throw new KafkaClientError(
          "UNSUPPORTED_FEATURE",
          `${this.address} refused ApiVersions v${version} and offers nothing lower`,
        );
      }
      this.logger.debug("ApiVersions downgrade", {
        broker: this.address,
        from: version,
        to: fallback,
      });
      return this.negotiate(fallback);
    }
    if (response.errorCode !== 0) {
      throw new KafkaClientError(
        "TRANSPORT",
        `${this.address} answered ApiVersions with error code ${response.errorCode}`,
      );
    }
    this.versions = brokerVersionMap(response);
    this.apiVersionsVersion = version;
  }

  private apiVersions(version: number): Promise<ApiVersionsResponse> {
    const { softwareName, softwareVersion } = this.options;
    return this.request({
      apiKey: ApiKey.ApiVersions,
      apiVersion: version,
      encode: (w) =>
        encodeApiVersionsRequest(w, version, {
          clientSoftwareName: softwareName ?? CLIENT_SOFTWARE_NAME,
          clientSoftwareVersion: softwareVersion ?? CLIENT_SOFTWARE_VERSION,
        }),
      decode: (r) => decodeApiVersionsResponseTolerant(r, version),
    });
  }

  /** The version ranges the broker announced. */
  get brokerVersions(): ReadonlyMap<number, VersionRange> {
    return this.versions;
  }

  /** The highest version of `apiKey` both sides support (throws when none). */
  versionFor(apiKey: number): number {
    return pickVersion(apiKey, this.versions);
  }

  get inFlight(): number {
    return this.pending.length + this.writes.size;
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /**
   * Whether another request may be sent now: connected, under max.in.flight,
   * and not throttled by the broker (KIP-219).
   */
  canSend(now = Date.now()): boolean {
    return (
      this.closedWith === undefined &&
      this.inFlight < this.options.maxInFlight &&
      now >= this.throttledUntil
    );
  }

  /**
   * The broker asked (throttle_time_ms) for no request before `until`: the
   * producer holds its requests to this broker until then (KIP-219).
   */
  throttle(until: number): void {
    if (until > this.throttledUntil) this.throttledUntil = until;
  }

  /**
   * Sends a request. With `decode` the callback gets the decoded response;
   * without it (Produce with acks=0) the callback runs once the frame is handed
   * to the kernel. Either way it runs exactly once: with an error when the
   * connection closes first, or when `timeoutMs` (socket.timeout.ms by
   * default) passes without the response or the write; a timeout closes the
   * connection, since a late answer would leave the stream out of step.
   */
  send<T>(request: KafkaRequest<T>, callback: ResponseCallback<T>, timeoutMs?: number): void {
    if (this.closedWith) {
      const err = this.closedWith;
      queueMicrotask(() => callback(err));
      return;
    }
    const { apiKey, apiVersion } = request;
    const correlationId = this.nextCorrelationId();
    const w = new Writer(request.sizeHint ?? 256).beginSplicing();
    encodeRequestFrame(
      w,
      { apiKey, apiVersion, correlationId, clientId: this.options.clientId },
      () => request.encode(w),
    );
    const now = Date.now();
    const entry: Pending = {
      correlationId,
      apiKey,
      headerVersion: responseHeaderVersion(apiKey, apiVersion),
      decode: request.decode,
      callback: callback as ResponseCallback<unknown>,
      deadline:
        now + Math.min(timeoutMs ?? this.options.requestTimeoutMs, this.options.requestTimeoutMs),
      sentAt: now,
    };
    if (entry.decode === undefined) {
      this.writes.add(entry);
      this.write(w.chunks(), (err) => {
        if (!this.writes.delete(entry)) return; // already failed by a close or its deadline
        callback(
          err
            ? new KafkaClientError("TRANSPORT", `write to ${this.address} failed: ${err.message}`)
            : null,
        );
        this.onDrain?.();
      });
    } else {
      this.pending.push(entry);
      this.write(w.chunks());
    }
    this.armTimer(entry.deadline);
  }

  /** `send` as a Promise. */
  request<T>(request: KafkaRequest<T>, timeoutMs?: number): Promise<T> {
    return new Promise((resolve, reject) => {
      this.send(request, (err, res) => (err ? reject(err) : resolve(res as T)), timeoutMs);
    });
  }

  private nextCorrelationId(): number {
    this.correlationId = (this.correlationId + 1) & 0x7fffffff;
    return this.correlationId;
  }

  /** One vectored write of a frame's chunks (corked: a single writev). */
  private write(chunks: readonly Uint8Array[], done?: (err?: Error | null) => void): void {
    if (chunks.length === 1) {
      this.socket.write(chunks[0]!, done);
      return;
    }
    this.socket.cork();
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) this.socket.write(chunks[i]!);
    this.socket.write(chunks[last]!, done);
    this.socket.uncork();
  }

  private onFrame(frame: Buffer): void {
    const head = this.pending.shift();
    if (!head) {
      this.destroy(new KafkaClientError("TRANSPORT", `unsolicited response from ${this.address}`));
      return;
    }
    const r = new Reader(frame);
    let response: unknown;
    try {
      const { correlationId } = readResponseHeader(r, head.headerVersion);
      if (correlationId !== head.correlationId) {
        throw new Error(`correlation id ${correlationId} where ${head.correlationId} was expected`);
      }
      response = head.decode!(r);
    } catch (err) {
      this.pending.unshift(head);
      this.destroy(
        new KafkaClientError(
          "TRANSPORT",
          `bad ${apiName(head.apiKey)} response from ${this.address}: ${errText(err)}`,
          { cause: err },
        ),
      );
      return;
    }
    this.lastRttMs = Date.now() - head.sentAt;
    head.callback(null, response);
    this.onDrain?.();
  }

  /** Makes sure the timer fires by `deadline`. */
  private armTimer(deadline: number): void {
    if (this.timer !== undefined && this.timerAt <= deadline) return;
    this.clearTimer();
    this.timerAt = deadline;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, deadline - Date.now()));
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    let expired: Pending | undefined;
    for (const p of this.pending) {
      if (p.deadline <= now) expired ??= p;
      else if (p.deadline < next) next = p.deadline;
    }
    for (const p of this.writes) {
      if (p.deadline <= now) expired ??= p;
      else if (p.deadline < next) next = p.deadline;
    }
    if (expired !== undefined) {
      const what = expired.decode === undefined ? "was not written" : "got no response";
      this.destroy(
        new KafkaClientError(
          "TIMED_OUT",
          `${apiName(expired.apiKey)} request to ${this.address} ${what} within ${expired.deadline - expired.sentAt} ms`,
        ),
      );
      return;
    }
    if (Number.isFinite(next)) this.armTimer(next);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Closes the connection; requests still in flight fail with `reason`. */
  close(reason?: Error): void {
    this.destroy(
      reason ?? new KafkaClientError("TRANSPORT", `connection to ${this.address} closed`),
    );
  }

  private destroy(reason: Error): void {
    if (this.closedWith) return;
    this.closedWith = reason;
    this.clearTimer();
    this.socket.destroy();
    const failed = [...this.pending.splice(0), ...this.writes];
    this.writes.clear();
    for (const p of failed) p.callback(reason);
    this.onClose?.(reason);
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
