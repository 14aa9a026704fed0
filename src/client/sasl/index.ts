/** SASL mechanisms as pure client-side state machines (no sockets, no Kafka framing). */
export * from "./mechanism.js";
export * from "./oauthbearer.js";
export * from "./plain.js";
export * from "./scram.js";
