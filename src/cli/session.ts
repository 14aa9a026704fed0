/**
 * One CLI run's producer and its tally: the delivery counts, the summary
 * line, the warnings on stderr and the security failure that ends a run early.
 */
import { KafkaClientError } from "../client/client-error.js";
import { consoleLogger, silentLogger } from "../client/logger.js";
import type { ProducerProperties } from "../config/index.js";
import { Producer } from "../producer/producer.js";
import type { DeliveryTally } from "../producer/record.js";

/** How far past message.timeout.ms a wait for every report goes, for expiry timers that fire late. */
const REPORT_MARGIN_MS = 5_000;

/**
 * How long a close or a commit waits for every report without -t: each comes within
 * message.timeout.ms of its record, and the margin keeps the wait's own deadline from
 * racing the last expiries.
 */
export function allReportsWaitMs(messageTimeoutMs: number): number {
  return messageTimeoutMs > 0 ? messageTimeoutMs + REPORT_MARGIN_MS : 2 ** 31 - 1;
}

/** Reports of records the run itself ended before they were sent: not Kafka's refusal. */
const ENDED_UNSENT: ReadonlySet<string> = new Set(["DESTROYED", "TRANSACTION_ABORTED"]);

/** Delivery outcomes of a run, counted as the reports arrive. */
export class Tally {
  delivered = 0;
  /** Records Kafka or the producer refused or timed out. */
  failed = 0;
  /**
   * Records the run ended without an outcome for (a close deadline, a signal),
   * and the unsent records of an aborted transaction.
   */
  undelivered = 0;
  firstError: Error | undefined;
  firstUndelivered: Error | undefined;
  readonly startedAt = performance.now();

  /** `records` records (one report, or a batch's tally) had the outcome `err`. */
  report(err: Error | null, records = 1): void {
    if (err === null) this.delivered += records;
    else if (err instanceof KafkaClientError && ENDED_UNSENT.has(err.code)) {
      this.undelivered += records;
      this.firstUndelivered ??= err;
    } else {
      this.failed += records;
      this.firstError ??= err;
    }
  }

  /** A record that failed before it was queued (too large, say): it counts as failed. */
  refused(err: Error): void {
    this.failed++;
    this.firstError ??= err;
  }

  get reported(): number {
    return this.delivered + this.failed + this.undelivered;
  }

  /**
   * The summary line: `{"delivered":N,"failed":M,"undelivered":U,"seconds":S,"msgs_per_s":R}`.
   * `unreported` records (queued, no report when the process must exit now) count as undelivered.
   */
  summary(unreported = 0): string {
    const seconds = (performance.now() - this.startedAt) / 1000;
    return JSON.stringify({
      delivered: this.delivered,
      failed: this.failed,
      undelivered: this.undelivered + unreported,
      seconds: Math.round(seconds * 1000) / 1000,
      msgs_per_s: seconds > 0 ? Math.round(this.delivered / seconds) : 0,
    });
  }
}

/**
 * A TLS or SASL failure will not mend itself within one run of a shell
 * command, so the CLI stops at the first one instead of retrying until
 * message.timeout.ms (the API keeps retrying: a broker may be reconfigured).
 */
function isSecurityFailure(err: Error): boolean {
  return err instanceof KafkaClientError && (err.code === "SSL" || err.code === "AUTHENTICATION");
}

export interface Session {
  producer: Producer;
  /** Counts the records queued with produceDelimited() (a tally per batch). */
  onTally: DeliveryTally;
  /** The security failure that stopped the run, if one did. */
  aborted(): Error | undefined;
  /** Aborted on a security failure: input reading stops. */
  stopped: AbortSignal;
}

export interface SessionOptions {
  /** Called after each delivery report is counted. */
  afterReport?: () => void;
  /** No warnings on stderr (-q). */
  quiet?: boolean;
}

export function startSession(
  properties: ProducerProperties,
  tally: Tally,
  options: SessionOptions = {},
): Session {
  let abortedWith: Error | undefined;
  const stop = new AbortController();
  /** Connection failures already printed: each cause is said once, at once, not per retry. */
  const warned = new Set<string>();
  const afterReport = options.afterReport;
  const onTally: DeliveryTally = (err, records) => {
    tally.report(err, records);
    afterReport?.();
  };
  const producer = new Producer(properties, {
    // The CLI says what is wrong itself, once per cause (below); the debug log is opt-in.
    logger: process.env.EVENT_KAFKA_DEBUG ? consoleLogger("debug") : silentLogger,
    onDelivery: (err) => {
      tally.report(err);
      afterReport?.();
    },
    onError: (err) => {
      if (abortedWith !== undefined) return;
      if (!isSecurityFailure(err)) {
        // Each broker's failure is printed already; "all down" would say it twice.
        if (err instanceof KafkaClientError && err.code === "ALL_BROKERS_DOWN") return;
        if (options.quiet || warned.has(err.message)) return;
        warned.add(err.message);
        process.stderr.write(`event-kafka: warning: ${err.message} (retrying)\n`);
        return;
      }
      abortedWith = err;
      stop.abort();
      void producer.close(0);
    },
  });
  return { producer, onTally, aborted: () => abortedWith, stopped: stop.signal };
}

/** The closing line on stderr: the security failure that stopped the run, or the first failure. */
export function reportFailures(tally: Tally, aborted: Error | undefined): void {
  const notDelivered = tally.failed + tally.undelivered;
  if (aborted !== undefined) {
    process.stderr.write(
      `event-kafka: ${aborted.message} (${notDelivered} record(s) not delivered)\n`,
    );
    return;
  }
  if (tally.failed > 0) {
    process.stderr.write(
      `event-kafka: ${tally.failed} record(s) failed: ${tally.firstError?.message}\n`,
    );
  }
  if (tally.undelivered > 0 && tally.firstUndelivered !== undefined) {
    process.stderr.write(
      `event-kafka: ${tally.undelivered} record(s) undelivered: ${tally.firstUndelivered.message}\n`,
    );
  }
}
