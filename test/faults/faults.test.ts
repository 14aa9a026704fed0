/**
 * The fault-injection suite (`npm run test:faults`, vitest project "faults"): every scenario
 * FAULTS_RUNS times (default 5) for our producer and for kcat, against one proxied 3-node
 * cluster. Prints one table and writes it to test/faults/results/latest.md (and .json).
 * Asserts 0 lost, 0 duplicated and 0 reordered for our producer in every run; kcat's rows are
 * reported, not asserted.
 *
 * The txn- rows (test/faults/transactions.ts) run our transactional producer, under Transactions
 * v2 where the cluster has it and held to v1, FAULTS_RUNS times each, and assert besides: every
 * transaction wholly visible or wholly absent in read_committed (never partly), every one the
 * caller was told committed visible, none told aborted visible, every commit/abort call settled
 * within its bound, every transaction committed in the end, with the protocol expected.
 *
 * Environment:
 *   FAULTS_IDEMPOTENCE  enable.idempotence for our producer (default true)
 *   FAULTS_RUNS         runs per scenario and client (default 5)
 *   FAULTS_RECORDS      records per run (default 200000; 1000000 for reset, so that a run
 *                       lasts several reset periods)
 *   FAULTS_SCENARIOS    comma-separated subset of leader-kill,reset,blackhole,
 *                       txn-coordinator-kill,txn-commit-kill
 *   FAULTS_CLIENTS      comma-separated subset of ours,kcat (the txn- rows run with ours)
 *   FAULTS_TXN_VERSIONS comma-separated subset of 2,1: the txn- rows' maxTransactionVersion
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClientName, ourRefusal } from "./clients.js";
import { type FaultCluster, startFaultCluster } from "./cluster.js";
import { summaryTable, writeResults } from "./report.js";
import { idempotenceFromEnv, type RunResult, runOnce } from "./run.js";
import { SCENARIOS, type ScenarioName } from "./scenarios.js";
import {
  CALL_BOUND_MS,
  clusterHasTransactionsV2,
  RECORDS_PER_TXN,
  runTxnOnce,
  TRANSACTIONS,
  TXN_CLIENTS,
  TXN_SCENARIOS,
  type TxnClientName,
  type TxnScenarioName,
  txnMaxVersion,
} from "./transactions.js";

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
const SELECTED_ALL = listFromEnv<ScenarioName | TxnScenarioName>("FAULTS_SCENARIOS", [
  ...SCENARIOS,
  ...TXN_SCENARIOS,
]);
const SELECTED = SELECTED_ALL.filter((s): s is ScenarioName =>
  (SCENARIOS as readonly string[]).includes(s),
);
const CLIENTS = listFromEnv<ClientName>("FAULTS_CLIENTS", ["ours", "kcat"]);
const TXN_VERSIONS = listFromEnv<"2" | "1">("FAULTS_TXN_VERSIONS", ["2", "1"]);
const SELECTED_TXN = CLIENTS.includes("ours")
  ? SELECTED_ALL.filter((s): s is TxnScenarioName =>
      (TXN_SCENARIOS as readonly string[]).includes(s),
    )
  : [];
const SELECTED_TXN_CLIENTS = TXN_CLIENTS.filter((c) =>
  TXN_VERSIONS.includes(`${txnMaxVersion(c)}`),
);
/** Per transaction run: 20 small transactions, a kill, a restart, the ISR back; a wide bound. */
const TXN_RUN_BUDGET_MS = 5 * 60_000;
/** Per run, a generous bound (a stuck producer waits out message.timeout.ms, 300 s). */
const RUN_BUDGET_MS = 8 * 60_000;

const results: RunResult[] = [];
const refusal = CLIENTS.includes("ours") ? ourRefusal(IDEMPOTENCE) : undefined;
const startedAt = new Date();
let fc: FaultCluster | undefined;
/** The cluster finalizes transaction.version >= 2: "ours (v2)" must then use v2. */
let clusterV2 = false;

beforeAll(async () => {
  fc = await startFaultCluster();
  clusterV2 = await clusterHasTransactionsV2(fc);
}, 240_000);

afterAll(async () => {
  try {
    if (results.length > 0) {
      const settings =
        `FAULTS_IDEMPOTENCE=${IDEMPOTENCE} FAULTS_RUNS=${RUNS}` +
        (RECORDS !== 200_000 ? ` FAULTS_RECORDS=${RECORDS}` : "");
      const meta = {
        command: `${settings} npm run test:faults`,
        records: (() => {
          const txn =
            SELECTED_TXN.length > 0
              ? `txn- rows: ${TRANSACTIONS} transactions of ${RECORDS_PER_TXN}`
              : undefined;
          if (RECORDS_GIVEN) return txn === undefined ? `${RECORDS}` : `${RECORDS} (${txn})`;
          const reset = `reset: ${recordsFor("reset")}`;
          return `${RECORDS} (${txn === undefined ? reset : `${reset}; ${txn}`})`;
        })(),
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

// Only the txn- rows selected: no empty suite (vitest fails one).
const describeRecords = SELECTED.length > 0 ? describe : describe.skip;

describeRecords(
  `faults (${RECORDS} records, ${RUNS} runs, our enable.idempotence=${IDEMPOTENCE})`,
  () => {
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
                  const r = {
                    scenario,
                    client,
                    run,
                    count: recordsFor(scenario),
                    refused: refusal,
                  };
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
  },
);

const expectedProtocol = (client: TxnClientName): 1 | 2 =>
  txnMaxVersion(client) === 2 && clusterV2 ? 2 : 1;

const describeTxn = SELECTED_TXN.length > 0 ? describe : describe.skip;

describeTxn(
  `faults with transactions (${TRANSACTIONS} × ${RECORDS_PER_TXN} records, ${RUNS} runs)`,
  () => {
    for (const scenario of SELECTED_TXN) {
      it(
        scenario,
        async () => {
          const cluster = fc!;
          const mine: RunResult[] = [];
          for (let run = 1; run <= RUNS; run++) {
            for (const client of SELECTED_TXN_CLIENTS) {
              const r = await runTxnOnce(cluster, scenario, client, { run });
              results.push(r);
              mine.push(r);
              const t = r.transactions;
              console.log(
                `[faults] ${scenario} ${client} run ${run}: ` +
                  (r.error !== undefined || t === undefined
                    ? `error: ${r.error}`
                    : `v${t.protocol}, ${t.committed} committed, ${t.aborted} aborted, ` +
                      `${t.visible} visible, ${t.absent} absent, ${t.partial} partial, ` +
                      `lost ${r.lost}, duplicated ${r.duplicated}, reordered ${r.reordered}, ` +
                      `longest call ${(t.longestCallMs / 1000).toFixed(1)} s` +
                      (t.stopped !== undefined ? `, stopped: ${t.stopped}` : "") +
                      `; ${r.fault?.notes.join(", ")}`),
              );
            }
          }
          for (const r of mine) {
            const where = `${scenario}, ${r.client}, run ${r.run}`;
            expect.soft(r.error, `${where}: the run broke`).toBeUndefined();
            const t = r.transactions;
            if (r.error !== undefined || t === undefined) continue;
            expect.soft(r.fault?.injected, `${where}: the fault happened`).toBe(true);
            expect.soft(t.stopped, `${where}: the loop stopped early`).toBeUndefined();
            expect
              .soft(t.protocol, `${where}: protocol`)
              .toBe(expectedProtocol(r.client as TxnClientName));
            expect
              .soft(
                {
                  lost: r.lost,
                  duplicated: r.duplicated,
                  reordered: r.reordered,
                  partial: t.partial,
                  committedNotVisible: t.committedNotVisible,
                  abortedVisible: t.abortedVisible,
                  committed: t.committed,
                  visible: t.visible,
                  absent: t.absent,
                },
                where,
              )
              .toEqual({
                lost: 0,
                duplicated: 0,
                reordered: 0,
                partial: 0,
                committedNotVisible: 0,
                abortedVisible: 0,
                committed: TRANSACTIONS,
                visible: TRANSACTIONS,
                absent: t.aborted,
              });
            expect
              .soft(t.longestCallMs, `${where}: every commit/abort call settled within its bound`)
              .toBeLessThanOrEqual(CALL_BOUND_MS);
          }
        },
        RUNS * SELECTED_TXN_CLIENTS.length * TXN_RUN_BUDGET_MS,
      );
    }
  },
);
