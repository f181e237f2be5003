// Goals and the printed table. Every ratio is ours / the other contender,
// both measured in the same run; "ours" is session-persist.
import { CONTENDERS } from "./page-helpers.mjs";

const OURS = "session-persist";
const MB = 1024 * 1024; // wasm memory is counted in 64 KiB pages: MB here is 2^20 B

// What each contender does in the save figure.
const SAVE_WHAT = {
  "raw-idb": "raw IndexedDB put",
  "idb-keyval": "idb-keyval set",
  localforage: "localForage setItem",
  dexie: "Dexie table.put",
  localstorage: "localStorage setItem(JSON)",
  zustand: "zustand persist setState",
  "session-persist": "session-persist set+save",
};
const SAVE_ALL_WHAT = { "raw-idb": "raw IndexedDB put(next)", "session-persist": "session-persist update(next)+save" };
const LOAD_WHAT = {
  "raw-idb": "raw IndexedDB open+get",
  "idb-keyval": "idb-keyval get",
  localforage: "localForage getItem",
  dexie: "Dexie get",
  localstorage: "localStorage getItem+parse",
  "session-persist": "session-persist openSession+get",
};
const NOTIFY_WHAT = {
  "session-persist": "session-persist update",
  zustand: "zustand setState",
  "zustand-persist": "zustand persist setState",
};

/**
 * The goals, each `{ id, figure, goal, value, limit, pass, versus? }`: `value` is
 * compared with `limit` (value <= limit passes, or < when `strict`).
 */
export function evaluateGoals(r) {
  const goals = [];
  // `versus`: for a ratio to a baseline, a short name of it (for the chart).
  const add = (id, figure, goal, value, limit, { strict = false, versus } = {}) =>
    goals.push({ id, figure, goal, value, limit, pass: value != null && (strict ? value < limit : value <= limit), ...(versus && { versus }) });
  const ratio = (stats, peer) => stats[OURS].median / stats[peer].median;

  for (const [size, s] of Object.entries(r.save?.key ?? {})) {
    add(`save.key.${size}.raw-idb`, "save", `one key, ${size}: ours <= 1.3x raw IndexedDB put`, ratio(s.stats, "raw-idb"), 1.3, { versus: `save ${size}, one key changed / raw IndexedDB put` });
    for (const peer of ["idb-keyval", "localforage", "dexie"])
      add(`save.key.${size}.${peer}`, "save", `one key, ${size}: ours below ${CONTENDERS[peer]}`, ratio(s.stats, peer), 1, { strict: true });
  }
  for (const [size, s] of Object.entries(r.save?.all ?? {}))
    add(`save.all.${size}.raw-idb`, "save", `every key, ${size}: ours <= 1.3x raw IndexedDB put`, ratio(s.stats, "raw-idb"), 1.3, { versus: `save ${size}, every key changed / raw IndexedDB put` });
  for (const [size, s] of Object.entries(r.load ?? {}))
    add(`load.${size}.raw-idb`, "load", `${size}: ours <= 1.3x raw IndexedDB open+get`, ratio(s.stats, "raw-idb"), 1.3, { versus: `load ${size} / raw IndexedDB open+get` });
  if (r.cold) add("cold.localforage", "cold start", "ours <= localForage", ratio(r.cold.stats, "localforage"), 1, { versus: "cold start / localForage" });
  if (r.writes) add("writes", "write count", "ours <= 3 writes", r.writes[OURS].writes, 3);
  if (r.notify?.empty) add("notify.empty.session-persist", "update -> subscriber", "ours median <= 20 us", r.notify.empty.stats[OURS].median, 20);
  if (r.crosstab) {
    add("crosstab.median", "cross-tab", "median <= 1.5x raw BroadcastChannel", r.crosstab.ratio.median, 1.5, { versus: "cross-tab median / raw BroadcastChannel" });
    add("crosstab.p95", "cross-tab", "p95 <= 1.5x raw BroadcastChannel", r.crosstab.ratio.p95, 1.5, { versus: "cross-tab p95 / raw BroadcastChannel" });
  }
  if (r.size) {
    add("size.core", "size", "core entry gzip <= 50 KB (51200 B)", r.size.core.gzip, 51200);
    add("size.react", "size", "React entry gzip <= 2 KB (2048 B)", r.size.react.gzip, 2048);
  }
  if (r.memory) add("memory", "memory", "wasm memory holding 1 MB <= 3 MB", r.memory.held / MB, 3);
  return goals;
}

// --- formatting ------------------------------------------------------------
const num = (x) => (x == null ? "-" : x >= 100 ? x.toFixed(1) : x >= 10 ? x.toFixed(2) : x.toFixed(3));
const times = (x) => (x == null ? "" : `${x.toFixed(2)}x`);
const verdict = (g) => (g ? `${g.pass ? "PASS" : "FAIL"}  ${g.goal}` : "");
const row = (label, cells, note = "") => `  ${label.padEnd(38)}${cells.map((c) => String(c).padStart(10)).join("")}   ${note}`.trimEnd();

/** Rows of one stats table: each contender's median, p95, ours/it, goal. */
function statsRows(stats, what, goals, goalPrefix, fmt = num) {
  const lines = [];
  for (const [id, s] of Object.entries(stats)) {
    const ours = id === OURS;
    const r = ours ? "" : times(stats[OURS].median / s.median);
    const g = goals.find((x) => x.id === `${goalPrefix}.${id}`);
    lines.push(row(`  ${what[id] ?? id}`, [fmt(s.median), fmt(s.p95), r], verdict(g)));
  }
  return lines;
}

export function printReport({ results: r, goals, env, config, seconds, broken, warnings = [] }) {
  const out = [];
  const head = (title) => out.push("", title, row("", ["median", "p95", "ours/it"]));
  const find = (id) => goals.find((g) => g.id === id);

  out.push("session-persist benchmark");
  if (env) {
    out.push(`Chromium ${env.chromium} headless, ${env.cores} CPUs (${env.cpu}), Node ${env.node}, ${env.platform}`);
    out.push(`disk-backed profile, cross-origin isolated: ${env.crossOriginIsolated} (5 us timers); ${Object.entries(env.peers ?? {}).map(([p, v]) => `${p} ${v}`).join(", ")}`);
    out.push(`${seconds.toFixed(0)} s; machine load average ${env.loadAverageAtStart} at the start, ${env.loadAverageAtEnd} at the end (other work adds noise, mostly to p95)`);
  }

  if (r.save) {
    for (const [variant, what, title] of [
      ["key", SAVE_WHAT, `1. Save, ms: one key changed, whole context stored until durable (${config.saveRounds} rounds after ${config.saveWarmup} warm-up)`],
      ["all", SAVE_ALL_WHAT, "1b. Save, ms: every key changed (a new context each time)"],
    ]) {
      head(title);
      for (const [size, s] of Object.entries(r.save[variant])) {
        out.push(`  ${size} (${s.keys} keys, ${s.bytes} B JSON)`);
        out.push(...statsRows(s.stats, what, goals, `save.${variant}.${size}`));
      }
    }
  }
  if (r.load) {
    head(`2. Load after a reload, ms: until the context is in hand (${config.loadReloads} reloads each)`);
    for (const [size, s] of Object.entries(r.load)) {
      out.push(`  ${size} (${s.keys} keys)`);
      out.push(...statsRows(s.stats, LOAD_WHAT, goals, `load.${size}`));
    }
  }
  if (r.cold) {
    head(`3. Cold start, ms: navigation start until the 100 KB context is in hand (${config.coldNavigations} navigations each)`);
    const what = Object.fromEntries(Object.keys(r.cold.stats).map((id) => [id, `${CONTENDERS[id]}${id === OURS ? " (incl. wasm)" : ""}`]));
    out.push(...statsRows(r.cold.stats, what, goals, "cold"));
    const ss = r.cold.scriptStartMedian;
    out.push(`  (medians: ours' index.js ran at ${num(ss[OURS])} ms, .wasm downloaded at ${num(r.cold.wasmFetchedMedian)} ms; localForage's script ran at ${num(ss.localforage)} ms)`);
  }
  if (r.writes) {
    const w = r.writes;
    out.push("", `4. Writes for ${w.updates} updates of one small key over 1 s, then ${w.quietMs / 1000} s quiet`);
    const ours = w[OURS];
    out.push(row("session-persist (default options)", [ours.writes], `${verdict(find("writes"))}  (saved events: ${ours.saved}; readwrite transactions: ${ours.readwrite}; puts: ${ours.puts})`));
    out.push(row("zustand persist (localStorage)", [w.zustand.writes], "localStorage.setItem calls"));
  }
  if (r.notify) {
    out.push("", `5. update() -> subscriber in the same tab, us per update (${config.notifyBatches} batches of ${config.notifyPerBatch})`);
    out.push(row("", ["median", "p95", "ours/it"]));
    for (const [size, s] of Object.entries(r.notify)) {
      out.push(`  context: ${size === "empty" ? "empty (small patch { n })" : `${size} (${s.keys} keys) + { n }`}${s.subscriberCalledSynchronously ? "" : "  (some subscriber calls were asynchronous)"}`);
      out.push(...statsRows(s.stats, NOTIFY_WHAT, goals, `notify.${size}`, (x) => x.toFixed(2)));
    }
  }
  if (r.crosstab) {
    const c = r.crosstab;
    out.push("", `6. Cross-tab: change in tab A until tab B's subscriber, ms (${config.crosstabSamples} samples)`);
    out.push(row("", ["median", "p95"]));
    out.push(row("raw BroadcastChannel", [num(c.raw.median), num(c.raw.p95)]));
    out.push(row("session-persist set -> subscriber", [num(c.session.median), num(c.session.p95)]));
    out.push(row("ratio ours/raw", [times(c.ratio.median), times(c.ratio.p95)], `${verdict(find("crosstab.median"))}; ${verdict(find("crosstab.p95"))}`));
  }
  if (r.size) {
    const s = r.size;
    out.push("", "7. Size, gzip -9 bytes", row("", ["raw", "gzip"]));
    out.push(row("session-persist core entry", [s.core.raw, s.core.gzip], verdict(find("size.core"))));
    out.push(row("session-persist React entry", [s.react.raw, s.react.gzip], verdict(find("size.react"))));
    if (s.auth) out.push(row("session-persist auth wasm", [s.auth.raw, s.auth.gzip], "loaded only by openAuthSession"));
    for (const [id, p] of Object.entries(s.peers)) out.push(row(`${CONTENDERS[id]}`, [p.raw, p.gzip], p.what));
  }
  if (r.memory || r.memoryAfterSaves) {
    const m = r.memory;
    out.push("", "8. Wasm linear memory, MB (2^20 B)");
    if (m) out.push(row("after openSession (empty context)", [(m.opened / MB).toFixed(2)]));
    if (m) out.push(row("holding the 1 MB context, after save", [(m.held / MB).toFixed(2)], verdict(find("memory"))));
    if (r.memoryAfterSaves) out.push(row("bench page after the save figure", [(r.memoryAfterSaves / MB).toFixed(2)], "(never shrinks: high-water mark)"));
  }

  // One line per figure: how many of its goals pass.
  const figures = [...new Set(goals.map((g) => g.figure))];
  const tally = figures.map((f) => {
    const of = goals.filter((g) => g.figure === f);
    return `${f} ${of.filter((g) => g.pass).length}/${of.length}`;
  });
  out.push("", `goals: ${goals.filter((g) => g.pass).length} of ${goals.length} pass (${tally.join(", ")})`);
  for (const w of warnings) out.push("", `WARNING: ${w}`);
  if (broken.length) {
    out.push("", `BROKEN: ${broken.length} measurement(s) failed:`);
    for (const b of broken) out.push(`  ${b.split("\n")[0]}`);
  }
  console.log(out.join("\n"));
}
