/**
 * Records cut at a delimiter across chunk boundaries, as the CLI's reader
 * (forEachRegion) offers them: for a one-byte delimiter and two two-byte ones
 * (one that can overlap itself) split at every pair of positions, the records
 * offered are those the whole text holds, and only the carried record is ever
 * copied with a one-byte one.
 * The write stream's side is in test/unit/write-stream.test.ts.
 */
import { describe, expect, it } from "vitest";
import { forEachRegion } from "../../src/cli/input.js";
import { joinCarried } from "../../src/producer/carried-record.js";

async function* chunks(parts: string[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p);
}

/** The records forEachRegion offers for `parts`, each region cut at `delimiter`. */
async function offered(parts: string[], delimiter: string): Promise<string[]> {
  const records: string[] = [];
  await forEachRegion(
    chunks(parts),
    Buffer.from(delimiter),
    (buf, start, end) => {
      const text = buf.toString("latin1", start, end);
      // Every region ends with a delimiter, but the input's last record when it has none.
      if (text.endsWith(delimiter)) {
        records.push(...text.slice(0, -delimiter.length).split(delimiter));
      } else {
        expect(text.includes(delimiter), `last region ${JSON.stringify(text)}`).toBe(false);
        records.push(text);
      }
      return end;
    },
    () => Promise.resolve(),
  );
  return records;
}

describe("records cut across chunks", () => {
  for (const [delimiter, text] of [
    ["\n", "alpha\nbravo\n\ncharlie\ndelta"],
    // A delimiter that cannot overlap itself: forEachRegion cuts a region at its last one.
    ["\r\n", "alpha\r\nbravo\r\n\r\ncharlie\r\r\ndelta\r\necho"],
    // One that can: "|||" is a delimiter and a "|" after it, read from the front, wherever
    // a block ends (cut at the last "||" of a block, "a|||" was offered as "a" and "|").
    ["||", "alpha||bravo||||charlie|||delta||echo|"],
  ] as const) {
    it(`the CLI's reader offers the same records wherever ${JSON.stringify(delimiter)} text is split`, async () => {
      const whole = await offered([text], delimiter);
      expect(whole.length).toBeGreaterThan(3);
      for (let a = 1; a < text.length - 1; a++) {
        for (let b = a + 1; b < text.length; b++) {
          const split = await offered(
            [text.slice(0, a), text.slice(a, b), text.slice(b)],
            delimiter,
          );
          expect(split, `split at ${a} and ${b}`).toEqual(whole);
        }
      }
    });
  }

  it("joins only up to the chunk's first one-byte delimiter, all of it for a longer delimiter", () => {
    const carried = [Buffer.from("al"), Buffer.from("ph")];
    expect(joinCarried(carried, Buffer.from("a\nbravo\n"), Buffer.from("\n"))).toEqual({
      joined: Buffer.from("alpha\n"),
      next: 2,
    });
    expect(joinCarried(carried, Buffer.from("a-still"), Buffer.from("\n"))).toEqual({
      joined: Buffer.from("alpha-still"),
      next: 7,
    });
    expect(joinCarried(carried, Buffer.from("|a||b"), Buffer.from("||"))).toEqual({
      joined: Buffer.from("alph|a||b"),
      next: 5,
    });
  });
});
