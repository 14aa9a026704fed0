/**
 * Test certificates made at test time with `node:crypto` only (no openssl, no keytool): a tiny
 * DER encoder and X.509 v3 certificates signed with `crypto.sign`. EC P-256 keys with
 * ecdsa-with-SHA256 signatures: Node and the Java broker both accept them, and generating a
 * whole set takes a few milliseconds.
 *
 * `generateTestCertificates(dir)` writes, as PEM:
 *   ca.pem / ca.key          CA (basicConstraints CA:TRUE critical, keyCertSign|cRLSign, SKI)
 *   broker.pem / broker.key  signed by the CA, SAN IP:127.0.0.1 + DNS:localhost, serverAuth
 *   broker.keystore.pem      broker.key + broker.pem in one file (a Kafka PEM keystore)
 *   wronghost.*              signed by the CA, SAN DNS:kafka.invalid only, serverAuth
 *   client.pem / client.key  signed by the CA, clientAuth
 *   client.encrypted.key     the same key, PKCS#8 encrypted (aes-256-cbc) with a passphrase
 *   other-ca.pem / .key      an unrelated CA, for wrong-CA tests
 *
 * Only Node built-ins are imported, so `cli.mjs` can transpile this file on its own.
 */
import {
  createHash,
  sign as cryptoSign,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";

// ---------------------------------------------------------------------------------------------
// DER

function derLength(len: number): Buffer {
  if (len < 0x80) return Buffer.from([len]);
  const bytes: number[] = [];
  for (let n = len; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV: `tag` is the whole identifier octet (class, constructed bit and number < 31). */
function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

function encodeOid(oid: string): Buffer {
  const arcs = oid.split(".").map((a) => {
    if (!/^\d+$/.test(a)) throw new Error(`bad OID ${oid}`);
    return BigInt(a);
  });
  if (arcs.length < 2) throw new Error(`bad OID ${oid}`);
  const out: number[] = [];
  const first = [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)];
  for (const arc of first) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) chunk.unshift(Number((v & 0x7fn) | 0x80n));
    out.push(...chunk);
  }
  return Buffer.from(out);
}

/** A two-digit-year UTCTime (RFC 5280: for years 1950..2049). */
function utcTime(date: Date): string {
  const y = date.getUTCFullYear();
  if (y < 1950 || y > 2049) throw new Error(`UTCTime cannot hold the year ${y}`);
  const p = (n: number): string => String(n).padStart(2, "0");
  return (
    `${p(y % 100)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}` +
    `${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}Z`
  );
}

/** The few DER types an X.509 certificate needs. Every function returns one complete TLV. */
export const der = {
  sequence: (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items)),
  /** SET OF: DER sorts the encoded elements. */
  set: (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat([...items].sort(Buffer.compare))),
  /** A non-negative INTEGER from a number, bigint or big-endian unsigned bytes. */
  integer(value: number | bigint | Buffer): Buffer {
    let bytes: Buffer;
    if (Buffer.isBuffer(value)) {
      bytes = value;
    } else {
      let v = BigInt(value);
      if (v < 0n) throw new Error("der.integer: negative values are not supported");
      const list: number[] = [];
      do {
        list.unshift(Number(v & 0xffn));
        v >>= 8n;
      } while (v > 0n);
      bytes = Buffer.from(list);
    }
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    bytes = bytes.subarray(start);
    if (bytes.length === 0) bytes = Buffer.from([0]);
    if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return tlv(0x02, bytes);
  },
  oid: (oid: string): Buffer => tlv(0x06, encodeOid(oid)),
  utf8String: (s: string): Buffer => tlv(0x0c, Buffer.from(s, "utf8")),
  ia5String: (s: string): Buffer => tlv(0x16, Buffer.from(s, "ascii")),
  utcTime: (date: Date): Buffer => tlv(0x17, Buffer.from(utcTime(date), "ascii")),
  /** BIT STRING of whole bytes (0 unused bits), e.g. a key or a signature. */
  bitString: (bytes: Buffer, unusedBits = 0): Buffer =>
    tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), bytes])),
  octetString: (bytes: Buffer): Buffer => tlv(0x04, bytes),
  boolean: (value: boolean): Buffer => tlv(0x01, Buffer.from([value ? 0xff : 0x00])),
  null: (): Buffer => Buffer.from([0x05, 0x00]),
  /** [n] EXPLICIT: wraps one complete TLV. */
  explicit: (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner),
  /** [n] IMPLICIT primitive: replaces the tag of a primitive type with its content bytes. */
  implicit: (n: number, content: Buffer): Buffer => tlv(0x80 | n, content),
};

/**
 * A named-bit BIT STRING (e.g. keyUsage) from bit numbers, bit 0 being the most significant bit
 * of the first byte; DER drops trailing zero bits and counts them as unused.
 */
function namedBits(bits: number[]): Buffer {
  const max = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(max / 8) + 1);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  return der.bitString(bytes, 7 - (max & 7));
}

/** Reads one TLV at `off`: returns the content's bounds and where the next TLV starts. */
function readTlv(buf: Buffer, off: number): { tag: number; start: number; end: number } {
  const tag = buf[off]!;
  let len = buf[off + 1]!;
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  return { tag, start, end: start + len };
}

/** The subjectPublicKey bits of a SubjectPublicKeyInfo (SEQUENCE { alg, BIT STRING }). */
function subjectPublicKeyBits(spki: Buffer): Buffer {
  const outer = readTlv(spki, 0);
  const alg = readTlv(spki, outer.start);
  const bits = readTlv(spki, alg.end);
  if (bits.tag !== 0x03) throw new Error("SubjectPublicKeyInfo: no BIT STRING");
  return spki.subarray(bits.start + 1, bits.end); // skip the unused-bits octet
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: "spki", format: "der" });
  return createHash("sha1").update(subjectPublicKeyBits(spki)).digest();
}

// ---------------------------------------------------------------------------------------------
// X.509

const OID = {
  ecPublicKey: "1.2.840.10045.2.1",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  rsaEncryption: "1.2.840.113549.1.1.1",
  sha256WithRsa: "1.2.840.113549.1.1.11",
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  subjectKeyIdentifier: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyIdentifier: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 };

/** Organization of every generated certificate's subject and issuer. */
const ORGANIZATION = "event-kafka test harness";

export interface CertificateSpec {
  /** Subject CN (O is always "event-kafka test harness"). */
  commonName: string;
  /** The subject's public key. */
  publicKey: KeyObject;
  /** Signer; omitted: self-signed with `selfPrivateKey`. */
  issuer?: { commonName: string; privateKey: KeyObject; publicKey: KeyObject };
  /** Private key of a self-signed certificate (required without `issuer`). */
  selfPrivateKey?: KeyObject;
  /** A CA certificate (basicConstraints CA:TRUE, keyCertSign|cRLSign). */
  isCa?: boolean;
  /** subjectAltName entries: IPv4/IPv6 literals become iPAddress, the rest dNSName. */
  altNames?: readonly string[];
  /** extendedKeyUsage. */
  extKeyUsage?: readonly ("serverAuth" | "clientAuth")[];
  notBefore: Date;
  notAfter: Date;
}

function name(commonName: string): Buffer {
  const rdn = (oid: string, value: string): Buffer =>
    der.set(der.sequence(der.oid(oid), der.utf8String(value)));
  return der.sequence(rdn(OID.organization, ORGANIZATION), rdn(OID.commonName, commonName));
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  // critical BOOLEAN DEFAULT FALSE: DER omits the default.
  return critical
    ? der.sequence(der.oid(oid), der.boolean(true), der.octetString(value))
    : der.sequence(der.oid(oid), der.octetString(value));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split(".").map(Number));
  // IPv6: expand "::" and write eight 16-bit groups.
  const [head, tailPart] = ip.includes("::") ? ip.split("::") : [ip, undefined];
  const h = head ? head.split(":") : [];
  const t = tailPart ? tailPart.split(":") : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return out;
}

function signatureAlgorithm(key: KeyObject): { algId: Buffer; hash: string } {
  if (key.asymmetricKeyType === "ec") {
    return { algId: der.sequence(der.oid(OID.ecdsaWithSha256)), hash: "sha256" };
  }
  if (key.asymmetricKeyType === "rsa") {
    return { algId: der.sequence(der.oid(OID.sha256WithRsa), der.null()), hash: "sha256" };
  }
  throw new Error(`unsupported signing key type ${key.asymmetricKeyType}`);
}

/** Builds and signs one X.509 v3 certificate; returns its DER bytes. */
export function createCertificateDer(spec: CertificateSpec): Buffer {
  const signer = spec.issuer?.privateKey ?? spec.selfPrivateKey;
  if (!signer) throw new Error("createCertificateDer: need issuer or selfPrivateKey");
  const issuerName = spec.issuer?.commonName ?? spec.commonName;
  const issuerPublicKey = spec.issuer?.publicKey ?? spec.publicKey;
  const { algId, hash } = signatureAlgorithm(signer);

  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // positive
  serial[0]! |= 0x01; // and 16 bytes long

  const keyUsage = spec.isCa
    ? [KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]
    : spec.publicKey.asymmetricKeyType === "rsa"
      ? [KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment]
      : [KEY_USAGE.digitalSignature];
  const extensions: Buffer[] = [
    extension(
      OID.basicConstraints,
      true,
      spec.isCa ? der.sequence(der.boolean(true)) : der.sequence(),
    ),
    extension(OID.keyUsage, true, namedBits(keyUsage)),
    extension(OID.subjectKeyIdentifier, false, der.octetString(keyIdentifier(spec.publicKey))),
  ];
  if (spec.issuer) {
    extensions.push(
      extension(
        OID.authorityKeyIdentifier,
        false,
        der.sequence(der.implicit(0, keyIdentifier(issuerPublicKey))),
      ),
    );
  }
  if (spec.extKeyUsage && spec.extKeyUsage.length > 0) {
    extensions.push(
      extension(
        OID.extKeyUsage,
        false,
        der.sequence(...spec.extKeyUsage.map((u) => der.oid(OID[u]))),
      ),
    );
  }
  if (spec.altNames && spec.altNames.length > 0) {
    const names = spec.altNames.map((n) =>
      isIP(n) ? der.implicit(7, ipBytes(n)) : der.implicit(2, Buffer.from(n, "ascii")),
    );
    // SAN is critical only when the subject is empty; ours has a CN.
    extensions.push(extension(OID.subjectAltName, false, der.sequence(...names)));
  }

  const tbs = der.sequence(
    der.explicit(0, der.integer(2)), // v3
    der.integer(serial),
    algId,
    name(issuerName),
    der.sequence(der.utcTime(spec.notBefore), der.utcTime(spec.notAfter)),
    name(spec.commonName),
    spec.publicKey.export({ type: "spki", format: "der" }),
    der.explicit(3, der.sequence(...extensions)),
  );
  const signature = cryptoSign(hash, tbs, signer); // ECDSA: DER-encoded (r, s)
  return der.sequence(tbs, algId, der.bitString(signature));
}

/** PEM armour for DER bytes ("CERTIFICATE", ...), 64 base64 characters a line. */
export function toPem(label: string, bytes: Buffer): string {
  const b64 = bytes.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

// ---------------------------------------------------------------------------------------------
// The harness's certificate set

/** Passphrase of `client.encrypted.key`. */
export const CLIENT_KEY_PASSPHRASE = "client-key-passphrase";
/** The host name in the SAN of the `wrongHost` broker certificate (and nothing else). */
export const WRONG_HOST_NAME = "kafka.invalid";

/** A certificate and its (unencrypted PKCS#8) private key, as files and as PEM text. */
export interface CertFiles {
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

/** A broker certificate, plus its key and certificate in one file (a Kafka PEM keystore). */
export interface BrokerCertFiles extends CertFiles {
  /** keyPem then certPem: `ssl.keystore.type=PEM` + `ssl.keystore.location`. */
  keystoreFile: string;
}

export interface ClientCertFiles extends CertFiles {
  /** The same private key as PKCS#8 "ENCRYPTED PRIVATE KEY" (PBES2, aes-256-cbc). */
  encryptedKeyFile: string;
  encryptedKeyPem: string;
  /** Passphrase of the encrypted key (CLIENT_KEY_PASSPHRASE). */
  passphrase: string;
}

export interface TestCertificates {
  dir: string;
  /** The CA every other certificate here is signed by (except `otherCa`). */
  ca: CertFiles;
  /** SAN IP:127.0.0.1, DNS:localhost; serverAuth. */
  broker: BrokerCertFiles;
  /** SAN DNS:kafka.invalid only; serverAuth. */
  wrongHost: BrokerCertFiles;
  /** CN "harness-client"; clientAuth. */
  client: ClientCertFiles;
  /** A second, unrelated CA (it signed nothing here). */
  otherCa: CertFiles;
  /** Validity of every certificate here, ISO 8601 (kept as strings: JSON-serialisable). */
  notBefore: string;
  notAfter: string;
}

export interface GenerateCertificatesOptions {
  /** SAN entries of the broker certificate (default 127.0.0.1 and localhost). */
  brokerAltNames?: readonly string[];
  /** Validity after now (default 30 days); it always starts an hour ago. */
  validDays?: number;
  /** Passphrase of the encrypted client key (default CLIENT_KEY_PASSPHRASE). */
  passphrase?: string;
}

function ecKeyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync("ec", { namedCurve: "P-256" });
}

function pkcs8Pem(key: KeyObject): string {
  return key.export({ type: "pkcs8", format: "pem" }).toString();
}

/**
 * Generates the harness's certificate set into `dir` (created if missing) and returns the file
 * paths and PEM texts. Valid from an hour ago for `validDays` (30) days.
 */
export function generateTestCertificates(
  dir: string,
  options: GenerateCertificatesOptions = {},
): TestCertificates {
  mkdirSync(dir, { recursive: true });
  const now = Date.now();
  const notBefore = new Date(Math.floor(now / 1000) * 1000 - 3_600_000);
  const notAfter = new Date(Math.floor(now / 1000) * 1000 + (options.validDays ?? 30) * 86_400_000);
  const passphrase = options.passphrase ?? CLIENT_KEY_PASSPHRASE;

  const write = (file: string, text: string): string => {
    const path = join(dir, file);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  /** A fresh key pair, its certificate from `spec`, and both written as `<base>.pem`/`.key`. */
  const makeCert = (
    base: string,
    spec: Omit<CertificateSpec, "publicKey" | "notBefore" | "notAfter" | "selfPrivateKey">,
  ) => {
    const keys = ecKeyPair();
    const certPem = toPem(
      "CERTIFICATE",
      createCertificateDer({
        ...spec,
        publicKey: keys.publicKey,
        ...(spec.issuer === undefined && { selfPrivateKey: keys.privateKey }),
        notBefore,
        notAfter,
      }),
    );
    const keyPem = pkcs8Pem(keys.privateKey);
    const files: CertFiles = {
      certFile: write(`${base}.pem`, certPem),
      keyFile: write(`${base}.key`, keyPem),
      certPem,
      keyPem,
    };
    return { files, keys };
  };
  const makeCa = (base: string, commonName: string) => ({
    ...makeCert(base, { commonName, isCa: true }),
    commonName,
  });
  const ca = makeCa("ca", "harness-ca");
  const otherCa = makeCa("other-ca", "harness-other-ca");
  const issuer = { commonName: ca.commonName, ...ca.keys };

  const makeLeaf = (
    base: string,
    commonName: string,
    altNames: readonly string[],
    extKeyUsage: "serverAuth" | "clientAuth",
  ) => makeCert(base, { commonName, issuer, altNames, extKeyUsage: [extKeyUsage] });
  const brokerLeaf = (base: string, commonName: string, altNames: readonly string[]) => {
    const { files } = makeLeaf(base, commonName, altNames, "serverAuth");
    const keystoreFile = write(`${base}.keystore.pem`, `${files.keyPem}${files.certPem}`);
    return { ...files, keystoreFile };
  };

  const broker = brokerLeaf(
    "broker",
    "localhost",
    options.brokerAltNames ?? ["127.0.0.1", "localhost"],
  );
  const wrongHost = brokerLeaf("wronghost", WRONG_HOST_NAME, [WRONG_HOST_NAME]);
  const clientLeaf = makeLeaf("client", "harness-client", [], "clientAuth");
  const encryptedKeyPem = clientLeaf.keys.privateKey
    .export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase })
    .toString();
  const client: ClientCertFiles = {
    ...clientLeaf.files,
    encryptedKeyFile: write("client.encrypted.key", encryptedKeyPem),
    encryptedKeyPem,
    passphrase,
  };
  return {
    dir,
    ca: ca.files,
    broker,
    wrongHost,
    client,
    otherCa: otherCa.files,
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
  };
}
