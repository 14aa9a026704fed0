// The same package from CommonJS: require() loads its CommonJS build (dist/cjs).
// One record to KAFKA_BOOTSTRAP (default 127.0.0.1:9092), its delivery report printed.
//   node examples/quickstart.cjs
const { Producer } = require("event-kafka");

const bootstrap = process.env.KAFKA_BOOTSTRAP ?? "127.0.0.1:9092";
const producer = new Producer({ "bootstrap.servers": bootstrap, "message.timeout.ms": 10000 });

producer.produce(
  { topic: "quickstart-cjs", value: Buffer.from("hello from CommonJS") },
  (err, report) => {
    if (err) console.error(`failed: ${err.message}`);
    else console.log(`delivered to partition ${report.partition} at offset ${report.offset}`);
  },
);
producer.close(15000).then((failed) => process.exit(failed === 0 ? 0 : 1));
