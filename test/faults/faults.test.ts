/**
 * The fault-injection suite (`npm run test:faults`, vitest project "faults"): every scenario
 * FAULTS_RUNS times (default 5) for our producer and for kcat, against one proxied 3-node
 * cluster. Prints one table and writes it to test/faults/results/latest.md (and .json).
 * Asserts 0 lost, 0 duplicated and 0 reordered for our producer in every run; kcat's rows are
 * reported, not asserted.
 *
 * Environment:
 *   FAULTS_IDEMPOTENCE  enable.idempotence for our producer (default true)
 *   FAULTS_RUNS         runs per scenario and client (default 5)
 *   FAULTS_RECORDS      records per run (default 200000; 1000000 for reset, so that a run
 *                       lasts several reset periods)
 *   FAULTS_SCENARIOS    comma-separated subset of leader-kill,reset,blackhole
 *   FAULTS_CLIENTS      comma-separated subset of ours,kcat
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClientName, ourRefusal } from "./clients.js";
import { type FaultCluster, startFaultCluster } from "./cluster.js";
import { summaryTable, writeResults } from "./report.js";
import { idempotenceFromEnv, type RunResult, runOnce } from "./run.js";
import { SCENARIOS, type ScenarioName } from "./scenarios.js";

function listFromEnv<T extends string>(name: string, all: readonly T[]): T[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return [...all];
  const wanted = raw.split(",").map((s) => s.trim());
  for (const w of wanted) {
    if (!all.includes(w as T)) throw new Error(`${name}: unknown "${w}" (one of ${all.join(",")})`);
  }
  return all.filter((a) => wanted.includes(a));
}

function positiveIntFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer`);
  return n;
}

const RUNS = positiveIntFromEnv("FAULTS_RUNS", 5);
const RECORDS_GIVEN = process.env.FAULTS_RECORDS !== undefined && process.env.FAULTS_RECORDS !== "";
const RECORDS = positiveIntFromEnv("FAULTS_RECORDS", 200_000);
/** Records per run of a scenario: reset runs long enough to see a reset every 2 s several times. */
const recordsFor = (scenario: ScenarioName): number =>
  RECORDS_GIVEN || scenario !== "reset" ? RECORDS : 1_000_000;
const IDEMPOTENCE = idempotenceFromEnv();
const SELECTED = listFromEnv<ScenarioName>("FAULTS_SCENARIOS", SCENARIOS);
const CLIENTS = listFromEnv<ClientName>("FAULTS_CLIENTS", ["ours", "kcat"]);
/** Per run, a generous bound (a stuck producer waits out message.timeout.ms, 300 s). */
const RUN_BUDGET_MS = 8 * 60_000;

const results: RunResult[] = [];
const refusal = CLIENTS.includes("ours") ? ourRefusal(IDEMPOTENCE) : undefined;
const startedAt = new Date();
let fc: FaultCluster | undefined;

beforeAll(async () => {
  fc = await startFaultCluster();
}, 240_000);

afterAll(async () => {
  try {
    if (results.length > 0) {
      const settings =
        `FAULTS_IDEMPOTENCE=${IDEMPOTENCE} FAULTS_RUNS=${RUNS}` +
        (RECORDS !== 200_000 ? ` FAULTS_RECORDS=${RECORDS}` : "");
      const meta = {
        command: `${settings} npm run test:faults`,
        records: RECORDS_GIVEN ? `${RECORDS}` : `${RECORDS} (reset: ${recordsFor("reset")})`,
        runs: RUNS,
        idempotence: IDEMPOTENCE,
        kafkaVersion: fc?.cluster.version ?? "?",
        startedAt: startedAt.toISOString(),
        seconds: (Date.now() - startedAt.getTime()) / 1000,
      };
      await writeResults(results, meta);
      console.log(`\n${summaryTable(results)}\n\n(details: test/faults/results/latest.md)`);
    }
  } finally {
    await fc?.stop();
  }
}, 120_000);

describe(`faults (${RECORDS} records, ${RUNS} runs, our enable.idempotence=${IDEMPOTENCE})`, () => {
  for (const scenario of SELECTED) {
    it(
      scenario,
      async () => {
        const cluster = fc!;
        const ours: RunResult[] = [];
        for (let run = 1; run <= RUNS; run++) {
          for (const client of CLIENTS) {
            if (client === "ours" && refusal !== undefined) {
              if (run === 1) {
                const r = { scenario, client, run, count: recordsFor(scenario), refused: refusal };
                results.push(r);
                ours.push(r);
              }
              continue;
            }
            const r = await runOnce(cluster, scenario, client, {
              run,
              count: recordsFor(scenario),
              idempotence: IDEMPOTENCE,
            });
            results.push(r);
            if (client === "ours") ours.push(r);
            console.log(
              `[faults] ${scenario} ${client} run ${run}: ` +
                (r.error !== undefined
                  ? `error: ${r.error}`
                  : `lost ${r.lost}, duplicated ${r.duplicated}, reordered ${r.reordered}, ` +
                    `failed ${r.failed}, ${r.seconds?.toFixed(1)} s`),
            );
          }
        }
        for (const r of ours) {
          const where = `${scenario}, our producer, run ${r.run}`;
          expect.soft(r.refused, `${where}: config refused`).toBeUndefined();
          expect.soft(r.error, `${where}: the run broke`).toBeUndefined();
          if (r.refused !== undefined || r.error !== undefined) continue;
          expect
            .soft({ lost: r.lost, duplicated: r.duplicated, reordered: r.reordered }, where)
            .toEqual({ lost: 0, duplicated: 0, reordered: 0 });
        }
      },
      RUNS * CLIENTS.length * RUN_BUDGET_MS,
    );
  }
});
