// Cross-tab sync, end to end: several pages of one browser context (same
// origin, same storage) open a session with the same name, through the built
// dist/ in real Chromium. Each test gets a fresh browser context and its own name.
//
// In every tab with a session, `window.s` is the session and `window.log`
// records what its subscribers and event handlers saw, each entry stamped
// with `now()` (performance.timeOrigin + performance.now(): one clock for all
// the tabs of the machine, so a time in one tab can be compared to another's).
import { test } from "node:test";
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { useBrowser, uniqueName, FIXTURE } from "./helpers.mjs";

const browser = useBrowser();
const T = { timeout: 60_000 };
const DELIVERY_MS = 1000; // "within about a second"
const WAIT = { timeout: 5000 }; // how long a test waits before it calls something missing

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Opens `window.s` in the tab and starts recording; returns its info().
function open(tab, options) {
  return tab.eval(async (o) => {
    window.now = () => performance.timeOrigin + performance.now();
    // Waits until the wall clock reaches `at` (ms since the epoch), the last
    // few ms spinning, so tabs given the same `at` act within the same ms.
    window.until = async (at) => {
      const d = at - Date.now() - 4;
      if (d > 0) await new Promise((r) => setTimeout(r, d));
      while (Date.now() < at);
    };
    const keysOf = (k) => (Array.isArray(k) ? [...k] : k);
    window.log = { changes: [], remote: [], saved: [] };
    window.s = await sp.openSession(o);
    s.subscribe((ctx, change) => log.changes.push({ at: now(), ctx, source: change?.source, keys: keysOf(change?.keys) }));
    s.on("remote-change", (d) => log.remote.push({ at: now(), keys: keysOf(d?.keys), from: d?.from }));
    s.on("saved", (d) => log.saved.push({ at: now(), revision: d?.revision }));
    return s.info();
  }, options);
}

// `root` plus n-1 new tabs of its browser context, each with a session opened with `options`.
async function openTabs(root, n, options) {
  const tabs = [root];
  for (let i = 1; i < n; i++) tabs.push(await root.newTab());
  for (const t of tabs) await open(t, options);
  return tabs;
}

const contexts = (tabs) => Promise.all(tabs.map((t) => t.eval(() => s.get())));

// Quiescence: save in every tab, then let the messages settle.
async function settle(tabs, ms = 500) {
  for (const t of tabs) await t.eval(() => s.save());
  await sleep(ms);
}

// Polls until every tab's get() is deep-equal (or `timeout`); returns the contexts.
async function converged(tabs, timeout = 3000) {
  const end = Date.now() + timeout;
  for (;;) {
    const ctxs = await contexts(tabs);
    if (ctxs.every((c) => isDeepStrictEqual(c, ctxs[0])) || Date.now() > end) return ctxs;
    await sleep(100);
  }
}

function assertAllEqual(ctxs, what) {
  for (let i = 1; i < ctxs.length; i++) {
    assert.deepEqual(ctxs[i], ctxs[0], `${what}: tab ${i}'s context differs from tab 0's (keys that differ: ${diffKeys(ctxs[0], ctxs[i])})`);
  }
}

function diffKeys(x, y) {
  const keys = new Set([...Object.keys(x ?? {}), ...Object.keys(y ?? {})]);
  return JSON.stringify([...keys].filter((k) => !isDeepStrictEqual(x?.[k], y?.[k])));
}

// What a freshly opened tab of the same browser context loads, then closes it.
// With `crossTab: false` in `options`, that is what storage alone holds.
async function freshContext(root, options) {
  const t = await root.newTab();
  await open(t, options);
  const ctx = await t.eval(() => s.get());
  await t.close();
  return ctx;
}

// The first change the tab's subscribers saw that has `key` in change.keys.
async function waitForChange(tab, key, what) {
  await tab.waitFor((k) => log.changes.some((c) => Array.isArray(c.keys) && c.keys.includes(k)), key, {
    ...WAIT,
    message: `${what}: a subscriber call with "${key}" in change.keys`,
  });
  return tab.eval((k) => log.changes.find((c) => Array.isArray(c.keys) && c.keys.includes(k)), key);
}

test("live delivery: set/update in A reach B's subscribers (source 'tab') and remote-change (from A's tabId) within a second", T, async () => {
  const name = uniqueName("live");
  const a = await browser.open();
  const [, b, c] = await openTabs(a, 3, { name });
  const aTabId = await a.eval(() => s.tabId);

  const v = { nested: { list: [1, "two", null, true, { deep: [] }], n: -3.5 }, text: 'ü€😀 "quoted"\n', empty: {} };
  const sentAt = await a.eval((v) => {
    const t = now();
    s.set("k", v);
    return t;
  }, v);
  for (const [label, tab] of [["B", b], ["C", c]]) {
    const ch = await waitForChange(tab, "k", `${label} after A set("k")`);
    assert.equal(ch.source, "tab", `${label}: change.source`);
    assert.ok(Array.isArray(ch.keys), `${label}: change.keys is an array`);
    assert.deepEqual(ch.ctx.k, v, `${label}: ctx.k passed to the subscriber`);
    const latency = ch.at - sentAt;
    assert.ok(latency < DELIVERY_MS, `${label}: delivered in ${latency.toFixed(1)} ms (limit ${DELIVERY_MS})`);
    assert.deepEqual(await tab.eval(() => s.get("k")), v, `${label}: get("k")`);
    assert.deepEqual((await tab.eval(() => s.get())).k, v, `${label}: get().k`);
    await tab.waitFor(() => log.remote.length > 0, null, { ...WAIT, message: `${label}: a remote-change event` });
    const remote = await tab.eval(() => log.remote);
    assert.ok(Array.isArray(remote[0].keys), `${label}: remote-change detail.keys is an array: ${JSON.stringify(remote[0])}`);
    assert.ok(remote[0].keys.includes("k"), `${label}: remote-change detail.keys has "k": ${JSON.stringify(remote[0])}`);
    assert.equal(remote[0].from, aTabId, `${label}: remote-change detail.from is A's tabId`);
  }

  // update: several keys, then one removed through undefined.
  await a.eval(() => s.update({ k: 2, m: "x" }));
  const ch2 = await waitForChange(b, "m", "B after A update({ k: 2, m })");
  assert.equal(ch2.source, "tab");
  assert.ok(ch2.keys.includes("k") && ch2.keys.includes("m"), `change.keys has k and m: ${JSON.stringify(ch2.keys)}`);
  assert.equal(ch2.ctx.k, 2);
  assert.equal(ch2.ctx.m, "x");
  await b.waitFor(() => log.remote.some((r) => Array.isArray(r.keys) && r.keys.includes("m")), null, { ...WAIT, message: "B: remote-change for m" });

  await a.eval(() => s.update({ m: undefined }));
  await b.waitFor(() => !("m" in s.get()), null, { ...WAIT, message: "B: m removed after A update({ m: undefined })" });
  const last = await b.eval(() => log.changes.at(-1));
  assert.equal(last.source, "tab");
  assert.ok(last.keys.includes("m"), `change.keys of the removal has m: ${JSON.stringify(last.keys)}`);
  assert.deepEqual(await b.eval(() => s.get()), { k: 2 });

  // A's own subscribers saw only local changes, and A got no remote-change for them.
  const own = await a.eval(() => ({ changes: log.changes.map((c) => ({ source: c.source, keys: c.keys })), remote: log.remote }));
  assert.deepEqual(own.changes.map((c) => c.source), ["local", "local", "local"], `A's own changes: ${JSON.stringify(own.changes)}`);
  assert.ok(own.changes[0].keys.includes("k"));
  assert.deepEqual(own.remote, [], "A got no remote-change for its own writes");
  a.assertNoErrors();
});

test("a burst of 100 sets in A reaches B in order and ends with the last value", T, async () => {
  const name = uniqueName("burst");
  const a = await browser.open();
  const [, b] = await openTabs(a, 2, { name });
  await a.eval(async () => {
    for (let i = 0; i < 100; i++) {
      s.set("n", i);
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
    }
  });
  await b.waitFor(() => s.get("n") === 99, null, { ...WAIT, message: "B: n === 99" });
  await sleep(300);
  const seen = await b.eval(() => log.changes.filter((c) => c.keys?.includes("n")).map((c) => c.ctx.n));
  assert.ok(seen.length > 0);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], `B saw n go back or repeat: ${JSON.stringify(seen)}`);
  assert.equal(await b.eval(() => s.get("n")), 99);
  a.assertNoErrors();
});

test("3 tabs make 200 interleaved writes each over 20 keys and all end with identical contexts, equal to what a freshly opened tab loads", { timeout: 180_000 }, async (t) => {
  const TABS = 3;
  const WRITES = 200;
  const KEYS = 20;
  const name = uniqueName("converge");
  const a = await browser.open();
  const tabs = await openTabs(a, TABS, { name });

  const startAt = Date.now() + 300;
  const results = await Promise.all(
    tabs.map((tab, index) =>
      tab.eval(
        async ({ index, WRITES, KEYS, startAt }) => {
          await until(startAt);
          const t0 = performance.now();
          const writes = [];
          let notLocal = 0;
          for (let i = 0; i < WRITES; i++) {
            const key = `k${Math.floor(Math.random() * KEYS)}`;
            const prev = s.get(key);
            const value = { tab: index, i };
            s.set(key, value);
            const got = s.get(key);
            if (got?.tab !== index || got?.i !== i) notLocal++;
            writes.push({ key, value, prev: prev === undefined ? null : prev });
            await new Promise((r) => setTimeout(r, Math.random() * 3));
          }
          return { writes, notLocal, ms: performance.now() - t0 };
        },
        { index, WRITES, KEYS, startAt },
      ),
    ),
  );
  const writeMs = Math.max(...results.map((r) => r.ms));
  const t1 = Date.now();
  await settle(tabs);
  const ctxs = await converged(tabs, 5000);
  const convergeMs = Date.now() - t1;
  const total = results.reduce((n, r) => n + r.writes.length, 0);
  const msg = `${TABS} tabs × ${WRITES} writes = ${total} writes over ${KEYS} keys in ${writeMs.toFixed(0)} ms; identical ${convergeMs} ms later (save in every tab + 500 ms settle included)`;
  t.diagnostic(`convergence: ${msg}`);

  for (const [i, r] of results.entries()) assert.equal(r.notLocal, 0, `tab ${i}: get(key) right after its own set(key) was not its value ${r.notLocal} times`);
  assertAllEqual(ctxs, "after quiescence");
  const final = ctxs[0];

  // Every key written is there, with a value some tab wrote to that key...
  const id = (v) => `${v?.tab}:${v?.i}`;
  const writtenTo = new Map();
  for (const r of results) for (const w of r.writes) (writtenTo.get(w.key) ?? writtenTo.set(w.key, new Set()).get(w.key)).add(id(w.value));
  assert.deepEqual(Object.keys(final).sort(), [...writtenTo.keys()].sort(), "the keys of the final context are the keys written");
  for (const [key, ids] of writtenTo) {
    assert.ok(ids.has(id(final[key])), `final ${key} = ${JSON.stringify(final[key])} was never written to ${key}`);
  }
  // ...and never one that a later write had already superseded: a tab's own
  // earlier write to the key, or a value the writing tab saw before its write
  // (last writer wins by a clock all tabs agree on, so those are older).
  const superseded = new Map();
  for (const r of results) {
    const lastOwn = new Map();
    for (const w of r.writes) {
      const set = superseded.get(w.key) ?? superseded.set(w.key, new Map()).get(w.key);
      if (w.prev) set.set(id(w.prev), `tab ${w.value.tab} saw it before writing ${id(w.value)}`);
      if (lastOwn.has(w.key)) set.set(lastOwn.get(w.key), `tab ${w.value.tab} overwrote it with ${id(w.value)}`);
      lastOwn.set(w.key, id(w.value));
    }
  }
  for (const key of Object.keys(final)) {
    const why = superseded.get(key)?.get(id(final[key]));
    assert.equal(why, undefined, `final ${key} = ${id(final[key])} (tab:i) had been superseded: ${why}`);
  }

  // A fresh tab (others alive) loads exactly the same context.
  const fresh = await a.newTab();
  await open(fresh, { name });
  assert.deepEqual(await fresh.eval(() => s.get()), final, `a fresh tab loads the same context (differing keys: ${diffKeys(final, await fresh.eval(() => s.get()))})`);

  // A reloaded tab loads the same context, and nothing moved elsewhere.
  await tabs[1].reload();
  await open(tabs[1], { name });
  assert.deepEqual(await tabs[1].eval(() => s.get()), final, "tab 1 after a reload");
  await sleep(300);
  assertAllEqual([final, ...(await contexts([...tabs, fresh]))], "after the reload");

  // With every tab closed, storage alone holds the same context.
  for (const tab of [...tabs, fresh]) await tab.close();
  const last = await a.newTab();
  await open(last, { name });
  const stored = await last.eval(() => s.get());
  assert.deepEqual(stored, final, `with no other tab open, a new tab loads the same context (differing keys: ${diffKeys(final, stored)})`);
  a.assertNoErrors();
});

test("the same key set in 3 tabs at the same instant ends with one of the written values in every tab and in storage", T, async () => {
  const name = uniqueName("samekey");
  const a = await browser.open();
  const tabs = await openTabs(a, 3, { name });
  for (let round = 0; round < 5; round++) {
    const at = Date.now() + 150;
    await Promise.all(
      tabs.map((tab, index) =>
        tab.eval(
          async ({ at, index, round }) => {
            await until(at);
            s.set("same", { tab: index, round });
          },
          { at, index, round },
        ),
      ),
    );
    await settle(tabs, 300);
    const ctxs = await converged(tabs);
    assertAllEqual(ctxs, `round ${round}`);
    const v = ctxs[0].same;
    assert.ok(v && v.round === round && [0, 1, 2].includes(v.tab), `round ${round}: "same" = ${JSON.stringify(v)} is not a value written in this round`);
  }
  const final = (await contexts(tabs))[0];
  assert.deepEqual(await freshContext(a, { name }), final, "a fresh tab");
  assert.deepEqual(await freshContext(a, { name, crossTab: false }), final, "storage alone (a fresh tab with crossTab: false)");
  a.assertNoErrors();
});

test("different keys set in 2 tabs at the same instant: every tab and storage end with both", T, async () => {
  const name = uniqueName("diffkeys");
  const a = await browser.open();
  const tabs = await openTabs(a, 3, { name }); // A writes "a", B writes "b", C only watches
  for (let round = 0; round < 5; round++) {
    const at = Date.now() + 150;
    await Promise.all(
      ["a", "b"].map((key, index) =>
        tabs[index].eval(
          async ({ at, key, round }) => {
            await until(at);
            s.set(key, round);
          },
          { at, key, round },
        ),
      ),
    );
    await settle(tabs, 300);
    const ctxs = await converged(tabs);
    for (const [i, ctx] of ctxs.entries()) assert.deepEqual(ctx, { a: round, b: round }, `round ${round}, tab ${"ABC"[i]}`);
  }
  assert.deepEqual(await freshContext(a, { name }), { a: 4, b: 4 }, "a fresh tab");
  assert.deepEqual(await freshContext(a, { name, crossTab: false }), { a: 4, b: 4 }, "storage alone (a fresh tab with crossTab: false)");
  a.assertNoErrors();
});

test("a key deleted in B after every tab saw it stays deleted everywhere, also in a fresh tab and after a reload", T, async () => {
  const name = uniqueName("delete");
  const a = await browser.open();
  const [, b, c] = await openTabs(a, 3, { name });
  await a.eval(() => s.update({ x: { v: 1 }, keep: true }));
  for (const [label, tab] of [["B", b], ["C", c]]) await tab.waitFor(() => s.get("x")?.v === 1, null, { ...WAIT, message: `${label} sees x` });
  await settle([a, b, c], 100); // x is stored too

  await b.eval(() => s.delete("x"));
  for (const [label, tab] of [["A", a], ["C", c]]) await tab.waitFor(() => !("x" in s.get()), null, { ...WAIT, message: `${label}: x deleted` });
  const removal = await a.eval(() => log.changes.at(-1));
  assert.equal(removal.source, "tab");
  assert.ok(removal.keys.includes("x"), `A's change.keys of the deletion: ${JSON.stringify(removal.keys)}`);
  await settle([a, b, c]);
  for (const [i, ctx] of (await contexts([a, b, c])).entries()) assert.deepEqual(ctx, { keep: true }, `tab ${"ABC"[i]} after quiescence`);
  assert.deepEqual(await freshContext(a, { name }), { keep: true }, "a fresh tab");
  assert.deepEqual(await freshContext(a, { name, crossTab: false }), { keep: true }, "storage alone (a fresh tab with crossTab: false)");
  await a.reload();
  await open(a, { name });
  assert.deepEqual(await a.eval(() => s.get()), { keep: true }, "A after a reload");
  await sleep(300);
  for (const [i, ctx] of (await contexts([a, b, c])).entries()) assert.deepEqual(ctx, { keep: true }, `tab ${"ABC"[i]} after A's reload`);
  a.assertNoErrors();
});

test("a tab opened while another has unsaved changes has them as soon as openSession resolves", T, async (t) => {
  const name = uniqueName("late");
  const a = await browser.open();
  await open(a, { name, saveDebounce: 60_000, autoSaveInterval: 0 });
  const info = await a.eval(() => {
    s.set("late", 1);
    return s.info();
  });
  assert.equal(info.dirty, true, "A has not written it (saveDebounce 60 s)");

  const b = await a.newTab();
  const t0 = Date.now();
  const r = await b.eval(async (name) => {
    const s = await sp.openSession({ name });
    return { late: s.get("late"), ctx: s.get() };
  }, name);
  const openMs = Date.now() - t0;
  assert.equal(r.late, 1, `B's get("late") right after openSession resolved; B's context: ${JSON.stringify(r.ctx)}`);
  t.diagnostic(`late tab: openSession with one live tab took ${openMs} ms`);
  a.assertNoErrors();
});

test("a tab closed right after a change loses nothing: the open tab has it and storage has it", T, async () => {
  const name = uniqueName("bye");
  const a = await browser.open();
  await open(a, { name, saveDebounce: 60_000, autoSaveInterval: 0 });
  const b = await a.newTab();
  await open(b, { name });
  await a.eval(() => s.set("bye", "x"));
  await a.close(); // beforeunload, pagehide, unload
  await b.waitFor(() => s.get("bye") === "x", null, { ...WAIT, message: "B has bye" });
  assert.equal((await waitForChange(b, "bye", "B")).source, "tab");
  assert.deepEqual(await freshContext(b, { name, crossTab: false }), { bye: "x" }, "storage alone (a fresh tab with crossTab: false)");
  assert.deepEqual(await freshContext(b, { name }), { bye: "x" }, "a fresh tab");
  b.assertNoErrors();
});

test("share(key, value): the other tab's subscriber gets it, and once share resolves storage has it", T, async () => {
  const name = uniqueName("share");
  const a = await browser.open();
  await open(a, { name, saveDebounce: 60_000, autoSaveInterval: 0 });
  const b = await a.newTab();
  await open(b, { name });
  const value = { cart: [{ id: 1, qty: 2 }], total: 9.5 };
  const r = await a.eval(async (v) => {
    const t = now();
    await s.share("shared", v);
    return { sentAt: t, resolvedAt: now(), dirty: s.info().dirty };
  }, value);
  assert.equal(r.dirty, false, "nothing pending in A after share resolved");
  // Right after share resolved: storage has it (nothing else could have written it: saveDebounce 60 s).
  assert.deepEqual(await freshContext(a, { name, crossTab: false }), { shared: value }, "storage alone right after share resolved");
  const ch = await waitForChange(b, "shared", "B after A share()");
  assert.equal(ch.source, "tab");
  assert.deepEqual(ch.ctx.shared, value);
  assert.ok(ch.at - r.sentAt < DELIVERY_MS, `delivered in ${(ch.at - r.sentAt).toFixed(1)} ms`);
  assert.deepEqual(await freshContext(a, { name }), { shared: value }, "a fresh tab");
  a.assertNoErrors();
});

test("restoreSnapshot in A changes B's context to the snapshot; clear() in A empties B and storage", T, async () => {
  const name = uniqueName("restore");
  const a = await browser.open();
  const [, b] = await openTabs(a, 2, { name });
  await a.eval(() => s.update({ page: "cart", items: [1, 2] }));
  await b.waitFor(() => s.get("page") === "cart", null, { ...WAIT, message: "B sees page cart" });
  const id = await a.eval(() => s.createSnapshot("cart"));
  await a.eval(() => s.update({ page: "checkout", items: [1, 2, 3], extra: true }));
  await b.waitFor(() => s.get("extra") === true, null, { ...WAIT, message: "B sees extra" });

  const before = await b.eval(() => log.changes.length);
  await a.eval((id) => s.restoreSnapshot(id), id);
  assert.deepEqual(await a.eval(() => s.get()), { page: "cart", items: [1, 2] }, "A after restoreSnapshot");
  await b.waitFor(() => s.get("page") === "cart" && !("extra" in s.get()), null, { ...WAIT, message: "B has the snapshot content" });
  assert.deepEqual(await b.eval(() => s.get()), { page: "cart", items: [1, 2] }, "B after A's restoreSnapshot");
  const changes = await b.eval((n) => log.changes.slice(n), before);
  assert.ok(changes.length > 0);
  for (const ch of changes) assert.equal(ch.source, "tab", `B's change.source after A's restore: ${JSON.stringify(changes.map((c) => [c.source, c.keys]))}`);
  assert.deepEqual(changes.at(-1).ctx, { page: "cart", items: [1, 2] });

  await settle([a, b], 100);
  await a.eval(() => s.clear());
  assert.deepEqual(await a.eval(() => s.get()), {}, "A after clear()");
  await b.waitFor(() => Object.keys(s.get()).length === 0, null, { ...WAIT, message: "B's context is {} after A's clear()" });
  await settle([a, b]);
  assert.deepEqual(await contexts([a, b]), [{}, {}], "A and B after quiescence");
  assert.deepEqual(await freshContext(a, { name }), {}, "a fresh tab after clear()");
  assert.deepEqual(await freshContext(a, { name, crossTab: false }), {}, "storage alone after clear()");
  a.assertNoErrors();
});

test("garbage and foreign messages on the channel are ignored, pollute no prototype, and sync keeps working", T, async (t) => {
  const name = uniqueName("garbage");
  const channel = `session-persist:${name}`;
  const a = await browser.open();
  // G: a tab without a session that listens on the channel (to learn the real
  // message shapes), then posts garbage to A and B.
  const g = await a.newTab();
  await g.eval((channel) => {
    window.captured = [];
    window.ch = new BroadcastChannel(channel);
    ch.onmessage = (e) => captured.push(e.data);
  }, channel);
  const baseline = () => ({
    object: Object.getOwnPropertyNames(Object.prototype).sort(),
    array: Object.getOwnPropertyNames(Array.prototype).sort(),
    fn: Object.getOwnPropertyNames(Function.prototype).sort(),
  });
  const protoBefore = await a.eval(baseline);
  const [, b] = await openTabs(a, 2, { name });
  await a.eval(async () => {
    s.set("k1", { a: [1, 2], b: "x" });
    s.update({ k2: 2, k3: "three" });
    await s.save();
    s.delete("k3");
    await s.share("k4", [true, null]);
    const id = await s.createSnapshot("g");
    s.set("k5", 5);
    await s.restoreSnapshot(id);
    s.set("k6", "after restore");
  });
  await b.eval(() => s.set("k7", "from b"));
  await settle([a, b]);
  const expected = await a.eval(() => s.get());
  assert.deepEqual(await b.eval(() => s.get()), expected, "A and B agree before the garbage");
  const seen = await g.eval(() => captured.length);
  assert.ok(seen > 0, `no message at all on a BroadcastChannel named exactly "${channel}"`);

  // Phase 1: garbage that no reading of the protocol can accept: foreign and
  // malformed messages, and every captured message with one part (or all of it)
  // replaced by something that is not JSON (NaN, BigInt, Date, Map, cycles...).
  const posted = await g.eval(() => {
    const nonJson = () => {
      const cyclic = { a: 1 };
      cyclic.self = cyclic;
      return [NaN, Infinity, -Infinity, 10n, new Date(0), new Map([["k", 1]]), new Set([1]), new ArrayBuffer(8), new Uint8Array([1, 2]), /re/g, new Boolean(false), new String("s"), cyclic, new Error("boom")];
    };
    const deep = {};
    let cur = deep;
    for (let i = 0; i < 2000; i++) cur = cur.d = {};
    const out = [
      null, undefined, 42, "x", "", true, [], {}, { p: "other" }, { p: "other", type: "set", key: "k1", value: 1 },
      { type: 1, keys: "k1", from: 2, values: 3 }, { type: "change", keys: [1, 2], values: null, from: 5 },
      { type: "set", key: { k: 1 }, value: 1, stamp: "late" }, { kind: [], data: {}, tab: null },
      Array.from({ length: 1_000_000 }, (_, i) => i), ["k1", "k2", null, 7], "{".repeat(100_000), "x".repeat(5_000_000),
      deep, ...nonJson(),
    ];
    const paths = (v, path = [], acc = []) => {
      if (v && typeof v === "object") {
        if (path.length) acc.push(path);
        for (const k of Object.keys(v)) paths(v[k], [...path, k], acc);
      } else if (path.length) acc.push(path);
      return acc;
    };
    for (const msg of captured) {
      if (typeof msg === "string") {
        for (const n of [0, 1, Math.floor(msg.length / 2), msg.length - 1]) out.push(msg.slice(0, n));
        out.push(msg + "}garbage", "garbage" + msg);
        continue;
      }
      if (!msg || typeof msg !== "object") continue;
      for (const path of paths(msg).slice(0, 200)) {
        for (const w of nonJson()) {
          const m = structuredClone(msg);
          let o = m;
          for (const k of path.slice(0, -1)) o = o[k];
          o[path.at(-1)] = w;
          out.push(m);
        }
      }
    }
    let skipped = 0;
    for (const m of out) {
      try {
        ch.postMessage(m);
      } catch {
        skipped++; // not structured-cloneable: never reaches anyone
      }
    }
    return { total: out.length, skipped };
  });
  t.diagnostic(`garbage: ${seen} real messages captured, ${posted.total - posted.skipped} malformed messages posted`);
  await sleep(1000);
  await settle([a, b], 300);
  assert.deepEqual(await a.eval(() => s.get()), expected, "A's context after the garbage");
  assert.deepEqual(await b.eval(() => s.get()), expected, "B's context after the garbage");
  a.assertNoErrors();

  // Phase 2: prototype keys ("__proto__", "constructor", "prototype") as own
  // keys at every level of the real messages and as values of their string fields.
  await g.eval(() => {
    const poison = () => JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}, "prototype": {"polluted": "yes"}}');
    const out = [poison(), JSON.parse('{"__proto__": {"polluted": "yes"}}'), JSON.parse('[{"__proto__": {"polluted": "yes"}}]')];
    const objects = (v, acc = []) => {
      if (v && typeof v === "object") {
        acc.push(v);
        for (const k of Object.keys(v)) objects(v[k], acc);
      }
      return acc;
    };
    for (const msg of captured) {
      if (typeof msg === "string") {
        try {
          const parsed = JSON.parse(msg);
          const p = poison();
          for (const o of objects(parsed)) for (const k of Object.keys(p)) Object.defineProperty(o, k, { value: p[k], enumerable: true, writable: true, configurable: true });
          out.push(JSON.stringify(parsed));
        } catch {}
        continue;
      }
      if (!msg || typeof msg !== "object") continue;
      const count = objects(msg).length;
      for (let i = 0; i < Math.min(count, 50); i++) {
        const m = structuredClone(msg);
        const o = objects(m)[i];
        const p = poison();
        for (const k of Object.keys(p)) Object.defineProperty(o, k, { value: p[k], enumerable: true, writable: true, configurable: true });
        out.push(m);
        for (const k of Object.keys(o)) {
          if (typeof o[k] !== "string") continue;
          for (const bad of ["__proto__", "constructor", "prototype"]) {
            const m2 = structuredClone(msg);
            objects(m2)[i][k] = bad;
            out.push(m2);
          }
        }
      }
    }
    for (const m of out) ch.postMessage(m);
  });
  await sleep(1000);
  for (const [label, tab] of [["A", a], ["B", b], ["G", g]]) {
    assert.deepEqual(await tab.eval(baseline), protoBefore, `${label}: Object/Array/Function.prototype own properties unchanged`);
    assert.equal(await tab.eval(() => ({}).polluted ?? [].polluted ?? null), null, `${label}: ({}).polluted`);
  }
  for (const [label, tab] of [["A", a], ["B", b]]) {
    const r = await tab.eval(() => {
      const ctx = s.get();
      const proto = Object.getPrototypeOf(ctx);
      return { plain: proto === Object.prototype || proto === null, polluted: "polluted" in ctx && !Object.hasOwn(ctx, "polluted") };
    });
    assert.deepEqual(r, { plain: true, polluted: false }, `${label}: get() is a plain object with an untouched prototype`);
  }

  // Sync still works both ways.
  const sentAt = await a.eval(() => {
    const t = now();
    s.set("after", { ok: true });
    return t;
  });
  const ch = await waitForChange(b, "after", "B after the garbage");
  assert.equal(ch.source, "tab");
  assert.deepEqual(ch.ctx.after, { ok: true });
  assert.ok(ch.at - sentAt < DELIVERY_MS, `delivered in ${(ch.at - sentAt).toFixed(1)} ms`);
  await b.eval(() => s.set("after2", 2));
  await a.waitFor(() => s.get("after2") === 2, null, { ...WAIT, message: "A has after2 from B" });
  await settle([a, b], 100);
  a.assertNoErrors();
});

test("without BroadcastChannel (deleted before the package loads), live delivery and catch-up go through localStorage", T, async () => {
  const name = uniqueName("nobc");
  const a = await browser.open(FIXTURE, { init: () => delete window.BroadcastChannel });
  assert.equal(await a.eval(() => typeof BroadcastChannel), "undefined", "the init script removed BroadcastChannel");
  const [, b] = await openTabs(a, 2, { name });
  assert.equal(await b.eval(() => typeof BroadcastChannel), "undefined");
  const aTabId = await a.eval(() => s.tabId);

  const sentAt = await a.eval(() => {
    const t = now();
    s.set("k", { via: "storage event" });
    return t;
  });
  const ch = await waitForChange(b, "k", "B after A set (no BroadcastChannel)");
  assert.equal(ch.source, "tab");
  assert.deepEqual(ch.ctx.k, { via: "storage event" });
  assert.ok(ch.at - sentAt < DELIVERY_MS, `delivered in ${(ch.at - sentAt).toFixed(1)} ms`);
  await b.waitFor(() => log.remote.length > 0, null, { ...WAIT, message: "B: remote-change" });
  const remote = (await b.eval(() => log.remote))[0];
  assert.ok(Array.isArray(remote.keys) && remote.keys.includes("k"), `remote-change keys: ${JSON.stringify(remote)}`);
  assert.equal(remote.from, aTabId);
  assert.deepEqual(await a.eval(() => log.remote), [], "A got no remote-change for its own write");

  // Catch-up: a tab with unsaved changes, then a new tab.
  const c = await a.newTab();
  await open(c, { name, saveDebounce: 60_000, autoSaveInterval: 0 });
  await c.eval(() => s.set("late", 1));
  assert.equal(await c.eval(() => s.info().dirty), true);
  const d = await a.newTab();
  const r = await d.eval(async (name) => {
    const s = await sp.openSession({ name });
    return { late: s.get("late"), ctx: s.get() };
  }, name);
  assert.equal(r.late, 1, `the new tab's get("late") right after openSession resolved; its context: ${JSON.stringify(r.ctx)}`);
  a.assertNoErrors();
});

test("without BroadcastChannel, 2 tabs writing 50 times each over 5 keys converge", T, async () => {
  const name = uniqueName("nobc-converge");
  const a = await browser.open(FIXTURE, { init: () => delete window.BroadcastChannel });
  const tabs = await openTabs(a, 2, { name });
  const startAt = Date.now() + 200;
  const written = await Promise.all(
    tabs.map((tab, index) =>
      tab.eval(
        async ({ index, startAt }) => {
          await until(startAt);
          const out = [];
          for (let i = 0; i < 50; i++) {
            const key = `k${Math.floor(Math.random() * 5)}`;
            s.set(key, { tab: index, i });
            out.push([key, `${index}:${i}`]);
            await new Promise((r) => setTimeout(r, Math.random() * 3));
          }
          return out;
        },
        { index, startAt },
      ),
    ),
  );
  await settle(tabs);
  const ctxs = await converged(tabs, 5000);
  assertAllEqual(ctxs, "after quiescence");
  const ok = new Set(written.flat().map(([k, v]) => `${k}=${v}`));
  for (const [k, v] of Object.entries(ctxs[0])) assert.ok(ok.has(`${k}=${v.tab}:${v.i}`), `${k} = ${JSON.stringify(v)} was never written`);
  assert.deepEqual(await freshContext(a, { name }), ctxs[0], "a fresh tab");
  a.assertNoErrors();
});

test("crossTab: false in B: B receives nothing live from A until it reloads", T, async () => {
  const name = uniqueName("nocross");
  const a = await browser.open();
  await open(a, { name });
  const b = await a.newTab();
  await open(b, { name, crossTab: false });
  await a.eval(async () => {
    s.set("k", "from A");
    await s.share("shared", 1);
    s.update({ u: [1] });
    await s.save();
  });
  await sleep(1500);
  const r = await b.eval(() => ({ ctx: s.get(), changes: log.changes.length, remote: log.remote.length }));
  assert.deepEqual(r, { ctx: {}, changes: 0, remote: 0 }, "B's context, subscriber calls and remote-change events");
  await b.reload();
  await open(b, { name, crossTab: false });
  assert.deepEqual(await b.eval(() => s.get()), { k: "from A", shared: 1, u: [1] }, "B after a reload");
  a.assertNoErrors();
});

test("one set in A with 3 tabs open is saved once, by A only", T, async () => {
  const name = uniqueName("onesave");
  const a = await browser.open();
  const tabs = await openTabs(a, 3, { name, saveDebounce: 50 });
  await sleep(500); // whatever opening wrote
  for (const t of tabs) await t.eval(() => (log.saved.length = 0));
  await a.eval(() => s.set("once", { n: 1 }));
  for (const [label, tab] of [["B", tabs[1]], ["C", tabs[2]]]) await tab.waitFor(() => s.get("once")?.n === 1, null, { ...WAIT, message: `${label} has it` });
  await sleep(1000);
  const saved = await Promise.all(tabs.map((t) => t.eval(() => log.saved.length)));
  assert.deepEqual(saved, [1, 0, 0], "saved events in A, B, C");
  assert.deepEqual(await freshContext(a, { name, crossTab: false }), { once: { n: 1 } }, "storage");
  a.assertNoErrors();
});

// Installed in a tab with `tab.eval(interceptPosts)`: while `window.mutating`
// is true, every message the page posts on a BroadcastChannel is first posted
// in broken variants (same fresh stamps, so a receiver that took one could not
// be corrected by the real message that follows): each part, and each subtree,
// replaced by something that is not JSON (NaN, BigInt, Date, Map, a cycle...),
// and each string that is JSON text replaced by text that is not JSON or that
// parses to a non-JSON value ("1e999" is Infinity). Then the real message.
function interceptPosts() {
  const post = BroadcastChannel.prototype.postMessage;
  const nonJson = () => {
    const cyclic = { a: 1 };
    cyclic.self = cyclic;
    return [NaN, Infinity, 10n, new Date(0), new Map([["k", 1]]), new Set([1]), new Uint8Array([1]), /re/, new Boolean(false), cyclic];
  };
  const badText = ["1e999", "-1e999", "{", "NaN", "undefined", "[1,]", "", '{"a":1}garbage'];
  const isJsonText = (x) => {
    try {
      JSON.parse(x);
      return true;
    } catch {
      return false;
    }
  };
  const paths = (v, path = [], acc = []) => {
    if (path.length) acc.push(path);
    if (v && typeof v === "object") for (const k of Object.keys(v)) paths(v[k], [...path, k], acc);
    return acc;
  };
  const withAt = (m, path, w) => {
    const c = structuredClone(m);
    let o = c;
    for (const k of path.slice(0, -1)) o = o[k];
    o[path.at(-1)] = w;
    return c;
  };
  window.variantsPosted = 0;
  window.mutating = false;
  BroadcastChannel.prototype.postMessage = function (m) {
    if (window.mutating && m && typeof m === "object") {
      for (const path of paths(m)) {
        let leaf = m;
        for (const k of path) leaf = leaf[k];
        const ws = [...nonJson(), ...(typeof leaf === "string" && isJsonText(leaf) ? badText : [])];
        for (const w of ws) {
          post.call(this, withAt(m, path, w));
          variantsPosted++;
        }
      }
    }
    return post.call(this, m);
  };
}

// Every value is plain JSON: plain objects, arrays, strings, finite numbers, booleans, null.
function jsonSafe() {
  const bad = [];
  const walk = (v, path) => {
    if (v === null || typeof v === "string" || typeof v === "boolean") return;
    if (typeof v === "number") return void (Number.isFinite(v) || bad.push(`${path} = ${v}`));
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${path}[${i}]`));
    const proto = v && typeof v === "object" ? Object.getPrototypeOf(v) : undefined;
    if (proto !== Object.prototype && proto !== null) return void bad.push(`${path} is ${Object.prototype.toString.call(v)}`);
    for (const k of Object.keys(v)) walk(v[k], `${path}.${k}`);
  };
  walk(s.get(), "ctx");
  return bad;
}

test("broken variants of real messages with fresh stamps (non-JSON values, 1e999) are ignored: the real message wins", T, async () => {
  const name = uniqueName("variants");
  const a = await browser.open();
  const [, b] = await openTabs(a, 2, { name });
  await a.eval(interceptPosts);
  await a.eval(async () => {
    s.update({ k1: "old", gone: 1 });
    await new Promise((r) => setTimeout(r, 50));
    window.mutating = true;
    s.set("probe", { x: 1, arr: [1.5, "s", null, { deep: true }] });
    await new Promise((r) => setTimeout(r, 20));
    s.update({ k1: "new", n: 7, t: "text" });
    await new Promise((r) => setTimeout(r, 20));
    s.delete("gone");
    await new Promise((r) => setTimeout(r, 20));
    window.mutating = false;
  });
  const posted = await a.eval(() => variantsPosted);
  assert.ok(posted > 0, "A posted on a BroadcastChannel");
  await settle([a, b]);
  const expected = { k1: "new", probe: { x: 1, arr: [1.5, "s", null, { deep: true }] }, n: 7, t: "text" };
  assert.deepEqual(await a.eval(() => s.get()), expected, "A");
  assert.deepEqual(await b.eval(jsonSafe), [], "B holds only JSON values");
  assert.deepEqual(await b.eval(() => s.get()), expected, `B after ${posted} broken variants, each followed by the real message`);
  assert.deepEqual(await freshContext(a, { name }), expected, "a fresh tab");
  a.assertNoErrors();
});

test("a broken answer to a new tab's catch-up request does not stop it from taking the real answer", T, async () => {
  const name = uniqueName("hello-variants");
  const a = await browser.open();
  await open(a, { name, saveDebounce: 60_000, autoSaveInterval: 0 });
  await a.eval(interceptPosts);
  await a.eval(() => {
    s.update({ late: 1, other: { x: [1] } });
    window.mutating = true; // only A's answer to the new tab is posted from now on
  });
  const b = await a.newTab();
  const r = await b.eval(async (name) => {
    window.s = await sp.openSession({ name });
    return s.get();
  }, name);
  assert.ok((await a.eval(() => variantsPosted)) > 0, "A answered the new tab");
  assert.deepEqual(await b.eval(jsonSafe), [], "B holds only JSON values");
  assert.deepEqual(r, { late: 1, other: { x: [1] } }, "B's context right after openSession resolved");
  a.assertNoErrors();
});

test("a duplicated tab (window.open copies sessionStorage) gets its own tabId and syncs both ways", T, async () => {
  const name = uniqueName("dup");
  const a = await browser.open();
  await open(a, { name });
  const dup = await a.duplicate();
  await open(dup, { name });
  const [idA, idDup] = [await a.eval(() => s.tabId), await dup.eval(() => s.tabId)];
  assert.notEqual(idDup, idA, "tabId of the duplicate");
  await a.eval(() => s.set("fromA", 1));
  await dup.waitFor(() => s.get("fromA") === 1, null, { ...WAIT, message: "the duplicate has A's write" });
  await dup.eval(() => s.set("fromDup", 2));
  await a.waitFor(() => s.get("fromDup") === 2, null, { ...WAIT, message: "A has the duplicate's write" });
  const remote = await a.eval(() => log.remote.at(-1));
  assert.equal(remote?.from, idDup, "remote-change detail.from in A");
  // Reloading either keeps its own id.
  await dup.reload();
  await open(dup, { name });
  assert.equal(await dup.eval(() => s.tabId), idDup, "the duplicate's tabId after its reload");
  assert.deepEqual(await dup.eval(() => s.get()), { fromA: 1, fromDup: 2 });
  a.assertNoErrors();
});

for (const noBroadcast of [false, true]) {
  const label = `storage "localstorage"${noBroadcast ? " without BroadcastChannel" : ""}`;
  test(`${label}: live delivery, one save per write, and 2 tabs × 50 writes converge`, T, async () => {
    const name = uniqueName(noBroadcast ? "ls-nobc" : "ls");
    const options = { name, storage: "localstorage", saveDebounce: 50 };
    const a = await browser.open(FIXTURE, noBroadcast ? { init: () => delete window.BroadcastChannel } : {});
    const tabs = await openTabs(a, 2, options);
    const [, b] = tabs;
    assert.deepEqual(await Promise.all(tabs.map((t) => t.eval(() => s.info().backend))), ["localstorage", "localstorage"]);
    await sleep(300);
    for (const t of tabs) await t.eval(() => (log.saved.length = 0));

    const sentAt = await a.eval(() => {
      const t = now();
      s.set("k", { v: 1 });
      return t;
    });
    const ch = await waitForChange(b, "k", "B after A set");
    assert.equal(ch.source, "tab");
    assert.deepEqual(ch.ctx.k, { v: 1 });
    assert.ok(ch.at - sentAt < DELIVERY_MS, `delivered in ${(ch.at - sentAt).toFixed(1)} ms`);
    await sleep(1000);
    assert.deepEqual(await Promise.all(tabs.map((t) => t.eval(() => log.saved.length))), [1, 0], "saved events in A, B");

    const startAt = Date.now() + 200;
    const written = await Promise.all(
      tabs.map((tab, index) =>
        tab.eval(
          async ({ index, startAt }) => {
            await until(startAt);
            const out = [];
            for (let i = 0; i < 50; i++) {
              const key = `k${Math.floor(Math.random() * 5)}`;
              s.set(key, { tab: index, i });
              out.push(`${key}=${index}:${i}`);
              await new Promise((r) => setTimeout(r, Math.random() * 3));
            }
            return out;
          },
          { index, startAt },
        ),
      ),
    );
    await settle(tabs);
    const ctxs = await converged(tabs, 5000);
    assertAllEqual(ctxs, "after quiescence");
    const ok = new Set(written.flat());
    for (const [k, v] of Object.entries(ctxs[0])) if (k !== "k") assert.ok(ok.has(`${k}=${v.tab}:${v.i}`), `${k} = ${JSON.stringify(v)} was never written`);
    assert.deepEqual(await freshContext(a, options), ctxs[0], "a fresh tab");
    assert.deepEqual(await freshContext(a, { ...options, crossTab: false }), ctxs[0], "storage alone (a fresh tab with crossTab: false)");
    a.assertNoErrors();
  });
}

// This one forges a message in the wire format documented in src/session/sync.rs
// ({ sp: 1, from, t: "ops", e: [[key, "wall.counter.node", json]] }); it first
// checks that real messages still have that shape, and says so if not.
test("a forged message with the largest possible stamp does not freeze a key: a later write still reaches every tab", T, async () => {
  const name = uniqueName("maxstamp");
  const a = await browser.open();
  const g = await a.newTab(); // no session: watches and forges
  await g.eval((channel) => {
    window.captured = [];
    window.ch = new BroadcastChannel(channel);
    ch.onmessage = (e) => captured.push(e.data);
  }, `session-persist:${name}`);
  const [, b] = await openTabs(a, 2, { name });
  await a.eval(() => s.set("k", "a1"));
  await b.waitFor(() => s.get("k") === "a1", null, { ...WAIT, message: "B has a1" });
  const shape = await g.eval(() => {
    const ops = captured.find((m) => m?.t === "ops");
    return ops && ops.sp === 1 && typeof ops.from === "string" && Array.isArray(ops.e) && ops.e.every((x) => Array.isArray(x) && typeof x[0] === "string" && /^\d+\.\d+\./.test(x[1]) && typeof x[2] === "string");
  });
  assert.ok(shape, "the wire format is no longer { sp: 1, from, t: 'ops', e: [[key, 'wall.counter.node', json]] }: adapt this test");
  // Same protocol fields as the captured real message (sp, v), forged entry.
  await g.eval(() => {
    const real = captured.find((m) => m?.t === "ops");
    ch.postMessage({ ...real, from: "forger", e: [["k", "18446744073709551615.4294967295.~~~~", JSON.stringify("forged")]] });
  });
  await sleep(300);
  await a.eval(() => s.set("k", "a2"));
  await settle([a, b]);
  assert.deepEqual(await contexts([a, b]), [{ k: "a2" }, { k: "a2" }], "A and B after A's set(k, a2) that followed the forged message");
  assert.deepEqual(await freshContext(a, { name }), { k: "a2" }, "a fresh tab");
  a.assertNoErrors();
});
