/**
 * Reads the input in large blocks and hands on whole records: each block's
 * run of complete records, delimiters included, as one region of the block
 * (no copy, no view per record); only a record cut at a block boundary is
 * joined (copied).
 */
import { closeSync, fstatSync, openSync, read } from "node:fs";
import { joinCarried } from "../producer/carried-record.js";

/**
 * Takes records from `buf[start, end)`, which holds whole records, each
 * followed by the delimiter. Returns how far it got: short of `end` means "no
 * room now", and it is offered the rest again after room().
 */
export type OnRecords = (buf: Buffer, start: number, end: number) => number;

/** Blocks of input, and a way to stop reading them. */
export interface Input extends AsyncIterable<Buffer> {
  destroy(): void;
}

const BLOCK = 1 << 20;

/**
 * The input to read: FILE (-l), else standard input. A regular file is read in
 * blocks of 1 MiB into two buffers used in turn (a block is done with before
 * the one after next is read; no buffer per block to collect); pipes and
 * terminals through process.stdin (a non-blocking pipe cannot be read as a file).
 */
export function openInput(file: string | undefined): Input {
  if (file !== undefined) return fileBlocks(openSync(file, "r"), true);
  return fstatSync(0).isFile() ? fileBlocks(0, false) : process.stdin;
}

function fileBlocks(fd: number, own: boolean): Input {
  let stopped = false;
  const buffers = [Buffer.allocUnsafe(BLOCK), Buffer.allocUnsafe(BLOCK)];
  return {
    destroy: () => {
      stopped = true;
    },
    async *[Symbol.asyncIterator]() {
      try {
        for (let i = 0; !stopped; i ^= 1) {
          const buf = buffers[i]!;
          const n = await new Promise<number>((resolve, reject) =>
            read(fd, buf, 0, BLOCK, null, (err, bytes) => (err ? reject(err) : resolve(bytes))),
          );
          if (n === 0) return;
          yield buf.subarray(0, n);
        }
      } finally {
        if (own) closeSync(fd);
      }
    },
  };
}

/**
 * Offers every record of `input` to `onRecords` in regions of whole records,
 * each ending with a delimiter but the last when the input ends without one:
 * that region is one record, running to its end (a delimiter appended to it
 * could be read from the front as ending it early: "b|" and "||" read as "b"
 * and "|"). Waits for `room()` whenever a region is not all taken.
 */
export async function forEachRegion(
  input: AsyncIterable<Buffer>,
  delimiter: Buffer,
  onRecords: OnRecords,
  room: () => Promise<void>,
  stop?: AbortSignal,
): Promise<void> {
  const width = delimiter.length;
  const single = width === 1 ? delimiter[0]! : -1;
  const forward = overlapsItself(delimiter);
  const offer = async (buf: Buffer, start: number, end: number): Promise<void> => {
    for (;;) {
      start = onRecords(buf, start, end);
      if (start >= end) return;
      await room();
    }
  };
  /** The pieces of a record cut at read boundaries (several when it spans blocks). */
  let rest: Buffer[] = [];
  for await (const data of stop ? untilAborted(input, stop) : input) {
    let chunk = data as Buffer;
    let start = 0;
    if (rest.length > 0) {
      // The record cut at the block boundary is joined (copied), not the block; a record
      // longer than a block is copied whole, for the block's buffer is read into again.
      const { joined, next } = joinCarried(rest, chunk, delimiter);
      rest = [];
      if (next === chunk.length) {
        chunk = joined;
      } else {
        await offer(joined, 0, joined.length);
        start = next;
      }
    }
    // Records are read from the front: for a delimiter that can overlap itself ("||"), the
    // last one found from the back may not be one found from the front ("a|||" is "a" and a
    // "|" that a later block continues), so such a delimiter is searched for from the front.
    let cut: number;
    if (forward) cut = lastDelimiterEnd(chunk, start, delimiter);
    else {
      const last = single >= 0 ? chunk.lastIndexOf(single) : chunk.lastIndexOf(delimiter);
      cut = last >= start ? last + width : start;
    }
    if (cut > start) await offer(chunk, start, cut);
    // A view of the block's buffer: joined before the buffer is read into again.
    if (cut < chunk.length) rest = [chunk.subarray(cut)];
  }
  if (rest.length > 0) {
    const last = Buffer.concat(rest);
    await offer(last, 0, last.length);
  }
}

/**
 * Whether `delimiter` can overlap itself, as "||" or "abab" can: some proper prefix of it
 * is also its suffix.
 */
function overlapsItself(delimiter: Buffer): boolean {
  const n = delimiter.length;
  for (let k = 1; k < n; k++) {
    if (delimiter.subarray(0, k).equals(delimiter.subarray(n - k))) return true;
  }
  return false;
}

/** The end of the last delimiter found reading `chunk` from `start` forward, or `start`. */
function lastDelimiterEnd(chunk: Buffer, start: number, delimiter: Buffer): number {
  let end = start;
  for (let at = chunk.indexOf(delimiter, start); at !== -1; at = chunk.indexOf(delimiter, end)) {
    end = at + delimiter.length;
  }
  return end;
}

/**
 * The blocks of `input` until `stop` aborts, even while a read is pending. Node and Bun end a
 * pending read of process.stdin when it is destroyed; Deno (2.9) leaves it pending until the
 * writer closes the pipe, so a signal would not stop `publish` reading a pipe held open.
 */
async function* untilAborted(
  input: AsyncIterable<Buffer>,
  stop: AbortSignal,
): AsyncGenerator<Buffer> {
  if (stop.aborted) return;
  const blocks = input[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<IteratorResult<Buffer>>((resolve) => {
    onAbort = () => resolve({ done: true, value: undefined });
    stop.addEventListener("abort", onAbort, { once: true });
  });
  try {
    for (;;) {
      const next = await Promise.race([blocks.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    stop.removeEventListener("abort", onAbort!);
    // Not awaited: on Deno it would wait for the pending read.
    void blocks.return?.()?.catch(() => {});
  }
}
