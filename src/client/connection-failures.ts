/**
 * What the cluster remembers about failing brokers, by address (a bootstrap
 * entry and the metadata node at the same address are one broker): the
 * causes already warned about, so a retry storm logs each cause once, and the
 * addresses whose latest attempt failed, so ALL_BROKERS_DOWN is reported once
 * per outage.
 */
import { KafkaClientError } from "./client-error.js";
import type { Logger } from "./logger.js";

/** Distinct causes warned about per broker before the rest go to debug. */
const MAX_WARNED_CAUSES = 8;

/**
 * "connection to host:port failed: <why>", without naming the broker twice:
 * most connection errors already start with "connection to host:port ...".
 */
function failureText(address: string, err: Error): string {
  return err.message.includes(address)
    ? err.message
    : `connection to ${address} failed: ${err.message}`;
}

/**
 * What makes two failures the same cause: the client code and the system
 * error code (ECONNREFUSED, ENOTFOUND, ...) when there is one, else the message.
 */
function causeKey(err: Error): string {
  const code = err instanceof KafkaClientError ? err.code : err.name;
  const errno = (err.cause as NodeJS.ErrnoException | undefined)?.code;
  return typeof errno === "string" ? `${code} ${errno}` : `${code} ${err.message}`;
}

export class ConnectionFailures {
  /**
   * Per broker address, the causes of failure logged at warn since it was
   * last connected: a retry storm logs each cause once, the repeats at debug.
   */
  private readonly warned = new Map<string, Set<string>>();
  /** Addresses whose latest connection attempt failed (none has connected since). */
  private readonly failing = new Set<string>();
  /** ALL_BROKERS_DOWN was reported and no broker has connected since. */
  private allDownReported = false;

  constructor(private readonly logger: Logger) {}

  /** A connection to `address` is up: its failures are forgotten, the warnings re-armed. */
  connected(address: string): void {
    this.failing.delete(address);
    this.allDownReported = false;
    if (this.warned.delete(address)) {
      this.logger.info(`connected to ${address}`, { broker: address });
    }
  }

  /**
   * A connection attempt to `address` failed (`established` false), or a
   * connection that was up closed (`established` true): remembered, and
   * logged at warn the first time a broker fails with a given cause (until it
   * connects again), at debug when the cause repeats. A connection that was up
   * and closed plainly (TRANSPORT: the broker closed it, idle or restarting) is
   * logged at info: if the broker stays away, the reconnect attempts that
   * follow are warned about.
   */
  failed(address: string, err: Error, established: boolean): void {
    if (!established) this.failing.add(address);
    const text = `${failureText(address, err)} (${established ? "reconnecting" : "retrying"})`;
    const fields = { broker: address, error: err.message };
    const logger = this.logger;
    if (established && err instanceof KafkaClientError && err.code === "TRANSPORT") {
      logger.info(text, fields);
      return;
    }
    let causes = this.warned.get(address);
    if (causes === undefined) {
      causes = new Set();
      this.warned.set(address, causes);
    }
    const key = causeKey(err);
    if (causes.has(key) || causes.size >= MAX_WARNED_CAUSES) {
      logger.debug(text, fields);
      return;
    }
    causes.add(key);
    logger.warn(text, fields);
  }

  /**
   * ALL_BROKERS_DOWN (logged at error), when every address in `known` failed
   * its latest connection attempt; undefined when one did not, or when it was
   * reported already and no broker has connected since. The caller has made
   * sure no connection is up.
   */
  allBrokersDown(known: ReadonlySet<string>, last: Error): KafkaClientError | undefined {
    if (this.allDownReported) return undefined;
    for (const address of known) if (!this.failing.has(address)) return undefined;
    this.allDownReported = true;
    const n = known.size;
    const what =
      n === 1 ? `the only broker (${[...known][0]}) is down` : `all ${n} brokers are down`;
    const err = new KafkaClientError("ALL_BROKERS_DOWN", `${what} (last error: ${last.message})`, {
      cause: last,
    });
    this.logger.error(err.message, { brokers: [...known], error: last.message });
    return err;
  }

  /** Brokers gone from the metadata take their failure records with them. */
  forgetAllBut(known: ReadonlySet<string>): void {
    for (const address of this.failing) if (!known.has(address)) this.failing.delete(address);
    for (const address of this.warned.keys()) if (!known.has(address)) this.warned.delete(address);
  }
}
