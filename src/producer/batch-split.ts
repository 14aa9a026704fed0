/**
 * Re-encoding a sealed batch as two batches of half its records each, for a
 * batch the broker refused as too large. Only the encoding is here; putting
 * the halves in the queue and counting their buffers is the Accumulator's.
 */

import type { CompressionCodec } from "../protocol/record-batch.js";
import { decodeRecordBatch } from "../protocol/record-batch-decoder.js";
import { Batch, type BatchLimits } from "./batch.js";
import type { BatchBuffers } from "./batch-buffers.js";

/** No limit: a half takes every record it is given. */
const UNLIMITED: BatchLimits = {
  maxRecords: Number.MAX_SAFE_INTEGER,
  maxBytes: Number.MAX_SAFE_INTEGER,
  deadlineSlackMs: Number.POSITIVE_INFINITY,
};

/**
 * Two batches (closed, unsealed) with the records of sealed `batch` (two at
 * least), decoded from its bytes: the first half and the rest, with the same
 * order, callbacks, opaques, tally and deadline; together they account for
 * the queue bytes the whole batch held.
 */
export function splitBatch(
  batch: Batch,
  now: number,
  buffers: Pick<BatchBuffers, "take">,
  codec: CompressionCodec,
  level: number,
): [Batch, Batch] {
  const decoded = decodeRecordBatch(batch.data!).records;
  const half = Math.ceil(decoded.length / 2);
  const halves = [0, half].map((from) => {
    const part = new Batch(
      batch.topic,
      batch.partition,
      buffers.take(batch.byteLength),
      now,
      batch.deadline,
      codec,
      level,
    );
    const to = from === 0 ? half : decoded.length;
    for (let i = from; i < to; i++) {
      const r = decoded[i]!;
      part.tryAppend(
        r.key,
        r.value,
        r.timestamp,
        r.headers,
        0,
        batch.deadline,
        batch.callbackAt(i),
        batch.opaqueAt(i),
        UNLIMITED,
      );
    }
    part.tally = batch.tally;
    part.closed = true;
    return part;
  }) as [Batch, Batch];
  halves[1].bytes = batch.bytes - halves[0].bytes;
  return halves;
}
