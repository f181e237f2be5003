// Cross-tab latency: how much later than a raw BroadcastChannel message does
// a change made with session-persist reach another tab's subscriber?
//
//   bash scripts/build.sh          # first: the benchmark loads the built dist/
//   npm run bench:crosstab         # or: node bench/crosstab.mjs
//
// Two pages of one browser context (same origin, same storage), headless
// Chromium, cross-origin isolated for 5 us timers. Each sample is one message from page A to page B, sent only after
// the previous one arrived (B acknowledges on a separate channel). Latency is
// B's receive time minus A's send time, both read as
// performance.timeOrigin + performance.now() (one machine, one clock).
//   raw:     A channel.postMessage({ i })          -> B channel.onmessage
//   session: A s.set("k", i) (default options)     -> B's s.subscribe callback
// Raw and session samples alternate. Prints median / p95 / mean of each and their ratio, and writes
// bench/results/crosstab.json.
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer } from "../scripts/serve.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = fileURLToPath(new URL("./results/crosstab.json", import.meta.url));
const FIXTURE = "tests/e2e/fixture.html";
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
// The same flags as the end-to-end harness (tests/e2e/helpers.mjs).
const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
];
const WARMUP = Number(process.env.WARMUP ?? 30);
const SAMPLES = Number(process.env.SAMPLES ?? 300);
const ACK_TIMEOUT_MS = 5000;

for (const f of ["dist/index.js", "dist/wasm/session_persist_bg.wasm"]) {
  if (!existsSync(new URL(`../${f}`, import.meta.url))) {
    console.error(`bench/crosstab.mjs: ${f} is missing. Build the package first: bash scripts/build.sh`);
    process.exit(1);
  }
}

// In both pages: a clock, and an acknowledgement channel B -> A so A sends the
// next message only once the previous one arrived.
function setup(ackChannel) {
  window.now = () => performance.timeOrigin + performance.now();
  window.received = { raw: [], session: [] };
  window.ack = new BroadcastChannel(ackChannel);
  window.acked = new Map();
  ack.onmessage = (e) => {
    const waiter = acked.get(e.data);
    if (waiter) waiter();
    acked.set(e.data, true);
  };
  // Resolves when B acknowledged message i (or rejects after a timeout).
  window.ackOf = (i, timeout) =>
    new Promise((resolve, reject) => {
      if (acked.get(i) === true) return resolve();
      const timer = setTimeout(() => reject(new Error(`message ${i} never arrived`)), timeout);
      acked.set(i, () => {
        clearTimeout(timer);
        resolve();
      });
    });
}

// In page A: n rounds, each one raw message then one session change, each
// sent only once the previous one arrived (interleaved, so both kinds see the
// same machine load).
async function run({ n, timeout }) {
  const ch = new BroadcastChannel(window.rawName);
  const sent = { raw: [], session: [] };
  for (let i = 0; i < n; i++) {
    let t = now();
    ch.postMessage({ i });
    sent.raw[i] = t;
    await ackOf(`raw:${i}`, timeout);
    t = now();
    s.set("k", i);
    sent.session[i] = t;
    await ackOf(`session:${i}`, timeout);
  }
  ch.close();
  return sent;
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]; // nearest rank
  return {
    n: s.length,
    median: (s[Math.floor((s.length - 1) / 2)] + s[Math.ceil((s.length - 1) / 2)]) / 2,
    p95: at(0.95),
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    min: s[0],
    max: s.at(-1),
  };
};

const server = await startServer({ port: 0, root: ROOT });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
let exitCode = 0;
try {
  const context = await browser.newContext();
  // Cross-origin isolation (COOP + COEP on every response) makes Chromium's
  // performance.now() 5 us precise instead of 100 us.
  await context.route("**/*", async (route) => {
    const response = await route.fetch();
    await route.fulfill({
      response,
      headers: { ...response.headers(), "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" },
    });
  });
  const errors = [];
  const pages = [];
  for (let i = 0; i < 2; i++) {
    const page = await context.newPage();
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => m.type() === "error" && errors.push(`console.error: ${m.text()}`));
    await page.goto(server.url + FIXTURE);
    await page.waitForFunction(() => window.ready === true);
    pages.push(page);
  }
  const [a, b] = pages;
  const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const name = `bench-crosstab-${id}`;
  const rawName = `bench-raw-${id}`;
  for (const p of pages) await p.evaluate(setup, `bench-ack-${id}`);

  // B: record the receive time first thing, then acknowledge.
  await b.evaluate(async ({ rawName, name }) => {
    const raw = new BroadcastChannel(rawName);
    raw.onmessage = (e) => {
      const t = now();
      received.raw[e.data.i] = t;
      ack.postMessage(`raw:${e.data.i}`);
    };
    window.s = await sp.openSession({ name });
    s.subscribe((ctx, change) => {
      const t = now();
      if (change.source !== "tab" || !change.keys.includes("k")) return;
      received.session[ctx.k] = t;
      ack.postMessage(`session:${ctx.k}`);
    });
  }, { rawName, name });
  await a.evaluate(async ({ rawName, name }) => {
    window.rawName = rawName;
    window.s = await sp.openSession({ name });
  }, { rawName, name });

  const n = WARMUP + SAMPLES;
  const sent = await a.evaluate(run, { n, timeout: ACK_TIMEOUT_MS });
  const received = await b.evaluate(() => received);
  const latencies = (kind) => {
    const out = [];
    for (let i = WARMUP; i < n; i++) out.push(received[kind][i] - sent[kind][i]);
    return out;
  };
  const raw = stats(latencies("raw"));
  const session = stats(latencies("session"));
  const isolated = await a.evaluate(() => self.crossOriginIsolated);
  if (errors.length) throw new Error(`the pages logged errors: ${JSON.stringify(errors)}`);

  const ratio = { median: session.median / raw.median, p95: session.p95 / raw.p95 };
  const f = (x) => x.toFixed(3).padStart(9);
  console.log(`cross-tab latency, ${SAMPLES} samples each after ${WARMUP} warm-up, ms (Chromium ${browser.version()}, ${cpus().length} cores)`);
  console.log("");
  console.log("                          median       p95      mean       min       max");
  console.log(`raw BroadcastChannel   ${f(raw.median)} ${f(raw.p95)} ${f(raw.mean)} ${f(raw.min)} ${f(raw.max)}`);
  console.log(`session-persist        ${f(session.median)} ${f(session.p95)} ${f(session.mean)} ${f(session.min)} ${f(session.max)}`);
  console.log(`ratio session/raw      ${f(ratio.median)} ${f(ratio.p95)}`);
  if (!isolated) console.log("\nnote: the pages are not cross-origin isolated: timers are coarsened to 0.1 ms");
  if (Math.min(raw.min, session.min) < -0.05) console.log("\nwarning: a negative latency: the two pages' clocks disagree; figures are not reliable");

  const round = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Number.isInteger(v) ? v : Number(v.toFixed(4))]));
  const result = {
    benchmark: "crosstab",
    date: new Date().toISOString(),
    unit: "ms",
    method:
      "2 pages of one browser context; one message at a time (B acknowledges on a separate BroadcastChannel before A sends the next); latency = B's receive time - A's send time, both performance.timeOrigin + performance.now()",
    raw: { what: "BroadcastChannel.postMessage({ i }) -> onmessage in the other page", ...round(raw) },
    session: { what: 's.set("k", i) -> subscribe callback (change.source "tab") in the other page; openSession default options', ...round(session) },
    ratio: round(ratio),
    warmup: WARMUP,
    interleaved: true,
    crossOriginIsolated: isolated,
    timerResolution: isolated ? "5 us (cross-origin isolated: COOP/COEP headers added by the benchmark)" : "100 us",
    samples: SAMPLES,
    environment: {
      chromium: browser.version(),
      headless: true,
      node: process.version,
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      platform: `${process.platform}-${process.arch}`,
    },
  };
  await mkdir(new URL("./results/", import.meta.url), { recursive: true });
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
