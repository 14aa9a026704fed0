/**
 * close() at a deadline: a record already past its message.timeout.ms is
 * reported MSG_TIMED_OUT even when its expiry timer has not run yet (the
 * event loop was busy), and only the records still within their time are
 * reported DESTROYED. The clock (Date only) jumps past the deadline just
 * before close(0), so close() looks before any expiry timer could run: the
 * race that made a CLI test flaky, every time. The in-process fake broker
 * holds records in batches.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { KafkaClientError } from "../../src/client/client-error.js";
import { silentLogger } from "../../src/client/logger.js";
import { Producer } from "../../src/producer/producer.js";
import type { DeliveryError } from "../../src/producer/record.js";
import { startFakeCluster } from "../helpers/fake-broker.js";

const open: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of open.splice(0).reverse()) await c.close();
});

/** Date.now() jumps to `at`; the timers (real) do not move. */
function jump(at: number): void {
  if (vi.isFakeTimers()) vi.setSystemTime(at);
  else vi.useFakeTimers({ toFake: ["Date"], now: at });
}

const codeOf = (err: DeliveryError | null): string | undefined =>
  err === null ? undefined : (err as KafkaClientError).code;

/** Lets close()'s first sender run go by (it would expire what is due then). */
const settle = () => new Promise((r) => setTimeout(r, 5));

describe("close() when records are already due", () => {
  it("reports a waiting record past its deadline MSG_TIMED_OUT, a newer one DESTROYED", async () => {
    const p = new Producer(
      { "bootstrap.servers": "127.0.0.1:9", "message.timeout.ms": 1000 },
      { logger: silentLogger },
    );
    const t0 = Date.now();
    const codes: string[] = [];
    p.produce({ topic: "t", value: "old" }, (err) => codes.push(`old ${codeOf(err)}`));
    jump(t0 + 600);
    p.produce({ topic: "t", value: "new" }, (err) => codes.push(`new ${codeOf(err)}`));
    const closed = p.close(50);
    await settle();
    // Past "old"'s deadline, before "new"'s; its expiry timer is still ~400 ms away.
    jump(t0 + 1200);
    await closed;
    expect(codes.sort()).toEqual(["new DESTROYED", "old MSG_TIMED_OUT"]);
  });

  it("does the same for records in batches whose leader is gone", async () => {
    const c = await startFakeCluster({ topics: [{ name: "t", partitions: 1 }] });
    open.push(c);
    const p = new Producer(
      {
        "bootstrap.servers": c.bootstrap,
        "message.timeout.ms": 1000,
        "linger.ms": 0,
        "reconnect.backoff.ms": 20,
        "reconnect.backoff.max.ms": 50,
      },
      { logger: silentLogger },
    );
    await p.send({ topic: "t", value: "warm" });
    await c.broker(1).stop();
    const t0 = Date.now();
    const codes: string[] = [];
    p.produceDelimited({ topic: "t", data: Buffer.from("a\nb\n") }, (err, n) =>
      codes.push(`old ${codeOf(err)} ${n}`),
    );
    jump(t0 + 600);
    p.produce({ topic: "t", value: "new" }, (err) => codes.push(`new ${codeOf(err)}`));
    const closed = p.close(50);
    await settle();
    jump(t0 + 1200);
    await closed;
    expect(codes.sort()).toEqual(["new DESTROYED", "old MSG_TIMED_OUT 2"]);
  });
});
