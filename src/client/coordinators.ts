/**
 * Coordinator lookup: which broker coordinates a transactional id or a
 * consumer group (FindCoordinator, API 10), a connection to it, and
 * rediscovery when it moves. Owns the map of known coordinators; the callers
 * (the transaction manager) say when an answer showed one to be stale.
 */
import { ApiKey } from "../protocol/api-keys.js";
import { ErrorCode, KafkaProtocolError } from "../protocol/errors.js";
import {
  type Coordinator,
  CoordinatorType,
  decodeFindCoordinatorResponse,
  encodeFindCoordinatorRequest,
  FIND_COORDINATOR_BATCH_VERSION,
  FIND_COORDINATOR_VERSIONS,
  type FindCoordinatorResponse,
} from "../protocol/find-coordinator.js";
import { pickVersion } from "../protocol/versions.js";
import { KafkaClientError } from "./client-error.js";
import type { BrokerConnection } from "./connection.js";
import type { Logger } from "./logger.js";
import { request, sleep } from "./request.js";

export { CoordinatorType };

/** What coordinator lookup needs from the cluster. */
export interface CoordinatorCluster {
  /** A ready connection to any broker, waiting for one until `deadline`. */
  readyConnection(deadline: number): Promise<BrokerConnection>;
  /** A ready connection to broker `nodeId` at host:port (a node the metadata may not list yet). */
  nodeConnection(nodeId: number, host: string, port: number): Promise<BrokerConnection>;
}

export interface CoordinatorBackoff {
  retryBackoffMs: number;
  retryBackoffMaxMs: number;
}

/** Errors that mean "ask again, maybe elsewhere" from FindCoordinator or a coordinator. */
export const COORDINATOR_MOVED: ReadonlySet<number> = new Set([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
]);

function typeName(type: CoordinatorType): string {
  return type === CoordinatorType.TRANSACTION ? "transaction" : "group";
}

export class Coordinators {
  private readonly known = new Map<string, Coordinator>();
  private closed = false;

  constructor(
    private readonly cluster: CoordinatorCluster,
    private readonly backoff: CoordinatorBackoff,
    private readonly logger: Logger,
  ) {}

  /**
   * A ready connection to the coordinator of `key`, looking it up first when
   * it is not known; retries lookups and connections until `deadline`, then
   * rejects with TIMED_OUT and the last error. Authorization errors reject at once.
   */
  async connection(
    type: CoordinatorType,
    key: string,
    deadline: number,
  ): Promise<BrokerConnection> {
    const id = `${type}:${key}`;
    let lastError: Error | undefined;
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new KafkaClientError("DESTROYED", "the producer is closed");
      try {
        let found = this.known.get(id);
        if (found === undefined) {
          found = await this.find(type, key, deadline);
          this.known.set(id, found);
          this.logger.debug(`${typeName(type)} coordinator found`, {
            key,
            broker: `${found.host}:${found.port}`,
            nodeId: found.nodeId,
          });
        }
        return await this.cluster.nodeConnection(found.nodeId, found.host, found.port);
      } catch (err) {
        if (err instanceof KafkaProtocolError && !err.retriable) throw err;
        if (err instanceof KafkaClientError && err.code === "DESTROYED") throw err;
        lastError = err as Error;
        this.known.delete(id);
      }
      const wait = this.backoffMs(attempt);
      if (Date.now() + wait >= deadline) {
        throw new KafkaClientError(
          "TIMED_OUT",
          `no ${typeName(type)} coordinator for "${key}" reachable in time${lastError ? `: ${lastError.message}` : ""}`,
          { cause: lastError },
        );
      }
      await sleep(wait);
    }
  }

  /** The coordinator of `key` answered as if it were not (NOT_COORDINATOR, a closed connection): look it up again. */
  invalidate(type: CoordinatorType, key: string): void {
    this.known.delete(`${type}:${key}`);
  }

  close(): void {
    this.closed = true;
  }

  backoffMs(attempt: number): number {
    return Math.min(this.backoff.retryBackoffMaxMs, this.backoff.retryBackoffMs * 2 ** attempt);
  }

  /** One FindCoordinator round trip; a retriable error in the answer rejects with it. */
  private async find(type: CoordinatorType, key: string, deadline: number): Promise<Coordinator> {
    const conn = await this.cluster.readyConnection(deadline);
    const version = pickVersion(ApiKey.FindCoordinator, conn.brokerVersions, {
      // v0 knows only group coordinators.
      min: type === CoordinatorType.TRANSACTION ? 1 : 0,
      max: FIND_COORDINATOR_VERSIONS.max,
    });
    const res = await request<FindCoordinatorResponse>(conn, {
      apiKey: ApiKey.FindCoordinator,
      apiVersion: version,
      encode: (w) => encodeFindCoordinatorRequest(w, version, { keyType: type, keys: [key] }),
      decode: (r) => decodeFindCoordinatorResponse(r, version, key),
    });
    if (res.throttleTimeMs > 0) conn.throttle(Date.now() + res.throttleTimeMs);
    const found =
      version >= FIND_COORDINATOR_BATCH_VERSION
        ? res.coordinators.find((c) => c.key === key)
        : res.coordinators[0];
    if (found === undefined) {
      throw new KafkaClientError(
        "TRANSPORT",
        `FindCoordinator from ${conn.address} left out "${key}"`,
      );
    }
    if (found.errorCode !== 0) {
      throw new KafkaProtocolError(
        found.errorCode,
        found.errorMessage ?? null,
        `FindCoordinator for ${typeName(type)} "${key}"`,
      );
    }
    return found;
  }
}
