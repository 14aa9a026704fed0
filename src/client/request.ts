/**
 * A request as a connection takes it: a value naming its API and version,
 * with the body's encoder and the response's decoder, and the callback its
 * outcome goes to. The connection adds the correlation id and the header.
 */
import type { Reader } from "../protocol/reader.js";
import type { Writer } from "../protocol/writer.js";
import { KafkaClientError } from "./client-error.js";
import type { BrokerConnection } from "./connection.js";

export type ResponseCallback<T> = (err: Error | null, response?: T) => void;

/**
 * One request as a value: what the connection needs to frame, send and match
 * it. The connection assigns the correlation id and writes the header.
 */
export interface KafkaRequest<T> {
  readonly apiKey: number;
  readonly apiVersion: number;
  /** Writes the request body; byte arrays given to `w.spliced()` go out by reference. */
  encode(w: Writer): void;
  /** Decodes the response body; undefined when the broker sends none (Produce with acks=0). */
  readonly decode: ((r: Reader) => T) | undefined;
  /** Initial size of the header-and-body buffer. */
  readonly sizeHint?: number;
}

/**
 * Sends `req` over `conn` and resolves with the decoded response: the form for
 * paths that wait on one answer at a time (coordinators, transactions).
 */
export function request<T>(
  conn: BrokerConnection,
  req: KafkaRequest<T>,
  timeoutMs?: number,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    conn.send<T>(
      req,
      (err, res) => {
        if (err) reject(err);
        else if (res === undefined) {
          reject(new KafkaClientError("TRANSPORT", `no response from ${conn.address}`));
        } else resolve(res);
      },
      timeoutMs,
    );
  });
}

/** Resolves after `ms` without keeping the process alive. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
