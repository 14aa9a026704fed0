/**
 * vitest globalSetup: one Kafka broker for the whole run, handed to the tests through
 * `inject("kafkaBootstrap")` / `inject("kafkaDescription")` (types in context.d.ts).
 *
 * Order of preference (the choice itself is broker-choice.ts; its one-line reason is printed):
 *   1. KAFKA_BOOTSTRAP set: that cluster, as it is.
 *   2. A Docker engine answers GET /_ping (DOCKER_HOST, else /var/run/docker.sock): a
 *      @testcontainers/kafka KafkaContainer (image: KAFKA_TESTCONTAINERS_IMAGE, default
 *      confluentinc/cp-kafka:8.2.0). If the container does not start, one line says why and
 *      case 3 follows.
 *   3. Java and Maven present (or the jars cached): a local single-node KRaft broker (kafka.ts).
 *   4. Otherwise: fail with one line saying what to install.
 *
 * The TLS/SASL tests get `inject("kafkaSecure")` (a SecureBrokerInfo; read it through
 * secure.ts's secureBroker()). The local broker of case 3 is started with `secure: true` and
 * serves both. In cases 1 and 2 an extra local secure broker is started when Java and Maven
 * are available; otherwise "kafkaSecure" is not provided and "kafkaSecureUnavailable" says why.
 */
import type { TestProject } from "vitest/node";
import { chooseBroker } from "./broker-choice.js";
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
const DEFAULT_KAFKA_IMAGE = "confluentinc/cp-kafka:8.2.0";

/** Kafka in a container; undefined (after one line saying why) when it does not start. */
async function startWithTestcontainers(): Promise<StartedBroker | undefined> {
  const image = process.env.KAFKA_TESTCONTAINERS_IMAGE?.trim() || DEFAULT_KAFKA_IMAGE;
  try {
    // Loaded only when it is used: testcontainers brings dockerode, ssh2 and friends.
    const { KafkaContainer } = await import("@testcontainers/kafka");
    const started = await new KafkaContainer(image).withKraft().start();
    const bootstrap = `${started.getHost()}:${started.getMappedPort(9093)}`;
    return {
      bootstrap,
      description: `Kafka image ${image} (testcontainers) at ${bootstrap}`,
      stop: async () => {
        await started.stop();
      },
    };
  } catch (err) {
    const msg = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    console.log(
      `[kafka] testcontainers could not start ${image} (${msg}); using a local Kafka from Maven jars`,
    );
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
  const choice = await chooseBroker();
  console.log(`[kafka] ${choice.reason}`);
  if (choice.kind === "external") {
    // KAFKA_SECURE_INFO: that broker's TLS/SASL listeners (the SecureBrokerInfo JSON that
    // `npm run broker -- --secure --json` prints), so that no extra local broker is started.
    const secureInfo = process.env.KAFKA_SECURE_INFO;
    return {
      bootstrap: choice.bootstrap,
      description: `external cluster at ${choice.bootstrap} (KAFKA_BOOTSTRAP)`,
      ...(secureInfo && { secure: JSON.parse(secureInfo) as SecureBrokerInfo }),
      stop: async () => {},
    };
  }
  if (choice.kind === "testcontainers") {
    const container = await startWithTestcontainers();
    if (container) return container;
  }
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
  console.log(`[kafka] broker: ${broker.description}`);
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
