/**
 * Record batch v2 (magic 2, KIP-98) encoder: the producer's hot path.
 *
 * RecordBatch =>
 *   baseOffset int64            0 from a producer; the broker assigns offsets
 *   batchLength int32           bytes after this field
 *   partitionLeaderEpoch int32
 *   magic int8                  2
 *   crc uint32                  CRC-32C of attributes .. the end of the batch
 *   attributes int16            bits 0-2 codec, 3 timestampType, 4 isTransactional,
 *                               5 isControlBatch, 6 hasDeleteHorizonMs
 *   lastOffsetDelta int32
 *   baseTimestamp int64
 *   maxTimestamp int64
 *   producerId int64
 *   producerEpoch int16
 *   baseSequence int32
 *   records [Record]            int32 count, then the records (compressed as a whole)
 *
 * Record =>
 *   length varint               bytes after this field
 *   attributes int8             unused, 0
 *   timestampDelta varlong      from baseTimestamp
 *   offsetDelta varint          from baseOffset
 *   keyLength varint, key       -1 for null
 *   valueLength varint, value   -1 for null
 *   headers [Header]            varint count
 *
 * Header => keyLength varint, key (UTF-8), valueLength varint (-1 for null), value
 *
 * `RecordBatchBuilder` writes each record straight into a `Writer` as it is
 * appended (sizes are computed first, so nothing is built per record and nothing
 * is shifted) and back-patches the header and one CRC pass at `finish()`, or
 * at `finishAsync()`, which compresses off the event loop (the codecs are in
 * `compression/`, registered when that module is imported).
 */
import { crc32c } from "./crc32c.js";
import { ProtocolError } from "./protocol-error.js";
import { putUvarint, uvarintSize, Writer, writeInt64At } from "./writer.js";

export const MAGIC_V2 = 2;

/** baseOffset + batchLength: the bytes not counted by batchLength. */
export const BATCH_LOG_OVERHEAD = 12;
/** Bytes from baseOffset to the first record. */
export const BATCH_HEADER_SIZE = 61;

// Field offsets from the start of a batch.
export const BATCH_LENGTH_OFFSET = 8;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;
export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const PRODUCER_EPOCH_OFFSET = 51;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORDS_COUNT_OFFSET = 57;

// Batch attribute bits.
export const COMPRESSION_CODEC_MASK = 0x07;
export const TIMESTAMP_TYPE_MASK = 0x08;
export const TRANSACTIONAL_FLAG = 0x10;
export const CONTROL_FLAG = 0x20;
export const DELETE_HORIZON_FLAG = 0x40;

export const TIMESTAMP_TYPE_CREATE_TIME = 0;
export const TIMESTAMP_TYPE_LOG_APPEND_TIME = 1;

export type CompressionCodec = "none" | "gzip" | "snappy" | "lz4" | "zstd";

/** The codec ids of attributes bits 0-2. */
export const COMPRESSION_CODEC_IDS: Readonly<Record<CompressionCodec, number>> = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
};

const CODECS_BY_ID: readonly CompressionCodec[] = ["none", "gzip", "snappy", "lz4", "zstd"];

/** The codec named by attribute bits 0-2, or undefined for ids 5-7. */
export function compressionCodecOf(attributes: number): CompressionCodec | undefined {
  return CODECS_BY_ID[attributes & COMPRESSION_CODEC_MASK];
}

/**
 * A compression codec of the whole records section. Both directions must
 * return fresh bytes (the input is a view into a buffer that is about to be
 * overwritten). `level` is the codec's compression level, -1 for its default.
 * The async variants, when a codec has them, keep large inputs off the event
 * loop (zlib's thread pool, or slices between turns of the loop).
 */
export interface Codec {
  compress(data: Uint8Array, level?: number): Buffer;
  decompress(data: Uint8Array): Buffer;
  compressAsync?(data: Uint8Array, level?: number): Promise<Buffer>;
  decompressAsync?(data: Uint8Array): Promise<Buffer>;
  /** Throws (RangeError) for a level the codec does not have; called by `begin()`. */
  checkLevel?(level: number): void;
}

const codecs = new Map<CompressionCodec, Codec>();
const unavailable = new Map<CompressionCodec, string>();

/** Installs (or replaces) the implementation of a codec. */
export function registerCodec(name: Exclude<CompressionCodec, "none">, codec: Codec): void {
  codecs.set(name, codec);
  unavailable.delete(name);
}

/**
 * Records why a codec cannot be had here (zstd on a Node without it), for the
 * error `getCodec` throws.
 */
export function markCodecUnavailable(
  name: Exclude<CompressionCodec, "none">,
  reason: string,
): void {
  codecs.delete(name);
  unavailable.set(name, reason);
}

/** The registered implementation of a codec; throws UNSUPPORTED_COMPRESSION when there is none. */
export function getCodec(name: Exclude<CompressionCodec, "none">): Codec {
  const codec = codecs.get(name);
  if (codec === undefined) {
    throw new ProtocolError(
      "UNSUPPORTED_COMPRESSION",
      unavailable.get(name) ??
        `compression codec '${name}' is not available (no implementation registered)`,
    );
  }
  return codec;
}

export type RecordData = Uint8Array | string;

export interface RecordHeader {
  key: string;
  value: RecordData | null;
}

/** Records cut from one buffer at a delimiter, sharing key, headers and timestamp. */
export interface DelimitedRun {
  /** The bytes holding the records, each followed by `delimiter`. */
  source: Buffer;
  /** One byte or more. */
  delimiter: Buffer;
  /** A CR before the delimiter is dropped too (CRLF lines). */
  stripCr: boolean;
  key: RecordData | null;
  headers: readonly RecordHeader[] | undefined;
  timestamp: number;
}

/**
 * Why `appendDelimited()` stopped: no complete record left, the record or
 * byte limit, or a value over the size limit.
 */
export type DelimitedStop = "end" | "records" | "bytes" | "too-large";

/** Records per round of `appendDelimited()`, and the scratch of their source spans. */
const MAX_SPANS = 4096;
const SPANS = new Int32Array(2 * MAX_SPANS);

export interface RecordBatchOptions {
  /** Timestamp deltas are relative to it; defaults to the first record's timestamp. */
  baseTimestamp?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  partitionLeaderEpoch?: number;
  transactional?: boolean;
  compression?: CompressionCodec;
  /** The codec's compression level; -1 (default) for the codec's own default. */
  compressionLevel?: number;
}

/** Zigzag varint width of an int32. */
export function varintSize(v: number): number {
  return uvarintSize(((v << 1) ^ (v >> 31)) >>> 0);
}

/** Zigzag varlong width of a safe-integer number. */
export function varlongSize(v: number): number {
  if (v >= -0x4000_0000 && v < 0x4000_0000) return varintSize(v);
  // zigzag(v) = 2u + sign; its bytes after the first are those of floor(u / 64).
  let rest = Math.floor((v < 0 ? -v - 1 : v) / 64);
  let n = 1;
  while (rest > 0) {
    rest = Math.floor(rest / 0x80);
    n++;
  }
  return n;
}

/** Writes a zigzag varint (int32) at `pos`; returns the position after it. No range checks. */
export function putVarint(buf: Buffer, pos: number, v: number): number {
  return putUvarint(buf, pos, ((v << 1) ^ (v >> 31)) >>> 0);
}

/** Writes a zigzag varlong of a safe-integer number at `pos`; returns the position after it. */
export function putVarlong(buf: Buffer, pos: number, v: number): number {
  if (v >= -0x4000_0000 && v < 0x4000_0000) return putVarint(buf, pos, v);
  // Beyond 31 bits, without 32-bit bit operators. zigzag(v) = 2u + sign with
  // u = v or -v - 1; 2u + 1 can pass 2^53, so it is never formed: its low 7 bits
  // are 2(u mod 64) + sign and the rest is floor(u / 64), both exact.
  const sign = v < 0 ? 1 : 0;
  const u = v < 0 ? -v - 1 : v;
  let rest = Math.floor(u / 64);
  buf[pos++] = ((u % 64) * 2 + sign) | (rest > 0 ? 0x80 : 0);
  while (rest > 0) {
    const b = rest % 0x80;
    rest = Math.floor(rest / 0x80);
    buf[pos++] = rest > 0 ? b | 0x80 : b;
  }
  return pos;
}

/**
 * Short ASCII strings are measured and copied in JS: cheaper than the two
 * native calls (byteLength, write) for keys and header names.
 */
const SHORT_STRING = 32;

function stringLength(s: string): number {
  const n = s.length;
  if (n > SHORT_STRING) return Buffer.byteLength(s, "utf8");
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, "utf8");
  return n;
}

function dataLength(data: RecordData | null | undefined): number {
  if (data == null) return -1;
  return typeof data === "string" ? stringLength(data) : data.length;
}

/** Writes a varint length (-1 for null) and the bytes; `len` is `dataLength(data)`. */
function putData(
  buf: Buffer,
  pos: number,
  data: RecordData | null | undefined,
  len: number,
): number {
  pos = putVarint(buf, pos, len);
  if (len <= 0) return pos;
  if (typeof data !== "string") buf.set(data as Uint8Array, pos);
  // UTF-8 length == UTF-16 length only when every unit is ASCII.
  else if (len <= SHORT_STRING && len === data.length) {
    for (let i = 0; i < len; i++) buf[pos + i] = data.charCodeAt(i);
  } else buf.write(data, pos, len, "utf8");
  return pos + len;
}

/** Writes a record's length, attributes, deltas and key; returns where its value goes. */
function putRecordHead(
  buf: Buffer,
  pos: number,
  size: number,
  timestampDelta: number,
  offsetDelta: number,
  key: RecordData | null | undefined,
  keyLen: number,
): number {
  pos = putVarint(buf, pos, size);
  buf[pos++] = 0; // record attributes (unused)
  pos = putVarlong(buf, pos, timestampDelta);
  pos = putVarint(buf, pos, offsetDelta);
  return putData(buf, pos, key, keyLen);
}

/**
 * Writes a long string value whose UTF-8 length is assumed to be its UTF-16
 * length (true exactly when it is all ASCII) at `pos`, with room for 4 bytes
 * more. Returns false when the assumption was wrong. One native call instead
 * of measuring first and writing after: UTF-8 is longer than UTF-16 for any
 * non-ASCII unit, and the writer stops only between whole characters (4 bytes
 * at most), so with `n + 4` bytes of room it writes exactly `n` bytes only
 * for an ASCII string.
 */
function putAsciiAssumed(buf: Buffer, pos: number, s: string): boolean {
  const n = s.length;
  return utf8Write(buf, s, pos, n + 4) === n;
}

type Utf8WriteMethod = (this: Buffer, s: string, offset: number, length: number) => number;
/** Node's and Bun's Buffer#utf8Write skips write()'s encoding argument; other runtimes use write(). */
const nativeUtf8Write = (Buffer.prototype as unknown as { utf8Write?: Utf8WriteMethod }).utf8Write;
const utf8Write: (buf: Buffer, s: string, offset: number, length: number) => number =
  typeof nativeUtf8Write === "function"
    ? (buf, s, offset, length) => nativeUtf8Write.call(buf, s, offset, length)
    : (buf, s, offset, length) => buf.write(s, offset, length, "utf8");

function dataSize(len: number): number {
  return len < 0 ? 1 : varintSize(len) + len;
}

/**
 * Writes one record batch into a `Writer`: `begin()`, `append()` per record,
 * `finish()`. Reusable: `begin()` again after `finish()` or `abort()`.
 */
export class RecordBatchBuilder {
  private w: Writer | null = null;
  private start = 0;
  private codec: Codec | null = null;
  private level = -1;
  /** A `finishAsync()` is compressing: the batch is frozen until it settles. */
  private sealing = false;
  /** Bumped by `abort()`, so a compression that finishes after it is dropped. */
  private generation = 0;
  private baseTimestamp = 0;
  private hasBaseTimestamp = false;
  private maxTimestamp = 0;
  private count = 0;
  /** Scratch for the header byte lengths of the record being appended. */
  private headerLens = new Int32Array(16);

  /** Writes the batch header with placeholders for the fields known at the end. */
  begin(w: Writer, options: RecordBatchOptions = {}): this {
    if (this.w !== null) throw new Error("record batch already begun; finish() or abort() it");
    const level = options.compressionLevel ?? -1;
    if (!Number.isInteger(level))
      throw new RangeError(`compression level must be an integer: ${level}`);
    const compression = options.compression ?? "none";
    if (!Object.hasOwn(COMPRESSION_CODEC_IDS, compression)) {
      throw new ProtocolError(
        "UNSUPPORTED_COMPRESSION",
        `unknown compression codec '${compression}'`,
      );
    }
    const codecId = COMPRESSION_CODEC_IDS[compression];
    const codec = compression === "none" ? null : getCodec(compression);
    codec?.checkLevel?.(level);
    this.codec = codec;
    this.level = level;
    this.hasBaseTimestamp = options.baseTimestamp !== undefined;
    this.baseTimestamp = options.baseTimestamp ?? 0;
    if (!Number.isSafeInteger(this.baseTimestamp)) {
      throw new RangeError(`baseTimestamp must be a safe integer: ${this.baseTimestamp}`);
    }
    this.maxTimestamp = this.baseTimestamp;
    this.count = 0;

    const start = w.reserve(BATCH_HEADER_SIZE);
    const buf = w.buf;
    try {
      buf.fill(0, start, start + BATCH_HEADER_SIZE); // baseOffset 0 and the placeholders
      buf.writeInt32BE(options.partitionLeaderEpoch ?? -1, start + PARTITION_LEADER_EPOCH_OFFSET);
      buf[start + MAGIC_OFFSET] = MAGIC_V2;
      buf.writeInt16BE(
        codecId | (options.transactional ? TRANSACTIONAL_FLAG : 0),
        start + ATTRIBUTES_OFFSET,
      );
      writeInt64At(buf, start + PRODUCER_ID_OFFSET, options.producerId ?? -1);
      buf.writeInt16BE(options.producerEpoch ?? -1, start + PRODUCER_EPOCH_OFFSET);
      buf.writeInt32BE(options.baseSequence ?? -1, start + BASE_SEQUENCE_OFFSET);
    } catch (e) {
      w.pos = start; // an out-of-range option: leave the writer as it was
      throw e;
    }
    this.w = w;
    this.start = start;
    return this;
  }

  /** Records appended since `begin()`. */
  get recordCount(): number {
    return this.count;
  }

  /** Bytes of the batch written so far (uncompressed). */
  get byteLength(): number {
    return this.w === null ? 0 : this.w.pos - this.start;
  }

  /** Appends one record, written immediately. `timestamp` is in ms (a safe integer). */
  append(
    key: RecordData | null | undefined,
    value: RecordData | null | undefined,
    timestamp: number,
    headers?: readonly RecordHeader[],
  ): this {
    const w = this.w;
    if (w === null) throw new Error("append() outside a record batch; call begin() first");
    if (this.sealing) throw new Error("append() while the batch is being compressed");
    if (!Number.isSafeInteger(timestamp)) {
      throw new RangeError(`record timestamp must be a safe integer: ${timestamp}`);
    }
    if (!this.hasBaseTimestamp) {
      this.baseTimestamp = timestamp;
      this.hasBaseTimestamp = true;
    }
    if (this.count === 0 || timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    const timestampDelta = timestamp - this.baseTimestamp;
    const offsetDelta = this.count;

    const keyLen = dataLength(key);
    // A long string value is taken to be ASCII and measured by writing it; when it
    // is not, the record is written again with its UTF-8 length.
    const assumeAscii = typeof value === "string" && value.length > SHORT_STRING;
    let valueLen = assumeAscii ? value.length : dataLength(value);
    const headerCount = headers === undefined ? 0 : headers.length;
    let size =
      1 +
      varlongSize(timestampDelta) +
      varintSize(offsetDelta) +
      dataSize(keyLen) +
      dataSize(valueLen) +
      varintSize(headerCount);
    let lens = this.headerLens;
    if (headerCount > 0) {
      if (lens.length < headerCount * 2) {
        lens = new Int32Array(headerCount * 4);
        this.headerLens = lens;
      }
      for (let i = 0; i < headerCount; i++) {
        const h = headers![i]!;
        if (typeof h.key !== "string") throw new TypeError("a record header key must be a string");
        const kl = stringLength(h.key);
        const vl = dataLength(h.value);
        lens[2 * i] = kl;
        lens[2 * i + 1] = vl;
        size += dataSize(kl) + dataSize(vl);
      }
    }
    if (size > 0x7fff_ffff) throw new RangeError(`record of ${size} bytes is too large`);

    w.ensure(5 + size + 4); // 4: the slack putAsciiAssumed() writes into
    let pos = putRecordHead(w.buf, w.pos, size, timestampDelta, offsetDelta, key, keyLen);
    if (assumeAscii && putAsciiAssumed(w.buf, putVarint(w.buf, pos, valueLen), value)) {
      pos += varintSize(valueLen) + valueLen;
    } else {
      if (assumeAscii) {
        // Not ASCII: the record again, with the value's UTF-8 length.
        const exact = Buffer.byteLength(value, "utf8");
        size += dataSize(exact) - dataSize(valueLen);
        valueLen = exact;
        if (size > 0x7fff_ffff) throw new RangeError(`record of ${size} bytes is too large`);
        w.ensure(5 + size);
        pos = putRecordHead(w.buf, w.pos, size, timestampDelta, offsetDelta, key, keyLen);
      }
      pos = putData(w.buf, pos, value, valueLen);
    }
    const buf = w.buf;
    pos = putVarint(buf, pos, headerCount);
    for (let i = 0; i < headerCount; i++) {
      const h = headers![i]!;
      pos = putData(buf, pos, h.key, lens[2 * i]!);
      pos = putData(buf, pos, h.value, lens[2 * i + 1]!);
    }
    w.pos = pos;
    this.count++;
    return this;
  }

  /** Why the last `appendDelimited()` returned. */
  delimitedStop: DelimitedStop = "end";

  /**
   * Appends the records delimited in `run.source[from, to)`, written straight
   * from the source (no view or object per record): each record's value is the
   * bytes before the next delimiter, all with the run's key, headers and
   * timestamp; empty ones are skipped. Stops at the first record that would
   * pass `maxRecords` records or `maxBytes` encoded bytes added by this call,
   * or whose value is longer than `maxValueBytes`, and at the last complete
   * record (bytes after the last delimiter are left). Returns the offset where
   * it stopped; `delimitedStop` says why.
   */
  appendDelimited(
    run: DelimitedRun,
    from: number,
    to: number,
    maxRecords: number,
    maxBytes: number,
    maxValueBytes: number,
  ): number {
    const w = this.w;
    if (w === null) throw new Error("append() outside a record batch; call begin() first");
    if (this.sealing) throw new Error("append() while the batch is being compressed");
    const { source, delimiter, stripCr, timestamp } = run;
    if (!Number.isSafeInteger(timestamp)) {
      throw new RangeError(`record timestamp must be a safe integer: ${timestamp}`);
    }
    const base = this.hasBaseTimestamp ? this.baseTimestamp : timestamp;
    // What every record of the run shares, encoded once: attributes and
    // timestamp delta before the offset delta, the key after it, the headers
    // after the value.
    const shared = this.sharedParts(run, timestamp - base);
    const headEnd = this.headEnd;
    const keyEnd = this.keyEnd;
    const tailEnd = this.tailEnd;
    const fixedLen = tailEnd; // head + key + tail
    const width = delimiter.length;
    const single = width === 1 ? delimiter[0]! : -1;
    const spans = SPANS;
    let pos = from;
    let taken = 0;
    let added = 0;
    let stop: DelimitedStop = "end";
    // In rounds: find a run of records and their encoded sizes, copy their
    // source bytes into the buffer once (staged far enough ahead that the
    // records written never reach the staged bytes still to be read), then
    // write each record, moving its value within the buffer (copyWithin: no
    // call into C++ per record).
    while (stop === "end") {
      const room = w.buf.length - w.pos;
      let k = 0;
      let first = -1;
      let written = 0;
      let ahead = 0;
      let round = false;
      while (k < MAX_SPANS) {
        const at = single >= 0 ? source.indexOf(single, pos) : source.indexOf(delimiter, pos);
        if (at < 0 || at + width > to) break;
        let end = at;
        if (stripCr && end > pos && source[end - 1] === 13) end--;
        const len = end - pos;
        if (len === 0) {
          pos = at + width;
          continue;
        }
        if (taken + k >= maxRecords) {
          stop = "records";
          break;
        }
        if (len > maxValueBytes) {
          stop = "too-large";
          break;
        }
        const body = fixedLen + varintSize(this.count + k) + varintSize(len) + len;
        const total = varintSize(body) + body;
        if (added + total > maxBytes) {
          stop = "bytes";
          break;
        }
        if (first < 0) first = pos;
        // How far the writing gets ahead of the source's bytes once this record is written.
        const lead = written + total - (pos - first);
        // A round that would need the buffer to grow ends here (a later round grows it if needed).
        if (k > 0 && Math.max(ahead, lead) + (end - first) > room) {
          round = true;
          break;
        }
        if (lead > ahead) ahead = lead;
        spans[2 * k] = pos;
        spans[2 * k + 1] = end;
        k++;
        written += total;
        added += total;
        pos = at + width;
      }
      if (k === 0) break;
      const last = spans[2 * k - 1]!;
      w.ensure(ahead + (last - first));
      const buf = w.buf;
      let p = w.pos;
      const staged = p + ahead - first;
      source.copy(buf, p + ahead, first, last);
      for (let i = 0; i < k; i++) {
        const start = spans[2 * i]!;
        const end = spans[2 * i + 1]!;
        const len = end - start;
        const body = fixedLen + varintSize(this.count) + varintSize(len) + len;
        p = putVarint(buf, p, body);
        for (let j = 0; j < headEnd; j++) buf[p++] = shared[j]!;
        p = putVarint(buf, p, this.count);
        for (let j = headEnd; j < keyEnd; j++) buf[p++] = shared[j]!;
        p = putVarint(buf, p, len);
        buf.copyWithin(p, staged + start, staged + end);
        p += len;
        for (let j = keyEnd; j < tailEnd; j++) buf[p++] = shared[j]!;
        this.count++;
      }
      w.pos = p;
      taken += k;
      if (!round && k < MAX_SPANS && stop === "end") break;
    }
    if (taken > 0) {
      if (!this.hasBaseTimestamp) {
        this.baseTimestamp = timestamp;
        this.hasBaseTimestamp = true;
        this.maxTimestamp = timestamp;
      } else if (timestamp > this.maxTimestamp || this.count === taken) {
        this.maxTimestamp = timestamp;
      }
    }
    this.delimitedStop = stop;
    return pos;
  }

  /** Scratch holding a run's shared record parts; `headEnd`, `keyEnd`, `tailEnd` cut it. */
  private shared = Buffer.alloc(64);
  private headEnd = 0;
  private keyEnd = 0;
  private tailEnd = 0;

  private sharedParts(run: DelimitedRun, timestampDelta: number): Buffer {
    const { key, headers } = run;
    const keyLen = dataLength(key);
    const headerCount = headers === undefined ? 0 : headers.length;
    let tailLen = varintSize(headerCount);
    for (let i = 0; i < headerCount; i++) {
      const h = headers![i]!;
      if (typeof h.key !== "string") throw new TypeError("a record header key must be a string");
      tailLen += dataSize(stringLength(h.key)) + dataSize(dataLength(h.value));
    }
    const headLen = 1 + varlongSize(timestampDelta);
    const need = headLen + dataSize(keyLen) + tailLen;
    if (this.shared.length < need) this.shared = Buffer.alloc(need * 2);
    const buf = this.shared;
    buf[0] = 0; // record attributes (unused)
    let p = putVarlong(buf, 1, timestampDelta);
    this.headEnd = p;
    p = putData(buf, p, key, keyLen);
    this.keyEnd = p;
    p = putVarint(buf, p, headerCount);
    for (let i = 0; i < headerCount; i++) {
      const h = headers![i]!;
      p = putData(buf, p, h.key, stringLength(h.key));
      p = putData(buf, p, h.value, dataLength(h.value));
    }
    this.tailEnd = p;
    return buf;
  }

  /**
   * Compresses the records when a codec is set, back-patches batchLength,
   * lastOffsetDelta, the timestamps and the count, then computes the CRC.
   * Returns the size of the whole batch in bytes; it ends at the writer's `pos`.
   */
  finish(): number {
    const w = this.checkFinish("finish");
    if (this.codec !== null) {
      const recordsStart = this.start + BATCH_HEADER_SIZE;
      this.putRecords(w, this.codec.compress(w.buf.subarray(recordsStart, w.pos), this.level));
    }
    return this.seal(w);
  }

  /**
   * `finish()` with the compression off the event loop when the codec can
   * (gzip and zstd in zlib's thread pool, lz4 in slices): resolves to the
   * batch size once it is sealed. Until then the batch is frozen (`append`,
   * `finish` and `begin` throw) and the writer must not be written to; it may
   * be `abort()`ed, which makes this reject. Without a codec, or with one that
   * has no async variant, it seals synchronously.
   */
  async finishAsync(): Promise<number> {
    const w = this.checkFinish("finishAsync");
    const codec = this.codec;
    if (codec === null || codec.compressAsync === undefined) return this.finish();
    const recordsStart = this.start + BATCH_HEADER_SIZE;
    const generation = this.generation;
    this.sealing = true;
    let compressed: Buffer;
    try {
      compressed = await codec.compressAsync(w.buf.subarray(recordsStart, w.pos), this.level);
    } finally {
      if (generation === this.generation) this.sealing = false;
    }
    if (generation !== this.generation || this.w !== w) {
      throw new Error("record batch aborted while it was being compressed");
    }
    this.putRecords(w, compressed);
    return this.seal(w);
  }

  private checkFinish(what: string): Writer {
    const w = this.w;
    if (w === null) throw new Error(`${what}() outside a record batch; call begin() first`);
    if (this.sealing) throw new Error(`${what}() while the batch is being compressed`);
    if (this.count === 0) throw new RangeError("a record batch needs at least one record");
    return w;
  }

  /** Replaces the uncompressed records with `compressed`. */
  private putRecords(w: Writer, compressed: Uint8Array): void {
    w.pos = this.start + BATCH_HEADER_SIZE;
    w.raw(compressed);
  }

  /** Back-patches the header fields and the CRC; ends the batch. */
  private seal(w: Writer): number {
    const start = this.start;
    const end = w.pos;
    const buf = w.buf;
    buf.writeInt32BE(end - start - BATCH_LOG_OVERHEAD, start + BATCH_LENGTH_OFFSET);
    buf.writeInt32BE(this.count - 1, start + LAST_OFFSET_DELTA_OFFSET);
    writeInt64At(buf, start + BASE_TIMESTAMP_OFFSET, this.baseTimestamp);
    writeInt64At(buf, start + MAX_TIMESTAMP_OFFSET, this.maxTimestamp);
    buf.writeInt32BE(this.count, start + RECORDS_COUNT_OFFSET);
    buf.writeUInt32BE(crc32c(buf, start + ATTRIBUTES_OFFSET, end), start + CRC_OFFSET);
    this.w = null;
    this.codec = null;
    return end - start;
  }

  /** Drops the batch being built: the writer goes back to where `begin()` found it. */
  abort(): void {
    if (this.w !== null) this.w.pos = this.start;
    this.w = null;
    this.codec = null;
    this.sealing = false;
    this.generation++;
  }
}

export interface RecordInput {
  key?: RecordData | null;
  value: RecordData | null;
  /** ms; defaults to the batch's baseTimestamp, or the time of the call. */
  timestamp?: number;
  headers?: readonly RecordHeader[];
}

/** Encodes one record batch from a list of records (a one-shot over `RecordBatchBuilder`). */
export function encodeRecordBatch(
  records: readonly RecordInput[],
  options: RecordBatchOptions = {},
): Buffer {
  const w = new Writer(BATCH_HEADER_SIZE + 64 * records.length);
  const builder = new RecordBatchBuilder().begin(w, options);
  const now = options.baseTimestamp ?? Date.now();
  for (const r of records) builder.append(r.key, r.value, r.timestamp ?? now, r.headers);
  builder.finish();
  return w.finish();
}
