/**
 * Builds the producer's parts and wires their events to one another: the
 * Cluster (metadata and connections), the Accumulator (records, batches,
 * every report), the Sender (requests and outcomes), the ProducerIdentity
 * when idempotent and the TransactionManager when transactional. The Producer
 * façade owns the API and the lifecycle; this owns how the parts talk.
 */

import { Cluster } from "../client/cluster.js";
import { fatalChannel, publish } from "../client/diagnostics.js";
import type { Logger } from "../client/logger.js";
import type { Security } from "../client/security.js";
import { isGiven, type ProducerConfig, type ProducerProperties } from "../config/index.js";
import { Accumulator } from "./accumulator.js";
import { clusterOptions } from "./cluster-options.js";
import { ProducerIdentity } from "./idempotence.js";
import { Partitioner } from "./partitioners.js";
import type { ProducerOptions } from "./producer-options.js";
import { Sender } from "./sender.js";
import type { ProducerStats } from "./stats.js";
import { createTransactionManager } from "./transaction-setup.js";
import type { TransactionManager } from "./transactions.js";

export interface Engine {
  cluster: Cluster;
  accumulator: Accumulator;
  sender: Sender;
  /** When idempotent. */
  identity: ProducerIdentity | undefined;
  /** When transactional.id is set. */
  txn: TransactionManager | undefined;
}

/** What the parts need from the façade. */
export interface EngineHooks {
  /** Records were reported: waiters on the queue may go on. */
  onReported(): void;
  /** Batches go without waiting for linger.ms (a flush, a close, a stream's end). */
  lingerDisabled(): boolean;
  /** The producer's flush(), which a commit waits on. */
  flush(timeoutMs: number): Promise<number>;
}

export function buildEngine(
  config: ProducerConfig,
  properties: ProducerProperties,
  options: ProducerOptions,
  bootstrap: { host: string; port: number }[],
  security: Security,
  counters: ProducerStats,
  logger: Logger,
  hooks: EngineHooks,
): Engine {
  // Each part is created once the parts it calls back exist; the callbacks run later.
  let accumulator: Accumulator | undefined;
  let sender: Sender | undefined;
  let txn: TransactionManager | undefined;
  const onError = options.onError;
  const cluster = new Cluster(
    clusterOptions(config, bootstrap, security, logger, () => {
      counters.reauthentications++;
    }),
    {
      topicsAwaitingMetadata: () => accumulator!.topicsAwaitingMetadata(),
      onMetadata: () => {
        const now = Date.now();
        accumulator!.forgetIdle(now, config["metadata.max.idle.ms"]);
        accumulator!.onMetadata(now);
        sender!.wakeAll();
      },
      onBrokerReady: (nodeId) => sender!.brokerReady(nodeId),
      onBrokerDown: (nodeId) => sender!.brokerReady(nodeId),
      onConnectionError: (err) => {
        if (onError === undefined) return;
        try {
          onError(err);
        } catch (e) {
          logger.error("onError callback threw", { error: (e as Error).message });
        }
      },
    },
  );
  const partitioner = new Partitioner(config.partitioner, {
    stickyLingerMs: config["sticky.partitioning.linger.ms"],
  });
  accumulator = new Accumulator(
    config,
    counters,
    cluster,
    partitioner,
    {
      onReady: () => sender!.schedule(),
      wake: (time) => sender!.wake(time),
      onReported: hooks.onReported,
    },
    logger,
  );
  const acc = accumulator;
  const transactional = config["transactional.id"] !== "";
  const identity = config["enable.idempotence"]
    ? new ProducerIdentity(
        config["retry.backoff.ms"],
        config["retry.backoff.max.ms"],
        transactional || isGiven(properties, "enable.idempotence"),
        logger,
        {
          onReady: () => sender!.wakeAll(),
          onFatal: (err) => {
            publish(fatalChannel, () => ({
              clientId: config["client.id"],
              transactionalId: transactional ? config["transactional.id"] : undefined,
              error: err,
            }));
            txn?.onFatal(err);
            acc.failAll(() => err);
          },
          onDisabled: () => sender!.dropIdentity(),
        },
        transactional,
      )
    : undefined;
  sender = new Sender(acc, cluster, config, counters, logger, identity, {
    lingerDisabled: hooks.lingerDisabled,
  });
  txn =
    transactional && identity !== undefined
      ? createTransactionManager({
          config,
          cluster,
          identity,
          accumulator: acc,
          sender,
          counters,
          logger,
          flush: hooks.flush,
          maxVersion: options.maxTransactionVersion ?? 2,
        })
      : undefined;
  return { cluster, accumulator: acc, sender, identity, txn };
}
