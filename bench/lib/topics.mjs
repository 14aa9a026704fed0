// Topic chores through the KafkaJS admin client: a fresh topic per run, the records it holds
// afterwards (the sum of its partitions' high watermarks), and deletion to free the disk.
//
// Each chore connects an admin client and disconnects it when done, so none is connected
// while a client is measured: KafkaJS 2.2.4's request queue, once a connection has had a
// response, re-arms a timer every millisecond for as long as it is connected (computed
// from an unset throttle deadline: Node 24 warns "TimeoutNegativeWarning:
// -1796583749338 is a negative number"), about 4% of a core taken from the run measured.
import kafkajs from "kafkajs";

const { Kafka, logLevel } = kafkajs;

export async function connectAdmin(bootstrap) {
  const kafka = new Kafka({
    clientId: "bench-admin",
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
  });
  /** Runs `chore(admin)` on an admin client connected for it alone. */
  async function withAdmin(chore) {
    const admin = kafka.admin();
    await admin.connect();
    try {
      return await chore(admin);
    } finally {
      await admin.disconnect();
    }
  }
  // The first connection fails here, as it did when the admin client stayed connected.
  await withAdmin(async () => {});
  return {
    /** Creates the topic and waits until every partition has a leader. */
    create: (topic, partitions = 3) => withAdmin((admin) => createTopic(admin, topic, partitions)),
    recordCount: (topic) =>
      withAdmin(async (admin) => {
        const offsets = await admin.fetchTopicOffsets(topic);
        return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
      }),
    remove: (topic) =>
      withAdmin((admin) => admin.deleteTopics({ topics: [topic], timeout: 30_000 })),
  };
}

async function createTopic(admin, topic, partitions) {
  {
    // A KRaft controller refuses one operation of more than 10,000 records
    // (POLICY_VIOLATION): a larger topic is created in steps of 5,000 partitions.
    const STEP = 5000;
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: Math.min(partitions, STEP), replicationFactor: 1 }],
      waitForLeaders: false,
      timeout: 60_000,
    });
    if (!created) throw new Error(`topic ${topic} already exists`);
    for (let count = STEP * 2; count - STEP < partitions; count += STEP) {
      await admin.createPartitions({
        topicPartitions: [{ topic, count: Math.min(count, partitions) }],
        timeout: 60_000,
      });
    }
    // KafkaJS's own waitForLeaders gives up on UNKNOWN_TOPIC_OR_PARTITION, which a KRaft
    // broker may still answer for a moment after the topic was created: poll instead.
    // A few seconds per thousand partitions: a large topic takes a while to settle.
    const waitMs = Math.max(30_000, partitions * 20);
    const deadline = Date.now() + waitMs;
    for (;;) {
      let last = "no metadata yet";
      try {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        const t = topics.find((x) => x.name === topic);
        if (
          t?.partitions.length === partitions &&
          t.partitions.every((p) => p.partitionErrorCode === 0 && p.leader >= 0)
        ) {
          // A leader listed in the metadata may not take requests for a moment yet: it
          // answers ListOffsets (the record count below) once it does.
          await admin.fetchTopicOffsets(topic);
          return;
        }
        last = JSON.stringify(t?.partitions);
      } catch (err) {
        last = err.message;
      }
      if (Date.now() > deadline) {
        throw new Error(`topic ${topic} has no leaders after ${waitMs / 1000} s (${last})`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
