/**
 * One connection to one broker, over TCP or TLS: requests pipelined with
 * correlation ids, responses matched in order (Kafka answers a connection's
 * requests in the order they were sent), a bound on requests in flight, a
 * response deadline, the ApiVersions handshake with its downgrade rule
 * (KIP-511), SASL authentication and re-authentication before the broker's
 * session ends (KIP-368). This class ties them together; the pieces live
 * beside it: the socket (broker-socket.ts), the requests in flight
 * (in-flight.ts), the ApiVersions exchange (api-versions-handshake.ts) and
 * re-authentication (sasl-reauthentication.ts).
 */
import type net from "node:net";
import { apiName } from "../protocol/api-keys.js";
import { FrameSplitter } from "../protocol/frame.js";
import {
  encodeRequestFrame,
  readResponseHeader,
  responseHeaderVersion,
} from "../protocol/headers.js";
import { Reader } from "../protocol/reader.js";
import { pickVersion, type VersionRange } from "../protocol/versions.js";
import { Writer } from "../protocol/writer.js";
import { negotiateApiVersions } from "./api-versions-handshake.js";
import {
  checkPeerHostname,
  errorText,
  looksLikeTls,
  openSocket,
  socketError,
} from "./broker-socket.js";
import { KafkaClientError } from "./client-error.js";
import {
  authenticatedChannel,
  type BrokerAddress,
  connectedChannel,
  disconnectedChannel,
  endAsync,
  publish,
  type RequestContext,
  requestTrace,
  traced,
} from "./diagnostics.js";
import { type InFlightRequest, InFlightRequests } from "./in-flight.js";
import { type Logger, silentLogger } from "./logger.js";
import type { KafkaRequest, ResponseCallback } from "./request.js";
import { type SaslTransport, saslAuthenticate } from "./sasl-authenticator.js";
import { SaslReauthentication } from "./sasl-reauthentication.js";
import type { SaslSettings, TlsSettings } from "./security.js";

export type { KafkaRequest, ResponseCallback } from "./request.js";

export interface ConnectionOptions {
  host: string;
  port: number;
  /** The broker's node id as the client knows it, for diagnostics (default -1). */
  nodeId?: number;
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
  /** security.protocol ssl or sasl_ssl */
  tls?: TlsSettings | undefined;
  /** security.protocol sasl_plaintext or sasl_ssl */
  sasl?: SaslSettings | undefined;
  /** Called after each successful re-authentication (KIP-368). */
  onReauthenticated?: (() => void) | undefined;
}

export class BrokerConnection {
  readonly address: string;
  private readonly socket: net.Socket;
  private readonly splitter: FrameSplitter;
  private readonly inFlightRequests = new InFlightRequests((expired) => this.expire(expired));
  /** No request before this time: the broker throttles this client (KIP-219). */
  throttledUntil = 0;
  private closedWith: Error | undefined;
  private versions = new Map<number, VersionRange>();
  /** The cluster's finalized feature levels as this broker announced them. */
  finalizedFeatures: ReadonlyMap<string, number> = new Map();
  private readonly logger: Logger;
  /** The ApiVersions version the broker accepted (after any downgrade). */
  apiVersionsVersion = -1;
  /** Round-trip time of the last response, in milliseconds. */
  lastRttMs = 0;
  /** Called once when the connection closes, with the reason. */
  onClose: ((err: Error) => void) | undefined;
  /** Called when a response frees an in-flight slot. */
  onDrain: (() => void) | undefined;
  /** Responses received: a close before the first or second hints at a wrong protocol. */
  private answered = 0;
  /** The node id diagnostics name; the BrokerNode that adopts the connection sets it. */
  nodeId: number;
  /** The handshake finished: a close is a disconnection, not a failed attempt. */
  private established = false;
  private readonly reauthentication: SaslReauthentication;

  private constructor(
    private readonly options: ConnectionOptions,
    socket: net.Socket,
  ) {
    this.address = `${options.host}:${options.port}`;
    this.nodeId = options.nodeId ?? -1;
    this.socket = socket;
    this.logger = options.logger ?? silentLogger;
    this.reauthentication = new SaslReauthentication(options, this.logger, {
      address: this.address,
      inFlight: () => this.inFlight,
      closed: () => this.closed,
      saslTransport: () => this.saslTransport(),
      drained: () => this.onDrain?.(),
      close: (reason) => this.destroy(reason),
      reauthenticated: (lifetimeMs) => this.authenticated(lifetimeMs, true),
    });
    this.splitter = new FrameSplitter((frame) => this.onFrame(frame), {
      maxFrameBytes: options.maxResponseBytes,
    });
    socket.on("data", (chunk: Buffer) => {
      if (this.answered === 0 && options.tls === undefined && looksLikeTls(chunk)) {
        this.destroy(
          new KafkaClientError(
            "SSL",
            `${this.address} answered with TLS: the listener expects security.protocol=ssl or sasl_ssl`,
          ),
        );
        return;
      }
      try {
        this.splitter.push(chunk);
      } catch (err) {
        this.destroy(
          new KafkaClientError(
            "TRANSPORT",
            `bad response from ${this.address}: ${errorText(err)}`,
            {
              cause: err,
            },
          ),
        );
      }
    });
    socket.on("error", (err) => this.destroy(socketError(this.address, err, options.tls)));
    socket.on("close", () =>
      this.destroy(
        new KafkaClientError(
          "TRANSPORT",
          `connection to ${this.address} closed${this.closeHint()}`,
        ),
      ),
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
      const secure = options.tls;
      const startedAt = Date.now();
      const socket = openSocket(options);
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
      const onConnectError = (err: Error): void => fail(socketError(address, err, secure));
      socket.once("error", onConnectError);
      socket.once(secure ? "secureConnect" : "connect", () => {
        socket.off("error", onConnectError);
        const mismatch = checkPeerHostname(socket, options.host, secure);
        if (mismatch) {
          fail(socketError(address, mismatch, secure));
          return;
        }
        const conn = new BrokerConnection(options, socket);
        conn.onClose = (err) => fail(err);
        conn.handshake().then(
          () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            signal?.removeEventListener("abort", onAbort);
            conn.onClose = undefined;
            conn.established = true;
            publish(connectedChannel, () => ({
              clientId: options.clientId,
              broker: conn.broker(),
              tls: secure !== undefined,
              saslMechanism: options.sasl?.mechanism,
              apiVersionsVersion: conn.apiVersionsVersion,
              durationMs: Date.now() - startedAt,
            }));
            resolve(conn);
          },
          (err: Error) => {
            // The cause goes to fail() through onClose, ahead of a generic "closed".
            conn.close(err);
            fail(err);
          },
        );
      });
    });
  }

  /**
   * A broker that closes at once may be on another protocol: a TLS listener
   * drops plaintext before answering, a SASL listener drops the first request
   * after ApiVersions that is not SASL.
   */
  private closeHint(): string {
    if (this.answered === 0 && !this.options.tls) {
      return " before any answer (a TLS listener? check security.protocol)";
    }
    if (this.answered === 1 && !this.options.sasl) {
      return " after ApiVersions (a listener that needs SASL? check security.protocol)";
    }
    return "";
  }

  /** ApiVersions, then SASL when configured. */
  private async handshake(): Promise<void> {
    const negotiated = await negotiateApiVersions(this, this.options, this.logger);
    this.versions = negotiated.versions;
    this.apiVersionsVersion = negotiated.apiVersionsVersion;
    this.finalizedFeatures = negotiated.finalizedFeatures;
    const sasl = this.options.sasl;
    if (sasl) {
      const lifetimeMs = await saslAuthenticate(this.saslTransport(), sasl);
      this.authenticated(lifetimeMs, false);
      this.reauthentication.schedule(lifetimeMs);
    }
  }

  private authenticated(sessionLifetimeMs: number, reauthentication: boolean): void {
    publish(authenticatedChannel, () => ({
      clientId: this.options.clientId,
      broker: this.broker(),
      mechanism: this.options.sasl?.mechanism ?? "",
      sessionLifetimeMs,
      reauthentication,
    }));
  }

  /** Where this connection goes, as diagnostics name it. */
  broker(): BrokerAddress {
    return { nodeId: this.nodeId, host: this.options.host, port: this.options.port };
  }

  /** The connection as SASL sees it: its requests bypass the hold of a re-authentication. */
  private saslTransport(): SaslTransport {
    return {
      address: this.address,
      hasApi: (apiKey: number) => this.versions.has(apiKey),
      versionFor: (apiKey: number) => this.versionFor(apiKey),
      request: <T>(request: KafkaRequest<T>) =>
        new Promise<T>((resolve, reject) =>
          this.sendNow(request, (err, res) => (err ? reject(err) : resolve(res as T))),
        ),
    };
  }

  /** The version ranges the broker announced. */
  get brokerVersions(): ReadonlyMap<number, VersionRange> {
    return this.versions;
  }

  /** Whether the broker offers `apiKey` at all. */
  hasApi(apiKey: number): boolean {
    return this.versions.has(apiKey);
  }

  /** The highest version of `apiKey` both sides support (throws when none). */
  versionFor(apiKey: number): number {
    return pickVersion(apiKey, this.versions);
  }

  get inFlight(): number {
    return this.inFlightRequests.size;
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
      !this.reauthentication.isDue &&
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
   * connection closes first, or when `timeoutMs` (socket.timeout.ms unless
   * given) passes without the response or the write; a timeout closes the
   * connection, since a late answer would leave the stream out of step.
   */
  send<T>(request: KafkaRequest<T>, callback: ResponseCallback<T>, timeoutMs?: number): void {
    if (this.reauthentication.isDue && !this.closedWith) {
      this.reauthentication.hold(() => this.sendNow(request, callback, timeoutMs));
      return;
    }
    this.sendNow(request, callback, timeoutMs);
  }

  private sendNow<T>(
    request: KafkaRequest<T>,
    callback: ResponseCallback<T>,
    timeoutMs?: number,
  ): void {
    if (this.closedWith) {
      const err = this.closedWith;
      queueMicrotask(() => callback(err));
      return;
    }
    const { apiKey, apiVersion } = request;
    const correlationId = this.inFlightRequests.nextCorrelationId();
    const w = new Writer(request.sizeHint ?? 256).beginSplicing();
    encodeRequestFrame(
      w,
      { apiKey, apiVersion, correlationId, clientId: this.options.clientId },
      () => request.encode(w),
    );
    const now = Date.now();
    const entry: InFlightRequest = {
      correlationId,
      apiKey,
      headerVersion: responseHeaderVersion(apiKey, apiVersion),
      decode: request.decode,
      callback: callback as ResponseCallback<unknown>,
      deadline: now + (timeoutMs ?? this.options.requestTimeoutMs),
      sentAt: now,
      trace: undefined,
    };
    // The only cost of the request channel while nobody subscribes.
    if (traced(requestTrace)) this.traceRequest(entry, request, w.pos + w.splicedBytes);
    if (entry.decode === undefined) {
      this.inFlightRequests.addAwaitingWrite(entry);
      this.write(w.chunks(), (err) => {
        // false: already failed by a close or its deadline
        if (!this.inFlightRequests.writeDone(entry)) return;
        entry.callback(
          err
            ? new KafkaClientError("TRANSPORT", `write to ${this.address} failed: ${err.message}`)
            : null,
        );
        this.reauthentication.maybeStart();
        this.onDrain?.();
      });
    } else {
      this.inFlightRequests.addAwaitingResponse(entry);
      this.write(w.chunks());
    }
    this.inFlightRequests.armTimer(entry.deadline);
  }

  /**
   * Starts the `event-kafka:request` trace of a request about to be written
   * and makes its callback end it (asyncStart/asyncEnd around the caller's).
   */
  private traceRequest<T>(entry: InFlightRequest, request: KafkaRequest<T>, bytes: number): void {
    const ctx: RequestContext = {
      clientId: this.options.clientId,
      apiKey: request.apiKey,
      apiName: apiName(request.apiKey),
      apiVersion: request.apiVersion,
      correlationId: entry.correlationId,
      broker: this.broker(),
      requestBytes: bytes,
      responseBytes: 0,
      expectsResponse: request.decode !== undefined,
      durationMs: 0,
    };
    entry.trace = ctx;
    const t = requestTrace;
    const startedAt = performance.now();
    const callback = entry.callback;
    entry.callback = (err, response) => {
      ctx.durationMs = performance.now() - startedAt;
      if (err !== null) ctx.error = err;
      endAsync(t, ctx, () => callback(err, response));
    };
    t.start.publish(ctx);
    t.end.publish(ctx);
  }

  /** `send` as a Promise. */
  request<T>(request: KafkaRequest<T>, timeoutMs?: number): Promise<T> {
    return new Promise((resolve, reject) => {
      this.send(request, (err, res) => (err ? reject(err) : resolve(res as T)), timeoutMs);
    });
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
    const head = this.inFlightRequests.takeOldest();
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
      this.inFlightRequests.putBackOldest(head);
      this.destroy(
        new KafkaClientError(
          "TRANSPORT",
          `bad ${apiName(head.apiKey)} response from ${this.address}: ${errorText(err)}`,
          { cause: err },
        ),
      );
      return;
    }
    this.answered++;
    this.lastRttMs = Date.now() - head.sentAt;
    if (head.trace !== undefined) head.trace.responseBytes = frame.length + 4;
    head.callback(null, response);
    this.reauthentication.maybeStart();
    this.onDrain?.();
  }

  /** A request passed its deadline: a late answer would leave the stream out of step. */
  private expire(expired: InFlightRequest): void {
    const what = expired.decode === undefined ? "was not written" : "got no response";
    this.destroy(
      new KafkaClientError(
        "TIMED_OUT",
        `${apiName(expired.apiKey)} request to ${this.address} ${what} within ${expired.deadline - expired.sentAt} ms`,
      ),
    );
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
    this.inFlightRequests.stopTimer();
    this.reauthentication.cancel();
    this.socket.destroy();
    // Held sends run now and fail at once with the reason (sendNow sees closedWith).
    this.reauthentication.releaseHeld();
    for (const p of this.inFlightRequests.takeAll()) p.callback(reason);
    const established = this.established;
    publish(disconnectedChannel, () => ({
      clientId: this.options.clientId,
      broker: this.broker(),
      reason,
      established,
    }));
    this.onClose?.(reason);
  }
}
