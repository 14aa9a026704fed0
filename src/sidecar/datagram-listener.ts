/**
 * event_datagram's side: one JSON-RPC notification per UDP or UNIX datagram.
 * Nothing can be paused, so an event that meets a full producer queue is
 * dropped and counted. A UDP datagram carrying an id is answered to its
 * sender; UNIX senders are unbound and get no answers.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { type Endpoint, formatEndpoint, MAX_DATAGRAM_BYTES } from "./config.js";
import { replyText } from "./event-message.js";
import { type LogWriter, ThrottledLog } from "./peer-log.js";
import type { ListenerStats, Replier, Sidecar } from "./sidecar.js";
import { UnixDatagramSocket } from "./unix-datagram.js";

/** The kernel buffer asked for: bursts wait there rather than being lost. */
const RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024;

class DatagramIntake {
  private readonly fullLog: ThrottledLog;

  constructor(
    private readonly sidecar: Sidecar,
    private readonly stats: ListenerStats,
    log: LogWriter,
    /** Sends an answer to a datagram's sender; none for UNIX datagrams. */
    private readonly replyTo?: (text: string, to: RemoteInfo) => void,
  ) {
    this.fullLog = new ThrottledLog(log);
  }

  /** The sender's answers (only made for a datagram with an id). */
  private replier(from: RemoteInfo | undefined): Replier | undefined {
    const replyTo = this.replyTo;
    if (from === undefined || replyTo === undefined) return undefined;
    return {
      expect() {},
      answer: (r) => replyTo(replyText(r), from),
      send: (r) => replyTo(replyText(r), from),
    };
  }

  private peerOf(from: RemoteInfo | undefined): string {
    return from === undefined ? this.stats.label : `${from.address}:${from.port}`;
  }

  take(datagram: Buffer, from: RemoteInfo | undefined): void {
    const sidecar = this.sidecar;
    this.stats.received++;
    if (datagram.length > MAX_DATAGRAM_BYTES) {
      sidecar.badInput(this.stats, this.peerOf(from), {
        kind: "bad",
        reason: "too_large",
        message: `a datagram is over ${MAX_DATAGRAM_BYTES} bytes`,
        id: undefined,
      });
      return;
    }
    const msg = sidecar.reader.read(datagram);
    if (msg.kind === "bad") {
      sidecar.badInput(this.stats, this.peerOf(from), msg, this.replier(from));
      return;
    }
    const withId = msg.id === undefined ? undefined : this.replier(from);
    const route = sidecar.routeOf(msg, withId);
    if (route === undefined) return;
    if (sidecar.stopping) {
      sidecar.drop(route, "shutdown", msg, withId);
      return;
    }
    if (sidecar.publish(route, msg, withId)) return;
    sidecar.drop(route, "queue_full", msg, withId);
    this.fullLog.log(
      "full",
      `${this.stats.label}: producer queue full for route ${route.spec.event}: datagrams dropped`,
    );
  }
}

export class UdpListener {
  readonly label: string;
  closed = false;

  private constructor(
    private readonly socket: Socket,
    readonly endpoint: Endpoint,
  ) {
    this.label = `udp:${formatEndpoint(endpoint)}`;
  }

  static open(endpoint: Endpoint, sidecar: Sidecar, log: LogWriter): Promise<UdpListener> {
    return new Promise((resolve, reject) => {
      const socket = createSocket({
        type: isIPv6(endpoint.host) ? "udp6" : "udp4",
        recvBufferSize: RECEIVE_BUFFER_BYTES,
      });
      socket.once("error", reject);
      socket.bind({ address: endpoint.host, port: endpoint.port }, () => {
        socket.off("error", reject);
        socket.on("error", (err) => log(`udp ${formatEndpoint(endpoint)}: ${err.message}`));
        const listener = new UdpListener(socket, {
          host: endpoint.host,
          port: socket.address().port,
        });
        const intake = new DatagramIntake(
          sidecar,
          sidecar.addListener(listener.label),
          log,
          (text, to) => {
            // An answer after stop() (a record acknowledged while draining) has nowhere to go.
            if (listener.closed) sidecar.unanswered++;
            else socket.send(text, to.port, to.address);
          },
        );
        socket.on("message", (msg, from) => intake.take(msg, from));
        resolve(listener);
      });
    });
  }

  stop(): Promise<void> {
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

export class UnixListener {
  readonly label: string;

  private constructor(private readonly relay: UnixDatagramSocket) {
    this.label = `unix:${relay.path}`;
  }

  static async open(path: string, sidecar: Sidecar, log: LogWriter): Promise<UnixListener> {
    const label = `unix:${path}`;
    let intake: DatagramIntake | undefined;
    const relay = await UnixDatagramSocket.open(path, MAX_DATAGRAM_BYTES, (datagram) =>
      intake?.take(datagram, undefined),
    );
    intake = new DatagramIntake(sidecar, sidecar.addListener(label), log);
    return new UnixListener(relay);
  }

  stop(): Promise<void> {
    return this.relay.close();
  }
}
