/** Records shared by the real-broker tests. */
import type { RecordInput } from "../../src/protocol/record-batch.js";

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
