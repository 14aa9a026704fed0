// Marks dist/cjs/ (the CommonJS build, tsconfig.cjs.json) as CommonJS: the package
// itself is "type": "module", so without this Node would load those .js files as ESM.
// Run by `npm run build` after both tsc passes.
import { writeFileSync } from "node:fs";

writeFileSync(
  new URL("../dist/cjs/package.json", import.meta.url),
  `${JSON.stringify({ type: "commonjs" })}\n`,
);
