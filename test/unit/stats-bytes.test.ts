/**
 * stats().bytesSent counts the record-batch bytes Produce requests carried,
 * as its documentation says and as the broker stores them: the bench's
 * cross-check compares it with the topic's log size. It counted the
 * request's per-partition overhead and the topic name too, so the log never
 * matched.
 */
import { describe, expect, it } from "vitest";
import { ApiKey } from "../../src/protocol/api-keys.js";
import { closeAfterEach, fakeCluster, produceAll, producer, values } from "../helpers/engine.js";

closeAfterEach();

describe("stats() byte and batch counts", () => {
  it("bytesSent is the sum of the record batches the broker received, batchesSent their number", async () => {
    const c = await fakeCluster({
      nodes: 2,
      topics: [{ name: "a-longish-topic-name", partitions: 2, leaders: [1, 2] }],
      journal: true,
    });
    const p = producer(c, { "linger.ms": 5, "batch.size": 2000 });
    const runs = [0, 1].map((partition) =>
      produceAll(p, "a-longish-topic-name", values(300, `p${partition}-`), partition),
    );
    await Promise.all(runs.map((r) => r.done));
    let bytes = 0;
    let batches = 0;
    for (const e of c.received(ApiKey.Produce)) {
      for (const t of e.req.body.topicData) {
        for (const d of t.partitionData) {
          if (d.records) {
            bytes += d.records.length;
            batches++;
          }
        }
      }
    }
    const stats = p.stats();
    expect(stats.retries).toBe(0);
    expect(batches).toBeGreaterThan(2);
    expect(stats.batchesSent).toBe(batches);
    expect(stats.bytesSent).toBe(bytes);
  });
});
