/**
 * ProducerWriteStream over a stand-in producer whose queue and reports the
 * test drives: the order records reach produce() whichever path a write takes
 * (the fast path, the Writable's, a held write), 'finish' only after every
 * report, and what each failure mode does. The real producer and broker are
 * in test/producer/node-idioms.test.ts.
 */
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { KafkaClientError } from "../../src/client/client-error.js";
import type {
  DelimitedRecords,
  DelimitedResult,
  DeliveryCallback,
  DeliveryReport,
  DeliveryTally,
  ProducerRecord,
} from "../../src/producer/record.js";
import { ProducerWriteStream, type StreamProducer } from "../../src/producer/write-stream.js";

/** A queue of `room` records whose reports come when the test says. */
class StandIn implements StreamProducer {
  readonly maxRecordBytes = 1000;
  readonly values: string[] = [];
  readonly callbacks: DeliveryCallback[] = [];
  private waiters: (() => void)[] = [];
  lingerOff = 0;

  constructor(private room: number) {}

  produce(record: ProducerRecord, callback: DeliveryCallback): void {
    if (typeof record.value !== "string" && !(record.value instanceof Uint8Array)) {
      throw new KafkaClientError("INVALID_ARG", "record value must be a string");
    }
    if (this.callbacks.length >= this.room) {
      throw new KafkaClientError("QUEUE_FULL", "queue full");
    }
    this.values.push(String(record.value));
    this.callbacks.push(callback);
  }

  /** As the producer's: whole records from `start`, empty ones skipped, until the queue is full. */
  produceDelimited(input: DelimitedRecords, tally: DeliveryTally): DelimitedResult {
    const data = Buffer.from(input.data);
    const delimiter = Buffer.from(input.delimiter ?? "\n");
    let pos = input.start ?? 0;
    let records = 0;
    for (;;) {
      const end = data.indexOf(delimiter, pos);
      if (end < 0 || this.callbacks.length >= this.room) break;
      if (end > pos) {
        this.values.push(data.toString("latin1", pos, end));
        this.callbacks.push((err) => tally(err, 1));
        records++;
      }
      pos = end + delimiter.length;
    }
    return { offset: pos, records };
  }

  afterReport(fn: () => void): () => void {
    this.waiters.push(fn);
    return () => {
      this.waiters = this.waiters.filter((w) => w !== fn);
    };
  }

  queued(): number {
    return this.callbacks.length;
  }

  hurry(): () => void {
    this.lingerOff++;
    return () => {
      this.lingerOff--;
    };
  }

  /** Reports the `n` oldest records (failed with `err` if given), then tells the waiters. */
  report(n: number, err: KafkaClientError | null = null): void {
    const report: DeliveryReport = {
      topic: "t",
      partition: 0,
      offset: 0,
      timestamp: 0,
      opaque: undefined,
      possiblyPersisted: false,
    };
    for (const cb of this.callbacks.splice(0, n)) cb(err, report);
    const waiters = this.waiters;
    this.waiters = [];
    queueMicrotask(() => {
      for (const w of waiters) w();
    });
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("ProducerWriteStream", () => {
  it("keeps the order of writes across the fast path, write callbacks, cork and a full queue", async () => {
    const producer = new StandIn(5);
    const stream = new ProducerWriteStream(producer, { topic: "t" });
    const acked: string[] = [];
    stream.write("a");
    stream.write("b", () => acked.push("b"));
    stream.cork();
    stream.write("c");
    stream.write("d");
    stream.uncork();
    stream.write("e");
    // The queue holds 5: "f" is held, "g" waits behind it, and write() says so.
    expect(stream.write("f")).toBe(true);
    expect(stream.write("g")).toBe(false);
    await turn();
    expect(producer.values).toEqual(["a", "b", "c", "d", "e"]);
    producer.report(3);
    await once(stream, "drain");
    expect(producer.values).toEqual(["a", "b", "c", "d", "e", "f", "g"]);
    stream.write("h");
    expect(acked).toEqual(["b"]);
    expect(producer.values.at(-1)).toBe("h");
  });

  it("lets the event loop turn after 1,000 records, and writes made meanwhile keep their order", async () => {
    const producer = new StandIn(5000);
    const stream = new ProducerWriteStream(producer, { topic: "t" });
    const written = Array.from({ length: 1500 }, (_, i) => `v${i}`);
    for (const v of written) stream.write(v);
    // The 1,000th write completes a turn later; the ones after it wait behind it.
    expect(producer.values).toHaveLength(1000);
    await turn();
    await turn();
    expect(producer.values).toEqual(written);
  });

  it("finishes only once every record written has its report, sending without linger meanwhile", async () => {
    const producer = new StandIn(100);
    const stream = new ProducerWriteStream(producer, { topic: "t" });
    let finished = false;
    stream.on("finish", () => {
      finished = true;
    });
    for (const v of ["a", "b", "c"]) stream.write(v);
    stream.end();
    await turn();
    expect(finished).toBe(false);
    expect(producer.lingerOff).toBe(1);
    producer.report(2);
    await turn();
    expect(finished).toBe(false);
    producer.report(1);
    await turn();
    expect(finished).toBe(true);
    expect(producer.lingerOff).toBe(0);
    expect([stream.delivered, stream.failed, stream.pending]).toEqual([3, 0, 0]);
  });

  it("is destroyed by the first failed delivery, and drops a write held for room", async () => {
    const producer = new StandIn(2);
    const stream = new ProducerWriteStream(producer, { topic: "t" });
    const errors: Error[] = [];
    stream.on("error", (e) => errors.push(e));
    let heldCallback: Error | null | undefined;
    stream.write("a");
    stream.write("b");
    stream.write("c", (e) => {
      heldCallback = e;
    });
    const failure = new KafkaClientError("MSG_TIMED_OUT", "not delivered");
    producer.report(1, failure);
    await turn();
    expect(errors).toEqual([failure]);
    expect(stream.destroyed).toBe(true);
    expect(heldCallback).toBe(failure);
    expect(producer.values).toEqual(["a", "b"]);
    // The queued record's report still counts.
    producer.report(1);
    expect([stream.delivered, stream.failed]).toEqual([1, 1]);
  });

  it('with failures: "count", ends after every report with DELIVERY_FAILED naming how many', async () => {
    const producer = new StandIn(10);
    const stream = new ProducerWriteStream(producer, { topic: "t", failures: "count" });
    const errors: Error[] = [];
    stream.on("error", (e) => errors.push(e));
    for (const v of ["a", "b", "c"]) stream.write(v);
    stream.end();
    producer.report(1, new KafkaClientError("MSG_TIMED_OUT", "first failure"));
    await turn();
    expect(errors).toEqual([]);
    producer.report(2);
    await turn();
    expect(errors).toHaveLength(1);
    expect((errors[0] as KafkaClientError).code).toBe("DELIVERY_FAILED");
    expect(errors[0]?.message).toBe(
      "1 of 3 records written to the stream failed; the first: first failure",
    );
  });

  it("errors with the producer's own message for a record it refuses", async () => {
    const producer = new StandIn(10);
    const stream = new ProducerWriteStream(producer);
    const failed = once(stream, "error");
    stream.write({ topic: "t", value: 42 });
    const [err] = (await failed) as [KafkaClientError];
    expect(err.code).toBe("INVALID_ARG");
    expect(err.message).toBe("record value must be a string");
  });

  it("bytes mode: records cut at a two-byte delimiter wherever the chunks split it", async () => {
    const text = "alpha||bravo||||charlie|||delta||echo";
    // What the delimiter cuts, empty records skipped, the last without a delimiter kept.
    const expected = ["alpha", "bravo", "charlie", "|delta", "echo"];
    for (let a = 1; a < text.length - 1; a++) {
      for (let b = a + 1; b < text.length; b++) {
        const producer = new StandIn(100);
        const stream = new ProducerWriteStream(producer, { topic: "t", delimiter: "||" });
        for (const part of [text.slice(0, a), text.slice(a, b), text.slice(b)]) {
          stream.write(Buffer.from(part));
        }
        stream.end();
        await turn();
        expect(producer.values, `split at ${a} and ${b}`).toEqual(expected);
      }
    }
  });

  it("bytes mode: a lone CR after the last delimiter is no record", async () => {
    const producer = new StandIn(10);
    const stream = new ProducerWriteStream(producer, {
      topic: "t",
      delimiter: "\n",
      stripCr: true,
    });
    stream.write(Buffer.from("one\r\ntwo\r\n\r"));
    stream.end();
    await turn();
    expect(producer.values).toEqual(["one\r", "two\r"]);
  });

  it("refuses options it cannot honour, by name", () => {
    const producer = new StandIn(1);
    expect(() => new ProducerWriteStream(producer, { delimiter: "\n" })).toThrow(
      "createWriteStream(): bytes mode needs a topic",
    );
    expect(() => new ProducerWriteStream(producer, { topic: "t", delimiter: "" })).toThrow(
      "createWriteStream(): the delimiter is empty",
    );
    expect(
      () =>
        new ProducerWriteStream(producer, {
          topic: "t",
          failures: "ignore" as unknown as "count",
        }),
    ).toThrow('createWriteStream(): failures must be "destroy" or "count", got "ignore"');
    expect(() => new ProducerWriteStream(producer, { topic: "bad topic!" })).toThrow(
      'invalid topic name "bad topic!"',
    );
  });
});
