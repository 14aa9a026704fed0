// Types of targets.mjs, for the tests that import it.
export interface TargetRow {
  target: string;
  row: string;
  ours: string;
  peer: string;
  ratio: number | undefined;
  met: boolean | undefined;
}
export const CLI_OVER_KCAT: number;
export const STREAM_OF_PRODUCE: number;
export function targetRows(results: object): TargetRow[];
export function targetsSection(results: object): string[];
