/**
 * Reads the input in large blocks and hands on whole records: each block's
 * run of complete records, delimiters included, as one region of the block
 * (no copy, no view per record); only a record cut at a block boundary is
 * joined (copied).
 */
import { createReadStream, fstatSync } from "node:fs";
import type { Readable } from "node:stream";

/**
 * Takes records from `buf[start, end)`, which holds whole records, each
 * followed by the delimiter. Returns how far it got: short of `end` means "no
 * room now", and it is offered the rest again after room().
 */
export type OnRecords = (buf: Buffer, start: number, end: number) => number;

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
 * Offers every record of `input` to `onRecords` in regions of whole records;
 * the last record gets a delimiter when the input ends without one. Waits for
 * `room()` whenever a region is not all taken.
 */
export async function forEachRegion(
  input: Readable,
  delimiter: Buffer,
  onRecords: OnRecords,
  room: () => Promise<void>,
): Promise<void> {
  const width = delimiter.length;
  const single = width === 1 ? delimiter[0]! : -1;
  const offer = async (buf: Buffer, start: number, end: number): Promise<void> => {
    for (;;) {
      start = onRecords(buf, start, end);
      if (start >= end) return;
      await room();
    }
  };
  /** The pieces of a record cut at read boundaries (several when it spans blocks). */
  let rest: Buffer[] = [];
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
        // Only the record cut at the block boundary is joined (copied), not the block.
        const at = chunk.indexOf(single);
        if (at < 0) {
          rest.push(chunk);
          continue;
        }
        rest.push(chunk.subarray(0, at + 1));
        const joined = Buffer.concat(rest);
        rest = [];
        await offer(joined, 0, joined.length);
        start = at + 1;
      }
    }
    const last = single >= 0 ? chunk.lastIndexOf(single) : chunk.lastIndexOf(delimiter);
    const cut = last >= start ? last + width : start;
    if (cut > start) await offer(chunk, start, cut);
    if (cut < chunk.length) rest = [chunk.subarray(cut)];
  }
  if (rest.length > 0) {
    rest.push(delimiter);
    const last = Buffer.concat(rest);
    await offer(last, 0, last.length);
  }
}
