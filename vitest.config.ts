import { defineConfig } from "vitest/config";

/**
 * Suites that need no broker: byte-level, fuzz, config and in-process tests.
 * `npm run test:unit` runs only these (no Java, no global setup); `npm test`
 * runs these and the broker project. The fault-injection suite (test/faults/,
 * `npm run test:faults`) is a project of its own, run only when named: it
 * starts its own three-node cluster and takes minutes.
 */
const UNIT = [
  "test/protocol/**/*.test.ts",
  "test/unit/**/*.test.ts",
  "test/socket/socket.test.ts",
  "test/producer/batch.test.ts",
  "test/producer/config.test.ts",
  "test/producer/expiry.test.ts",
  "test/producer/partitioners.test.ts",
  "test/producer/readme-table.test.ts",
  "test/package/cjs.test.ts",
  "test/bench/targets.test.ts",
  "test/bench/eventloop.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ["default"],
    projects: [
      {
        extends: true,
        test: { name: "unit", include: UNIT },
      },
      {
        extends: true,
        test: {
          name: "broker",
          include: ["test/**/*.test.ts"],
          exclude: [...UNIT, "test/faults/**", "test/opensips/**", "**/node_modules/**"],
          globalSetup: ["test/broker/global-setup.ts"],
          // Real-broker suites share one broker; run files one at a time so a loaded
          // 2-core machine does not starve the JVM.
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // The broker-version matrix (`npm run test:brokers`, test/matrix/run.mjs): each run
          // starts the Kafka version named by MATRIX_KAFKA_VERSION itself; no global setup.
          name: "brokers",
          include: ["test/matrix/**/*.matrix.ts"],
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // A real OpenSIPS into the sidecar (`npm run test:opensips`, test/opensips/run.mjs).
          name: "opensips",
          include: ["test/opensips/**/*.test.ts"],
          globalSetup: ["test/broker/global-setup.ts"],
          testTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: "faults",
          include: ["test/faults/**/*.test.ts"],
          // Each scenario's test sets its own timeout from FAULTS_RUNS.
          testTimeout: 60 * 60_000,
          hookTimeout: 240_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
