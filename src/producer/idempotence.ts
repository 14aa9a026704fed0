/**
 * The idempotent producer's identity: a producer id, asked for with
 * InitProducerId (API 22) from any broker, and its epochs. A partition whose
 * sequence must start again (its broker lost the producer's state, or a
 * batch whose fate is unknown left the queue) moves to a newer epoch: the
 * client bumps it itself, as KIP-360 lets an idempotent producer without a
 * transactional id do.
 *
 * One bump serves every partition that needs one at the time: each
 * (id, epoch) the identity hands out has a generation, and a partition still
 * on an older generation than the newest takes the newest instead of asking
 * for another bump. So an incident on 1,000 partitions costs one epoch, not
 * 1,000. When the epoch is exhausted (32767) the next bump asks for a new
 * producer id, as the Java client does, instead of failing.
 *
 * A transactional producer's identity is assigned instead (assign(), by the
 * transaction manager, from InitProducerId with the transactional id or from
 * EndTxn v5): it asks for nothing and bumps nothing by itself.
 *
 * Errors that end idempotence (authorization, a fenced producer) make the
 * identity fatal: the producer then fails every record with that cause. A
 * broker that does not offer InitProducerId, or denies it, turns idempotence
 * off instead when the user did not ask for it (`required` false): the
 * producer goes on as a plain one.
 */

import { KafkaClientError } from "../client/client-error.js";
import type { BrokerConnection } from "../client/connection.js";
import type { Logger } from "../client/logger.js";
import { ApiKey } from "../protocol/api-keys.js";
import { ErrorCode, KafkaProtocolError } from "../protocol/errors.js";
import {
  decodeInitProducerIdResponse,
  encodeInitProducerIdRequest,
  INIT_PRODUCER_ID_VERSIONS,
  type InitProducerIdResponse,
} from "../protocol/init-producer-id.js";
import { pickVersion } from "../protocol/versions.js";
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
  /** A producer id arrived (or a retry is due): run the sender. */
  onReady(): void;
  /** Idempotence cannot go on: every record fails with `err`. */
  onFatal(err: DeliveryError): void;
  /** The cluster cannot give a producer id and idempotence was not required: go on without. */
  onDisabled(reason: string): void;
}

/** What a partition stamps its batches with, and the generation that pair belongs to. */
export interface ProducerIdAndEpoch {
  producerId: number;
  producerEpoch: number;
  generation: number;
}

export class ProducerIdentity {
  producerId = -1;
  /** The newest epoch handed out (partitions may still use older ones). */
  epoch = -1;
  /** Bumped with every new (id, epoch); 0 before the first id. */
  generation = 0;
  /** Why idempotence ended, once it has. */
  fatal: DeliveryError | undefined;
  /** Idempotence was turned off: the cluster gives no producer id (see onDisabled). */
  disabled = false;
  private requesting = false;
  private failures = 0;
  /** When the current run of failures began; whether it has been warned of. */
  private failingSince = 0;
  private warned = false;
  private retryAt = 0;

  constructor(
    private readonly retryBackoffMs: number,
    private readonly retryBackoffMaxMs: number,
    /** enable.idempotence was set to true: without a producer id the producer cannot go on. */
    private readonly required: boolean,
    private readonly logger: Logger,
    private readonly events: IdentityEvents,
    /** Transactional: ids come through assign() only. */
    private readonly assigned = false,
  ) {}

  get ready(): boolean {
    return this.producerId >= 0 && this.fatal === undefined && !this.disabled;
  }

  /** The newest id and epoch. */
  current(): ProducerIdAndEpoch {
    return { producerId: this.producerId, producerEpoch: this.epoch, generation: this.generation };
  }

  /**
   * Asks for a producer id when there is none, over `conn` (any broker, or
   * undefined while none is up); returns when to look again, or Infinity (a
   * broker's ready event or the answer runs the sender again).
   */
  poll(now: number, conn: BrokerConnection | undefined): number {
    if (
      this.ready ||
      this.assigned ||
      this.fatal !== undefined ||
      this.disabled ||
      this.requesting
    ) {
      return Number.POSITIVE_INFINITY;
    }
    if (now < this.retryAt) return this.retryAt;
    if (conn === undefined) return Number.POSITIVE_INFINITY;
    // A request like any other: within max.in.flight, and not while the broker throttles us.
    if (!conn.canSend(now)) {
      return conn.throttledUntil > now ? conn.throttledUntil : Number.POSITIVE_INFINITY;
    }
    let version: number;
    try {
      version = pickVersion(ApiKey.InitProducerId, conn.brokerVersions, INIT_PRODUCER_ID_VERSIONS);
    } catch (err) {
      this.unavailable(
        `broker ${conn.address} does not offer InitProducerId (Kafka 0.11 or newer has it): ${(err as Error).message}`,
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
      (err, res) => this.onAnswer(conn, err, res),
    );
    return Number.POSITIVE_INFINITY;
  }

  private onAnswer(
    conn: BrokerConnection,
    err: Error | null,
    res: InitProducerIdResponse | undefined,
  ): void {
    this.requesting = false;
    if (res !== undefined && res.throttleTimeMs > 0) conn.throttle(Date.now() + res.throttleTimeMs);
    if (err || res === undefined) {
      this.retryLater(err?.message ?? "no response", conn.address);
      return;
    }
    if (res.errorCode !== 0) {
      const e = new KafkaProtocolError(res.errorCode, null, `InitProducerId from ${conn.address}`);
      if (e.retriable) {
        // The broker is fetching a block of producer ids: ready within a few ms.
        const soon = res.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
        this.retryLater(e.message, conn.address, soon ? LOAD_RETRY_MS : this.retryBackoffMs);
      } else if (
        res.errorCode === ErrorCode.CLUSTER_AUTHORIZATION_FAILED &&
        this.generation === 0
      ) {
        // ACLs from before Kafka 2.8 give IdempotentWrite only with ClusterAction rights.
        this.unavailable(
          `broker ${conn.address} denies InitProducerId (CLUSTER_AUTHORIZATION_FAILED: the principal lacks IdempotentWrite on the cluster)`,
          e,
        );
      } else {
        this.fail(e);
      }
      return;
    }
    this.producerId = res.producerId;
    this.epoch = res.producerEpoch;
    this.generation++;
    this.failures = 0;
    this.logger.debug("producer id assigned", {
      producerId: res.producerId,
      epoch: res.producerEpoch,
      broker: conn.address,
    });
    this.events.onReady();
  }

  /**
   * No producer id can be had: fatal when idempotence was required, otherwise
   * idempotence is turned off with one warning that says why and how to require it.
   */
  private unavailable(why: string, err: DeliveryError): void {
    if (this.required) {
      this.fail(err);
      return;
    }
    this.disabled = true;
    const reason = `idempotence turned off: ${why}; records are sent without producer ids (a retry may then write a record twice). Set enable.idempotence=true to fail instead`;
    this.logger.warn(reason, {});
    this.events.onDisabled(reason);
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

  /**
   * A partition on `generation` must start its sequence again: a newer
   * (id, epoch) than the one it has. When another partition's bump already
   * made one, that is it; otherwise the epoch goes up by one, or, exhausted,
   * a new producer id is asked for (undefined until it comes: not ready).
   */
  newerThan(generation: number): ProducerIdAndEpoch | undefined {
    if (generation < this.generation) return this.ready ? this.current() : undefined;
    // A transactional producer's epoch moves with its transactions only.
    if (!this.ready || this.assigned) return undefined;
    if (this.epoch >= MAX_EPOCH) {
      this.logger.info("producer epoch exhausted: asking for a new producer id", {
        producerId: this.producerId,
        epoch: this.epoch,
      });
      this.producerId = -1;
      this.epoch = -1;
      this.retryAt = 0;
      this.events.onReady();
      return undefined;
    }
    this.epoch++;
    this.generation++;
    this.logger.info("producer epoch bumped", { producerId: this.producerId, epoch: this.epoch });
    return this.current();
  }

  /** Takes the id and epoch a transaction coordinator gave (transactional producers). */
  assign(producerId: number, epoch: number): void {
    this.producerId = producerId;
    this.epoch = epoch;
    this.generation++;
    this.logger.debug("producer id assigned", { producerId, epoch });
    this.events.onReady();
  }

  /** Ends idempotence for good with `err`. */
  fail(err: DeliveryError): void {
    if (this.fatal !== undefined) return;
    this.fatal = err;
    this.logger.error("idempotent producer failed", { error: err.message });
    this.events.onFatal(err);
  }
}
