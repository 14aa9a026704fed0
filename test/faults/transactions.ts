/**
 * The transaction rows of the fault suite: a transactional producer (ours, Transactions v2 where
 * the cluster finalizes transaction.version >= 2, and held to v1) writes TRANSACTIONS
 * transactions of RECORDS_PER_TXN records over 3 partitions of a fresh topic (replication
 * factor 3, min.insync.replicas=2; the harness replicates the transaction state log the same
 * way, in one partition), committing each, while the transaction coordinator's broker dies:
 *
 * - txn-coordinator-kill: in transaction TRIGGER_TXN (0-based) the coordinator's node is
 *   SIGKILLed (and started again 3 s later), by run: `half` (once half of the transaction's
 *   records are reported delivered: the partitions are in the transaction, the rest of the
 *   records and the commit meet the dead coordinator) or `begun` (right after
 *   beginTransaction(), before its first record: the partitions join the transaction, by
 *   AddPartitionsToTxn under v1 and by the leaders' own check under v2, while it is dead); the
 *   producer goes on and commits;
 * - txn-commit-kill: transaction TRIGGER_TXN's records all delivered, commitTransaction() is
 *   called and the coordinator's node is SIGKILLed as its EndTxn passes the node's proxy,
 *   at one of three moments (by run): `sent` (the request forwarded, the node killed 5 ms
 *   later), `answered` (the node's answer held back, the node killed: it committed but the
 *   producer never heard), `request` (the request held back, the node killed: it never saw it).
 *
 * The coordinator is asked for with FindCoordinator (a raw request on a PLAINTEXT listener)
 * right before the kill. The producer's loop: an abortable error aborts the transaction and
 * redoes its records (a new attempt, with the same indexes); a retriable one (the call's
 * timeout) calls the same method again; every attempt's outcome is what the caller was told.
 * The topic is then read back by the Java consumer in read_committed (and read_uncommitted,
 * to see what the aborted attempts wrote) and each attempt counted: wholly visible, wholly
 * absent, or partly (never).
 */
import { performance } from "node:perf_hooks";
import { BrokerConnection } from "../../src/client/connection.js";
import type { Logger } from "../../src/client/logger.js";
import { Producer } from "../../src/producer/producer.js";
import type { DeliveryCallback } from "../../src/producer/record.js";
import { TransactionError } from "../../src/producer/transaction-error.js";
import { ApiKey } from "../../src/protocol/api-keys.js";
import {
  CoordinatorType,
  decodeFindCoordinatorResponse,
  encodeFindCoordinatorRequest,
} from "../../src/protocol/find-coordinator.js";
import { type JavaRecord, javaConsume } from "../broker/java-reader.js";
import { RawClient } from "../helpers/raw-client.js";
import { uniqueTopic } from "../helpers/topics.js";
import { createTopic, partitionMetadata, waitFor } from "../producer/helpers.js";
import { recordKey } from "./clients.js";
import type { FaultCluster } from "./cluster.js";
import { requestWatcher, responseWatcher } from "./kafka-frames.js";
import type { RunResult } from "./run.js";
import { type FaultReport, RESTART_AFTER_MS, waitForFullIsr } from "./scenarios.js";
import { type Tally, tally } from "./tally.js";

export const TXN_SCENARIOS = ["txn-coordinator-kill", "txn-commit-kill"] as const;
export type TxnScenarioName = (typeof TXN_SCENARIOS)[number];

/** Our producer with transactions: up to v2 (v2 where finalized), or held to v1. */
export const TXN_CLIENTS = ["ours (v2)", "ours (v1)"] as const;
export type TxnClientName = (typeof TXN_CLIENTS)[number];
export const txnMaxVersion = (client: TxnClientName): 1 | 2 => (client === "ours (v1)" ? 1 : 2);

export const TRANSACTIONS = 20;
export const RECORDS_PER_TXN = 500;
export const TXN_PARTITIONS = 3;
/** The transaction the fault hits (0-based): about a quarter of the way in. */
export const TRIGGER_TXN = 5;
/** Each commitTransaction()/abortTransaction() call's own timeout (then retriable TIMED_OUT). */
export const CALL_TIMEOUT_MS = 5_000;
/** A call that has neither resolved nor rejected by then counts as hung (the run stops). */
export const CALL_BOUND_MS = CALL_TIMEOUT_MS + 5_000;
/** From the first commit (or abort) call of an attempt to its outcome, retries included. */
export const OUTCOME_BOUND_MS = 120_000;
/** Attempts per transaction before the run gives up. */
const MAX_ATTEMPTS = 5;
/** txn-commit-kill: how long after forwarding the EndTxn request the node is killed (`sent`). */
export const SENT_KILL_DELAY_MS = 5;

/** txn-coordinator-kill: where the transaction is when the coordinator dies. */
export const COORDINATOR_KILL_MOMENTS = ["half", "begun"] as const;
export type CoordinatorKillMoment = (typeof COORDINATOR_KILL_MOMENTS)[number];
export const coordinatorKillMoment = (run: number): CoordinatorKillMoment =>
  COORDINATOR_KILL_MOMENTS[(run - 1) % COORDINATOR_KILL_MOMENTS.length]!;

/** txn-commit-kill: where the commit is when the coordinator dies. */
export const COMMIT_KILL_MOMENTS = ["sent", "answered", "request"] as const;
export type CommitKillMoment = (typeof COMMIT_KILL_MOMENTS)[number];
export const commitKillMoment = (run: number): CommitKillMoment =>
  COMMIT_KILL_MOMENTS[(run - 1) % COMMIT_KILL_MOMENTS.length]!;

const TXN_STATE_TOPIC = "__transaction_state";
const VALUE_BYTES = 96;
const TXN_VALUE_RE = /^r([^-]+)-(\d+)-a(\d+)-/;
const READ_TIMEOUT_MS = 180_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** "r<run>-<index>-a<attempt>-xxx…", 96 characters: the fault suite's values plus the attempt. */
export function txnValue(run: string, index: number, attempt: number): string {
  const head = `r${run}-${index}-a${attempt}-`;
  return head + "x".repeat(Math.max(0, VALUE_BYTES - head.length));
}

export function parseTxnValue(
  value: string | null,
): { run: string; index: number; attempt: number } | undefined {
  if (value === null) return undefined;
  const m = TXN_VALUE_RE.exec(value);
  return m ? { run: m[1]!, index: Number(m[2]), attempt: Number(m[3]) } : undefined;
}

// ---------------------------------------------------------------------------------------------
// The coordinator

/**
 * The node coordinating `transactionalId`: FindCoordinator (v1, key type TRANSACTION) on a
 * running node's PLAINTEXT listener, asked again while the answer is an error (a coordinator
 * moving or loading).
 */
export async function findTransactionCoordinator(
  fc: FaultCluster,
  transactionalId: string,
  timeoutMs = 30_000,
): Promise<number> {
  return waitFor(
    `the transaction coordinator of ${transactionalId}`,
    async () => {
      const node = fc.cluster.nodes.find((n) => n.isRunning());
      if (node === undefined) return undefined;
      const client = await RawClient.connect(`127.0.0.1:${node.port}`);
      try {
        const res = await client.request(
          ApiKey.FindCoordinator,
          1,
          (w) =>
            encodeFindCoordinatorRequest(w, 1, {
              keyType: CoordinatorType.TRANSACTION,
              keys: [transactionalId],
            }),
          (r) => decodeFindCoordinatorResponse(r, 1, transactionalId),
        );
        const c = res.coordinators[0];
        return c !== undefined && c.errorCode === 0 && c.nodeId >= 0 ? c.nodeId : undefined;
      } finally {
        client.close();
      }
    },
    timeoutMs,
    100,
  );
}

/** The leader of __transaction_state-0 (the coordinator of every id: one partition). */
async function txnLogLeader(fc: FaultCluster): Promise<number | undefined> {
  try {
    return (await partitionMetadata(fc.admin, TXN_STATE_TOPIC))[0]?.leader;
  } catch {
    return undefined;
  }
}

/** Whether the cluster finalizes transaction.version >= 2 (asked on a PLAINTEXT listener). */
export async function clusterHasTransactionsV2(fc: FaultCluster): Promise<boolean> {
  const node = fc.cluster.nodes.find((n) => n.isRunning())!;
  const conn = await BrokerConnection.connect({
    host: "127.0.0.1",
    port: node.port,
    clientId: "faults-features",
    connectTimeoutMs: 10_000,
    requestTimeoutMs: 10_000,
    maxInFlight: 1,
    maxResponseBytes: 1 << 20,
    noDelay: true,
    keepAlive: false,
  });
  try {
    return (conn.finalizedFeatures.get("transaction.version") ?? 0) >= 2;
  } finally {
    conn.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The fault

/** Where the producer's loop calls the fault, in transaction TRIGGER_TXN's first attempt. */
export interface TxnFault {
  /**
   * txn-coordinator-kill: called before record `midTransactionAt` is produced, once the ones
   * before it are reported; resolves once the node is dead.
   */
  midTransaction?(): Promise<void>;
  midTransactionAt?: number;
  /** txn-commit-kill: all records reported, right before commitTransaction(); arms the kill. */
  beforeCommit?(): Promise<void>;
  /** The producer is done: waits for the restart and for 3 in-sync replicas everywhere. */
  finish(): Promise<FaultReport>;
}

export function startTxnFault(
  fc: FaultCluster,
  scenario: TxnScenarioName,
  topic: string,
  transactionalId: string,
  run: number,
): TxnFault {
  const report: FaultReport = { injected: false, notes: [] };
  let timeline: Promise<void> | undefined;

  /** SIGKILL now (resolves once the process is gone), start again RESTART_AFTER_MS later. */
  const killAndRestart = (nodeId: number): Promise<void> => {
    const node = fc.node(nodeId);
    const killed = node.kill();
    timeline = (async () => {
      await killed;
      await sleep(RESTART_AFTER_MS);
      const t = Date.now();
      await node.start();
      report.notes.push(
        `node ${nodeId} ready ${((Date.now() - t) / 1000).toFixed(1)} s after its restart`,
      );
    })();
    timeline.catch(() => {});
    return killed;
  };

  const settle = async (): Promise<FaultReport> => {
    for (const p of fc.proxies) p.tap(undefined);
    await timeline;
    const started = Date.now();
    await waitForFullIsr(fc, topic);
    await waitForFullIsr(fc, TXN_STATE_TOPIC);
    const waited = Date.now() - started;
    if (waited > 1000) report.notes.push(`ISR back to 3 after ${(waited / 1000).toFixed(1)} s`);
    return report;
  };

  /** Says which node coordinates, and whether the transaction log's leader agrees. */
  const coordinator = async (): Promise<number> => {
    const nodeId = await findTransactionCoordinator(fc, transactionalId);
    const leader = await txnLogLeader(fc);
    report.nodeId = nodeId;
    report.notes.push(
      `coordinator node ${nodeId}` +
        (leader === nodeId ? "" : ` (${TXN_STATE_TOPIC}-0 led by ${leader ?? "?"})`),
    );
    return nodeId;
  };

  if (scenario === "txn-coordinator-kill") {
    const moment = coordinatorKillMoment(run);
    const at = moment === "half" ? RECORDS_PER_TXN / 2 : 0;
    return {
      midTransactionAt: at,
      async midTransaction() {
        const nodeId = await coordinator();
        report.injected = true;
        report.notes.push(
          `killed in transaction ${TRIGGER_TXN + 1} of ${TRANSACTIONS} ` +
            (at > 0
              ? `with ${at} of its ${RECORDS_PER_TXN} records reported (${moment})`
              : `right after beginTransaction() (${moment})`),
        );
        await killAndRestart(nodeId);
      },
      finish: settle,
    };
  }

  // txn-commit-kill: every proxy watches the connections the producer opens from now on; the
  // coordinator's proxy kills its node at the EndTxn of the armed commit.
  const moment = commitKillMoment(run);
  let armedNode: number | undefined;
  let fired = false;
  let armedAt = 0;
  const fire = (nodeId: number, how: string): void => {
    fired = true;
    armedNode = undefined;
    report.injected = true;
    report.notes.push(
      `${how} ${(performance.now() - armedAt).toFixed(0)} ms after commitTransaction()`,
    );
    void killAndRestart(nodeId);
  };
  for (const [i, proxy] of fc.proxies.entries()) {
    const nodeId = fc.cluster.nodes[i]!.nodeId;
    proxy.tap(() => {
      let endTxnCorrelation: number | undefined;
      let drop = false;
      const up = requestWatcher((head) => {
        if (armedNode !== nodeId || fired || head.apiKey !== ApiKey.EndTxn) return;
        if (moment === "request") {
          drop = true;
          fire(nodeId, `EndTxn v${head.apiVersion} held back, node killed`);
        } else if (moment === "sent") {
          fired = true;
          setTimeout(
            () =>
              fire(
                nodeId,
                `EndTxn v${head.apiVersion} forwarded, node killed ${SENT_KILL_DELAY_MS} ms later,`,
              ),
            SENT_KILL_DELAY_MS,
          );
        } else {
          endTxnCorrelation = head.correlationId;
        }
      });
      const down = responseWatcher((correlationId) => {
        if (armedNode !== nodeId || fired || correlationId !== endTxnCorrelation) return;
        drop = true;
        fire(nodeId, "EndTxn answered, the answer held back and the node killed");
      });
      return {
        up: (chunk) => {
          up.push(chunk);
          const forward = !drop;
          drop = false;
          return forward;
        },
        down: (chunk) => {
          down.push(chunk);
          const forward = !drop;
          drop = false;
          return forward;
        },
      };
    });
  }
  return {
    async beforeCommit() {
      const nodeId = await coordinator();
      report.notes.push(`kill at EndTxn: ${moment}`);
      armedAt = performance.now();
      armedNode = nodeId;
    },
    async finish() {
      if (!fired) {
        armedNode = undefined;
        report.notes.push("EndTxn never seen: not injected");
      }
      return settle();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The producer's loop

export type AttemptOutcome = "committed" | "aborted" | "unfinished";

/** One try at a transaction, as the caller saw it. */
export interface Attempt {
  txn: number;
  attempt: number;
  outcome: AttemptOutcome;
  /** Records handed to produce() (fewer when the transaction turned abortable meanwhile). */
  produced: number;
  delivered: number;
  failed: number;
  commitCalls: number;
  abortCalls: number;
  /** Calls rejected retriable (their timeout) and called again. */
  retriable: number;
  /** Error codes of the calls (and produce()) that did not succeed, in order. */
  errors: string[];
  /** The longest single commit/abort call, resolved or rejected. */
  longestCallMs: number;
  /** From the first commit (or abort) call to the outcome. */
  outcomeMs: number;
}

export interface TxnProduceOutcome {
  attempts: Attempt[];
  /** The transaction protocol the producer used (transactionState.version). */
  protocol: 1 | 2 | undefined;
  seconds: number;
  /** Delivery reports that said failed, by code. */
  failureCodes: Record<string, number>;
  /** Records reported failed (all attempts). */
  failed: number;
  /** Per record index: failed in an attempt that was not the committed one, reported as such. */
  failedKeys: Set<string>;
  /** Records produced that got no report. */
  unreported: number;
  extraReports: number;
  /** A call that never settled within CALL_BOUND_MS, or a fatal error: the loop stopped. */
  stopped?: string;
  /** Debug lines of the producer about retries, counted by message. */
  retryLog: Record<string, number>;
  warnings: string[];
}

type Settled = { kind: "ok" } | { kind: "error"; err: unknown } | { kind: "hung" };

/** Waits for `p` at most `ms`: settled, or hung. */
async function bounded(p: Promise<void>, ms: number): Promise<Settled> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<Settled>((r) => {
    timer = setTimeout(() => r({ kind: "hung" }), ms);
  });
  try {
    return await Promise.race([
      p.then(
        (): Settled => ({ kind: "ok" }),
        (err: unknown): Settled => ({ kind: "error", err }),
      ),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const codeOf = (err: unknown): string =>
  err instanceof TransactionError
    ? `${err.kind}:${err.code}`
    : err instanceof Error
      ? err.message
      : String(err);

class Stop extends Error {}

function countingLogger(retryLog: Record<string, number>, warnings: string[]): Logger {
  const keep = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    if (warnings.length < 20) warnings.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  };
  return {
    debug: (message) => {
      if (/retry|moved|coordinator/i.test(message))
        retryLog[message] = (retryLog[message] ?? 0) + 1;
    },
    info: () => {},
    warn: keep("warn"),
    error: keep("error"),
  };
}

export interface TxnSpec {
  bootstrap: string;
  topic: string;
  transactionalId: string;
  run: string;
  maxVersion: 1 | 2;
}

export async function produceTransactions(
  spec: TxnSpec,
  fault: TxnFault,
): Promise<TxnProduceOutcome> {
  const { topic, run } = spec;
  const attempts: Attempt[] = [];
  const failureCodes: Record<string, number> = {};
  const failedKeys = new Set<string>();
  const retryLog: Record<string, number> = {};
  const warnings: string[] = [];
  let failed = 0;
  let extraReports = 0;
  let producedTotal = 0;
  let reportedTotal = 0;
  const producer = new Producer(
    {
      "bootstrap.servers": spec.bootstrap,
      "transactional.id": spec.transactionalId,
      "linger.ms": 5,
    },
    { maxTransactionVersion: spec.maxVersion, logger: countingLogger(retryLog, warnings) },
  );
  let protocol: 1 | 2 | undefined;
  let stopped: string | undefined;
  const started = performance.now();

  /** Calls commit or abort until it settles other than retriable; throws Stop when hung. */
  const call = async (
    op: "commit" | "abort",
    a: Attempt,
    since: number,
  ): Promise<{ ok: true } | { ok: false; err: unknown }> => {
    for (;;) {
      if (op === "commit") a.commitCalls++;
      else a.abortCalls++;
      const t0 = performance.now();
      const res = await bounded(
        op === "commit"
          ? producer.commitTransaction(CALL_TIMEOUT_MS)
          : producer.abortTransaction(CALL_TIMEOUT_MS),
        CALL_BOUND_MS,
      );
      const ms = performance.now() - t0;
      a.longestCallMs = Math.max(a.longestCallMs, ms);
      if (res.kind === "hung") {
        throw new Stop(
          `${op}Transaction() neither resolved nor rejected within ${CALL_BOUND_MS} ms`,
        );
      }
      if (res.kind === "ok") return { ok: true };
      a.errors.push(`${op}: ${codeOf(res.err)}`);
      if (res.err instanceof TransactionError && res.err.retriable) {
        a.retriable++;
        if (performance.now() - since > OUTCOME_BOUND_MS) {
          throw new Stop(`${op}Transaction() had no outcome within ${OUTCOME_BOUND_MS} ms`);
        }
        continue;
      }
      return { ok: false, err: res.err };
    }
  };

  /** Aborts (again while abortable errors come back); throws Stop on anything else. */
  const abort = async (a: Attempt, since: number): Promise<void> => {
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const res = await call("abort", a, since);
      if (res.ok) return;
      if (!(res.err instanceof TransactionError && res.err.abortable)) {
        throw new Stop(`abortTransaction() failed: ${codeOf(res.err)}`);
      }
    }
    throw new Stop(`abortTransaction() failed ${MAX_ATTEMPTS} times`);
  };

  try {
    await producer.initTransactions(60_000);
    for (let t = 0; t < TRANSACTIONS; t++) {
      let done = false;
      for (let attempt = 0; !done; attempt++) {
        if (attempt >= MAX_ATTEMPTS) throw new Stop(`transaction ${t}: ${MAX_ATTEMPTS} attempts`);
        const a: Attempt = {
          txn: t,
          attempt,
          outcome: "unfinished",
          produced: 0,
          delivered: 0,
          failed: 0,
          commitCalls: 0,
          abortCalls: 0,
          retriable: 0,
          errors: [],
          longestCallMs: 0,
          outcomeMs: 0,
        };
        attempts.push(a);
        const faulted = t === TRIGGER_TXN && attempt === 0;
        const reported = new Uint8Array(RECORDS_PER_TXN);
        const onReport: DeliveryCallback = (err, report) => {
          const j = typeof report.opaque === "number" ? report.opaque : -1;
          if (j < 0 || j >= RECORDS_PER_TXN || reported[j] !== 0) {
            extraReports++;
            return;
          }
          reported[j] = 1;
          reportedTotal++;
          if (err === null) {
            a.delivered++;
          } else {
            a.failed++;
            failed++;
            failedKeys.add(`${t * RECORDS_PER_TXN + j}-a${attempt}`);
            const code = "errorName" in err ? err.errorName : err.code;
            failureCodes[code] = (failureCodes[code] ?? 0) + 1;
          }
        };
        const reportsReach = (n: number) =>
          waitFor(
            `${n} reports in transaction ${t}`,
            async () => (a.delivered + a.failed >= n ? true : undefined),
            60_000,
            5,
          );

        producer.beginTransaction();
        protocol ??= producer.transactionState?.version;
        let abortable: unknown;
        for (let j = 0; j < RECORDS_PER_TXN; j++) {
          if (faulted && j === fault.midTransactionAt && fault.midTransaction) {
            await reportsReach(j);
            await fault.midTransaction();
          }
          const i = t * RECORDS_PER_TXN + j;
          try {
            producer.produce(
              {
                topic,
                partition: j % TXN_PARTITIONS,
                key: recordKey(i),
                value: txnValue(run, i, attempt),
                opaque: j,
              },
              onReport,
            );
          } catch (err) {
            if (err instanceof TransactionError && err.abortable) {
              abortable = err;
              a.errors.push(`produce: ${codeOf(err)}`);
              break;
            }
            throw new Stop(`produce() threw ${codeOf(err)}`);
          }
          a.produced++;
          producedTotal++;
        }

        const since = performance.now();
        if (abortable === undefined) {
          if (faulted && fault.beforeCommit) {
            await reportsReach(a.produced);
            await fault.beforeCommit();
          }
          const res = await call("commit", a, performance.now());
          if (res.ok) {
            a.outcome = "committed";
            done = true;
          } else if (res.err instanceof TransactionError && res.err.abortable) {
            abortable = res.err;
          } else {
            throw new Stop(`commitTransaction() failed: ${codeOf(res.err)}`);
          }
        }
        if (!done) {
          await abort(a, since);
          a.outcome = "aborted";
        }
        a.outcomeMs = performance.now() - since;
      }
    }
  } catch (err) {
    stopped = err instanceof Stop ? err.message : `the loop broke: ${codeOf(err)}`;
  } finally {
    await producer.close(5_000);
  }
  return {
    attempts,
    protocol,
    seconds: (performance.now() - started) / 1000,
    failureCodes,
    failed,
    failedKeys,
    unreported: producedTotal - reportedTotal,
    extraReports,
    ...(stopped !== undefined && { stopped }),
    retryLog,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------
// Counting

export interface TxnTally {
  /** The protocol the producer used. */
  protocol: 1 | 2 | undefined;
  transactions: number;
  attempts: number;
  /** Attempts the caller was told committed / aborted; unfinished: the loop stopped first. */
  committed: number;
  aborted: number;
  unfinished: number;
  /** Attempts whose records read_committed shows: all of them / none / some (never). */
  visible: number;
  absent: number;
  partial: number;
  /** Committed attempts not wholly visible (nothing committed may be lost). */
  committedNotVisible: number;
  /** Aborted attempts with any record visible. */
  abortedVisible: number;
  /** Aborted attempts that had written records (read_uncommitted sees them). */
  abortedWritten: number;
  /** Commit/abort calls rejected retriable (timeout) and called again. */
  retriable: number;
  commitCalls: number;
  abortCalls: number;
  longestCallMs: number;
  longestOutcomeMs: number;
  /** Why the loop stopped early (a hung call, a fatal error), if it did. */
  stopped?: string;
  /** The attempts that did not simply commit at the first call, for the JSON. */
  eventful: Attempt[];
  /** Partly visible attempts, "t<txn>a<attempt>: <visible>/<produced>". */
  partialSamples: string[];
}

export function tallyTransactions(
  committedRead: readonly JavaRecord[],
  uncommittedRead: readonly JavaRecord[],
  run: string,
  outcome: TxnProduceOutcome,
): { base: Tally; txn: TxnTally } {
  const count = TRANSACTIONS * RECORDS_PER_TXN;
  const committedAttempt = new Map<number, number>();
  for (const a of outcome.attempts)
    if (a.outcome === "committed") committedAttempt.set(a.txn, a.attempt);
  // Per index: 1 when its transaction committed (it must be visible), 2 otherwise.
  const status = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    status[i] = committedAttempt.has(Math.floor(i / RECORDS_PER_TXN)) ? 1 : 2;
  }
  // The standard columns: lost, duplicated, reordered over the indexes read_committed shows.
  const base = tally(committedRead, run, count, {
    status,
    delivered: 0,
    failed: outcome.failed,
    failureCodes: outcome.failureCodes,
    extraReports: outcome.extraReports,
    seconds: outcome.seconds,
    details: {},
  });
  base.unreported = outcome.unreported;
  // Records reported failed that read_committed shows anyway.
  base.failedButWritten = 0;

  const perAttempt = (records: readonly JavaRecord[]) => {
    const m = new Map<string, number>();
    for (const r of records) {
      const v = parseTxnValue(r.value === null ? null : r.value.toString("utf8"));
      if (v === undefined || v.run !== run || v.index >= count) continue;
      const k = `${Math.floor(v.index / RECORDS_PER_TXN)}-${v.attempt}`;
      m.set(k, (m.get(k) ?? 0) + 1);
      if (records === committedRead && outcome.failedKeys.has(`${v.index}-a${v.attempt}`)) {
        base.failedButWritten++;
      }
    }
    return m;
  };
  const visibleBy = perAttempt(committedRead);
  const writtenBy = perAttempt(uncommittedRead);

  const txn: TxnTally = {
    protocol: outcome.protocol,
    transactions: TRANSACTIONS,
    attempts: outcome.attempts.length,
    committed: 0,
    aborted: 0,
    unfinished: 0,
    visible: 0,
    absent: 0,
    partial: 0,
    committedNotVisible: 0,
    abortedVisible: 0,
    abortedWritten: 0,
    retriable: 0,
    commitCalls: 0,
    abortCalls: 0,
    longestCallMs: 0,
    longestOutcomeMs: 0,
    ...(outcome.stopped !== undefined && { stopped: outcome.stopped }),
    eventful: [],
    partialSamples: [],
  };
  const seen = new Set<string>();
  for (const a of outcome.attempts) {
    const k = `${a.txn}-${a.attempt}`;
    seen.add(k);
    const visible = visibleBy.get(k) ?? 0;
    txn[a.outcome]++;
    // A whole transaction is every record the attempt handed over; an attempt cut short by an
    // abortable error is whole only when none of it shows.
    if (visible === 0) txn.absent++;
    else if (visible === RECORDS_PER_TXN) txn.visible++;
    else {
      txn.partial++;
      if (txn.partialSamples.length < 5)
        txn.partialSamples.push(`t${a.txn}a${a.attempt}: ${visible}/${a.produced}`);
    }
    if (a.outcome === "committed" && visible !== RECORDS_PER_TXN) txn.committedNotVisible++;
    if (a.outcome === "aborted" && visible > 0) txn.abortedVisible++;
    if (a.outcome === "aborted" && (writtenBy.get(k) ?? 0) > 0) txn.abortedWritten++;
    txn.retriable += a.retriable;
    txn.commitCalls += a.commitCalls;
    txn.abortCalls += a.abortCalls;
    txn.longestCallMs = Math.max(txn.longestCallMs, a.longestCallMs);
    txn.longestOutcomeMs = Math.max(txn.longestOutcomeMs, a.outcomeMs);
    if (a.outcome !== "committed" || a.commitCalls > 1 || a.errors.length > 0) txn.eventful.push(a);
  }
  // Records of attempts the caller never made (cannot happen) would be partial transactions too.
  for (const [k, n] of visibleBy) {
    if (seen.has(k)) continue;
    txn.partial++;
    txn.partialSamples.push(`unknown attempt ${k}: ${n} visible`);
  }
  return { base, txn };
}

// ---------------------------------------------------------------------------------------------
// One run

export interface TxnRunOptions {
  run: number;
}

export async function runTxnOnce(
  fc: FaultCluster,
  scenario: TxnScenarioName,
  client: TxnClientName,
  opts: TxnRunOptions,
): Promise<RunResult> {
  const count = TRANSACTIONS * RECORDS_PER_TXN;
  const base = { scenario, client, run: opts.run, count };
  const topic = uniqueTopic(`faults-${scenario}-${txnMaxVersion(client)}`);
  const transactionalId = uniqueTopic(`faults-txn-${opts.run}`);
  try {
    await createTopic(fc.admin, topic, {
      partitions: TXN_PARTITIONS,
      replicationFactor: 3,
      configs: { "min.insync.replicas": "2" },
    });
    await waitForFullIsr(fc, topic);
    const spec: TxnSpec = {
      bootstrap: fc.bootstrap,
      topic,
      transactionalId,
      run: `${opts.run}`,
      maxVersion: txnMaxVersion(client),
    };
    // Installed before the producer connects: the commit kill watches its connections.
    const fault = startTxnFault(fc, scenario, topic, transactionalId, opts.run);
    let outcome: TxnProduceOutcome | undefined;
    let produceError: unknown;
    try {
      outcome = await produceTransactions(spec, fault);
    } catch (err) {
      produceError = err;
    }
    const report = await fault.finish();
    if (outcome === undefined) throw produceError;
    const committedRead = await javaConsume(fc.direct, topic, {
      config: { "isolation.level": "read_committed" },
      timeoutMs: READ_TIMEOUT_MS,
    });
    const uncommittedRead = await javaConsume(fc.direct, topic, {
      config: { "isolation.level": "read_uncommitted" },
      timeoutMs: READ_TIMEOUT_MS,
    });
    const { base: counts, txn } = tallyTransactions(
      committedRead,
      uncommittedRead,
      spec.run,
      outcome,
    );
    await fc.admin.deleteTopics({ topics: [topic] }).catch(() => {});
    return {
      ...base,
      topic,
      ...counts,
      seconds: outcome.seconds,
      fault: report,
      failureCodes: outcome.failureCodes,
      extraReports: outcome.extraReports,
      transactions: txn,
      details: {
        transactionalId,
        readCommitted: committedRead.length,
        readUncommitted: uncommittedRead.length,
        retryLog: outcome.retryLog,
        warnings: outcome.warnings,
      },
    };
  } catch (err) {
    return { ...base, topic, error: err instanceof Error ? err.message : String(err) };
  }
}
