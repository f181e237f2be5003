// What a user of the package sees, through the built dist/ in real Chromium.
// Each test gets a fresh browser context (empty storage) and its own name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useBrowser, uniqueName } from "./helpers.mjs";

const browser = useBrowser();
const T = { timeout: 60_000 };

// Opens `window.s` in the tab; returns its info().
function open(tab, options) {
  return tab.eval(async (o) => {
    window.s = await sp.openSession(o);
    return s.info();
  }, options);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("default options use IndexedDB and the session id of getOrCreateSessionId", T, async () => {
  const name = uniqueName("default");
  const tab = await browser.open();
  const info = await open(tab, { name });
  assert.equal(info.backend, "indexeddb");
  assert.equal(info.degraded, null);
  const ids = await tab.eval((n) => ({ sessionId: s.sessionId, tabId: s.tabId, expected: sp.getOrCreateSessionId(n) }), name);
  assert.ok(ids.sessionId.length > 0, "sessionId is not empty");
  assert.equal(ids.sessionId, ids.expected);
  assert.equal(info.sessionId, ids.sessionId);
  assert.ok(typeof ids.tabId === "string" && ids.tabId.length > 0, "tabId is a non-empty string");
  assert.equal(info.tabId, ids.tabId);
  tab.assertNoErrors();
});

test("saved values are restored after a reload and restoreCount goes up by one", T, async () => {
  const name = uniqueName("restore");
  const tab = await browser.open();
  const before = await open(tab, { name });
  await tab.eval(async () => {
    s.set("user", { id: 7, tags: ["a", "b"] });
    s.update({ step: 3, draft: "hello" });
    await s.save();
  });
  await tab.reload();
  const after = await open(tab, { name });
  assert.deepEqual(await tab.eval(() => s.get()), { user: { id: 7, tags: ["a", "b"] }, step: 3, draft: "hello" });
  assert.equal(await tab.eval(() => s.get("step")), 3);
  assert.equal(after.restoreCount, before.restoreCount + 1);
  assert.equal(typeof after.lastRestoredAt, "number");
  assert.equal(after.dirty, false);
  tab.assertNoErrors();
});

test("an unsaved change is written on pagehide and survives a reload", T, async () => {
  const name = uniqueName("pagehide");
  const options = { name, saveDebounce: 10_000, autoSaveInterval: 0 };
  const tab = await browser.open();
  await open(tab, options);
  const info = await tab.eval(() => {
    s.set("unsaved", "typed just before reload");
    return s.info();
  });
  assert.equal(info.dirty, true, "nothing saved it before the reload");
  await tab.reload();
  await open(tab, options);
  assert.equal(await tab.eval(() => s.get("unsaved")), "typed just before reload");
  tab.assertNoErrors();
});

test("tabId is kept across a reload, differs in a second tab; sessionId is shared", T, async () => {
  const name = uniqueName("tabs");
  const tab = await browser.open();
  await open(tab, { name });
  const first = await tab.eval(() => ({ sessionId: s.sessionId, tabId: s.tabId }));
  await tab.reload();
  await open(tab, { name });
  const reloaded = await tab.eval(() => ({ sessionId: s.sessionId, tabId: s.tabId }));
  assert.deepEqual(reloaded, first);

  const tab2 = await tab.newTab();
  await open(tab2, { name });
  const second = await tab2.eval(() => ({ sessionId: s.sessionId, tabId: s.tabId }));
  assert.equal(second.sessionId, first.sessionId);
  assert.notEqual(second.tabId, first.tabId);
  tab.assertNoErrors();
});

test("200 updates in one synchronous loop are coalesced into exactly one save", T, async () => {
  const name = uniqueName("coalesce");
  const options = { name, saveDebounce: 50, autoSaveInterval: 0 };
  const tab = await browser.open();
  await open(tab, options);
  await tab.eval(() => {
    window.saves = 0;
    s.on("saved", () => window.saves++);
    for (let i = 0; i < 200; i++) s.update({ counter: i, [`k${i % 5}`]: i });
  });
  await tab.page.waitForFunction(() => window.saves >= 1, null, { timeout: 10_000 });
  await sleep(1000); // long after the debounce: a second write would have happened by now
  assert.equal(await tab.eval(() => window.saves), 1);
  assert.equal(await tab.eval(() => s.info().dirty), false);

  await tab.reload();
  await open(tab, options);
  assert.deepEqual(await tab.eval(() => s.get()), { counter: 199, k0: 195, k1: 196, k2: 197, k3: 198, k4: 199 });
  tab.assertNoErrors();
});

test("snapshots: listed newest first, restore brings back their content, unknown ids fail", T, async () => {
  const name = uniqueName("snapshots");
  const tab = await browser.open();
  await open(tab, { name });
  const r = await tab.eval(async () => {
    s.update({ page: "cart", items: [1, 2] });
    const first = await s.createSnapshot("first");
    s.update({ page: "checkout", items: [1, 2, 3] });
    const second = await s.createSnapshot("second");
    const list = await s.listSnapshots();
    return { first, second, list };
  });
  assert.equal(typeof r.first, "string");
  assert.notEqual(r.first, r.second);
  const manual = r.list.filter((x) => x.source === "manual");
  assert.deepEqual(manual.map((x) => [x.id, x.name]), [[r.second, "second"], [r.first, "first"]]);
  for (const x of manual) {
    assert.equal(typeof x.createdAt, "number");
    assert.ok(x.bytes > 0, "bytes > 0");
  }
  assert.ok(r.list[0].createdAt >= r.list[1].createdAt, "newest first");

  const restored = await tab.eval(async (id) => {
    s.update({ page: "done", items: undefined, paid: true });
    await s.restoreSnapshot(id);
    return { ctx: s.get(), list: await s.listSnapshots() };
  }, r.first);
  assert.deepEqual(restored.ctx, { page: "cart", items: [1, 2] });
  assert.ok(
    restored.list.some((x) => x.source === "pre-restore"),
    `a pre-restore snapshot is listed: ${JSON.stringify(restored.list)}`,
  );

  const afterDelete = await tab.eval(async (id) => {
    await s.deleteSnapshot(id);
    return (await s.listSnapshots()).map((x) => x.id);
  }, r.second);
  assert.ok(!afterDelete.includes(r.second), "deleted snapshot is gone");
  assert.ok(afterDelete.includes(r.first), "the other one is still there");

  const bad = await tab.eval(async () => ({
    restore: await caught(() => s.restoreSnapshot("no-such-snapshot")),
    del: await caught(() => s.deleteSnapshot("no-such-snapshot")),
    ctx: s.get(),
  }));
  assert.equal(bad.restore?.how, "reject");
  assert.equal(bad.restore?.code, "SNAPSHOT_NOT_FOUND");
  assert.equal(bad.del?.how, "reject");
  assert.equal(bad.del?.code, "SNAPSHOT_NOT_FOUND");
  assert.deepEqual(bad.ctx, { page: "cart", items: [1, 2] }, "a failed restore leaves the context alone");
  tab.assertNoErrors();
});

test("storage 'localstorage' is used when asked and survives a reload", T, async () => {
  const name = uniqueName("ls");
  const tab = await browser.open();
  const info = await open(tab, { name, storage: "localstorage" });
  assert.equal(info.backend, "localstorage");
  assert.equal(info.degraded, null);
  await tab.eval(async () => {
    s.set("theme", "dark");
    await s.save();
  });
  await tab.reload();
  await open(tab, { name, storage: "localstorage" });
  assert.equal(await tab.eval(() => s.get("theme")), "dark");
  tab.assertNoErrors();
});

test("storage 'memory' is used when asked and keeps nothing across a reload", T, async () => {
  const name = uniqueName("mem");
  const tab = await browser.open();
  const info = await open(tab, { name, storage: "memory" });
  assert.equal(info.backend, "memory");
  assert.equal(info.degraded, null);
  await tab.eval(async () => {
    s.set("theme", "dark");
    await s.save();
  });
  assert.equal(await tab.eval(() => s.get("theme")), "dark");
  await tab.reload();
  await open(tab, { name, storage: "memory" });
  assert.deepEqual(await tab.eval(() => s.get()), {});
  tab.assertNoErrors();
});

test("rejected values throw NOT_SERIALIZABLE / TOO_LARGE and change neither context nor storage", T, async () => {
  const name = uniqueName("errors");
  const options = { name, maxContextBytes: 1000 };
  const tab = await browser.open();
  await open(tab, options);
  const good = { a: 1, nested: { ok: true } };
  await tab.eval(async (g) => {
    s.update(g);
    await s.save();
  }, good);

  const r = await tab.eval(() => {
    const out = {};
    const check = (label, fn) => {
      out[label] = { error: caught(fn), ctx: s.get(), dirty: s.info().dirty };
    };
    check("function", () => s.set("f", () => 1));
    const cyclic = { name: "loop" };
    cyclic.self = cyclic;
    check("cyclic", () => s.set("c", cyclic));
    check("mixedPatch", () => s.update({ a: 2, f: () => 1 }));
    check("tooLarge", () => s.set("big", "x".repeat(2000)));
    return out;
  });
  const expected = { function: "NOT_SERIALIZABLE", cyclic: "NOT_SERIALIZABLE", mixedPatch: "NOT_SERIALIZABLE", tooLarge: "TOO_LARGE" };
  for (const [label, code] of Object.entries(expected)) {
    assert.equal(r[label].error?.how, "throw", `${label}: throws synchronously`);
    assert.equal(r[label].error?.isError, true, `${label}: an Error object`);
    assert.equal(r[label].error?.code, code, `${label}: code`);
    assert.ok(r[label].error?.message.length > 0, `${label}: has a message`);
    assert.deepEqual(r[label].ctx, good, `${label}: context unchanged`);
    assert.equal(r[label].dirty, false, `${label}: nothing pending`);
  }

  await tab.eval(() => s.save());
  await tab.reload();
  await open(tab, options);
  assert.deepEqual(await tab.eval(() => s.get()), good, "storage unchanged");
  tab.assertNoErrors();
});

test("after close(), update throws CLOSED and save rejects with CLOSED", T, async () => {
  const name = uniqueName("closed");
  const tab = await browser.open();
  await open(tab, { name });
  const r = await tab.eval(async () => {
    s.set("kept", true);
    await s.close();
    return {
      update: caught(() => s.update({ x: 1 })),
      save: await caught(() => s.save()),
    };
  });
  assert.equal(r.update?.how, "throw");
  assert.equal(r.update?.code, "CLOSED");
  assert.equal(r.save?.how, "reject");
  assert.equal(r.save?.code, "CLOSED");

  await tab.reload();
  await open(tab, { name });
  assert.equal(await tab.eval(() => s.get("kept")), true, "close() saved what was pending");
  tab.assertNoErrors();
});

test("clear() empties the context and the snapshot list, also after a reload", T, async () => {
  const name = uniqueName("clear");
  const tab = await browser.open();
  await open(tab, { name });
  const r = await tab.eval(async () => {
    s.update({ a: 1, b: [2] });
    await s.save();
    await s.createSnapshot("before clear");
    await s.clear();
    return { ctx: s.get(), list: await s.listSnapshots() };
  });
  assert.deepEqual(r.ctx, {});
  assert.deepEqual(r.list, []);

  await tab.reload();
  await open(tab, { name });
  const after = await tab.eval(async () => ({ ctx: s.get(), list: await s.listSnapshots() }));
  assert.deepEqual(after.ctx, {});
  assert.deepEqual(after.list, []);
  tab.assertNoErrors();
});
