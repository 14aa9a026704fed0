/**
 * Configuration, shared by the network client and the producer engine: the
 * property table (properties.ts), its resolution (config.ts) and the README's
 * table generated from it (properties-markdown.ts).
 */
export * from "./config.js";
export * from "./properties.js";
export * from "./properties-markdown.js";
