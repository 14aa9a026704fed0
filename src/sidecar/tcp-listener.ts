/**
 * event_stream's side: JSON-RPC over TCP. Each peer's stream is cut into
 * messages; requests (with an id) are answered once Kafka has acknowledged
 * their record, in the fixed-size form OpenSIPS's reader needs
 * (stream-answers.ts). A full producer queue pauses the peer until there is
 * room.
 */
import { createServer, type Server, type Socket } from "node:net";
import { type Endpoint, formatEndpoint } from "./config.js";
import type { EventMessage, Reply } from "./event-message.js";
import { JsonFrameSplitter } from "./json-frames.js";
import type { ListenerStats, Replier, RoomWaiter, Route, Sidecar } from "./sidecar.js";
import { AnswerWriter } from "./stream-answers.js";

/** The id of a message written id first, as OpenSIPS does: `{"id":N,...`. */
const LEADING_ID = /^\s*\{\s*"id"\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|"(?:[^"\\]|\\.)*")/;

interface Held {
  route: Route;
  msg: EventMessage;
}

class TcpPeer implements Replier, RoomWaiter {
  readonly label: string;
  private readonly splitter: JsonFrameSplitter;
  private readonly answers: AnswerWriter;
  /** Events received while the producer queue was full, in order. */
  private readonly held: Held[] = [];
  /** Requests queued whose answer is owed. */
  private owed = 0;
  private reading = true;
  /** Disconnect once nothing more is owed (bad framing, shutdown). */
  private ending = false;

  constructor(
    private readonly socket: Socket,
    private readonly stats: ListenerStats,
    private readonly sidecar: Sidecar,
    maxFrameBytes: number,
    onGone: (peer: TcpPeer) => void,
  ) {
    this.label = `${socket.remoteAddress}:${socket.remotePort}`;
    this.splitter = new JsonFrameSplitter(maxFrameBytes, (head, bytes) =>
      this.onSkipped(head, bytes, maxFrameBytes),
    );
    this.answers = new AnswerWriter(socket);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    // A reset or a write to a peer gone: the close that follows tidies up.
    socket.on("error", () => {});
    // Half-open is allowed: a peer that has said all still gets its answers.
    socket.on("end", () => this.disconnect());
    socket.on("close", () => onGone(this));
  }

  get heldCount(): number {
    return this.held.length;
  }

  private onData(chunk: Buffer): void {
    if (!this.reading) return;
    const failed = this.splitter.push(chunk, this.onFrame);
    if (failed === undefined) return;
    this.sidecar.badInput(this.stats, this.label, {
      kind: "bad",
      reason: failed,
      message: "the stream does not continue with a JSON object: disconnected",
      id: undefined,
    });
    this.disconnect();
  }

  /** A frame over --max-frame: refused (answered when it led with its id), the stream goes on. */
  private onSkipped(head: Buffer, bytes: number, max: number): void {
    if (!this.reading) return;
    this.stats.received++;
    const id = LEADING_ID.exec(head.toString("latin1"))?.[1];
    this.sidecar.badInput(
      this.stats,
      this.label,
      {
        kind: "bad",
        reason: "too_large",
        message: `a message of ${bytes} bytes is over --max-frame ${max}: skipped`,
        id,
      },
      this,
    );
  }

  private readonly onFrame = (frame: Buffer): void => {
    if (!this.reading) return;
    this.stats.received++;
    const msg = this.sidecar.reader.read(frame);
    if (msg.kind === "bad") {
      this.sidecar.badInput(this.stats, this.label, msg, this);
      // Without valid JSON the stream's framing cannot be trusted any more.
      if (msg.reason === "malformed_json" || msg.reason === "not_object") this.disconnect();
      return;
    }
    const route = this.sidecar.routeOf(msg, this);
    if (route === undefined) return;
    if (this.held.length > 0) {
      this.held.push({ route, msg });
      return;
    }
    if (this.sidecar.publish(route, msg, this)) return;
    this.held.push({ route, msg });
    this.socket.pause();
    this.sidecar.whenRoom(route, this);
  };

  retry(): void {
    while (this.held.length > 0) {
      const next = this.held[0]!;
      if (!this.sidecar.publish(next.route, next.msg, this)) {
        this.sidecar.whenRoom(next.route, this);
        return;
      }
      this.held.shift();
    }
    if (this.reading) this.socket.resume();
    this.endIfDone();
  }

  /** Events held when the deadline came: dropped, and answered so where a request. */
  dropHeld(): void {
    for (const h of this.held.splice(0)) this.sidecar.drop(h.route, "shutdown", h.msg, this);
    this.endIfDone();
  }

  expect(): void {
    this.owed++;
  }

  answer(reply: Reply): void {
    this.owed--;
    this.send(reply);
    this.endIfDone();
  }

  send(reply: Reply): void {
    if (this.socket.destroyed || this.socket.writableEnded) {
      this.sidecar.unanswered++;
      return;
    }
    this.answers.add(reply);
  }

  private stopReading(): void {
    this.reading = false;
    this.socket.pause();
  }

  /** No more reading; the connection closes once every answer owed is sent. */
  disconnect(): void {
    this.stopReading();
    this.ending = true;
    this.endIfDone();
  }

  private endIfDone(): void {
    if (!this.ending || this.held.length > 0 || this.owed > 0) return;
    this.answers.endWhenWritten();
  }

  /** Resolves once the answers written have left (the socket finished or closed). */
  finished(): Promise<void> {
    const s = this.socket;
    if (s.destroyed || s.writableFinished) return Promise.resolve();
    return new Promise((resolve) => {
      s.once("finish", resolve);
      s.once("close", resolve);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export class TcpListener {
  readonly label: string;
  private readonly peers = new Set<TcpPeer>();
  /** Peers that have gone but still hold events to queue. */
  private readonly leftovers = new Set<TcpPeer>();

  private constructor(
    private readonly server: Server,
    readonly endpoint: Endpoint,
  ) {
    this.label = `tcp:${formatEndpoint(endpoint)}`;
  }

  static open(endpoint: Endpoint, sidecar: Sidecar, maxFrameBytes: number): Promise<TcpListener> {
    return new Promise((resolve, reject) => {
      const server = createServer({ allowHalfOpen: true });
      server.once("error", reject);
      server.listen({ host: endpoint.host, port: endpoint.port }, () => {
        server.off("error", reject);
        const address = server.address();
        const port = typeof address === "object" && address !== null ? address.port : 0;
        const listener = new TcpListener(server, { host: endpoint.host, port });
        const stats = sidecar.addListener(listener.label);
        server.on("connection", (socket) => {
          if (sidecar.stopping) {
            socket.destroy();
            return;
          }
          const peer = new TcpPeer(socket, stats, sidecar, maxFrameBytes, (gone) => {
            listener.peers.delete(gone);
            if (gone.heldCount > 0) listener.leftovers.add(gone);
          });
          listener.peers.add(peer);
        });
        resolve(listener);
      });
    });
  }

  get connections(): number {
    return this.peers.size;
  }

  /** Events received but not queued yet (their producer's queue was full). */
  get held(): number {
    let n = 0;
    for (const p of this.peers) n += p.heldCount;
    for (const p of this.leftovers) {
      if (p.heldCount === 0) this.leftovers.delete(p);
      else n += p.heldCount;
    }
    return n;
  }

  /** Stops accepting and reading; peers close as their answers are sent. */
  stop(): void {
    this.server.close();
    for (const p of this.peers) p.disconnect();
  }

  dropHeld(): void {
    for (const p of [...this.peers, ...this.leftovers]) p.dropHeld();
    this.leftovers.clear();
  }

  /**
   * The end of shutdown: waits up to `timeoutMs` for the last answers to
   * leave, then closes what is still open.
   */
  async finish(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.peers].map((p) => p.finished())),
      new Promise((r) => {
        timer = setTimeout(r, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    for (const p of this.peers) p.destroy();
  }
}
