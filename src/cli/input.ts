/**
 * Splits an input stream into records at a delimiter, handing each one to a
 * callback as a view of the read chunk (no copy, except for a record cut at a
 * read boundary).
 */
import { createReadStream, fstatSync } from "node:fs";
import type { Readable } from "node:stream";

/** Offers one record; false means "no room now": the same record is offered again after room(). */
export type OnRecord = (record: Buffer) => boolean;

export interface SplitOptions {
  delimiter: Buffer;
  /** With the newline delimiter, a CR before it is dropped too (CRLF input). */
  stripCr: boolean;
}

/**
 * The input to read: FILE (-l), else standard input. A regular file is read in
 * large blocks; pipes and terminals through process.stdin (a non-blocking pipe
 * cannot be read as a file).
 */
export function openInput(file: string | undefined): Readable {
  if (file !== undefined) return createReadStream(file, { highWaterMark: 1 << 20 });
  return fstatSync(0).isFile()
    ? createReadStream("", { fd: 0, highWaterMark: 1 << 20, autoClose: false })
    : process.stdin;
}

/**
 * Feeds every record of `input` (delimiter removed; empty records skipped, as
 * kcat does) to `onRecord`; when it refuses one, waits for `room()` and offers
 * the same record again.
 */
export async function forEachRecord(
  input: Readable,
  { delimiter, stripCr }: SplitOptions,
  onRecord: OnRecord,
  room: () => Promise<void>,
): Promise<void> {
  const single = delimiter.length === 1 ? delimiter[0]! : -1;
  const find = (b: Buffer, from: number): number =>
    single >= 0 ? b.indexOf(single, from) : b.indexOf(delimiter, from);
  const width = delimiter.length;
  /** The pieces of a record cut at read boundaries (several when it spans blocks). */
  let rest: Buffer[] = [];
  const offer = async (record: Buffer): Promise<void> => {
    while (!onRecord(record)) await room();
  };
  /** Offers b[start, end) at once; returns it when it was refused (to offer after room()). */
  const emit = (b: Buffer, start: number, end: number): Buffer | undefined => {
    if (stripCr && end > start && b[end - 1] === 13) end--; // CRLF
    if (end === start) return undefined;
    const record = b.subarray(start, end);
    return onRecord(record) ? undefined : record;
  };
  for await (const data of input) {
    let chunk = data as Buffer;
    let start = 0;
    if (rest.length > 0) {
      if (width > 1) {
        // A delimiter of several bytes may itself be cut: search the joined bytes.
        rest.push(chunk);
        chunk = Buffer.concat(rest);
        rest = [];
      } else {
        // Only the record cut at the chunk boundary is joined (copied), not the chunk.
        const at = find(chunk, 0);
        if (at < 0) {
          rest.push(chunk);
          continue;
        }
        rest.push(chunk.subarray(0, at));
        const joined = Buffer.concat(rest);
        rest = [];
        const refused = emit(joined, 0, joined.length);
        if (refused) await offer(refused);
        start = at + 1;
      }
    }
    for (;;) {
      const at = find(chunk, start);
      if (at < 0) break;
      const refused = emit(chunk, start, at);
      if (refused) await offer(refused);
      start = at + width;
    }
    if (start < chunk.length) rest = [chunk.subarray(start)];
  }
  if (rest.length > 0) {
    const last = Buffer.concat(rest);
    const refused = emit(last, 0, last.length);
    if (refused) await offer(refused);
  }
}
