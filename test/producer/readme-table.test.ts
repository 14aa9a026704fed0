import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { propertiesMarkdown } from "../../src/config/index.js";

describe("README property table", () => {
  it("is the one generated from the property table (node scripts/readme-properties.mjs)", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const begin = "<!-- properties:begin -->\n";
    const start = readme.indexOf(begin) + begin.length;
    const end = readme.indexOf("\n<!-- properties:end -->");
    expect(readme.slice(start, end)).toBe(propertiesMarkdown());
  });
});
