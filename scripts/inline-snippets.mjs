// Inlines the JS snippets that wasm-bindgen emits beside its glue
// (`snippets/<crate>/src/platform/*.js`, our `#[wasm_bindgen(module = ...)]`
// helpers) into the glue itself, and deletes the snippets folder.
//
// Why: the glue imports each snippet as a module, so a page fetched them only
// after the glue had arrived and been parsed: one more round trip before the
// wasm could be instantiated (about 15 ms of a 60 ms cold start here). Run by
// scripts/build.sh on each wasm folder:
//   node scripts/inline-snippets.mjs dist.new/wasm
//
// A snippet must be a plain module of `export function|async function|const|
// let|class` declarations and no imports (ours are); anything else fails the
// build rather than being inlined wrongly.
import { readFileSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node scripts/inline-snippets.mjs <wasm-bindgen out dir>");
  process.exit(2);
}
const gluePath = join(dir, "session_persist.js");
let glue = readFileSync(gluePath, "utf8");

const fail = (msg) => {
  console.error(`inline-snippets: ${msg}`);
  process.exit(1);
};

// import { a, b as c } from './snippets/...';   and   import * as x from "./snippets/..."
const IMPORT = /^import\s+(\{[^}]*\}|\*\s+as\s+\w+)\s+from\s+(['"])(\.\/snippets\/[^'"]+)\2;?[ \t]*$/gm;
const modules = new Map(); // snippet path -> local name of its exports object
const blocks = []; // the inlined snippets, in first-import order

/** The local name of `path`'s exports object, inlining the snippet on first use. */
function local(path) {
  if (modules.has(path)) return modules.get(path);
  const file = join(dir, path);
  if (!existsSync(file)) fail(`${path} is imported by the glue but missing`);
  let src = readFileSync(file, "utf8");
  if (/^\s*import\s/m.test(src)) fail(`${path} imports other modules; inline it by hand or drop the import`);
  const names = [];
  src = src.replace(/^export\s+((?:async\s+)?function\*?|const|let|class)\s+([A-Za-z_$][\w$]*)/gm, (_, kind, name) => {
    names.push(name);
    return `${kind} ${name}`;
  });
  if (/^\s*export\s/m.test(src)) fail(`${path} has an export this script does not handle`);
  const name = `__snippet${modules.size}`;
  modules.set(path, name);
  blocks.push(`const ${name} = (() => {\n${src}\nreturn Object.freeze({ ${names.join(", ")} });\n})();`);
  return name;
}

glue = glue.replace(IMPORT, (_, what, _q, path) => {
  const obj = local(path);
  if (what.startsWith("*")) return `const ${what.replace(/^\*\s+as\s+/, "")} = ${obj};`;
  // { a, b as c } -> { a, b: c }
  return `const ${what.replace(/\b(\w+)\s+as\s+(\w+)/g, "$1: $2")} = ${obj};`;
});
if (/from\s*['"]\.\/snippets\//.test(glue) || /import\(\s*['"]\.\/snippets\//.test(glue)) {
  fail("an import of a snippet was left in the glue (a form this script does not recognise)");
}
writeFileSync(gluePath, `${blocks.join("\n")}\n${glue}`);
rmSync(join(dir, "snippets"), { recursive: true, force: true });
console.log(`inline-snippets: ${modules.size} snippet(s) inlined into ${gluePath}`);
