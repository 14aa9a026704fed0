/**
 * What the producer says when brokers cannot be reached: one warning per
 * broker and cause (not one per retry), the default logger on stderr,
 * ALL_BROKERS_DOWN once per outage through onError, and the last connection
 * error as the cause of records that fail for want of a broker. Real sockets:
 * a closed port, an unresolvable host and the in-process fake broker.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { KafkaClientError } from "../../src/client/client-error.js";
import { Producer } from "../../src/producer/producer.js";
import type { DeliveryError } from "../../src/producer/record.js";
import { type FakeCluster, startFakeCluster } from "../helpers/fake-broker.js";
import { waitFor } from "../helpers/wait.js";
import { type LogLine as Line, recordingLogger } from "../producer/helpers.js";

/** A port nothing listens on: bound, taken, closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const FAST = {
  "linger.ms": 0,
  "reconnect.backoff.ms": 20,
  "reconnect.backoff.max.ms": 100,
  "retry.backoff.ms": 20,
  "retry.backoff.max.ms": 100,
};

const open: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
});

function producer(
  props: Record<string, string | number | boolean>,
  options: ConstructorParameters<typeof Producer>[1] = {},
): Producer {
  const p = new Producer({ ...FAST, ...props }, options);
  open.push({ close: () => p.close(0) });
  return p;
}

async function fakeCluster(options: Parameters<typeof startFakeCluster>[0]): Promise<FakeCluster> {
  const c = await startFakeCluster(options);
  open.push(c);
  return c;
}

function allDown(errors: Error[]): KafkaClientError[] {
  return errors.filter(
    (e): e is KafkaClientError => e instanceof KafkaClientError && e.code === "ALL_BROKERS_DOWN",
  );
}

function warnsFor(lines: Line[], address: string): Line[] {
  return lines.filter((l) => l.level === "warn" && l.fields?.broker === address);
}

describe("connection failures", () => {
  it("warn once per broker and cause over seconds of retries", async () => {
    const port = await closedPort();
    const refused = `127.0.0.1:${port}`;
    const unresolvable = "no-such-host.invalid:9092";
    const logger = recordingLogger();
    const errors: Error[] = [];
    const p = producer(
      { "bootstrap.servers": `${refused},${unresolvable}`, "message.timeout.ms": 10_000 },
      { logger, onError: (e) => errors.push(e) },
    );
    p.produce({ topic: "t", value: "v" }, () => {});
    await sleep(3000);

    const refusedWarns = warnsFor(logger.lines, refused);
    expect(refusedWarns).toHaveLength(1);
    expect(refusedWarns[0]!.message).toBe(
      `connection to ${refused} failed: connect ECONNREFUSED ${refused} (retrying)`,
    );
    expect(refusedWarns[0]!.fields).toEqual({
      broker: refused,
      error: `connection to ${refused} failed: connect ECONNREFUSED ${refused}`,
    });
    const dnsWarns = warnsFor(logger.lines, unresolvable);
    expect(dnsWarns).toHaveLength(1);
    expect(dnsWarns[0]!.message).toMatch(
      /^connection to no-such-host\.invalid:9092 failed: getaddrinfo (ENOTFOUND|EAI_AGAIN) no-such-host\.invalid \(retrying\)$/,
    );
    // Only those two warnings: the retries went to debug.
    expect(logger.lines.filter((l) => l.level === "warn")).toHaveLength(2);
    const retries = logger.lines.filter(
      (l) => l.level === "debug" && l.fields?.broker === refused && /ECONNREFUSED/.test(l.message),
    );
    expect(retries.length).toBeGreaterThan(3);

    // Both dead: ALL_BROKERS_DOWN once, logged at error level.
    const down = allDown(errors);
    expect(down).toHaveLength(1);
    expect(down[0]!.message).toMatch(/^all 2 brokers are down \(last error: connection to /);
    expect(down[0]!.cause).toBeInstanceOf(Error);
    expect(down[0]!.message).toContain((down[0]!.cause as Error).message);
    const errorLines = logger.lines.filter((l) => l.level === "error");
    expect(errorLines.map((l) => l.message)).toEqual([down[0]!.message]);
    // The per-attempt errors still reach onError.
    expect(errors.length).toBeGreaterThan(2);
  });

  it("go to stderr by default", async () => {
    const port = await closedPort();
    const address = `127.0.0.1:${port}`;
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const p = new Producer({ ...FAST, "bootstrap.servers": address, "message.timeout.ms": 5000 });
      p.produce({ topic: "t", value: "v" }, () => {});
      await waitFor(
        "the all-brokers-down line",
        () => (written.some((w) => w.includes("ERROR the only broker")) ? true : undefined),
        5000,
        20,
      );
      await sleep(500);
      await p.close(0);
    } finally {
      process.stderr.write = write;
    }
    const ours = written.filter((w) => w.includes(address));
    const warns = ours.filter((w) => / WARN /.test(w));
    expect(warns).toHaveLength(1);
    expect(warns[0]).toContain(
      `WARN connection to ${address} failed: connect ECONNREFUSED ${address} (retrying)`,
    );
    const errs = ours.filter((w) => / ERROR /.test(w));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toContain(`ERROR the only broker (${address}) is down (last error:`);
    // warn and error only: no debug or info lines by default.
    expect(ours).toHaveLength(2);
  });

  it("are the cause of records failing for want of a broker", async () => {
    const port = await closedPort();
    const p = producer(
      { "bootstrap.servers": `127.0.0.1:${port}`, "message.timeout.ms": 1500 },
      { logger: recordingLogger() },
    );
    const t0 = Date.now();
    const err = await new Promise<DeliveryError>((resolve) => {
      p.produce({ topic: "t", value: "v" }, (e) => {
        if (e) resolve(e);
      });
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    expect(err).toBeInstanceOf(KafkaClientError);
    expect((err as KafkaClientError).code).toBe("MSG_TIMED_OUT");
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(err.cause).toBeInstanceOf(Error);
    expect((err.cause as Error).message).toMatch(/ECONNREFUSED/);
  });
});

describe("ALL_BROKERS_DOWN", () => {
  it("comes again after a broker came back and went away again; warnings re-arm", async () => {
    const cluster = await fakeCluster({ nodes: 1, topics: [{ name: "t", partitions: 1 }] });
    const live = cluster.broker(1);
    const liveAddress = `${live.host}:${live.port}`;
    await live.stop();
    const dead = `127.0.0.1:${await closedPort()}`;
    const logger = recordingLogger();
    const errors: Error[] = [];
    const p = producer(
      { "bootstrap.servers": `${dead},${liveAddress}`, "message.timeout.ms": 20_000 },
      { logger, onError: (e) => errors.push(e) },
    );
    const first = p.send({ topic: "t", value: "1" });
    await waitFor(
      "the first outage",
      () => (allDown(errors).length === 1 ? true : undefined),
      5000,
      20,
    );
    await sleep(500);
    expect(allDown(errors)).toHaveLength(1);

    await live.start();
    await first;
    expect(allDown(errors)).toHaveLength(1);
    expect(
      logger.lines.some((l) => l.level === "info" && l.message === `connected to ${liveAddress}`),
    ).toBe(true);

    await live.stop();
    const second = p.send({ topic: "t", value: "2" });
    await waitFor(
      "the second outage",
      () => (allDown(errors).length === 2 ? true : undefined),
      5000,
      20,
    );
    await sleep(1000);
    expect(allDown(errors)).toHaveLength(2);
    // Metadata named the broker at its bootstrap address: one broker, counted once.
    expect(allDown(errors)[1]!.message).toMatch(/^all 2 brokers are down \(last error: /);
    // One warning per outage for the broker that came back, one in all for the dead one.
    expect(warnsFor(logger.lines, liveAddress)).toHaveLength(2);
    expect(warnsFor(logger.lines, dead)).toHaveLength(1);
    expect(logger.lines.filter((l) => l.level === "error")).toHaveLength(2);

    await live.start();
    await second;
  });

  it("does not come while one of two brokers is reachable", async () => {
    const cluster = await fakeCluster({
      nodes: 2,
      topics: [{ name: "t", partitions: 2, leaders: [1, 2] }],
    });
    const b2 = cluster.broker(2);
    const b2Address = `${b2.host}:${b2.port}`;
    const logger = recordingLogger();
    const errors: Error[] = [];
    const p = producer(
      { "bootstrap.servers": cluster.bootstrap, "message.timeout.ms": 20_000 },
      { logger, onError: (e) => errors.push(e) },
    );
    await p.send({ topic: "t", value: "warm", partition: 1 });
    await b2.stop();
    // Partition 1's leader is gone: its records keep the producer trying broker 2.
    p.produce({ topic: "t", value: "stuck", partition: 1 }, () => {});
    for (let i = 0; i < 10; i++) {
      await p.send({ topic: "t", value: `ok${i}`, partition: 0 });
      await sleep(200);
    }
    expect(errors.some((e) => (e.message ?? "").includes(b2Address))).toBe(true);
    expect(allDown(errors)).toEqual([]);
    expect(logger.lines.filter((l) => l.level === "error")).toEqual([]);
    expect(warnsFor(logger.lines, b2Address)).toHaveLength(1);
  });
});

describe("recovery after an outage", () => {
  it("with the default reconnect backoff, a broker back after 4 s is reconnected within its cap", async () => {
    const cluster = await fakeCluster({ nodes: 1, topics: [{ name: "t", partitions: 1 }] });
    const b = cluster.broker(1);
    // Defaults, not FAST: the cap under test is reconnect.backoff.max.ms = 1000.
    const p = new Producer(
      { "bootstrap.servers": cluster.bootstrap, "linger.ms": 0 },
      { logger: recordingLogger() },
    );
    open.push({ close: () => p.close(0) });
    await p.send({ topic: "t", value: "warm" });
    await b.stop();
    const during = p.send({ topic: "t", value: "during" });
    // Long enough for an uncapped doubling from 100 ms to pass 3 s between attempts.
    await sleep(4000);
    const accepted = b.connectionsAccepted;
    await b.start();
    const back = performance.now();
    const report = await during;
    const waited = performance.now() - back;
    expect(report.offset).toBe(1);
    expect(b.connectionsAccepted).toBeGreaterThan(accepted);
    // At most one capped wait (1000 ms) plus the reconnect and the Produce round trip.
    expect(waited).toBeLessThan(1000 + 400);
  });
});
