/**
 * The socket under a broker connection: opening it over TCP or TLS (SNI, the
 * certificate chain and host name checks as configured), and turning what
 * goes wrong there into client errors that say what to check.
 */
import net from "node:net";
import tls from "node:tls";
import { KafkaClientError } from "./client-error.js";
import type { TlsSettings } from "./security.js";

/** Where to open the socket and how. */
export interface SocketOptions {
  host: string;
  port: number;
  noDelay: boolean;
  keepAlive: boolean;
  /** security.protocol ssl or sasl_ssl */
  tls?: TlsSettings | undefined;
}

/**
 * Starts opening a socket to the broker: usable once it emits "secureConnect"
 * (TLS) or "connect" (plain TCP).
 */
export function openSocket(options: SocketOptions): net.Socket {
  const secure = options.tls;
  const socket = secure
    ? tls.connect({
        host: options.host,
        port: options.port,
        secureContext: secure.context,
        // RFC 6066: SNI carries host names only, never an IP literal.
        ...(net.isIP(options.host) === 0 && { servername: options.host }),
        rejectUnauthorized: secure.verify,
        checkServerIdentity: secure.checkHostname ? tls.checkServerIdentity : () => undefined,
      })
    : net.connect({ host: options.host, port: options.port });
  socket.setNoDelay(options.noDelay);
  if (options.keepAlive) socket.setKeepAlive(true);
  return socket;
}

/**
 * The host name check on a TLS socket just connected, when it is asked for
 * without chain verification: Node then skips it, so it is run on its own.
 * Returns the mismatch, or undefined.
 */
export function checkPeerHostname(
  socket: net.Socket,
  host: string,
  secure: TlsSettings | undefined,
): Error | undefined {
  if (!secure || secure.verify || !secure.checkHostname) return undefined;
  const peer = (socket as tls.TLSSocket).getPeerCertificate();
  return tls.checkServerIdentity(host, peer);
}

/** A TLS record header (handshake 22 or alert 21, version 3.x) where a Kafka frame was due. */
export function looksLikeTls(chunk: Buffer): boolean {
  return chunk.length >= 2 && (chunk[0] === 0x15 || chunk[0] === 0x16) && chunk[1] === 0x03;
}

/** OpenSSL's chain verification errors, as Node names them. */
const CERT_VERIFY_ERROR = /^(UNABLE_TO_|CERT_|SELF_SIGNED_|DEPTH_ZERO_|INVALID_CA|PATH_LENGTH_)/;

/** A socket error as the user should read it: TLS problems say what to check. */
export function socketError(
  address: string,
  err: Error,
  secure: TlsSettings | undefined,
): KafkaClientError {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  const ssl = (why: string): KafkaClientError =>
    new KafkaClientError("SSL", `SSL handshake with ${address} failed: ${why}`, { cause: err });
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return ssl(
      `certificate verify failed: host name mismatch: ${err.message} (ssl.endpoint.identification.algorithm=none skips this check)`,
    );
  }
  if (CERT_VERIFY_ERROR.test(code)) return ssl(`certificate verify failed: ${err.message}`);
  if (/ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE)$/.test(code)) {
    return ssl(
      `the broker refused the client certificate or its absence (check ssl.certificate.location and ssl.key.location): ${err.message}`,
    );
  }
  if (code.startsWith("ERR_SSL_")) return ssl(err.message);
  if (secure && /before secure TLS connection was established/.test(err.message)) {
    return ssl(
      "the broker closed the connection during the TLS handshake (a listener without TLS? check security.protocol and the port)",
    );
  }
  return new KafkaClientError(
    "TRANSPORT",
    `connection to ${address} failed: ${socketErrorText(err)}`,
    {
      cause: err,
    },
  );
}

/**
 * A socket error's message; an AggregateError (every address of a host name
 * failed, Node's autoSelectFamily) has none of its own: its errors' are joined.
 */
function socketErrorText(err: Error): string {
  if (err.message !== "" || !(err instanceof AggregateError)) return err.message;
  const inner = (err.errors as unknown[]).map(errorText).filter((m) => m !== "");
  const code = (err as NodeJS.ErrnoException).code;
  return inner.length > 0 ? [...new Set(inner)].join("; ") : (code ?? "connection failed");
}

/** The message of anything thrown. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
