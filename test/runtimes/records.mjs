// The records the runtime smoke sends (smoke.mjs, under each runtime) and the runner expects
// back from Apache Kafka's Java consumer (run.mjs, under Node). Plain JavaScript, no imports,
// so every runtime loads it as it is.

/**
 * `n` records for the check `tag`: every tenth keyless, every seventh value long and
 * repetitive (so that each codec has something to compress), non-ASCII text in the others,
 * and two headers, the first of which (`i`) numbers the record.
 */
export function recordsFor(tag, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push({
      key: i % 10 === 9 ? null : `${tag}-key-${i}`,
      value:
        i % 7 === 0
          ? `${tag}:${"0123456789abcdef".repeat(64 + i)}`
          : `${tag} value ${i} ${"xyz".repeat(i % 40)} é € 😀`,
      headers: [
        { key: "i", value: String(i) },
        { key: "check", value: tag },
      ],
    });
  }
  return out;
}
