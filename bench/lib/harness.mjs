// What every benchmark of this folder shares: the built package check and a
// private copy of it, the static server (made cross-origin isolated), the
// Chromium flags, statistics and a description of the machine.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { cp, mkdtemp, rm, symlink } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../../scripts/serve.mjs";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const RESULTS = fileURLToPath(new URL("../results/", import.meta.url));
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
// The same flags as the end-to-end harness (tests/e2e/helpers.mjs).
export const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
];

/** Exits with a hint if the package has not been built. */
export function requireDist(who) {
  for (const f of ["dist/index.js", "dist/wasm/session_persist_bg.wasm"]) {
    if (!existsSync(new URL(`../../${f}`, import.meta.url))) {
      console.error(`${who}: ${f} is missing. Build the package first: bash scripts/build.sh`);
      process.exit(1);
    }
  }
}

const BUILT = ["dist/index.js", "dist/react.js", "dist/wasm/session_persist.js", "dist/wasm/session_persist_bg.wasm"];

/** A hash of the built files under `root`, or null while a build has removed some. */
export function distFingerprint(root = ROOT) {
  const hash = createHash("sha1");
  for (const f of BUILT) {
    const p = join(root, f);
    if (!existsSync(p)) return null;
    hash.update(readFileSync(p));
  }
  return hash.digest("hex");
}

/**
 * A private copy of dist/, so that a rebuild during the run (scripts/build.sh
 * starts with `rm -rf dist`) neither breaks it nor mixes two builds: a temp
 * dir holding the copy, with links to the repo's node_modules, bench and
 * tests, to be served as the site root. Waits (up to `waitS`) for a build in
 * progress to finish. Returns `{ root, fingerprint, remove() }`.
 */
export async function snapshotDist({ waitS = 120 } = {}) {
  const deadline = Date.now() + waitS * 1000;
  const root = await mkdtemp(join(tmpdir(), "session-persist-bench-site-"));
  for (const d of ["node_modules", "bench", "tests"]) await symlink(join(ROOT, d), join(root, d));
  for (;;) {
    const before = distFingerprint();
    if (before) {
      await rm(join(root, "dist"), { recursive: true, force: true });
      const copied = await cp(join(ROOT, "dist"), join(root, "dist"), { recursive: true }).then(() => true, () => false);
      // Copied whole and unchanged meanwhile: one build.
      if (copied && distFingerprint(root) === before && distFingerprint() === before) {
        return { root, fingerprint: before, remove: () => rm(root, { recursive: true, force: true }) };
      }
    }
    if (Date.now() > deadline) {
      await rm(root, { recursive: true, force: true });
      throw new Error(`dist/ stayed incomplete or kept changing for ${waitS} s; build it first: bash scripts/build.sh`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * The repo's static server (scripts/serve.mjs, `Cache-Control: no-store` on
 * every response) with COOP + COEP added to every response: cross-origin
 * isolation makes Chromium's performance.now() 5 us precise instead of
 * 100 us. Adding them in the server rather than through Playwright's
 * request interception keeps interception's per-request cost out of page
 * loads (which the cold-start figure times).
 */
export async function startIsolatedServer(root = ROOT) {
  const srv = await startServer({ port: 0, root });
  srv.server.prependListener("request", (_req, res) => {
    res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
    res.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
  });
  return srv;
}

/** Collects page errors and console errors of `page` into `errors`. */
export function watchErrors(page, errors, label = "page") {
  page.on("pageerror", (e) => errors.push(`${label} pageerror: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && errors.push(`${label} console.error: ${m.text()}`));
}

/** median / p95 (nearest rank) / mean / min / max of `xs`. */
export function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) throw new Error("stats of no samples");
  const at = (q) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  return {
    n: s.length,
    median: (s[Math.floor((s.length - 1) / 2)] + s[Math.ceil((s.length - 1) / 2)]) / 2,
    p95: at(0.95),
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    min: s[0],
    max: s.at(-1),
  };
}

/** Rounds every number of a flat stats object to 4 decimals (for JSON). */
export const round = (o) =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === "number" && !Number.isInteger(v) ? Number(v.toFixed(4)) : v]));

/** A name no earlier run used: benchmarks never read another run's databases. */
export const runId = () => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

/** Numeric env setting with a default. */
export function envInt(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v}: expected a whole number >= 0`);
  return n;
}

export function environment(chromiumVersion) {
  return {
    chromium: chromiumVersion,
    headless: true,
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** The pinned versions of `names` in package.json's devDependencies. */
export function devVersions(names) {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return Object.fromEntries(names.map((p) => [p, pkg.devDependencies?.[p] ?? null]));
}
