/**
 * A full queue expiring at once must stay cheap: 100000 records waiting for a
 * broker that never answers all get their failure report promptly.
 */
import { describe, expect, it } from "vitest";
import { Producer } from "../../src/producer/producer.js";

describe("expiry of a full queue", () => {
  it("reports 100000 waiting records failed within a moment of their deadline", async () => {
    const producer = new Producer({
      "bootstrap.servers": "127.0.0.1:1", // nothing listens there
      "message.timeout.ms": 1000,
      "reconnect.backoff.max.ms": 200,
    });
    let failed = 0;
    let lastAt = 0;
    const started = Date.now();
    const onReport = (err: Error | null): void => {
      if (err) failed++;
      lastAt = Date.now();
    };
    const value = Buffer.alloc(20);
    for (let i = 0; i < 100_000; i++) producer.produce({ topic: "expiry", value }, onReport);
    const deadline = Date.now() + 15_000;
    while (failed < 100_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await producer.close(1000);
    expect(failed).toBe(100_000);
    // Not before the deadline, and all of them within two seconds after it (one shift per record took 4.5 s here).
    expect(lastAt - started).toBeGreaterThanOrEqual(1000);
    expect(lastAt - started).toBeLessThan(3000);
  });
});
