// Minifies the JS that ships in dist/ (the TypeScript entries, the
// wasm-bindgen glue and its snippets), in place. Run by scripts/build.sh:
//   node scripts/minify.mjs [folder]      (default: dist/)
//
// What bundlers rely on survives: terser keeps string literals, so
// `new URL("session_persist_bg.wasm", import.meta.url)` and the literal
// `import("./wasm/session_persist.js")` stay recognisable, and it keeps the
// "use client" directive of react.js.
import { readFileSync, writeFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { minify } from "terser";

// The folder to minify: the argument, else dist/.
const DIST = process.argv[2] ?? fileURLToPath(new URL("../dist", import.meta.url));

function jsFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...jsFiles(p));
    else if (/\.m?js$/.test(name)) out.push(p);
  }
  return out;
}

if (!existsSync(DIST)) {
  console.error(`minify: ${DIST} is missing; run scripts/build.sh`);
  process.exit(1);
}
for (const file of jsFiles(DIST)) {
  const source = readFileSync(file, "utf8");
  const result = await minify(source, {
    module: true,
    ecma: 2020,
    // directives: false keeps "use client" (Next.js needs it on react.js).
    compress: { passes: 2, directives: false },
    mangle: true,
    format: { comments: false },
  });
  writeFileSync(file, result.code);
}
