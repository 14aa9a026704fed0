// Types of sizing.mjs, for the tests that import it.
export interface SizedRun {
  ok: boolean;
  records: number;
  seconds: number;
}
export const MIN_RUN_SECONDS: number;
export function recordsForMinimum(records: number, seconds: number): number;
export class RunSizer {
  recordsFor(key: string): number | undefined;
  learn(key: string, run: SizedRun): void;
}
export function runLengths(
  runs: readonly { ok: boolean; seconds: number }[],
  min?: number,
): { runs: number; shortest: number; longest: number; met: boolean } | undefined;
