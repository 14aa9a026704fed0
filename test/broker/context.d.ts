// Values that test/broker/global-setup.ts provides to every test file via `inject(...)`.
import type { SecureBrokerInfo } from "./kafka.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** Comma-separated bootstrap list of the broker the whole run shares. */
    kafkaBootstrap: string;
    /** Where that broker came from, e.g. "Apache Kafka 4.4.0 at 127.0.0.1:PORT (local KRaft)". */
    kafkaDescription: string;
    /**
     * The local broker's TLS and SASL listeners, certificates and users; absent when no local
     * broker could be started (see kafkaSecureUnavailable). Read it with secure.ts's
     * secureBroker(), which throws a one-line reason when it is absent.
     */
    kafkaSecure?: SecureBrokerInfo;
    /** Why kafkaSecure is absent (only set then). */
    kafkaSecureUnavailable?: string;
  }
}
