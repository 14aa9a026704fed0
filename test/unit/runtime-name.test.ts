import { describe, expect, it } from "vitest";
import { runtimeName } from "../../src/runtime.js";

describe("runtimeName", () => {
  it("names Bun and Deno, which report a Node.js version in process.version", () => {
    expect(runtimeName({ node: "24.3.0", bun: "1.4.5" })).toBe("Bun 1.4.5 (Node.js v24.3.0 API)");
    expect(runtimeName({ node: "26.3.0", deno: "2.9.6" })).toBe("Deno 2.9.6 (Node.js v26.3.0 API)");
    expect(runtimeName({ node: "22.23.5" })).toBe("Node.js v22.23.5");
  });

  it("is process.version's text on Node", () => {
    if (process.versions.bun || process.versions.deno) return;
    expect(runtimeName()).toBe(`Node.js ${process.version}`);
  });
});
