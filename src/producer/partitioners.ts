/**
 * Partitioners: which partition a record without an explicit one goes to.
 *
 * The names and their behaviour are librdkafka's `partitioner` property
 * (rdkafka_msg.c `rd_kafka_msg_partitioner*`, rdkafka_topic.c), key by key:
 *
 * | name              | NULL key            | empty key            | other key                    |
 * |-------------------|---------------------|----------------------|------------------------------|
 * | murmur2_random    | sticky / random     | murmur2 of no bytes  | (murmur2 & 0x7fffffff) % n   |
 * | murmur2           | murmur2 of no bytes | murmur2 of no bytes  | (murmur2 & 0x7fffffff) % n   |
 * | consistent_random | sticky / random     | sticky / random      | crc32 % n                    |
 * | consistent        | crc32 of no bytes=0 | 0                    | crc32 % n                    |
 * | fnv1a_random      | sticky / random     | fnv1a of no bytes    | fnv1a % n                    |
 * | fnv1a             | fnv1a of no bytes   | fnv1a of no bytes    | fnv1a % n                    |
 * | random            | sticky / random     | random               | random                       |
 *
 * murmur2_random is this project's default: for keyed records it is the Java
 * client's `BuiltInPartitioner.partitionForKey` (`toPositive(murmur2(key)) % n`),
 * so both clients put a key on the same partition. librdkafka's default is
 * consistent_random.
 *
 * "sticky / random": with `sticky.partitioning.linger.ms` > 0 the record goes to
 * the topic's sticky partition, re-picked at random once the linger has elapsed
 * (librdkafka `rd_kafka_msg_sticky_partition`); with 0 each record is placed at
 * random. The non-random partitioners (murmur2, consistent, fnv1a) hash a NULL
 * key as if it were empty and never stick. The `random` partitioner places keyed
 * records one by one at random, but keyless ones stick like the others.
 *
 * Random picks are over all partitions, not only available ones: librdkafka
 * draws once more if the first draw has no leader and keeps the second draw
 * whatever it is (`rd_kafka_msg_partitioner_random`). Java's keyless placement
 * (batch-size driven stickiness over available partitions, KIP-480/KIP-794) is
 * not reproduced.
 */
import { getRandomValues } from "node:crypto";
import {
  DEFAULT_PARTITIONER,
  PARTITIONER_NAMES,
  type PartitionerName,
} from "../config/properties.js";
import { crc32, fnv1a, murmur2 } from "./hash.js";

export { DEFAULT_PARTITIONER, PARTITIONER_NAMES, type PartitionerName };
/** librdkafka's `sticky.partitioning.linger.ms` default and upper bound. */
export const DEFAULT_STICKY_LINGER_MS = 10;
export const MAX_STICKY_LINGER_MS = 900_000;

/** A record key: its bytes, a string (hashed as UTF-8), or none. */
export type PartitionKey = Uint8Array | string | null | undefined;

/**
 * Per-topic partitioning state. A producer keeps one per topic and passes it
 * with every record of that topic; it only matters for keyless records and
 * for availability-aware random picks.
 */
export interface TopicPartitionerState {
  /** The topic's current sticky partition, -1 before the first pick. */
  partition: number;
  /** When it was picked, on the caller's clock (ms); -Infinity forces a new pick. */
  pickedAtMs: number;
  /** Whether a partition has a leader; null means all do. Kept current by the owner. */
  isAvailable: ((partition: number) => boolean) | null;
}

export function createTopicState(
  isAvailable: ((partition: number) => boolean) | null = null,
): TopicPartitionerState {
  return { partition: -1, pickedAtMs: Number.NEGATIVE_INFINITY, isAvailable };
}

export interface PartitionerOptions {
  /** `sticky.partitioning.linger.ms`: 0..900000, default 10; 0 places keyless records one by one. */
  stickyLingerMs?: number;
  /** Uniform source in [0, 1), injectable for tests; a crypto-seeded xorshift128 by default. */
  random?: () => number;
}

// Which hash a partitioner takes of a key.
const HASH_NONE = 0;
const HASH_CRC32 = 1;
const HASH_MURMUR2 = 2;
const HASH_FNV1A = 3;
type Hash = typeof HASH_NONE | typeof HASH_CRC32 | typeof HASH_MURMUR2 | typeof HASH_FNV1A;

const EMPTY = new Uint8Array(0);
/** Strings up to this many UTF-16 units are encoded into the reusable scratch buffer. */
const SCRATCH_MAX_CHARS = 16 * 1024;

export class Partitioner {
  readonly name: PartitionerName;
  readonly stickyLingerMs: number;
  private readonly hash: Hash;
  /** NULL keys are placed at random (sticky when enabled) rather than hashed. */
  private readonly nullKeyRandom: boolean;
  /** Empty keys are treated like NULL ones (consistent_random only). */
  private readonly emptyKeyRandom: boolean;
  /** librdkafka's `!random_partitioner`: stickiness is on for this partitioner. */
  private readonly sticky: boolean;
  /** The injected source, or null for the built-in xorshift128 in `rng`. */
  private readonly random: (() => number) | null;
  private readonly rng: Int32Array;
  private scratch = new Uint8Array(256);

  constructor(name: PartitionerName, options: PartitionerOptions = {}) {
    if (!PARTITIONER_NAMES.includes(name)) {
      throw new RangeError(
        `unknown partitioner "${String(name)}" (one of ${PARTITIONER_NAMES.join(", ")})`,
      );
    }
    const linger = options.stickyLingerMs ?? DEFAULT_STICKY_LINGER_MS;
    if (!(Number.isFinite(linger) && linger >= 0 && linger <= MAX_STICKY_LINGER_MS)) {
      throw new RangeError(`sticky linger ${linger} ms is outside 0..${MAX_STICKY_LINGER_MS}`);
    }
    this.name = name;
    this.stickyLingerMs = linger;
    this.random = options.random ?? null;
    this.rng = seedXorshift128();
    this.hash = name.startsWith("murmur2")
      ? HASH_MURMUR2
      : name.startsWith("consistent")
        ? HASH_CRC32
        : name.startsWith("fnv1a")
          ? HASH_FNV1A
          : HASH_NONE;
    this.nullKeyRandom = name !== "consistent" && name !== "murmur2" && name !== "fnv1a";
    this.emptyKeyRandom = name === "consistent_random";
    // rdkafka_topic.c: stickiness is off when the linger is 0 or for the
    // partitioners that hash NULL keys.
    this.sticky = linger > 0 && this.nullKeyRandom;
  }

  /**
   * The partition for a record of a topic with `partitionCount` partitions.
   * `nowMs` is any monotonic millisecond clock (only keyless records read it);
   * `state` is that topic's state from `createTopicState()`.
   */
  partition(
    key: PartitionKey,
    partitionCount: number,
    nowMs: number,
    state: TopicPartitionerState,
  ): number {
    if (!(Number.isInteger(partitionCount) && partitionCount > 0)) {
      throw new RangeError(`partition count must be a positive integer, got ${partitionCount}`);
    }
    if (key === null || key === undefined) {
      if (!this.nullKeyRandom) return this.hashBytes(EMPTY, 0, 0) % partitionCount;
      return this.sticky
        ? this.stickyPartition(partitionCount, nowMs, state)
        : this.randomPartition(partitionCount, state.isAvailable);
    }
    if (key.length === 0 && this.emptyKeyRandom) {
      return this.sticky
        ? this.stickyPartition(partitionCount, nowMs, state)
        : this.randomPartition(partitionCount, state.isAvailable);
    }
    if (this.hash === HASH_NONE) return this.randomPartition(partitionCount, state.isAvailable);
    return this.hashKey(key) % partitionCount;
  }

  /** The non-negative hash this partitioner takes modulo the partition count. */
  private hashKey(key: Uint8Array | string): number {
    if (typeof key !== "string") return this.hashBytes(key, 0, key.length);
    if (key.length > SCRATCH_MAX_CHARS) {
      const bytes = Buffer.from(key, "utf8");
      return this.hashBytes(bytes, 0, bytes.length);
    }
    // A UTF-16 unit never needs more than 3 UTF-8 bytes, so the write is whole.
    if (key.length * 3 > this.scratch.length) {
      this.scratch = new Uint8Array(Math.max(key.length * 3, this.scratch.length * 2));
    }
    const written = encodeUtf8(key, this.scratch);
    return this.hashBytes(this.scratch, 0, written);
  }

  private hashBytes(data: Uint8Array, start: number, end: number): number {
    switch (this.hash) {
      case HASH_MURMUR2:
        return murmur2(data, start, end) & 0x7fffffff;
      case HASH_CRC32:
        return crc32(data, start, end);
      case HASH_FNV1A:
        return fnv1a(data, start, end);
      default:
        return 0;
    }
  }

  /**
   * librdkafka `rd_kafka_msg_sticky_partition`: keep the topic's partition
   * until more than the linger has passed since it was picked, or at once when
   * it is gone or has no leader.
   */
  private stickyPartition(count: number, nowMs: number, state: TopicPartitionerState): number {
    if (!Number.isFinite(nowMs))
      throw new RangeError(`now must be a finite time in ms, got ${nowMs}`);
    const current = state.partition;
    if (
      current < 0 ||
      current >= count ||
      (state.isAvailable !== null && !state.isAvailable(current))
    ) {
      state.pickedAtMs = Number.NEGATIVE_INFINITY;
    }
    // rd_interval(): a new pick only once now - (last + linger) > 0.
    if (nowMs - (state.pickedAtMs + this.stickyLingerMs) > 0) {
      state.pickedAtMs = nowMs;
      state.partition = this.randomPartition(count, state.isAvailable);
    }
    return state.partition;
  }

  /** librdkafka `rd_kafka_msg_partitioner_random`: a second draw if the first has no leader. */
  private randomPartition(count: number, isAvailable: ((p: number) => boolean) | null): number {
    const p = this.draw(count);
    if (isAvailable === null || isAvailable(p)) return p;
    return this.draw(count);
  }

  private draw(count: number): number {
    let u: number;
    if (this.random === null) {
      // Marsaglia's xorshift128, inline: Math.random() through a stored
      // reference returns a boxed double, one allocation per draw.
      const s = this.rng;
      const t = s[0] ^ (s[0] << 11);
      const w = s[3];
      s[0] = s[1];
      s[1] = s[2];
      s[2] = w;
      s[3] = w ^ (w >>> 19) ^ t ^ (t >>> 8);
      u = (s[3] >>> 0) / 0x1_0000_0000;
    } else {
      u = this.random();
    }
    const p = Math.floor(u * count);
    if (p >= 0 && p < count) return p;
    // An injected source strayed outside [0, 1) (or gave NaN).
    return p >= count ? count - 1 : 0;
  }
}

function seedXorshift128(): Int32Array {
  const state = getRandomValues(new Int32Array(4));
  if ((state[0] | state[1] | state[2] | state[3]) === 0) state[0] = 1; // the one stuck state
  return state;
}

/**
 * UTF-8 of `s` into `out` (room for 3 bytes per UTF-16 unit), as
 * `Buffer.from(s, "utf8")` would encode it: a lone surrogate becomes U+FFFD.
 * Inline because `Buffer#write` costs more than the hash for short keys.
 */
function encodeUtf8(s: string, out: Uint8Array): number {
  let n = 0;
  const len = s.length;
  for (let i = 0; i < len; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
    } else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < len ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
          out[n++] = 0xf0 | (c >> 18);
          out[n++] = 0x80 | ((c >> 12) & 0x3f);
          out[n++] = 0x80 | ((c >> 6) & 0x3f);
          out[n++] = 0x80 | (c & 0x3f);
          continue;
        }
        c = 0xfffd;
      }
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 0x3f);
      out[n++] = 0x80 | (c & 0x3f);
    }
  }
  return n;
}

export function createPartitioner(
  name: PartitionerName,
  options: PartitionerOptions = {},
): Partitioner {
  return new Partitioner(name, options);
}

/**
 * An explicit partition must exist: out of range is an error, never wrapped
 * (librdkafka fails such a record with `_UNKNOWN_PARTITION`).
 */
export function checkPartition(partition: number, partitionCount: number, topic: string): void {
  if (Number.isInteger(partition) && partition >= 0 && partition < partitionCount) return;
  throw new RangeError(
    `partition ${partition} does not exist in topic "${topic}", which has ${partitionCount} partition(s)`,
  );
}
