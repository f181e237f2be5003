// Cross-tab latency: how much later than a raw BroadcastChannel message does
// a change made with session-persist reach another tab's subscriber?
//
//   bash scripts/build.sh          # first: the benchmark loads the built dist/
//   npm run bench:crosstab         # or: node bench/crosstab.mjs
//
// The measurement itself is bench/lib/crosstab.mjs (also run by `npm run
// bench`, bench/run.mjs): two pages of one browser context, headless Chromium,
// cross-origin isolated for 5 us timers, raw and session samples alternating.
// Prints median / p95 / mean of each and their ratio, and writes
// bench/results/crosstab.json.
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, RESULTS, environment, requireDist, round, startIsolatedServer } from "./lib/harness.mjs";
import { METHOD, RAW_WHAT, SESSION_WHAT, measureCrosstab } from "./lib/crosstab.mjs";

const OUT = `${RESULTS}crosstab.json`;
const WARMUP = Number(process.env.WARMUP ?? 30);
const SAMPLES = Number(process.env.SAMPLES ?? 300);

requireDist("bench/crosstab.mjs");
const server = await startIsolatedServer();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
let exitCode = 0;
try {
  const context = await browser.newContext();
  const { raw, session, ratio, crossOriginIsolated: isolated } = await measureCrosstab(context, server.url, { warmup: WARMUP, samples: SAMPLES });

  const f = (x) => x.toFixed(3).padStart(9);
  console.log(`cross-tab latency, ${SAMPLES} samples each after ${WARMUP} warm-up, ms (Chromium ${browser.version()}, ${cpus().length} cores)`);
  console.log("");
  console.log("                          median       p95      mean       min       max");
  console.log(`raw BroadcastChannel   ${f(raw.median)} ${f(raw.p95)} ${f(raw.mean)} ${f(raw.min)} ${f(raw.max)}`);
  console.log(`session-persist        ${f(session.median)} ${f(session.p95)} ${f(session.mean)} ${f(session.min)} ${f(session.max)}`);
  console.log(`ratio session/raw      ${f(ratio.median)} ${f(ratio.p95)}`);
  if (!isolated) console.log("\nnote: the pages are not cross-origin isolated: timers are coarsened to 0.1 ms");
  if (Math.min(raw.min, session.min) < -0.05) console.log("\nwarning: a negative latency: the two pages' clocks disagree; figures are not reliable");

  const result = {
    benchmark: "crosstab",
    date: new Date().toISOString(),
    unit: "ms",
    method: METHOD,
    raw: { what: RAW_WHAT, ...round(raw) },
    session: { what: SESSION_WHAT, ...round(session) },
    ratio: round(ratio),
    warmup: WARMUP,
    interleaved: true,
    crossOriginIsolated: isolated,
    timerResolution: isolated ? "5 us (cross-origin isolated: COOP/COEP headers added by the benchmark's server)" : "100 us",
    samples: SAMPLES,
    environment: environment(browser.version()),
  };
  await mkdir(RESULTS, { recursive: true });
  await writeFile(OUT, JSON.stringify(result, null, 2) + "\n");
  console.log(`\nwrote ${OUT}`);
} catch (e) {
  console.error(`bench/crosstab.mjs: ${e.stack ?? e}`);
  exitCode = 1;
} finally {
  await browser.close();
  await server.close();
}
process.exit(exitCode);
