/**
 * The broker harness's choice (test/broker/broker-choice.ts) against stub engines: UNIX-socket
 * and TCP servers in this process, some speaking Docker's /_ping, some not. No Docker needed.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chooseBroker, dockerEndpoint, readPingReply } from "../broker/broker-choice.js";

let dir: string;
const servers: (Server | HttpServer)[] = [];
const sockets: Socket[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "broker-choice-"));
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) {
    if ("closeAllConnections" in s) s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  await rm(dir, { recursive: true, force: true });
});

interface Stub {
  /** Requests seen, as "METHOD URL host-header". */
  requests: string[];
}

/** A Docker-like engine: GET /_ping answers `status` with `body` (chunked unless length). */
function dockerStub(options: { status?: number; body?: string; chunked?: boolean } = {}) {
  const stub: Stub = { requests: [] };
  const server = createHttpServer((req, res) => {
    stub.requests.push(`${req.method} ${req.url} ${req.headers.host}`);
    const body = options.body ?? "OK";
    res.statusCode = req.url === "/_ping" ? (options.status ?? 200) : 404;
    res.setHeader("Api-Version", "1.47");
    if (!options.chunked) res.setHeader("Content-Length", Buffer.byteLength(body));
    res.end(body);
  });
  servers.push(server);
  return { stub, server };
}

async function listenUnix(server: Server | HttpServer, name = "docker.sock"): Promise<string> {
  const path = join(dir, name);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return path;
}

async function listenTcp(server: Server | HttpServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** A raw socket server: `onConnection` decides what (if anything) it says. */
function rawStub(onConnection: (socket: Socket) => void): Server {
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    onConnection(socket);
  });
  servers.push(server);
  return server;
}

describe("chooseBroker", () => {
  it("KAFKA_BOOTSTRAP set: external, without asking Docker even when an engine answers", async () => {
    const { stub, server } = dockerStub();
    const socketPath = await listenUnix(server);
    const choice = await chooseBroker({
      env: { KAFKA_BOOTSTRAP: " broker-1:9092,broker-2:9092 ", DOCKER_HOST: "" },
      socketPath,
    });
    expect(choice).toEqual({
      kind: "external",
      bootstrap: "broker-1:9092,broker-2:9092",
      reason: "KAFKA_BOOTSTRAP=broker-1:9092,broker-2:9092 is set; using that cluster as it is",
    });
    expect(stub.requests).toEqual([]);
  });

  it("a blank KAFKA_BOOTSTRAP counts as unset", async () => {
    const { server } = dockerStub();
    const socketPath = await listenUnix(server);
    const choice = await chooseBroker({ env: { KAFKA_BOOTSTRAP: "  " }, socketPath });
    expect(choice.kind).toBe("testcontainers");
  });

  it("no socket file: local, with the reason", async () => {
    const socketPath = join(dir, "docker.sock");
    const choice = await chooseBroker({ env: {}, socketPath });
    expect(choice).toEqual({
      kind: "local",
      reason: `no Docker engine answers at ${socketPath} (no such file); using a local Kafka from Maven jars`,
    });
  });

  it("a regular file where the socket should be: local, not a socket", async () => {
    const socketPath = join(dir, "docker.sock");
    await writeFile(socketPath, "");
    const choice = await chooseBroker({ env: {}, socketPath });
    expect(choice.kind).toBe("local");
    expect(choice.reason).toContain(`at ${socketPath} (not a socket)`);
  });

  it("a socket that accepts and closes: local, no reply", async () => {
    const socketPath = await listenUnix(rawStub((s) => s.destroy()));
    const choice = await chooseBroker({ env: {}, socketPath });
    expect(choice.kind).toBe("local");
    expect(choice.reason).toMatch(
      new RegExp(
        `^no Docker engine answers at ${socketPath} \\((the connection closed without a reply|connection reset)\\); using a local Kafka from Maven jars$`,
      ),
    );
  });

  it("a socket that answers garbage: local, quoting what it said", async () => {
    const socketPath = await listenUnix(rawStub((s) => s.end("SSH-2.0-OpenSSH_9.6\r\n")));
    const choice = await chooseBroker({ env: {}, socketPath });
    expect(choice).toEqual({
      kind: "local",
      reason: `no Docker engine answers at ${socketPath} (answered "SSH-2.0-OpenSSH_9.6", not HTTP); using a local Kafka from Maven jars`,
    });
  });

  it("a socket that accepts and stays silent: local after the timeout", async () => {
    const socketPath = await listenUnix(rawStub(() => {}));
    const started = Date.now();
    const choice = await chooseBroker({ env: {}, socketPath, timeoutMs: 200 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(choice.kind).toBe("local");
    expect(choice.reason).toContain("(no reply to GET /_ping within 0.2 s)");
  });

  it("an HTTP server that is not Docker (404, or 200 with another body): local", async () => {
    const notFound = dockerStub({ status: 404, body: "page not found" });
    const a = await listenUnix(notFound.server, "a.sock");
    const choiceA = await chooseBroker({ env: {}, socketPath: a });
    expect(choiceA.kind).toBe("local");
    expect(choiceA.reason).toContain('(answered "HTTP/1.1 404 Not Found", not HTTP/1.1 200)');

    const otherBody = dockerStub({ body: "<html>hello</html>" });
    const b = await listenUnix(otherBody.server, "b.sock");
    const choiceB = await chooseBroker({ env: {}, socketPath: b });
    expect(choiceB.kind).toBe("local");
    expect(choiceB.reason).toContain('(answered 200 with the body "<html>hello</html>", not "OK")');
  });

  it("a UNIX-socket stub answering /_ping with 200 OK: testcontainers", async () => {
    const { stub, server } = dockerStub();
    const socketPath = await listenUnix(server);
    const choice = await chooseBroker({ env: {}, socketPath });
    expect(choice).toEqual({
      kind: "testcontainers",
      engine: { kind: "unix", path: socketPath, label: socketPath },
      reason: `a Docker engine answers at ${socketPath} (GET /_ping: 200 OK); using Kafka in a container (testcontainers)`,
    });
    expect(stub.requests).toEqual(["GET /_ping docker"]);
  });

  it("a chunked 200 OK counts too", async () => {
    const { server } = dockerStub({ chunked: true });
    const socketPath = await listenUnix(server);
    expect((await chooseBroker({ env: {}, socketPath })).kind).toBe("testcontainers");
  });

  it("DOCKER_HOST=tcp://127.0.0.1:<stub port>: testcontainers (the socket path is not asked)", async () => {
    const { stub, server } = dockerStub();
    const port = await listenTcp(server);
    const choice = await chooseBroker({
      env: { DOCKER_HOST: `tcp://127.0.0.1:${port}` },
      socketPath: join(dir, "missing.sock"),
    });
    expect(choice).toEqual({
      kind: "testcontainers",
      engine: {
        kind: "tcp",
        host: "127.0.0.1",
        port,
        label: `DOCKER_HOST=tcp://127.0.0.1:${port}`,
      },
      reason: `a Docker engine answers at DOCKER_HOST=tcp://127.0.0.1:${port} (GET /_ping: 200 OK); using Kafka in a container (testcontainers)`,
    });
    expect(stub.requests).toEqual(["GET /_ping docker"]);
  });

  it("DOCKER_HOST=unix://<stub socket>: testcontainers", async () => {
    const { server } = dockerStub();
    const socketPath = await listenUnix(server, "other.sock");
    const choice = await chooseBroker({
      env: { DOCKER_HOST: `unix://${socketPath}` },
      socketPath: join(dir, "missing.sock"),
    });
    expect(choice.kind).toBe("testcontainers");
    expect(choice.reason).toContain(`at DOCKER_HOST=unix://${socketPath} (GET /_ping: 200 OK)`);
  });

  it("DOCKER_HOST pointing at nothing: local, even when the default socket answers", async () => {
    // A port that was free a moment ago: nothing listens there now.
    const probe = createServer();
    const port = await new Promise<number>((resolve) =>
      probe.listen(0, "127.0.0.1", () => resolve((probe.address() as AddressInfo).port)),
    );
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const { stub, server } = dockerStub();
    const socketPath = await listenUnix(server);

    const choice = await chooseBroker({
      env: { DOCKER_HOST: `tcp://127.0.0.1:${port}` },
      socketPath,
    });
    expect(choice).toEqual({
      kind: "local",
      reason: `no Docker engine answers at DOCKER_HOST=tcp://127.0.0.1:${port} (connection refused); using a local Kafka from Maven jars`,
    });
    expect(stub.requests).toEqual([]);

    const noFile = join(dir, "nothing.sock");
    const unix = await chooseBroker({ env: { DOCKER_HOST: `unix://${noFile}` }, socketPath });
    expect(unix.reason).toBe(
      `no Docker engine answers at DOCKER_HOST=unix://${noFile} (no such file); using a local Kafka from Maven jars`,
    );
  });

  it("DOCKER_HOST with a scheme it cannot ping: local, saying so", async () => {
    const choice = await chooseBroker({ env: { DOCKER_HOST: "ssh://me@build-host" } });
    expect(choice).toEqual({
      kind: "local",
      reason:
        "DOCKER_HOST=ssh://me@build-host is not a unix:// or tcp:// address the harness can ping; using a local Kafka from Maven jars",
    });
  });
});

describe("dockerEndpoint", () => {
  it("reads DOCKER_HOST, else the socket path", () => {
    expect(dockerEndpoint(undefined, "/var/run/docker.sock")).toEqual({
      kind: "unix",
      path: "/var/run/docker.sock",
      label: "/var/run/docker.sock",
    });
    expect(dockerEndpoint("tcp://docker.internal", "/x")).toEqual({
      kind: "tcp",
      host: "docker.internal",
      port: 2375,
      label: "DOCKER_HOST=tcp://docker.internal",
    });
    expect(dockerEndpoint("tcp://[::1]:2376", "/x")).toMatchObject({ host: "::1", port: 2376 });
    expect(dockerEndpoint("unix:///run/user/1000/docker.sock", "/x")).toMatchObject({
      kind: "unix",
      path: "/run/user/1000/docker.sock",
    });
    expect(dockerEndpoint("npipe:////./pipe/docker_engine", "/x")).toHaveProperty("error");
    expect(dockerEndpoint("not a url", "/x")).toHaveProperty("error");
  });
});

describe("readPingReply", () => {
  const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK";
  it("waits for a complete reply, judges it as soon as it is complete", () => {
    for (let i = 0; i < ok.length; i++)
      expect(readPingReply(ok.slice(0, i), false)).toBeUndefined();
    expect(readPingReply(ok, false)).toEqual({ ok: true });
    expect(readPingReply("HTTP/1.1 200 OK\r\n\r\nOK", true)).toEqual({ ok: true });
    expect(
      readPingReply(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n",
        false,
      ),
    ).toEqual({ ok: true });
  });
  it("rejects what is not HTTP/1.1 200 with the body OK", () => {
    expect(readPingReply("HTTP/1.0 200 OK\r\n\r\nOK", true)).toMatchObject({ ok: false });
    expect(readPingReply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nNO", false)).toMatchObject({
      ok: false,
    });
    expect(readPingReply("HTTP/1.1 200 OK\r\nContent-Length: 1", true)).toEqual({
      ok: false,
      why: "the reply ended inside its headers",
    });
    expect(readPingReply("\u0015\u0003\u0001\u0000\u0002", false)).toMatchObject({ ok: false });
  });
});
