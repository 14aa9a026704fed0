/**
 * The idempotent producer's identity: one producer id per producer, asked for
 * once with InitProducerId (API 22) from any broker, and the epochs handed to
 * partitions. A partition that must start its sequence again (its broker lost
 * the producer's state, or a batch whose fate is unknown left the queue) takes
 * a new epoch of the same id: the client bumps it itself, as KIP-360 lets an
 * idempotent producer without a transactional id do (a broker answers such an
 * InitProducerId with a fresh id whatever id and epoch it carries).
 *
 * Errors that end idempotence (no InitProducerId on the broker, authorization,
 * a fenced producer, the epoch exhausted) make the identity fatal: the
 * producer then fails every record with that cause.
 */
import { ApiKey } from "../protocol/api-keys.js";
import { ErrorCode, KafkaProtocolError } from "../protocol/errors.js";
import {
  decodeInitProducerIdResponse,
  encodeInitProducerIdRequest,
  INIT_PRODUCER_ID_VERSIONS,
  type InitProducerIdResponse,
} from "../protocol/init-producer-id.js";
import { pickVersion } from "../protocol/versions.js";
import { KafkaClientError } from "./client-error.js";
import type { BrokerConnection } from "./connection.js";
import type { Logger } from "./logger.js";
import type { DeliveryError } from "./record.js";

const MAX_EPOCH = 32767;
/**
 * The first retry after COORDINATOR_LOAD_IN_PROGRESS, doubling after: a broker
 * answers it while it fetches a block of producer ids, a matter of milliseconds,
 * and a producer waiting retry.backoff.ms (100) for it starts that much later.
 */
const LOAD_RETRY_MS = 5;

/** How long InitProducerId may keep failing before it is logged at warn (once). */
const WARN_AFTER_MS = 1500;

export interface IdentityEvents {
  /** A producer id arrived: batches can be stamped. */
  onReady(): void;
  /** Idempotence cannot go on: every record fails with `err`. */
  onFatal(err: DeliveryError): void;
}

export class ProducerIdentity {
  producerId = -1;
  /** The newest epoch handed out (partitions may still use older ones). */
  epoch = -1;
  /** Why idempotence ended, once it has. */
  fatal: DeliveryError | undefined;
  private requesting = false;
  private failures = 0;
  /** When the current run of failures began; whether it has been warned of. */
  private failingSince = 0;
  private warned = false;
  private retryAt = 0;

  constructor(
    private readonly retryBackoffMs: number,
    private readonly retryBackoffMaxMs: number,
    private readonly logger: Logger,
    private readonly events: IdentityEvents,
  ) {}

  get ready(): boolean {
    return this.producerId >= 0 && this.fatal === undefined;
  }

  /**
   * Asks for a producer id when there is none yet, over `conn` (any broker,
   * or undefined while none is up); returns when to try again, or Infinity.
   */
  poll(now: number, conn: BrokerConnection | undefined): number {
    if (this.ready || this.fatal !== undefined || this.requesting) return Number.POSITIVE_INFINITY;
    if (now < this.retryAt) return this.retryAt;
    if (conn === undefined) return Number.POSITIVE_INFINITY; // its connect event drains again
    let version: number;
    try {
      version = pickVersion(ApiKey.InitProducerId, conn.brokerVersions, INIT_PRODUCER_ID_VERSIONS);
    } catch (err) {
      this.fail(
        new KafkaClientError(
          "UNSUPPORTED_FEATURE",
          `the idempotent producer needs InitProducerId, which broker ${conn.address} does not offer (Kafka 0.11 or newer; or set enable.idempotence=false): ${(err as Error).message}`,
          { cause: err },
        ),
      );
      return Number.POSITIVE_INFINITY;
    }
    this.requesting = true;
    conn.send<InitProducerIdResponse>(
      {
        apiKey: ApiKey.InitProducerId,
        apiVersion: version,
        encode: (w) =>
          encodeInitProducerIdRequest(w, version, {
            transactionalId: null,
            transactionTimeoutMs: 60000,
            producerId: -1,
            producerEpoch: -1,
          }),
        decode: (r) => decodeInitProducerIdResponse(r, version),
      },
      (err, res) => {
        this.requesting = false;
        if (err || res === undefined) {
          this.retryLater(err?.message ?? "no response", conn.address);
        } else if (res.errorCode !== 0) {
          const e = new KafkaProtocolError(
            res.errorCode,
            null,
            `InitProducerId from ${conn.address}`,
          );
          if (e.retriable) {
            // The broker is fetching a block of producer ids: ready within a few ms.
            const soon = res.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
            this.retryLater(e.message, conn.address, soon ? LOAD_RETRY_MS : this.retryBackoffMs);
          } else {
            this.fail(e);
          }
        } else {
          this.producerId = res.producerId;
          this.epoch = res.producerEpoch;
          this.failures = 0;
          this.logger.debug("producer id assigned", {
            producerId: res.producerId,
            epoch: res.producerEpoch,
            broker: conn.address,
          });
          this.events.onReady();
        }
      },
    );
    return Number.POSITIVE_INFINITY;
  }

  private retryLater(reason: string, broker: string, baseMs = this.retryBackoffMs): void {
    const now = Date.now();
    if (this.failures++ === 0) {
      this.failingSince = now;
      this.warned = false;
    }
    const backoff = Math.min(this.retryBackoffMaxMs, baseMs * 2 ** (this.failures - 1));
    this.retryAt = now + backoff;
    // A fresh broker answers COORDINATOR_LOAD_IN_PROGRESS for a moment: worth a line
    // only once the retries have gone on a while, and that line only once.
    const warn = !this.warned && now - this.failingSince >= WARN_AFTER_MS;
    if (warn) this.warned = true;
    const log = warn ? this.logger.warn : this.logger.debug;
    log.call(this.logger, "InitProducerId failed, retrying", { broker, error: reason, backoff });
    this.events.onReady(); // the sender runs again and polls at retryAt
  }

  /** A new epoch for a partition whose sequence starts again (KIP-360). */
  bump(): number {
    if (this.epoch >= MAX_EPOCH) {
      this.fail(
        new KafkaClientError(
          "FATAL",
          `producer epoch exhausted for producer id ${this.producerId}: recreate the producer`,
        ),
      );
      return this.epoch;
    }
    this.epoch++;
    this.logger.info("producer epoch bumped", { producerId: this.producerId, epoch: this.epoch });
    return this.epoch;
  }

  /** Ends idempotence for good with `err`. */
  fail(err: DeliveryError): void {
    if (this.fatal !== undefined) return;
    this.fatal = err;
    this.logger.error("idempotent producer failed", { error: err.message });
    this.events.onFatal(err);
  }
}
