/** Records shared by the real-broker tests. */
import type { RecordInput } from "../../src/protocol/record-batch.js";

/**
 * Java's Utils.murmur2 of these UTF-8 keys (apache/kafka UtilsTest.testMurmur2): the Java
 * producer places a key at toPositive(murmur2(key)) % partitions.
 */
export const JAVA_MURMUR2_VECTORS: readonly (readonly [string, number])[] = [
  ["21", -973932308],
  ["foobar", -790332482],
  ["a-little-bit-long-string", -985981536],
  ["a-little-bit-longer-string", -1486304829],
  ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
  ["abc", 479470107],
];

/** A fixed CreateTime base, so read-back timestamps can be compared exactly. */
export const T0 = 1_700_000_000_000;

/** The records the issue names: keys, null keys, empty values, non-ASCII, headers. */
export function variedRecords(): RecordInput[] {
  return [
    { key: "k1", value: "plain value", timestamp: T0 },
    { key: null, value: "null key", timestamp: T0 + 1 },
    { key: "empty-value", value: "", timestamp: T0 + 2 },
    { key: "ключ", value: "значение ✓ 日本語 🎉", timestamp: T0 + 3 },
    {
      key: "with-headers",
      value: "h",
      timestamp: T0 + 4,
      headers: [
        { key: "trace", value: "abc123" },
        { key: "émoji", value: "🙂" },
      ],
    },
    {
      key: Buffer.from([0, 1, 2, 254, 255]),
      value: Buffer.from([255, 0, 128, 10]),
      timestamp: T0 - 5,
    },
    { key: "null-value", value: null, timestamp: T0 + 6 },
  ];
}
