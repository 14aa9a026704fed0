/**
 * vitest globalSetup: one Kafka broker for the whole run, handed to the tests through
 * `inject("kafkaBootstrap")` / `inject("kafkaDescription")` (types in context.d.ts).
 *
 * Order of preference:
 *   1. KAFKA_BOOTSTRAP set: that cluster, as it is.
 *   2. A Docker engine reachable (DOCKER_HOST, or /var/run/docker.sock answers) and the
 *      optional package @testcontainers/kafka installed: its KafkaContainer
 *      (image: KAFKA_TESTCONTAINERS_IMAGE, default confluentinc/cp-kafka:8.2.0).
 *   3. Java and Maven present: a local single-node KRaft broker (kafka.ts).
 *   4. Otherwise: fail with one line saying what to install.
 *
 * The TLS/SASL tests get `inject("kafkaSecure")` (a SecureBrokerInfo; read it through
 * secure.ts's secureBroker()). The local broker of case 3 is started with `secure: true` and
 * serves both. In cases 1 and 2 an extra local secure broker is started when Java and Maven
 * are available; otherwise "kafkaSecure" is not provided and "kafkaSecureUnavailable" says why.
 */
import { existsSync } from "node:fs";
import { connect } from "node:net";
import type { TestProject } from "vitest/node";
import {
  describeSecureListeners,
  jarsComplete,
  jarsDirFor,
  javaAvailable,
  mavenAvailable,
  type SecureBrokerInfo,
  startCluster,
} from "./kafka.js";

interface StartedBroker {
  bootstrap: string;
  description: string;
  /** Set when this broker also has the secure listeners (the local one). */
  secure?: SecureBrokerInfo;
  stop(): Promise<void>;
}

const INSTALL_HINT = "install Java 17 and Maven (apt-get install -y openjdk-17-jre-headless maven)";

/** The slice of @testcontainers/kafka used here (the package is optional, not a dependency). */
interface StartedContainerLike {
  getHost(): string;
  getMappedPort(port: number): number;
  stop(): Promise<unknown>;
}
interface KafkaContainerLike {
  withKraft?: () => KafkaContainerLike;
  start(): Promise<StartedContainerLike>;
}
type KafkaContainerCtor = new (image: string) => KafkaContainerLike;

function dockerSocketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 2_000);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

async function dockerReachable(): Promise<boolean> {
  if (process.env.DOCKER_HOST) return true;
  const sock = "/var/run/docker.sock";
  return existsSync(sock) && (await dockerSocketAnswers(sock));
}

async function loadKafkaContainer(): Promise<KafkaContainerCtor | undefined> {
  // A module name in a variable: TypeScript does not resolve it, and a missing package is
  // just a rejected import.
  const moduleName = "@testcontainers/kafka";
  try {
    const mod = (await import(moduleName)) as { KafkaContainer?: unknown };
    return typeof mod.KafkaContainer === "function"
      ? (mod.KafkaContainer as KafkaContainerCtor)
      : undefined;
  } catch {
    return undefined;
  }
}

async function startWithTestcontainers(): Promise<StartedBroker | undefined> {
  if (!(await dockerReachable())) return undefined;
  const KafkaContainer = await loadKafkaContainer();
  if (!KafkaContainer) {
    console.log("[kafka] Docker is reachable but @testcontainers/kafka is not installed");
    return undefined;
  }
  const image = process.env.KAFKA_TESTCONTAINERS_IMAGE ?? "confluentinc/cp-kafka:8.2.0";
  try {
    let container = new KafkaContainer(image);
    if (typeof container.withKraft === "function") container = container.withKraft();
    const started = await container.start();
    const bootstrap = `${started.getHost()}:${started.getMappedPort(9093)}`;
    return {
      bootstrap,
      description: `Kafka image ${image} (testcontainers) at ${bootstrap}`,
      stop: async () => {
        await started.stop();
      },
    };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    console.log(`[kafka] testcontainers could not start ${image}: ${msg}`);
    return undefined;
  }
}

async function localBrokerPossible(): Promise<boolean> {
  if (!(await javaAvailable())) return false;
  return jarsComplete(jarsDirFor()) || (await mavenAvailable());
}

/** A local single-node broker with the secure listeners too. */
async function startLocal(what: string): Promise<StartedBroker> {
  const started = Date.now();
  const cluster = await startCluster({ nodes: 1, secure: true });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  return {
    bootstrap: cluster.bootstrap,
    description:
      `Apache Kafka ${cluster.version} at ${cluster.bootstrap} ` +
      `(${what}, pid ${cluster.nodes[0]!.pid}, started in ${seconds} s)`,
    secure: cluster.secure!,
    stop: () => cluster.stop(),
  };
}

async function startBroker(): Promise<StartedBroker> {
  const external = process.env.KAFKA_BOOTSTRAP?.trim();
  if (external) {
    return {
      bootstrap: external,
      description: `external cluster at ${external} (KAFKA_BOOTSTRAP)`,
      stop: async () => {},
    };
  }
  const container = await startWithTestcontainers();
  if (container) return container;
  if (await localBrokerPossible()) return startLocal("local KRaft node");
  throw new Error(
    `No Kafka broker for the tests: ${INSTALL_HINT}, or set KAFKA_BOOTSTRAP=host:port.`,
  );
}

/** The main broker is not local: an extra local broker for the TLS/SASL tests, if possible. */
async function startExtraSecure(): Promise<StartedBroker | string> {
  if (!(await localBrokerPossible()))
    return `${INSTALL_HINT} so that global-setup can start a local one (the main broker is not local)`;
  try {
    return await startLocal("local KRaft node for the TLS/SASL tests");
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    console.log(`[kafka] the local secure broker did not start: ${msg}`);
    return `the local secure broker did not start: ${msg.split("\n")[0]}`;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const broker = await startBroker();
  project.provide("kafkaBootstrap", broker.bootstrap);
  project.provide("kafkaDescription", broker.description);
  console.log(broker.description);
  let extra: StartedBroker | undefined;
  let secure = broker.secure;
  if (!secure) {
    const got = await startExtraSecure();
    if (typeof got === "string") {
      project.provide("kafkaSecureUnavailable", got);
    } else {
      extra = got;
      secure = got.secure;
    }
  }
  if (secure) {
    project.provide("kafkaSecure", secure);
    if (extra) console.log(`Secure broker: ${extra.description}`);
    console.log(`Secure listeners: ${describeSecureListeners(secure)}`);
  } else {
    console.log("No secure broker: the TLS/SASL tests will fail with the reason");
  }
  return async () => {
    await Promise.all([broker.stop(), extra?.stop()]);
  };
}
