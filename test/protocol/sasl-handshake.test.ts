import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { Reader } from "../../src/protocol/reader.js";
import {
  decodeSaslHandshakeRequest,
  decodeSaslHandshakeResponse,
  encodeSaslHandshakeRequest,
  encodeSaslHandshakeResponse,
  SASL_HANDSHAKE_VERSIONS,
  type SaslHandshakeResponse,
  saslHandshakeRequestFrame,
} from "../../src/protocol/sasl-handshake.js";
import { Writer } from "../../src/protocol/writer.js";
import { ascii, body, bytes, onlyProtocolErrors, prng } from "../helpers/bytes.js";

// Hand-assembled from SaslHandshakeRequest.json / SaslHandshakeResponse.json:
// v0 and v1 share their fields and neither is flexible.
const REQUEST = bytes(
  [0x00, 0x05, ...ascii("PLAIN")], // mechanism: STRING "PLAIN"
);
const RESPONSE = bytes(
  [0x00, 0x00], // error_code 0
  [0x00, 0x00, 0x00, 0x02], // mechanisms: 2 entries
  [0x00, 0x05, ...ascii("PLAIN")], // "PLAIN"
  [0x00, 0x0d, ...ascii("SCRAM-SHA-256")], // "SCRAM-SHA-256"
);
const ERROR_RESPONSE = bytes(
  [0x00, 0x21], // error_code 33 UNSUPPORTED_SASL_MECHANISM
  [0x00, 0x00, 0x00, 0x01], // mechanisms: 1 entry
  [0x00, 0x0d, ...ascii("SCRAM-SHA-512")], // "SCRAM-SHA-512"
);

describe("SaslHandshake request", () => {
  it("v0 and v1: the mechanism as a STRING (hand-assembled)", () => {
    for (const v of [0, 1]) {
      expect(body((w) => encodeSaslHandshakeRequest(w, v, "PLAIN"))).toEqual(REQUEST);
      const r = new Reader(REQUEST);
      expect(decodeSaslHandshakeRequest(r, v)).toBe("PLAIN");
      expect(r.remaining).toBe(0);
    }
  });

  it("frames with header v1 (never flexible)", () => {
    const frame = Buffer.from(saslHandshakeRequestFrame(new Writer(), 1, 7, "c", "PLAIN"));
    expect(frame).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x12], // size 18
        [0x00, 0x11, 0x00, 0x01], // SaslHandshake v1
        [0x00, 0x00, 0x00, 0x07], // correlation id 7
        [0x00, 0x01, ...ascii("c")], // client id "c", no header tagged fields
        [...REQUEST],
      ),
    );
    const v0 = Buffer.from(saslHandshakeRequestFrame(new Writer(), 0, 7, "c", "PLAIN"));
    expect(v0[7]).toBe(0); // api version 0; otherwise identical
    expect(v0.subarray(8)).toEqual(frame.subarray(8));
  });

  it("round-trips mechanism names", () => {
    for (let v = SASL_HANDSHAKE_VERSIONS.min; v <= SASL_HANDSHAKE_VERSIONS.max; v++) {
      for (const m of ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "", "é"]) {
        const r = new Reader(body((w) => encodeSaslHandshakeRequest(w, v, m)));
        expect(decodeSaslHandshakeRequest(r, v)).toBe(m);
        expect(r.remaining).toBe(0);
      }
    }
  });

  it("throws UNSUPPORTED_VERSION outside 0-1", () => {
    for (const v of [-1, 2, 0.5]) {
      expect(() => encodeSaslHandshakeRequest(new Writer(), v, "PLAIN")).toThrow(
        expect.objectContaining({ code: "UNSUPPORTED_VERSION" }),
      );
      expect(() => decodeSaslHandshakeRequest(new Reader(REQUEST), v)).toThrow(ProtocolError);
      expect(() => decodeSaslHandshakeResponse(new Reader(RESPONSE), v)).toThrow(ProtocolError);
      expect(() =>
        encodeSaslHandshakeResponse(new Writer(), v, { errorCode: 0, mechanisms: [] }),
      ).toThrow(ProtocolError);
    }
  });
});

describe("SaslHandshake response", () => {
  it("decodes and re-encodes v0 and v1 (hand-assembled)", () => {
    const cases: [Buffer, SaslHandshakeResponse][] = [
      [RESPONSE, { errorCode: 0, mechanisms: ["PLAIN", "SCRAM-SHA-256"] }],
      [ERROR_RESPONSE, { errorCode: 33, mechanisms: ["SCRAM-SHA-512"] }],
    ];
    for (const v of [0, 1]) {
      for (const [buf, expected] of cases) {
        const r = new Reader(buf);
        expect(decodeSaslHandshakeResponse(r, v)).toEqual(expected);
        expect(r.remaining).toBe(0);
        expect(body((w) => encodeSaslHandshakeResponse(w, v, expected))).toEqual(buf);
      }
    }
  });

  it("round-trips an empty mechanism list", () => {
    const res = { errorCode: 34, mechanisms: [] };
    const buf = body((w) => encodeSaslHandshakeResponse(w, 1, res));
    expect(buf).toEqual(bytes([0x00, 0x22], [0x00, 0x00, 0x00, 0x00]));
    expect(decodeSaslHandshakeResponse(new Reader(buf), 1)).toEqual(res);
  });

  it("rejects a null mechanism list or name", () => {
    const nullArray = bytes([0x00, 0x00], [0xff, 0xff, 0xff, 0xff]);
    expect(() => decodeSaslHandshakeResponse(new Reader(nullArray), 1)).toThrow(
      expect.objectContaining({ code: "INVALID_LENGTH" }),
    );
    const nullName = bytes([0x00, 0x00], [0x00, 0x00, 0x00, 0x01], [0xff, 0xff]);
    expect(() => decodeSaslHandshakeResponse(new Reader(nullName), 1)).toThrow(ProtocolError);
    expect(() => decodeSaslHandshakeRequest(new Reader(bytes(0xff, 0xff)), 1)).toThrow(
      ProtocolError,
    );
  });
});

describe("SaslHandshake decoders under hostile input", () => {
  it("every truncation throws a ProtocolError", () => {
    for (const v of [0, 1]) {
      for (const buf of [RESPONSE, ERROR_RESPONSE]) {
        for (let n = 0; n < buf.length; n++) {
          expect(() => decodeSaslHandshakeResponse(new Reader(buf.subarray(0, n)), v)).toThrow(
            ProtocolError,
          );
        }
      }
      for (let n = 0; n < REQUEST.length; n++) {
        expect(() => decodeSaslHandshakeRequest(new Reader(REQUEST.subarray(0, n)), v)).toThrow(
          ProtocolError,
        );
      }
    }
  });

  it("random bytes and mutations throw only ProtocolError", () => {
    const next = prng(17);
    for (let i = 0; i < 2000; i++) {
      const len = next() % 40;
      const buf = Buffer.alloc(len);
      for (let j = 0; j < len; j++) buf[j] = next() & 0xff;
      for (const v of [0, 1]) {
        onlyProtocolErrors(() => decodeSaslHandshakeResponse(new Reader(buf), v));
        onlyProtocolErrors(() => decodeSaslHandshakeRequest(new Reader(buf), v));
      }
    }
    for (const buf of [REQUEST, RESPONSE, ERROR_RESPONSE]) {
      for (let i = 0; i < 500; i++) {
        const m = Buffer.from(buf);
        m[next() % m.length] = next() & 0xff;
        onlyProtocolErrors(() => decodeSaslHandshakeResponse(new Reader(m), 1));
        onlyProtocolErrors(() => decodeSaslHandshakeRequest(new Reader(m), 1));
      }
    }
  });
});
