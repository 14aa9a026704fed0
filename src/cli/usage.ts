/** The CLI's help text and the error that means "bad arguments" (exit status 2). */

export const USAGE = `Usage:
  event-kafka publish SOCKET [MESSAGE...] [options]
      Publishes each MESSAGE, or one record per line of standard input (or of
      -l FILE), to the socket's topic. Prints one summary line on stdout:
      {"delivered":N,"failed":M,"undelivered":U,"seconds":S,"msgs_per_s":R}
      -k KEY           the key of every record
      -K DELIM         split each line into key and value at the first DELIM
      -D DELIM         records are separated by DELIM instead of a newline
      -H name=value    add a header to every record (repeatable)
      -p PARTITION     write every record to this partition (-1: the partitioner)
      -l FILE          read records from FILE instead of standard input
      -c COUNT         stop after COUNT records
      -z CODEC         compression: none, gzip, snappy, lz4 or zstd
      -X name=value    a producer property, librdkafka's name (repeatable)
      -T               echo each record's input on stdout (the summary then
                       goes to stderr)
      -Z               with -K, an empty key or value is sent as null
      -t SECONDS       how long to wait for delivery at the end (default: the
                       socket's message.timeout.ms; 10 after a signal)
      -q               no warnings on stderr
      --transactional-id ID
                       write in transactions with this transactional.id:
                       commit at the end; on a signal or any failure abort
                       the open transaction. A line on stderr says what was
                       committed: "committed 3 transactions, 25000 records;
                       aborted 0"
      --transaction-records N
                       commit every N records and begin the next transaction
                       (default: the whole input in one); needs
                       --transactional-id
  event-kafka raise SOCKET EVENT [name=value ...] [--callid ID] [-X name=value]
      Raises one event: a JSON-RPC notification with the parameters given.
      name=value is always a string, kept byte for byte; name:=JSON is typed:
      n:=42 (an integer), n:=null, n:='"text"'. With key=callid in the
      socket, --callid sets the record key.
  event-kafka metadata kafka:BROKERS[/TOPIC] [--json] [-X name=value]
      Lists the cluster's brokers and its topics (or one topic) with their
      partitions, leaders, replicas and in-sync replicas.
  event-kafka perf SOCKET --records N (--record-size BYTES | --payload-file FILE)
                  [--throughput R] [--interval MS] [--json] [-X name=value]
                  [--transactional-id ID [--transaction-duration-ms MS]]
      Kafka's kafka-producer-perf-test through this producer: N records of
      BYTES random letters (or lines of FILE, picked at random), at most R
      per second (-1: no cap, the default). A line every 5 s, then records/s,
      MB/s (2^20 bytes) and the latency from produce() to each record's
      report: average, max, 50th, 95th, 99th and 99.9th percentiles.
      --json makes the last line JSON; --payload-delimiter DELIM splits FILE.
      --transactional-id ID sends in transactions, each committed once it has
      been open MS milliseconds (default 3000), as Java's tool does; the last
      line then says how many transactions were committed.
  event-kafka serve (--tcp HOST:PORT | --udp HOST:PORT | --unix PATH)...
                   --route 'EVENT=SOCKET'... [--config FILE] [--http HOST:PORT]
                   [--event-param NAME] [--shutdown-timeout SECONDS]
                   [--max-frame BYTES]
      The sidecar for OpenSIPS event_stream (TCP JSON-RPC; requests with an id
      are answered once Kafka has acknowledged them) and event_datagram (UDP,
      UNIX). Each event goes to the first route whose EVENT (a name, * or a
      prefix*) matches; key=callid or key=param:NAME in the socket sets the
      key. --http serves /metrics and /health. A TCP message over --max-frame
      (default 1000000) is skipped. SIGTERM drains, then prints a summary.
      See docs/sidecar.md.
  event-kafka --version
  event-kafka --help

SOCKET is kafka:BROKERS/TOPIC[?PROPERTIES], e.g.
  kafka:127.0.0.1:9092/events?g.linger.ms=10&t.acks=1
Properties take librdkafka's names with a g. (global) or t. (topic) prefix in
a socket, and without one in -X. A property may be given only once.
DELIM is text with \\n, \\r, \\t, \\\\ and \\xNN escapes.
Set EVENT_KAFKA_DEBUG=1 to log the producer's activity on stderr.

Exit status: 0 every record delivered (and committed, with --transactional-id),
1 some failed or undelivered, or a transaction was aborted or failed,
2 bad arguments or socket, 130 after SIGINT, 143 after SIGTERM.`;

/** Bad arguments: printed as one line, exit status 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
