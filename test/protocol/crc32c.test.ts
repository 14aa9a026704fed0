import CRC32C from "crc-32/crc32c.js";
import { describe, expect, it } from "vitest";
import { crc32c, crc32cRange } from "../../src/protocol/crc32c.js";
import { crc32cBitwise, prng as rng } from "../helpers/bytes.js";

describe("crc32c", () => {
  // RFC 3720 (iSCSI), appendix B.4 "CRC Examples".
  it("matches the RFC 3720 B.4 vectors", () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('gives the CRC-32C check value for "123456789"', () => {
    // The catalogue "check" value of CRC-32/ISCSI.
    expect(crc32c(Buffer.from("123456789", "ascii"))).toBe(0xe3069283);
  });

  it("matches the Java client's Crc32CTest value", () => {
    // apache/kafka clients/src/test/java/org/apache/kafka/common/utils/Crc32CTest.java
    expect(crc32c(Buffer.from("Some String", "ascii"))).toBe(608512271);
  });

  it("matches KafkaJS's crc32C spec values", () => {
    // tulios/kafkajs src/protocol/recordBatch/crc32C/index.spec.js
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(Buffer.from("\u0000"))).toBe(1383945041);
    // fixtures/crcPayload.json: attributes .. end of a record batch, checked
    // there against the Java client's CRC32C.
    const payload = Buffer.from(
      [
        "0000000000020000015f8ebb3a0c0000015f8ebb3a0cffffffffffffffff000000000000",
        "000000038201000000306b65792d38326366303933633734336264333833366531383e73",
        "6f6d652d76616c75652d3738656165636634623537356661336534303463020261026282",
        "01000002306b65792d30366533663539616264323765636635363161333e736f6d652d76",
        "616c75652d37663330393435333564623334636630333662310202610262820100000430",
        "6b65792d66333730323934636633396535363530313761363e736f6d652d76616c75652d",
        "31616239306237373932396466666334616163390202610262",
      ].join(""),
      "hex",
    );
    expect(payload.length).toBe(241);
    expect(crc32c(payload)).toBe(818496390);
  });

  it("is unsigned", () => {
    const v = crc32c(new Uint8Array(32)); // 0x8A9136AA
    expect(v).toBeGreaterThan(0x7fffffff);
    expect(v >>> 0).toBe(v);
  });

  it("agrees with a bitwise reference on random data, any length and alignment", () => {
    const next = rng(0xc0ffee);
    for (let n = 0; n < 300; n++) {
      const len = next() % 200;
      const data = Uint8Array.from({ length: len }, () => next() & 0xff);
      expect(crc32c(data)).toBe(crc32cBitwise(data));
    }
  });

  it("computes over [start, end) the same as over a copy of that range", () => {
    const next = rng(42);
    const buf = Buffer.from(Array.from({ length: 257 }, () => next() & 0xff));
    for (let t = 0; t < 200; t++) {
      const a = next() % buf.length;
      const b = a + (next() % (buf.length - a + 1));
      expect(crc32c(buf, a, b)).toBe(crc32cBitwise(Uint8Array.prototype.slice.call(buf, a, b)));
    }
    expect(crc32c(buf, 5)).toBe(crc32cBitwise(buf.subarray(5)));
    expect(crc32c(buf, 7, 7)).toBe(0);
  });

  it("agrees with the crc-32 package on lengths 0..5000 at any offset, both read paths", () => {
    const next = rng(0x1edc6f41);
    // One arena, so subarrays start at every byteOffset mod 4 of the same ArrayBuffer.
    const arena = Buffer.from(Array.from({ length: 12_000 }, () => next() & 0xff));
    for (let t = 0; t < 400; t++) {
      const len = t < 100 ? t : next() % 5001;
      const at = next() % (arena.length - len - 16);
      const view = arena.subarray(at, at + len + 16);
      const a = next() % 8;
      const b = Math.max(a, view.length - (next() % 8));
      const expected = CRC32C.buf(view.subarray(a, b), 0) >>> 0;
      expect(crc32c(view, a, b)).toBe(expected);
      expect(crc32cRange(view, a, b, false)).toBe(expected);
      // A fresh, unshared buffer too (a view cached for the arena must not be used).
      expect(crc32c(Uint8Array.prototype.slice.call(view, a, b))).toBe(expected);
    }
  });

  it("reads the words of a resizable ArrayBuffer after it grows or shrinks", () => {
    const next = rng(7);
    // Resizable ArrayBuffers (ES2024) are in Node 20's V8 but not in this project's TS lib.
    const Resizable = ArrayBuffer as unknown as new (
      n: number,
      o: { maxByteLength: number },
    ) => ArrayBuffer & { resize(n: number): void };
    const ab = new Resizable(256, { maxByteLength: 4096 });
    const fill = () => {
      const all = new Uint8Array(ab);
      for (let i = 0; i < all.length; i++) all[i] = next() & 0xff;
      return all;
    };
    let all = fill();
    expect(crc32c(all, 3)).toBe(crc32cBitwise(all.subarray(3)));
    ab.resize(4096);
    all = fill();
    expect(crc32c(all, 1)).toBe(crc32cBitwise(all.subarray(1)));
    ab.resize(128);
    all = fill();
    expect(crc32c(all, 2)).toBe(crc32cBitwise(all.subarray(2)));
  });

  it("rejects a range outside the buffer", () => {
    const buf = new Uint8Array(8);
    expect(() => crc32c(buf, -1)).toThrow(RangeError);
    expect(() => crc32c(buf, 0, 9)).toThrow(RangeError);
    expect(() => crc32c(buf, 5, 4)).toThrow(RangeError);
  });
});
