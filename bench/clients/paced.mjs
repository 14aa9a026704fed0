// The event-loop case's client: one of this project, KafkaJS or @platformatic/kafka (`client`)
// sends `rate` records/s of `valueSize`-byte event lines for `seconds`, compressed with `codec`,
// while perf_hooks.monitorEventLoopDelay() samples the event loop every millisecond.
//
// A timer fires every `tickMs`; each tick hands the client every record due since the start
// (dueRecords(): rate × elapsed, so a late tick catches up). This project gets them one
// produce() each; KafkaJS and @platformatic/kafka, which take arrays, get them as one send()
// call per tick, not awaited, at most `maxInFlight` calls outstanding (a tick that finds that
// many waits for the next; records over `maxArray` wait for another call). The histogram
// and the CPU clock run from the first tick to the end of the window; then the client is
// flushed (the CPU to the last delivery is reported too) and closed. One warm-up record,
// delivered before the window, connects the client and fetches the metadata.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { report, settings } from "../lib/client.mjs";
import { makeEventLines } from "../lib/data.mjs";
import { cpuSeconds, delaySummary, dueRecords } from "../lib/pacing.mjs";

const s = settings();
const codec = s.codec ?? "none";
const total = Math.round(s.rate * s.seconds);
const tickMs = s.tickMs ?? 10;
const warmupSeconds = s.warmupSeconds ?? 0;
const maxInFlight = s.maxInFlight ?? 4;
// A call carries at most two ticks' records, so a client that fell behind is not handed one
// huge array when it catches up, and at most 1.5 MB of values: the call is one Produce request,
// whose batch per partition (a third of it here) must stay under the broker's message.max.bytes
// (1 MB by default).
const maxArray =
  s.maxArray ??
  Math.max(
    1,
    Math.min(Math.ceil((s.rate * tickMs) / 1000) * 2, Math.floor(1_500_000 / s.valueSize)),
  );

/** Distinct event lines (compressible JSON, every one different) cycled through. */
const POOL_LINES = 16_384;
const values = makeEventLines(s.valueSize, POOL_LINES).map((l) => Buffer.from(l));
const valueAt = (i) => values[i % POOL_LINES];

let delivered = 0;
let failed = 0;
let firstError;
const fail = (n, err) => {
  failed += n;
  firstError ??= err?.message ?? String(err);
};

/**
 * The client behind one interface: `hand(from, to)` hands records [from, to) to it and
 * returns how many it took; `drain()` resolves when every record handed is confirmed.
 */
async function makeClient() {
  // The baseline: no client, the same timer and histogram, nothing handed.
  if (s.client === "idle") {
    return { hand: () => 0, drain: async () => {}, close: async () => {}, extra: () => ({}) };
  }
  if (s.client === "ours") {
    const { Producer } = await import("../../dist/index.js");
    let queueFull = 0;
    const producer = new Producer(
      {
        "bootstrap.servers": s.bootstrap,
        acks: s.acks,
        "linger.ms": s.lingerMs,
        "batch.size": s.batchBytes,
        "compression.codec": codec,
      },
      {
        onDelivery: (err) => {
          if (err) fail(1, err);
          else delivered++;
        },
      },
    );
    return {
      hand(from, to) {
        const { topic } = s;
        let i = from;
        try {
          for (; i < to; i++) producer.produce({ topic, value: valueAt(i) });
        } catch (err) {
          if (err?.code !== "QUEUE_FULL") throw err;
          queueFull++;
        }
        return i - from;
      },
      drain: () => producer.flush(300_000),
      close: () => producer.close(10_000),
      extra: () => ({ queueFull, stats: producer.stats() }),
    };
  }

  // The clients that take arrays: one call per tick, not awaited, a bounded number in flight.
  let send;
  let close;
  if (s.client === "kafkajs") {
    const { default: kafkajs } = await import("kafkajs");
    const { CompressionCodecs, CompressionTypes, Kafka, logLevel } = kafkajs;
    const types = {
      none: CompressionTypes.None,
      gzip: CompressionTypes.GZIP,
      snappy: CompressionTypes.Snappy,
      lz4: CompressionTypes.LZ4,
      zstd: CompressionTypes.ZSTD,
    };
    // GZIP is built in; the others need a plugin, and only kafkajs-snappy is installed here
    // (the orchestrator does not run lz4 and zstd for KafkaJS).
    if (codec === "snappy") {
      const { default: snappyCodec } = await import("kafkajs-snappy");
      CompressionCodecs[CompressionTypes.Snappy] = snappyCodec;
    }
    const kafka = new Kafka({
      clientId: "bench-paced-kafkajs",
      brokers: [s.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({
      allowAutoTopicCreation: false,
      maxInFlightRequests: maxInFlight,
    });
    await producer.connect();
    send = (messages) =>
      producer.send({ topic: s.topic, messages, acks: s.acks, compression: types[codec] });
    close = () => producer.disconnect();
  } else if (s.client === "platformatic") {
    const { ProduceAcks, Producer } = await import("@platformatic/kafka");
    const acks = s.acks === 1 ? ProduceAcks.LEADER : ProduceAcks.ALL;
    const producer = new Producer({
      clientId: "bench-paced-platformatic",
      bootstrapBrokers: [s.bootstrap],
      maxInflights: Math.max(5, maxInFlight),
      acks,
      compression: codec,
    });
    send = (messages) =>
      producer.send({ messages: messages.map((m) => ({ topic: s.topic, ...m })), acks });
    close = () => producer.close();
  } else {
    throw new Error(`unknown client ${s.client}`);
  }
  let inFlight = 0;
  let waits = 0;
  const outstanding = new Set();
  return {
    hand(from, to) {
      let i = from;
      while (i < to && inFlight < maxInFlight) {
        const n = Math.min(to - i, maxArray);
        const messages = new Array(n);
        for (let j = 0; j < n; j++) messages[j] = { value: valueAt(i + j) };
        inFlight++;
        const p = send(messages).then(
          () => {
            delivered += n;
          },
          (err) => fail(n, err),
        );
        const tracked = p.finally(() => {
          inFlight--;
          outstanding.delete(tracked);
        });
        outstanding.add(tracked);
        i += n;
      }
      if (i < to) waits++;
      return i - from;
    },
    drain: async () => {
      while (outstanding.size > 0) await Promise.all(outstanding);
    },
    close,
    extra: () => ({ maxInFlight, maxArray, inFlightWaits: waits }),
  };
}

const client = await makeClient();

// Warm-up: one record delivered (connection, metadata), outside the window and the counts.
if (s.client !== "idle") {
  client.hand(0, 1);
  await client.drain();
  if (failed > 0) throw new Error(`warm-up record failed: ${firstError}`);
  delivered = 0;
}

/**
 * Paces records from `first` on at s.rate for `seconds`, the delay histogram on; returns the
 * records handed, the window's length, its CPU (from `cpuStart`) and its delay summary.
 */
function pace(seconds, first, cpuStart) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  const target = Math.round(s.rate * seconds);
  const windowMs = seconds * 1000;
  let handed = 0;
  const t0 = performance.now();
  histogram.enable();
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - t0;
      const due = dueRecords(s.rate, elapsed, target);
      if (due > handed) handed += client.hand(first + handed, first + due);
      if (elapsed >= windowMs) {
        histogram.disable();
        clearInterval(timer);
        resolve({
          handed,
          seconds: (performance.now() - t0) / 1000,
          cpu: cpuSeconds(cpuStart, process.cpuUsage()),
          delay: delaySummary(histogram),
        });
      }
    }, tickMs);
  });
}

// Warm-up at the rate (not in the window): the first second of a process producing at
// 100,000/s runs before the JIT has compiled produce(), and its stalls (50-70 ms here) say
// how a cold process starts, not how the producer runs; they are reported apart.
let warmup;
if (s.client !== "idle" && warmupSeconds > 0) {
  warmup = await pace(warmupSeconds, 1, process.cpuUsage());
  await client.drain();
  if (failed > 0) throw new Error(`warm-up failed: ${firstError}`);
  delivered = 0;
}
const cpuStart = process.cpuUsage();
const t0 = performance.now();
// The window's records follow the warm-up's (value 0 went out first, alone).
const window = await pace(s.seconds, 1 + (warmup?.handed ?? 0), cpuStart);
const { handed, seconds: windowSeconds, cpu: cpuWindow, delay } = window;
await client.drain();
const toDeliveredSeconds = (performance.now() - t0) / 1000;
const cpuToDelivered = cpuSeconds(cpuStart, process.cpuUsage());
const extra = client.extra();
await client.close();
report({
  client: s.client,
  node: process.version,
  codec,
  rate: s.rate,
  valueSize: s.valueSize,
  tickMs,
  target: total,
  handed,
  delivered,
  failed,
  windowSeconds,
  achievedPerSec: handed / windowSeconds,
  toDeliveredSeconds,
  delayMs: delay,
  ...(warmup && {
    warmup: { seconds: warmup.seconds, handed: warmup.handed, delayMs: warmup.delay },
  }),
  cpu: {
    windowSeconds: cpuWindow,
    toDeliveredSeconds: cpuToDelivered,
    processSeconds: cpuSeconds({ user: 0, system: 0 }, process.cpuUsage()),
  },
  ...extra,
  ...(firstError && { firstError }),
});
