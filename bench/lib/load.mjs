// 2. Load after a reload: the context was stored before the reload; the
// reloaded page (libraries imported, nothing opened) times one contender
// reading it, connection opening included. One measurement per reload, so
// each is the page's first storage access; contenders and sizes rotate.
import { stats } from "./harness.mjs";
import { reloadBenchPage } from "./pages.mjs";

export const LOAD_IDS = ["raw-idb", "idb-keyval", "localforage", "dexie", "localstorage", "session-persist"];

// In the bench page: store a context of `bytes` under `name` with `id`.
async function store({ id, name, bytes }) {
  const h = await bench.savers[id](name, bench.makeContext(bytes));
  // close() would remove the localStorage copy: that one is kept for the reload.
  if (id !== "localstorage" && id !== "zustand") await h.close();
}

// In the freshly reloaded bench page: time `id` reading what `name` holds.
async function loadOnce({ id, name, warmName, expectKeys }) {
  if (id === "session-persist") {
    // Instantiate the wasm first (a throwaway in-memory session), so only the
    // open itself is timed, as for the peers whose code is already loaded.
    const warm = await sp.openSession({ name: warmName, storage: "memory" });
    await warm.close();
  }
  const t0 = performance.now();
  const ctx = await bench.loaders[id](name);
  const ms = performance.now() - t0;
  const keys = ctx ? Object.keys(ctx).length : 0;
  if (keys !== expectKeys) throw new Error(`${id} loaded ${keys} keys from ${name}, expected ${expectKeys}`);
  return ms;
}

export async function measureLoad(page, { sizes, reloads, run, log }) {
  const combos = [];
  for (const [label, bytes] of Object.entries(sizes)) {
    const keys = await page.evaluate((b) => Object.keys(bench.makeContext(b)).length, bytes);
    for (const id of LOAD_IDS) {
      const name = `bench-${run}-load-${label}-${id}`;
      await page.evaluate(store, { id, name, bytes });
      combos.push({ id, label, name, keys });
    }
  }
  const samples = new Map(combos.map((c) => [c, []]));
  const warmName = `bench-${run}-warm`;
  for (let r = 0; r < reloads; r++) {
    for (let j = 0; j < combos.length; j++) {
      const c = combos[(r + j) % combos.length];
      await reloadBenchPage(page);
      samples.get(c).push(await page.evaluate(loadOnce, { id: c.id, name: c.name, warmName, expectKeys: c.keys }));
    }
  }
  const out = {};
  for (const c of combos) (out[c.label] ??= { keys: c.keys, stats: {} }).stats[c.id] = stats(samples.get(c));
  log(`load: ${reloads} reloads per contender and size (${reloads * combos.length} reloads)`);
  await page.evaluate(() => localStorage.clear());
  return out;
}
