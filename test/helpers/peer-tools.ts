/**
 * Peer tools for the cross-checks that go beyond `npm ci`: kcat (librdkafka, as a second
 * reader and its mock cluster) and the lz4 reference CLI. The suite's own read-backs use the
 * Java reader (test/broker/java-reader.ts); these tools only add a second, independent view.
 *
 * When a tool is missing, a test that needs it SKIPS with a note naming what to install (shown
 * by the reporter as `↓ name [kcat is not installed: apt-get install -y kcat]`), and the file
 * prints one console line listing the cross-checks it skipped. When the environment says the
 * tools are required (CI=true, as .ci/run sets and where it installs both, or
 * EVENT_KAFKA_PEER_TOOLS=required), a missing tool FAILS the test instead.
 * EVENT_KAFKA_PEER_TOOLS=optional turns the requirement off even under CI.
 */
import { spawnSync } from "node:child_process";
import { afterAll, type TestContext } from "vitest";

export type PeerToolName = "kcat" | "lz4";

const INSTALL: Record<PeerToolName, string> = {
  kcat: "apt-get install -y kcat",
  lz4: "apt-get install -y lz4",
};

/** The command run for a tool (kcat honours KCAT_BIN, as test/broker/kcat.ts does). */
function commandOf(tool: PeerToolName): string {
  return tool === "kcat" ? (process.env.KCAT_BIN ?? "kcat") : tool;
}

const found = new Map<string, boolean>();

/** Whether `cmd` is on PATH (or, with a slash, an executable file); cached per process. */
export function hasCommand(cmd: string): boolean {
  let ok = found.get(cmd);
  if (ok === undefined) {
    ok = spawnSync("sh", ["-c", 'command -v "$1" >/dev/null 2>&1', "sh", cmd]).status === 0;
    found.set(cmd, ok);
  }
  return ok;
}

/** Whether a missing peer tool fails its tests rather than skipping them. */
export function peerToolsRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const mode = env.EVENT_KAFKA_PEER_TOOLS?.toLowerCase();
  if (mode === "required") return true;
  if (mode === "optional") return false;
  return env.CI === "true" || env.CI === "1";
}

export interface PeerTool {
  readonly name: PeerToolName;
  /** The command is installed. */
  readonly available: boolean;
  /** "kcat is not installed: apt-get install -y kcat" */
  readonly missing: string;
  /**
   * Call first in a test that needs the tool: returns when it is installed; otherwise skips
   * the test with `missing` as its note, or throws when the tools are required.
   */
  need(ctx: TestContext): void;
}

// One test file per module instance (vitest isolates files), so this is the file's list.
const skipped: { file: string; test: string; tool: PeerToolName }[] = [];
let summaryHooked = false;

function hookSummary(): void {
  if (summaryHooked) return;
  summaryHooked = true;
  afterAll(() => {
    if (skipped.length === 0) return;
    const tools = [...new Set(skipped.map((s) => s.tool))];
    const names = skipped.map((s) => `"${s.test}"`).join(", ");
    const install = tools.map((t) => `${t} (${INSTALL[t]})`).join(" and ");
    console.warn(
      `${skipped[0]!.file}: skipped ${skipped.length} cross-check(s) that need ${tools.join(
        " and ",
      )}: ${names}. Install ${install} to run them.`,
    );
  });
}

/** The peer tool `name`, looked up once; use `need(ctx)` at the top of each test using it. */
export function peerTool(name: PeerToolName): PeerTool {
  const available = hasCommand(commandOf(name));
  const missing = `${name} is not installed: ${INSTALL[name]}`;
  if (!available) hookSummary();
  return {
    name,
    available,
    missing,
    need(ctx: TestContext): void {
      if (available) return;
      if (peerToolsRequired()) {
        throw new Error(
          `${missing} (required here: CI=true or EVENT_KAFKA_PEER_TOOLS=required; ` +
            "set EVENT_KAFKA_PEER_TOOLS=optional to skip instead)",
        );
      }
      skipped.push({ file: ctx.task.file.name, test: ctx.task.name, tool: name });
      ctx.skip(missing);
    },
  };
}
