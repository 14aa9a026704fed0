/**
 * The bench's topic chores (bench/lib/topics.mjs) leave no client connected:
 * a KafkaJS admin client left connected re-arms a 1 ms timer for as long as
 * it lives (Node 24 warns TimeoutNegativeWarning), taking CPU from the run
 * being measured. A process that has done every chore must exit by itself.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { expect, inject, it } from "vitest";
import { uniqueTopic } from "../helpers/topics.js";

const bootstrap = inject("kafkaBootstrap");
const topics = pathToFileURL(join(import.meta.dirname, "../../bench/lib/topics.mjs")).href;

it("a process that created, counted and deleted a topic exits by itself, nothing left connected", () => {
  const topic = uniqueTopic("bench-chores");
  const script = `
    import { connectAdmin } from ${JSON.stringify(topics)};
    const admin = await connectAdmin(${JSON.stringify(bootstrap)});
    await admin.create(${JSON.stringify(topic)});
    const count = await admin.recordCount(${JSON.stringify(topic)});
    await admin.remove(${JSON.stringify(topic)});
    // No disconnect(): the chores must not have left anything open.
    console.log(JSON.stringify({ count, handles: process.getActiveResourcesInfo() }));
  `;
  const started = Date.now();
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(child.error, "the process did not exit by itself within 30 s").toBeUndefined();
  expect(child.stderr).toBe("");
  expect(child.status).toBe(0);
  const out = JSON.parse(child.stdout.trim()) as { count: number; handles: string[] };
  expect(out.count).toBe(0);
  expect(out.handles).not.toContain("TCPSocketWrap");
  expect(Date.now() - started).toBeLessThan(30_000);
}, 60_000);
