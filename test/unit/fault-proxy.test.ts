/**
 * The fault-injection TCP proxy (test/faults/proxy.ts) in front of a plain echo server:
 * bytes both ways, resets, blackholes and closing.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { resetEvery, startProxy, type TcpProxy } from "../faults/proxy.js";
import { waitFor } from "../helpers/wait.js";

interface Echo {
  port: number;
  /** Connections the echo server accepted. */
  accepted: number;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(port, "127.0.0.1", () => ok());
  });
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("no port");
  return addr.port;
}

async function startEcho(): Promise<Echo> {
  const sockets = new Set<Socket>();
  const echo = {
    port: 0,
    accepted: 0,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        for (const s of sockets) s.destroy();
      }),
  };
  const server = createServer((s) => {
    echo.accepted++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.pipe(s);
  });
  echo.port = await listen(server);
  cleanups.push(() => echo.close());
  return echo;
}

async function proxyFor(echo: Echo): Promise<TcpProxy> {
  const proxy = await startProxy({ host: "127.0.0.1", port: echo.port });
  cleanups.push(() => proxy.close());
  return proxy;
}

interface Client {
  socket: Socket;
  received(): string;
  error: NodeJS.ErrnoException | undefined;
  closed: boolean;
}

async function client(port: number): Promise<Client> {
  const socket = connect({ host: "127.0.0.1", port });
  const c: Client = {
    socket,
    received: () => Buffer.concat(chunks).toString(),
    error: undefined,
    closed: false,
  };
  const chunks: Buffer[] = [];
  socket.on("data", (b: Buffer) => chunks.push(b));
  socket.on("error", (err) => {
    c.error = err;
  });
  socket.on("close", () => {
    c.closed = true;
  });
  await new Promise<void>((ok, fail) => {
    socket.once("connect", () => ok());
    socket.once("error", fail);
  });
  cleanups.push(() => {
    socket.destroy();
  });
  return c;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("fault proxy", () => {
  it("forwards bytes both ways and counts connections", async () => {
    const echo = await startEcho();
    const proxy = await proxyFor(echo);
    const a = await client(proxy.port);
    const b = await client(proxy.port);
    a.socket.write("hello ");
    a.socket.write("world");
    b.socket.write("other");
    await waitFor("echo on a", () => (a.received() === "hello world" ? true : undefined), 5000, 10);
    await waitFor("echo on b", () => (b.received() === "other" ? true : undefined), 5000, 10);
    // A larger stream than any socket buffer makes it through intact.
    const big = Buffer.alloc(4 * 1024 * 1024, "abcdefgh");
    const c = await client(proxy.port);
    c.socket.write(big);
    await waitFor(
      "4 MiB echoed",
      () => (c.received().length === big.length ? true : undefined),
      10_000,
      20,
    );
    expect(c.received()).toBe(big.toString());
    expect(proxy.connections).toBe(3);
    expect(echo.accepted).toBe(3);
  });

  it("resetAll gives every client ECONNRESET and drops the upstream connections", async () => {
    const echo = await startEcho();
    const proxy = await proxyFor(echo);
    const a = await client(proxy.port);
    const b = await client(proxy.port);
    a.socket.write("x");
    await waitFor("echo", () => (a.received() === "x" ? true : undefined), 5000, 10);
    await waitFor("both upstream", () => (echo.accepted === 2 ? true : undefined), 5000, 10);
    proxy.resetAll();
    await waitFor("both closed", () => (a.closed && b.closed ? true : undefined), 5000, 10);
    expect(a.error?.code).toBe("ECONNRESET");
    expect(b.error?.code).toBe("ECONNRESET");
    expect(proxy.open).toBe(0);
    // New connections work again afterwards.
    const c = await client(proxy.port);
    c.socket.write("again");
    await waitFor(
      "echo after reset",
      () => (c.received() === "again" ? true : undefined),
      5000,
      10,
    );
  });

  it("resetEvery resets on a period until stopped", async () => {
    const echo = await startEcho();
    const proxy = await proxyFor(echo);
    const stop = resetEvery([proxy], 50);
    cleanups.push(stop);
    const a = await client(proxy.port);
    await waitFor("reset", () => (a.closed ? true : undefined), 5000, 10);
    expect(a.error?.code).toBe("ECONNRESET");
    stop();
    const b = await client(proxy.port);
    await sleep(200);
    expect(b.closed).toBe(false);
  });

  it("blackhole holds bytes (both ways, and new connections) until it ends", async () => {
    const echo = await startEcho();
    const proxy = await proxyFor(echo);
    const a = await client(proxy.port);
    a.socket.write("before");
    await waitFor("echo", () => (a.received() === "before" ? true : undefined), 5000, 10);

    proxy.blackhole(true);
    a.socket.write("-held");
    const b = await client(proxy.port); // accepted, not forwarded
    b.socket.write("late");
    await sleep(300);
    expect(a.received()).toBe("before");
    expect(b.received()).toBe("");
    expect(a.closed || b.closed).toBe(false);
    expect(proxy.connections).toBe(2);
    expect(echo.accepted).toBe(1);

    proxy.blackhole(false);
    await waitFor(
      "held bytes",
      () => (a.received() === "before-held" ? true : undefined),
      5000,
      10,
    );
    await waitFor("late connection", () => (b.received() === "late" ? true : undefined), 5000, 10);
    expect(echo.accepted).toBe(2);
  });

  it("blackhole also holds what the server sends", async () => {
    // A server that speaks once the blackhole is on: its bytes wait in the proxy.
    let serverSide: Socket | undefined;
    const server = createServer((s) => {
      serverSide = s;
      s.on("error", () => {});
    });
    const port = await listen(server);
    cleanups.push(
      () =>
        new Promise<void>((ok) => {
          server.close(() => ok());
          serverSide?.destroy();
        }),
    );
    const proxy = await startProxy({ host: "127.0.0.1", port });
    cleanups.push(() => proxy.close());
    const a = await client(proxy.port);
    await waitFor("upstream", () => serverSide, 5000, 10);
    proxy.blackhole(true);
    serverSide!.write("pushed");
    await sleep(300);
    expect(a.received()).toBe("");
    proxy.blackhole(false);
    await waitFor("pushed bytes", () => (a.received() === "pushed" ? true : undefined), 5000, 10);
  });

  it("a refused upstream resets the client", async () => {
    const echo = await startEcho();
    const port = echo.port;
    await echo.close();
    const proxy = await startProxy({ host: "127.0.0.1", port });
    cleanups.push(() => proxy.close());
    const a = await client(proxy.port);
    await waitFor("closed", () => (a.closed ? true : undefined), 5000, 10);
    expect(a.error?.code).toBe("ECONNRESET");
  });

  it("close() ends every connection and frees the port", async () => {
    const echo = await startEcho();
    const proxy = await startProxy({ host: "127.0.0.1", port: echo.port });
    const a = await client(proxy.port);
    proxy.blackhole(true);
    await proxy.close();
    await waitFor("client closed", () => (a.closed ? true : undefined), 5000, 10);
    // The same port can be listened on again, by a new proxy on a chosen port.
    const again = await startProxy({ host: "127.0.0.1", port: echo.port }, proxy.port);
    cleanups.push(() => again.close());
    expect(again.port).toBe(proxy.port);
    const b = await client(again.port);
    b.socket.write("ok");
    await waitFor("echo via new proxy", () => (b.received() === "ok" ? true : undefined), 5000, 10);
  });
});
