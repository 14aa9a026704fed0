/**
 * The short subset of the fault-injection suite (test/faults/) that `npm test` runs: its own
 * proxied three-node cluster, each scenario once, our producer only, 20000 records at a steady
 * 4000 per second (so each fault lands mid-stream), and 0 lost / 0 duplicated / 0 reordered.
 * FAULTS_IDEMPOTENCE (default true) sets our enable.idempotence, as in the full suite; when our
 * producer refuses it, the scenario tests fail at once (the proxy check still runs).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchBrokers } from "../broker/kafka.js";
import { ourRefusal } from "../faults/clients.js";
import { type FaultCluster, startFaultCluster } from "../faults/cluster.js";
import { idempotenceFromEnv, runOnce } from "../faults/run.js";
import { SCENARIOS } from "../faults/scenarios.js";

const IDEMPOTENCE = idempotenceFromEnv();
const RECORDS = 20_000;
const RATE = 4_000;
const refusal = ourRefusal(IDEMPOTENCE);
let fc: FaultCluster | undefined;

beforeAll(async () => {
  fc = await startFaultCluster();
}, 240_000);

afterAll(async () => {
  await fc?.stop();
});

describe(`faults, short (our enable.idempotence=${IDEMPOTENCE})`, () => {
  it("clients that come through a proxy are told the proxies; the brokers' own port is direct", async () => {
    const { cluster, proxies } = fc!;
    const direct = cluster.nodes.map((n) => ({ nodeId: n.nodeId, port: n.port }));
    const proxied = cluster.nodes.map((n, i) => ({ nodeId: n.nodeId, port: proxies[i]!.port }));
    const listed = async (port: number) =>
      (await fetchBrokers("127.0.0.1", port))
        .map((b) => ({ nodeId: b.nodeId, port: b.port }))
        .sort((a, b) => a.nodeId - b.nodeId);
    for (const [i, node] of cluster.nodes.entries()) {
      expect(await listed(proxies[i]!.port)).toEqual(proxied);
      expect(await listed(node.port)).toEqual(direct);
      expect(node.clientPort).not.toBe(node.port);
    }
  });

  it.each(SCENARIOS)(
    "%s: nothing lost, duplicated or reordered",
    async (scenario) => {
      expect(refusal, "our producer refused its configuration").toBeUndefined();
      const r = await runOnce(fc!, scenario, "ours", {
        run: 1,
        count: RECORDS,
        rate: RATE,
        idempotence: IDEMPOTENCE,
      });
      console.log(`[faults smoke] ${scenario}: ${JSON.stringify(r)}`);
      expect(r.error).toBeUndefined();
      expect(r.fault?.injected, "the fault happened mid-stream").toBe(true);
      expect({ lost: r.lost, duplicated: r.duplicated, reordered: r.reordered }).toEqual({
        lost: 0,
        duplicated: 0,
        reordered: 0,
      });
    },
    180_000,
  );
});
