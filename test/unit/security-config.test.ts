/**
 * TLS and SASL configuration without a broker: the librdkafka-named properties,
 * the checks that go across them, the files read at construction (each error
 * naming its property), and secrets that never show in what can be printed.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/client/logger.js";
import { resolveSecurity } from "../../src/client/security.js";
import { ConfigError, redactProperties, resolveConfig } from "../../src/config/index.js";
import { Producer } from "../../src/producer/producer.js";
import { parseSocket, redactSocketText, SocketError } from "../../src/socket/socket.js";
import { generateTestCertificates } from "../broker/certs.js";

const dir = mkdtempSync(join(tmpdir(), "security-config-"));
const certs = generateTestCertificates(join(dir, "certs"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = "s3cr3t-Pa55word";

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

function security(props: Record<string, string | boolean>) {
  return resolveSecurity(resolveConfig(props), { logger: silentLogger });
}

describe("security properties", () => {
  it("takes security.protocol and the mechanism in any letter case", () => {
    const c = resolveConfig({
      "security.protocol": "SASL_SSL",
      "sasl.mechanism": "scram-sha-512",
      "sasl.username": "u",
      "sasl.password": "p",
    });
    expect(c["security.protocol"]).toBe("sasl_ssl");
    expect(c["sasl.mechanisms"]).toBe("SCRAM-SHA-512");
    expect(resolveConfig({ "ssl.endpoint.identification.algorithm": "NONE" })).toMatchObject({
      "ssl.endpoint.identification.algorithm": "none",
    });
  });

  it("refuses an unknown protocol or mechanism, naming the choices", () => {
    expect(configError(() => resolveConfig({ "security.protocol": "tls" })).message).toBe(
      'Invalid value "tls" for configuration property "security.protocol": expected one of plaintext, ssl, sasl_plaintext, sasl_ssl',
    );
    expect(configError(() => resolveConfig({ "sasl.mechanisms": "DIGEST-MD5" })).property).toBe(
      "sasl.mechanisms",
    );
  });

  it("refuses SASL without a supported mechanism or without credentials", () => {
    const gssapi = configError(() => resolveConfig({ "security.protocol": "sasl_plaintext" }));
    expect(gssapi.message).toMatch(/GSSAPI \(Kerberos\) is not supported/);
    const noPassword = configError(() =>
      resolveConfig({
        "security.protocol": "sasl_plaintext",
        "sasl.mechanisms": "PLAIN",
        "sasl.username": "alice",
      }),
    );
    expect(noPassword.message).toBe('"sasl.password" must be set for sasl.mechanisms=PLAIN');
  });

  it("needs a certificate and its key together, and one source of each", () => {
    const lone = configError(() =>
      resolveConfig({ "security.protocol": "ssl", "ssl.certificate.location": "/x.pem" }),
    );
    expect(lone.property).toBe("ssl.key.location");
    const both = configError(() =>
      resolveConfig({
        "security.protocol": "ssl",
        "ssl.key.location": "/k.pem",
        "ssl.key.pem": certs.client.keyPem,
        "ssl.certificate.location": "/c.pem",
      }),
    );
    expect(both.message).toBe('set one of "ssl.key.location" and "ssl.key.pem", not both');
    expect(both.message).not.toContain("PRIVATE KEY");
  });

  it("OAUTHBEARER needs a provider or the unsecured JWT switched on", () => {
    const err = configError(() =>
      security({ "security.protocol": "sasl_plaintext", "sasl.mechanisms": "OAUTHBEARER" }),
    );
    expect(err.message).toMatch(/pass oauthBearerTokenProvider/);
    const bad = configError(() =>
      security({
        "security.protocol": "sasl_plaintext",
        "sasl.mechanisms": "OAUTHBEARER",
        "enable.sasl.oauthbearer.unsecure.jwt": true,
        "sasl.oauthbearer.config": `scope=x lifeSeconds=abc token=${SECRET}`,
      }),
    );
    expect(bad.property).toBe("sasl.oauthbearer.config");
    expect(bad.message).not.toContain(SECRET);
  });
});

describe("TLS files", () => {
  it("reads a CA file, a CA directory, a certificate and an encrypted key", () => {
    const caDir = join(dir, "ca-dir");
    generateTestCertificates(caDir);
    writeFileSync(join(caDir, "README"), "not a certificate");
    for (const ca of [certs.ca.certFile, caDir]) {
      const s = security({
        "security.protocol": "ssl",
        "ssl.ca.location": ca,
        "ssl.certificate.location": certs.client.certFile,
        "ssl.key.location": certs.client.encryptedKeyFile,
        "ssl.key.password": certs.client.passphrase,
      });
      expect(s.tls?.verify).toBe(true);
      expect(s.tls?.checkHostname).toBe(true);
      expect(s.sasl).toBeUndefined();
    }
  });

  it("names the property of a missing file, a bad PEM or a wrong passphrase", () => {
    const missing = configError(() =>
      security({ "security.protocol": "ssl", "ssl.ca.location": join(dir, "nope.pem") }),
    );
    expect(missing.message).toBe(`cannot read "ssl.ca.location" ${join(dir, "nope.pem")}: ENOENT`);
    const notPem = join(dir, "garbage.pem");
    writeFileSync(notPem, "garbage");
    expect(
      configError(() => security({ "security.protocol": "ssl", "ssl.ca.location": notPem }))
        .property,
    ).toBe("ssl.ca.location");
    const wrong = configError(() =>
      security({
        "security.protocol": "ssl",
        "ssl.certificate.pem": certs.client.certPem,
        "ssl.key.pem": certs.client.encryptedKeyPem,
        "ssl.key.password": SECRET,
      }),
    );
    expect(wrong.property).toBe("ssl.key.password");
    expect(wrong.message).not.toContain(SECRET);
    const none = configError(() =>
      security({
        "security.protocol": "ssl",
        "ssl.certificate.location": certs.client.certFile,
        "ssl.key.location": certs.client.encryptedKeyFile,
      }),
    );
    expect(none.message).toMatch(/wrong or missing "ssl.key.password"/);
    const mismatch = configError(() =>
      security({
        "security.protocol": "ssl",
        "ssl.certificate.location": certs.broker.certFile,
        "ssl.key.location": certs.client.keyFile,
      }),
    );
    expect(mismatch.message).toMatch(/does not match the private key/);
  });

  // Runtime portability (npm run test:runtimes): Deno's X509Certificate fails on a PEM whose
  // first block is a key, its createSecureContext accepts a certificate with another's key, and
  // Bun's words that error otherwise than OpenSSL. These hold on each runtime.
  it("takes a PEM holding the key before the certificate (a keystore PEM) as cert and CA", () => {
    const s = security({
      "security.protocol": "ssl",
      "ssl.ca.location": certs.broker.keystoreFile,
      "ssl.certificate.location": certs.broker.keystoreFile,
      "ssl.key.location": certs.broker.keystoreFile,
    });
    expect(s.tls?.context).toBeDefined();
  });

  it("refuses a certificate with another certificate's key, naming both properties", () => {
    const err = configError(() =>
      security({
        "security.protocol": "ssl",
        "ssl.certificate.pem": certs.client.certPem,
        "ssl.key.location": certs.broker.keyFile,
      }),
    );
    expect(err.message).toBe(
      'the client certificate in "ssl.certificate.pem" does not match the private key in "ssl.key.location"',
    );
    expect(err.property).toBe("ssl.key.location");
  });

  it("uses the system trust store when no CA is given", () => {
    const s = security({ "security.protocol": "ssl" });
    expect(s.tls?.context).toBeDefined();
  });
});

describe("secrets are never printed", () => {
  const props = {
    "bootstrap.servers": "127.0.0.1:9",
    "security.protocol": "sasl_ssl",
    "sasl.mechanisms": "PLAIN",
    "sasl.username": "alice",
    "sasl.password": SECRET,
    "ssl.key.pem": certs.client.encryptedKeyPem,
    "ssl.key.password": certs.client.passphrase,
    "ssl.certificate.pem": certs.client.certPem,
    "ssl.ca.location": certs.ca.certFile,
  } as const;

  it("redactProperties masks exactly the secret properties", () => {
    expect(redactProperties(props)).toEqual({
      ...props,
      "sasl.password": "***",
      "ssl.key.pem": "***",
      "ssl.key.password": "***",
    });
    expect(JSON.stringify(redactProperties(props))).not.toContain(SECRET);
  });

  it("the producer's printed forms and config hold no secret", async () => {
    const producer = new Producer(props);
    try {
      const printed = [
        inspect(producer, { depth: 10, showHidden: true }),
        JSON.stringify(producer.config),
        JSON.stringify(producer.stats()),
        String(producer),
      ].join("\n");
      expect(printed).not.toContain(SECRET);
      expect(printed).not.toContain(certs.client.passphrase);
      expect(printed).not.toContain("ENCRYPTED PRIVATE KEY");
      expect(producer.config["sasl.password"]).toBe("***");
    } finally {
      await producer.close(0);
    }
  });

  it("a typed value of the wrong type is refused without echoing it", () => {
    const err = configError(() => resolveConfig({ "sasl.password": 12345 }));
    expect(err.message).toBe(
      'Invalid value "***" for configuration property "sasl.password": expected a string',
    );
  });

  it("a socket's text, printed forms and errors mask secret values", () => {
    const text = `kafka:127.0.0.1:9093/t?g.security.protocol=sasl_plaintext&g.sasl.mechanisms=PLAIN&g.sasl.username=alice&g.sasl.password=${SECRET}`;
    const socket = parseSocket(text);
    expect(socket.raw).toBe(text);
    expect(socket.text).toBe(text.replace(SECRET, "***"));
    expect(inspect(socket, { depth: 5 })).not.toContain(SECRET);
    expect(JSON.stringify({ socket })).not.toContain(SECRET);
    const bad = `${text}&g.linger.ms=abc`;
    let err: unknown;
    try {
      parseSocket(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SocketError);
    expect((err as SocketError).message).not.toContain(SECRET);
    expect((err as SocketError).message).toContain("g.sasl.password=***");
    expect(inspect(err)).not.toContain(SECRET);
    expect(redactSocketText(`kafka:h/t?t.acks=1&g.ssl.key.password=${SECRET}&g.x`)).toBe(
      "kafka:h/t?t.acks=1&g.ssl.key.password=***&g.x",
    );
  });
});
