// 1. Save latency: change the context and persist it, timed until durable.
//   "key": one key changed per sample; every contender writes the whole
//          context (ours: s.set(k, v) + await s.save()).
//   "all": every key changed (a new context per sample); raw IndexedDB put
//          vs s.update(next) + await s.save().
import { stats } from "./harness.mjs";

export const SAVE_IDS = ["raw-idb", "idb-keyval", "localforage", "dexie", "localstorage", "zustand", "session-persist"];
export const SAVE_ALL_IDS = ["raw-idb", "session-persist"];

// In the bench page: store a context of `bytes` with each contender under its
// own name, then `warmup + rounds` rounds; in each round every contender
// makes the same change, in an order rotated per round so none always goes
// first (or right after the slowest).
async function saveRounds({ ids, bytes, rounds, warmup, variant, prefix }) {
  const base = bench.makeContext(bytes);
  const keys = Object.keys(base);
  const handles = {};
  for (const id of ids) handles[id] = await bench.savers[id](`${prefix}-${id}`, structuredClone(base));
  const samples = Object.fromEntries(ids.map((id) => [id, []]));
  for (let r = 0; r < warmup + rounds; r++) {
    // Built before the clock starts: only the write is timed.
    const ki = (r * 7919) % keys.length;
    const value = bench.makeValue(ki, r + 1);
    const next = variant === "all" ? bench.makeContext(bytes, r + 1) : null;
    for (let j = 0; j < ids.length; j++) {
      const h = handles[ids[(r + j) % ids.length]];
      const t0 = performance.now();
      await (variant === "all" ? h.all(next) : h.key(keys[ki], value));
      const dt = performance.now() - t0;
      if (r >= warmup) samples[ids[(r + j) % ids.length]].push(dt);
    }
    // Let timers, GC and idle tasks run between rounds, outside the clock.
    await new Promise((ok) => setTimeout(ok, 0));
  }
  for (const id of ids) await handles[id].close();
  return { samples, keys: keys.length, json: JSON.stringify(base).length };
}

/** Both variants for each size; returns { key: { [size]: {...} }, all: {...} }. */
export async function measureSave(page, { sizes, rounds, warmup, run, log }) {
  const out = { key: {}, all: {} };
  for (const [variant, ids] of [["key", SAVE_IDS], ["all", SAVE_ALL_IDS]]) {
    for (const [label, bytes] of Object.entries(sizes)) {
      const prefix = `bench-${run}-save-${variant}-${label}`;
      const r = await page.evaluate(saveRounds, { ids, bytes, rounds, warmup, variant, prefix });
      out[variant][label] = {
        bytes: r.json,
        keys: r.keys,
        stats: Object.fromEntries(ids.map((id) => [id, stats(r.samples[id])])),
      };
      log(`save (${variant === "key" ? "one key" : "every key"} changed) ${label}: ${r.keys} keys, ${r.json} B of JSON`);
    }
  }
  return out;
}
