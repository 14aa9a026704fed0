/**
 * A latency histogram in the manner of HdrHistogram: log-linear buckets (each
 * power of two split into 64 equal sub-buckets), so any recorded value is
 * known to within 1/64 (1.6 %) however many are recorded, in fixed memory
 * and with no per-value allocation.
 */

/** Sub-buckets per power of two. */
const SUB_BITS = 6;
const SUB = 1 << SUB_BITS;
/** Values up to 2^36 µs (19 hours). */
const MAX_EXPONENT = 36;

export class LatencyHistogram {
  private readonly counts = new Float64Array((MAX_EXPONENT + 1) * SUB);
  count = 0;
  private sum = 0;
  max = 0;

  /** Records one value (a non-negative number, e.g. µs; fractions are floored). */
  record(value: number): void {
    const v = value > 0 ? Math.floor(value) : 0;
    this.counts[indexOf(v)]!++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /** Adds every value of `other` (per-interval histograms into the whole run's). */
  add(other: LatencyHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.sum += other.sum;
    if (other.max > this.max) this.max = other.max;
  }

  get mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /**
   * The value at percentile `p` (0..100): the highest value of the bucket that
   * holds the ceil(p% of count)-th smallest value, and never above the max.
   */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(highestOf(i), this.max);
    }
    return this.max;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }
}

/** Values below SUB have a bucket each; above, bucket e*SUB + the top 6 bits after the leading one. */
function indexOf(v: number): number {
  if (v < SUB) return v;
  const e = Math.min(MAX_EXPONENT, Math.floor(Math.log2(v)));
  const shift = e - SUB_BITS;
  const sub = Math.min(SUB - 1, Math.floor(v / 2 ** shift) - SUB);
  return (e - SUB_BITS + 1) * SUB + sub;
}

/** The highest value that falls in bucket `i`. */
function highestOf(i: number): number {
  if (i < SUB) return i;
  const e = Math.floor(i / SUB) + SUB_BITS - 1;
  const sub = i % SUB;
  const shift = e - SUB_BITS;
  return (SUB + sub + 1) * 2 ** shift - 1;
}
