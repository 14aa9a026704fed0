/**
 * The fault suite's counting (test/faults/tally.ts) on hand-made logs: lost, duplicated,
 * reordered, failed records, for our producer (per-record reports) and kcat (a failure count).
 */
import { describe, expect, it } from "vitest";
import type { JavaRecord } from "../broker/java-reader.js";
import { type ProduceOutcome, parseValue, recordKey, recordValue } from "../faults/clients.js";
import { tally } from "../faults/tally.js";

/** A log: [partition, index] in offset order per partition. */
function log(entries: [partition: number, index: number][], run = "1"): JavaRecord[] {
  const next = new Map<number, number>();
  return entries.map(([partition, index]) => {
    const offset = next.get(partition) ?? 0;
    next.set(partition, offset + 1);
    return {
      topic: "t",
      partition,
      offset,
      timestamp: 0,
      timestampType: "CreateTime",
      leaderEpoch: 0,
      key: Buffer.from(recordKey(index)),
      value: Buffer.from(recordValue(run, index)),
      headers: [],
    };
  });
}

function ours(status: number[]): ProduceOutcome {
  return {
    status: Uint8Array.from(status),
    delivered: status.filter((s) => s === 1).length,
    failed: status.filter((s) => s === 2).length,
    failureCodes: {},
    extraReports: 0,
    seconds: 1,
    details: {},
  };
}

function kcat(count: number, failed: number): ProduceOutcome {
  return {
    status: undefined,
    delivered: count - failed,
    failed,
    failureCodes: {},
    extraReports: 0,
    seconds: 1,
    details: {},
  };
}

describe("fault tally", () => {
  it("values carry the run and the index, about 100 bytes with the key", () => {
    const v = recordValue("3", 12345);
    expect(v).toHaveLength(96);
    expect(parseValue(v)).toEqual({ run: "3", index: 12345 });
    expect(parseValue("other")).toBeUndefined();
    expect(parseValue(null)).toBeUndefined();
  });

  it("a clean log: nothing lost, duplicated or reordered", () => {
    const t = tally(
      log([
        [0, 0],
        [1, 1],
        [0, 2],
        [1, 3],
      ]),
      "1",
      4,
      ours([1, 1, 1, 1]),
    );
    expect(t).toMatchObject({
      read: 4,
      distinct: 4,
      lost: 0,
      duplicated: 0,
      reordered: 0,
      failed: 0,
      foreign: 0,
    });
  });

  it("counts lost, failed, failed-but-written and unreported records (ours)", () => {
    // 0 delivered and present; 1 delivered and missing (lost); 2 failed and missing;
    // 3 failed but present; 4 never reported and missing (lost).
    const t = tally(
      log([
        [0, 0],
        [0, 3],
      ]),
      "1",
      5,
      ours([1, 1, 2, 2, 0]),
    );
    expect(t).toMatchObject({ lost: 2, failed: 2, failedButWritten: 1, unreported: 1 });
  });

  it("counts duplicates once per index and extra copies per copy; repeats are not reorders", () => {
    // A retried batch written twice: 0 1 2 | 0 1 2 3, and index 5 three times.
    const t = tally(
      log([
        [0, 0],
        [0, 1],
        [0, 2],
        [0, 0],
        [0, 1],
        [0, 2],
        [0, 3],
        [1, 5],
        [1, 5],
        [1, 5],
        [1, 4],
      ]),
      "1",
      6,
      ours([1, 1, 1, 1, 1, 1]),
    );
    expect(t).toMatchObject({ read: 11, distinct: 6, duplicated: 4, extraCopies: 5, lost: 0 });
    // 4 after 5 is the one reordering.
    expect(t.reordered).toBe(1);
    expect(t.reorderedSamples).toEqual(["p1@3: 4 after 5"]);
  });

  it("counts every first copy that comes after a higher index of its partition", () => {
    // Partition 0: 3 4 0 1 2 5 -> 0, 1, 2 out of order (one stretch, one sample).
    const t = tally(
      log([
        [0, 3],
        [0, 4],
        [0, 0],
        [0, 1],
        [0, 2],
        [0, 5],
      ]),
      "1",
      6,
      ours([1, 1, 1, 1, 1, 1]),
    );
    expect(t.reordered).toBe(3);
    expect(t.reorderedSamples).toEqual(["p0@2: 0 after 4"]);
  });

  it("orders by offset, not by the reader's order", () => {
    const records = log([
      [0, 0],
      [0, 1],
      [0, 2],
    ]).reverse();
    expect(tally(records, "1", 3, ours([1, 1, 1])).reordered).toBe(0);
  });

  it("kcat: missing records beyond the failure count are lost", () => {
    const records = log([
      [0, 0],
      [0, 1],
    ]);
    expect(tally(records, "1", 5, kcat(5, 3)).lost).toBe(0);
    expect(tally(records, "1", 5, kcat(5, 1)).lost).toBe(2);
    expect(tally(records, "1", 5, kcat(5, 1)).failed).toBe(1);
  });

  it("records of another run or beyond the count are foreign", () => {
    const records = [...log([[0, 0]], "1"), ...log([[1, 0]], "2"), ...log([[2, 9]], "1")];
    expect(tally(records, "1", 1, ours([1]))).toMatchObject({ read: 1, foreign: 2, lost: 0 });
  });
});
