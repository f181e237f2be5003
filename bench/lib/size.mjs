// 7. Size: gzip -9 of what a page loads for the core entry, the React entry
// and the auth wasm (the groups of scripts/size-report.mjs), and of each
// peer's browser build, for context.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { constants, gzipSync } from "node:zlib";
import { measure as measureBuild } from "../../scripts/size-report.mjs";
import { ROOT } from "./harness.mjs";

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
  const built = Object.fromEntries(
    measureBuild(root).groups.map((g) => [g.id, { files: g.files.map((f) => f.file), raw: g.raw, gzip: g.gzip }]),
  );
  const { core, react, auth } = built;
  const peers = Object.fromEntries(Object.entries(PEER_FILES).map(([id, p]) => [id, { what: p.what, ...measure(p.files) }]));
  return { core, react, auth, peers };
}
