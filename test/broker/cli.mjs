// `npm run broker`: Node 20 cannot run TypeScript, so this transpiles cli.ts, kafka.ts and
// certs.ts (type-only syntax stripped, no bundling; they import only Node built-ins and each other)
// into .cache/cli/ with the project's own `typescript` dev dependency, then runs cli.ts.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, ".cache", "cli");

let ts;
try {
  ts = (await import("typescript")).default;
} catch {
  console.error("npm run broker needs the dev dependencies: run `npm ci` first");
  process.exit(1);
}

await mkdir(outDir, { recursive: true });
for (const name of ["certs", "kafka", "cli"]) {
  const source = await readFile(join(here, `${name}.ts`), "utf8");
  const { outputText } = ts.transpileModule(source, {
    fileName: `${name}.ts`,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
    },
  });
  // .mjs so Node treats them as ES modules wherever the package.json "type" points.
  await writeFile(
    join(outDir, `${name}.mjs`),
    outputText
      .replaceAll('"./kafka.js"', '"./kafka.mjs"')
      .replaceAll('"./certs.js"', '"./certs.mjs"'),
  );
}

const { main } = await import(pathToFileURL(join(outDir, "cli.mjs")).href);
await main(process.argv.slice(2));
