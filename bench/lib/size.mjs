// 7. Size: gzip -9 of what a page loads for the core entry (the same file
// list as scripts/size-report.mjs), of the React entry, and of each peer's
// browser build, for context.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { constants, gzipSync } from "node:zlib";
import { ROOT } from "./harness.mjs";

// JS files that wasm-bindgen emits for inline_js / module snippets are loaded too.
function snippets(root) {
  const dir = join(root, "dist/wasm/snippets");
  if (!existsSync(dir)) return [];
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.m?js$/.test(name)) out.push(relative(root, p));
    }
  };
  walk(dir);
  return out.sort();
}

// What each peer ships for the browser. Only Dexie and localForage ship
// minified builds (localForage no ES module at all); idb-keyval's and
// zustand's ES modules are not minified, so their figures are upper bounds.
export const PEER_FILES = {
  "idb-keyval": { files: ["node_modules/idb-keyval/dist/index.js"], what: "ESM, not minified" },
  localforage: { files: ["node_modules/localforage/dist/localforage.min.js"], what: "UMD, minified (no ESM build)" },
  dexie: { files: ["node_modules/dexie/dist/modern/dexie.min.mjs"], what: "ESM, minified" },
  zustand: { files: ["node_modules/zustand/esm/vanilla.mjs", "node_modules/zustand/esm/middleware.mjs"], what: "ESM vanilla + middleware, not minified" },
};

function measure(files, root = ROOT) {
  let raw = 0;
  let gzip = 0;
  for (const f of files) {
    const buf = readFileSync(join(root, f));
    raw += buf.length;
    gzip += gzipSync(buf, { level: constants.Z_BEST_COMPRESSION }).length;
  }
  return { files, raw, gzip };
}

/** Sizes of the build under `root` (the run's copy of dist/) and of the peers. */
export function measureSize(root = ROOT) {
  const core = measure(["dist/wasm/session_persist_bg.wasm", "dist/wasm/session_persist.js", "dist/index.js", ...snippets(root)], root);
  const react = measure(["dist/react.js"], root);
  const peers = Object.fromEntries(Object.entries(PEER_FILES).map(([id, p]) => [id, { what: p.what, ...measure(p.files) }]));
  return { core, react, peers };
}
