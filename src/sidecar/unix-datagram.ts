/**
 * A UNIX datagram socket, which Node.js cannot open (its dgram module has
 * udp4 and udp6 only). A few lines of Perl, whose core Socket module every
 * Debian-based system carries (perl-base is Essential), bind the socket and
 * pass each datagram up a pipe as a 4-byte length and its bytes. The relay
 * exits, removing the socket file, when its stdin closes: when we stop, or die.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";

/** Length 0xFFFFFFFF: the socket is bound. Datagrams longer than `limit` come cut to limit + 1. */
const RELAY = String.raw`
use strict; use Socket;
my ($path, $limit) = @ARGV;
socket(my $s, PF_UNIX, SOCK_DGRAM, 0) or die "socket: $!\n";
unlink $path if -S $path;
bind($s, pack_sockaddr_un($path)) or die "cannot bind $path: $!\n";
binmode STDOUT;
syswrite(STDOUT, pack("N", 0xFFFFFFFF)) or exit 1;
my $rin = ''; vec($rin, fileno($s), 1) = 1; vec($rin, fileno(STDIN), 1) = 1;
while (1) {
  my $n = select(my $rout = $rin, undef, undef, undef);
  next if $n < 0 && $!{EINTR};
  if (vec($rout, fileno(STDIN), 1)) {
    my $got = sysread(STDIN, my $x, 1);
    if (!$got) { unlink $path; exit 0; }
  }
  if (vec($rout, fileno($s), 1)) {
    defined(recv($s, my $buf, $limit + 1, 0)) or next;
    my $out = pack("N", length $buf) . $buf;
    while (length $out) {
      my $w = syswrite(STDOUT, $out);
      if (!defined $w) { next if $!{EINTR}; unlink $path; exit 0; }
      substr($out, 0, $w) = '';
    }
  }
}
`;

export class UnixDatagramSocket {
  private held: Buffer = Buffer.alloc(0);
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly path: string,
  ) {}

  /**
   * Binds `path` (replacing a stale socket file) and calls `onDatagram` for
   * each datagram; one over `limit` bytes arrives cut to limit + 1 bytes.
   */
  static open(
    path: string,
    limit: number,
    onDatagram: (datagram: Buffer) => void,
  ): Promise<UnixDatagramSocket> {
    return new Promise((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = spawn("perl", ["-e", RELAY, path, String(limit)], {
          stdio: ["pipe", "pipe", "pipe"],
        });
      } catch (err) {
        reject(err);
        return;
      }
      const socket = new UnixDatagramSocket(child, path);
      let ready = false;
      let stderr = "";
      child.stderr!.on("data", (d: Buffer) => {
        stderr += d.toString();
      });
      child.on("error", (err: NodeJS.ErrnoException) => {
        socket.exited = true;
        const why =
          err.code === "ENOENT"
            ? "perl is not installed (Node.js has no UNIX datagram sockets; the sidecar relays them through perl)"
            : err.message;
        if (!ready) reject(new Error(`cannot listen on unix:${path}: ${why}`));
      });
      child.on("exit", (code) => {
        socket.exited = true;
        if (!ready) {
          reject(new Error(`cannot listen on unix:${path}: ${stderr.trim() || `exit ${code}`}`));
        }
      });
      child.stdout!.on("data", (chunk: Buffer) => {
        socket.held = socket.held.length === 0 ? chunk : Buffer.concat([socket.held, chunk]);
        let at = 0;
        const buf = socket.held;
        while (buf.length - at >= 4) {
          const n = buf.readUInt32BE(at);
          if (n === 0xffffffff) {
            at += 4;
            ready = true;
            resolve(socket);
            continue;
          }
          if (buf.length - at - 4 < n) break;
          onDatagram(buf.subarray(at + 4, at + 4 + n));
          at += 4 + n;
        }
        socket.held = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
      });
    });
  }

  /** Stops the relay (which removes the socket file). */
  close(): Promise<void> {
    if (this.exited) {
      rmSync(this.path, { force: true });
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.child.once("exit", () => {
        rmSync(this.path, { force: true });
        resolve();
      });
      this.child.stdin!.end();
    });
  }
}
