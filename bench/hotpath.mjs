// The hot path without the network, each figure beside the machine's own Buffer.copy speed:
//
// - producer: records through Producer.produce() -> accumulator -> Sender -> finished Produce
//   request frames written to /dev/null, answered by an in-process stand-in for the broker
//   connection (the real response encoder/decoder, no socket), down to the delivery reports;
// - encoder: records through RecordBatchBuilder and the Produce request encoder alone, the
//   same frames to /dev/null;
// - copy: the same values Buffer.copy'd one by one into a 1 MB arena (the ceiling: any encoder
//   must at least copy every value once);
// - crc32c: MB/s of the record batch checksum over 1 MB and 64 KB, ours beside the crc-32
//   package's (a dev dependency, for comparison) and Buffer.copy of as many bytes (the ceiling);
// - codecs: compression MB/s (input bytes per second) and ratio of none/snappy/lz4/zstd/gzip on
//   the records section of a real record batch of the JSON event lines the codec case sends
//   (64 KB and about 1 MB, the producer's default batch), beside the C libraries on the same
//   bytes at librdkafka's default levels (bench/codecs/cbench.c, compiled here with gcc; the
//   C row is skipped, with a line saying how to get it, where gcc or a library is missing).
//
//   node bench/hotpath.mjs [--value 100,1024] [--seconds S] [--parts records,crc32c,codecs] [--json]
//
// Runs from the built dist/ (npm run build first).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
  writevSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Cluster } from "../dist/client/cluster.js";
import { Producer } from "../dist/index.js";
import {
  ApiKey,
  compressSync,
  crc32c,
  decodeProduceRequest,
  encodeProduceRequest,
  encodeProduceResponse,
  encodeRequestFrame,
  Reader,
  RecordBatchBuilder,
  Writer,
  zstdAvailable,
} from "../dist/protocol/index.js";
import { makeEventLines, makeValues, POOL } from "./lib/data.mjs";
import { CODECS, codecLines } from "./lib/report.mjs";

const here = dirname(fileURLToPath(import.meta.url));

const MASK = POOL - 1;
/** Records produced per turn of the event loop, as bench/clients/ours.mjs does. */
const CHUNK = Number(process.env.BENCH_CHUNK ?? 1000) || Number.POSITIVE_INFINITY;
const PARTITIONS = 3;
const PRODUCE_VERSION = 12;
const devNull = openSync("/dev/null", "w");

/**
 * Runs `fn(n)` (n records) in 5 timed passes of seconds/5 each after a warm-up pass and
 * returns the best pass's records/s: on a shared machine other work only ever slows a pass.
 */
function rateOf(fn, chunk, seconds) {
  fn(chunk); // warm-up
  let best = 0;
  for (let pass = 0; pass < 5; pass++) {
    let done = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (elapsed < (seconds * 1000) / 5) {
      fn(chunk);
      done += chunk;
      elapsed = performance.now() - t0;
    }
    best = Math.max(best, (done * 1000) / elapsed);
  }
  return best;
}

/** The same for an asynchronous `fn(records)`: the best of `passes` after a warm-up. */
async function asyncRateOf(fn, records, passes = 3) {
  await fn(Math.max(1, Math.floor(records / 4))); // warm-up
  let best = 0;
  for (let pass = 0; pass < passes; pass++) {
    const t0 = performance.now();
    await fn(records);
    best = Math.max(best, (records * 1000) / (performance.now() - t0));
  }
  return best;
}

/** Buffer.copy of each value into a 1 MB arena: the per-record ceiling. */
function copyRecords(values) {
  const arena = Buffer.allocUnsafe(1 << 20);
  const size = values[0].length;
  let pos = 0;
  let i = 0;
  return (n) => {
    for (let k = 0; k < n; k++) {
      if (pos + size > arena.length) pos = 0;
      values[i++ & MASK].copy(arena, pos);
      pos += size;
    }
  };
}

/**
 * What the producer does per request, without the producer around it: one record batch per
 * partition (up to batchRecords records or batchBytes), then the Produce request frame.
 */
function encodeRecords(values, batchRecords = 10_000, batchBytes = 1_000_000) {
  const builders = [];
  const writers = [];
  for (let p = 0; p < PARTITIONS; p++) {
    builders.push(new RecordBatchBuilder());
    writers.push(new Writer(256 * 1024));
  }
  const size = values[0].length;
  const perBatch = Math.max(1, Math.min(batchRecords, Math.floor(batchBytes / (size + 16))));
  let i = 0;
  let correlationId = 0;
  return (n) => {
    let left = n;
    while (left > 0) {
      const partitionData = [];
      for (let p = 0; p < PARTITIONS && left > 0; p++) {
        const w = writers[p].reset();
        const b = builders[p].begin(w);
        const now = Date.now();
        const count = Math.min(perBatch, left);
        for (let k = 0; k < count; k++) b.append(null, values[i++ & MASK], now);
        b.finish();
        const records = w.finish();
        partitionData.push({ index: p, records });
        left -= count;
      }
      // As the producer's Sender: the batches spliced in by reference, one vectored write.
      const w = new Writer(128 + 64 * PARTITIONS).beginSplicing();
      encodeRequestFrame(
        w,
        {
          apiKey: ApiKey.Produce,
          apiVersion: PRODUCE_VERSION,
          correlationId: ++correlationId,
          clientId: "bench",
        },
        (w) =>
          encodeProduceRequest(w, PRODUCE_VERSION, {
            transactionalId: null,
            acks: 1,
            timeoutMs: 30_000,
            topicData: [{ name: "bench", partitionData }],
          }),
      );
      writevSync(devNull, w.chunks());
    }
  };
}

/**
 * A stand-in for a broker connection: frames each request as the real connection does
 * (header, body, batches spliced by reference), writes it to /dev/null, decodes it as a
 * broker would (to learn its partitions) and answers on the next turn of the event loop with
 * a real encoded Produce response through the producer's own decoder.
 */
function fakeConnection(maxInFlight) {
  let inFlight = 0;
  let correlationId = 0;
  const offsets = new Map();
  return {
    address: "null-sink:0",
    lastRttMs: 0,
    throttledUntil: 0,
    brokerVersions: new Map([[ApiKey.Produce, { min: 3, max: PRODUCE_VERSION }]]),
    get inFlight() {
      return inFlight;
    },
    canSend: () => inFlight < maxInFlight,
    throttle() {},
    send(request, callback) {
      const version = request.apiVersion;
      const w = new Writer(request.sizeHint ?? 256).beginSplicing();
      encodeRequestFrame(
        w,
        {
          apiKey: request.apiKey,
          apiVersion: version,
          correlationId: ++correlationId,
          clientId: "bench",
        },
        () => request.encode(w),
      );
      // One vectored write, as the real connection does; a broker reads it into one
      // buffer, so the stand-in joins the chunks to decode (one copy per request).
      const chunks = w.chunks();
      writevSync(devNull, chunks);
      const frame =
        chunks.length === 1
          ? Buffer.from(chunks[0].buffer, chunks[0].byteOffset, chunks[0].length)
          : Buffer.concat(chunks);
      // size(4) api_key(2) api_version(2) correlation_id(4) client_id(2 + n) tagged fields (v2)
      const r = new Reader(frame, 12 + 2 + frame.readInt16BE(12));
      r.taggedFields();
      const produce = decodeProduceRequest(r, version);
      const out = new Writer(256);
      encodeProduceResponse(out, version, {
        responses: produce.topicData.map((t) => ({
          name: t.name,
          topicId: t.topicId,
          partitionResponses: t.partitionData.map((p) => {
            const key = `${t.name}-${p.index}`;
            const base = offsets.get(key) ?? 0;
            offsets.set(key, base + p.records.readInt32BE(57));
            return {
              index: p.index,
              errorCode: 0,
              baseOffset: base,
              logAppendTimeMs: -1,
              logStartOffset: 0,
              recordErrors: [],
              errorMessage: null,
              currentLeader: null,
            };
          }),
        })),
        throttleTimeMs: 0,
        nodeEndpoints: [],
      });
      const body = out.finish();
      inFlight++;
      setImmediate(() => {
        inFlight--;
        if (request.decode === undefined) callback(null);
        else callback(null, request.decode(new Reader(body)));
      });
    },
  };
}

/**
 * A Producer whose cluster answers from memory: one broker (node 0) leading the PARTITIONS
 * partitions of every topic, reached through fakeConnection(). The Cluster class is patched
 * before the producer is made (its instance is private); if the class changes shape this
 * throws rather than measure something else.
 */
function nullSinkProducer(values, acks = 1) {
  let delivered = 0;
  let paused = false;
  let resume;
  const proto = Cluster.prototype;
  for (const name of ["connection", "anyConnection", "requestRefresh", "want"]) {
    if (typeof proto[name] !== "function") {
      throw new Error(`bench/hotpath.mjs: Cluster.${name}() is gone; update nullSinkProducer()`);
    }
  }
  let conn;
  proto.connection = () => conn;
  proto.anyConnection = () => conn;
  proto.requestRefresh = () => {};
  proto.want = function want(topic) {
    this.topics.set(topic, {
      name: topic,
      topicId: "",
      errorCode: 0,
      partitions: Array.from({ length: PARTITIONS }, () => ({
        leader: 0,
        leaderEpoch: 0,
        errorCode: 0,
      })),
      updatedAt: Date.now(),
    });
  };
  const producer = new Producer(
    { "bootstrap.servers": "127.0.0.1:9", acks, "linger.ms": 5, "compression.codec": "none" },
    {
      onDelivery: (err) => {
        if (err) throw err;
        delivered++;
        if (paused && producer.queueLength <= lowWater) {
          paused = false;
          setImmediate(resume);
        }
      },
    },
  );
  const lowWater = Math.floor(producer.config["queue.buffering.max.messages"] / 2);
  conn = fakeConnection(producer.config["max.in.flight.requests.per.connection"]);
  const topic = "bench";
  let i = 0;
  const run = (n) =>
    new Promise((resolve, reject) => {
      const target = delivered + n;
      let sent = 0;
      resume = () => {
        const stop = Math.min(n, sent + CHUNK);
        try {
          while (sent < stop) {
            producer.produce({ topic, value: values[i++ & MASK] });
            sent++;
          }
        } catch (err) {
          i--;
          if (err?.code !== "QUEUE_FULL") {
            reject(err);
            return;
          }
          paused = true;
          return;
        }
        if (sent < n) {
          setImmediate(resume);
          return;
        }
        producer.flush(60_000).then(() => {
          if (delivered === target) resolve();
          else reject(new Error(`delivered ${delivered}, expected ${target}`));
        }, reject);
      };
      resume();
    });
  return { run, close: () => producer.close(1000) };
}

/** The crc-32 package's CRC-32C (a dev dependency now), or undefined where it is not installed. */
function packageCrc32c() {
  try {
    const CRC32C = createRequire(import.meta.url)("crc-32/crc32c.js");
    return (buf) => CRC32C.buf(buf, 0) >>> 0;
  } catch {
    return undefined;
  }
}

/** MB/s of `fn()` over `bytes` bytes a call: the best of 5 passes. */
function mbps(fn, bytes, seconds) {
  const calls = Math.max(1, Math.floor((1 << 22) / bytes)); // about 4 MB a turn
  return (
    (rateOf(
      (n) => {
        for (let k = 0; k < n; k++) fn();
      },
      calls,
      seconds,
    ) *
      bytes) /
    1e6
  );
}

/** CRC-32C MB/s over 1 MB and 64 KB: ours, the crc-32 package's, and Buffer.copy of as many bytes. */
function crcFigures(seconds) {
  const block = Buffer.concat(makeValues(1024));
  const pkg = packageCrc32c();
  const sizes = [];
  let sink = 0;
  for (const bytes of [1 << 20, 1 << 16]) {
    // At byte 1 of the arena, as a batch's CRC range starts unaligned (at byte 21 of the batch).
    const arena = Buffer.concat([block, block]).subarray(0, bytes + 1);
    const data = arena.subarray(1);
    const dst = Buffer.allocUnsafe(bytes);
    const ours = mbps(
      () => {
        sink ^= crc32c(data);
      },
      bytes,
      seconds,
    );
    if (pkg !== undefined && pkg(data) !== crc32c(data)) {
      throw new Error("bench/hotpath.mjs: crc32c disagrees with the crc-32 package");
    }
    const theirs =
      pkg === undefined
        ? null
        : mbps(
            () => {
              sink ^= pkg(data);
            },
            bytes,
            seconds,
          );
    const copy = mbps(() => data.copy(dst), bytes, seconds);
    sizes.push({ blockBytes: bytes, crc32cMBps: ours, crc32cPackageMBps: theirs, copyMBps: copy });
  }
  // The keys of the 1 MB figures as before, the sizes beside them.
  return { ...sizes[0], checksum: sink >>> 0, sizes };
}

/**
 * The uncompressed records section of one record batch of 100 B event lines, as the producer
 * hands it to the codec: a batch built by RecordBatchBuilder without compression, past its
 * 61-byte header, of at most `bytes` bytes.
 */
function recordsSection(bytes) {
  const lines = makeEventLines(100, Math.ceil(bytes / 100)).map((l) => Buffer.from(l));
  const w = new Writer(bytes + 1024);
  const b = new RecordBatchBuilder().begin(w);
  const now = Date.now();
  for (const line of lines) {
    if (b.byteLength - 61 + line.length + 16 > bytes) break;
    b.append(null, line, now);
  }
  b.finish();
  return Buffer.from(w.finish().subarray(61));
}

/** The C codecs' figures on `file`, or { skipped } saying why there are none and how to get them. */
function cCodecs(file, seconds) {
  const how =
    "to get the C row: apt-get install gcc libsnappy-dev liblz4-dev libzstd-dev zlib1g-dev";
  const source = join(here, "codecs", "cbench.c");
  const hash = createHash("sha256").update(readFileSync(source)).digest("hex").slice(0, 12);
  const dir = join(tmpdir(), "event-kafka-cbench");
  const exe = join(dir, `cbench-${hash}`);
  try {
    if (!existsSync(exe)) {
      mkdirSync(dir, { recursive: true });
      execFileSync("gcc", ["-O2", "-o", exe, source, "-lsnappy", "-llz4", "-lzstd", "-lz"], {
        stdio: ["ignore", "ignore", "pipe"],
      });
    }
  } catch (e) {
    const why = e.code === "ENOENT" ? "no gcc" : String(e.stderr ?? e.message).split("\n")[0];
    return { skipped: `C codecs skipped (${why}); ${how}` };
  }
  try {
    return JSON.parse(execFileSync(exe, [file, String(seconds)], { encoding: "utf8" }));
  } catch (e) {
    return { skipped: `C codecs failed (${String(e.stderr || e.message).trim()}); ${how}` };
  }
}

/** Compression MB/s and ratio of each codec, ours and the C libraries', on the same records. */
function codecFigures(seconds) {
  const sizes = [];
  let cSkipped;
  for (const bytes of [1 << 16, 1 << 20]) {
    const data = recordsSection(bytes);
    const ours = {};
    for (const codec of CODECS) {
      if (codec === "zstd" && !zstdAvailable()) {
        ours[codec] = null;
        continue;
      }
      if (codec === "none") {
        // No codec, no work: the row is a copy into a buffer made once, as C's memcpy row.
        const dst = Buffer.allocUnsafe(data.length);
        ours[codec] = { MBps: mbps(() => data.copy(dst), data.length, seconds), ratio: 1 };
        continue;
      }
      const len = compressSync(codec, data).length;
      ours[codec] = {
        MBps: mbps(() => compressSync(codec, data), data.length, seconds),
        ratio: data.length / len,
      };
    }
    const file = join(tmpdir(), `event-kafka-records-${process.pid}-${bytes}.bin`);
    writeFileSync(file, data);
    const c = cCodecs(file, seconds);
    if (c.skipped !== undefined) cSkipped = c.skipped;
    sizes.push({ inputBytes: data.length, ours, c: c.skipped === undefined ? c : null });
  }
  return { level: "default", sizes, cSkipped };
}

export async function hotpath({
  valueSizes = [100, 1024],
  seconds = 1,
  parts = ["records", "crc32c", "codecs"],
} = {}) {
  const results = { records: [], crc32c: undefined };
  for (const size of parts.includes("records") ? valueSizes : []) {
    const values = makeValues(size);
    const chunk = size <= 128 ? 100_000 : 20_000;
    const copy = rateOf(copyRecords(values), chunk, seconds);
    const encoder = rateOf(encodeRecords(values), chunk, seconds);
    const p = nullSinkProducer(values);
    const producerRate = await asyncRateOf(p.run, size <= 128 ? 1_000_000 : 250_000);
    await p.close();
    results.records.push({
      valueSize: size,
      copyRecordsPerSec: copy,
      encoderRecordsPerSec: encoder,
      producerRecordsPerSec: producerRate,
    });
  }
  if (parts.includes("crc32c")) results.crc32c = crcFigures(seconds);
  if (parts.includes("codecs")) results.codecs = codecFigures(seconds);
  closeSync(devNull);
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const opt = (name) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const value = opt("--value");
  const out = await hotpath({
    valueSizes: value ? value.split(",").map(Number) : [100, 1024],
    seconds: Number(opt("--seconds") ?? 1),
    parts: opt("--parts")?.split(","),
  });
  if (args.includes("--json")) process.stdout.write(`${JSON.stringify(out)}\n`);
  else {
    const f = (n) => Math.round(n).toLocaleString("en-US");
    for (const r of out.records) {
      console.log(
        `${r.valueSize} B values: producer ${f(r.producerRecordsPerSec)} rec/s, encoder ${f(r.encoderRecordsPerSec)} rec/s, Buffer.copy ${f(r.copyRecordsPerSec)} rec/s`,
      );
    }
    for (const c of out.crc32c?.sizes ?? []) {
      const pkg = c.crc32cPackageMBps === null ? "n/a" : f(c.crc32cPackageMBps);
      console.log(
        `crc32c ${f(c.crc32cMBps)} MB/s (crc-32 package ${pkg}), Buffer.copy ${f(c.copyMBps)} MB/s (${c.blockBytes >> 10} KB blocks)`,
      );
    }
    if (out.codecs) for (const line of codecLines(out.codecs)) console.log(line);
  }
}
