import { describe, expect, it } from "vitest";
import { Batch, type BatchLimits } from "../../src/producer/batch.js";
import type { DeliveryCallback } from "../../src/producer/record.js";
import { Writer } from "../../src/protocol/writer.js";

const LIMITS: BatchLimits = { maxRecords: 100, maxBytes: 1_000_000, deadlineSlackMs: 1000 };

function batchWith(records: [DeliveryCallback | undefined, unknown][]): Batch {
  const batch = new Batch("t", 0, new Writer(64), 0, 1000, "none");
  for (const [cb, opaque] of records) {
    expect(batch.tryAppend(null, "v", 0, undefined, 8, 1000, cb, opaque, LIMITS)).toBeGreaterThan(
      0,
    );
  }
  return batch;
}

describe("Batch report bookkeeping", () => {
  const a: DeliveryCallback = () => {};
  const b: DeliveryCallback = () => {};

  it("stores nothing per record while all records share a callback and have no opaque", () => {
    const batch = batchWith([
      [a, undefined],
      [a, undefined],
      [a, undefined],
    ]);
    expect([0, 1, 2].map((i) => batch.callbackAt(i))).toEqual([a, a, a]);
    expect([0, 1, 2].map((i) => batch.opaqueAt(i))).toEqual([undefined, undefined, undefined]);
  });

  it("keeps each record's own callback and opaque once they differ", () => {
    const batch = batchWith([
      [a, undefined],
      [a, undefined],
      [b, "x"],
      [undefined, undefined],
      [a, 7],
    ]);
    expect([0, 1, 2, 3, 4].map((i) => batch.callbackAt(i))).toEqual([a, a, b, undefined, a]);
    expect([0, 1, 2, 3, 4].map((i) => batch.opaqueAt(i))).toEqual([
      undefined,
      undefined,
      "x",
      undefined,
      7,
    ]);
  });
});
