// Rewrites the property table in README.md from the producer's property table
// (src/config/properties.ts, built to dist/), so the two never disagree.
// Run: npm run build && node scripts/readme-properties.mjs
import { readFileSync, writeFileSync } from "node:fs";

const { propertiesMarkdown } = await import(new URL("../dist/index.js", import.meta.url).href);
const path = new URL("../README.md", import.meta.url);
const readme = readFileSync(path, "utf8");
const begin = "<!-- properties:begin -->";
const end = "<!-- properties:end -->";
const i = readme.indexOf(begin);
const j = readme.indexOf(end);
if (i < 0 || j < i) throw new Error("README.md lacks the properties markers");
const next = `${readme.slice(0, i + begin.length)}\n${propertiesMarkdown()}\n${readme.slice(j)}`;
writeFileSync(path, next);
console.log(
  next === readme ? "README.md property table already current" : "README.md property table updated",
);
