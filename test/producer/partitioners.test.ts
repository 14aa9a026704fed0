import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { crc32 as zlibCrc32 } from "node:zlib";
import CRC32 from "crc-32";
import { describe, expect, it } from "vitest";
import { crc32, fnv1a, murmur2, toPositive } from "../../src/producer/hash.js";
import {
  checkPartition,
  createPartitioner,
  createTopicState,
  DEFAULT_PARTITIONER,
  DEFAULT_STICKY_LINGER_MS,
  PARTITIONER_NAMES,
  type PartitionerName,
  type PartitionKey,
} from "../../src/producer/partitioners.js";
import { JAVA_MURMUR2_VECTORS } from "../helpers/records.js";

const require = createRequire(import.meta.url);
// KafkaJS 2.2.4's Java-compatible murmur2 (a dev dependency), run as an independent peer.
const kafkajsMurmur2 = require("kafkajs/src/producer/partitioners/default/murmur2.js") as (
  key: Buffer | string,
) => number;

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Replays `values` as the random source, then fails loudly if asked for more. */
function scripted(...values: number[]): () => number {
  let i = 0;
  return () => {
    if (i >= values.length) throw new Error("random source exhausted");
    return values[i++];
  };
}

/** FNV-1a written from its definition with BigInt, then librdkafka's int32 abs. */
function fnv1aReference(data: Uint8Array): number {
  let h = 0x811c9dc5n;
  for (const b of data) h = ((h ^ BigInt(b)) * 0x01000193n) & 0xffffffffn;
  const signed = Number(BigInt.asIntN(32, h));
  return Math.abs(signed);
}

describe("murmur2", () => {
  // apache/kafka clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java, testMurmur2.
  const javaVectors = JAVA_MURMUR2_VECTORS;
  it.each(javaVectors)("matches Java's Utils.murmur2 for %j", (key, expected) => {
    expect(murmur2(utf8(key))).toBe(expected);
  });

  // librdkafka src/rdmurmur2.c unittest_murmur2 (expected values are int32_t).
  const unaligned = "PreAmbleWillBeRemoved,ThePrePartThatIs";
  const rdkafkaVectors: [string, number][] = [
    ["kafka", 0xd067cf64],
    ["giberish123456789", 0x8f552b0c],
    ["1234", 0x9fc97b14],
    ["234", 0xe7c009ca],
    ["34", 0x873930da],
    ["4", 0x5a4b5ca1],
    [unaligned, 0x78424f1c],
    [unaligned.slice(1), 0x4a62b377],
    [unaligned.slice(2), 0xe0e4e09e],
    [unaligned.slice(3), 0x62b8b43f],
    ["", 0x106e08d9],
  ];
  it.each(rdkafkaVectors)("matches librdkafka's rd_murmur2 for %j", (key, expected) => {
    expect(murmur2(utf8(key))).toBe(expected | 0);
  });

  it("hashes a byte range the same as a copy of it (any offset, any alignment)", () => {
    const text = utf8(`xyz${unaligned}`);
    for (let start = 0; start < 4; start++) {
      const copy = text.slice(start);
      expect(murmur2(text, start, text.length)).toBe(murmur2(copy));
      expect(murmur2(text.subarray(start))).toBe(murmur2(copy));
    }
  });

  it("agrees with KafkaJS 2.2.4 on 2000 random keys of 0..64 bytes", () => {
    for (let i = 0; i < 2000; i++) {
      const key = randomBytes(i % 65);
      expect(murmur2(key)).toBe(kafkajsMurmur2(key));
    }
  });

  it("toPositive clears the sign bit like Java's Utils.toPositive", () => {
    expect(toPositive(-973932308)).toBe(-973932308 & 0x7fffffff);
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(479470107)).toBe(479470107);
  });
});

describe("fnv1a", () => {
  // librdkafka src/rdfnv1a.c unittest_fnv1a (Go hash/fnv New32a, then abs as int32).
  const unaligned = "PreAmbleWillBeRemoved,ThePrePartThatIs";
  const vectors: [string, number][] = [
    ["kafka", 0xd33c4e1],
    ["giberish123456789", 0x77a58295],
    ["1234", 0x23bdd03],
    ["234", 0x2dea3cd2],
    ["34", 0x740fa83e],
    ["4", 0x310ca263],
    [unaligned, 0x65cbd69c],
    [unaligned.slice(1), 0x6e49c79a],
    [unaligned.slice(2), 0x69eed356],
    [unaligned.slice(3), 0x6abcc023],
    ["", 0x7ee3623b],
  ];
  it.each(vectors)("matches librdkafka's rd_fnv1a for %j", (key, expected) => {
    expect(fnv1a(utf8(key))).toBe(expected);
  });

  it("matches a BigInt reference on 2000 random keys and is never negative", () => {
    for (let i = 0; i < 2000; i++) {
      const key = randomBytes(i % 40);
      const h = fnv1a(key);
      expect(h).toBe(fnv1aReference(key));
      expect(h).toBeGreaterThanOrEqual(0);
    }
  });
});

describe("crc32", () => {
  it('gives the CRC-32 check value 0xcbf43926 for "123456789"', () => {
    expect(crc32(utf8("123456789"))).toBe(0xcbf43926);
  });

  it("is 0 for no bytes (librdkafka's consistent partitioner sends NULL keys to partition 0)", () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it("matches node:zlib and the crc-32 package on 2000 random inputs, unsigned", () => {
    for (let i = 0; i < 2000; i++) {
      const data = randomBytes(i % 100);
      const c = crc32(data);
      expect(c).toBe(zlibCrc32(data));
      expect(c).toBe(CRC32.buf(data) >>> 0);
    }
  });

  it("hashes a byte range the same as a copy of it", () => {
    const data = randomBytes(50);
    expect(crc32(data, 7, 31)).toBe(zlibCrc32(data.subarray(7, 31)));
  });
});

describe("partitioners against librdkafka tests/0048-partitioner.c", () => {
  // Keys and expected partitions of do_test_partitioners (sticky linger 0);
  // null means "random" there, checked here only for range.
  const keys: PartitionKey[] = [
    null,
    "",
    "23456",
    "this is another string with more length to it perhaps",
    "hejsan",
  ];
  const expected: Record<Exclude<PartitionerName, "random">, (number | null)[]> = {
    consistent: [0x0, 0x0, 0xb1b451d7, 0xb0150df7, 0xd077037e],
    consistent_random: [null, null, 0xb1b451d7, 0xb0150df7, 0xd077037e],
    murmur2: [0x106e08d9, 0x106e08d9, 0x058d780f, 0x4f7703da, 0x5ec19395],
    murmur2_random: [null, 0x106e08d9, 0x058d780f, 0x4f7703da, 0x5ec19395],
    fnv1a: [0x7ee3623b, 0x7ee3623b, 0x27e6f469, 0x155e3e5f, 0x17b1e27a],
    fnv1a_random: [null, 0x7ee3623b, 0x27e6f469, 0x155e3e5f, 0x17b1e27a],
  };

  for (const partCnt of [7, 17]) {
    for (const [name, hashes] of Object.entries(expected)) {
      it(`${name} over ${partCnt} partitions`, () => {
        const p = createPartitioner(name as PartitionerName, { stickyLingerMs: 0 });
        const state = createTopicState();
        keys.forEach((key, i) => {
          const want = hashes[i];
          for (const k of typeof key === "string" ? [key, utf8(key)] : [key]) {
            const got = p.partition(k, partCnt, 0, state);
            if (want === null) {
              expect(got).toBeGreaterThanOrEqual(0);
              expect(got).toBeLessThan(partCnt);
            } else {
              expect(got).toBe(want % partCnt);
            }
          }
        });
      });
    }
  }

  it("random spreads records (not all on one partition) and stays in range", () => {
    const p = createPartitioner("random", { stickyLingerMs: 0 });
    const state = createTopicState();
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const got = p.partition(keys[i % keys.length], 17, 0, state);
      expect(got).toBeGreaterThanOrEqual(0);
      expect(got).toBeLessThan(17);
      seen.add(got);
    }
    expect(seen.size).toBeGreaterThan(1);
  });
});

describe("partitioners against librdkafka 2.0.2's own functions", () => {
  // Obtained by calling rd_kafka_msg_partitioner_{murmur2,consistent,fnv1a}
  // from librdkafka.so.1 (v2.0.2) through Python ctypes on random binary keys:
  // [key hex, partition count, murmur2, consistent, fnv1a].
  const cases: [string, number, number, number, number][] = [
    ["f22665a60c12", 100, 87, 62, 8],
    ["5d95", 3, 1, 2, 0],
    ["3609166f6b113d178d", 64, 60, 8, 54],
    ["d3", 100, 4, 31, 22],
    ["f239", 1000, 619, 792, 620],
    ["95f20f9395650cf9380b8e", 12, 9, 3, 6],
    ["6b248a1e92", 31, 22, 4, 18],
    ["d0ae2e1a9492a3305f", 3, 0, 0, 2],
  ];
  it.each(cases)("key %s over %i partitions", (hex, n, m, c, f) => {
    const key = Buffer.from(hex, "hex");
    const state = createTopicState();
    expect(createPartitioner("murmur2").partition(key, n, 0, state)).toBe(m);
    expect(createPartitioner("murmur2_random").partition(key, n, 0, state)).toBe(m);
    expect(createPartitioner("consistent").partition(key, n, 0, state)).toBe(c);
    expect(createPartitioner("consistent_random").partition(key, n, 0, state)).toBe(c);
    expect(createPartitioner("fnv1a").partition(key, n, 0, state)).toBe(f);
    expect(createPartitioner("fnv1a_random").partition(key, n, 0, state)).toBe(f);
  });
});

describe("keyed placement", () => {
  it("murmur2_random is Java's toPositive(murmur2(key)) % n, checked against KafkaJS", () => {
    const p = createPartitioner("murmur2_random");
    const state = createTopicState();
    for (let i = 0; i < 1000; i++) {
      const key = randomBytes(1 + (i % 32));
      const n = 1 + (i % 50);
      expect(p.partition(key, n, 0, state)).toBe((kafkajsMurmur2(key) & 0x7fffffff) % n);
    }
    expect(state.partition).toBe(-1);
  });

  it("hashes a string key as its UTF-8 bytes, reusing one scratch buffer", () => {
    const p = createPartitioner("murmur2");
    const state = createTopicState();
    const strings = [
      "abcdefghijkl",
      "ab",
      "héllo wörld",
      "日本語のキー",
      "emoji 🎉🚀 pair",
      "lone \ud800 surrogate",
      "x".repeat(300),
      "ü".repeat(5000),
      "long ✓".repeat(5000),
      "",
      "a",
    ];
    for (const n of [1, 3, 64, 1000]) {
      for (const s of strings) {
        const fromString = p.partition(s, n, 0, state);
        expect(fromString).toBe(p.partition(Buffer.from(s, "utf8"), n, 0, state));
        expect(fromString).toBe((kafkajsMurmur2(s) & 0x7fffffff) % n);
      }
    }
  });

  it("encodes random strings (all UTF-16 ranges, lone surrogates) exactly as Buffer.from does", () => {
    const p = createPartitioner("murmur2");
    const state = createTopicState();
    const ranges = [0x80, 0x800, 0xd800, 0xdc00, 0xe000, 0x10000];
    for (let i = 0; i < 3000; i++) {
      let s = "";
      const len = i % 24;
      for (let j = 0; j < len; j++) {
        s += String.fromCharCode(Math.floor(Math.random() * ranges[(i + j) % ranges.length]));
      }
      // 2^31 - 1 partitions: the partition is the whole positive hash.
      const whole = 0x7fffffff;
      expect(p.partition(s, whole, 0, state)).toBe(
        p.partition(Buffer.from(s, "utf8"), whole, 0, state),
      );
    }
  });

  it("consistent and fnv1a give the same partition for a string and its bytes", () => {
    for (const name of ["consistent", "fnv1a"] as const) {
      const p = createPartitioner(name);
      const state = createTopicState();
      for (const s of ["k", "key-12345", "ключ", "🎉"]) {
        expect(p.partition(s, 13, 0, state)).toBe(p.partition(utf8(s), 13, 0, state));
      }
    }
    expect(createPartitioner("consistent").partition("ключ", 13, 0, createTopicState())).toBe(
      zlibCrc32(Buffer.from("ключ")) % 13,
    );
  });

  it("keyed records never touch the sticky state nor the random source", () => {
    for (const name of PARTITIONER_NAMES) {
      if (name === "random") continue;
      const p = createPartitioner(name, { random: scripted() });
      const state = createTopicState();
      expect(p.partition("some-key", 6, 0, state)).toBeLessThan(6);
      expect(state).toEqual(createTopicState());
    }
  });

  it("the random partitioner places keyed records one by one, even when sticky is on", () => {
    const p = createPartitioner("random", { stickyLingerMs: 10, random: scripted(0.1, 0.9, 0.5) });
    const state = createTopicState();
    expect(p.partition("k", 10, 0, state)).toBe(1);
    expect(p.partition("k", 10, 0, state)).toBe(9);
    expect(p.partition(new Uint8Array(0), 10, 0, state)).toBe(5);
    expect(state.partition).toBe(-1);
  });
});

describe("keyless records", () => {
  it("defaults: murmur2_random, 10 ms sticky linger", () => {
    expect(DEFAULT_PARTITIONER).toBe("murmur2_random");
    expect(DEFAULT_STICKY_LINGER_MS).toBe(10);
    expect(createPartitioner("murmur2_random").stickyLingerMs).toBe(10);
  });

  it("stick to one partition until more than the linger has passed", () => {
    const p = createPartitioner("murmur2_random", {
      stickyLingerMs: 10,
      random: scripted(0.35, 0.75),
    });
    const state = createTopicState();
    expect(p.partition(null, 8, 1000, state)).toBe(2);
    expect(p.partition(undefined, 8, 1005, state)).toBe(2);
    expect(p.partition(null, 8, 1010, state)).toBe(2); // exactly the linger: not yet
    expect(p.partition(null, 8, 1011, state)).toBe(6);
    expect(state).toMatchObject({ partition: 6, pickedAtMs: 1011 });
    expect(p.partition(null, 8, 1021, state)).toBe(6);
  });

  it("the first keyless record picks at once, whatever the clock reads (even 0)", () => {
    const p = createPartitioner("fnv1a_random", { random: scripted(0.5) });
    expect(p.partition(null, 4, 0, createTopicState())).toBe(2);
  });

  it("linger 0 places each keyless record at random", () => {
    const p = createPartitioner("murmur2_random", {
      stickyLingerMs: 0,
      random: scripted(0.0, 0.5, 0.99),
    });
    const state = createTopicState();
    expect(p.partition(null, 4, 0, state)).toBe(0);
    expect(p.partition(null, 4, 0, state)).toBe(2);
    expect(p.partition(null, 4, 0, state)).toBe(3);
    expect(state.partition).toBe(-1);
  });

  it("each topic keeps its own sticky partition", () => {
    const p = createPartitioner("murmur2_random", { random: scripted(0.1, 0.9) });
    const a = createTopicState();
    const b = createTopicState();
    expect(p.partition(null, 10, 0, a)).toBe(1);
    expect(p.partition(null, 10, 0, b)).toBe(9);
    expect(p.partition(null, 10, 5, a)).toBe(1);
    expect(p.partition(null, 10, 5, b)).toBe(9);
  });

  it("re-picks at once when the sticky partition loses its leader or disappears", () => {
    const down = new Set<number>();
    const state = createTopicState((q) => !down.has(q));
    const p = createPartitioner("murmur2_random", { random: scripted(0.5, 0.1, 0.3) });
    expect(p.partition(null, 10, 0, state)).toBe(5);
    down.add(5);
    expect(p.partition(null, 10, 1, state)).toBe(1); // within the linger, yet re-picked
    expect(p.partition(null, 2, 2, state)).toBe(1);
    expect(p.partition(null, 1, 3, state)).toBe(0); // partition 1 gone: re-picked
  });

  it("a random pick draws a second time if the first has no leader, and keeps the second", () => {
    const state = createTopicState((q) => q !== 3 && q !== 1);
    const p = createPartitioner("murmur2_random", {
      stickyLingerMs: 0,
      random: scripted(0.3, 0.6, 0.3, 0.1),
    });
    expect(p.partition(null, 10, 0, state)).toBe(6); // 3 unavailable -> second draw 6
    expect(p.partition(null, 10, 0, state)).toBe(1); // second draw kept though unavailable
  });

  it("consistent_random treats an empty key as keyless; murmur2_random and fnv1a_random hash it", () => {
    const sticky = createPartitioner("consistent_random", { random: scripted(0.9) });
    const state = createTopicState();
    expect(sticky.partition("", 10, 0, state)).toBe(9);
    expect(sticky.partition(new Uint8Array(0), 10, 1, state)).toBe(9);
    expect(sticky.partition(null, 10, 2, state)).toBe(9);

    for (const [name, emptyHash] of [
      ["murmur2_random", 0x106e08d9],
      ["fnv1a_random", 0x7ee3623b],
    ] as const) {
      const p = createPartitioner(name, { random: scripted() });
      const s = createTopicState();
      expect(p.partition("", 10, 0, s)).toBe(emptyHash % 10);
      expect(p.partition(new Uint8Array(0), 10, 0, s)).toBe(emptyHash % 10);
      expect(s.partition).toBe(-1);
    }
  });

  it("consistent, murmur2 and fnv1a hash a NULL key as empty and never stick", () => {
    for (const [name, emptyHash] of [
      ["consistent", 0],
      ["murmur2", 0x106e08d9],
      ["fnv1a", 0x7ee3623b],
    ] as const) {
      const p = createPartitioner(name, { stickyLingerMs: 10, random: scripted() });
      const state = createTopicState();
      for (const n of [1, 7, 17]) {
        expect(p.partition(null, n, 0, state)).toBe(emptyHash % n);
        expect(p.partition(undefined, n, 50, state)).toBe(emptyHash % n);
      }
      expect(state.partition).toBe(-1);
    }
  });

  it("the random partitioner sticks keyless records like the others", () => {
    const p = createPartitioner("random", { random: scripted(0.2, 0.7) });
    const state = createTopicState();
    expect(p.partition(null, 10, 0, state)).toBe(2);
    expect(p.partition(null, 10, 10, state)).toBe(2);
    expect(p.partition(null, 10, 11, state)).toBe(7);
  });

  it("clamps an injected random source that strays outside [0, 1)", () => {
    const p = createPartitioner("random", {
      stickyLingerMs: 0,
      random: scripted(1, -0.5, Number.NaN),
    });
    const state = createTopicState();
    expect(p.partition(null, 5, 0, state)).toBe(4);
    expect(p.partition(null, 5, 0, state)).toBe(0);
    expect(p.partition(null, 5, 0, state)).toBe(0);
  });

  it("rejects a clock that is not a finite number for sticky placement", () => {
    const p = createPartitioner("murmur2_random");
    expect(() => p.partition(null, 3, Number.NaN, createTopicState())).toThrow(RangeError);
  });
});

describe("arguments", () => {
  it("PARTITIONER_NAMES lists the seven librdkafka partitioners", () => {
    expect([...PARTITIONER_NAMES].sort()).toEqual([
      "consistent",
      "consistent_random",
      "fnv1a",
      "fnv1a_random",
      "murmur2",
      "murmur2_random",
      "random",
    ]);
    for (const name of PARTITIONER_NAMES) expect(createPartitioner(name).name).toBe(name);
  });

  it("rejects an unknown partitioner and a sticky linger outside 0..900000", () => {
    expect(() => createPartitioner("crc32" as PartitionerName)).toThrow(
      /unknown partitioner "crc32"/,
    );
    expect(() => createPartitioner("murmur2", { stickyLingerMs: -1 })).toThrow(RangeError);
    expect(() => createPartitioner("murmur2", { stickyLingerMs: 900_001 })).toThrow(RangeError);
    expect(() => createPartitioner("murmur2", { stickyLingerMs: Number.NaN })).toThrow(RangeError);
    expect(createPartitioner("murmur2", { stickyLingerMs: 900_000 }).stickyLingerMs).toBe(900_000);
  });

  it("rejects a partition count that is not a positive integer", () => {
    const p = createPartitioner("murmur2_random");
    for (const n of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => p.partition("k", n, 0, createTopicState())).toThrow(RangeError);
      expect(() => p.partition(null, n, 0, createTopicState())).toThrow(RangeError);
    }
  });
});

describe("checkPartition", () => {
  it("accepts 0..count-1", () => {
    for (let p = 0; p < 5; p++) expect(() => checkPartition(p, 5, "t")).not.toThrow();
  });

  it("throws a RangeError naming the topic, the partition and the count", () => {
    for (const bad of [5, 6, -1, 1.5, Number.NaN]) {
      let error: unknown;
      try {
        checkPartition(bad, 5, "orders");
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(RangeError);
      const message = (error as RangeError).message;
      expect(message).toContain('"orders"');
      expect(message).toContain(`partition ${bad} `);
      expect(message).toContain("5 partition");
    }
    expect(() => checkPartition(0, 0, "empty")).toThrow(/"empty", which has 0 partition/);
  });
});

describe("built-in random source", () => {
  it("spreads keyless records evenly over the partitions", () => {
    const p = createPartitioner("murmur2_random", { stickyLingerMs: 0 });
    const state = createTopicState();
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[p.partition(null, 10, 0, state)]++;
    for (const c of counts) {
      expect(c).toBeGreaterThan(9_000);
      expect(c).toBeLessThan(11_000);
    }
  });

  it("is seeded per partitioner, so two producers do not pick in lockstep", () => {
    const a = createPartitioner("random", { stickyLingerMs: 0 });
    const b = createPartitioner("random", { stickyLingerMs: 0 });
    const state = createTopicState();
    const picks = (p: typeof a) =>
      Array.from({ length: 32 }, () => p.partition(null, 1000, 0, state));
    expect(picks(a)).not.toEqual(picks(b));
  });
});
