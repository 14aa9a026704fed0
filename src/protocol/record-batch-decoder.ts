/**
 * Record batch v2 (magic 2, KIP-98) decoder; the layout is in `record-batch.ts`.
 *
 * Nothing read from the wire is trusted: batchLength is checked against the
 * buffer, the CRC-32C against attributes .. the end, the record count against
 * the bytes that can hold it, and every record, key, value and header length
 * against the record it sits in; each record must consume exactly its length.
 * Failures throw `ProtocolError` only.
 *
 * int64 fields (offsets, timestamps, producerId) come back as numbers: they are
 * safe integers in practice, and a value beyond 2^53 throws INVALID_VALUE rather
 * than losing precision. Keys, values and header values are views into the
 * input buffer (or into the decompressed records), not copies.
 */
import { crc32c } from "./crc32c.js";
import { ProtocolError } from "./protocol-error.js";
import { Reader } from "./reader.js";
import {
  ATTRIBUTES_OFFSET,
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  CONTROL_FLAG,
  type CompressionCodec,
  compressionCodecOf,
  DELETE_HORIZON_FLAG,
  getCodec,
  MAGIC_OFFSET,
  MAGIC_V2,
  TIMESTAMP_TYPE_LOG_APPEND_TIME,
  TIMESTAMP_TYPE_MASK,
  TRANSACTIONAL_FLAG,
} from "./record-batch.js";

/** The smallest record: length, attributes, timestampDelta, offsetDelta, key, value, header count. */
const MIN_RECORD_SIZE = 7;

export interface DecodedHeader {
  key: string;
  value: Buffer | null;
}

export interface DecodedRecord {
  attributes: number;
  timestampDelta: number;
  offsetDelta: number;
  /** baseTimestamp + timestampDelta; the batch's maxTimestamp under LogAppendTime. */
  timestamp: number;
  /** baseOffset + offsetDelta. */
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: DecodedHeader[];
}

export interface RecordBatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: CompressionCodec;
  timestampType: 0 | 1;
  isTransactional: boolean;
  isControl: boolean;
  hasDeleteHorizonMs: boolean;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  /** The records count field. */
  recordCount: number;
}

export interface RecordBatch extends RecordBatchHeader {
  records: DecodedRecord[];
}

/**
 * Reads and checks the batch header at `offset` (bounds, magic, CRC) without
 * decoding the records. The batch ends at `offset + 12 + batchLength`.
 */
export function decodeRecordBatchHeader(buf: Buffer, offset = 0): RecordBatchHeader {
  if (offset < 0 || offset > buf.length) {
    throw new RangeError(`record batch offset ${offset} outside a buffer of ${buf.length}`);
  }
  const r = new Reader(buf, offset);
  const baseOffset = r.int64Number();
  const lengthAt = r.pos;
  const batchLength = r.int32();
  if (batchLength < 0) {
    throw new ProtocolError("INVALID_LENGTH", `negative batchLength ${batchLength}`, lengthAt);
  }
  const partitionLeaderEpoch = r.int32();
  const magic = r.int8();
  if (magic !== MAGIC_V2) {
    throw new ProtocolError(
      "UNSUPPORTED_VERSION",
      `record batch magic ${magic} is not supported (only 2)`,
      offset + MAGIC_OFFSET,
    );
  }
  if (batchLength < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD) {
    throw new ProtocolError(
      "INVALID_LENGTH",
      `batchLength ${batchLength} is shorter than a batch header`,
      lengthAt,
    );
  }
  const end = offset + BATCH_LOG_OVERHEAD + batchLength;
  if (end > buf.length) {
    throw new ProtocolError(
      "TRUNCATED",
      `truncated record batch: batchLength ${batchLength} needs ${end - buf.length} more bytes`,
      lengthAt,
    );
  }
  const crcAt = r.pos;
  const crc = r.uint32();
  const actual = crc32c(buf, offset + ATTRIBUTES_OFFSET, end);
  if (crc !== actual) {
    throw new ProtocolError(
      "CRC_MISMATCH",
      `record batch CRC 0x${hex32(crc)} does not match its contents (0x${hex32(actual)})`,
      crcAt,
    );
  }
  const attributesAt = r.pos;
  const attributes = r.int16();
  const compression = compressionCodecOf(attributes);
  if (compression === undefined) {
    throw new ProtocolError(
      "UNSUPPORTED_COMPRESSION",
      `unknown compression codec id ${attributes & 0x07}`,
      attributesAt,
    );
  }
  return {
    baseOffset,
    batchLength,
    partitionLeaderEpoch,
    magic,
    crc,
    attributes,
    compression,
    timestampType: attributes & TIMESTAMP_TYPE_MASK ? 1 : 0,
    isTransactional: (attributes & TRANSACTIONAL_FLAG) !== 0,
    isControl: (attributes & CONTROL_FLAG) !== 0,
    hasDeleteHorizonMs: (attributes & DELETE_HORIZON_FLAG) !== 0,
    lastOffsetDelta: r.int32(),
    baseTimestamp: r.int64Number(),
    maxTimestamp: r.int64Number(),
    producerId: r.int64Number(),
    producerEpoch: r.int16(),
    baseSequence: r.int32(),
    recordCount: r.int32(),
  };
}

/** Decodes the record batch at `offset`, decompressing its records when needed. */
export function decodeRecordBatch(buf: Buffer, offset = 0): RecordBatch {
  const header = decodeRecordBatchHeader(buf, offset);
  const start = offset + BATCH_HEADER_SIZE;
  const end = offset + BATCH_LOG_OVERHEAD + header.batchLength;
  const count = header.recordCount;
  if (count < 0) {
    throw new ProtocolError("INVALID_LENGTH", `negative record count ${count}`, start - 4);
  }
  let records: DecodedRecord[];
  if (header.compression === "none") {
    records = decodeRecords(header, buf, start, end);
  } else {
    const codec = getCodec(header.compression);
    let data: Buffer;
    try {
      data = codec.decompress(buf.subarray(start, end));
    } catch (e) {
      if (e instanceof ProtocolError) throw e;
      const why = e instanceof Error ? e.message : String(e);
      throw new ProtocolError(
        "INVALID_VALUE",
        `${header.compression} decompression failed: ${why}`,
        start,
      );
    }
    // Offsets in errors from here on are within the decompressed records.
    records = decodeRecords(header, data, 0, data.length);
  }
  return { ...header, records };
}

/**
 * Decodes a Fetch-style sequence of batches. A trailing partial batch (the
 * broker cuts the last one at the fetch size limit) is ignored.
 */
export function decodeRecordBatches(buf: Buffer): RecordBatch[] {
  const out: RecordBatch[] = [];
  let pos = 0;
  while (buf.length - pos >= BATCH_LOG_OVERHEAD) {
    const batchLength = buf.readInt32BE(pos + 8);
    if (batchLength < 0) {
      throw new ProtocolError("INVALID_LENGTH", `negative batchLength ${batchLength}`, pos + 8);
    }
    if (BATCH_LOG_OVERHEAD + batchLength > buf.length - pos) break;
    out.push(decodeRecordBatch(buf, pos));
    pos += BATCH_LOG_OVERHEAD + batchLength;
  }
  return out;
}

function decodeRecords(
  header: RecordBatchHeader,
  data: Buffer,
  start: number,
  end: number,
): DecodedRecord[] {
  const count = header.recordCount;
  if (count > (end - start) / MIN_RECORD_SIZE) {
    throw new ProtocolError(
      "INVALID_LENGTH",
      `${count} records cannot fit in ${end - start} bytes`,
      start,
    );
  }
  const r = new Reader(data, start, end);
  const records = new Array<DecodedRecord>(count);
  for (let i = 0; i < count; i++) {
    if (r.remaining === 0) {
      throw new ProtocolError(
        "INVALID_LENGTH",
        `record count ${count} but the batch holds only ${i} records`,
        r.pos,
      );
    }
    records[i] = decodeRecord(r, header);
  }
  r.expectEnd("the records of a batch");
  return records;
}

function decodeRecord(outer: Reader, h: RecordBatchHeader): DecodedRecord {
  const at = outer.pos;
  const length = outer.varint();
  if (length < MIN_RECORD_SIZE - 1 || length > outer.remaining) {
    throw new ProtocolError(
      "INVALID_LENGTH",
      `record length ${length} outside 6..${outer.remaining}`,
      at,
    );
  }
  const r = new Reader(outer.buf, outer.pos, outer.pos + length);
  outer.skip(length);
  const attributes = r.int8();
  const timestampDelta = r.varlongNumber();
  const offsetDelta = r.varint();
  const key = nullableBytes(r, "record key");
  const value = nullableBytes(r, "record value");
  const countAt = r.pos;
  const headerCount = r.varint();
  // A header takes at least 2 bytes (key and value lengths).
  if (headerCount < 0 || headerCount * 2 > r.remaining) {
    throw new ProtocolError(
      "INVALID_LENGTH",
      `${headerCount} record headers cannot fit in ${r.remaining} bytes`,
      countAt,
    );
  }
  const headers = new Array<DecodedHeader>(headerCount);
  for (let i = 0; i < headerCount; i++) {
    const keyAt = r.pos;
    const headerKey = nullableBytes(r, "header key");
    if (headerKey === null) throw new ProtocolError("INVALID_LENGTH", "null header key", keyAt);
    headers[i] = { key: headerKey.toString("utf8"), value: nullableBytes(r, "header value") };
  }
  r.expectEnd("record");

  const timestamp =
    h.timestampType === TIMESTAMP_TYPE_LOG_APPEND_TIME
      ? h.maxTimestamp
      : h.baseTimestamp + timestampDelta;
  const offset = h.baseOffset + offsetDelta;
  if (!Number.isSafeInteger(timestamp) || !Number.isSafeInteger(offset)) {
    throw new ProtocolError("INVALID_VALUE", "record timestamp or offset beyond 2^53", at);
  }
  return { attributes, timestampDelta, offsetDelta, timestamp, offset, key, value, headers };
}

/** A varint length (-1 for null) and that many bytes, as a view. */
function nullableBytes(r: Reader, what: string): Buffer | null {
  const at = r.pos;
  const len = r.varint();
  if (len === -1) return null;
  if (len < 0 || len > r.remaining) {
    throw new ProtocolError(
      "INVALID_LENGTH",
      `${what} length ${len} outside 0..${r.remaining}`,
      at,
    );
  }
  return r.raw(len);
}

function hex32(v: number): string {
  return v.toString(16).padStart(8, "0");
}
