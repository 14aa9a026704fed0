/**
 * The secure (TLS/SASL) broker for the tests, from global-setup's `inject("kafkaSecure")`.
 *
 *   const secure = secureBroker(); // throws one line when there is none
 *   tls.connect({ host: "127.0.0.1", port: secure.listeners.ssl.port, ca: secure.certs.ca.certPem })
 *
 * Listeners, certificates, users and the reauth interval: SecureBrokerInfo in kafka.ts.
 */
import { inject } from "vitest";
import type { SecureBrokerInfo } from "./kafka.js";

export type {
  SaslMechanism,
  SaslPasswordUser,
  SecureBrokerInfo,
  SecureListener,
  SecureListeners,
} from "./kafka.js";
export {
  CLIENT_KEY_PASSPHRASE,
  OAUTHBEARER_USER,
  REAUTH_MS,
  SASL_MECHANISMS,
  SASL_PLAIN_USER,
  SCRAM_SHA_256_USER,
  SCRAM_SHA_512_USER,
  WRONG_HOST_NAME,
} from "./kafka.js";

/** True when global-setup provided a secure broker (for `describe.skipIf(!hasSecureBroker())`). */
export function hasSecureBroker(): boolean {
  return inject("kafkaSecure") !== undefined;
}

/** The secure broker; throws one clear line when global-setup could not provide one. */
export function secureBroker(): SecureBrokerInfo {
  const info = inject("kafkaSecure");
  if (info) return info;
  const why =
    inject("kafkaSecureUnavailable") ??
    "install Java 17 and Maven (apt-get install -y openjdk-17-jre-headless maven); " +
      "it comes from test/broker/global-setup.ts (vitest project 'broker')";
  throw new Error(`no secure broker: ${why}`);
}
