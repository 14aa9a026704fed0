/**
 * SASL mechanisms as pure state machines: SCRAM against the RFC 5802 and RFC
 * 7677 test vectors and a small server written here from the RFC formulas,
 * PLAIN and OAUTHBEARER bytes, the unsecured JWT and sasl.oauthbearer.config.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  oauthBearerSession,
  parseOAuthBearerConfig,
  plainSession,
  SASL_MECHANISMS,
  SaslMechanismError,
  type SaslSession,
  scramSaslName,
  scramSession,
  unsecuredJwt,
} from "../../src/client/sasl/index.js";

const text = (b: Uint8Array | null): string | null =>
  b === null ? null : Buffer.from(b).toString("utf8");
const utf8 = (s: string): Buffer => Buffer.from(s, "utf8");

/** The thrown SaslMechanismError, for checking its message. */
function caught(fn: () => unknown): SaslMechanismError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SaslMechanismError);
    return e as SaslMechanismError;
  }
  throw new Error("expected a SaslMechanismError");
}

describe("SASL mechanism list", () => {
  it("names the four implemented mechanisms", () => {
    expect(SASL_MECHANISMS).toEqual(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]);
    expect(new SaslMechanismError("x").name).toBe("SaslMechanismError");
  });
});

describe("SCRAM test vectors", () => {
  // RFC 5802 §5: SCRAM-SHA-1, user "user", password "pencil".
  it("reproduces the RFC 5802 SCRAM-SHA-1 exchange", () => {
    const s = scramSession("sha1", "user", "pencil", { nonce: "fyko+d2lbbFgONRv9qkxdawL" });
    expect(text(s.initial())).toBe("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    const clientFinal = s.next(
      utf8("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"),
    );
    expect(text(clientFinal)).toBe(
      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    );
    expect(s.next(utf8("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="))).toBeNull();
  });

  // RFC 7677 §3: SCRAM-SHA-256, same user and password.
  it("reproduces the RFC 7677 SCRAM-SHA-256 exchange", () => {
    const s = scramSession("sha256", "user", "pencil", { nonce: "rOprNGfwEbeRWgbNEkqO" });
    expect(text(s.initial())).toBe("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    const clientFinal = s.next(
      utf8(
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
      ),
    );
    expect(text(clientFinal)).toBe(
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," +
        "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    );
    expect(s.next(utf8("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))).toBeNull();
  });
});

describe("SCRAM rejects a bad server", () => {
  const NONCE = "rOprNGfwEbeRWgbNEkqO";
  const SERVER_FIRST =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
  const PASSWORD = "pencil";
  const PROOF = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  /** A session past server-first, as in RFC 7677. */
  const afterFirst = (): SaslSession => {
    const s = scramSession("sha256", "user", PASSWORD, { nonce: NONCE });
    s.next(utf8(SERVER_FIRST));
    return s;
  };
  const first = (serverFirst: string) => () =>
    scramSession("sha256", "user", PASSWORD, { nonce: NONCE }).next(utf8(serverFirst));
  /** Nothing secret in a message: not the password, not the proof. */
  const clean = (e: Error) => {
    expect(e.message).not.toContain(PASSWORD);
    expect(e.message).not.toContain(PROOF);
    return e;
  };

  it("a wrong server signature", () => {
    const s = afterFirst();
    const e = clean(caught(() => s.next(utf8(`v=${Buffer.alloc(32).toString("base64")}`))));
    expect(e.message).toMatch(/signature does not verify/);
    // A signature of the wrong length, and one that is not base64.
    expect(() => afterFirst().next(utf8("v=AAAA"))).toThrow(SaslMechanismError);
    expect(() => afterFirst().next(utf8("v=!!!!"))).toThrow(SaslMechanismError);
    // One bit of the RFC signature flipped ('G' to 'H').
    expect(() => afterFirst().next(utf8("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95H4="))).toThrow(
      /does not verify/,
    );
    // Same bytes, but a non-canonical encoding (unused low bits set in the last character).
    expect(() => afterFirst().next(utf8("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5="))).toThrow(
      SaslMechanismError,
    );
  });

  it("an e= server-final is a server error", () => {
    const e = clean(caught(() => afterFirst().next(utf8("e=invalid-proof"))));
    expect(e.message).toBe("SCRAM server error: invalid-proof");
    expect(() => afterFirst().next(utf8("x=1"))).toThrow(SaslMechanismError);
    expect(() => afterFirst().next(utf8(""))).toThrow(SaslMechanismError);
  });

  it("a server nonce that does not extend ours", () => {
    const other = SERVER_FIRST.replace("r=rOprNGfwEbeRWgbNEkqO", "r=XOprNGfwEbeRWgbNEkqO");
    expect(caught(first(other)).message).toMatch(/nonce/);
    // Exactly ours: the server added nothing.
    expect(() => first(`r=${NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`)()).toThrow(
      SaslMechanismError,
    );
  });

  it("an iteration count below 4096, or absurd, or not a number", () => {
    const withI = (i: string) => SERVER_FIRST.replace("i=4096", `i=${i}`);
    expect(caught(first(withI("4095"))).message).toMatch(/below the minimum 4096/);
    for (const i of ["0", "-1", "4096.5", "", "0x1000", "99999999999", "2000000"]) {
      expect(first(withI(i))).toThrow(SaslMechanismError);
    }
    expect(first(withI("16384"))).not.toThrow();
  });

  it("missing attributes, a mandatory extension, bad salt", () => {
    const bad = [
      "r=rOprNGfwEbeRWgbNEkqOabc,s=W22ZaJ0SNY7soEsUEjb6gQ==", // no i=
      "r=rOprNGfwEbeRWgbNEkqOabc,i=4096", // no s=
      "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", // no r=
      `m=ext,${SERVER_FIRST}`, // mandatory extension
      "r=rOprNGfwEbeRWgbNEkqOabc,s=,i=4096", // empty salt
      "r=rOprNGfwEbeRWgbNEkqOabc,s=not*base64,i=4096",
      "garbage",
      "",
    ];
    for (const m of bad) expect(first(m), m).toThrow(SaslMechanismError);
    expect(caught(first(`m=ext,${SERVER_FIRST}`)).message).toMatch(/mandatory extension/);
    // Invalid UTF-8.
    const s = scramSession("sha256", "user", PASSWORD, { nonce: NONCE });
    expect(() => s.next(Buffer.from([0x72, 0x3d, 0xff]))).toThrow(SaslMechanismError);
    // Optional extensions after i= are ignored (RFC 5802 §5.1).
    expect(first(`${SERVER_FIRST},x=whatever`)).not.toThrow();
  });

  it("a message after the exchange, or after a failed step", () => {
    const s = afterFirst();
    expect(s.next(utf8("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))).toBeNull();
    expect(() => s.next(utf8("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))).toThrow(
      /already complete/,
    );
    // A rejected server-first ends the session: a good one after it is refused too.
    const t = scramSession("sha256", "user", PASSWORD, { nonce: NONCE });
    expect(() => t.next(utf8("r=wrong,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"))).toThrow();
    expect(() => t.next(utf8(SERVER_FIRST))).toThrow(/already complete/);
  });
});

describe("SCRAM client-first", () => {
  it("escapes ',' and '=' in the username", () => {
    expect(scramSaslName("a,b=c")).toBe("a=2Cb=3Dc");
    expect(scramSaslName("=2C")).toBe("=3D2C");
    const s = scramSession("sha256", "a,b=c", "pw", { nonce: "abc" });
    expect(text(s.initial())).toBe("n,,n=a=2Cb=3Dc,r=abc");
  });

  it("sends the username as UTF-8", () => {
    const s = scramSession("sha512", "ключ", "pw", { nonce: "abc" });
    expect(Buffer.from(s.initial())).toEqual(utf8("n,,n=ключ,r=abc"));
  });

  it("makes a fresh 32-byte base64 nonce by default", () => {
    const nonce = (s: SaslSession) => /,r=(.*)$/.exec(text(s.initial())!)![1]!;
    const a = nonce(scramSession("sha256", "u", "p"));
    const b = nonce(scramSession("sha256", "u", "p"));
    expect(a).not.toBe(b);
    expect(Buffer.from(a, "base64")).toHaveLength(32);
    expect(a).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it("refuses a nonce option with a comma", () => {
    expect(() => scramSession("sha256", "u", "p", { nonce: "a,b" })).toThrow(RangeError);
    expect(() => scramSession("sha256", "u", "p", { nonce: "" })).toThrow(RangeError);
  });
});

/**
 * A SCRAM server from the RFC 5802 §3 formulas, independent of the client
 * code: it parses client messages by hand and checks the proof by recovering
 * ClientKey and comparing H(ClientKey) with StoredKey.
 */
function scramServer(
  hash: "sha256" | "sha512",
  users: Record<string, string>,
  iterations = 4096,
): { first(c: string): string; final(c: string): string } {
  const H = (b: Buffer) => createHash(hash).update(b).digest();
  const HMAC = (k: Buffer, s: string) => createHmac(hash, k).update(s).digest();
  const len = hash === "sha256" ? 32 : 64;
  let clientFirstBare = "";
  let serverFirst = "";
  let nonce = "";
  let storedKey = Buffer.alloc(0);
  let serverKey = Buffer.alloc(0);
  return {
    first(clientFirst) {
      expect(clientFirst.startsWith("n,,")).toBe(true);
      clientFirstBare = clientFirst.slice(3);
      const m = /^n=([^,]*),r=([^,]+)$/.exec(clientFirstBare);
      if (!m) throw new Error("bad client-first");
      const user = m[1]!.replaceAll("=2C", ",").replaceAll("=3D", "=");
      const password = users[user];
      if (password === undefined) throw new Error("unknown user");
      const salt = randomBytes(16);
      const salted = pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, len, hash);
      storedKey = H(HMAC(salted, "Client Key"));
      serverKey = HMAC(salted, "Server Key");
      nonce = m[2]! + randomBytes(18).toString("base64");
      serverFirst = `r=${nonce},s=${salt.toString("base64")},i=${iterations}`;
      return serverFirst;
    },
    final(clientFinal) {
      const m = /^(c=biws,r=([^,]+)),p=([A-Za-z0-9+/=]+)$/.exec(clientFinal);
      if (!m || m[2] !== nonce) return "e=other-error";
      const authMessage = `${clientFirstBare},${serverFirst},${m[1]}`;
      const proof = Buffer.from(m[3]!, "base64");
      const signature = HMAC(storedKey, authMessage);
      if (proof.length !== signature.length) return "e=invalid-proof";
      const clientKey = Buffer.from(proof.map((b, i) => b ^ signature[i]!));
      if (!timingSafeEqual(H(clientKey), storedKey)) return "e=invalid-proof";
      return `v=${HMAC(serverKey, authMessage).toString("base64")}`;
    },
  };
}

describe("SCRAM against an independent server", () => {
  const exchange = (s: SaslSession, server: ReturnType<typeof scramServer>) => {
    const clientFinal = s.next(utf8(server.first(text(s.initial())!)));
    return s.next(utf8(server.final(text(clientFinal)!)));
  };

  it("SCRAM-SHA-512 completes with the right password, escaped and non-ASCII names", () => {
    for (const [user, password] of [
      ["alice", "alice-secret"],
      ["a,b=c", "pässwörd ключ"],
    ] as const) {
      const server = scramServer("sha512", { [user]: password });
      expect(exchange(scramSession("sha512", user, password), server)).toBeNull();
    }
  });

  it("SCRAM-SHA-256 completes, at a higher iteration count too", () => {
    const server = scramServer("sha256", { bob: "b0b" }, 8192);
    expect(exchange(scramSession("sha256", "bob", "b0b"), server)).toBeNull();
  });

  it("a wrong password ends in the server's e=invalid-proof", () => {
    const server = scramServer("sha512", { alice: "right" });
    const e = caught(() => exchange(scramSession("sha512", "alice", "wrong"), server));
    expect(e.message).toBe("SCRAM server error: invalid-proof");
    expect(e.message).not.toContain("wrong");
  });

  it("a server with other credentials fails the client's verification", () => {
    // The server accepts any proof but signs with another password's keys.
    const real = scramServer("sha512", { alice: "other" });
    const s = scramSession("sha512", "alice", "mine");
    const clientFinal = text(s.next(utf8(real.first(text(s.initial())!))))!;
    const forged = `v=${Buffer.alloc(64, 7).toString("base64")}`;
    expect(real.final(clientFinal)).toBe("e=invalid-proof");
    expect(caught(() => s.next(utf8(forged))).message).toMatch(/does not verify/);
  });
});

describe("PLAIN", () => {
  it("sends NUL username NUL password (empty authzid)", () => {
    const s = plainSession("alice", "s3cret");
    expect(Buffer.from(s.initial())).toEqual(
      Buffer.from([0x00, ...utf8("alice"), 0x00, ...utf8("s3cret")]),
    );
    expect(s.next(new Uint8Array(0))).toBeNull();
  });

  it("encodes UTF-8 and refuses NUL or empty credentials", () => {
    expect(Buffer.from(plainSession("jürgen", "ü").initial())).toEqual(utf8("\0jürgen\0ü"));
    for (const [u, p] of [
      ["a\0b", "p"],
      ["u", "p\0"],
      ["", "p"],
      ["u", ""],
    ]) {
      const e = caught(() => plainSession(u!, p!));
      expect(e.message).not.toContain("p\0");
    }
  });
});

describe("OAUTHBEARER", () => {
  const RFC_TOKEN = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==";

  it("has the RFC 7628 §4.1 initial response shape", () => {
    // RFC 7628 §4.1, decoded: gs2 header, then 0x01-separated key=value pairs.
    const rfc = Buffer.from(
      "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyI" +
        "HZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB",
      "base64",
    ).toString("latin1");
    expect(rfc).toBe(
      "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01" +
        `auth=Bearer ${RFC_TOKEN}\x01\x01`,
    );
    const ours = text(
      oauthBearerSession(RFC_TOKEN, { host: "server.example.com", port: "143" }).initial(),
    )!;
    // Kafka sends no authzid and puts auth first; the pairs are the RFC's.
    expect(ours).toBe(
      `n,,\x01auth=Bearer ${RFC_TOKEN}\x01host=server.example.com\x01port=143\x01\x01`,
    );
    const pairs = (m: string) => m.split("\x01").slice(1, -2).sort();
    expect(pairs(ours)).toEqual(pairs(rfc));
    expect(text(oauthBearerSession("abc.def.").initial())).toBe(
      "n,,\x01auth=Bearer abc.def.\x01\x01",
    );
  });

  it("validates extension names and values, naming only the key", () => {
    for (const key of ["auth", "a1", "", "with space", "é"]) {
      expect(() => oauthBearerSession("t", { [key]: "v" }), key).toThrow(SaslMechanismError);
    }
    for (const value of ["", "a\x01b", "é", "nul\0"]) {
      const e = caught(() => oauthBearerSession("t", { traceId: value }));
      expect(e.message).toMatch(/traceId/);
      if (value !== "") expect(e.message).not.toContain(value);
    }
    // Space, tab, CR and LF are allowed by RFC 7628 §3.1.
    expect(() => oauthBearerSession("t", { a: "x y\tz\r\n" })).not.toThrow();
  });

  it("refuses a token that is not an RFC 6750 b64token, without echoing it", () => {
    for (const token of ["", "two words", "a\x01auth=Bearer b", "é", "=abc"]) {
      const e = caught(() => oauthBearerSession(token));
      if (token !== "") expect(e.message).not.toContain(token);
    }
  });

  it("completes on an empty server message", () => {
    const s = oauthBearerSession("tok");
    expect(s.next(new Uint8Array(0))).toBeNull();
    expect(s.serverError).toBeUndefined();
    expect(() => s.next(new Uint8Array(0))).toThrow(/already complete/);
  });

  it("answers a server error with 0x01 and exposes the JSON (RFC 7628 §3.2.2)", () => {
    const json = '{"status":"invalid_token","scope":"example_scope"}';
    const s = oauthBearerSession("tok");
    expect(s.serverError).toBeUndefined();
    expect([...s.next(utf8(json))!]).toEqual([0x01]);
    expect(s.serverError).toBe(json);
    // The server is to fail the login now; anything else is an error.
    expect(caught(() => s.next(new Uint8Array(0))).message).toContain("invalid_token");
  });
});

describe("unsecuredJwt", () => {
  const decode = (segment: string): unknown =>
    JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));

  it("is an alg none JWS with sub, iat, exp and scope", () => {
    const { token, expiresAt } = unsecuredJwt({
      principal: "alice",
      scope: ["read", "write"],
      lifeSeconds: 3600,
      nowMs: 1_700_000_000_123,
    });
    const [header, payload, signature, ...rest] = token.split(".");
    expect(rest).toEqual([]);
    expect(signature).toBe("");
    expect(header).toBe("eyJhbGciOiJub25lIn0"); // base64url('{"alg":"none"}')
    expect(decode(header!)).toEqual({ alg: "none" });
    expect(Buffer.from(payload!, "base64url").toString("utf8")).toBe(
      '{"sub":"alice","iat":1700000000,"exp":1700003600,"scope":["read","write"]}',
    );
    expect(expiresAt).toBe(1_700_003_600_000);
    expect(payload).not.toMatch(/=/); // no padding
  });

  it("leaves scope out when not given, and is usable as an OAUTHBEARER token", () => {
    const { token } = unsecuredJwt({ principal: "bob", lifeSeconds: 60, nowMs: 5_000 });
    expect(decode(token.split(".")[1]!)).toEqual({ sub: "bob", iat: 5, exp: 65 });
    expect(() => oauthBearerSession(token)).not.toThrow();
  });

  it("avoids '-' and '_' so that plain base64 decoders read it too (KAFKA-17089)", () => {
    const principal = "a>b?c~d\x7fé😀>>??~~";
    const { token } = unsecuredJwt({ principal, lifeSeconds: 1, nowMs: 0, scope: ["x>?~"] });
    expect(token).toMatch(/^[A-Za-z0-9]+\.[A-Za-z0-9]+\.$/);
    expect(decode(token.split(".")[1]!)).toEqual({
      sub: principal,
      iat: 0,
      exp: 1,
      scope: ["x>?~"],
    });
  });

  it("takes other claim names (librdkafka's principalClaimName, scopeClaimName)", () => {
    const { token } = unsecuredJwt({
      principal: "svc",
      scope: ["r"],
      lifeSeconds: 10,
      nowMs: 0,
      principalClaimName: "azp",
      scopeClaimName: "roles",
    });
    expect(decode(token.split(".")[1]!)).toEqual({ azp: "svc", iat: 0, exp: 10, roles: ["r"] });
  });

  it("refuses a blank principal, a bad lifetime or scope, clashing claim names", () => {
    const ok = { principal: "p", lifeSeconds: 10, nowMs: 0 };
    for (const bad of [
      { ...ok, principal: " " },
      { ...ok, lifeSeconds: 0 },
      { ...ok, lifeSeconds: 1.5 },
      { ...ok, nowMs: Number.NaN },
      { ...ok, scope: ["has space"] },
      { ...ok, scope: [""] },
      { ...ok, principalClaimName: "exp" },
      { ...ok, principalClaimName: "x", scopeClaimName: "x" },
    ]) {
      expect(() => unsecuredJwt(bad)).toThrow(RangeError);
    }
  });
});

describe("parseOAuthBearerConfig", () => {
  it("reads librdkafka's syntax", () => {
    expect(
      parseOAuthBearerConfig(
        "principal=admin scope=role1,role2 lifeSeconds=600 extension_traceId=123",
      ),
    ).toEqual({
      principal: "admin",
      scope: ["role1", "role2"],
      lifeSeconds: 600,
      extensions: { traceId: "123" },
    });
    expect(parseOAuthBearerConfig("principal=admin")).toEqual({
      principal: "admin",
      lifeSeconds: 3600,
      extensions: {},
    });
    expect(
      parseOAuthBearerConfig(
        "  principalClaimName=azp\tprincipal=a=b\n scopeClaimName=roles extension_x=y=z ",
      ),
    ).toEqual({
      principal: "a=b",
      principalClaimName: "azp",
      scopeClaimName: "roles",
      lifeSeconds: 3600,
      extensions: { x: "y=z" },
    });
  });

  it("names the bad entry's key and never echoes the text", () => {
    const SECRET = "s3cr3t-value";
    const cases: [string, RegExp][] = [
      ["", /principal=NAME is required/],
      [`scope=a extension_k=${SECRET}`, /principal=NAME is required/],
      ["principal=a lifeSeconds=abc", /lifeSeconds must be a positive integer/],
      ["principal=a lifeSeconds=0", /lifeSeconds/],
      [`principal=a bogus=${SECRET}`, /bogus is not a known key/],
      [`principal=a ${SECRET}`, /entry 2 is not key=value/],
      [`principal=a =${SECRET}`, /entry 2 is not key=value/],
      ["principal=a principal=b", /principal is given twice/],
      [`principal=a extension_auth=${SECRET}`, /extension_auth/],
      [`principal=a extension_=${SECRET}`, /extension_ needs a name/],
      [`principal=a extension_x1=${SECRET}`, /extension_x1/],
      [`principal=a extension_k=${SECRET}\x01`, /extension_k has an invalid value/],
      ["principal=", /principal has an empty value/],
      ["principal=a scope=,", /scope must be/],
    ];
    for (const [input, message] of cases) {
      let err: unknown;
      try {
        parseOAuthBearerConfig(input);
      } catch (e) {
        err = e;
      }
      expect(err, input).toBeInstanceOf(Error);
      expect((err as Error).message, input).toMatch(message);
      expect((err as Error).message).not.toContain(SECRET);
    }
  });

  it("feeds unsecuredJwt and oauthBearerSession", () => {
    const c = parseOAuthBearerConfig("principal=admin scope=s lifeSeconds=60 extension_a=b");
    const { token } = unsecuredJwt({ ...c, nowMs: 0 });
    expect(text(oauthBearerSession(token, c.extensions).initial())).toBe(
      `n,,\x01auth=Bearer ${token}\x01a=b\x01\x01`,
    );
  });
});
