// Topic chores through the KafkaJS admin client: a fresh topic per run, the records it holds
// afterwards (the sum of its partitions' high watermarks), and deletion to free the disk.
import kafkajs from "kafkajs";

const { Kafka, logLevel } = kafkajs;

export async function connectAdmin(bootstrap) {
  const kafka = new Kafka({
    clientId: "bench-admin",
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  return {
    /** Creates the topic and waits until every partition has a leader. */
    async create(topic, partitions = 3) {
      const created = await admin.createTopics({
        topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
        waitForLeaders: false,
        timeout: 30_000,
      });
      if (!created) throw new Error(`topic ${topic} already exists`);
      // KafkaJS's own waitForLeaders gives up on UNKNOWN_TOPIC_OR_PARTITION, which a KRaft
      // broker may still answer for a moment after the topic was created: poll instead.
      const deadline = Date.now() + 30_000;
      for (;;) {
        let last = "no metadata yet";
        try {
          const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
          const t = topics.find((x) => x.name === topic);
          if (
            t?.partitions.length === partitions &&
            t.partitions.every((p) => p.partitionErrorCode === 0 && p.leader >= 0)
          ) {
            return;
          }
          last = JSON.stringify(t?.partitions);
        } catch (err) {
          last = err.message;
        }
        if (Date.now() > deadline) {
          throw new Error(`topic ${topic} has no leaders after 30 s (${last})`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async recordCount(topic) {
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    },
    async remove(topic) {
      await admin.deleteTopics({ topics: [topic], timeout: 30_000 });
    },
    disconnect: () => admin.disconnect(),
  };
}
