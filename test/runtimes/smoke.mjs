// The library half of the runtime smoke: run by each runtime under test (Node, Bun, Deno) as a
// plain ES module against the built package (dist/), by test/runtimes/run.mjs:
//
//   RUNTIME test/runtimes/smoke.mjs CONFIG.json
//
// CONFIG (written by run.mjs): { prefix, bootstrap, mtls: { bootstrap, ca, cert, key },
// saslSsl: { bootstrap, ca, username, password }, checks: [names], tracingChannels: [names] }.
//
// For each check it produces recordsFor(check) (records.mjs) to the topic `${prefix}-${check}`
// and prints one JSON line: { check, ok, topic, count, reports: [[i, partition, offset]...] } or
// { check, ok: false, error }. Whether the records are in Kafka, byte for byte, is not judged
// here: run.mjs reads each topic back with Apache Kafka's Java consumer.
import { readFileSync } from "node:fs";
import { Producer, silentLogger } from "../../dist/index.js";
import { recordsFor } from "./records.mjs";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const RECORDS = 200;
const CHECK_TIMEOUT_MS = 60_000;

function runtimeName() {
  if (process.versions.bun) return `bun ${process.versions.bun}`;
  if (process.versions.deno) return `deno ${process.versions.deno}`;
  return `node ${process.versions.node}`;
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no outcome within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Produces the check's records with `props`; resolves with the delivery reports. */
async function produceRecords(check, bootstrap, props) {
  const topic = `${config.prefix}-${check}`;
  const errors = [];
  const producer = new Producer(
    { "bootstrap.servers": bootstrap, "linger.ms": 5, "message.timeout.ms": 30_000, ...props },
    { logger: silentLogger, onError: (err) => errors.push(err.message) },
  );
  try {
    const records = recordsFor(check, RECORDS);
    const reports = await Promise.all(
      records.map((r, i) =>
        producer
          .send({ topic, key: r.key, value: r.value, headers: r.headers })
          .then((report) => [i, report.partition, report.offset]),
      ),
    );
    const left = await producer.flush(10_000);
    if (left > 0) throw new Error(`flush left ${left} records`);
    return { topic, count: records.length, reports };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const seen = [...new Set(errors)].slice(0, 2);
    throw new Error(seen.length ? `${why} (onError: ${seen.join("; ")})` : why);
  } finally {
    await producer.close(5_000);
  }
}

const CHECKS = {
  none: () => produceRecords("none", config.bootstrap, { "compression.codec": "none" }),
  gzip: () => produceRecords("gzip", config.bootstrap, { "compression.codec": "gzip" }),
  snappy: () => produceRecords("snappy", config.bootstrap, { "compression.codec": "snappy" }),
  lz4: () => produceRecords("lz4", config.bootstrap, { "compression.codec": "lz4" }),
  zstd: () => produceRecords("zstd", config.bootstrap, { "compression.codec": "zstd" }),
  idempotent: () =>
    produceRecords("idempotent", config.bootstrap, {
      "enable.idempotence": true,
      acks: "all",
      "max.in.flight.requests.per.connection": 5,
      "linger.ms": 0,
    }),
  mtls: () =>
    produceRecords("mtls", config.mtls.bootstrap, {
      "security.protocol": "ssl",
      "ssl.ca.location": config.mtls.ca,
      "ssl.certificate.location": config.mtls.cert,
      "ssl.key.location": config.mtls.key,
    }),
  "scram-sha-512-tls": () =>
    produceRecords("scram-sha-512-tls", config.saslSsl.bootstrap, {
      "security.protocol": "sasl_ssl",
      "ssl.ca.location": config.saslSsl.ca,
      "sasl.mechanisms": "SCRAM-SHA-512",
      "sasl.username": config.saslSsl.username,
      "sasl.password": config.saslSsl.password,
    }),
  tracing: async () => {
    // A subscriber on every channel the package exports (run.mjs passes their names
    // from dist/index.js): every message on any of them is counted while records are produced.
    const dc = await import("node:diagnostics_channel");
    const seen = new Map();
    const subs = [];
    for (const name of config.tracingChannels) {
      for (const n of [
        name,
        ...["start", "end", "asyncStart", "asyncEnd", "error"].map((e) => `tracing:${name}:${e}`),
      ]) {
        const fn = () => seen.set(n, (seen.get(n) ?? 0) + 1);
        dc.subscribe(n, fn);
        subs.push([n, fn]);
      }
    }
    try {
      const out = await produceRecords("tracing", config.bootstrap, {});
      if (seen.size === 0) {
        throw new Error(`no message on any of ${config.tracingChannels.join(", ")}`);
      }
      return { ...out, channels: Object.fromEntries(seen) };
    } finally {
      for (const [n, fn] of subs) dc.unsubscribe(n, fn);
    }
  },
};

console.log(JSON.stringify({ runtime: runtimeName() }));
for (const check of config.checks) {
  const run = CHECKS[check];
  if (!run) {
    console.log(JSON.stringify({ check, ok: false, error: `unknown check ${check}` }));
    continue;
  }
  const started = Date.now();
  try {
    const out = await withTimeout(run(), CHECK_TIMEOUT_MS, check);
    console.log(JSON.stringify({ check, ok: true, ms: Date.now() - started, ...out }));
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    console.log(JSON.stringify({ check, ok: false, ms: Date.now() - started, error }));
  }
}
// Nothing should keep a runtime alive now; exit explicitly so a leaked handle cannot hang the run.
process.exit(0);
