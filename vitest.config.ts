import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/broker/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Real-broker suites share one broker; run files one at a time so a loaded
    // 2-core machine does not starve the JVM.
    fileParallelism: false,
    reporters: ["default"],
  },
});
