// bench/results/bench.svg, written by hand (no chart library): a panel of
// ratios against the goals, then small multiples of horizontal bars (median,
// with a p95 whisker), each panel with its own scale. Ours is orange.
import { CONTENDERS } from "./page-helpers.mjs";

const OURS = "session-persist";
const W = 960;
const PANEL_W = 450;
const GAP = 20;
const LABEL_W = 165; // label column of a panel
const BAR_W = 215; // longest bar
const ROW_H = 19;
const COLOR = { ours: "#e8590c", peer: "#5b7db1", raw: "#98a2b3", goal: "#c92a2a", grid: "#e9ecef", text: "#212529", dim: "#6c757d" };
const RAW_IDS = new Set(["raw-idb", "localstorage", "raw-bc"]);

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const text = (x, y, s, attrs = "") => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`;
const fmt = (x, unit) => `${Number.isInteger(x) || x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)} ${unit}`.trim();
const colorOf = (id) => (id === OURS ? COLOR.ours : RAW_IDS.has(id) ? COLOR.raw : COLOR.peer);

/**
 * One panel of bars at (x, y): `bars` = [{ id, label, value, p95? }];
 * `log`: log scale (for counts spanning decades). Returns { svg, height }.
 */
function barPanel(x, y, title, unit, bars, { log = false } = {}) {
  // Scaled to the medians (the longest bar takes 3/4 of the width): a long
  // p95 whisker is cut at the edge rather than squashing every bar.
  const max = Math.max(...bars.map((b) => b.value)) / 0.75;
  const scale = log ? (v) => (Math.log10(Math.max(v, 1)) / Math.log10(Math.max(max, 10))) * BAR_W : (v) => Math.min(BAR_W, (v / max) * BAR_W);
  const parts = [text(x, y + 14, title, `font-weight="600" font-size="13"`)];
  bars.forEach((b, i) => {
    const top = y + 26 + i * ROW_H;
    const x0 = x + LABEL_W + 6;
    const w = Math.max(1, scale(b.value));
    parts.push(text(x + LABEL_W, top + 12, b.label, `text-anchor="end" font-size="11.5"${b.id === OURS ? ' font-weight="600"' : ""}`));
    parts.push(`<rect x="${x0}" y="${top + 2}" width="${w.toFixed(1)}" height="${ROW_H - 6}" fill="${colorOf(b.id)}" rx="2"/>`);
    let end = x0 + w;
    if (b.p95 != null && b.p95 > b.value) {
      const xp = x0 + scale(b.p95);
      const cut = scale(b.p95) >= BAR_W; // p95 beyond the edge: an open end
      parts.push(`<line x1="${end.toFixed(1)}" y1="${top + 8.5}" x2="${xp.toFixed(1)}" y2="${top + 8.5}" stroke="${COLOR.dim}" stroke-width="1"${cut ? ' stroke-dasharray="3 2"' : ""}/>`);
      if (!cut) parts.push(`<line x1="${xp.toFixed(1)}" y1="${top + 4.5}" x2="${xp.toFixed(1)}" y2="${top + 12.5}" stroke="${COLOR.dim}" stroke-width="1"/>`);
      end = xp;
    }
    parts.push(text(end + 4, top + 12, fmt(b.value, unit), `font-size="11" fill="${COLOR.dim}"`));
  });
  return { svg: parts.join("\n"), height: 26 + bars.length * ROW_H + 8 };
}

/** The ratio panel: ours / baseline on a log scale, each with its goal mark. */
function ratioPanel(x, y, rows) {
  const lo = Math.min(0.5, ...rows.map((r) => r.value / 1.25));
  const hi = Math.max(4, ...rows.map((r) => r.value * 1.15));
  const labelW = 300;
  const span = W - 2 * GAP - labelW - 90;
  const sx = (v) => x + labelW + 6 + (Math.log(Math.max(v, lo) / lo) / Math.log(hi / lo)) * span;
  const parts = [text(x, y + 14, "Ours / the other, same run (medians unless said; log scale; red mark: the goal)", `font-weight="600" font-size="13"`)];
  const top0 = y + 30;
  const bottom = top0 + rows.length * ROW_H;
  for (const t of [0.1, 0.2, 0.5, 1, 1.5, 2, 3, 5, 10, 20, 50, 100].filter((t) => t >= lo && t <= hi)) {
    parts.push(`<line x1="${sx(t).toFixed(1)}" y1="${top0 - 4}" x2="${sx(t).toFixed(1)}" y2="${bottom}" stroke="${t === 1 ? COLOR.dim : COLOR.grid}" stroke-width="1"/>`);
    parts.push(text(sx(t), bottom + 12, `${t}x`, `text-anchor="middle" font-size="10.5" fill="${COLOR.dim}"`));
  }
  rows.forEach((r, i) => {
    const top = top0 + i * ROW_H;
    const x1 = sx(1);
    const xv = sx(r.value);
    parts.push(text(x + labelW, top + 12, r.label, `text-anchor="end" font-size="11.5"`));
    parts.push(`<rect x="${Math.min(x1, xv).toFixed(1)}" y="${top + 3}" width="${Math.max(1, Math.abs(xv - x1)).toFixed(1)}" height="${ROW_H - 7}" fill="${r.pass ? "#2f9e44" : COLOR.ours}" rx="2"/>`);
    parts.push(`<line x1="${sx(r.limit).toFixed(1)}" y1="${top + 1}" x2="${sx(r.limit).toFixed(1)}" y2="${top + ROW_H - 2}" stroke="${COLOR.goal}" stroke-width="2"/>`);
    parts.push(text(Math.max(xv, x1, sx(r.limit)) + 5, top + 12, `${r.value.toFixed(2)}x ${r.pass ? "PASS" : "FAIL"}`, `font-size="11" fill="${r.pass ? "#2f9e44" : COLOR.goal}"`));
  });
  return { svg: parts.join("\n"), height: bottom - y + 22 };
}

const statBars = (stats, labels) =>
  Object.entries(stats).map(([id, s]) => ({ id, label: labels?.[id] ?? CONTENDERS[id] ?? id, value: s.median, p95: s.p95 }));

/** The panels of the grid, from what was measured. */
function panels(r) {
  const out = [];
  for (const [size, s] of Object.entries(r.save?.key ?? {})) out.push([`Save, one key changed, ${size} context (ms)`, "ms", statBars(s.stats)]);
  for (const [size, s] of Object.entries(r.load ?? {})) out.push([`Load after reload, ${size} (ms)`, "ms", statBars(s.stats)]);
  if (r.cold) out.push(["Cold start to 100 KB context in hand (ms)", "ms", statBars(r.cold.stats)]);
  const zustandLabels = { zustand: "zustand", "zustand-persist": "zustand persist" };
  if (r.notify?.empty) out.push(["update() to subscriber, small patch (us)", "us", statBars(r.notify.empty.stats, zustandLabels)]);
  if (r.notify?.["100KB"]) out.push(["update() to subscriber, 100 KB context loaded (us)", "us", statBars(r.notify["100KB"].stats, zustandLabels)]);
  if (r.writes)
    out.push(["Storage writes for 1000 updates in 1 s (log)", "", [
      { id: OURS, label: CONTENDERS[OURS], value: r.writes[OURS].writes },
      { id: "zustand", label: "zustand persist", value: r.writes.zustand.writes },
    ], { log: true }]);
  if (r.size)
    out.push(["Size of the browser build, gzip -9 (KB)", "KB", [
      { id: OURS, label: "ours, core (wasm+JS)", value: r.size.core.gzip / 1024 },
      { id: OURS, label: "ours, React entry", value: r.size.react.gzip / 1024 },
      ...Object.entries(r.size.peers).map(([id, p]) => ({ id, label: CONTENDERS[id], value: p.gzip / 1024 })),
    ]]);
  if (r.memory)
    out.push(["Wasm linear memory, MB of 2^20 B (goal: <= 3 holding 1 MB)", "MB", [
      { id: OURS, label: "after openSession", value: r.memory.opened / 1048576 },
      { id: OURS, label: "holding a 1 MB context", value: r.memory.held / 1048576 },
    ]]);
  return out;
}

/** Rows of the ratio panel: the goals that are a ratio to a baseline. */
function ratioRows(goals) {
  return goals.filter((g) => g.versus && g.value != null).map((g) => ({ label: g.versus, value: g.value, limit: g.limit, pass: g.pass }));
}

export function renderSvg(results, goals, env) {
  const parts = [];
  let y = 16;
  parts.push(text(GAP, y + 14, "session-persist vs peers", `font-weight="700" font-size="17"`));
  const sub = env
    ? `headless Chromium ${env.chromium}, ${env.cores} CPUs (load average ${env.loadAverageAtStart}), ${new Date().toISOString().slice(0, 10)}; bars: median, whisker: p95 (dashed: beyond the panel); npm run bench`
    : "npm run bench";
  parts.push(text(GAP, y + 32, sub, `font-size="11.5" fill="${COLOR.dim}"`));
  y += 46;
  const ratio = ratioPanel(GAP, y, ratioRows(goals));
  parts.push(ratio.svg);
  y += ratio.height + 10;
  const list = panels(results);
  for (let i = 0; i < list.length; i += 2) {
    let h = 0;
    for (let j = 0; j < 2 && i + j < list.length; j++) {
      const [title, unit, bars, opts] = list[i + j];
      const p = barPanel(GAP + j * (PANEL_W + GAP), y, title, unit, bars, opts);
      parts.push(p.svg);
      h = Math.max(h, p.height);
    }
    y += h + 12;
  }
  const passed = goals.filter((g) => g.pass).length;
  parts.push(text(GAP, y + 10, `Goals: ${passed} of ${goals.length} pass. Orange: session-persist; blue: libraries; grey: raw browser APIs.`, `font-size="11.5" fill="${COLOR.dim}"`));
  y += 24;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" fill="${COLOR.text}">`,
    `<rect width="${W}" height="${y}" fill="#ffffff"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}
