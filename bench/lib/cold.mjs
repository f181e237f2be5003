// 3. Cold start: navigation start until the stored 100 KB context is in hand,
// in a page that loads only one library (bench/pages/cold-<id>.html) and
// reads the context: performance.now() at that moment, which counts from
// the navigation's start. Every response is `Cache-Control: no-store` from
// the same server, so each navigation fetches everything again, and the
// browser runs with V8's in-process wasm module cache off (see run.mjs): our
// .wasm is fetched and compiled at every navigation.
import { stats, watchErrors } from "./harness.mjs";

export const COLD_IDS = ["raw-idb", "idb-keyval", "localforage", "dexie", "session-persist"];

// In the bench page: store the context under `name` with `id`.
async function store({ id, name, bytes }) {
  const h = await bench.savers[id](name, bench.makeContext(bytes));
  await h.close();
}

export async function measureCold(context, mainPage, url, errors, { bytes, navigations, warmup, run, log }) {
  const names = {};
  for (const id of COLD_IDS) {
    names[id] = `bench-${run}-cold-${id}`;
    await mainPage.evaluate(store, { id, name: names[id], bytes });
  }
  const keys = await mainPage.evaluate((b) => Object.keys(bench.makeContext(b)).length, bytes);
  // Nothing else may hold these databases or sessions open (a session-persist
  // tab would make the cold one ask it for its state).
  await mainPage.goto("about:blank");

  const page = await context.newPage();
  watchErrors(page, errors, "cold start");
  const samples = Object.fromEntries(COLD_IDS.map((id) => [id, []]));
  const detail = Object.fromEntries(COLD_IDS.map((id) => [id, []]));
  try {
    for (let r = 0; r < warmup + navigations; r++) {
      for (let j = 0; j < COLD_IDS.length; j++) {
        const id = COLD_IDS[(r + j) % COLD_IDS.length];
        await page.goto(`${url}bench/pages/cold-${id}.html?name=${encodeURIComponent(names[id])}`);
        await page.waitForFunction(() => window.coldResult, null, { timeout: 15000 });
        const res = await page.evaluate(() => window.coldResult);
        if (res.error) throw new Error(`cold start of ${id}: ${res.error}`);
        if (res.keys !== keys) throw new Error(`cold start of ${id} read ${res.keys} keys, expected ${keys}`);
        if (r >= warmup) {
          samples[id].push(res.ms);
          detail[id].push(res);
        }
      }
    }
  } finally {
    await page.close();
  }
  log(`cold start: ${navigations} navigations per contender after ${warmup} warm-up`);
  const median = (xs) => (xs.length ? stats(xs).median : null);
  return {
    keys,
    stats: Object.fromEntries(COLD_IDS.map((id) => [id, stats(samples[id])])),
    // When the page's own script started (its library loaded and evaluated),
    // and for ours when the .wasm had arrived: where the time goes.
    scriptStartMedian: Object.fromEntries(COLD_IDS.map((id) => [id, median(detail[id].map((d) => d.scriptStart))])),
    wasmFetchedMedian: median(detail["session-persist"].map((d) => d.wasmFetched).filter((x) => x != null)),
  };
}
