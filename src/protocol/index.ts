/**
 * `event-kafka/protocol`: the hand-written Kafka wire protocol layer, for people
 * who write their own protocol tests or tools. It knows nothing of sockets.
 *
 * - Primitives: `Writer`, `Reader` (every decoder throws only `ProtocolError`).
 * - Framing: request/response headers, `encodeRequestFrame`, `FrameSplitter`.
 * - APIs: ApiVersions v0-v3, Metadata v1-v12, Produce v3-v13, InitProducerId v0-v5,
 *   SaslHandshake v0-v1, SaslAuthenticate v0-v2, and `pickVersion`.
 * - Transaction APIs: FindCoordinator v0-v6, AddPartitionsToTxn v0-v3,
 *   AddOffsetsToTxn v0-v4, EndTxn v0-v5, TxnOffsetCommit v0-v5.
 * - Record batch v2 (`RecordBatchBuilder`, `encodeRecordBatch`, `decodeRecordBatch`), CRC32C.
 * - Compression codecs gzip, snappy, lz4 and zstd (registered on import), xxHash32.
 * - The error-code table (`ErrorCode`, `errorByCode`, `KafkaProtocolError`).
 */
export * from "./add-offsets-to-txn.js";
export * from "./add-partitions-to-txn.js";
export * from "./api-keys.js";
export * from "./api-versions.js";
export * from "./compression/index.js";
export { crc32c } from "./crc32c.js";
export * from "./end-txn.js";
export * from "./errors.js";
export * from "./find-coordinator.js";
export * from "./frame.js";
export * from "./headers.js";
export * from "./init-producer-id.js";
export * from "./metadata.js";
export * from "./produce.js";
export * from "./protocol-error.js";
export * from "./reader.js";
export * from "./record-batch.js";
export * from "./record-batch-decoder.js";
export * from "./sasl-authenticate.js";
export * from "./sasl-handshake.js";
export * from "./topic-name.js";
export * from "./txn-offset-commit.js";
export * from "./versions.js";
export * from "./writer.js";
