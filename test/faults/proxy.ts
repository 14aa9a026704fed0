/**
 * A TCP proxy on 127.0.0.1 in front of one broker port, for fault injection: every accepted
 * connection gets its own upstream connection, bytes are copied both ways, and on demand every
 * connection is reset (TCP RST on both sides) or the proxy stops forwarding ("blackhole": the
 * sockets stay open and the bytes wait, unread, until forwarding resumes).
 *
 * Only Node built-ins; nothing here knows Kafka.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

export interface ProxyTarget {
  host: string;
  port: number;
}

export interface TcpProxy {
  /** The port the proxy listens on (127.0.0.1). */
  readonly port: number;
  /** Client connections accepted so far. */
  readonly connections: number;
  /** Client connections open now. */
  readonly open: number;
  /** Destroys every client and upstream socket with a TCP RST. */
  resetAll(): void;
  /**
   * on: stop forwarding in both directions and keep the sockets open (nothing more is read,
   * so the bytes wait in the kernel buffers and TCP flow control stops the senders); new
   * connections are accepted but not connected upstream. off: forward again, held bytes
   * first, and connect the connections accepted meanwhile.
   */
  blackhole(on: boolean): void;
  /**
   * Watches the bytes of the connections accepted from now on (connections already open are
   * not watched): `factory` is called once per new connection and its functions see every
   * chunk read from the client (`up`) or from the broker (`down`), in order, before it is
   * forwarded; one that returns false drops its chunk. Undefined: no tap for new connections.
   */
  tap(factory: TapFactory | undefined): void;
  /** Stops listening and destroys every connection; resolves once the port is free. */
  close(): Promise<void>;
}

/** Sees one connection's chunks; returning false drops the chunk instead of forwarding it. */
export type ChunkTap = (chunk: Buffer) => boolean;

export type TapFactory = () => { up?: ChunkTap; down?: ChunkTap };

interface Pair {
  client: Socket;
  /** Undefined until connected upstream (deferred while blackholed). */
  upstream: Socket | undefined;
  /** Chunks read but not forwarded because the blackhole started meanwhile. */
  heldUp: Buffer[];
  heldDown: Buffer[];
  /** The tap set when the connection was accepted, if any. */
  tap: { up?: ChunkTap; down?: ChunkTap } | undefined;
}

/** Resets `socket` (TCP RST) unless it is destroyed already (where resetAndDestroy() errors). */
function reset(socket: Socket | undefined): void {
  if (socket === undefined || socket.destroyed) return;
  socket.resetAndDestroy();
}

export async function startProxy(target: ProxyTarget, listenPort = 0): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let accepted = 0;
  let holding = false;
  let closed = false;
  let tapFactory: TapFactory | undefined;

  /** Copies `from` to `to`, pausing `from` while `to` is full or while blackholed. */
  const forward = (from: Socket, to: Socket, held: Buffer[], tap?: ChunkTap): void => {
    from.on("data", (chunk: Buffer) => {
      if (tap !== undefined && !tap(chunk)) return;
      if (holding) {
        held.push(chunk);
        from.pause();
        return;
      }
      if (!to.write(chunk)) from.pause();
    });
    to.on("drain", () => {
      if (!holding) from.resume();
    });
    // A FIN from one side is passed on as a FIN (half-close), like a plain TCP path.
    from.on("end", () => {
      if (!to.destroyed) to.end();
    });
  };

  const connectUpstream = (pair: Pair): void => {
    const upstream = tcpConnect({ host: target.host, port: target.port });
    upstream.setNoDelay(true);
    pair.upstream = upstream;
    forward(pair.client, upstream, pair.heldUp, pair.tap?.up);
    forward(upstream, pair.client, pair.heldDown, pair.tap?.down);
    // The broker refused or reset the connection: the client sees a reset as well.
    upstream.on("error", () => reset(pair.client));
    upstream.on("close", () => {
      if (!pair.client.destroyed) pair.client.destroy();
      pairs.delete(pair);
    });
    pair.client.resume();
  };

  const server: Server = createServer((client) => {
    accepted++;
    if (closed) {
      client.destroy();
      return;
    }
    client.setNoDelay(true);
    client.pause();
    const pair: Pair = {
      client,
      upstream: undefined,
      heldUp: [],
      heldDown: [],
      tap: tapFactory?.(),
    };
    pairs.add(pair);
    client.on("error", () => reset(pair.upstream));
    client.on("close", () => {
      if (pair.upstream !== undefined && !pair.upstream.destroyed) pair.upstream.destroy();
      pairs.delete(pair);
    });
    if (!holding) connectUpstream(pair);
  });

  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(listenPort, "127.0.0.1", () => {
      server.off("error", fail);
      ok();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("proxy has no port");

  const release = (pair: Pair): void => {
    const { client, upstream } = pair;
    if (upstream === undefined) {
      if (!client.destroyed) connectUpstream(pair);
      return;
    }
    for (const chunk of pair.heldUp.splice(0)) upstream.write(chunk);
    for (const chunk of pair.heldDown.splice(0)) client.write(chunk);
    if (!client.destroyed) client.resume();
    if (!upstream.destroyed) upstream.resume();
  };

  return {
    port: address.port,
    get connections() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    resetAll(): void {
      for (const pair of [...pairs]) {
        reset(pair.client);
        reset(pair.upstream);
        pairs.delete(pair);
      }
    },
    blackhole(on: boolean): void {
      if (on === holding) return;
      holding = on;
      for (const pair of pairs) {
        if (on) {
          pair.client.pause();
          pair.upstream?.pause();
        } else {
          release(pair);
        }
      }
    },
    tap(factory: TapFactory | undefined): void {
      tapFactory = factory;
    },
    close(): Promise<void> {
      closed = true;
      holding = false;
      return new Promise((ok) => {
        server.close(() => ok());
        for (const pair of [...pairs]) {
          pair.client.destroy();
          pair.upstream?.destroy();
        }
        pairs.clear();
      });
    },
  };
}

/** Resets every connection of every proxy each `ms`; returns the function that stops it. */
export function resetEvery(proxies: readonly TcpProxy[], ms: number): () => void {
  const timer = setInterval(() => {
    for (const p of proxies) p.resetAll();
  }, ms);
  return () => clearInterval(timer);
}
