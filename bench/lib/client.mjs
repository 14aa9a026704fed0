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
