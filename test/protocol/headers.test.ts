/**
 * Header bytes assembled by hand from the protocol guide ("Headers"):
 *
 *   Request Header v1 => request_api_key INT16 request_api_version INT16
 *                        correlation_id INT32 client_id NULLABLE_STRING
 *   Request Header v2 => the same, then TAG_BUFFER. client_id stays an int16-length
 *                        NULLABLE_STRING (RequestHeader.json: flexibleVersions "none").
 *   Response Header v0 => correlation_id INT32
 *   Response Header v1 => correlation_id INT32 TAG_BUFFER
 */
import { describe, expect, it } from "vitest";
import { ApiKey, apiName } from "../../src/protocol/api-keys.js";
import {
  encodeRequestFrame,
  readResponseHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  writeRequestHeader,
} from "../../src/protocol/headers.js";
import { ProtocolError } from "../../src/protocol/protocol-error.js";
import { Reader } from "../../src/protocol/reader.js";
import { Writer } from "../../src/protocol/writer.js";

const bytes = (...parts: number[][]): Buffer => Buffer.from(parts.flat());
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

describe("header versions", () => {
  it("uses request header v2 exactly for flexible API versions", () => {
    expect(requestHeaderVersion(ApiKey.ApiVersions, 3)).toBe(2);
    expect(requestHeaderVersion(ApiKey.ApiVersions, 2)).toBe(1);
    expect(requestHeaderVersion(ApiKey.Produce, 9)).toBe(2);
    expect(requestHeaderVersion(ApiKey.Produce, 8)).toBe(1);
    expect(requestHeaderVersion(ApiKey.Metadata, 9)).toBe(2);
    expect(requestHeaderVersion(ApiKey.Metadata, 8)).toBe(1);
    expect(requestHeaderVersion(ApiKey.InitProducerId, 2)).toBe(2);
    expect(requestHeaderVersion(ApiKey.InitProducerId, 1)).toBe(1);
    expect(requestHeaderVersion(ApiKey.SaslAuthenticate, 2)).toBe(2);
    expect(requestHeaderVersion(ApiKey.SaslHandshake, 1)).toBe(1);
  });

  it("knows the transaction APIs, all first flexible at v3", () => {
    for (const key of [
      ApiKey.FindCoordinator,
      ApiKey.AddPartitionsToTxn,
      ApiKey.AddOffsetsToTxn,
      ApiKey.EndTxn,
      ApiKey.TxnOffsetCommit,
    ]) {
      expect(requestHeaderVersion(key, 2)).toBe(1);
      expect(requestHeaderVersion(key, 3)).toBe(2);
      expect(responseHeaderVersion(key, 2)).toBe(0);
      expect(responseHeaderVersion(key, 3)).toBe(1);
    }
    expect([10, 24, 25, 26, 28].map(apiName)).toEqual([
      "FindCoordinator",
      "AddPartitionsToTxn",
      "AddOffsetsToTxn",
      "EndTxn",
      "TxnOffsetCommit",
    ]);
  });

  it("answers ApiVersions with response header v0 even when flexible (KIP-511)", () => {
    expect(responseHeaderVersion(18, 3)).toBe(0);
    expect(responseHeaderVersion(18, 4)).toBe(0);
    expect(responseHeaderVersion(18, 0)).toBe(0);
  });

  it("uses response header v1 for the other flexible versions", () => {
    expect(responseHeaderVersion(ApiKey.Produce, 9)).toBe(1);
    expect(responseHeaderVersion(ApiKey.Produce, 8)).toBe(0);
    expect(responseHeaderVersion(ApiKey.Metadata, 12)).toBe(1);
    expect(responseHeaderVersion(ApiKey.Metadata, 8)).toBe(0);
    expect(responseHeaderVersion(ApiKey.InitProducerId, 2)).toBe(1);
    expect(responseHeaderVersion(ApiKey.SaslHandshake, 1)).toBe(0);
  });

  it("refuses an API key it does not know", () => {
    expect(() => requestHeaderVersion(1, 0)).toThrow(RangeError);
    expect(() => requestHeaderVersion(1, 0)).toThrow("unknown API key 1");
  });
});

describe("request headers", () => {
  it("writes header v1: key, version, correlation id, int16-length client id", () => {
    const w = new Writer();
    writeRequestHeader(w, { apiKey: 0, apiVersion: 8, correlationId: 7, clientId: "ab" }, 1);
    expect(w.finish()).toEqual(
      bytes(
        [0x00, 0x00], // request_api_key 0 (Produce)
        [0x00, 0x08], // request_api_version 8
        [0x00, 0x00, 0x00, 0x07], // correlation_id 7
        [0x00, 0x02, ...ascii("ab")], // client_id
      ),
    );
  });

  it("writes a null client id as length -1 in v1 and v2", () => {
    for (const version of [1, 2] as const) {
      const w = new Writer();
      writeRequestHeader(
        w,
        { apiKey: 3, apiVersion: 12, correlationId: -1, clientId: null },
        version,
      );
      expect(w.finish()).toEqual(
        bytes(
          [0x00, 0x03], // Metadata
          [0x00, 0x0c], // v12
          [0xff, 0xff, 0xff, 0xff], // correlation_id -1
          [0xff, 0xff], // client_id null
          version === 2 ? [0x00] : [], // empty TAG_BUFFER
        ),
      );
    }
  });

  it("keeps client_id an int16-length string in header v2, however long", () => {
    const id = "c".repeat(200);
    const w = new Writer();
    writeRequestHeader(w, { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: id }, 2);
    expect(w.finish()).toEqual(
      bytes([0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01], [0x00, 0xc8, ...ascii(id)], [0x00]),
    );
  });
});

describe("encodeRequestFrame", () => {
  it("frames ApiVersions v3: size, header v2, body", () => {
    const w = new Writer();
    let flexibleSeen: boolean | undefined;
    const frame = encodeRequestFrame(
      w,
      { apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: 0x01020304, clientId: "cli" },
      (body, flexible) => {
        flexibleSeen = flexible;
        body.compactString("ek").compactString("1.0").taggedFields();
      },
    );
    expect(flexibleSeen).toBe(true);
    expect(frame).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x16], // size: 14 header + 8 body bytes
        [0x00, 0x12], // request_api_key 18
        [0x00, 0x03], // request_api_version 3
        [0x01, 0x02, 0x03, 0x04], // correlation_id
        [0x00, 0x03, ...ascii("cli")], // client_id: NULLABLE_STRING, not compact
        [0x00], // header TAG_BUFFER
        [0x03, ...ascii("ek")], // client_software_name
        [0x04, ...ascii("1.0")], // client_software_version
        [0x00], // body TAG_BUFFER
      ),
    );
  });

  it("frames a non-flexible request with header v1", () => {
    const w = new Writer();
    const frame = encodeRequestFrame(
      w,
      { apiKey: ApiKey.Metadata, apiVersion: 1, correlationId: 5, clientId: "x" },
      (body, flexible) => {
        expect(flexible).toBe(false);
        body.int32(-1); // topics: null
      },
    );
    expect(frame).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x0f], // size 15
        [0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05],
        [0x00, 0x01, ...ascii("x")],
        [0xff, 0xff, 0xff, 0xff],
      ),
    );
  });

  it("returns only its own frame when the writer already holds bytes", () => {
    const w = new Writer(8);
    w.int32(0x7eadbeef);
    const frame = encodeRequestFrame(
      w,
      { apiKey: ApiKey.SaslHandshake, apiVersion: 1, correlationId: 2, clientId: null },
      (body) => body.string("PLAIN"),
    );
    expect(frame).toEqual(
      bytes(
        [0x00, 0x00, 0x00, 0x11], // size 17
        [0x00, 0x11, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0xff, 0xff],
        [0x00, 0x05, ...ascii("PLAIN")],
      ),
    );
    expect(w.finish().subarray(0, 4)).toEqual(Buffer.from([0x7e, 0xad, 0xbe, 0xef]));
    expect(w.pos).toBe(4 + frame.length);
  });
});

describe("response headers", () => {
  it("reads header v0: just the correlation id", () => {
    const r = new Reader(bytes([0x00, 0x00, 0x00, 0x2a], [0x00, 0x00]));
    expect(readResponseHeader(r, 0)).toEqual({ correlationId: 42 });
    expect(r.pos).toBe(4);
  });

  it("reads header v1 and skips its tagged fields", () => {
    const r = new Reader(
      bytes(
        [0xff, 0xff, 0xff, 0xfe], // correlation_id -2
        [0x02], // two tagged fields
        [0x00, 0x02, 0xab, 0xcd], // tag 0, 2 bytes
        [0x07, 0x00], // tag 7, 0 bytes
        [0x99], // first body byte
      ),
    );
    expect(readResponseHeader(r, 1)).toEqual({ correlationId: -2 });
    expect(r.uint8()).toBe(0x99);
  });

  it("throws ProtocolError for a truncated header", () => {
    for (const data of [
      [0x00, 0x00, 0x00],
      [0x00, 0x00, 0x00, 0x01],
      [0x00, 0x00, 0x00, 0x01, 0x01, 0x00],
    ]) {
      const version = data.length === 3 ? 0 : 1;
      expect(() => readResponseHeader(new Reader(Buffer.from(data)), version)).toThrow(
        ProtocolError,
      );
    }
  });
});
