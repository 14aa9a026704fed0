/**
 * The checks of what a caller passes to produce(), produceDelimited() and
 * metadata(), done before anything is queued or asked for: a bad argument
 * throws INVALID_ARG (a partition the topic lacks UNKNOWN_PARTITION) and
 * leaves the producer as it was.
 */

import { KafkaClientError } from "../client/client-error.js";
import type { RecordData, RecordHeader } from "../protocol/record-batch.js";
import { isValidTopicName, TOPIC_NAME_RULE } from "../protocol/topic-name.js";
import type { DelimitedRecords, DeliveryTally, ProducerRecord } from "./record.js";

/**
 * Checks a record's shape, value, key and headers; returns its topic (whose
 * name the caller checks when the topic is new to the producer).
 */
export function checkRecord(record: ProducerRecord): string {
  if (record === null || typeof record !== "object") {
    throw new KafkaClientError(
      "INVALID_ARG",
      `a record must be an object { topic, value, ... }, got ${record === null ? "null" : typeof record}`,
    );
  }
  const topic = record.topic;
  checkData(record.value, "value");
  checkData(record.key, "key");
  if (record.headers !== undefined) checkHeaders(record.headers);
  return topic;
}

/** produceDelimited()'s arguments, checked, with their defaults. */
export interface DelimitedArgs {
  topic: string;
  key: RecordData | null;
  headers: readonly RecordHeader[] | undefined;
  partition: number | undefined;
  /** The records' bytes (not copied). */
  data: Buffer;
  start: number;
  end: number;
  delimiter: Buffer;
  maxRecords: number;
}

/**
 * Checks produceDelimited()'s arguments but the topic name and partition
 * (the caller checks those as for produce()).
 */
export function checkDelimited(input: DelimitedRecords, tally: DeliveryTally): DelimitedArgs {
  if (input === null || typeof input !== "object") {
    throw new KafkaClientError("INVALID_ARG", "produceDelimited() needs { topic, data, ... }");
  }
  const { topic, key = null, headers, partition } = input;
  const data = asBuffer(input.data, "data");
  const start = input.start ?? 0;
  const end = input.end ?? data.length;
  if (
    !Number.isInteger(start) ||
    !Number.isInteger(end) ||
    start < 0 ||
    start > end ||
    end > data.length
  ) {
    throw new KafkaClientError(
      "INVALID_ARG",
      `invalid range [${start}, ${end}) of data of ${data.length} bytes`,
    );
  }
  const delimiter =
    typeof input.delimiter === "string"
      ? Buffer.from(input.delimiter)
      : asBuffer(input.delimiter ?? NEWLINE, "delimiter");
  if (delimiter.length === 0) throw new KafkaClientError("INVALID_ARG", "the delimiter is empty");
  checkData(key, "key");
  if (headers !== undefined) checkHeaders(headers);
  if (typeof tally !== "function") {
    throw new KafkaClientError("INVALID_ARG", "produceDelimited() needs a tally callback");
  }
  const maxRecords = input.maxRecords ?? Number.POSITIVE_INFINITY;
  if (!(maxRecords >= 0) || (Number.isFinite(maxRecords) && !Number.isInteger(maxRecords))) {
    throw new KafkaClientError("INVALID_ARG", `invalid maxRecords ${String(maxRecords)}`);
  }
  return { topic, key, headers, partition, data, start, end, delimiter, maxRecords };
}

/** A topic name Kafka accepts, or INVALID_ARG. */
export function checkTopicName(topic: unknown): void {
  if (!isValidTopicName(topic)) {
    throw new KafkaClientError(
      "INVALID_ARG",
      `invalid topic name ${JSON.stringify(topic)}: expected ${TOPIC_NAME_RULE}`,
    );
  }
}

const NEWLINE = Buffer.from("\n");

/** A partition number, and one the topic has when its count is known (UNKNOWN_PARTITION). */
export function checkPartition(
  topic: string,
  partition: number,
  partitionCount: number | undefined,
): void {
  if (!Number.isInteger(partition) || partition < 0) {
    throw new KafkaClientError(
      "INVALID_ARG",
      `invalid partition ${String(partition)} for topic "${topic}"`,
    );
  }
  if (partitionCount !== undefined && partitionCount > 0 && partition >= partitionCount) {
    throw new KafkaClientError(
      "UNKNOWN_PARTITION",
      `partition ${partition} does not exist in topic "${topic}", which has ${partitionCount} partition(s)`,
    );
  }
}

/** A Buffer over the same bytes (no copy). */
function asBuffer(data: unknown, what: string): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new KafkaClientError("INVALID_ARG", `${what} must be a Buffer or Uint8Array`);
}

/** Record data: a string, bytes or null. */
function checkData(data: unknown, what: string): void {
  if (data == null || typeof data === "string" || data instanceof Uint8Array) return;
  throw new KafkaClientError(
    "INVALID_ARG",
    `record ${what} must be a string, a Buffer/Uint8Array or null, got ${typeof data}`,
  );
}

/** Record headers: an array of { key: string, value: data }. */
function checkHeaders(headers: unknown): void {
  if (!Array.isArray(headers)) {
    throw new KafkaClientError("INVALID_ARG", "record headers must be an array of { key, value }");
  }
  for (const h of headers as { key?: unknown; value?: unknown }[]) {
    if (h === null || typeof h !== "object" || typeof h.key !== "string") {
      throw new KafkaClientError("INVALID_ARG", "every record header needs a string key");
    }
    checkData(h.value, `header "${h.key}" value`);
  }
}
