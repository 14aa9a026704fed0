/**
 * `npm run test:opensips`: a real OpenSIPS raises events into two sidecars
 * (event_stream over TCP, in reliable mode and then plain; event_datagram
 * over UDP) and, beside them, through its own event_kafka module. Every sink must hold
 * every event exactly once, and the sidecars' record values must be the
 * original module's, byte for byte. OpenSIPS's log must show no answer it
 * could not read and no command that timed out.
 *
 * Needs OPENSIPS=/path/to/sbin/opensips built with the modules sl,
 * event_stream, event_datagram, event_kafka and mi_fifo (docs/sidecar.md,
 * "Testing against a real OpenSIPS"); OPENSIPS_MODULES when the modules are
 * not in ../lib64/opensips/modules or ../lib/opensips/modules beside it.
 * OPENSIPS_EVENTS lists the bulk sizes (default 10000,100000).
 */
import { execFileSync, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { javaConsume } from "../broker/java-reader.js";
import { httpGet, metric, ServeProcess } from "../helpers/opensips-sender.js";
import { uniqueTopic } from "../helpers/topics.js";

const OPENSIPS = process.env.OPENSIPS;
const SIZES = (process.env.OPENSIPS_EVENTS ?? "10000,100000").split(",").map(Number);
/** Events raised per SIP request (the cfg's while loop). */
const PER_REQUEST = 100;
/** Raises per second, below event_stream's own limit (docs/sidecar.md). */
const RAISE_RATE = 4_000;

function modulesDir(binary: string): string {
  if (process.env.OPENSIPS_MODULES) return process.env.OPENSIPS_MODULES;
  const prefix = dirname(dirname(binary));
  for (const lib of ["lib64", "lib"]) {
    const dir = join(prefix, lib, "opensips", "modules");
    if (existsSync(dir)) return dir;
  }
  throw new Error(`no modules beside ${binary}: set OPENSIPS_MODULES`);
}

interface CfgOptions {
  dir: string;
  sipPort: number;
  tcpPort: number;
  udpPort: number;
  kafka: string;
  topic: string;
  logLevel: number;
  /** event_stream's reliable_mode: requests answered after the Kafka ack, or notifications. */
  reliable: boolean;
}

/** The script: each OPTIONS raises X-Count events (or one X-Big, or one positional event). */
function config(o: CfgOptions, modules: string): string {
  return `log_level=${o.logLevel}
stderror_enabled=yes
syslog_enabled=no
udp_workers=2
max_while_loops=1000000
socket=udp:127.0.0.1:${o.sipPort}
mpath="${modules}/"
loadmodule "proto_udp.so"
loadmodule "sl.so"
loadmodule "event_stream.so"
modparam("event_stream", "reliable_mode", ${o.reliable ? 1 : 0})
modparam("event_stream", "timeout", 5000)
loadmodule "event_datagram.so"
loadmodule "event_kafka.so"
loadmodule "mi_fifo.so"
modparam("mi_fifo", "fifo_name", "${o.dir}/fifo")
modparam("mi_fifo", "reply_dir", "${o.dir}/")
modparam("mi_fifo", "fifo_mode", 0666)

startup_route {
	subscribe_event("E_SIDECAR_TEST", "tcp:127.0.0.1:${o.tcpPort}");
	subscribe_event("E_SIDECAR_TEST", "udp:127.0.0.1:${o.udpPort}");
	subscribe_event("E_SIDECAR_TEST", "kafka:${o.kafka}/${o.topic}");
}

route {
	if ($hdr(X-Big) != NULL) {
		$var(len) = $(hdr(X-Big){s.int}); $var(chunk) = "z"; $var(big) = "";
		while ($var(len) > 0) {
			$var(bit) = $var(len) % 2;
			if ($var(bit) == 1) $var(big) = $var(big) + $var(chunk);
			$var(chunk) = $var(chunk) + $var(chunk);
			$var(len) = $var(len) / 2;
		}
		$avp(attrs) = "big"; $avp(vals) = $var(big);
		$avp(attrs) = "callid"; $avp(vals) = $ci;
		raise_event("E_SIDECAR_TEST", $avp(attrs), $avp(vals));
		$(avp(attrs)[*]) = NULL; $(avp(vals)[*]) = NULL;
		sl_send_reply(200, "OK"); exit;
	}
	if ($hdr(X-Positional) != NULL) {
		$avp(vals) = $ci; $avp(vals) = 7; $avp(vals) = $hdr(X-Positional);
		raise_event("E_SIDECAR_TEST", , $avp(vals));
		$(avp(vals)[*]) = NULL;
		sl_send_reply(200, "OK"); exit;
	}
	$var(n) = $(hdr(X-Count){s.int});
	$var(i) = 0;
	while ($var(i) < $var(n)) {
		$avp(attrs) = "n"; $avp(vals) = $var(i);
		$avp(attrs) = "callid"; $avp(vals) = $ci;
		raise_event("E_SIDECAR_TEST", $avp(attrs), $avp(vals));
		$(avp(attrs)[*]) = NULL; $(avp(vals)[*]) = NULL;
		$var(i) = $var(i) + 1;
	}
	sl_send_reply(200, "OK"); exit;
}
`;
}

function freeUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  return new Promise((resolve) =>
    s.bind(0, "127.0.0.1", () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    }),
  );
}

/** Sends OPTIONS requests and waits for each final answer. */
class SipClient {
  private readonly socket = createSocket("udp4");
  private readonly waiting = new Map<string, () => void>();
  private seq = 0;

  static async open(): Promise<SipClient> {
    const c = new SipClient();
    await new Promise<void>((r) => c.socket.bind(0, "127.0.0.1", () => r()));
    c.socket.on("message", (m) => {
      const callId = /\r\nCall-ID: ([^\r]+)\r\n/i.exec(m.toString("latin1"))?.[1];
      if (callId !== undefined && /^SIP\/2\.0 200/.test(m.toString("latin1"))) c.answered(callId);
    });
    return c;
  }

  /** An OPTIONS with extra header lines (latin1 bytes); resolves on its 200. */
  send(port: number, callId: string, headers: string[]): Promise<void> {
    const me = this.socket.address().port;
    const msg = Buffer.from(
      `OPTIONS sip:test@127.0.0.1:${port} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP 127.0.0.1:${me};branch=z9hG4bK${++this.seq}x${callId.length}\r\n` +
        "Max-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:test@127.0.0.1>\r\n" +
        `Call-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\n${headers.map((h) => `${h}\r\n`).join("")}` +
        "Content-Length: 0\r\n\r\n",
      "latin1",
    );
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no 200 for ${callId}`)), 10_000);
      this.waiting.set(callId, () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.send(msg, port, "127.0.0.1");
    });
  }

  answered(callId: string): void {
    this.waiting.get(callId)?.();
    this.waiting.delete(callId);
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * One MI command through mi_fifo: `:REPLY:` + the JSON-RPC request's exact
 * bytes. FIFOs are opened in the thread pool, so a silent OpenSIPS times out
 * here instead of blocking the test's event loop.
 */
async function miCommand(dir: string, body: Buffer): Promise<string> {
  const name = `reply${process.pid}${Math.floor(Math.random() * 1e9)}`;
  const reply = join(dir, name);
  execFileSync("mkfifo", ["-m", "0666", reply]);
  let timer: NodeJS.Timeout | undefined;
  try {
    const request = Buffer.concat([Buffer.from(`:${name}:`), body, Buffer.from("\n")]);
    const exchange = (async () => {
      await writeFile(join(dir, "fifo"), request);
      return readFile(reply, "utf8");
    })();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no MI answer in 10 s to ${request}`)), 10_000);
    });
    return await Promise.race([exchange, timeout]);
  } finally {
    clearTimeout(timer);
    unlinkSync(reply);
  }
}

/** raise_event over MI with named params given as the JSON object text OpenSIPS parses. */
async function miRaise(dir: string, params: Buffer | undefined): Promise<void> {
  const head = Buffer.from(
    '{"jsonrpc":"2.0","method":"raise_event","params":{"event":"E_SIDECAR_TEST"',
  );
  const parts = [head];
  if (params !== undefined) {
    // The params member is a JSON string holding the object: quote and escape it.
    const escaped: number[] = [];
    for (const b of params) {
      if (b === 0x22 || b === 0x5c) escaped.push(0x5c, b);
      else escaped.push(b);
    }
    parts.push(Buffer.from(',"params":"'), Buffer.from(escaped), Buffer.from('"'));
  }
  parts.push(Buffer.from('},"id":1}'));
  const out = await miCommand(dir, Buffer.concat(parts));
  if (!out.includes('"result"')) throw new Error(`raise_event over MI: ${out}`);
}

function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU of a process and its children still running (OpenSIPS forks its workers). */
function treeCpuSeconds(pid: number): number {
  let total = cpuSeconds(pid);
  try {
    const children = execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" });
    for (const c of children.split("\n").filter(Boolean)) total += treeCpuSeconds(Number(c));
  } catch {
    // no children
  }
  return total;
}

async function published(serve: ServeProcess): Promise<number> {
  const body = (await httpGet(serve.port("http"), "/metrics")).body;
  return metric(body, "event_kafka_sidecar_events_published_total", { route: "*" }) ?? 0;
}

/** The edge events: [what, how it is raised]. */
function edgeEvents(dir: string, sip: SipClient, port: number): [string, () => Promise<void>][] {
  const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]);
  return [
    [
      "Latin-1 byte, control byte, U+2028, 4-byte UTF-8 (named)",
      async () =>
        miRaise(
          dir,
          Buffer.concat([
            Buffer.from('{"s":"'),
            latin1,
            Buffer.from('","c":"a\\u0001b","l":"a\u2028b","e":"\u{1f600}"}'),
          ]),
        ),
    ],
    ["a parameter name twice", async () => miRaise(dir, Buffer.from('{"k":"1","k":"2"}'))],
    ["no parameters", async () => miRaise(dir, undefined)],
    ["70,000-byte value", () => sip.send(port, "edge-big@test", ["X-Big: 70000"])],
    [
      "positional, with a Latin-1 byte and control bytes",
      () =>
        sip.send(port, "edge-positional@test", [
          `X-Positional: caf${String.fromCharCode(0xe9)} \u0001 end`,
        ]),
    ],
  ];
}

const b64 = (b: Buffer | null) => (b === null ? "null" : b.toString("base64"));

describe.skipIf(OPENSIPS === undefined)("a real OpenSIPS into the sidecar", () => {
  const bootstrap = inject("kafkaBootstrap");
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  for (const [total, reliable] of SIZES.flatMap((n) => [[n, true] as const, [n, false] as const])) {
    const mode = reliable ? "reliable" : "plain";
    it(`${total} events: event_stream ${mode} and event_datagram, exactly once, byte for byte`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "opensips-test-"));
      dirs.push(dir);
      const topics = {
        original: uniqueTopic("os-orig"),
        tcp: uniqueTopic("os-tcp"),
        udp: uniqueTopic("os-udp"),
      };
      const sidecar = (listener: "--tcp" | "--udp", topic: string) =>
        ServeProcess.start([
          listener,
          "127.0.0.1:0",
          "--http",
          "127.0.0.1:0",
          "--route",
          `*=kafka:${bootstrap}/${topic}?key=callid&g.linger.ms=5`,
        ]);
      const tcpSide = await sidecar("--tcp", topics.tcp);
      const udpSide = await sidecar("--udp", topics.udp);
      const sipPort = await freeUdpPort();
      const cfg = join(dir, "opensips.cfg");
      writeFileSync(
        cfg,
        config(
          {
            dir,
            sipPort,
            tcpPort: tcpSide.port("tcp"),
            udpPort: udpSide.port("udp"),
            kafka: bootstrap,
            topic: topics.original,
            logLevel: total <= 10_000 ? 3 : 2,
            reliable,
          },
          modulesDir(OPENSIPS!),
        ),
      );
      const logPath = join(dir, "opensips.log");
      const opensips = spawn(OPENSIPS!, ["-F", "-f", cfg, "-m", "128", "-M", "32", "-w", dir], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let log = "";
      opensips.stdout!.on("data", (d) => {
        log += d;
      });
      opensips.stderr!.on("data", (d) => {
        log += d;
      });
      const sip = await SipClient.open();
      try {
        // Ready once it answers.
        const deadline = Date.now() + 15_000;
        for (;;) {
          try {
            await sip.send(sipPort, "ready@test", ["X-Count: 0"]);
            break;
          } catch (err) {
            if (opensips.exitCode !== null) throw new Error(`OpenSIPS exited: ${log}`);
            if (Date.now() > deadline)
              throw new Error(`OpenSIPS did not start: ${log}`, { cause: err });
          }
        }
        const edges = edgeEvents(dir, sip, sipPort);
        for (const [, raise] of edges) await raise();

        const cpu0 = {
          opensips: treeCpuSeconds(opensips.pid!),
          tcp: cpuSeconds(tcpSide.child.pid!),
          udp: cpuSeconds(udpSide.child.pid!),
        };
        const started = performance.now();
        const requests = total / PER_REQUEST;
        for (let r = 0; r < requests; r++) {
          const due = started + (r * PER_REQUEST * 1000) / RAISE_RATE;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((res) => setTimeout(res, wait));
          await sip.send(sipPort, `bulk-${total}-${r}@test`, [`X-Count: ${PER_REQUEST}`]);
        }
        const raisedSeconds = (performance.now() - started) / 1000;
        const all = total + edges.length;
        const until = Date.now() + 120_000;
        let sidecarSeconds = 0;
        while (Date.now() < until) {
          const [t, u] = [await published(tcpSide), await published(udpSide)];
          if (t >= all && u >= all - 1) {
            sidecarSeconds = (performance.now() - started) / 1000;
            break;
          }
          await new Promise((res) => setTimeout(res, 50));
        }
        const cpu = {
          opensips: treeCpuSeconds(opensips.pid!) - cpu0.opensips,
          tcp: cpuSeconds(tcpSide.child.pid!) - cpu0.tcp,
          udp: cpuSeconds(udpSide.child.pid!) - cpu0.udp,
        };

        // OpenSIPS read every answer: no dropped connection, no command left unanswered.
        const complaints = [
          "too many reads retries",
          "cannot parse reply",
          "does not have an",
          "timed out",
          "unable to send jsonrpc",
          "cannot connect",
        ].map((bad) => [bad, log.split(bad).length - 1] as const);
        expect(
          complaints.filter(([, n]) => n > 0),
          "OpenSIPS's log",
        ).toEqual([]);
        const [original, tcp, udp] = await Promise.all([
          javaConsume(bootstrap, topics.original, { count: all, timeoutMs: 120_000 }),
          javaConsume(bootstrap, topics.tcp, { count: all, timeoutMs: 120_000 }),
          // event_datagram cannot send the 70,000-byte event (EMSGSIZE).
          javaConsume(bootstrap, topics.udp, { count: all - 1, timeoutMs: 120_000 }),
        ]);
        // Exactly once: the same values as the original module, none missing, none twice.
        const values = (rs: typeof original) => rs.map((r) => b64(r.value)).sort();
        const originalValues = values(original);
        expect(originalValues).toHaveLength(all);
        expect(new Set(originalValues).size).toBe(all);
        expect(values(tcp)).toEqual(originalValues);
        const bigValue = original.find((r) => r.value!.length > 65_000)!.value!;
        expect(values(udp)).toEqual(originalValues.filter((v) => v !== b64(bigValue)));
        // The original module writes no key (its key flag is never read); the sidecar keys by
        // the callid parameter where there is one.
        expect(original.every((r) => r.key === null)).toBe(true);
        for (const r of tcp) {
          const callid = /"callid":"([^"]*)"/.exec(r.value!.toString("latin1"))?.[1];
          expect(r.key === null ? undefined : r.key.toString("latin1")).toBe(callid);
        }
        // Answers reach OpenSIPS's reader in reliable mode only (it logs each read at level 3).
        if (total <= 10_000) expect(log.includes("Received reply")).toBe(reliable);
        const rate = Math.round(total / sidecarSeconds);
        console.log(
          `opensips ${total} ${mode}: raised in ${raisedSeconds.toFixed(2)} s; both sidecars done at ` +
            `${sidecarSeconds.toFixed(2)} s (${rate} events/s); CPU s: OpenSIPS ${cpu.opensips.toFixed(2)}, ` +
            `sidecar TCP ${cpu.tcp.toFixed(2)}, sidecar UDP ${cpu.udp.toFixed(2)}`,
        );
        const m = (await httpGet(tcpSide.port("http"), "/metrics")).body;
        expect(
          metric(m, "event_kafka_sidecar_events_failed_total", { route: "*", topic: topics.tcp }) ??
            0,
        ).toBe(0);
      } finally {
        sip.close();
        if (opensips.exitCode === null && opensips.signalCode === null) {
          const exited = new Promise((res) => opensips.once("exit", res));
          opensips.kill("SIGTERM");
          await exited;
        }
        writeFileSync(logPath, log);
        tcpSide.kill();
        udpSide.kill();
      }
    }, 600_000);
  }
});
