// Prints the size of what a page loads for the core entry and what the React
// entry adds: raw and gzip -9, each flagged against its budget.
//   node scripts/size-report.mjs        (run by scripts/build.sh after every build)
import { readFileSync, existsSync, readdirSync, statSync } from "node:fs";
import { gzipSync, constants } from "node:zlib";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BUDGET = 50 * 1024; // gzip bytes for wasm + glue (+ snippets) + index.js
const REACT_BUDGET = 2 * 1024; // gzip bytes the React entry adds

// JS files that wasm-bindgen emits for inline_js / module snippets are loaded too.
function snippets() {
  const dir = join(ROOT, "dist/wasm/snippets");
  if (!existsSync(dir)) return [];
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.m?js$/.test(name)) out.push(relative(ROOT, p));
    }
  };
  walk(dir);
  return out.sort();
}

const files = ["dist/wasm/session_persist_bg.wasm", "dist/wasm/session_persist.js", "dist/index.js", ...snippets()];
const fmt = (n) => (n >= 1024 ? `${(n / 1024).toFixed(1)} KB` : `${n} B`);
const pad = (s, n) => String(s).padStart(n);
const W = Math.max(44, ...files.map((f) => f.length));

let missing = 0;
let rawTotal = 0;
let gzTotal = 0;
console.log(`${"file".padEnd(W)} ${pad("raw", 10)} ${pad("gzip -9", 10)}`);
for (const f of files) {
  const p = join(ROOT, f);
  if (!existsSync(p)) {
    console.log(`${f.padEnd(W)} ${pad("missing", 10)}`);
    missing++;
    continue;
  }
  const buf = readFileSync(p);
  const gz = gzipSync(buf, { level: constants.Z_BEST_COMPRESSION }).length;
  rawTotal += buf.length;
  gzTotal += gz;
  console.log(`${f.padEnd(W)} ${pad(buf.length, 10)} ${pad(gz, 10)}   (${fmt(buf.length)} / ${fmt(gz)})`);
}
const verdict = gzTotal > BUDGET ? `OVER BUDGET by ${gzTotal - BUDGET} bytes` : "within budget";
console.log(
  `${"core entry total (wasm + glue + snippets + index.js)".padEnd(W)} ${pad(rawTotal, 10)} ${pad(gzTotal, 10)}   ` +
    `gzip ${fmt(gzTotal)} of ${fmt(BUDGET)} budget: ${verdict}`,
);
{
  const p = join(ROOT, "dist/react.js");
  if (existsSync(p)) {
    const buf = readFileSync(p);
    const gz = gzipSync(buf, { level: constants.Z_BEST_COMPRESSION }).length;
    const v = gz > REACT_BUDGET ? `OVER BUDGET by ${gz - REACT_BUDGET} bytes` : "within budget";
    console.log(
      `${"React entry adds (dist/react.js)".padEnd(W)} ${pad(buf.length, 10)} ${pad(gz, 10)}   gzip ${fmt(gz)} of ${fmt(REACT_BUDGET)} budget: ${v}`,
    );
  } else {
    console.log(`${"dist/react.js".padEnd(W)} ${pad("missing", 10)}`);
    missing++;
  }
}
if (missing) {
  console.error(`size-report: ${missing} file(s) missing; run scripts/build.sh first`);
  process.exit(1);
}
