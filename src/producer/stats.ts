/** Counters a user can read at any time (`producer.stats()`). */
export interface ProducerStats {
  /** Records accepted by produce() since the start. */
  produced: number;
  /** Records waiting for their delivery report now. */
  queued: number;
  /** Bytes of the records waiting now (as counted for queue.buffering.max.kbytes). */
  queuedBytes: number;
  /** Bytes of batch buffers held now (counted against queue.buffering.max.kbytes too). */
  bufferBytes: number;
  /** Records carried by Produce requests, retries included. */
  sent: number;
  /** Records reported delivered. */
  delivered: number;
  /** Records reported failed. */
  failed: number;
  /** Records whose batch was retried (counted per retry). */
  retries: number;
  /** Record-batch bytes carried by Produce requests. */
  bytesSent: number;
  /** Record batches carried by Produce requests. */
  batchesSent: number;
  /** Produce requests sent. */
  requests: number;
  /** SASL re-authentications of live connections (KIP-368). */
  reauthentications: number;
  /** Requests awaiting a response now, over all connections. */
  inFlight: number;
  /** Round-trip time of the last response, per broker address, in ms. */
  rttMs: Record<string, number>;
}

export function emptyStats(): ProducerStats {
  return {
    produced: 0,
    queued: 0,
    queuedBytes: 0,
    bufferBytes: 0,
    sent: 0,
    delivered: 0,
    failed: 0,
    retries: 0,
    bytesSent: 0,
    batchesSent: 0,
    requests: 0,
    reauthentications: 0,
    inFlight: 0,
    rttMs: {},
  };
}
