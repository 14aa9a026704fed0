/** The README's property table, generated from the table in properties.ts. */
import { PROPERTIES, type PropertyDef } from "./properties.js";

export function propertiesMarkdown(): string {
  const rows = [
    "| property | scope | type / range | default | description |",
    "|---|---|---|---|---|",
  ];
  for (const [name, d] of Object.entries(PROPERTIES) as [string, PropertyDef][]) {
    const range =
      d.type === "integer"
        ? `integer ${d.min} .. ${d.max}`
        : d.type === "enum"
          ? d.values.join(", ")
          : d.type;
    const names = [name, ...(d.aliases ?? [])].map((n) => `\`${n}\``).join(" / ");
    rows.push(`| ${names} | ${d.scope} | ${range} | ${String(d.default)} | ${d.doc} |`);
  }
  return rows.join("\n");
}
