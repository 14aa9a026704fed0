/**
 * Records cut from a byte stream at a delimiter arrive in chunks, and a
 * record can begin in one chunk and end in a later one. Both the CLI's file
 * reader and the producer's write stream in bytes mode carry such a record
 * forward and complete it here, copying as few bytes as they can.
 */

/**
 * The record carried from earlier chunks (`carried`, in order) joined with
 * the bytes of `chunk` that complete it, and where in `chunk` the bytes not
 * joined begin. With a one-byte delimiter only the chunk's bytes up to and
 * with its first delimiter are copied; a longer delimiter may itself be cut
 * between the chunks, so the whole chunk is joined. With no delimiter in the
 * chunk, all of it is joined (`next` is its length).
 */
export function joinCarried(
  carried: readonly Buffer[],
  chunk: Buffer,
  delimiter: Buffer,
): { joined: Buffer; next: number } {
  if (delimiter.length === 1) {
    const at = chunk.indexOf(delimiter[0]!);
    if (at >= 0) {
      return { joined: Buffer.concat([...carried, chunk.subarray(0, at + 1)]), next: at + 1 };
    }
  }
  return { joined: Buffer.concat([...carried, chunk]), next: chunk.length };
}
