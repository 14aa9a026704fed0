/**
 * Reliable mode end to end on a three-node cluster (started here): requests
 * stream through `event-kafka serve` while the partition leader is killed;
 * every request answered "ok" must be in the topic afterwards.
 */
import type { Admin } from "kafkajs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { javaConsume, text } from "../broker/java-reader.js";
import { type KafkaCluster, startCluster } from "../broker/kafka.js";
import { ServeProcess, StreamSender, streamPayload } from "../helpers/opensips-sender.js";
import { uniqueTopic } from "../helpers/topics.js";
import { connectAdmin, createTopic, FAST_FENCING, waitForIsr } from "../producer/helpers.js";

let cluster: KafkaCluster;
let admin: Admin;
let serve: ServeProcess | undefined;

beforeAll(async () => {
  cluster = await startCluster({
    nodes: 3,
    brokerProps: FAST_FENCING,
  });
  admin = await connectAdmin(cluster.bootstrap);
});

afterAll(async () => {
  serve?.kill();
  await admin?.disconnect();
  await cluster?.stop();
});

it("loses nothing answered ok when the partition leader is killed mid-run", async () => {
  const topic = uniqueTopic("sc-c3");
  await createTopic(admin, topic, {
    partitions: 1,
    replicationFactor: 3,
    configs: { "min.insync.replicas": "2" },
  });
  const meta = await waitForIsr(admin, topic, 3, "three in-sync replicas");
  const victim = cluster.nodes.find((n) => n.nodeId === meta[0]!.leader)!;
  serve = await ServeProcess.start([
    "--tcp",
    "127.0.0.1:0",
    "--route",
    `E_ACC_CDR=kafka:${cluster.bootstrap}/${topic}?key=callid&t.acks=all&t.message.timeout.ms=60000&g.linger.ms=5`,
  ]);
  const sender = await StreamSender.open(serve.port("tcp"));
  const n = 6000;
  let killed: Promise<void> | undefined;
  for (let i = 1; i <= n; i += 100) {
    let chunk = "";
    for (let j = i; j < i + 100; j++) {
      chunk += streamPayload("E_ACC_CDR", { callid: `c3-${j}`, seq: j }, { id: j });
    }
    await sender.write(chunk);
    if (killed === undefined && i > n / 4) killed = victim.kill();
    await new Promise((r) => setTimeout(r, 10));
  }
  await killed;
  expect(victim.isRunning()).toBe(false);
  // No verdict of the OpenSIPS reader model here: this process stops reading while it kills
  // a broker, and a reader that stops lets TCP re-cut the answers (docs/sidecar.md).
  await sender.waitAnswers(n, 120_000);
  const ok = [...sender.answers.values()]
    .filter((a) => a.result === "ok")
    .map((a) => a.id as number);
  // Most got through the leader change (a failed one would be an error, never a false ok).
  expect(ok.length).toBeGreaterThan(n / 2);
  const read = await javaConsume(cluster.bootstrap, topic, { timeoutMs: 60_000 });
  const present = new Set(
    read.map((r) => (JSON.parse(text(r.value)!) as { params: { seq: number } }).params.seq),
  );
  expect(ok.filter((id) => !present.has(id))).toEqual([]);
  sender.end();
  const { code } = await serve.stop();
  expect(code).toBe(0);
}, 300_000);
