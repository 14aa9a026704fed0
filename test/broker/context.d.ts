// Values that test/broker/global-setup.ts provides to every test file via `inject(...)`.
export {};

declare module "vitest" {
  export interface ProvidedContext {
    /** Comma-separated bootstrap list of the broker the whole run shares. */
    kafkaBootstrap: string;
    /** Where that broker came from, e.g. "Apache Kafka 4.4.0 at 127.0.0.1:PORT (local KRaft)". */
    kafkaDescription: string;
  }
}
