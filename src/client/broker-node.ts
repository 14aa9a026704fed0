/**
 * One broker as the client sees it: its address, its connection (at most one)
 * and the reconnect backoff after failures (reconnect.backoff.ms doubling up
 * to reconnect.backoff.max.ms, with -25%..+50% jitter as librdkafka applies).
 */
import { BrokerConnection, type ConnectionOptions } from "./connection.js";
import type { BrokerAddress } from "./diagnostics.js";

export type ConnectionSettings = Omit<ConnectionOptions, "host" | "port">;

export interface BackoffSettings {
  reconnectBackoffMs: number;
  reconnectBackoffMaxMs: number;
}

export function reconnectDelay(failures: number, s: BackoffSettings, random = Math.random): number {
  if (failures <= 0 || s.reconnectBackoffMs === 0) return 0;
  const base = Math.min(s.reconnectBackoffMaxMs, s.reconnectBackoffMs * 2 ** (failures - 1));
  return Math.min(s.reconnectBackoffMaxMs, Math.round(base * (0.75 + random() * 0.75)));
}

export class BrokerNode {
  conn: BrokerConnection | undefined;
  private connecting: Promise<BrokerConnection> | undefined;
  private failures = 0;
  private nextAttemptAt = 0;
  private closed = false;
  /** Aborted by close(): ends a connection attempt still under way. */
  private readonly closing = new AbortController();
  /** Where this node is, as diagnostics name it: one frozen object, shared by every report. */
  readonly brokerAddress: Readonly<BrokerAddress>;

  constructor(
    /** Metadata node id; bootstrap entries get negative ids until metadata names them. */
    readonly nodeId: number,
    readonly host: string,
    readonly port: number,
    private readonly settings: ConnectionSettings,
    private readonly backoff: BackoffSettings,
    private readonly events: {
      /** A connection came up (or was handed over), or one freed an in-flight slot. */
      onUp(node: BrokerNode): void;
      /** A connection came up or was handed over to this node (not called on drains). */
      onConnected(node: BrokerNode): void;
      /**
       * A connection attempt failed (`established` false) or a connection that
       * was up closed (`established` true).
       */
      onDown(node: BrokerNode, err: Error, established: boolean): void;
    },
  ) {
    this.brokerAddress = Object.freeze({ nodeId, host, port });
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** A connection that is up now, or undefined. */
  ready(): BrokerConnection | undefined {
    return this.conn !== undefined && !this.conn.closed ? this.conn : undefined;
  }

  /** Milliseconds until another connection attempt is allowed. */
  backoffRemaining(now = Date.now()): number {
    return Math.max(0, this.nextAttemptAt - now);
  }

  /**
   * Connects (once at a time), waiting out the reconnect backoff first.
   * Resolves with a ready connection or rejects with the reason.
   */
  connect(): Promise<BrokerConnection> {
    const up = this.ready();
    if (up) return Promise.resolve(up);
    if (this.connecting) return this.connecting;
    const attempt = this.attempt();
    this.connecting = attempt;
    const clear = (): void => {
      if (this.connecting === attempt) this.connecting = undefined;
    };
    attempt.then(clear, clear);
    return attempt;
  }

  private async attempt(): Promise<BrokerConnection> {
    const wait = this.backoffRemaining();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref());
    if (this.closed) throw new Error(`broker ${this.address} is closed`);
    try {
      const conn = await BrokerConnection.connect(
        { ...this.settings, host: this.host, port: this.port, nodeId: this.nodeId },
        this.closing.signal,
      );
      if (this.closed) {
        conn.close();
        throw new Error(`broker ${this.address} is closed`);
      }
      this.failures = 0;
      this.adopt(conn);
      return conn;
    } catch (err) {
      this.noteFailure();
      if (!this.closed) this.events.onDown(this, err as Error, false);
      throw err;
    }
  }

  /** Takes `conn` (up, to this broker's address) as this node's connection. */
  adopt(conn: BrokerConnection): void {
    this.conn = conn;
    // A bootstrap connection handed over to the node metadata named.
    conn.nodeId = this.nodeId;
    conn.onClose = (err) => {
      if (this.conn === conn) this.conn = undefined;
      this.noteFailure();
      if (!this.closed) this.events.onDown(this, err, true);
    };
    conn.onDrain = () => this.events.onUp(this);
    this.events.onConnected(this);
    this.events.onUp(this);
  }

  /**
   * Gives up the connection without closing it (another node adopts it);
   * undefined when there is none up.
   */
  release(): BrokerConnection | undefined {
    const conn = this.ready();
    if (conn === undefined) return undefined;
    conn.onClose = undefined;
    conn.onDrain = undefined;
    this.conn = undefined;
    return conn;
  }

  private noteFailure(): void {
    this.failures++;
    this.nextAttemptAt = Date.now() + reconnectDelay(this.failures, this.backoff);
  }

  close(): void {
    this.closed = true;
    this.closing.abort();
    this.conn?.close();
    this.conn = undefined;
  }
}
