import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { Reader } from "../../src/protocol/reader.js";
import {
  decodeSaslAuthenticateRequest,
  decodeSaslAuthenticateResponse,
  encodeSaslAuthenticateRequest,
  encodeSaslAuthenticateResponse,
  SASL_AUTHENTICATE_VERSIONS,
  type SaslAuthenticateResponse,
  saslAuthenticateRequestFrame,
} from "../../src/protocol/sasl-authenticate.js";
import { Writer } from "../../src/protocol/writer.js";
import { ascii, body, bytes, onlyProtocolErrors, prng } from "../helpers/bytes.js";

/** A PLAIN token: \0u\0p. */
const TOKEN = bytes(0x00, 0x75, 0x00, 0x70);

// Hand-assembled from SaslAuthenticateRequest.json / SaslAuthenticateResponse.json.
const V0_REQUEST = bytes(
  [0x00, 0x00, 0x00, 0x04, ...TOKEN], // auth_bytes: BYTES, 4 bytes
);
const V2_REQUEST = bytes(
  [0x05, ...TOKEN], // auth_bytes: COMPACT_BYTES, length 4 + 1
  0x00, // tagged fields
);
const V0_RESPONSE = bytes(
  [0x00, 0x00], // error_code 0
  [0xff, 0xff], // error_message: NULLABLE_STRING null
  [0x00, 0x00, 0x00, 0x00], // auth_bytes: BYTES, empty
);
const V1_RESPONSE = bytes(
  [0x00, 0x00], // error_code 0
  [0xff, 0xff], // error_message null
  [0x00, 0x00, 0x00, 0x05, ...ascii("v=abc")], // auth_bytes "v=abc"
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x36, 0xee, 0x80], // session_lifetime_ms 3600000
);
const V1_ERROR_RESPONSE = bytes(
  [0x00, 0x3a], // error_code 58 SASL_AUTHENTICATION_FAILED
  [0x00, 0x0b, ...ascii("Auth failed")], // error_message "Auth failed"
  [0x00, 0x00, 0x00, 0x00], // auth_bytes empty
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], // session_lifetime_ms 0
);
const V2_RESPONSE = bytes(
  [0x00, 0x00], // error_code 0
  0x00, // error_message: COMPACT_NULLABLE_STRING null
  [0x03, ...ascii("ab")], // auth_bytes: COMPACT_BYTES "ab"
  [0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01], // session_lifetime_ms 2^32 + 1
  0x00, // tagged fields
);
const V2_ERROR_RESPONSE = bytes(
  [0x00, 0x3a], // error_code 58
  [0x0c, ...ascii("Auth failed")], // error_message: length 11 + 1
  0x01, // auth_bytes: empty
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], // session_lifetime_ms 0
  0x00, // tagged fields
);

const RESPONSES: [Buffer, number, SaslAuthenticateResponse][] = [
  [V0_RESPONSE, 0, { errorCode: 0, errorMessage: null, authBytes: bytes(), sessionLifetimeMs: 0 }],
  [
    V1_RESPONSE,
    1,
    {
      errorCode: 0,
      errorMessage: null,
      authBytes: bytes(ascii("v=abc")),
      sessionLifetimeMs: 3600000,
    },
  ],
  [
    V1_ERROR_RESPONSE,
    1,
    { errorCode: 58, errorMessage: "Auth failed", authBytes: bytes(), sessionLifetimeMs: 0 },
  ],
  [
    V2_RESPONSE,
    2,
    {
      errorCode: 0,
      errorMessage: null,
      authBytes: bytes(ascii("ab")),
      sessionLifetimeMs: 2 ** 32 + 1,
    },
  ],
  [
    V2_ERROR_RESPONSE,
    2,
    { errorCode: 58, errorMessage: "Auth failed", authBytes: bytes(), sessionLifetimeMs: 0 },
  ],
];

/** Compares with authBytes as plain bytes (decoded ones are Buffer views). */
function plain(res: SaslAuthenticateResponse) {
  return { ...res, authBytes: [...res.authBytes] };
}

describe("SaslAuthenticate request", () => {
  it("v0 and v1: BYTES (hand-assembled)", () => {
    for (const v of [0, 1]) {
      expect(body((w) => encodeSaslAuthenticateRequest(w, v, TOKEN))).toEqual(V0_REQUEST);
      const r = new Reader(V0_REQUEST);
      expect(Buffer.from(decodeSaslAuthenticateRequest(r, v))).toEqual(TOKEN);
      expect(r.remaining).toBe(0);
    }
  });

  it("v2 is flexible: COMPACT_BYTES and tagged fields (hand-assembled)", () => {
    expect(body((w) => encodeSaslAuthenticateRequest(w, 2, TOKEN))).toEqual(V2_REQUEST);
    const r = new Reader(V2_REQUEST);
    expect(Buffer.from(decodeSaslAuthenticateRequest(r, 2))).toEqual(TOKEN);
    expect(r.remaining).toBe(0);
  });

  it("frames with header v1 below v2 and header v2 at v2", () => {
    const v1 = Buffer.from(saslAuthenticateRequestFrame(new Writer(), 1, 9, null, TOKEN));
    expect(v1).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x12], // size 18
        [0x00, 0x24, 0x00, 0x01], // SaslAuthenticate v1
        [0x00, 0x00, 0x00, 0x09], // correlation id 9
        [0xff, 0xff], // client id null
        [...V0_REQUEST],
      ),
    );
    const v2 = Buffer.from(saslAuthenticateRequestFrame(new Writer(), 2, 9, null, TOKEN));
    expect(v2).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x11], // size 17
        [0x00, 0x24, 0x00, 0x02], // SaslAuthenticate v2
        [0x00, 0x00, 0x00, 0x09],
        [0xff, 0xff],
        0x00, // header tagged fields
        [...V2_REQUEST],
      ),
    );
  });

  it("round-trips every version, empty and large tokens", () => {
    const large = Buffer.alloc(70_000, 0xab); // a multi-byte varint length at v2
    for (let v = SASL_AUTHENTICATE_VERSIONS.min; v <= SASL_AUTHENTICATE_VERSIONS.max; v++) {
      for (const token of [bytes(), TOKEN, large]) {
        const r = new Reader(body((w) => encodeSaslAuthenticateRequest(w, v, token)));
        // equals(): toEqual walks large buffers byte by byte, slowly.
        expect(Buffer.from(decodeSaslAuthenticateRequest(r, v)).equals(token)).toBe(true);
        expect(r.remaining).toBe(0);
      }
    }
  });

  it("rejects null auth bytes", () => {
    expect(() =>
      decodeSaslAuthenticateRequest(new Reader(bytes(0xff, 0xff, 0xff, 0xff)), 0),
    ).toThrow(expect.objectContaining({ code: "INVALID_LENGTH" }));
    expect(() => decodeSaslAuthenticateRequest(new Reader(bytes(0x00, 0x00)), 2)).toThrow(
      ProtocolError,
    );
  });

  it("throws UNSUPPORTED_VERSION outside 0-2", () => {
    const res = RESPONSES[0]![2];
    for (const v of [-1, 3, 1.5]) {
      expect(() => encodeSaslAuthenticateRequest(new Writer(), v, TOKEN)).toThrow(
        expect.objectContaining({ code: "UNSUPPORTED_VERSION" }),
      );
      expect(() => decodeSaslAuthenticateRequest(new Reader(V0_REQUEST), v)).toThrow(ProtocolError);
      expect(() => decodeSaslAuthenticateResponse(new Reader(V0_RESPONSE), v)).toThrow(
        ProtocolError,
      );
      expect(() => encodeSaslAuthenticateResponse(new Writer(), v, res)).toThrow(ProtocolError);
    }
  });
});

describe("SaslAuthenticate response", () => {
  it("decodes and re-encodes v0, v1 and v2 (hand-assembled)", () => {
    for (const [buf, v, expected] of RESPONSES) {
      const r = new Reader(buf);
      expect(plain(decodeSaslAuthenticateResponse(r, v))).toEqual(plain(expected));
      expect(r.remaining).toBe(0);
      expect(body((w) => encodeSaslAuthenticateResponse(w, v, expected))).toEqual(buf);
    }
  });

  it("round-trips every version", () => {
    for (let v = SASL_AUTHENTICATE_VERSIONS.min; v <= SASL_AUTHENTICATE_VERSIONS.max; v++) {
      for (const errorMessage of [null, "", "bad credentials", "ключ"]) {
        const res: SaslAuthenticateResponse = {
          errorCode: v === 0 ? 0 : 58,
          errorMessage,
          authBytes: bytes(ascii("r=nonce,s=c2FsdA==,i=4096")),
          sessionLifetimeMs: v >= 1 ? 2 ** 53 - 1 : 0,
        };
        const r = new Reader(body((w) => encodeSaslAuthenticateResponse(w, v, res)));
        expect(plain(decodeSaslAuthenticateResponse(r, v))).toEqual(plain(res));
        expect(r.remaining).toBe(0);
      }
    }
  });

  it("refuses a session lifetime at v0, where the field does not exist", () => {
    const res = { ...RESPONSES[0]![2], sessionLifetimeMs: 1000 };
    expect(() => encodeSaslAuthenticateResponse(new Writer(), 0, res)).toThrow(RangeError);
    expect(() => encodeSaslAuthenticateResponse(new Writer(), 1, res)).not.toThrow();
  });

  it("skips unknown tagged fields (v2)", () => {
    const withTag = Buffer.concat([
      V2_RESPONSE.subarray(0, V2_RESPONSE.length - 1),
      bytes(0x01, 0x05, 0x01, 0xaa), // one field: tag 5, 1 byte
    ]);
    const r = new Reader(withTag);
    expect(plain(decodeSaslAuthenticateResponse(r, 2))).toEqual(plain(RESPONSES[3]![2]));
    expect(r.remaining).toBe(0);
  });

  it("rejects a session lifetime beyond 2^53 instead of rounding it", () => {
    const big = Buffer.from(V1_RESPONSE);
    big.writeBigInt64BE(2n ** 53n, big.length - 8);
    expect(() => decodeSaslAuthenticateResponse(new Reader(big), 1)).toThrow(
      expect.objectContaining({ code: "INVALID_VALUE" }),
    );
  });
});

describe("SaslAuthenticate decoders under hostile input", () => {
  const requests: [Buffer, number][] = [
    [V0_REQUEST, 0],
    [V2_REQUEST, 2],
  ];

  it("every truncation throws a ProtocolError", () => {
    for (const [buf, v] of RESPONSES) {
      for (let n = 0; n < buf.length; n++) {
        expect(() => decodeSaslAuthenticateResponse(new Reader(buf.subarray(0, n)), v)).toThrow(
          ProtocolError,
        );
      }
    }
    for (const [buf, v] of requests) {
      for (let n = 0; n < buf.length; n++) {
        expect(() => decodeSaslAuthenticateRequest(new Reader(buf.subarray(0, n)), v)).toThrow(
          ProtocolError,
        );
      }
    }
  });

  it("random bytes and mutations throw only ProtocolError", () => {
    const next = prng(36);
    for (let i = 0; i < 2000; i++) {
      const len = next() % 40;
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = next() & 0xff;
      for (let v = SASL_AUTHENTICATE_VERSIONS.min; v <= SASL_AUTHENTICATE_VERSIONS.max; v++) {
        onlyProtocolErrors(() => decodeSaslAuthenticateResponse(new Reader(buf), v));
        onlyProtocolErrors(() => decodeSaslAuthenticateRequest(new Reader(buf), v));
      }
    }
    const all: [Buffer, number][] = [
      ...RESPONSES.map(([b, v]): [Buffer, number] => [b, v]),
      ...requests,
    ];
    for (const [buf, v] of all) {
      for (let i = 0; i < 500; i++) {
        const m = Buffer.from(buf);
        m[next() % m.length] = next() & 0xff;
        onlyProtocolErrors(() => decodeSaslAuthenticateResponse(new Reader(m), v));
        onlyProtocolErrors(() => decodeSaslAuthenticateRequest(new Reader(m), v));
      }
    }
  });
});
