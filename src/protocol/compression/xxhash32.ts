/**
 * xxHash32 (Yann Collet's XXH32), the checksum of the LZ4 frame format: the
 * frame descriptor's header checksum is `(xxh32(descriptor, 0) >> 8) & 0xff`,
 * and the optional block and content checksums are whole xxh32 values.
 *
 * Four 32-bit lanes over 16-byte stripes, then the 4-byte and 1-byte tails and
 * an avalanche. All arithmetic is mod 2^32 via `Math.imul` and `>>> 0`.
 */

const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

/** From this length the stripes are read through a DataView. */
const VIEW_MIN = 256;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function read32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

function round(acc: number, lane: number): number {
  acc = (acc + Math.imul(lane, PRIME2)) | 0;
  return Math.imul(rotl(acc, 13), PRIME1);
}

/** The four lanes after `stripes`. */
const lanes = new Int32Array(4);

/**
 * Runs the lanes over the 16-byte stripes of `[i, limit + 16)`, each word one
 * 32-bit load; leaves them in `lanes` and returns where the stripes end.
 */
function stripes(view: DataView, i: number, limit: number, seed: number): number {
  let v1 = (seed + PRIME1 + PRIME2) | 0;
  let v2 = (seed + PRIME2) | 0;
  let v3 = seed | 0;
  let v4 = (seed - PRIME1) | 0;
  while (i <= limit) {
    v1 = round(v1, view.getInt32(i, true));
    v2 = round(v2, view.getInt32(i + 4, true));
    v3 = round(v3, view.getInt32(i + 8, true));
    v4 = round(v4, view.getInt32(i + 12, true));
    i += 16;
  }
  lanes[0] = v1;
  lanes[1] = v2;
  lanes[2] = v3;
  lanes[3] = v4;
  return i;
}

/** xxh32 of `data[start, end)`, as an unsigned 32-bit number. */
export function xxh32(data: Uint8Array, seed = 0, start = 0, end = data.length): number {
  const len = end - start;
  let i = start;
  let h: number;
  if (len >= VIEW_MIN) {
    i = stripes(new DataView(data.buffer, data.byteOffset, data.byteLength), i, end - 16, seed);
    h = (rotl(lanes[0]!, 1) + rotl(lanes[1]!, 7) + rotl(lanes[2]!, 12) + rotl(lanes[3]!, 18)) | 0;
  } else if (len >= 16) {
    // Too short for a view (an allocation) to pay off: words read byte by byte.
    let v1 = (seed + PRIME1 + PRIME2) | 0;
    let v2 = (seed + PRIME2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME1) | 0;
    const limit = end - 16;
    while (i <= limit) {
      v1 = round(v1, read32(data, i));
      v2 = round(v2, read32(data, i + 4));
      v3 = round(v3, read32(data, i + 8));
      v4 = round(v4, read32(data, i + 12));
      i += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + PRIME5) | 0;
  }
  h = (h + len) | 0;
  while (i + 4 <= end) {
    h = (h + Math.imul(read32(data, i), PRIME3)) | 0;
    h = Math.imul(rotl(h, 17), PRIME4);
    i += 4;
  }
  while (i < end) {
    h = (h + Math.imul(data[i]!, PRIME5)) | 0;
    h = Math.imul(rotl(h, 11), PRIME1);
    i++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3);
  h ^= h >>> 16;
  return h >>> 0;
}
