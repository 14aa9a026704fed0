// The reference reader of the test suite: Apache Kafka's own Java consumer (kafka-clients, from
// the jars the harness gathers with Maven) reads topics and prints every record as one JSON line.
// It shares no code with the project under test, and it decodes all five codecs.
//
// One read:   java -cp <classes>:<jars>/* RecordReader --bootstrap H:P --topic T [options]
// Many reads: java -cp ... RecordReader --serve   (each stdin line holds one read's options,
//             separated by tabs; the answer is its records, then a {"done":N} or {"error":...} line)
//
// Options: --topic T (repeatable), --partition P, --count N (stop after N records and fail if
// fewer arrive in time; without it, stop at the end of each partition as it was at the start),
// --offset beginning|N, --timeout-ms MS (default 30000), --config key=value (repeatable, any
// consumer property, e.g. security.protocol=SSL), --settled true (without --count: read to the
// end of the log, not just to the last stable offset, so that a read_committed read right after a
// commit waits for the commit's markers instead of stopping before them), --digest true (instead of the records, one
// line per partition read: {"topic","partition","count","firstOffset","lastOffset","sha256"}, the
// SHA-256 of the values in offset order, each followed by a newline: a million records checked
// without a million lines).
//
// Each record: {"topic","partition","offset","timestamp","timestampType" ("CreateTime" or
// "LogAppendTime"),"leaderEpoch" (null when unknown),"key","value","headers":[{"key","value"}]}
// with key and values in base64, and JSON null for a null key or value (distinct from "").
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public final class RecordReader {
  private static final Base64.Encoder B64 = Base64.getEncoder();

  /** One read's options. */
  private static final class Read {
    String bootstrap;
    final List<String> topics = new ArrayList<>();
    Integer partition;
    Long count;
    Long startOffset; // null: from the beginning
    long timeoutMs = 30_000;
    /** Print the group's committed offsets (group.id from --config) instead of records. */
    boolean committed;
    /** Print a digest per partition instead of the records. */
    boolean digest;
    /** Without a count: read to the log end (high watermark), not the consumer's own end. */
    boolean settled;
    final Map<String, String> config = new LinkedHashMap<>();
  }

  /** One partition's digest: its records' count, offsets and values. */
  private static final class PartitionDigest {
    long count;
    long first = -1;
    long last = -1;
    final MessageDigest sha;

    PartitionDigest() {
      try {
        sha = MessageDigest.getInstance("SHA-256");
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }

    void add(ConsumerRecord<byte[], byte[]> rec) {
      if (count++ == 0) first = rec.offset();
      last = rec.offset();
      if (rec.value() != null) sha.update(rec.value());
      sha.update((byte) '\n');
    }
  }

  public static void main(String[] args) throws Exception {
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    if (args.length == 1 && args[0].equals("--serve")) {
      serve(out);
      return;
    }
    try {
      long n = read(parse(args), out);
      out.flush();
      System.err.println("read " + n + " records");
    } catch (IllegalArgumentException | ReadFailed e) {
      out.flush();
      System.err.println("RecordReader: " + e.getMessage());
      System.exit(1);
    }
  }

  private static void serve(PrintStream out) throws Exception {
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.isEmpty()) continue;
      try {
        long n = read(parse(line.split("\t", -1)), out);
        out.println("{\"done\":" + n + "}");
      } catch (Exception e) {
        out.println("{\"error\":" + quote(e.getClass().getSimpleName() + ": " + e.getMessage()) + "}");
      }
      out.flush();
    }
  }

  private static Read parse(String[] args) {
    Read r = new Read();
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (i + 1 >= args.length) throw new IllegalArgumentException(flag + " needs a value");
      String value = args[++i];
      switch (flag) {
        case "--bootstrap" -> r.bootstrap = value;
        case "--topic" -> r.topics.add(value);
        case "--partition" -> r.partition = Integer.valueOf(value);
        case "--count" -> r.count = Long.valueOf(value);
        case "--offset" -> r.startOffset = value.equals("beginning") ? null : Long.valueOf(value);
        case "--timeout-ms" -> r.timeoutMs = Long.parseLong(value);
        case "--committed" -> r.committed = Boolean.parseBoolean(value);
        case "--digest" -> r.digest = Boolean.parseBoolean(value);
        case "--settled" -> r.settled = Boolean.parseBoolean(value);
        case "--config" -> {
          int eq = value.indexOf('=');
          if (eq <= 0) throw new IllegalArgumentException("--config wants key=value: " + value);
          r.config.put(value.substring(0, eq), value.substring(eq + 1));
        }
        default -> throw new IllegalArgumentException("unknown option " + flag);
      }
    }
    if (r.bootstrap == null) throw new IllegalArgumentException("--bootstrap is required");
    if (r.topics.isEmpty()) throw new IllegalArgumentException("--topic is required");
    return r;
  }

  /** A read that did not get what it was asked for: the message says what it got. */
  private static final class ReadFailed extends Exception {
    ReadFailed(String message) {
      super(message);
    }
  }

  private static long read(Read r, PrintStream out) throws ReadFailed {
    Properties props = new Properties();
    props.put("bootstrap.servers", r.bootstrap);
    props.put("client.id", "event-kafka-reference-reader");
    props.put("enable.auto.commit", "false");
    props.put("allow.auto.create.topics", "false");
    props.put("check.crcs", "true");
    props.put("fetch.max.wait.ms", "100");
    props.putAll(r.config);
    long deadline = System.currentTimeMillis() + r.timeoutMs;
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (String topic : r.topics) partitions.addAll(partitionsOf(consumer, topic, r, deadline));
      if (r.committed) return printCommitted(consumer, partitions, deadline, out);
      consumer.assign(partitions);
      if (r.startOffset == null) consumer.seekToBeginning(partitions);
      else for (TopicPartition tp : partitions) consumer.seek(tp, r.startOffset);
      // Without --count, the end is each partition's high watermark as it is now.
      Map<TopicPartition, Long> ends = new HashMap<>();
      if (r.count == null) {
        for (Map.Entry<TopicPartition, Long> e :
            endOffsets(consumer, props, partitions, r.settled, deadline).entrySet()) {
          if (consumer.position(e.getKey(), Duration.ofMillis(remaining(deadline))) < e.getValue())
            ends.put(e.getKey(), e.getValue());
        }
      }
      long n = 0;
      Map<TopicPartition, PartitionDigest> digests = new LinkedHashMap<>();
      while (r.count != null ? n < r.count : !ends.isEmpty()) {
        if (System.currentTimeMillis() >= deadline) {
          String wanted = r.count != null ? " of " + r.count : " (the end was not reached)";
          throw new ReadFailed(
              "read " + n + wanted + " records from " + r.topics + " within " + r.timeoutMs + " ms");
        }
        ConsumerRecords<byte[], byte[]> batch =
            consumer.poll(Duration.ofMillis(Math.min(200, remaining(deadline))));
        for (ConsumerRecord<byte[], byte[]> rec : batch) {
          if (r.count != null && n >= r.count) break;
          TopicPartition tp = new TopicPartition(rec.topic(), rec.partition());
          Long end = ends.get(tp);
          if (r.count == null && (end == null || rec.offset() >= end)) continue;
          if (r.digest) digests.computeIfAbsent(tp, k -> new PartitionDigest()).add(rec);
          else out.println(json(rec));
          n++;
          if (end != null && rec.offset() + 1 >= end) ends.remove(tp);
        }
        // Transaction markers and aborted records occupy offsets no record is returned for.
        if (r.count == null) {
          ends.entrySet().removeIf(e -> consumer.position(e.getKey()) >= e.getValue());
        }
      }
      for (Map.Entry<TopicPartition, PartitionDigest> e : digests.entrySet()) {
        PartitionDigest d = e.getValue();
        StringBuilder hex = new StringBuilder(64);
        for (byte b : d.sha.digest()) hex.append(String.format("%02x", b));
        out.println(
            "{\"topic\":" + quote(e.getKey().topic()) + ",\"partition\":" + e.getKey().partition()
                + ",\"count\":" + d.count + ",\"firstOffset\":" + d.first + ",\"lastOffset\":"
                + d.last + ",\"sha256\":\"" + hex + "\"}");
      }
      return n;
    }
  }

  /**
   * The offsets a read without a count ends at: the consumer's own end (for read_committed, the
   * last stable offset), or with `settled` the log end, as a read_uncommitted consumer sees it.
   */
  private static Map<TopicPartition, Long> endOffsets(
      KafkaConsumer<byte[], byte[]> consumer,
      Properties props,
      List<TopicPartition> partitions,
      boolean settled,
      long deadline) {
    if (!settled) return consumer.endOffsets(partitions, Duration.ofMillis(remaining(deadline)));
    Properties uncommitted = new Properties();
    uncommitted.putAll(props);
    uncommitted.put("isolation.level", "read_uncommitted");
    try (KafkaConsumer<byte[], byte[]> logEnd =
        new KafkaConsumer<>(uncommitted, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      return logEnd.endOffsets(partitions, Duration.ofMillis(remaining(deadline)));
    }
  }

  /** One line per partition: the group's committed offset, -1 when it has none. */
  private static long printCommitted(
      KafkaConsumer<byte[], byte[]> consumer,
      List<TopicPartition> partitions,
      long deadline,
      PrintStream out) {
    Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata> offsets =
        consumer.committed(new java.util.HashSet<>(partitions), Duration.ofMillis(remaining(deadline)));
    for (TopicPartition tp : partitions) {
      org.apache.kafka.clients.consumer.OffsetAndMetadata o = offsets.get(tp);
      out.println(
          "{\"topic\":" + quote(tp.topic()) + ",\"partition\":" + tp.partition()
              + ",\"committed\":" + (o == null ? -1 : o.offset()) + "}");
    }
    return partitions.size();
  }

  private static List<TopicPartition> partitionsOf(
      KafkaConsumer<byte[], byte[]> consumer, String topic, Read r, long deadline)
      throws ReadFailed {
    // A topic made a moment ago may not be in the metadata yet: ask until it is.
    while (true) {
      List<PartitionInfo> infos;
      try {
        infos = consumer.partitionsFor(topic, Duration.ofMillis(remaining(deadline)));
      } catch (org.apache.kafka.common.errors.TimeoutException e) {
        infos = null;
      }
      if (infos != null && !infos.isEmpty()) {
        List<TopicPartition> out = new ArrayList<>();
        for (PartitionInfo p : infos) {
          if (r.partition == null || p.partition() == r.partition)
            out.add(new TopicPartition(topic, p.partition()));
        }
        if (out.isEmpty())
          throw new ReadFailed("topic " + topic + " has no partition " + r.partition);
        out.sort((a, b) -> Integer.compare(a.partition(), b.partition()));
        return out;
      }
      if (System.currentTimeMillis() >= deadline)
        throw new ReadFailed("topic " + topic + " not found within " + r.timeoutMs + " ms");
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ReadFailed("interrupted");
      }
    }
  }

  private static long remaining(long deadline) {
    return Math.max(1, deadline - System.currentTimeMillis());
  }

  private static String json(ConsumerRecord<byte[], byte[]> rec) {
    StringBuilder sb = new StringBuilder(128);
    sb.append("{\"topic\":").append(quote(rec.topic()));
    sb.append(",\"partition\":").append(rec.partition());
    sb.append(",\"offset\":").append(rec.offset());
    sb.append(",\"timestamp\":").append(rec.timestamp());
    sb.append(",\"timestampType\":").append(quote(rec.timestampType().toString()));
    sb.append(",\"leaderEpoch\":").append(rec.leaderEpoch().map(String::valueOf).orElse("null"));
    sb.append(",\"key\":").append(bytes(rec.key()));
    sb.append(",\"value\":").append(bytes(rec.value()));
    sb.append(",\"headers\":[");
    boolean first = true;
    for (Header h : rec.headers()) {
      if (!first) sb.append(',');
      first = false;
      sb.append("{\"key\":").append(quote(h.key())).append(",\"value\":").append(bytes(h.value()));
      sb.append('}');
    }
    return sb.append("]}").toString();
  }

  private static String bytes(byte[] b) {
    return b == null ? "null" : "\"" + B64.encodeToString(b) + "\"";
  }

  private static String quote(String s) {
    if (s == null) return "null";
    StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
          else sb.append(c);
        }
      }
    }
    return sb.append('"').toString();
  }
}
