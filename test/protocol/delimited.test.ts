/**
 * RecordBatchBuilder.appendDelimited() against append(): the records cut from
 * a buffer must encode to the very bytes append() gives for the same values
 * (append() is checked byte for byte against the Java client elsewhere), and
 * it must stop exactly where its limits say.
 */
import { describe, expect, it } from "vitest";
import {
  type DelimitedRun,
  RecordBatchBuilder,
  type RecordData,
  type RecordHeader,
} from "../../src/protocol/record-batch.js";
import { decodeRecordBatch } from "../../src/protocol/record-batch-decoder.js";
import { Writer } from "../../src/protocol/writer.js";
import { prng } from "../helpers/bytes.js";

const TS = 1_764_000_000_000;

/** The values a reader of `source` would see: split at the delimiter, CR dropped, empty ones skipped. */
function expectedValues(source: Buffer, delimiter: Buffer, stripCr: boolean): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const at = source.indexOf(delimiter, pos);
    if (at < 0) break;
    let end = at;
    if (stripCr && end > pos && source[end - 1] === 13) end--;
    if (end > pos) out.push(source.subarray(pos, end));
    pos = at + delimiter.length;
  }
  return out;
}

function viaAppend(
  values: Buffer[],
  key: RecordData | null,
  headers: RecordHeader[] | undefined,
  capacity: number,
): Buffer {
  const w = new Writer(capacity);
  const b = new RecordBatchBuilder().begin(w);
  for (const v of values) b.append(key, v, TS, headers);
  b.finish();
  return w.finish();
}

function viaDelimited(
  run: DelimitedRun,
  capacity: number,
  limits = { records: Number.POSITIVE_INFINITY, bytes: Number.POSITIVE_INFINITY, value: 1 << 30 },
): { bytes: Buffer | undefined; next: number; stop: string; count: number } {
  const w = new Writer(capacity);
  const b = new RecordBatchBuilder().begin(w);
  const next = b.appendDelimited(
    run,
    0,
    run.source.length,
    limits.records,
    limits.bytes,
    limits.value,
  );
  const count = b.recordCount;
  const stop = b.delimitedStop;
  if (count === 0) return { bytes: undefined, next, stop, count };
  b.finish();
  return { bytes: w.finish(), next, stop, count };
}

function randomLines(rand: () => number, n: number, maxLen: number, delimiter: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const len = rand() % 4 === 0 ? 0 : rand() % (maxLen + 1);
    const line = Buffer.alloc(len);
    // Printable bytes, never the delimiter's first byte, sometimes a CR at the end.
    for (let j = 0; j < len; j++) line[j] = 33 + (rand() % 90);
    if (len > 0 && rand() % 5 === 0) line[len - 1] = 13;
    parts.push(line, delimiter);
  }
  return Buffer.concat(parts);
}

describe("appendDelimited", () => {
  const cases: [string, Buffer, number][] = [
    ["newline, short lines", Buffer.from("\n"), 40],
    ["newline, lines past a varint width", Buffer.from("\n"), 300],
    ["a two-byte delimiter", Buffer.from("\x00\x01"), 60],
    ["a single non-newline byte", Buffer.from("|"), 20],
  ];
  for (const [name, delimiter, maxLen] of cases) {
    for (const stripCr of [false, true]) {
      it(`encodes like append(): ${name}, stripCr ${stripCr}`, () => {
        const rand = prng(maxLen * 7 + delimiter.length + (stripCr ? 1 : 0));
        for (let round = 0; round < 20; round++) {
          // Up to 9000 records: more than one round of spans inside appendDelimited.
          const source = randomLines(rand, 1 + (rand() % 9000), maxLen, delimiter);
          const values = expectedValues(source, delimiter, stripCr);
          const key = round % 3 === 0 ? null : round % 3 === 1 ? "k€y" : Buffer.from([1, 2, 3]);
          const headers =
            round % 2 === 0
              ? undefined
              : [
                  { key: "h", value: "v" },
                  { key: "ø", value: null },
                ];
          // Small writers grow while rounds are staged; large ones do not.
          const capacity = round % 2 === 0 ? 64 : 4 << 20;
          const got = viaDelimited(
            { source, delimiter, stripCr, key, headers, timestamp: TS },
            capacity,
          );
          expect(got.next).toBe(source.length);
          expect(got.stop).toBe("end");
          expect(got.count).toBe(values.length);
          if (values.length === 0) continue;
          expect(got.bytes!.equals(viaAppend(values, key, headers, 64))).toBe(true);
        }
      });
    }
  }

  it("leaves the bytes after the last delimiter", () => {
    const source = Buffer.from("a\nbb\nccc");
    const got = viaDelimited(
      {
        source,
        delimiter: Buffer.from("\n"),
        stripCr: false,
        key: null,
        headers: undefined,
        timestamp: TS,
      },
      64,
    );
    expect(got.next).toBe(5);
    expect(got.count).toBe(2);
    expect(decodeRecordBatch(got.bytes!).records.map((r) => r.value!.toString())).toEqual([
      "a",
      "bb",
    ]);
  });

  it("stops at the record limit, the byte limit and a value too large, where produce() would", () => {
    const source = Buffer.from("one\ntwo\n\nthree\nfour\n");
    const run: DelimitedRun = {
      source,
      delimiter: Buffer.from("\n"),
      stripCr: false,
      key: null,
      headers: undefined,
      timestamp: TS,
    };
    const inf = Number.POSITIVE_INFINITY;
    const byRecords = viaDelimited(run, 64, { records: 2, bytes: inf, value: 100 });
    expect([byRecords.count, byRecords.next, byRecords.stop]).toEqual([2, 9, "records"]);
    // Each record here takes 7 bytes besides its value: a limit of 20 holds "one" and "two" only.
    const byBytes = viaDelimited(run, 64, { records: inf, bytes: 20, value: 100 });
    expect([byBytes.count, byBytes.next, byBytes.stop]).toEqual([2, 9, "bytes"]);
    // Empty records are skipped before a limit is met; "three" is over 4 bytes and stays.
    const bySize = viaDelimited(run, 64, { records: inf, bytes: inf, value: 4 });
    expect([bySize.count, bySize.next, bySize.stop]).toEqual([2, 9, "too-large"]);
    const none = viaDelimited(run, 64, { records: 0, bytes: inf, value: 100 });
    expect([none.count, none.next, none.stop]).toEqual([0, 0, "records"]);
  });
});
