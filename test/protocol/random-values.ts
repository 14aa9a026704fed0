/**
 * Seeded random field values for the round-trip tests of the transaction APIs
 * (FindCoordinator, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
 * TxnOffsetCommit). Reproducible: the same seed gives the same values.
 */
import { prng } from "../helpers/bytes.js";

// ASCII, two-byte, three-byte and four-byte UTF-8 characters.
const ALPHABET = [..."abcxyzABC019-._ ", "ж", "ключ", "€", "✓", "🎉"];

export interface RandomValues {
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  int8(): number;
  int16(): number;
  int32(): number;
  /** A safe integer, sometimes -1 or an extreme. */
  int64(): number;
  bool(): boolean;
  /** Up to `maxChars` characters, sometimes empty. */
  string(maxChars?: number): string;
  /** As `string`, null about one time in four. */
  nullableString(maxChars?: number): string | null;
  /** Between 0 and `max` items. */
  list<T>(max: number, make: () => T): T[];
}

export function randomValues(seed: number): RandomValues {
  const next = prng(seed);
  const int = (min: number, max: number): number => min + (next() % (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[next() % items.length]!;
  const string = (maxChars = 12): string => {
    let s = "";
    for (let n = int(0, maxChars); n > 0; n--) s += pick(ALPHABET);
    return s;
  };
  return {
    int,
    int8: () => int(-128, 127),
    int16: () => int(-32768, 32767),
    int32: () => (next() | 0) as number,
    int64: () =>
      pick([
        -1,
        0,
        Number.MAX_SAFE_INTEGER,
        Number.MIN_SAFE_INTEGER,
        next() * 0x20_0000 + (next() % 0x20_0000),
        -(next() % 0x20_0000) * 0x1_0000_0000 - next(),
      ]),
    bool: () => (next() & 1) === 1,
    string,
    nullableString: (maxChars = 12) => (next() % 4 === 0 ? null : string(maxChars)),
    list: <T>(max: number, make: () => T): T[] => {
      const out: T[] = [];
      for (let n = int(0, max); n > 0; n--) out.push(make());
      return out;
    },
  };
}
