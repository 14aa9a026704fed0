// The records every client sends: the same values in the same order, generated here for the
// in-process clients and written to a file (one value per line) for the file-fed ones.

import { once } from "node:events";
import { createWriteStream } from "node:fs";

/** Distinct values cycled through; a power of two so `i & (POOL - 1)` picks one. */
export const POOL = 1024;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/**
 * POOL distinct values of `size` printable bytes (no newline, so they are lines too),
 * from a fixed-seed xorshift32: every run and every client sends the same bytes.
 */
export function makeValues(size) {
  let s = 0x9e3779b9 ^ size;
  const values = [];
  for (let v = 0; v < POOL; v++) {
    const b = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      b[i] = ALPHABET.charCodeAt(s & 63);
    }
    values.push(b);
  }
  return values;
}

/** `count` distinct keys, "key-" and six digits: the keyed cases' keys, as text and lines. */
export function makeKeys(count) {
  return Array.from({ length: count }, (_, i) => `key-${String(i).padStart(6, "0")}`);
}

/** Writes `records` lines (value i is values[i % POOL]) to `file`. */
export async function writeDataFile(file, size, records) {
  const values = makeValues(size);
  const cycle = Buffer.concat(values.flatMap((v) => [v, Buffer.from("\n")]));
  const out = createWriteStream(file);
  const fullCycles = Math.floor(records / POOL);
  for (let c = 0; c < fullCycles; c++) {
    if (!out.write(cycle)) await once(out, "drain");
  }
  const rest = records - fullCycles * POOL;
  if (rest > 0) out.write(cycle.subarray(0, rest * (size + 1)));
  out.end();
  await once(out, "finish");
}

// ---------------------------------------------------------------------------------------------
// Compressible records for the codec case: JSON-RPC event lines as a service would log them,
// every one distinct (a sequence number, addresses and ids drawn from a fixed-seed xorshift32),
// each exactly `size` bytes. Random printable bytes (above) are what a compressor cannot
// shrink; these are what a user would compress.

const METHODS = [
  // name, weight: a few events dominate, as in real traffic
  ["E_AUTH_OK", 8],
  ["E_PIKE_BLOCKED", 5],
  ["E_SESSION_OPEN", 4],
  ["E_SESSION_CLOSE", 4],
  ["E_AUTH_FAILED", 3],
  ["E_PIKE_UNBLOCKED", 2],
  ["E_RATE_LIMITED", 2],
  ["E_CONFIG_RELOAD", 1],
].flatMap(([name, weight]) => Array(weight).fill(name));
const COUNTRIES = ["DE", "FR", "NL", "US", "GB", "PL", "SE", "IT", "ES", "BR", "IN", "JP"];
const WORDS = ["request", "rejected", "by", "rule", "after", "too", "many", "attempts", "from"];
const HEX = "0123456789abcdef";

/** Smallest value size makeEventLines() can fill: the longest method, address and sequence. */
export const EVENT_MIN_SIZE = 96;

function* eventLines(size) {
  if (size < EVENT_MIN_SIZE) throw new RangeError(`event values need ${EVENT_MIN_SIZE}+ bytes`);
  let s = 0x2545f491 ^ size;
  const rand = (n) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
  for (let seq = 100_000; ; seq++) {
    const method = METHODS[rand(METHODS.length)];
    const ip = `10.0.${rand(8)}.${1 + rand(254)}`;
    let line = `{"jsonrpc":"2.0","method":"${method}","params":{"ip":"${ip}","seq":${seq}`;
    // Optional fields while they fit, leaving room for the id that pads to the exact size.
    const optional = [
      `,"port":${1024 + rand(64_512)}`,
      `,"host":"edge-${String(rand(24)).padStart(2, "0")}"`,
      `,"cc":"${COUNTRIES[rand(COUNTRIES.length)]}"`,
      `,"rule":"pike-${rand(40)}"`,
      `,"path":"/api/v2/session/${rand(100_000)}"`,
    ];
    const room = () => size - line.length - 2 - ',"id":""'.length - 1; // "}}", id >= 1 char
    for (const field of optional) if (field.length <= room()) line += field;
    if (room() > 24) {
      let msg = ',"msg":"';
      while (msg.length + 12 <= room()) msg += `${WORDS[rand(WORDS.length)]} `;
      line += `${msg.trimEnd()}"`;
    }
    let id = "";
    for (let n = size - line.length - 2 - ',"id":""'.length; n > 0; n--) id += HEX[rand(16)];
    line += `,"id":"${id}"}}`;
    yield line;
  }
}

/** `count` event lines of exactly `size` bytes each (ASCII, no newline). */
export function makeEventLines(size, count) {
  const out = [];
  for (const line of eventLines(size)) {
    if (out.length === count) break;
    out.push(line);
  }
  return out;
}

/** Writes `records` event lines of `size` bytes to `file`, one per line. */
export async function writeEventFile(file, size, records) {
  const out = createWriteStream(file);
  const gen = eventLines(size);
  let chunk = [];
  for (let i = 0; i < records; i++) {
    chunk.push(gen.next().value);
    if (chunk.length === 4096 || i === records - 1) {
      if (!out.write(`${chunk.join("\n")}\n`)) await once(out, "drain");
      chunk = [];
    }
  }
  out.end();
  await once(out, "finish");
}
