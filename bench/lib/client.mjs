// What every in-process client shares: its settings (a JSON argument from bench/run.mjs) and
// its one line of JSON output.

/**
 * @typedef {object} ClientSettings
 * @property {string} bootstrap   host:port of the broker
 * @property {string} topic       a fresh topic of 3 partitions
 * @property {number} records     how many records to send
 * @property {number} valueSize   bytes per value
 * @property {number} acks        1 or -1
 * @property {number} lingerMs    where the client has a linger
 * @property {number} batchBytes  where the client has a batch size in bytes
 * @property {number} [batchRecords]  records per call, for the clients that send arrays
 * @property {number} [concurrency]   calls in flight, for the clients that send arrays
 * @property {string} [dataFile]  send this file's lines instead of the generated pool
 * @property {string} [codec]     compression.codec (default none)
 * @property {string} [caFile]    TLS: `bootstrap` is an SSL listener whose certificate this CA signed
 */

/** @returns {ClientSettings} */
export function settings() {
  const arg = process.argv[2];
  if (!arg) {
    process.stderr.write(`usage: node ${process.argv[1]} '<settings JSON>'\n`);
    process.exit(2);
  }
  return JSON.parse(arg);
}

/**
 * Prints the result: `seconds` runs from the first record handed to the client to the last
 * delivery confirmed; the process's own rusage rides along as a cross-check.
 */
export function report(result) {
  const ru = process.resourceUsage();
  process.stdout.write(
    `${JSON.stringify({
      ...result,
      self: { maxRssKb: ru.maxRSS, cpuSeconds: (ru.userCPUTime + ru.systemCPUTime) / 1e6 },
    })}\n`,
  );
}

/**
 * The array-per-call pattern of the clients without linger (KafkaJS,
 * @platformatic/kafka): `concurrency` workers each take the next `batchRecords`
 * records and await `send(start, count)`, until `records` are sent. Returns the
 * counts and the wall time of the whole run.
 */
export async function runArrayWorkers({ records, batchRecords, concurrency, send }) {
  let next = 0;
  let delivered = 0;
  let failed = 0;
  let firstError;
  async function worker() {
    while (next < records) {
      const start = next;
      const count = Math.min(batchRecords, records - start);
      next += count;
      try {
        await send(start, count);
        delivered += count;
      } catch (err) {
        failed += count;
        firstError ??= err.message;
      }
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  return { delivered, failed, seconds, ...(firstError && { firstError }) };
}
