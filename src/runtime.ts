/**
 * The JavaScript runtime this runs on, for messages: Bun and Deno report a Node.js version in
 * `process.version` (the one whose API they follow), which would name the wrong program.
 */
export function runtimeName(
  versions: Readonly<Record<string, string | undefined>> = process.versions,
): string {
  if (versions.bun) return `Bun ${versions.bun} (Node.js v${versions.node} API)`;
  if (versions.deno) return `Deno ${versions.deno} (Node.js v${versions.node} API)`;
  return `Node.js v${versions.node}`;
}
