/**
 * TLS and SASL against the harness's secured broker: every combination of
 * security.protocol and mechanism delivers from the API, from a socket and
 * from the CLI, read back by KafkaJS on the broker's PLAINTEXT listener; the
 * failures a person meets (wrong password, wrong CA, host name mismatch, TLS
 * against a plaintext port, no client certificate) each give one clear error
 * within seconds, with the reconnect backoff between attempts; and a SASL
 * session that the broker limits is renewed (KIP-368) with nothing lost.
 */
import { afterAll, describe, expect, it } from "vitest";
import { KafkaClientError } from "../../src/client/client-error.js";
import { unsecuredJwt } from "../../src/client/sasl/index.js";
import type { OAuthBearerToken } from "../../src/client/security.js";
import type { ProducerProperties } from "../../src/config/index.js";
import { Producer } from "../../src/producer/producer.js";
import { EventKafka } from "../../src/socket/index.js";
import type { SecureBrokerInfo, SecureListener } from "../broker/kafka.js";
import { secureBroker } from "../broker/secure.js";
import { startProxy } from "../faults/proxy.js";
import { run, summary } from "../helpers/cli.js";
import { kafkajsConsume, type ReadRecord } from "../helpers/kafkajs-reader.js";
import { uniqueTopic } from "../helpers/topics.js";
import { recordingLogger } from "./helpers.js";

const info: SecureBrokerInfo = secureBroker();
// The secure broker's own PLAINTEXT listener: with KAFKA_BOOTSTRAP set it is another broker.
const plaintext = info.plaintextBootstrap;

interface Combo {
  name: string;
  listener: SecureListener;
  props: Record<string, string>;
}

const tlsTrust = { "ssl.ca.location": info.certs.ca.certFile };
const clientCert = {
  "ssl.certificate.location": info.certs.client.certFile,
  "ssl.key.location": info.certs.client.encryptedKeyFile,
  "ssl.key.password": info.certs.client.passphrase,
};
const saslUsers: Record<string, Record<string, string>> = {
  PLAIN: { "sasl.username": info.users.plain.username, "sasl.password": info.users.plain.password },
  "SCRAM-SHA-256": {
    "sasl.username": info.users.scramSha256.username,
    "sasl.password": info.users.scramSha256.password,
  },
  "SCRAM-SHA-512": {
    "sasl.username": info.users.scramSha512.username,
    "sasl.password": info.users.scramSha512.password,
  },
  OAUTHBEARER: {
    "enable.sasl.oauthbearer.unsecure.jwt": "true",
    "sasl.oauthbearer.config": `principal=${info.users.oauthbearer.subject}`,
  },
};

const COMBOS: Combo[] = [
  { name: "ssl", listener: info.listeners.ssl, props: { "security.protocol": "ssl", ...tlsTrust } },
  {
    name: "ssl with a client certificate",
    listener: info.listeners.mtls,
    props: { "security.protocol": "ssl", ...tlsTrust, ...clientCert },
  },
];
for (const mechanism of Object.keys(saslUsers)) {
  for (const [protocol, listener] of [
    ["sasl_plaintext", info.listeners.saslPlaintext],
    ["sasl_ssl", info.listeners.saslSsl],
  ] as const) {
    COMBOS.push({
      name: `${protocol} ${mechanism}`,
      listener,
      props: {
        "security.protocol": protocol,
        "sasl.mechanisms": mechanism,
        ...saslUsers[mechanism],
        ...(protocol === "sasl_ssl" && tlsTrust),
      },
    });
  }
}

/** A key or value as text (null stays null). */
function text(bytes: ReadRecord["value"] | undefined): string | null | undefined {
  return bytes == null ? bytes : bytes.toString("utf8");
}

/** The properties as socket `g.` properties, percent-encoded. */
function socketQuery(props: Record<string, string>): string {
  return Object.entries(props)
    .map(([k, v]) => `g.${k}=${encodeURIComponent(v)}`)
    .join("&");
}

const FAST_FAIL = {
  "message.timeout.ms": "4000",
  "reconnect.backoff.ms": "100",
  "reconnect.backoff.max.ms": "1000",
} as const;

/** Every string of a run that a user could see, to scan for secrets. */
const printed: string[] = [];

afterAll(() => {
  const secrets = [
    info.users.plain.password,
    info.users.scramSha256.password,
    info.users.scramSha512.password,
    info.certs.client.passphrase,
    "wrong-password-Zq9",
  ];
  const text = printed.join("\n");
  expect(text.length).toBeGreaterThan(0);
  for (const s of secrets) expect(text).not.toContain(s);
});

describe.each(COMBOS)("$name", ({ listener, props }) => {
  it("delivers from the API, a socket and the CLI, read back exactly", async () => {
    const topic = uniqueTopic("secure");
    const logger = recordingLogger();
    const producer = new Producer(
      { "bootstrap.servers": listener.bootstrap, "linger.ms": 2, ...props },
      { logger },
    );
    const reports = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        producer.send({
          topic,
          key: `k${i}`,
          value: `api-${i}`,
          headers: [{ key: "h", value: `v${i}` }],
        }),
      ),
    );
    expect(reports.every((r) => r.offset >= 0)).toBe(true);
    printed.push(JSON.stringify(producer.stats()), JSON.stringify(logger.lines));
    await producer.close(10_000);

    const socket = `kafka:${listener.bootstrap}/${topic}?${socketQuery(props)}`;
    const events = new EventKafka();
    events.addBroker(`[sec]${socket}`);
    const socketReports = await Promise.all(
      Array.from(
        { length: 5 },
        (_, i) =>
          new Promise<number>((resolve) => {
            expect(events.publish("sec", `socket-${i}`, `s${i}`, (r) => resolve(r.status))).toBe(1);
          }),
      ),
    );
    expect(socketReports).toEqual([0, 0, 0, 0, 0]);
    await events.close(10_000);

    const cli = await run(["publish", socket, "cli-0", "cli-1", "-k", "c"]);
    printed.push(cli.stdout, cli.stderr);
    expect(cli.stderr).toBe("");
    expect(cli.code).toBe(0);
    expect(summary(cli.stdout)).toMatchObject({ delivered: 2, failed: 0 });

    const back = await kafkajsConsume(plaintext, [topic], 27);
    expect(back).toHaveLength(27);
    const byValue = new Map(back.map((r) => [text(r.value), r]));
    expect([...byValue.keys()].sort()).toEqual(
      [
        ...Array.from({ length: 20 }, (_, i) => `api-${i}`),
        ...Array.from({ length: 5 }, (_, i) => `socket-${i}`),
        "cli-0",
        "cli-1",
      ].sort(),
    );
    const api7 = byValue.get("api-7");
    expect(text(api7?.key)).toBe("k7");
    expect(Object.keys(api7?.headers ?? {})).toEqual(["h"]);
    expect(String(api7?.headers.h)).toBe("v7");
    expect(text(byValue.get("socket-3")?.key)).toBe("s3");
    expect(text(byValue.get("cli-1")?.key)).toBe("c");
  });
});

/**
 * Starts a producer that cannot get through and returns what a user sees: the
 * first onError within the window, the records' reports, the connection attempts
 * counted by a proxy, and the log.
 */
async function failingRun(target: SecureListener | string, props: ProducerProperties) {
  const [host, port] = (typeof target === "string" ? target : target.bootstrap).split(":");
  const proxy = await startProxy({ host: host!, port: Number(port) });
  const logger = recordingLogger();
  const errors: Error[] = [];
  const started = Date.now();
  let firstErrorMs = -1;
  const producer = new Producer(
    { "bootstrap.servers": `127.0.0.1:${proxy.port}`, ...FAST_FAIL, ...props },
    {
      logger,
      onError: (err) => {
        if (errors.length === 0) firstErrorMs = Date.now() - started;
        errors.push(err);
      },
    },
  );
  const outcome = await producer.send({ topic: uniqueTopic("secure-fail"), value: "never" }).then(
    () => undefined,
    (err: Error) => err,
  );
  const failedAfterMs = Date.now() - started;
  const connections = proxy.connections;
  printed.push(
    String(outcome),
    ...errors.map((e) => `${e.message} ${String(e.cause)}`),
    JSON.stringify(logger.lines),
  );
  await producer.close(0);
  await proxy.close();
  return { outcome, errors, firstErrorMs, failedAfterMs, connections, logger };
}

describe("failures a person can act on", () => {
  const cases: {
    name: string;
    target: () => SecureListener | string;
    props: Record<string, string>;
    code: "SSL" | "AUTHENTICATION";
    message: RegExp;
  }[] = [
    {
      name: "a wrong password",
      target: () => info.listeners.saslPlaintext,
      props: {
        "security.protocol": "sasl_plaintext",
        "sasl.mechanisms": "PLAIN",
        "sasl.username": info.users.plain.username,
        "sasl.password": "wrong-password-Zq9",
      },
      code: "AUTHENTICATION",
      message:
        /^SASL authentication failed for 127\.0\.0\.1:\d+: Authentication failed: Invalid username or password$/,
    },
    {
      name: "a wrong SCRAM password",
      target: () => info.listeners.saslSsl,
      props: {
        "security.protocol": "sasl_ssl",
        ...tlsTrust,
        "sasl.mechanisms": "SCRAM-SHA-256",
        "sasl.username": info.users.scramSha256.username,
        "sasl.password": "wrong-password-Zq9",
      },
      code: "AUTHENTICATION",
      message: /^SASL authentication failed for 127\.0\.0\.1:\d+: Authentication failed/,
    },
    {
      name: "a CA that did not sign the broker's certificate",
      target: () => info.listeners.ssl,
      props: { "security.protocol": "ssl", "ssl.ca.location": info.certs.otherCa.certFile },
      code: "SSL",
      message:
        /^SSL handshake with 127\.0\.0\.1:\d+ failed: certificate verify failed: (unable to get local issuer certificate|unable to verify the first certificate)/,
    },
    {
      name: "a certificate for another host",
      target: () => info.listeners.wrongHost,
      props: { "security.protocol": "ssl", ...tlsTrust },
      code: "SSL",
      message:
        /^SSL handshake with 127\.0\.0\.1:\d+ failed: certificate verify failed: host name mismatch: .*127\.0\.0\.1/,
    },
    {
      name: "TLS against a PLAINTEXT listener",
      target: () => plaintext,
      props: { "security.protocol": "ssl", ...tlsTrust },
      code: "SSL",
      message:
        /^SSL handshake with 127\.0\.0\.1:\d+ failed: the broker closed the connection during the TLS handshake/,
    },
    {
      name: "no client certificate where one is required",
      target: () => info.listeners.mtls,
      props: { "security.protocol": "ssl", ...tlsTrust },
      code: "SSL",
      message: /^SSL handshake with 127\.0\.0\.1:\d+ failed: /,
    },
    {
      name: "SASL against a TLS listener without SASL",
      target: () => info.listeners.ssl,
      props: {
        "security.protocol": "sasl_ssl",
        ...tlsTrust,
        "sasl.mechanisms": "PLAIN",
        ...saslUsers.PLAIN,
      },
      code: "AUTHENTICATION",
      message: /^SASL authentication failed for 127\.0\.0\.1:\d+: .*check security.protocol/,
    },
  ];

  it.each(cases)(
    "$name: one clear error at once, backoff between attempts, records fail with the cause",
    async ({ target, props, code, message }) => {
      const r = await failingRun(target(), props);
      expect(r.errors.length).toBeGreaterThan(0);
      const first = r.errors[0] as KafkaClientError;
      expect(first).toBeInstanceOf(KafkaClientError);
      expect(first.code).toBe(code);
      expect(first.message).toMatch(message);
      expect(r.firstErrorMs).toBeLessThan(3000);
      // Every attempt fails the same way, logged at warn with the broker and the cause.
      const isAllDown = (e: Error) =>
        e instanceof KafkaClientError && e.code === "ALL_BROKERS_DOWN";
      const attempts = r.errors.filter((e) => !isAllDown(e));
      expect(new Set(attempts.map((e) => e.message.replace(/:\d+/, ":P"))).size).toBe(1);
      // Its only broker failing: ALL_BROKERS_DOWN once, naming that cause.
      const down = r.errors.filter(isAllDown);
      expect(down).toHaveLength(1);
      expect(down[0]!.message).toContain(first.message);
      const warned = r.logger.lines.find((l) => l.level === "warn");
      expect(warned?.fields?.error).toBe(first.message);
      // 4 s of retries with a 100 ms backoff doubling to 1 s: a handful of attempts, not a loop.
      expect(r.connections).toBeGreaterThanOrEqual(2);
      expect(r.connections).toBeLessThanOrEqual(12);
      // The record fails at message.timeout.ms, its report naming the cause.
      expect(r.outcome).toBeInstanceOf(KafkaClientError);
      expect((r.outcome as KafkaClientError).code).toBe("MSG_TIMED_OUT");
      expect((r.outcome as Error).message).toContain(`: last error ${first.message}`);
      expect(((r.outcome as Error).cause as Error).message).toMatch(message);
      expect(r.failedAfterMs).toBeGreaterThanOrEqual(3900);
      expect(r.failedAfterMs).toBeLessThan(8000);
    },
  );

  it("the host name check can be turned off (ssl.endpoint.identification.algorithm=none)", async () => {
    const topic = uniqueTopic("secure-nocheck");
    const producer = new Producer({
      "bootstrap.servers": info.listeners.wrongHost.bootstrap,
      "security.protocol": "ssl",
      ...tlsTrust,
      "ssl.endpoint.identification.algorithm": "none",
    });
    const report = await producer.send({ topic, value: "through" });
    await producer.close(5000);
    expect(report.offset).toBe(0);
    const back = await kafkajsConsume(plaintext, [topic], 1);
    expect(back.map((r) => text(r.value))).toEqual(["through"]);
  });

  it("the CLI stops at the first such error: exit 1 within seconds, one line naming it", async () => {
    const socket = `kafka:${info.listeners.saslPlaintext.bootstrap}/${uniqueTopic("secure-cli")}?${socketQuery(
      {
        "security.protocol": "sasl_plaintext",
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": info.users.scramSha512.username,
        "sasl.password": "wrong-password-Zq9",
      },
    )}`;
    const r = await run(["publish", socket, "a", "b"], undefined, 30_000);
    printed.push(r.stdout, r.stderr);
    // With the debug log on, every line the producer logs goes to stderr: still no secret.
    const debug = await run(["publish", socket, "a"], undefined, 30_000, {
      EVENT_KAFKA_DEBUG: "1",
    });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/DEBUG/);
    printed.push(debug.stdout, debug.stderr);
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(10_000);
    // Stopped at the first security failure: the records got no outcome from Kafka.
    expect(summary(r.stdout)).toMatchObject({ delivered: 0, failed: 0, undelivered: 2 });
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^event-kafka: SASL authentication failed for 127\.0\.0\.1:\d+: Authentication failed.* \(2 record\(s\) not delivered\)\n$/,
    );
    const tls = await run(
      [
        "publish",
        `kafka:${info.listeners.ssl.bootstrap}/t?g.security.protocol=ssl&g.ssl.ca.location=${encodeURIComponent(info.certs.otherCa.certFile)}`,
        "x",
      ],
      undefined,
      30_000,
    );
    expect(tls.code).toBe(1);
    expect(tls.stderr).toMatch(/certificate verify failed/);
    printed.push(tls.stdout, tls.stderr);
  });
});

describe("SASL sessions the broker limits (KIP-368)", () => {
  it(`re-authenticates before ${info.reauthMs} ms sessions end, nothing lost`, async () => {
    const topic = uniqueTopic("secure-reauth");
    const producer = new Producer({
      "bootstrap.servers": info.listeners.reauth.bootstrap,
      "security.protocol": "sasl_plaintext",
      "sasl.mechanisms": "SCRAM-SHA-256",
      ...saslUsers["SCRAM-SHA-256"],
      "linger.ms": 1,
    });
    const total = 4000;
    const failures: Error[] = [];
    const started = Date.now();
    let sent = 0;
    // About 3.5 session lifetimes of steady traffic.
    const runFor = info.reauthMs * 3.5;
    while (Date.now() - started < runFor || sent < total) {
      if (sent < total) {
        producer.produce({ topic, value: `r-${sent}` }, (err) => {
          if (err) failures.push(err);
        });
        sent++;
      }
      await new Promise((r) => setTimeout(r, runFor / total));
    }
    const undelivered = await producer.close(15_000);
    const stats = producer.stats();
    expect(failures).toEqual([]);
    expect(undelivered).toBe(0);
    expect(stats.delivered).toBe(total);
    expect(stats.reauthentications).toBeGreaterThanOrEqual(2);
    const back = await kafkajsConsume(plaintext, [topic], total);
    expect(back).toHaveLength(total);
    expect(new Set(back.map((r) => text(r.value))).size).toBe(total);
  });

  it("calls the OAUTHBEARER token provider again before its token expires", async () => {
    const topic = uniqueTopic("secure-oauth");
    const calls: number[] = [];
    const lifeSeconds = 4;
    const provider = (): OAuthBearerToken => {
      calls.push(Date.now());
      const { token, expiresAt } = unsecuredJwt({
        principal: info.users.oauthbearer.subject,
        lifeSeconds,
        nowMs: Date.now(),
      });
      return { value: token, expiresAt, principal: info.users.oauthbearer.subject };
    };
    const producer = new Producer(
      {
        "bootstrap.servers": info.listeners.reauth.bootstrap,
        "security.protocol": "sasl_plaintext",
        "sasl.mechanisms": "OAUTHBEARER",
        "linger.ms": 1,
      },
      { oauthBearerTokenProvider: provider },
    );
    const started = Date.now();
    let i = 0;
    while (Date.now() - started < lifeSeconds * 2500) {
      await producer.send({ topic, value: `o-${i++}` });
      await new Promise((r) => setTimeout(r, 50));
    }
    await producer.close(10_000);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    // The second token was asked for before the first one expired.
    expect(calls[1]! - calls[0]!).toBeLessThan(lifeSeconds * 1000);
    expect(producer.stats().reauthentications).toBeGreaterThanOrEqual(1);
    const back = await kafkajsConsume(plaintext, [topic], i);
    expect(new Set(back.map((r) => text(r.value))).size).toBe(i);
  });
});
