/**
 * Re-authentication of a live connection before the SASL session the broker
 * set ends (KIP-368): once it is due, new requests are held; when nothing is
 * in flight the SASL exchange runs again, then the held requests go out.
 */
import type { Logger } from "./logger.js";
import { type SaslTransport, saslAuthenticate } from "./sasl-authenticator.js";
import type { SaslSettings } from "./security.js";

/** What of the connection's options re-authentication reads. */
export interface ReauthenticationSettings {
  /** undefined: no SASL on this connection, so never a re-authentication. */
  readonly sasl?: SaslSettings | undefined;
  /** Called after each successful re-authentication. */
  readonly onReauthenticated?: (() => void) | undefined;
}

/** The slice of a connection re-authentication needs. */
export interface ReauthenticatingConnection {
  readonly address: string;
  inFlight(): number;
  closed(): boolean;
  /** The connection as SASL sees it: its requests bypass the hold. */
  saslTransport(): SaslTransport;
  /** Re-authenticated and the held requests sent: the connection may take more. */
  drained(): void;
  /** Re-authentication failed: the connection closes with the reason. */
  close(reason: Error): void;
  /** Re-authenticated, with the new session's lifetime (for diagnostics). */
  reauthenticated(lifetimeMs: number): void;
}

export class SaslReauthentication {
  /** The broker's SASL session ends soon: no new request until re-authenticated. */
  private due = false;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  /** Requests sent while re-authenticating, written once it is done. */
  private readonly held: (() => void)[] = [];

  constructor(
    private readonly settings: ReauthenticationSettings,
    private readonly logger: Logger,
    private readonly conn: ReauthenticatingConnection,
  ) {}

  /** A re-authentication is due or under way: requests are held. */
  get isDue(): boolean {
    return this.due;
  }

  /** Holds a send until re-authenticated (or the connection closes). */
  hold(send: () => void): void {
    this.held.push(send);
  }

  /**
   * Re-authenticates before the session the broker set ends, at 85-95% of it
   * as the Java client does, so connections opened together spread out.
   */
  schedule(lifetimeMs: number): void {
    if (lifetimeMs <= 0 || this.conn.closed()) return;
    const delay = Math.max(0, Math.floor(lifetimeMs * (0.85 + Math.random() * 0.1)));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.due = true;
      this.maybeStart();
    }, delay);
    this.timer.unref();
  }

  /** Re-authenticates once nothing is in flight: the broker takes no other request meanwhile. */
  maybeStart(): void {
    const sasl = this.settings.sasl;
    if (!this.due || this.running || this.conn.inFlight() > 0 || this.conn.closed() || !sasl) {
      return;
    }
    this.running = true;
    this.logger.debug("SASL re-authentication", { broker: this.conn.address });
    saslAuthenticate(this.conn.saslTransport(), sasl).then(
      (lifetimeMs) => {
        this.running = false;
        this.due = false;
        if (this.conn.closed()) return;
        this.schedule(lifetimeMs);
        this.conn.reauthenticated(lifetimeMs);
        this.settings.onReauthenticated?.();
        this.releaseHeld();
        this.conn.drained();
      },
      (err: Error) => {
        this.running = false;
        this.logger.warn("SASL re-authentication failed", {
          broker: this.conn.address,
          error: err.message,
        });
        this.conn.close(err);
      },
    );
  }

  /** Stops the timer: the connection is closing. */
  cancel(): void {
    clearTimeout(this.timer);
  }

  /** Runs the held sends now (after a re-authentication, or to fail them on a close). */
  releaseHeld(): void {
    for (const send of this.held.splice(0)) send();
  }
}
