// Prints what a page loads, raw and gzip -9, in three groups: the core entry
// (index.js, the session wasm, its glue and snippets), what the React entry
// adds, and what the auth wasm adds (loaded only by openAuthSession). The
// first two are flagged against their budgets.
//   node scripts/size-report.mjs        (run by scripts/build.sh after every build)
//   node scripts/size-report.mjs --json (the same figures as JSON, for bench/)
import { readFileSync, existsSync, readdirSync, statSync } from "node:fs";
import { gzipSync, constants } from "node:zlib";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

// JS files that wasm-bindgen emits for module snippets are loaded too: those
// its glue imports (it emits every snippet of the crate into each wasm's folder).
function snippets(root, wasmDir) {
  const dir = join(root, wasmDir, "snippets");
  const gluePath = join(root, wasmDir, "session_persist.js");
  if (!existsSync(dir) || !existsSync(gluePath)) return [];
  const glue = readFileSync(gluePath, "utf8");
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.m?js$/.test(name) && glue.includes(relative(join(root, wasmDir), p))) out.push(relative(root, p));
    }
  };
  walk(dir);
  return out.sort();
}

const wasmGroup = (root, dir) => [`${dir}/session_persist_bg.wasm`, `${dir}/session_persist.js`, ...snippets(root, dir)];
/** The groups of files a page loads, relative to `root` (the repo, or a copy of it). */
export const groups = (root = ROOT) => [
  { id: "core", name: "core entry (index.js + session wasm, glue, snippets)", budget: 50 * 1024, files: ["dist/index.js", ...wasmGroup(root, "dist/wasm")] },
  { id: "react", name: "React entry adds (react.js)", budget: 2 * 1024, files: ["dist/react.js"] },
  { id: "auth", name: "auth adds (auth wasm, glue, snippets; only with openAuthSession)", budget: null, files: wasmGroup(root, "dist/wasm-auth") },
];

const gzip = (buf) => gzipSync(buf, { level: constants.Z_BEST_COMPRESSION }).length;
const fmt = (n) => (n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} B`);
const pad = (s, n) => String(s).padStart(n);

/** Raw and gzip bytes of every file and group under `root`; `missing` counts absent files. */
export function measure(root = ROOT) {
  let missing = 0;
  const measured = groups(root).map((g) => {
    const files = g.files.map((f) => {
      const p = join(root, f);
      if (!existsSync(p)) {
        missing++;
        return { file: f, missing: true };
      }
      const buf = readFileSync(p);
      return { file: f, raw: buf.length, gzip: gzip(buf) };
    });
    const raw = files.reduce((a, f) => a + (f.raw ?? 0), 0);
    const gz = files.reduce((a, f) => a + (f.gzip ?? 0), 0);
    return { id: g.id, name: g.name, budget: g.budget, files, raw, gzip: gz, over: g.budget != null && gz > g.budget };
  });
  return { groups: measured, missing };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { groups: measured, missing } = measure();
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify(measured, null, 2));
  } else {
    const W = Math.max(52, ...measured.flatMap((g) => g.files.map((f) => f.file.length)));
    console.log(`${"file".padEnd(W)} ${pad("raw", 10)} ${pad("gzip -9", 10)}`);
    for (const g of measured) {
      for (const f of g.files) {
        if (f.missing) console.log(`${f.file.padEnd(W)} ${pad("missing", 10)}`);
        else console.log(`${f.file.padEnd(W)} ${pad(f.raw, 10)} ${pad(f.gzip, 10)}`);
      }
      const verdict =
        g.budget == null
          ? "no budget"
          : g.over
            ? `OVER BUDGET (${fmt(g.budget)}) by ${g.gzip - g.budget} bytes`
            : `within budget (${fmt(g.budget)})`;
      console.log(`  ${g.name.padEnd(W - 2)} ${pad(g.raw, 10)} ${pad(g.gzip, 10)}   gzip ${fmt(g.gzip)}: ${verdict}`);
    }
  }
  if (missing) {
    console.error(`size-report: ${missing} file(s) missing; run scripts/build.sh first`);
    process.exit(1);
  }
}
