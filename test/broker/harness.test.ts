/**
 * Proves the real-broker harness itself: the shared broker from global-setup, a 3-node KRaft
 * cluster with a node killed and restarted, the Java reader (Apache Kafka's own consumer) and,
 * when kcat is installed, kcat as a reader and the librdkafka mock cluster, the test
 * certificates, and the secure broker's TLS and SASL listeners (checked with hand-built
 * requests, independent of the producer code).
 */
import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  pbkdf2Sync,
  randomBytes,
  X509Certificate,
} from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { peerTool } from "../helpers/peer-tools.js";
import { waitFor } from "../helpers/wait.js";
import { der, generateTestCertificates, type TestCertificates, WRONG_HOST_NAME } from "./certs.js";
import { headerPairs, javaConsume } from "./java-reader.js";
import {
  fetchBrokers,
  KAFKA_ERRORS,
  type KafkaCluster,
  type KafkaConnection,
  OAUTHBEARER_USER,
  openKafkaConnection,
  probeApiVersions,
  REAUTH_MS,
  SASL_MECHANISMS,
  SASL_PLAIN_USER,
  type SaslPasswordUser,
  SCRAM_SHA_256_USER,
  SCRAM_SHA_512_USER,
  type SecureListener,
  saslAuthenticate,
  saslHandshake,
  startCluster,
} from "./kafka.js";
import { kcatConsume, kcatConsumeBinary, type MockCluster, startMockCluster } from "./kcat.js";
import { secureBroker } from "./secure.js";

const kcat = peerTool("kcat");
const API_PRODUCE = 0;
const API_METADATA = 3;

function parseBootstrap(bootstrap: string): { host: string; port: number }[] {
  return bootstrap.split(",").map((hp) => {
    const i = hp.lastIndexOf(":");
    return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
  });
}

describe("shared broker from global-setup", () => {
  const bootstrap = inject("kafkaBootstrap");
  const description = inject("kafkaDescription");

  it("is described with its version or origin", () => {
    expect(bootstrap).toMatch(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/);
    if (process.env.KAFKA_BOOTSTRAP) {
      expect(description).toContain("external cluster at");
    } else {
      expect(description).toMatch(/(Apache Kafka \d+\.\d+\.\d+|Kafka image \S+) at \S+:\d+/);
    }
  });

  it("answers ApiVersions and Metadata", async () => {
    const { host, port } = parseBootstrap(bootstrap)[0]!;
    const ranges = await probeApiVersions(host, port);
    const produce = ranges.find((r) => r.apiKey === API_PRODUCE);
    const metadata = ranges.find((r) => r.apiKey === API_METADATA);
    expect(produce?.maxVersion).toBeGreaterThanOrEqual(3);
    expect(metadata?.maxVersion).toBeGreaterThanOrEqual(1);
    const brokers = await fetchBrokers(host, port);
    expect(brokers.length).toBeGreaterThanOrEqual(1);
    for (const b of brokers) expect(b.port).toBeGreaterThan(0);
  });

  const binary = Buffer.from([0xff, 0x00, 0x0a, 0x41, 0xfe]);

  /** A 2-partition topic with three records written by KafkaJS; returns its name. */
  async function kafkajsTopic(prefix: string): Promise<string> {
    const topic = `${prefix}-${Date.now()}`;
    const kafka = new Kafka({
      clientId: "harness-test",
      brokers: bootstrap.split(","),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic, numPartitions: 2, replicationFactor: 1 }],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await producer.send({
        topic,
        messages: [
          { partition: 0, key: "k1", value: "v1", headers: { h1: "x", h2: "y" } },
          { partition: 0, key: null, value: binary },
          { partition: 1, key: "k3", value: null },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    return topic;
  }

  it("round-trips records written by kafkajs through the Java reader", async () => {
    const topic = await kafkajsTopic("harness-java");
    const all = await javaConsume(bootstrap, topic);
    expect(all).toHaveLength(3);
    const first = all.find((r) => r.partition === 0 && r.offset === 0)!;
    expect(first.topic).toBe(topic);
    expect(first.key).toEqual(Buffer.from("k1"));
    expect(first.value).toEqual(Buffer.from("v1"));
    expect(headerPairs(first)).toEqual([
      ["h1", "x"],
      ["h2", "y"],
    ]);
    expect(first.timestampType).toBe("CreateTime");
    expect(first.timestamp).toBeGreaterThan(Date.now() - 600_000);
    const tombstone = all.find((r) => r.partition === 1)!;
    expect(tombstone).toMatchObject({ offset: 0, value: null, headers: [] });
    expect(tombstone.key).toEqual(Buffer.from("k3"));

    const onlyP0 = await javaConsume(bootstrap, topic, { partition: 0, count: 1 });
    expect(onlyP0.map((r) => [r.partition, r.offset])).toEqual([[0, 0]]);

    const p0 = await javaConsume(bootstrap, topic, { partition: 0 });
    expect(p0.map((r) => r.offset)).toEqual([0, 1]);
    expect(p0[1]!.key).toBeNull();
    expect(p0[1]!.value).toEqual(binary);
    expect(p0[1]!.headers).toEqual([]);
  });

  it("round-trips records written by kafkajs through kcat (JSON and byte-exact)", async (ctx) => {
    kcat.need(ctx);
    const topic = await kafkajsTopic("harness-kcat");
    const json = await kcatConsume(bootstrap, topic);
    expect(json).toHaveLength(3);
    const first = json.find((r) => r.partition === 0 && r.offset === 0)!;
    expect(first).toMatchObject({
      topic,
      key: "k1",
      payload: "v1",
      headers: ["h1", "x", "h2", "y"],
    });
    expect(first.tstype).toBe("create");
    expect(first.ts).toBeGreaterThan(Date.now() - 600_000);
    const tombstone = json.find((r) => r.partition === 1)!;
    expect(tombstone).toMatchObject({ offset: 0, key: "k3", payload: null, headers: undefined });

    const onlyP0 = await kcatConsume(bootstrap, topic, { partition: 0, count: 1 });
    expect(onlyP0.map((r) => [r.partition, r.offset])).toEqual([[0, 0]]);

    const bytes = await kcatConsumeBinary(bootstrap, topic, { partition: 0 });
    expect(bytes).toHaveLength(2);
    expect(bytes[0]!.key).toEqual(Buffer.from("k1"));
    expect(bytes[0]!.headers).toEqual([
      ["h1", "x"],
      ["h2", "y"],
    ]);
    expect(bytes[1]!.key).toBeNull();
    expect(bytes[1]!.payload).toEqual(binary);
  });
});

describe("3-node local KRaft cluster", () => {
  let cluster: KafkaCluster | undefined;
  let startMs = 0;

  beforeAll(async () => {
    const t0 = Date.now();
    cluster = await startCluster({ nodes: 3 });
    startMs = Date.now() - t0;
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  it("forms a cluster whose Metadata lists all 3 brokers", async () => {
    const c = cluster!;
    console.log(
      `3-node Apache Kafka ${c.version} cluster started in ${startMs} ms: ${c.bootstrap}`,
    );
    expect(c.nodes).toHaveLength(3);
    expect(c.bootstrap.split(",")).toHaveLength(3);
    expect(new Set(c.nodes.map((n) => n.port)).size).toBe(3);
    for (const node of c.nodes) {
      const brokers = await fetchBrokers("127.0.0.1", node.port);
      expect(brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
      expect(brokers.find((b) => b.nodeId === node.nodeId)?.port).toBe(node.port);
    }
  });

  it("brings a killed node back with start()", { timeout: 180_000 }, async () => {
    const c = cluster!;
    const victim = c.nodes[1]!;
    const oldPid = victim.pid;
    expect(oldPid).toBeTypeOf("number");
    await victim.kill();
    expect(victim.isRunning()).toBe(false);
    expect(() => process.kill(oldPid!, 0)).toThrow();
    await expect(probeApiVersions("127.0.0.1", victim.port, 2_000)).rejects.toThrow();

    // The survivors drop it from Metadata once its broker session expires.
    const survivor = c.nodes[0]!;
    const ids = await waitFor(
      "the killed broker to leave Metadata",
      async () => {
        const list = (await fetchBrokers("127.0.0.1", survivor.port)).map((b) => b.nodeId);
        return list.includes(victim.nodeId) ? undefined : list;
      },
      60_000,
    );
    expect(ids.sort()).toEqual([1, 3]);

    await victim.start();
    expect(victim.isRunning()).toBe(true);
    expect(victim.pid).not.toBe(oldPid);
    for (const node of c.nodes) {
      const brokers = await fetchBrokers("127.0.0.1", node.port);
      expect(brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
    }
  });
});

describe("librdkafka mock cluster (kcat)", () => {
  let mock: MockCluster | undefined;

  afterAll(async () => {
    await mock?.stop();
  });

  it("starts and gives 3 broker addresses that answer ApiVersions", async (ctx) => {
    kcat.need(ctx);
    mock = await startMockCluster(3);
    const addrs = parseBootstrap(mock.bootstrap);
    expect(addrs).toHaveLength(3);
    for (const { host, port } of addrs) {
      expect(host).toBe("127.0.0.1");
      const ranges = await probeApiVersions(host, port);
      expect(ranges.find((r) => r.apiKey === API_PRODUCE)?.maxVersion).toBeGreaterThanOrEqual(3);
    }
    await mock.stop();
    expect(() => process.kill(mock!.pid, 0)).toThrow();
    mock = undefined;
  });
});

describe("test certificates (certs.ts)", () => {
  let dir = "";
  let certs: TestCertificates;
  let genMs = 0;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "harness-certs-"));
    const t0 = performance.now();
    certs = generateTestCertificates(dir);
    genMs = performance.now() - t0;
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("encodes DER primitives", () => {
    expect(der.integer(0).toString("hex")).toBe("020100");
    expect(der.integer(0x80).toString("hex")).toBe("02020080");
    expect(der.integer(Buffer.from([0, 0, 0x7f])).toString("hex")).toBe("02017f");
    expect(der.oid("1.2.840.113549.1.1.11").toString("hex")).toBe("06092a864886f70d01010b");
    expect(der.oid("2.5.29.19").toString("hex")).toBe("0603551d13");
    expect(der.boolean(true).toString("hex")).toBe("0101ff");
    expect(der.utcTime(new Date(Date.UTC(2030, 0, 2, 3, 4, 5))).toString("ascii")).toContain(
      "300102030405Z",
    );
    const long = der.octetString(Buffer.alloc(300));
    expect(long.subarray(0, 4).toString("hex")).toBe("0482012c");
    // SET OF sorts its elements.
    expect(der.set(der.integer(2), der.integer(1)).toString("hex")).toBe("3106020101020102");
  });

  it("generates the whole set in well under a second", () => {
    console.log(`certificate set generated in ${genMs.toFixed(1)} ms`);
    expect(genMs).toBeLessThan(1_000);
    for (const c of [certs.ca, certs.broker, certs.wrongHost, certs.client, certs.otherCa]) {
      expect(readFileSync(c.certFile, "utf8")).toBe(c.certPem);
      expect(readFileSync(c.keyFile, "utf8")).toBe(c.keyPem);
    }
    expect(readFileSync(certs.broker.keystoreFile, "utf8")).toBe(
      `${certs.broker.keyPem}${certs.broker.certPem}`,
    );
  });

  it("parses, chains to the right CA, and carries the right names and flags", () => {
    const ca = new X509Certificate(certs.ca.certPem);
    const otherCa = new X509Certificate(certs.otherCa.certPem);
    const broker = new X509Certificate(certs.broker.certPem);
    const wrongHost = new X509Certificate(certs.wrongHost.certPem);
    const client = new X509Certificate(certs.client.certPem);

    expect(ca.ca).toBe(true);
    expect(otherCa.ca).toBe(true);
    for (const leaf of [broker, wrongHost, client]) {
      expect(leaf.ca).toBe(false);
      expect(leaf.verify(ca.publicKey)).toBe(true);
      expect(leaf.verify(otherCa.publicKey)).toBe(false);
      expect(leaf.checkIssued(ca)).toBe(true);
    }
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(otherCa.verify(otherCa.publicKey)).toBe(true);
    expect(ca.verify(otherCa.publicKey)).toBe(false);

    expect(broker.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(broker.checkHost("localhost")).toBe("localhost");
    expect(broker.subjectAltName).toBe("IP Address:127.0.0.1, DNS:localhost");
    expect(wrongHost.checkIP("127.0.0.1")).toBeUndefined();
    expect(wrongHost.checkHost("localhost")).toBeUndefined();
    expect(wrongHost.checkHost(WRONG_HOST_NAME)).toBe(WRONG_HOST_NAME);

    // X509Certificate.keyUsage is the extended key usage.
    expect(broker.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]); // serverAuth
    expect(client.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]); // clientAuth

    const now = Date.now();
    for (const c of [ca, broker, client]) {
      const from = Date.parse(c.validFrom);
      const to = Date.parse(c.validTo);
      expect(from).toBeLessThanOrEqual(now - 59 * 60_000);
      expect(from).toBeGreaterThan(now - 62 * 60_000);
      expect(to - now).toBeGreaterThan(29 * 86_400_000);
      expect(to - now).toBeLessThan(31 * 86_400_000);
    }
  });

  it("writes the client key plain and encrypted with the passphrase", () => {
    const spki = (pem: string | Buffer, passphrase?: string): string =>
      createPublicKey(createPrivateKey(passphrase ? { key: pem, passphrase } : pem))
        .export({ type: "spki", format: "der" })
        .toString("hex");
    const certKey = new X509Certificate(certs.client.certPem).publicKey
      .export({ type: "spki", format: "der" })
      .toString("hex");
    expect(certs.client.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(certs.client.encryptedKeyPem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    expect(spki(certs.client.keyPem)).toBe(certKey);
    expect(spki(readFileSync(certs.client.encryptedKeyFile), certs.client.passphrase)).toBe(
      certKey,
    );
    expect(() =>
      createPrivateKey({ key: certs.client.encryptedKeyPem, passphrase: "nope" }),
    ).toThrow();
  });
});

// ---------------------------------------------------------------------------------------------
// The secure broker

const HOST = "127.0.0.1";

type TlsOutcome =
  | { ok: true; authorized: boolean; protocol: string | null; peerCn: string | undefined }
  | { ok: false; code: string; message: string };

/**
 * Connects with node:tls and reports the handshake's outcome. After the handshake it waits
 * `settleMs` for the server to reject it anyway (TLS 1.3 servers check client certificates
 * after the client has finished its side).
 */
function tlsOutcome(port: number, options: ConnectionOptions, settleMs = 200): Promise<TlsOutcome> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: HOST, port, ...options });
    let settled = false;
    const done = (outcome: TlsOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(
      () => done({ ok: false, code: "TIMEOUT", message: "no TLS outcome in 10 s" }),
      10_000,
    );
    socket.on("error", (err: NodeJS.ErrnoException) =>
      done({ ok: false, code: err.code ?? "UNKNOWN", message: err.message }),
    );
    socket.on("close", () => done({ ok: false, code: "CLOSED", message: "closed by the server" }));
    socket.once("secureConnect", () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      const outcome: TlsOutcome = {
        ok: true,
        authorized: socket.authorized,
        protocol: socket.getProtocol(),
        peerCn: Array.isArray(cn) ? cn[0] : cn,
      };
      setTimeout(() => done(outcome), settleMs);
    });
  });
}

const enc = (s: string): Buffer => Buffer.from(s, "utf8");

/** Handshake + PLAIN authenticate on a fresh connection; returns the connection and result. */
async function plainLogin(
  listener: SecureListener,
  username: string,
  password: string,
  tls?: ConnectionOptions,
  version: 0 | 1 = 0,
) {
  const conn = await openKafkaConnection(HOST, listener.port, { tls });
  const hs = await saslHandshake(conn, "PLAIN");
  expect(hs.errorCode).toBe(0);
  const auth = await saslAuthenticate(conn, enc(`\0${username}\0${password}`), version);
  return { conn, hs, auth };
}

/** A raw RFC 5802 SCRAM exchange over SaslAuthenticate v1; returns the final result. */
async function scramLogin(conn: KafkaConnection, user: SaslPasswordUser) {
  const hash = user.mechanism === "SCRAM-SHA-512" ? "sha512" : "sha256";
  const hs = await saslHandshake(conn, user.mechanism);
  expect(hs.errorCode).toBe(0);
  const clientNonce = randomBytes(18).toString("base64");
  const firstBare = `n=${user.username},r=${clientNonce}`;
  const first = await saslAuthenticate(conn, enc(`n,,${firstBare}`), 1);
  if (first.errorCode !== 0) return first; // e.g. an unknown user
  const serverFirst = first.authBytes.toString("utf8");
  const attrs = new Map(serverFirst.split(",").map((kv) => [kv[0]!, kv.slice(2)]));
  const nonce = attrs.get("r")!;
  expect(nonce.startsWith(clientNonce)).toBe(true);
  const salted = pbkdf2Sync(
    user.password,
    Buffer.from(attrs.get("s")!, "base64"),
    Number(attrs.get("i")),
    hash === "sha512" ? 64 : 32,
    hash,
  );
  const hmac = (key: Buffer, data: string): Buffer => createHmac(hash, key).update(data).digest();
  const clientKey = hmac(salted, "Client Key");
  const storedKey = createHash(hash).update(clientKey).digest();
  const finalNoProof = `c=${Buffer.from("n,,").toString("base64")},r=${nonce}`;
  const authMessage = `${firstBare},${serverFirst},${finalNoProof}`;
  const signature = hmac(storedKey, authMessage);
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
  const final = await saslAuthenticate(
    conn,
    enc(`${finalNoProof},p=${proof.toString("base64")}`),
    1,
  );
  if (final.errorCode === 0) {
    const serverSignature = hmac(hmac(salted, "Server Key"), authMessage).toString("base64");
    expect(final.authBytes.toString("utf8")).toBe(`v=${serverSignature}`);
  }
  return final;
}

/** An unsecured OAUTHBEARER client-first message (RFC 7628) with a `{"alg":"none"}` JWS. */
function unsecuredBearer(subject: string, lifetimeSeconds = 3_600): Buffer {
  const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const jws = `${b64({ alg: "none" })}.${b64({ sub: subject, iat: now, exp: now + lifetimeSeconds })}.`;
  return enc(`n,,\x01auth=Bearer ${jws}\x01\x01`);
}

describe("secure broker from global-setup", () => {
  it("lists six listeners on distinct ports, each advertised at its own port", async () => {
    const s = secureBroker();
    const all = Object.values(s.listeners);
    expect(all.map((l) => `${l.name}:${l.protocol}`)).toEqual([
      "SSL:SSL",
      "MTLS:SSL",
      "WRONGHOST:SSL",
      "SASL_PLAINTEXT:SASL_PLAINTEXT",
      "SASL_SSL:SASL_SSL",
      "REAUTH:SASL_PLAINTEXT",
    ]);
    expect(new Set(all.map((l) => l.port)).size).toBe(6);
    for (const l of all) expect(l.bootstrap).toBe(`${HOST}:${l.port}`);
    expect(s.saslMechanisms).toEqual([...SASL_MECHANISMS]);
    expect(s.users.plain).toEqual(SASL_PLAIN_USER);
    expect(s.reauthMs).toBe(REAUTH_MS);
    // Metadata over the SSL listener advertises the SSL listener's port.
    const brokers = await fetchBrokers(HOST, s.listeners.ssl.port, 5_000, {
      ca: s.certs.ca.certPem,
    });
    expect(brokers.map((b) => [b.host, b.port])).toEqual([[HOST, s.listeners.ssl.port]]);
  });

  it("completes TLS with the CA on SSL and SASL_SSL, not with the unrelated CA", async () => {
    const s = secureBroker();
    for (const l of [s.listeners.ssl, s.listeners.saslSsl]) {
      const good = await tlsOutcome(l.port, { ca: s.certs.ca.certPem });
      expect(good).toMatchObject({ ok: true, authorized: true, peerCn: "localhost" });
      const byName = await tlsOutcome(l.port, {
        host: "localhost",
        servername: "localhost",
        ca: s.certs.ca.certPem,
      });
      expect(byName).toMatchObject({ ok: true, authorized: true });
      const wrongCa = await tlsOutcome(l.port, { ca: s.certs.otherCa.certPem });
      // The broker sends only its own certificate, so the client misses its issuer.
      expect(wrongCa).toMatchObject({ ok: false, code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
    }
  });

  it("answers ApiVersions v0 over SSL", async () => {
    const s = secureBroker();
    const ranges = await probeApiVersions(HOST, s.listeners.ssl.port, 5_000, {
      ca: s.certs.ca.certPem,
    });
    expect(ranges.find((r) => r.apiKey === 0)?.maxVersion).toBeGreaterThanOrEqual(3);
    expect(ranges.find((r) => r.apiKey === 17)).toBeDefined(); // SaslHandshake
  });

  it("MTLS needs a client certificate from the CA", async () => {
    const s = secureBroker();
    const port = s.listeners.mtls.port;
    const ca = s.certs.ca.certPem;
    const without = await tlsOutcome(port, { ca }, 5_000);
    expect(without.ok).toBe(false);
    // Java answers an empty client certificate with a bad_certificate alert (42).
    expect(without.ok ? "" : without.code).toMatch(
      /^ERR_SSL_(SSLV3_ALERT_BAD_CERTIFICATE|TLSV13_ALERT_CERTIFICATE_REQUIRED)$/,
    );
    const withCert = await tlsOutcome(
      port,
      { ca, cert: s.certs.client.certPem, key: s.certs.client.keyPem },
      500,
    );
    expect(withCert).toMatchObject({ ok: true, authorized: true });
    // The encrypted key with its passphrase, and a real request over the connection.
    const ranges = await probeApiVersions(HOST, port, 5_000, {
      ca,
      cert: s.certs.client.certPem,
      key: s.certs.client.encryptedKeyPem,
      passphrase: s.certs.client.passphrase,
    });
    expect(ranges.length).toBeGreaterThan(10);
    await expect(probeApiVersions(HOST, port, 5_000, { ca })).rejects.toThrow();
  });

  it("WRONGHOST fails host-name verification but chains to the CA", async () => {
    const s = secureBroker();
    const port = s.listeners.wrongHost.port;
    const ca = s.certs.ca.certPem;
    const byIp = await tlsOutcome(port, { ca });
    expect(byIp).toMatchObject({ ok: false, code: "ERR_TLS_CERT_ALTNAME_INVALID" });
    const byName = await tlsOutcome(port, { host: "localhost", servername: "localhost", ca });
    expect(byName).toMatchObject({ ok: false, code: "ERR_TLS_CERT_ALTNAME_INVALID" });
    const asInvalid = await tlsOutcome(port, { ca, servername: WRONG_HOST_NAME });
    expect(asInvalid).toMatchObject({ ok: true, authorized: true, peerCn: WRONG_HOST_NAME });
  });

  it("SASL_PLAINTEXT: SaslHandshake v1 lists all mechanisms, PLAIN authenticates", async () => {
    const s = secureBroker();
    const { conn, hs, auth } = await plainLogin(
      s.listeners.saslPlaintext,
      s.users.plain.username,
      s.users.plain.password,
    );
    try {
      expect([...hs.mechanisms].sort()).toEqual([...SASL_MECHANISMS].sort());
      expect(auth).toMatchObject({ errorCode: 0 });
      // Authenticated: the connection now serves ordinary requests.
      const api = await conn.request(18, 0, Buffer.alloc(0));
      expect(api.readInt16BE(4)).toBe(0);
    } finally {
      conn.close();
    }
  });

  it("SASL_PLAINTEXT: a wrong PLAIN password gets SASL_AUTHENTICATION_FAILED (58)", async () => {
    const s = secureBroker();
    const { conn, auth } = await plainLogin(
      s.listeners.saslPlaintext,
      s.users.plain.username,
      "not-the-password",
    );
    conn.close();
    expect(auth.errorCode).toBe(KAFKA_ERRORS.SASL_AUTHENTICATION_FAILED);
    expect(auth.errorCode).toBe(58);
    expect(auth.errorMessage).toMatch(/Invalid username or password/);
  });

  it("SASL_PLAINTEXT: an unknown mechanism gets UNSUPPORTED_SASL_MECHANISM (33)", async () => {
    const s = secureBroker();
    const conn = await openKafkaConnection(HOST, s.listeners.saslPlaintext.port);
    try {
      const hs = await saslHandshake(conn, "GSSAPI");
      expect(hs.errorCode).toBe(KAFKA_ERRORS.UNSUPPORTED_SASL_MECHANISM);
      expect([...hs.mechanisms].sort()).toEqual([...SASL_MECHANISMS].sort());
    } finally {
      conn.close();
    }
  });

  it("SASL_SSL: PLAIN over TLS", async () => {
    const s = secureBroker();
    const { conn, auth } = await plainLogin(
      s.listeners.saslSsl,
      s.users.plain.username,
      s.users.plain.password,
      { ca: s.certs.ca.certPem },
    );
    conn.close();
    expect(auth.errorCode).toBe(0);
  });

  it("SCRAM-SHA-256 and SCRAM-SHA-512 users exist (raw RFC 5802 exchange)", async () => {
    const s = secureBroker();
    const cases: [SecureListener, ConnectionOptions | undefined][] = [
      [s.listeners.saslPlaintext, undefined],
      [s.listeners.saslSsl, { ca: s.certs.ca.certPem }],
    ];
    for (const [listener, tls] of cases) {
      for (const user of [SCRAM_SHA_256_USER, SCRAM_SHA_512_USER]) {
        const conn = await openKafkaConnection(HOST, listener.port, { tls });
        try {
          expect(await scramLogin(conn, user)).toMatchObject({ errorCode: 0 });
        } finally {
          conn.close();
        }
      }
    }
    // A wrong password, and a user of the other mechanism, are refused.
    for (const user of [
      { ...SCRAM_SHA_256_USER, password: "wrong" },
      { ...SCRAM_SHA_512_USER, mechanism: "SCRAM-SHA-256" as const },
    ]) {
      const conn = await openKafkaConnection(HOST, s.listeners.saslPlaintext.port);
      try {
        const res = await scramLogin(conn, user);
        expect(res.errorCode).toBe(KAFKA_ERRORS.SASL_AUTHENTICATION_FAILED);
      } finally {
        conn.close();
      }
    }
  });

  it("OAUTHBEARER accepts an unsecured token; its session ends with the token", async () => {
    const s = secureBroker();
    const login = async (listener: SecureListener) => {
      const conn = await openKafkaConnection(HOST, listener.port);
      try {
        expect((await saslHandshake(conn, "OAUTHBEARER")).errorCode).toBe(0);
        return await saslAuthenticate(conn, unsecuredBearer(OAUTHBEARER_USER.subject, 3_600), 1);
      } finally {
        conn.close();
      }
    };
    // Even without connections.max.reauth.ms the broker limits the session to the token's exp.
    const plain = await login(s.listeners.saslPlaintext);
    expect(plain.errorCode).toBe(0);
    expect(plain.sessionLifetimeMs).toBeGreaterThan(3_500_000);
    expect(plain.sessionLifetimeMs).toBeLessThanOrEqual(3_600_000);
    const reauth = await login(s.listeners.reauth);
    expect(reauth.errorCode).toBe(0);
    expect(reauth.sessionLifetimeMs).toBeGreaterThan(0);
    expect(reauth.sessionLifetimeMs).toBeLessThanOrEqual(s.reauthMs);
  });

  it("REAUTH grants sessions of at most reauthMs and drops an expired one", async () => {
    const s = secureBroker();
    // SASL_PLAINTEXT has no session limit; REAUTH does, for every mechanism.
    const plain = await plainLogin(
      s.listeners.saslPlaintext,
      s.users.plain.username,
      s.users.plain.password,
      undefined,
      1,
    );
    plain.conn.close();
    expect(plain.auth).toMatchObject({ errorCode: 0, sessionLifetimeMs: 0 });

    const conn256 = await openKafkaConnection(HOST, s.listeners.reauth.port);
    const scram = await scramLogin(conn256, SCRAM_SHA_256_USER);
    conn256.close();
    expect(scram.errorCode).toBe(0);
    expect(scram.sessionLifetimeMs).toBeGreaterThan(0);
    expect(scram.sessionLifetimeMs).toBeLessThanOrEqual(s.reauthMs);

    const t0 = Date.now();
    const { conn, auth } = await plainLogin(
      s.listeners.reauth,
      s.users.plain.username,
      s.users.plain.password,
      undefined,
      1,
    );
    try {
      expect(auth.errorCode).toBe(0);
      expect(auth.sessionLifetimeMs).toBeGreaterThan(0);
      expect(auth.sessionLifetimeMs).toBeLessThanOrEqual(s.reauthMs);
      expect((await conn.request(18, 0, Buffer.alloc(0))).readInt16BE(4)).toBe(0);
      // Past the session's end, a request that is not a re-authentication closes it.
      await new Promise((r) => setTimeout(r, s.reauthMs - (Date.now() - t0) + 500));
      await expect(conn.request(18, 0, Buffer.alloc(0))).rejects.toThrow(/closed the connection/);
    } finally {
      conn.close();
    }
  });
});
