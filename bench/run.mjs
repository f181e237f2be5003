// The benchmark suite: session-persist next to raw IndexedDB, raw
// localStorage, idb-keyval, localForage, Dexie and zustand's persist
// middleware, in one headless Chromium run.
//
//   npm run bench          # setup + build + this; or: node bench/run.mjs
//
// Prints a table of medians, p95 and ratios with each goal's PASS/FAIL, and
// writes bench/results/bench.json and bench/results/bench.svg (see
// bench/README.md for what each figure measures). Exits 0 whether goals pass
// or not (it measures, it does not test), 1 if a measurement broke (a page
// error, a timeout, a wrong value read back).
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, RESULTS, devVersions, distFingerprint, envInt, environment, round, runId, snapshotDist, startIsolatedServer } from "./lib/harness.mjs";
import { openBenchPage } from "./lib/pages.mjs";
import { measureSave } from "./lib/save.mjs";
import { measureLoad } from "./lib/load.mjs";
import { measureCold } from "./lib/cold.mjs";
import { measureWrites } from "./lib/writes.mjs";
import { measureNotify } from "./lib/notify.mjs";
import { measureCrosstab, METHOD as CROSSTAB_METHOD } from "./lib/crosstab.mjs";
import { measureSize } from "./lib/size.mjs";
import { currentWasmMemory, measureMemory } from "./lib/memory.mjs";
import { evaluateGoals, printReport } from "./lib/report.mjs";
import { renderSvg } from "./lib/svg.mjs";

// Sample counts (env overrides). The defaults keep this script near 1.5 min on 2 cores.
const CONFIG = {
  saveRounds: envInt("SAVE_ROUNDS", 60),
  saveWarmup: envInt("SAVE_WARMUP", 5),
  loadReloads: envInt("LOAD_RELOADS", 20),
  coldNavigations: envInt("COLD_NAVIGATIONS", 20),
  coldWarmup: envInt("COLD_WARMUP", 2),
  writeUpdates: envInt("WRITE_UPDATES", 1000),
  notifyBatches: envInt("NOTIFY_BATCHES", 60),
  notifyPerBatch: envInt("NOTIFY_PER_BATCH", 100),
  notifyWarmup: envInt("NOTIFY_WARMUP", 5),
  crosstabSamples: envInt("CROSSTAB_SAMPLES", 300),
  crosstabWarmup: envInt("CROSSTAB_WARMUP", 30),
  phaseTimeoutS: envInt("PHASE_TIMEOUT_S", 300),
};
const SAVE_SIZES = { "1KB": 1_000, "100KB": 100_000, "1MB": 1_000_000 };
const LOAD_SIZES = { "100KB": 100_000, "1MB": 1_000_000 };
const COLD_BYTES = 100_000;
const MEMORY_BYTES = 1_000_000;
// Chromium's flags for this run, on top of the e2e ones:
//  - V8's in-process wasm module cache off: a navigation compiles our .wasm
//    again instead of reusing the previous page's compiled module;
//  - no back/forward cache: a page navigated away from is gone, so it holds
//    no database or session open during the next cold start.
const BENCH_ARGS = [...CHROMIUM_ARGS, "--js-flags=--no-wasm-native-module-cache-enabled", "--disable-back-forward-cache"];

const log = (msg) => console.error(`  . ${msg}`);
const elapsed = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

/** Runs one measurement with a deadline; a failure is recorded, not thrown. */
async function phase(name, broken, fn) {
  const t0 = Date.now();
  let timer;
  try {
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${CONFIG.phaseTimeoutS} s`)), CONFIG.phaseTimeoutS * 1000);
    });
    const r = await Promise.race([fn(), deadline]);
    log(`${name} done in ${elapsed(t0)}`);
    return r;
  } catch (e) {
    broken.push(`${name}: ${e.stack ?? e}`);
    console.error(`bench: ${name} broke: ${e.message ?? e}`);
    return null;
  } finally {
    clearTimeout(timer);
  }
}

const started = Date.now();
const run = runId();
const errors = []; // page errors and console errors: a measurement that logs one is broken
const broken = [];
const results = {};
let env = null;

// The run serves its own copy of dist/: a rebuild meanwhile changes nothing.
const site = await snapshotDist({ waitS: 60 });
const server = await startIsolatedServer(site.root);
// A real (disk-backed) profile: Playwright's newContext() is incognito, whose
// IndexedDB lives in memory and would make every write look free.
const profile = await mkdtemp(join(tmpdir(), "session-persist-bench-"));
const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: BENCH_ARGS, headless: true });
try {
  const main = await openBenchPage(context, server.url, errors, "bench page");
  const ua = await main.evaluate(() => navigator.userAgent);
  env = { ...environment(context.browser()?.version() ?? ua.match(/Chrome\/([\d.]+)/)?.[1] ?? "unknown"), userAgent: ua };
  env.peers = devVersions(["idb-keyval", "localforage", "dexie", "zustand"]);
  env.crossOriginIsolated = await main.evaluate(() => self.crossOriginIsolated);
  // Other work on the machine adds noise (mostly to p95): said with the figures.
  env.loadAverageAtStart = Number(loadavg()[0].toFixed(2));
  console.error(`bench: run ${run}, Chromium ${env.chromium}, ${env.cores} CPUs`);

  results.size = measureSize(site.root);
  results.save = await phase("save", broken, () =>
    measureSave(main, { sizes: SAVE_SIZES, rounds: CONFIG.saveRounds, warmup: CONFIG.saveWarmup, run, log }));
  results.memoryAfterSaves = await phase("memory after saves", broken, () => currentWasmMemory(main));
  results.notify = await phase("update -> subscriber", broken, () =>
    measureNotify(main, { sizes: { empty: 0, "100KB": 100_000 }, batches: CONFIG.notifyBatches, perBatch: CONFIG.notifyPerBatch, warmup: CONFIG.notifyWarmup, run, log }));
  results.writes = await phase("write count", broken, async () => {
    const page = await openBenchPage(context, server.url, errors, "write count");
    try {
      return await measureWrites(page, { updates: CONFIG.writeUpdates, run, log });
    } finally {
      await page.close();
    }
  });
  results.memory = await phase("memory", broken, () => measureMemory(context, server.url, errors, { bytes: MEMORY_BYTES, run, log }));
  results.load = await phase("load", broken, () => measureLoad(main, { sizes: LOAD_SIZES, reloads: CONFIG.loadReloads, run, log }));
  results.cold = await phase("cold start", broken, () =>
    measureCold(context, main, server.url, errors, { bytes: COLD_BYTES, navigations: CONFIG.coldNavigations, warmup: CONFIG.coldWarmup, run, log }));
  results.crosstab = await phase("cross-tab", broken, () =>
    measureCrosstab(context, server.url, { warmup: CONFIG.crosstabWarmup, samples: CONFIG.crosstabSamples }));
} catch (e) {
  broken.push(`setup: ${e.stack ?? e}`);
} finally {
  await context.close().catch(() => {});
  await server.close();
  await rm(profile, { recursive: true, force: true });
  await site.remove();
}
if (errors.length) broken.push(...errors.map((e) => `page: ${e}`));
const warnings = [];
if (distFingerprint() !== site.fingerprint) warnings.push("dist/ was rebuilt during the run; the run measured the build it started with");

if (env) env.loadAverageAtEnd = Number(loadavg()[0].toFixed(2));
const goals = evaluateGoals(results);
const seconds = (Date.now() - started) / 1000;
printReport({ results, goals, env, config: CONFIG, seconds, broken, warnings });

const json = {
  benchmark: "session-persist vs peers",
  date: new Date().toISOString(),
  run,
  build: site.fingerprint,
  seconds: Number(seconds.toFixed(1)),
  environment: env,
  config: CONFIG,
  method: {
    browser: "one headless Chromium, persistent (disk-backed) profile in a fresh temp dir, cross-origin isolated (5 us performance.now())",
    flags: BENCH_ARGS,
    caching: "every response Cache-Control: no-store from the same server; V8 wasm native module cache off; so no wasm code cache at cold start",
    crosstab: CROSSTAB_METHOD,
    see: "bench/README.md",
  },
  goals,
  results: roundDeep(results),
  broken,
  warnings,
};
await mkdir(RESULTS, { recursive: true });
if (broken.length) {
  // Keep the last good results (the README shows the chart): this one aside.
  await writeFile(join(RESULTS, "bench.failed.json"), JSON.stringify(json, null, 2) + "\n");
  console.log(`\nwrote bench/results/bench.failed.json; bench.json and bench.svg kept from the last good run (${seconds.toFixed(0)} s)`);
  process.exit(1);
}
await writeFile(join(RESULTS, "bench.json"), JSON.stringify(json, null, 2) + "\n");
await writeFile(join(RESULTS, "bench.svg"), renderSvg(results, goals, env));
await rm(join(RESULTS, "bench.failed.json"), { force: true });
console.log(`\nwrote bench/results/bench.json and bench/results/bench.svg (${seconds.toFixed(0)} s)`);
process.exit(0);

/** Rounds every stats object in `v` (deeply) to 4 decimals for the JSON. */
function roundDeep(v) {
  if (Array.isArray(v)) return v.map(roundDeep);
  if (v && typeof v === "object") {
    if ("median" in v && "p95" in v) return round(v);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, roundDeep(x)]));
  }
  return v;
}
