// 5. update() to a subscriber in the same tab. performance.now() has 5 us
// resolution, so updates are timed in batches: a batch of `perBatch` small
// patches, each one waited for until its subscriber ran (it runs inside the
// call for all three, so the wait is a check), from before the first call to
// the time the last subscriber call recorded. Per-update time = batch time /
// perBatch; the figure is the median over batches. Contenders interleave per
// batch. Run with an empty context and with the 100 KB one loaded.
//   session-persist: s.update({ n: i }), default options (the debounced save
//                    and the cross-tab message are scheduled, as in an app)
//   zustand:         store.setState({ n: i }) -> store.subscribe listener
//   zustand persist: the same with persist(localStorage): a write per update
import { stats } from "./harness.mjs";

export const NOTIFY_IDS = ["session-persist", "zustand", "zustand-persist"];

async function notifyBatches({ name, bytes, ids, batches, perBatch, warmup }) {
  const base = bytes ? bench.makeContext(bytes) : {};
  let last = 0;
  let fired = 0;
  let wake = null;
  // The subscriber records the time; the caller waits for it if it has not run.
  const subscriber = () => {
    last = performance.now();
    fired++;
    if (wake) wake();
  };
  const s = await sp.openSession({ name });
  if (bytes) {
    s.update(base);
    await s.save();
  }
  s.subscribe(subscriber);
  const { createStore } = lib.zustand;
  const z = createStore(() => ({ ...base, n: -1 }));
  z.subscribe(subscriber);
  const zp = bench.zustandStore(`${name}-zustand`, base).store;
  zp.subscribe(subscriber);
  const change = {
    "session-persist": (i) => s.update({ n: i }),
    zustand: (i) => z.setState({ n: i }),
    "zustand-persist": (i) => zp.setState({ n: i }),
  };

  const perUpdateUs = Object.fromEntries(ids.map((id) => [id, []]));
  let asynchronous = 0;
  for (let b = 0; b < warmup + batches; b++) {
    for (let j = 0; j < ids.length; j++) {
      const id = ids[(b + j) % ids.length];
      const t0 = performance.now();
      for (let k = 0; k < perBatch; k++) {
        const before = fired;
        change[id](b * perBatch + k);
        if (fired === before) {
          asynchronous++;
          await new Promise((ok) => (wake = ok));
          wake = null;
        }
      }
      if (b >= warmup) perUpdateUs[id].push(((last - t0) * 1000) / perBatch);
    }
    // Let the session's batched cross-tab message and timers run, unclocked.
    await new Promise((ok) => setTimeout(ok, 0));
  }
  await s.close();
  localStorage.removeItem(`${name}-zustand`);
  return { perUpdateUs, asynchronous, keys: Object.keys(base).length };
}

export async function measureNotify(page, { sizes, batches, perBatch, warmup, run, log }) {
  const out = {};
  for (const [label, bytes] of Object.entries(sizes)) {
    const r = await page.evaluate(notifyBatches, { name: `bench-${run}-notify-${label}`, bytes, ids: NOTIFY_IDS, batches, perBatch, warmup });
    out[label] = {
      keys: r.keys,
      subscriberCalledSynchronously: r.asynchronous === 0,
      stats: Object.fromEntries(NOTIFY_IDS.map((id) => [id, stats(r.perUpdateUs[id])])),
    };
    log(`update -> subscriber (${label}): ${batches} batches of ${perBatch}`);
  }
  return out;
}
