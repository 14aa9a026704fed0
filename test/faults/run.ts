/**
 * One run of one scenario with one client, shared by the full suite (test/faults/) and the
 * short subset in `npm test` (test/producer/faults-smoke.test.ts): a fresh topic (3 partitions,
 * replication factor 3, min.insync.replicas=2), the fault, the producer, then the topic read
 * back with the Java reader (Apache Kafka's own consumer) straight from the brokers (not through
 * the proxies) and tallied.
 */
import { javaConsume } from "../broker/java-reader.js";
import { uniqueTopic } from "../helpers/topics.js";
import { createTopic } from "../producer/helpers.js";
import {
  type ClientName,
  type ProduceOutcome,
  type ProduceSpec,
  produceKcat,
  produceOurs,
} from "./clients.js";
import type { FaultCluster } from "./cluster.js";
import { type FaultReport, type ScenarioName, startFault, waitForFullIsr } from "./scenarios.js";
import { type Tally, tally } from "./tally.js";
import type { TxnClientName, TxnScenarioName, TxnTally } from "./transactions.js";

/** FAULTS_IDEMPOTENCE: enable.idempotence for our producer; default true. */
export function idempotenceFromEnv(): boolean {
  const v = (process.env.FAULTS_IDEMPOTENCE ?? "true").trim().toLowerCase();
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new Error(`FAULTS_IDEMPOTENCE must be true or false, not "${v}"`);
}

export interface RunOptions {
  /** 1-based run number; with the scenario and client it tags the values. */
  run: number;
  count: number;
  /** Records per second (ours only); undefined: as fast as the queue allows. */
  rate?: number;
  idempotence: boolean;
}

export interface RunResult extends Partial<Tally> {
  scenario: ScenarioName | TxnScenarioName;
  client: ClientName | TxnClientName;
  run: number;
  count: number;
  topic?: string;
  /** Wall time of the producer: first record handed over to last report. */
  seconds?: number;
  fault?: FaultReport;
  failureCodes?: Record<string, number>;
  extraReports?: number;
  details?: Record<string, unknown>;
  /** The transaction rows (test/faults/transactions.ts): every attempt counted. */
  transactions?: TxnTally;
  /** Our producer refused its configuration: nothing ran. */
  refused?: string;
  /** The run itself broke (cluster, reader...): no counts. */
  error?: string;
}

const READ_TIMEOUT_MS = 180_000;

export async function runOnce(
  fc: FaultCluster,
  scenario: ScenarioName,
  client: ClientName,
  opts: RunOptions,
): Promise<RunResult> {
  const base = { scenario, client, run: opts.run, count: opts.count };
  const topic = uniqueTopic(`faults-${scenario}-${client}`);
  try {
    await createTopic(fc.admin, topic, {
      partitions: 3,
      replicationFactor: 3,
      configs: { "min.insync.replicas": "2" },
    });
    const meta = await waitForFullIsr(fc, topic);
    const leader0 = meta[0]!.leader;
    const spec: ProduceSpec = {
      bootstrap: fc.bootstrap,
      topic,
      run: `${opts.run}`,
      count: opts.count,
      idempotence: opts.idempotence,
      ...(opts.rate !== undefined && { rate: opts.rate }),
    };
    const fault = startFault(fc, scenario, topic, opts.count, leader0);
    let outcome: ProduceOutcome | undefined;
    let produceError: unknown;
    try {
      outcome = client === "ours" ? await produceOurs(spec) : await produceKcat(spec);
    } catch (err) {
      produceError = err;
    }
    // Even when the producer threw: the fault ends and the cluster recovers.
    const report = await fault.finish();
    if (outcome === undefined) throw produceError;
    const records = await javaConsume(fc.direct, topic, { timeoutMs: READ_TIMEOUT_MS });
    const counts = tally(records, spec.run, opts.count, outcome);
    await fc.admin.deleteTopics({ topics: [topic] }).catch(() => {});
    return {
      ...base,
      topic,
      ...counts,
      seconds: outcome.seconds,
      fault: report,
      failureCodes: outcome.failureCodes,
      extraReports: outcome.extraReports,
      details: outcome.details,
    };
  } catch (err) {
    return { ...base, topic, error: err instanceof Error ? err.message : String(err) };
  }
}
