// Writes bench/results/latest.md, chart.svg and the table in bench/README.md again from
// bench/results/latest.json, with the report code as it is now (after a change to the tables,
// without running the bench again):  node bench/render.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { toMarkdown, toSvg, updateReadme } from "./lib/report.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, "results");
const results = JSON.parse(readFileSync(join(resultsDir, "latest.json"), "utf8"));
const md = toMarkdown(results);
writeFileSync(join(resultsDir, "latest.md"), `${md}\n`);
writeFileSync(join(resultsDir, "chart.svg"), toSvg(results));
updateReadme(join(here, "README.md"), md);
console.log("wrote bench/results/latest.md, chart.svg and the table in bench/README.md");
