// Fault injection, end to end: what a user keeps when storage is damaged,
// full, missing, slow, dropped, written by another schema version, when the
// browser is killed, and when the app passes bad input. Through the built
// dist/ in real Chromium; each test has a fresh browser context and its own
// name.
//
// Every case must end with the last saved context or an earlier saved version
// of it, an event saying which, and no uncaught error or page error. At the
// end the suite prints one line per group and a total, e.g.
//   faults/backup: 5 cases, 5 ended with saved data or an earlier version
//   faults: 96 cases, 96 ended with saved data or an earlier version
//
// In the page (faults-helpers.mjs): `raw` reads and writes storage behind the
// package's back, `openS(options)` opens `window.s` recording every event in
// `window.events` ({ event, detail }) and `window.onEvents` (the same through
// `on()` handlers added right after open), `caught(fn)` describes a failure.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { useBrowser, uniqueName, FIXTURE } from "./helpers.mjs";
import * as F from "./faults-helpers.mjs";

const browser = useBrowser();
const T = { timeout: 90_000 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ summary

const results = []; // { group, title, ok }
const observations = []; // what was seen where the contract allows either outcome

function record(group, title) {
  const r = { group, title, ok: false };
  results.push(r);
  return r;
}

/** One case: a test of its own. */
function fcase(group, title, fn, opts = {}) {
  test(`${group}: ${title}`, { ...T, ...opts }, async (t) => {
    const r = record(group, title);
    await fn(t);
    r.ok = true;
  });
}

/**
 * A test whose cases are subtests: `sub(title, fn)` queues a case; the queued
 * cases run (as assertions on what the page work recorded) after `fn`
 * returns, since the browser contexts are closed after every test, subtests
 * included. A failure before any case was queued counts as one failed case.
 */
function fgroup(group, title, fn, opts = {}) {
  test(`${group}: ${title}`, { ...T, ...opts }, async (t) => {
    const queued = [];
    const sub = (title, fn) => queued.push([title, fn]);
    let failure;
    try {
      await fn(t, sub);
    } catch (e) {
      failure = e;
      if (queued.length === 0) record(group, `${title} (setup)`);
    }
    for (const [title, fn] of queued) {
      const r = record(group, title);
      await t.test(title, async (st) => {
        await fn(st);
        r.ok = true;
      });
    }
    if (failure) throw failure;
  });
}

function observe(what) {
  observations.push(what);
}

after(() => {
  const groups = [...new Set(results.map((r) => r.group))];
  const line = (label, rs) => {
    const ok = rs.filter((r) => r.ok).length;
    const failed = rs.filter((r) => !r.ok).map((r) => r.title);
    return `${label}: ${rs.length} cases, ${ok} ended with saved data or an earlier version` + (failed.length ? `; ${failed.length} did not: ${failed.join(" | ")}` : "");
  };
  const lines = groups.map((g) => line(`faults/${g}`, results.filter((r) => r.group === g)));
  lines.push(line("faults", results));
  for (const o of observations) lines.push(`faults: observed: ${o}`);
  console.log(lines.join("\n"));
});

// ------------------------------------------------------------------ helpers

/** A fresh browser context with one fixture tab; `faults` are init scripts run after `raw`. */
function openTab(...faults) {
  return browser.open(FIXTURE, { init: [F.rawStoragePage, ...faults] });
}

/** openS in the tab: `{ ok, info?, ctx?, error?, events, ms }`. */
function openS(tab, options, extra = {}) {
  return tab.eval(([o, x]) => openS(o, x), [options, extra]);
}

/** openS that must succeed. */
async function mustOpen(tab, options, extra) {
  const r = await openS(tab, options, extra);
  assert.ok(r.ok, `openSession(${JSON.stringify(options)}) rejected: ${JSON.stringify(r.error)}`);
  return r;
}

const named = (r, event) => r.events.filter((e) => e.event === event);

/** Saves each patch in turn (update + save) in a session of `options`, then closes it. */
function saveVersions(tab, options, patches) {
  return tab.eval(
    async ([o, ps]) => {
      const r = await openS(o);
      if (!r.ok) throw new Error(`openSession rejected: ${JSON.stringify(r.error)}`);
      for (const p of ps) {
        s.update(p);
        await s.save();
      }
      await s.close();
    },
    [options, patches],
  );
}

/** A `recovered` event saying the backup of `bak` (a stored record) was loaded. */
function assertRecoveredFrom(r, bak, what) {
  const rec = named(r, "recovered");
  assert.equal(rec.length, 1, `${what}: exactly one recovered event (events: ${JSON.stringify(r.events)})`);
  const d = rec[0].detail ?? {};
  assert.equal(d.from, "backup", `${what}: recovered.from`);
  assert.equal(d.revision, bak.rev, `${what}: recovered.revision is the revision of the backup loaded`);
  assert.equal(d.savedAt, bak.at, `${what}: recovered.savedAt is when that backup was saved`);
  assert.ok(typeof d.reason === "string" && d.reason.length > 0, `${what}: recovered.reason is a non-empty string: ${JSON.stringify(d.reason)}`);
  assert.equal(r.info.recoveredFromBackup, true, `${what}: info().recoveredFromBackup`);
}

/** Everything lost: a `recovered` event with lost: true, or an `error` event. */
function assertLossReported(r, what) {
  const lost = named(r, "recovered").filter((e) => e.detail?.lost === true);
  const errors = named(r, "error");
  assert.ok(lost.length + errors.length > 0, `${what}: a recovered event with lost: true or an error event (events: ${JSON.stringify(r.events)})`);
}

/** The last saved context was loaded as it is: a `restored` event from storage, no `recovered`. */
function assertRestored(r, what) {
  const restored = named(r, "restored").filter((e) => e.detail?.source === "storage");
  assert.equal(restored.length, 1, `${what}: one restored event with source "storage" (events: ${JSON.stringify(r.events)})`);
  assert.deepEqual(named(r, "recovered"), [], `${what}: no recovered event`);
  assert.equal(r.info.recoveredFromBackup, false, `${what}: recoveredFromBackup is false`);
}

const version = (i) => ({ step: i, text: `v${i}` });

// Errors of this tab since `from` (page errors arrive a little after the fact).
async function errorsSince(tab, from) {
  await sleep(50);
  return tab.errors.slice(from);
}

// ================================================================== 1, 2: damaged primary, backups

fcase("backup", "IndexedDB: a damaged ctx is kept as ctx.damaged and the previous saved version (newest valid backup) is loaded", async () => {
  const name = uniqueName("bak-idb");
  const tab = await openTab();
  await saveVersions(tab, { name }, [version(1), version(2), { ...version(3), only3: true }]);
  const before = await tab.eval(async (n) => {
    const all = await raw.all(n);
    const tampered = raw.tamper(all.ctx);
    await raw.put(n, "ctx", tampered);
    const baks = Object.entries(all)
      .filter(([k]) => k.startsWith("bak:"))
      .map(([k, v]) => ({ key: k, rev: v.rev, at: v.at, ctx: raw.decode(v)?.ctx }));
    return { tampered, baks };
  }, name);
  const v2 = before.baks.find((b) => b.ctx?.text === "v2");
  assert.ok(v2, `the backups hold the previous saved version v2: ${JSON.stringify(before.baks)}`);

  await tab.reload();
  const r = await mustOpen(tab, { name });
  assert.deepEqual(r.ctx, version(2), "the context is v2, the previous saved version");
  assertRecoveredFrom(r, v2, "reopen");
  await sleep(0);
  const onEvents = await tab.eval(() => onEvents.filter((e) => e.event === "recovered").length);
  assert.equal(onEvents, 1, "the recovered event is replayed to an on() handler added right after openSession resolves");
  assert.deepEqual(await tab.eval((n) => raw.get(n, "ctx.damaged"), name), before.tampered, "the damaged record is kept as ctx.damaged");

  // The next save makes storage whole again: a reload loads normally.
  await tab.eval(async () => {
    s.set("after", true);
    await s.save();
  });
  await tab.reload();
  const r2 = await mustOpen(tab, { name });
  assert.deepEqual(r2.ctx, { ...version(2), after: true });
  assertRestored(r2, "after the next save, a reload");
  tab.assertNoErrors();
});

fcase("backup", "localStorage backend: a damaged ctx is kept as ctx.damaged and the previous saved version is loaded", async () => {
  const name = uniqueName("bak-ls");
  const options = { name, storage: "localstorage" };
  const tab = await openTab();
  await saveVersions(tab, options, [version(1), version(2), { ...version(3), only3: true }]);
  const before = await tab.eval((n) => {
    const all = raw.ls(n);
    const tampered = raw.tamper(JSON.parse(all.ctx));
    raw.lsSet(n, "ctx", JSON.stringify(tampered));
    const baks = Object.entries(all)
      .filter(([k]) => k.startsWith("bak:"))
      .map(([k, v]) => ({ key: k, rev: JSON.parse(v).rev, at: JSON.parse(v).at, ctx: raw.decode(v)?.ctx }));
    return { tampered, baks };
  }, name);
  const v2 = before.baks.find((b) => b.ctx?.text === "v2");
  assert.ok(v2, `the localStorage backups hold the previous saved version v2: ${JSON.stringify(before.baks)}`);

  await tab.reload();
  const r = await mustOpen(tab, options);
  assert.equal(r.info.backend, "localstorage");
  assert.deepEqual(r.ctx, version(2), "the context is v2, the previous saved version");
  assertRecoveredFrom(r, v2, "reopen");
  const damaged = await tab.eval((n) => raw.lsGet(n, "ctx.damaged"), name);
  assert.ok(damaged, "the damaged record is kept as ctx.damaged");
  assert.deepEqual(JSON.parse(damaged), before.tampered, "ctx.damaged is the damaged record");

  await tab.eval(async () => {
    s.set("after", true);
    await s.save();
  });
  await tab.reload();
  const r2 = await mustOpen(tab, options);
  assert.deepEqual(r2.ctx, { ...version(2), after: true });
  assertRestored(r2, "after the next save, a reload");
  tab.assertNoErrors();
});

fcase("backup", "after a recovery, a reload with no save in between still loads the recovered version (twice)", async () => {
  const name = uniqueName("bak-twice");
  const tab = await openTab();
  await saveVersions(tab, { name }, [version(1), version(2), version(3)]);
  await tab.eval(async (n) => raw.put(n, "ctx", raw.tamper(await raw.get(n, "ctx"))), name);
  await tab.reload();
  const r = await mustOpen(tab, { name });
  assert.deepEqual(r.ctx, version(2));
  for (const i of [1, 2]) {
    await tab.reload(); // no change, no save
    const again = await mustOpen(tab, { name });
    assert.deepEqual(again.ctx, version(2), `reload ${i} without a save: still v2, not an empty context (events: ${JSON.stringify(again.events)})`);
    const said = named(again, "restored").length + named(again, "recovered").length;
    assert.ok(said > 0, `reload ${i}: a restored or recovered event says what was loaded: ${JSON.stringify(again.events)}`);
  }
  tab.assertNoErrors();
});

fcase("backup", "a damaged ctx while every put throws QuotaExceededError: the backup still loads; once puts work, saves do", async () => {
  const name = uniqueName("bak-quota");
  const tab = await openTab(F.putFailsOnFlag);
  await saveVersions(tab, { name }, [version(1), version(2), version(3)]);
  const v2 = await tab.eval(async (n) => {
    const all = await raw.all(n);
    await raw.put(n, "ctx", raw.tamper(all.ctx));
    const b = Object.values(all).find((v) => raw.decode(v)?.ctx.text === "v2");
    return { rev: b.rev, at: b.at };
  }, name);
  await tab.reload();
  await tab.eval(() => (window.failPut = true));
  const r = await mustOpen(tab, { name });
  assert.deepEqual(r.ctx, version(2), `the backup loads although nothing can be written (events: ${JSON.stringify(r.events)})`);
  assertRecoveredFrom(r, v2, "reopen with failing puts");
  await sleep(300);
  assert.deepEqual(tab.errors, [], `no page error while opening (putFailures: ${await tab.eval(() => putFailures)})`);
  const saved = await tab.eval(async () => {
    window.failPut = false;
    s.set("after", true);
    return caught(() => s.save());
  });
  assert.equal(saved, null, "save() works once puts do");
  assert.deepEqual((await tab.eval((n) => raw.stored(n), name))?.ctx, { ...version(2), after: true });
  tab.assertNoErrors();
});

fcase("backup", "the newest *valid* backup is used: ctx and the v2 backup damaged -> v1", async () => {
  const name = uniqueName("bak-skip");
  const tab = await openTab();
  await saveVersions(tab, { name }, [version(1), version(2), version(3)]);
  const v1 = await tab.eval(async (n) => {
    const all = await raw.all(n);
    await raw.put(n, "ctx", raw.tamper(all.ctx));
    let v1;
    for (const [k, v] of Object.entries(all)) {
      if (!k.startsWith("bak:")) continue;
      const d = raw.decode(v);
      if (d?.ctx.text === "v2") await raw.put(n, k, raw.tamper(v));
      if (d?.ctx.text === "v1") v1 = { rev: v.rev, at: v.at };
    }
    return v1;
  }, name);
  assert.ok(v1, "v1 is among the backups");
  await tab.reload();
  const r = await mustOpen(tab, { name });
  assert.deepEqual(r.ctx, version(1));
  assertRecoveredFrom(r, v1, "reopen");
  tab.assertNoErrors();
});

fcase("backup", "everything damaged (ctx and every bak:*): empty context, loss reported, openSession resolves, and the session works", async () => {
  const name = uniqueName("bak-all");
  const tab = await openTab();
  await saveVersions(tab, { name }, [version(1), version(2), version(3)]);
  const damaged = await tab.eval(async (n) => {
    const all = await raw.all(n);
    const keys = Object.keys(all).filter((k) => k === "ctx" || k.startsWith("bak:"));
    for (const k of keys) await raw.put(n, k, raw.tamper(all[k]));
    return keys;
  }, name);
  assert.ok(damaged.length >= 3, `ctx and at least two backups damaged: ${damaged}`);
  await tab.reload();
  const r = await mustOpen(tab, { name });
  assert.deepEqual(r.ctx, {});
  assertLossReported(r, "reopen");
  assert.equal(r.info.recoveredFromBackup, false, "nothing was recovered from a backup");

  await tab.eval(async () => {
    s.set("fresh", 1);
    await s.save();
  });
  await tab.reload();
  const r2 = await mustOpen(tab, { name });
  assert.deepEqual(r2.ctx, { fresh: 1 }, "a session that lost everything saves and reloads normally");
  assertRestored(r2, "reload after the loss");
  tab.assertNoErrors();
});

// ================================================================== 4: backup count

async function bakKeysAfter(options, saves) {
  const tab = await openTab();
  await saveVersions(tab, options, Array.from({ length: saves }, (_, i) => version(i + 1)));
  const baks = await tab.eval(async (o) => {
    if (o.storage === "localstorage") {
      return Object.entries(raw.ls(o.name))
        .filter(([k]) => k.startsWith("bak:"))
        .map(([k, v]) => ({ key: k, text: raw.decode(v)?.ctx.text }));
    }
    const all = await raw.all(o.name);
    return Object.entries(all)
      .filter(([k]) => k.startsWith("bak:"))
      .map(([k, v]) => ({ key: k, text: raw.decode(v)?.ctx.text }));
  }, options);
  return { tab, baks };
}

fcase("backups", "backups: 0 keeps no bak:* record; a damaged ctx is then a reported loss", async () => {
  const name = uniqueName("bak0");
  const { tab, baks } = await bakKeysAfter({ name, backups: 0 }, 5);
  assert.deepEqual(baks, [], "no bak:* records");
  await tab.eval(async (n) => raw.put(n, "ctx", raw.tamper(await raw.get(n, "ctx"))), name);
  await tab.reload();
  const r = await mustOpen(tab, { name, backups: 0 });
  assert.deepEqual(r.ctx, {});
  assertLossReported(r, "reopen");
  tab.assertNoErrors();
});

fcase("backups", "backups: 2 keeps exactly 2 after 5 saves (v3, v4), and a damaged ctx loads v4", async () => {
  const name = uniqueName("bak2");
  const { tab, baks } = await bakKeysAfter({ name, backups: 2 }, 5);
  assert.equal(baks.length, 2, `exactly 2 bak:* records: ${JSON.stringify(baks)}`);
  assert.deepEqual(baks.map((b) => b.text).sort(), ["v3", "v4"], "they are the two previous saved versions");
  const v4 = await tab.eval(async (n) => {
    const all = await raw.all(n);
    await raw.put(n, "ctx", raw.tamper(all.ctx));
    const b = Object.entries(all).find(([k, v]) => k.startsWith("bak:") && raw.decode(v)?.ctx.text === "v4")[1];
    return { rev: b.rev, at: b.at };
  }, name);
  await tab.reload();
  const r = await mustOpen(tab, { name, backups: 2 });
  assert.deepEqual(r.ctx, version(4));
  assertRecoveredFrom(r, v4, "reopen");
  tab.assertNoErrors();
});

fcase("backups", "default keeps exactly 5 after 8 saves: v3..v7", async () => {
  const name = uniqueName("bak5");
  const { tab, baks } = await bakKeysAfter({ name }, 8);
  assert.equal(baks.length, 5, `exactly 5 bak:* records: ${JSON.stringify(baks)}`);
  assert.deepEqual(baks.map((b) => b.text).sort(), ["v3", "v4", "v5", "v6", "v7"]);
  tab.assertNoErrors();
});

fcase("backups", "localStorage backend, backups: 2 keeps exactly 2 after 5 saves; backups: 0 keeps none", async () => {
  const name = uniqueName("bak2-ls");
  const { tab, baks } = await bakKeysAfter({ name, storage: "localstorage", backups: 2 }, 5);
  assert.equal(baks.length, 2, `exactly 2 bak:* entries: ${JSON.stringify(baks)}`);
  assert.deepEqual(baks.map((b) => b.text).sort(), ["v3", "v4"]);
  const name0 = uniqueName("bak0-ls");
  const zero = await bakKeysAfter({ name: name0, storage: "localstorage", backups: 0 }, 5);
  assert.deepEqual(zero.baks, [], "backups: 0: no bak:* entries");
  tab.assertNoErrors();
  zero.tab.assertNoErrors();
});

// ================================================================== 3: garbage in ctx

// Page side: GARBAGE[label](storedCtxRecord) -> what to store as ctx in IndexedDB;
// LS_GARBAGE[label](storedCtxText) -> the text to store in localStorage.
function garbagePage() {
  const huge = () => "x".repeat(4 * 1024 * 1024);
  const edit = (f) => (rec) => {
    const c = structuredClone(rec);
    f(c);
    return c;
  };
  window.GARBAGE = {
    "the number 42": () => 42,
    "a string": () => "ctx",
    null: () => null,
    true: () => true,
    "an empty array": () => [],
    "an array holding the record": (rec) => [rec],
    "a Date": () => new Date(0),
    "a Uint8Array": () => new Uint8Array([1, 2, 3]),
    "a Blob": () => new Blob(["{}"]),
    "an empty object": () => ({}),
    "only { f: 1 }": () => ({ f: 1 }),
    "sum missing": edit((c) => delete c.sum),
    "keys missing": edit((c) => delete c.keys),
    "vals missing": edit((c) => delete c.vals),
    "stamps missing": edit((c) => delete c.stamps),
    "rev missing": edit((c) => delete c.rev),
    'rev is the string "3"': edit((c) => (c.rev = String(c.rev))),
    "rev is -1": edit((c) => (c.rev = -1)),
    "rev is NaN": edit((c) => (c.rev = NaN)),
    "rev is 1e999 (Infinity)": edit((c) => (c.rev = 1e999)),
    "at is null": edit((c) => (c.at = null)),
    'f is "1"': edit((c) => (c.f = "1")),
    "keys is a string": edit((c) => (c.keys = "text")),
    "vals is an object": edit((c) => (c.vals = {})),
    "stamps are numbers": edit((c) => (c.stamps = c.stamps.map((_, i) => i))),
    "a key is a number": edit((c) => (c.keys[0] = 5)),
    "a value text is a number, not text": edit((c) => (c.vals[0] = 5)),
    "keys longer than vals": edit((c) => c.keys.push("extra")),
    "vals longer than keys": edit((c) => c.vals.push('"extra"')),
    "stamps shorter than keys": edit((c) => c.stamps.pop()),
    "a value text that is not JSON": edit((c) => (c.vals[0] = "{not json")),
    "a value text 1e999": edit((c) => (c.vals[0] = "1e999")),
    "a stamp that is not a stamp": edit((c) => (c.stamps[0] = "x.y.z")),
    "rev incremented (plausible, but not what was saved)": edit((c) => (c.rev += 1)),
    "at moved by 1 ms": edit((c) => (c.at += 1)),
    "schema changed to 5": edit((c) => (c.schema = 5)),
    "a key renamed": edit((c) => (c.keys[0] = c.keys[0] + "x")),
    "a stamp's time edited": edit((c) => (c.stamps[0] = c.stamps[0].replace(/^\d/, (d) => String((Number(d) + 1) % 10)))),
    "sum that is not hex": edit((c) => (c.sum = "zz")),
    "a huge value text (4 MiB)": edit((c) => (c.vals[0] = JSON.stringify(huge()))),
    "a huge string instead of the record (4 MiB)": huge,
    "100000 keys": edit((c) => {
      c.keys = Array.from({ length: 100000 }, (_, i) => `k${i}`);
      c.stamps = c.keys.map(() => c.stamps[0]);
      c.vals = c.keys.map(() => "1");
    }),
    "a __proto__ key": edit((c) => {
      c.keys[0] = "__proto__";
      c.vals[0] = '{"polluted":true}';
    }),
    "duplicate keys": edit((c) => {
      c.keys = [c.keys[0], c.keys[0]];
      c.stamps = [c.stamps[0], c.stamps[0]];
      c.vals = [c.vals[0], '"dup"'];
    }),
  };
  window.LS_GARBAGE = {
    "text that is not JSON": () => "not json{",
    "the empty string": () => "",
    '"null"': () => "null",
    '"42"': () => "42",
    '"[]"': () => "[]",
    '"{}"': () => "{}",
    "a JSON string": () => '"ctx"',
    '{"f":1}': () => '{"f":1}',
    "a tampered value": (text) => JSON.stringify(raw.tamper(JSON.parse(text))),
    "truncated JSON (torn write)": (text) => text.slice(0, Math.floor(text.length / 2)),
    "keys longer than vals": (text) => {
      const c = JSON.parse(text);
      c.keys.push("extra");
      return JSON.stringify(c);
    },
    "a value text 1e999": (text) => {
      const c = JSON.parse(text);
      c.vals[0] = "1e999";
      return JSON.stringify(c);
    },
    "rev 1e999 in the JSON text": (text) => text.replace(/"rev":\d+/, '"rev":1e999'),
    "a huge text (2M chars)": () => '"' + "x".repeat(2_000_000) + '"',
  };
}

const G1 = { g: 1, text: "v1" };
const G2 = { g: 2, text: "v2" };

async function garbageGroup(t, sub, backend) {
  const ls = backend === "localstorage";
  const tab = await openTab(garbagePage);
  const labels = await tab.eval((ls) => Object.keys(ls ? LS_GARBAGE : GARBAGE), ls);
  const base = uniqueName(ls ? "garbage-ls" : "garbage");
  const opts = (i) => (ls ? { name: `${base}-${i}`, storage: "localstorage" } : { name: `${base}-${i}` });
  // Set up every name (v1 then v2 saved, so v1 is a backup), then put the garbage in ctx.
  const setup = await tab.eval(
    async ([labels, base, ls]) => {
      const out = [];
      for (const [i, label] of labels.entries()) {
        const o = ls ? { name: `${base}-${i}`, storage: "localstorage" } : { name: `${base}-${i}` };
        const r = await openS(o);
        if (!r.ok) throw new Error(`setup open: ${JSON.stringify(r.error)}`);
        s.update({ g: 1, text: "v1" });
        await s.save();
        s.update({ g: 2, text: "v2" });
        await s.save();
        await s.close();
        let v1;
        if (ls) {
          const all = raw.ls(o.name);
          for (const [k, v] of Object.entries(all)) if (k.startsWith("bak:") && raw.decode(v)?.ctx.text === "v1") v1 = JSON.parse(v);
          raw.lsSet(o.name, "ctx", LS_GARBAGE[label](all.ctx));
        } else {
          const all = await raw.all(o.name);
          for (const [k, v] of Object.entries(all)) if (k.startsWith("bak:") && raw.decode(v)?.ctx.text === "v1") v1 = v;
          await raw.put(o.name, "ctx", GARBAGE[label](all.ctx));
        }
        out.push(v1 ? { rev: v1.rev, at: v1.at } : null);
      }
      return out;
    },
    [labels, base, ls],
  );
  await tab.reload();
  for (const [i, label] of labels.entries()) {
    const from = tab.errors.length;
    const r = await tab.eval(async (o) => {
      const r = await openS(o);
      const polluted = {}.polluted;
      if (r.ok) await s.close().catch(() => {});
      // Events can be large (a huge record in a reason): keep them short.
      r.events = r.events.map((e) => ({ event: e.event, detail: JSON.parse(JSON.stringify(e.detail ?? null, (k, v) => (typeof v === "string" && v.length > 300 ? v.slice(0, 300) + "…" : v))) }));
      return { ...r, polluted };
    }, opts(i));
    const errors = await errorsSince(tab, from);
    sub(`${ls ? "localStorage" : "IndexedDB"} ctx = ${label}: no throw, backup v1 loaded`, () => {
      assert.ok(r.ok, `openSession rejected: ${JSON.stringify(r.error)}`);
      assert.deepEqual(errors, [], "no page error or console error");
      assert.equal(r.polluted, undefined, "Object.prototype untouched");
      assert.ok(setup[i], "setup: v1 was among the backups");
      assert.deepEqual(r.ctx, G1, `the context is the backup v1 (events: ${JSON.stringify(r.events)})`);
      assertRecoveredFrom(r, setup[i], label);
    });
  }
  void G2;
}

fgroup("garbage", "garbage of every shape in the IndexedDB ctx record", (t, sub) => garbageGroup(t, sub, "indexeddb"), { timeout: 240_000 });
fgroup("garbage", "garbage of every shape in the localStorage ctx entry", (t, sub) => garbageGroup(t, sub, "localstorage"), { timeout: 180_000 });

// A save is a read-merge-write: the record it reads may be damaged too.
const SAVE_TIME_GARBAGE = ["tampered", "the number 42", "a string", "null", "an empty object", "keys longer than vals", "a huge string instead of the record (4 MiB)"];

fgroup("garbage", "garbage in ctx found by a save of an open session (read-merge-write)", async (t, sub) => {
  const tab = await openTab(garbagePage);
  const base = uniqueName("garbage-save");
  const out = await tab.eval(
    async ([labels, base]) => {
      const out = [];
      for (const [i, label] of labels.entries()) {
        const name = `${base}-${i}`;
        await openS({ name });
        s.update({ g: 1, text: "v1" });
        await s.save();
        const rec = await raw.get(name, "ctx");
        await raw.put(name, "ctx", label === "tampered" ? raw.tamper(rec) : GARBAGE[label](rec));
        s.update({ g: 2, text: "v2" });
        const save = await caught(() => s.save());
        await s.close().catch(() => {});
        out.push({ save, polluted: {}.polluted });
      }
      return out;
    },
    [SAVE_TIME_GARBAGE, base],
  );
  await tab.reload();
  for (const [i, label] of SAVE_TIME_GARBAGE.entries()) {
    const from = tab.errors.length;
    const r = await tab.eval(async (name) => {
      const r = await openS({ name });
      if (r.ok) await s.close().catch(() => {});
      return r;
    }, `${base}-${i}`);
    const errors = await errorsSince(tab, from);
    sub(`ctx = ${label} when a save reads it: save() resolves and the reload has what it saved`, () => {
      assert.equal(out[i].save, null, "save() resolves");
      assert.equal(out[i].polluted, undefined);
      assert.ok(r.ok, `reopen: ${JSON.stringify(r.error)}`);
      assert.deepEqual(r.ctx, G2, `the last saved context (events: ${JSON.stringify(r.events)})`);
      assertRestored(r, "reopen");
      assert.deepEqual(errors, [], "no page error");
    });
  }
});

// Garbage in the other records of a name: meta, the backup index, the snapshot
// index, leave journals. Opening must still load the last saved context, and
// later saves must work.
const OTHER_GARBAGE = {
  "meta = 42": ["idb", "meta", "42"],
  'meta = "x"': ["idb", "meta", '"x"'],
  "meta = null": ["idb", "meta", "null"],
  "meta with fields of the wrong types": ["idb", "meta", '{"restoreCount":"many","lastRestoredAt":"yesterday"}'],
  'bakidx = { next: "x" }': ["idb", "bakidx", '{"next":"x"}'],
  "bakidx = { next: -1 }": ["idb", "bakidx", '{"next":-1}'],
  "bakidx = { next: 1e9 }": ["idb", "bakidx", '{"next":1000000000}'],
  "bakidx = { next: 2.5 }": ["idb", "bakidx", '{"next":2.5}'],
  "bakidx = 42": ["idb", "bakidx", "42"],
  "snapidx = 42": ["idb", "snapidx", "42"],
  'snapidx = "x"': ["idb", "snapidx", '"x"'],
  "snapidx = [{ id: 5 }]": ["idb", "snapidx", '[{"id":5}]'],
  "an IndexedDB leave journal = 42": ["idb", "tab:tforged", "42"],
  "an IndexedDB leave journal = {}": ["idb", "tab:tforged", "{}"],
  'a localStorage leave journal = "not json"': ["ls", "tab:tforged", "not json"],
  "a localStorage leave journal = 42": ["ls", "tab:tforged", "42"],
  "a localStorage leave journal = []": ["ls", "tab:tforged", "[]"],
  "a localStorage leave journal with mismatched lists": ["ls", "tab:tforged", '{"f":1,"schema":0,"rev":1,"at":1,"sum":"0","keys":["evil","more"],"stamps":[],"vals":["1"]}'],
  "a localStorage leave journal that fails its checksum (a winning stamp)": ["ls", "tab:tforged", "FORGED"],
};

fgroup("garbage", "garbage in meta, bakidx, snapidx and leave journals", async (t, sub) => {
  const tab = await openTab();
  const base = uniqueName("garbage-other");
  const labels = Object.keys(OTHER_GARBAGE);
  await tab.eval(
    async ([entries, base]) => {
      for (const [i, [, [where, key, text]]] of entries.entries()) {
        const name = `${base}-${i}`;
        await openS({ name });
        s.update({ g: 1, text: "v1" });
        await s.save();
        await s.createSnapshot("one");
        s.update({ g: 2, text: "v2" });
        await s.save();
        await s.close();
        let value = text;
        if (text === "FORGED") {
          // A copy of ctx with another value and a stamp far ahead (but under a day): it would win a merge.
          const c = structuredClone(await raw.get(name, "ctx"));
          const j = c.keys.indexOf("text");
          c.vals[j] = JSON.stringify("evil");
          c.stamps[j] = c.stamps[j].replace(/^\d+/, String(Date.now() + 3_600_000));
          value = JSON.stringify(c);
        }
        if (where === "ls") raw.lsSet(name, key, value);
        else await raw.put(name, key, JSON.parse(value));
      }
    },
    [Object.entries(OTHER_GARBAGE), base],
  );
  await tab.reload();
  for (const [i, label] of labels.entries()) {
    const name = `${base}-${i}`;
    const from = tab.errors.length;
    const r = await tab.eval(async (name) => {
      const r = await openS({ name });
      if (!r.ok) return r;
      const snaps = await caught(() => s.listSnapshots());
      let list = null;
      if (!snaps) list = (await s.listSnapshots()).length;
      const saves = [];
      for (let i = 3; i <= 9; i++) {
        s.update({ g: i, text: `v${i}` });
        saves.push(await caught(() => s.save()));
      }
      await s.close().catch(() => {});
      const keys = (await raw.keys(name)) ?? [];
      return { ...r, snaps, list, saves, stored: await raw.stored(name), bakKeys: keys.filter((k) => k.startsWith("bak:")), polluted: {}.polluted };
    }, name);
    const errors = await errorsSince(tab, from);
    sub(`${label}: open loads the last saved context, saves work`, () => {
      assert.ok(r.ok, `openSession rejected: ${JSON.stringify(r.error)}`);
      assert.deepEqual(r.ctx, G2, `the last saved context (events: ${JSON.stringify(r.events)})`);
      assert.ok(r.snaps === null || (r.snaps.how === "reject" && typeof r.snaps.code === "string"), `listSnapshots resolves or rejects with a coded error: ${JSON.stringify(r.snaps)}`);
      assert.deepEqual(r.saves, Array(7).fill(null), "later saves resolve");
      assert.deepEqual(r.stored?.ctx, { g: 9, text: "v9" }, "and store");
      assert.ok(r.bakKeys.length <= 5 && r.bakKeys.every((k) => /^bak:[0-4]$/.test(k)), `at most 5 backups, bak:0 to bak:4: ${r.bakKeys}`);
      assert.equal(r.polluted, undefined);
      assert.deepEqual(errors, [], "no page error");
    });
  }
});

// ================================================================== 5: durability (SIGKILL)

fcase(
  "durability",
  "save() resolved survives SIGKILL of the browser (3 rounds, persistent profile); an unsaved change may be lost",
  async () => {
    const prof = await F.tempProfile();
    const name = uniqueName("kill");
    const url = browser.url + FIXTURE;
    let c = await F.launchKillable(prof.dir);
    const pageErrors = [];
    const load = async () => {
      const page = c.context.pages()[0] ?? (await c.context.newPage());
      page.on("pageerror", (e) => pageErrors.push(`pageerror: ${e.message}`));
      page.on("console", (m) => m.type() === "error" && pageErrors.push(`console.error: ${m.text()}`));
      await page.goto(url);
      await page.waitForFunction(() => window.ready === true, null, { timeout: 15_000 });
      return page;
    };
    const unsavedSeen = [];
    try {
      for (let round = 1; round <= 4; round++) {
        const page = await load();
        const r = await page.evaluate(
          async ([name, round]) => {
            const events = [];
            const s = await sp.openSession({ name, saveDebounce: 600_000, autoSaveInterval: 0, onEvent: (e, d) => events.push([e, d?.code ?? d?.from ?? null]) });
            const had = s.get();
            if (round <= 3) {
              s.set("saved", { round, text: `saved in round ${round}`, pad: "p".repeat(round * 10_000) });
              await s.save();
              s.set("unsaved", round); // never saved: SIGKILL follows at once
            }
            return { had, events };
          },
          [name, round],
        );
        if (round > 1) {
          const prev = round - 1;
          assert.deepEqual(
            r.had.saved,
            { round: prev, text: `saved in round ${prev}`, pad: "p".repeat(prev * 10_000) },
            `round ${round}: what round ${prev} saved before SIGKILL is there (events: ${JSON.stringify(r.events)})`,
          );
          assert.ok(
            r.events.some(([e]) => e === "restored") && !r.events.some(([e]) => e === "recovered" || e === "error"),
            `round ${round}: loaded as saved, nothing to recover: ${JSON.stringify(r.events)}`,
          );
          unsavedSeen.push(`round ${prev}: unsaved change ${r.had.unsaved === prev ? "survived" : `lost (unsaved = ${JSON.stringify(r.had.unsaved)})`}`);
        }
        if (round <= 3) {
          const k = await c.kill();
          assert.equal(k.signal, "SIGKILL", "the browser died of SIGKILL");
          c = await F.launchKillable(prof.dir);
        }
      }
      observe(`SIGKILL right after an unsaved set() (saveDebounce 600 s): ${unsavedSeen.join("; ")}`);
      assert.deepEqual(pageErrors, [], "no page error or console error");
    } finally {
      await c.kill();
      await prof.remove();
    }
  },
  { timeout: 150_000 },
);

fcase(
  "durability",
  "SIGKILL in the middle of back-to-back saves: the reloaded context is one whole saved version, not older than the last save() that resolved",
  async () => {
    const prof = await F.tempProfile();
    const name = uniqueName("kill-stream");
    const url = browser.url + FIXTURE;
    let c = await F.launchKillable(prof.dir);
    const seen = [];
    try {
      for (let round = 1; round <= 3; round++) {
        const page = c.context.pages()[0] ?? (await c.context.newPage());
        const pageErrors = [];
        page.on("pageerror", (e) => pageErrors.push(e.message));
        let acked = 0;
        page.on("console", (m) => {
          const x = /^saved (\d+)$/.exec(m.text());
          if (x) acked = Math.max(acked, Number(x[1]));
        });
        await page.goto(url);
        await page.waitForFunction(() => window.ready === true, null, { timeout: 15_000 });
        const start = await page.evaluate(async (name) => {
          window.events = [];
          window.s = await sp.openSession({ name, saveDebounce: 600_000, autoSaveInterval: 0, onEvent: (e, d) => events.push([e, d?.from ?? d?.code ?? null, d?.lost ?? null]) });
          const had = s.get();
          const base = (had.i ?? 0) + 1;
          (async () => {
            for (let i = base; ; i++) {
              s.update({ i, text: `v${i}`, pad: "x".repeat((i % 7) * 3000) });
              await s.save();
              console.log(`saved ${i}`);
            }
          })();
          return { had, events };
        }, name);
        if (round > 1) {
          const h = start.had;
          const prevAck = seen[seen.length - 1].acked;
          assert.ok(typeof h.i === "number", `round ${round}: a saved version was loaded: ${JSON.stringify(h).slice(0, 200)} (events: ${JSON.stringify(start.events)})`);
          assert.ok(h.i >= prevAck, `round ${round}: loaded version ${h.i} is not older than the last acknowledged save ${prevAck}`);
          assert.equal(h.text, `v${h.i}`, `round ${round}: text of the same version`);
          assert.equal(h.pad?.length, (h.i % 7) * 3000, `round ${round}: pad of the same version`);
          seen[seen.length - 1].loaded = h.i;
        }
        await page.waitForFunction(() => true);
        const t0 = Date.now();
        while (acked < 3 && Date.now() - t0 < 10_000) await sleep(20);
        await sleep(300 + 200 * round);
        const killedAt = acked;
        const k = await c.kill();
        assert.equal(k.signal, "SIGKILL");
        assert.deepEqual(pageErrors, [], `round ${round}: no page error`);
        seen.push({ round, acked: killedAt });
        c = await F.launchKillable(prof.dir);
      }
      // Final load.
      const page = c.context.pages()[0] ?? (await c.context.newPage());
      await page.goto(url);
      await page.waitForFunction(() => window.ready === true, null, { timeout: 15_000 });
      const h = await page.evaluate(async (name) => (await sp.openSession({ name })).get(), name);
      const prevAck = seen[seen.length - 1].acked;
      assert.ok(h.i >= prevAck, `final: loaded version ${h.i} is not older than the last acknowledged save ${prevAck}`);
      assert.equal(h.text, `v${h.i}`);
      assert.equal(h.pad?.length, (h.i % 7) * 3000);
      seen[seen.length - 1].loaded = h.i;
      observe(`SIGKILL during back-to-back saves: ${seen.map((x) => `round ${x.round}: last acknowledged save v${x.acked}, loaded v${x.loaded}`).join("; ")}`);
    } finally {
      await c.kill();
      await prof.remove();
    }
  },
  { timeout: 150_000 },
);

// ================================================================== 6: schema versions

/** Saves { name: "a" } with version 1, closes, and returns every stored record but meta and journals. */
async function savedWithV1(tab, name) {
  await saveVersions(tab, { name, version: 1 }, [{ name: "a" }]);
  return storedRecords(tab, name, { withMeta: true });
}

/** Every stored record of `name` but leave journals (and meta, unless `withMeta`). */
function storedRecords(tab, name, { withMeta = false } = {}) {
  return tab.eval(
    async ([n, withMeta]) => {
      const all = (await raw.all(n)) ?? {};
      return Object.fromEntries(Object.entries(all).filter(([k]) => (withMeta || k !== "meta") && !k.startsWith("tab:")));
    },
    [name, withMeta],
  );
}

fcase("schema", "migrate(old, 1) to version 2 runs once and its result is saved", async () => {
  const name = uniqueName("migrate");
  const tab = await openTab();
  await savedWithV1(tab, name);
  await tab.reload();
  await tab.eval(() => (window.calls = []));
  const r = await mustOpen(tab, { name, version: 2 }, { migrate: "(old, from) => { calls.push({ old: plain(old), from }); return { fullName: old.name, from }; }" });
  assert.deepEqual(r.ctx, { fullName: "a", from: 1 });
  assert.deepEqual(await tab.eval(() => calls), [{ old: { name: "a" }, from: 1 }], "migrate called once with the old context and its version");

  // Saved, without any call of ours.
  let stored;
  for (let i = 0; i < 40; i++) {
    stored = await tab.eval((n) => raw.stored(n), name);
    if (stored?.schema === 2) break;
    await sleep(50);
  }
  assert.equal(stored?.schema, 2, "the migrated context is stored with schema 2 (within 2 s of openSession)");
  assert.deepEqual(stored.ctx, { fullName: "a", from: 1 });

  await tab.reload();
  const r2 = await mustOpen(tab, { name, version: 2 }, { migrate: "() => { throw new Error('migrate ran a second time'); }" });
  assert.deepEqual(r2.ctx, { fullName: "a", from: 1 }, "a version-2 reload loads the migrated context, without migrating again");
  assertRestored(r2, "version-2 reload");
  tab.assertNoErrors();
});

const FAILING_MIGRATIONS = {
  throws: "() => { throw new Error('cannot migrate'); }",
  rejects: "async () => { throw new Error('cannot migrate, later'); }",
  "returns a non-object (42)": "() => 42",
};
for (const [label, migrate] of Object.entries(FAILING_MIGRATIONS)) {
  fcase("schema", `a migrate that ${label}: openSession rejects with MIGRATION_FAILED and storage is untouched`, async () => {
    const name = uniqueName("migrate-fail");
    const tab = await openTab();
    const before = await savedWithV1(tab, name);
    await tab.reload();
    const r = await openS(tab, { name, version: 2 }, { migrate });
    assert.equal(r.ok, false, `openSession must reject; it resolved with ${JSON.stringify(r.ctx)}`);
    assert.equal(r.error?.code, "MIGRATION_FAILED");
    assert.equal(r.error?.isError, true, "an Error object");
    assert.ok(r.error?.message?.length > 0, "with a message");
    await sleep(200);
    assert.deepEqual(await storedRecords(tab, name, { withMeta: true }), before, "stored records (meta included) unchanged");
    await tab.reload();
    const r2 = await mustOpen(tab, { name, version: 1 });
    assert.deepEqual(r2.ctx, { name: "a" }, "a version-1 reopen still has the old context");
    assertRestored(r2, "version-1 reopen");
    tab.assertNoErrors();
  });
}

fcase("schema", "a tab of an older version opens empty, in memory, degraded, and never overwrites newer data (save, pagehide)", async () => {
  const name = uniqueName("too-new");
  const tab = await openTab();
  await saveVersions(tab, { name, version: 2 }, [{ fullName: "b" }]);
  const before = await storedRecords(tab, name);
  await tab.reload();
  const r = await mustOpen(tab, { name, version: 1 });
  assert.deepEqual(r.ctx, {}, "nothing of the newer data is loaded");
  assert.equal(r.info.backend, "memory");
  assert.ok(typeof r.info.degraded === "string" && r.info.degraded.length > 0, `info().degraded says why: ${JSON.stringify(r.info.degraded)}`);
  const said = named(r, "degraded").length + named(r, "error").filter((e) => e.detail?.code === "VERSION_TOO_NEW").length;
  assert.ok(said > 0, `a degraded event or an error event with code VERSION_TOO_NEW: ${JSON.stringify(r.events)}`);
  const saved = await tab.eval(async () => {
    s.set("x", 1);
    const r = await caught(() => s.save());
    s.set("y", 2); // left unsaved for pagehide
    return r;
  });
  await sleep(200);
  assert.deepEqual(await storedRecords(tab, name), before, `its save() (${JSON.stringify(saved)}) changed no stored record`);
  await tab.reload(); // pagehide with an unsaved change
  const r2 = await mustOpen(tab, { name, version: 2 });
  assert.deepEqual(r2.ctx, { fullName: "b" }, "a version-2 reopen sees exactly the version-2 data");
  assertRestored(r2, "version-2 reopen");
  tab.assertNoErrors();
});

fcase("schema", "a damaged version-2 ctx whose newest valid backup is the version-1 record: the backup is migrated, once", async () => {
  const name = uniqueName("migrate-bak");
  const tab = await openTab();
  await savedWithV1(tab, name);
  await tab.reload();
  await mustOpen(tab, { name, version: 2 }, { migrate: "(old, from) => ({ fullName: old.name, from })" });
  await tab.eval(() => s.close());
  const v1 = await tab.eval(async (n) => {
    const all = await raw.all(n);
    const bak = Object.entries(all).find(([k, v]) => k.startsWith("bak:") && v.schema === 1);
    if (all.ctx?.schema !== 2 || !bak) return null;
    await raw.put(n, "ctx", raw.tamper(all.ctx));
    return { rev: bak[1].rev, at: bak[1].at };
  }, name);
  assert.ok(v1, "set-up: a version-2 ctx and a version-1 backup");
  await tab.reload();
  await tab.eval(() => (window.calls = []));
  const r = await mustOpen(tab, { name, version: 2 }, { migrate: "(old, from) => { calls.push({ old: plain(old), from }); return { fullName: old.name, from }; }" });
  assert.deepEqual(r.ctx, { fullName: "a", from: 1 }, "the version-1 backup, migrated");
  assert.deepEqual(await tab.eval(() => calls), [{ old: { name: "a" }, from: 1 }], "migrate ran once on the backup");
  assertRecoveredFrom(r, v1, "reopen");
  tab.assertNoErrors();
});

fcase("schema", "localStorage backend: a tab of an older version opens empty, in memory, and does not overwrite", async () => {
  const name = uniqueName("too-new-ls");
  const tab = await openTab();
  await saveVersions(tab, { name, version: 2, storage: "localstorage" }, [{ fullName: "b" }]);
  const before = await tab.eval((n) => raw.ls(n), name);
  await tab.reload();
  const r = await mustOpen(tab, { name, version: 1, storage: "localstorage" });
  assert.deepEqual(r.ctx, {});
  assert.equal(r.info.backend, "memory");
  assert.ok(typeof r.info.degraded === "string" && r.info.degraded.length > 0, "info().degraded says why");
  await tab.eval(async () => {
    s.set("x", 1);
    await caught(() => s.save());
    s.set("y", 2);
  });
  await tab.reload();
  const after = await tab.eval((n) => raw.ls(n), name);
  const records = (o) => Object.fromEntries(Object.entries(o).filter(([k]) => k === "ctx" || k.startsWith("bak")));
  assert.deepEqual(records(after), records(before), "ctx and backups unchanged");
  const r2 = await mustOpen(tab, { name, version: 2, storage: "localstorage" });
  assert.deepEqual(r2.ctx, { fullName: "b" });
  assertRestored(r2, "version-2 reopen");
  tab.assertNoErrors();
});

fcase("schema", "two tabs at once: B (version 1) neither applies A's (version 2) changes nor overwrites storage", async () => {
  const name = uniqueName("two-versions");
  const a = await openTab();
  await mustOpen(a, { name, version: 2 });
  await a.eval(async () => {
    s.set("title", "A0");
    await s.save();
  });
  const b = await a.newTab();
  const rb = await mustOpen(b, { name, version: 1 });
  assert.deepEqual(rb.ctx, {}, "B loads nothing");
  assert.equal(rb.info.backend, "memory", "B runs in memory");
  await a.eval(async () => {
    s.set("title", "A1");
    await s.save();
  });
  await sleep(1000);
  assert.equal(await b.eval(() => s.get("title")), undefined, "B did not apply A's change");
  const bSave = await b.eval(async () => {
    s.update({ title: "B1", other: "B" });
    return caught(() => s.save());
  });
  await sleep(700);
  await a.eval(async () => {
    s.set("n", 1);
    await s.save();
  });
  const stored = await a.eval((n) => raw.stored(n), name);
  assert.equal(stored.schema, 2);
  assert.deepEqual(stored.ctx, { title: "A1", n: 1 }, `storage holds only A's data (B's save: ${JSON.stringify(bSave)})`);
  assert.equal(await a.eval(() => s.get("title")), "A1", "A's context is not overwritten by B");

  await b.close(); // pagehide in B with its change
  const c = await a.newTab();
  const rc = await mustOpen(c, { name, version: 2, crossTab: false });
  assert.deepEqual(rc.ctx, { title: "A1", n: 1 }, "after B left, a new version-2 tab sees A's data only");
  a.assertNoErrors();
});

// ================================================================== 7: failing storage

/** Opens with faults injected, expects `backend` and a degraded report, then checks the data survives a reload. */
async function fallbackCase(label, faults, backend, { check, minMs = 0, maxMs = 15_000 } = {}) {
  const name = uniqueName(label);
  const tab = await openTab(...faults);
  if (check) await check(tab);
  const r = await mustOpen(tab, { name });
  assert.equal(r.info.backend, backend, `backend (degraded: ${JSON.stringify(r.info.degraded)})`);
  assert.ok(typeof r.info.degraded === "string" && r.info.degraded.length > 0, `info().degraded explains: ${JSON.stringify(r.info.degraded)}`);
  assert.ok(named(r, "degraded").length > 0, `a degraded event in onEvent: ${JSON.stringify(r.events)}`);
  assert.ok(r.ms >= minMs && r.ms <= maxMs, `openSession took ${Math.round(r.ms)} ms (expected ${minMs}-${maxMs})`);
  const saved = await tab.eval(async () => {
    s.set("k", { v: 1 });
    return caught(() => s.save());
  });
  assert.equal(saved, null, "save() resolves");
  if (backend === "memory") {
    assert.deepEqual(await tab.eval(() => s.get()), { k: { v: 1 } });
  } else {
    await tab.reload();
    const r2 = await mustOpen(tab, { name });
    assert.equal(r2.info.backend, backend);
    assert.deepEqual(r2.ctx, { k: { v: 1 } }, "the data survives a reload");
    assertRestored(r2, "reload");
  }
  tab.assertNoErrors();
  return r;
}

fcase("storage", "indexedDB deleted: localStorage, degraded, data survives reload", () =>
  fallbackCase("no-idb", [F.noIndexedDB], "localstorage", {
    check: async (tab) => assert.equal(await tab.eval(() => typeof window.indexedDB), "undefined", "fault injected"),
  }),
);

fcase("storage", "indexedDB defined as undefined: localStorage, degraded, data survives reload", () =>
  fallbackCase("undef-idb", [F.undefinedIndexedDB], "localstorage", {
    check: async (tab) => assert.equal(await tab.eval(() => window.indexedDB), undefined, "fault injected"),
  }),
);

fcase("storage", "indexedDB.open throws: localStorage, degraded, data survives reload", () => fallbackCase("open-throws", [F.openThrows], "localstorage"));

fcase("storage", "indexedDB.open's request fires error: localStorage, degraded, data survives reload", () =>
  fallbackCase("open-error", [F.openFiresError], "localstorage", {
    check: async (tab) =>
      assert.equal(
        await tab.eval(
          () =>
            new Promise((res) => {
              const q = indexedDB.open(`probe-${Math.random()}`);
              q.onerror = () => res(`error ${q.error?.name}`);
              q.onsuccess = () => res("success");
            }),
        ),
        "error AbortError",
        "fault injected: the request fires error",
      ),
  }),
);

fcase("storage", "indexedDB.open never answers: after about 5 s, localStorage, degraded, data survives reload", () =>
  fallbackCase("open-hangs", [F.openNeverAnswers], "localstorage", { minMs: 4000, maxMs: 12_000 }),
);

fcase("storage", "a real hang: opening waits behind a deleteDatabase blocked by a connection that ignores versionchange -> localStorage after about 5 s", async () => {
  const name = uniqueName("blocked");
  const tab = await openTab();
  const setup = await tab.eval(
    (n) =>
      new Promise((res) => {
        const q = indexedDB.open(raw.DB(n), 1);
        q.onupgradeneeded = () => q.result.createObjectStore("records");
        q.onsuccess = () => {
          window.holder = q.result; // never closes on versionchange
          const d = indexedDB.deleteDatabase(raw.DB(n));
          window.deleteDone = false;
          d.onsuccess = () => (window.deleteDone = true);
          d.onblocked = () => res("delete blocked");
        };
      }),
    name,
  );
  assert.equal(setup, "delete blocked", "set-up: a pending, blocked deleteDatabase");
  const r = await mustOpen(tab, { name });
  assert.equal(r.info.backend, "localstorage", `backend (degraded: ${JSON.stringify(r.info.degraded)})`);
  assert.ok(r.ms >= 4000 && r.ms <= 12_000, `openSession took ${Math.round(r.ms)} ms`);
  assert.ok(typeof r.info.degraded === "string" && r.info.degraded.length > 0, "info().degraded explains");
  assert.ok(named(r, "degraded").length > 0, "a degraded event");
  assert.deepEqual(await errorsSince(tab, 0), [], "no page error while opening");
  const saved = await tab.eval(async () => {
    s.set("k", "saved while IndexedDB hung");
    const r = await caught(() => s.save());
    holder.close(); // the block goes away: the delete, then the late open, go through
    await new Promise((res) => setTimeout(res, 500));
    s.set("k2", 2);
    return { r, r2: await caught(() => s.save()), deleteDone };
  });
  assert.deepEqual(saved, { r: null, r2: null, deleteDone: true }, "saves resolve before and after the block goes away");
  await sleep(300);
  const errorsAfterBlock = [...tab.errors];
  await tab.reload(); // IndexedDB works now
  const r2 = await openS(tab, { name });
  observe(
    `after IndexedDB hung at open (fell back to localStorage, saved there) and later worked again, a reload opened ${r2.ok ? `backend ${r2.info.backend}, context ${JSON.stringify(r2.ctx)}, events ${JSON.stringify(r2.events.map((e) => e.event))}` : `nothing: ${JSON.stringify(r2.error)}`}`,
  );
  assert.deepEqual(errorsAfterBlock, [], "no page error when the hung open finally answers (after the block went away)");
  tab.assertNoErrors();
});

fcase("storage", "IndexedDB gone and localStorage.setItem throwing: memory, degraded", () => fallbackCase("no-storage", [F.noIndexedDB, F.localStorageSetThrows], "memory"));

fcase("storage", "IndexedDB gone and window.localStorage throwing SecurityError: memory, degraded", () =>
  fallbackCase("ls-denied", [F.noIndexedDB, F.localStorageDenied], "memory"),
);

const QUOTA_ERRORS = {
  QuotaExceededError: '() => new DOMException("quota", "QuotaExceededError")',
  "a DOMException named Error with legacy code 22": '() => { const e = new DOMException("The storage is full", "Error"); Object.defineProperty(e, "code", { value: 22 }); return e; }',
  "an AbortError whose message mentions the quota": '() => new DOMException("Transaction aborted: the quota for this origin was exceeded", "AbortError")',
};
const QUOTA_CASES = [
  ...Object.entries(QUOTA_ERRORS).map(([label, make]) => ({ label: `put throws ${label}`, make, code: "QUOTA_EXCEEDED" })),
  // The backup ring is written first in the same transaction; only the ctx put fails.
  { label: "only the ctx put throws QuotaExceededError (after the backup put succeeded)", make: QUOTA_ERRORS.QuotaExceededError, key: "ctx", code: "QUOTA_EXCEEDED" },
  // Failures that are not the quota must not be reported as one.
  { label: "put throws UnknownError (a disk error)", make: '() => new DOMException("Internal error.", "UnknownError")', code: "STORAGE_UNAVAILABLE" },
  { label: "put throws an AbortError that says nothing of the quota", make: '() => new DOMException("The transaction was aborted.", "AbortError")', code: "STORAGE_UNAVAILABLE" },
  { label: "the ctx put's transaction aborts after it was issued", mode: "abort", key: "ctx", code: "STORAGE_UNAVAILABLE" },
];
for (const { label, make = "() => null", key = null, mode = "throw", code } of QUOTA_CASES) {
  fcase("storage", `${label}: save() rejects ${code}, memory keeps the change, storage the previous save, autosave raises error`, async () => {
    const name = uniqueName("quota");
    const options = { name, saveDebounce: 50, crossTab: false };
    const tab = await openTab(F.putFailsOnFlag);
    await tab.eval(([make, key, mode]) => {
      window.quotaError = (0, eval)(`(${make})`);
      window.failPutKey = key;
      window.failMode = mode;
    }, [make, key, mode]);
    await mustOpen(tab, options);
    await tab.eval(async () => {
      s.set("a", 1);
      await s.save();
      s.set("a", 1.5);
      await s.save(); // so that the backup ring is not empty either
    });
    const before = await storedRecords(tab, name);
    const r = await tab.eval(async () => {
      window.failPut = true;
      s.set("a", 2);
      const save = await caught(() => s.save());
      return { save, a: s.get("a"), dirty: s.info().dirty };
    });
    assert.equal(r.save?.how, "reject", `save() rejects: ${JSON.stringify(r.save)}`);
    assert.equal(r.save?.code, code, `code (message: ${r.save?.message})`);
    assert.equal(r.save?.isError, true);
    assert.ok(r.save?.message.length > 0);
    assert.equal(r.a, 2, "get() still has the new value");
    assert.equal(r.dirty, true, "the change is still pending");
    assert.deepEqual(await storedRecords(tab, name), before, "every stored record (ctx, bak:*, bakidx) is as before the failed save");

    // An autosave failure raises an error event.
    await tab.eval(() => {
      events.length = 0;
      s.set("a", 3);
    });
    await tab.waitFor(() => events.some((e) => e.event === "error"), null, { message: "an error event for the failing autosave" });
    const autosave = await tab.eval(() => ({ errors: events.filter((e) => e.event === "error"), a: s.get("a"), putFailures }));
    assert.equal(autosave.errors[0].detail?.code, code, `the error event's code: ${JSON.stringify(autosave.errors[0])}`);
    assert.equal(autosave.a, 3);
    assert.ok(autosave.putFailures > 0, "the fault was hit");

    assert.deepEqual(await storedRecords(tab, name), before, "after failed autosaves too, every stored record is as before");
    const fresh = await tab.newTab(); // its own page: flag off
    const rf = await mustOpen(fresh, options);
    assert.deepEqual(rf.ctx, { a: 1.5 }, "a fresh page loads the previous save");
    assertRestored(rf, "the fresh page");
    await fresh.eval(() => s.close());
    await fresh.close();

    // Once there is room again, the pending change is saved.
    const final = await tab.eval(async () => {
      window.failPut = false;
      return caught(() => s.save());
    });
    assert.equal(final, null, "save() works again");
    assert.deepEqual((await tab.eval((n) => raw.stored(n), name))?.ctx, { a: 3 });
    tab.assertNoErrors();
  });
}

fcase("storage", "createSnapshot with put throwing QuotaExceededError: rejects QUOTA_EXCEEDED, no snapshot listed, nothing stored changes", async () => {
  const name = uniqueName("snap-quota");
  const tab = await openTab(F.putFailsOnFlag);
  await mustOpen(tab, { name });
  await tab.eval(async () => {
    s.update({ a: 1 });
    await s.save();
    await s.createSnapshot("kept");
  });
  const before = await storedRecords(tab, name);
  const r = await tab.eval(async () => {
    window.failPut = true;
    const snap = await caught(() => s.createSnapshot("refused"));
    window.failPut = false;
    return { snap, list: (await s.listSnapshots()).map((x) => x.name), ctx: plain(s.get()) };
  });
  assert.equal(r.snap?.how, "reject");
  assert.equal(r.snap?.code, "QUOTA_EXCEEDED", `code (message: ${r.snap?.message})`);
  assert.ok(!r.list.includes("refused"), `no refused snapshot listed: ${r.list}`);
  assert.ok(r.list.includes("kept"));
  assert.deepEqual(r.ctx, { a: 1 });
  assert.deepEqual(await storedRecords(tab, name), before, "every stored record as before");
  tab.assertNoErrors();
});

fcase("storage", "localStorage backend with localStorage really full: QUOTA_EXCEEDED, what was stored is intact, saved once there is room", async () => {
  const name = uniqueName("ls-full");
  const options = { name, storage: "localstorage", saveDebounce: 600_000, autoSaveInterval: 0, crossTab: false };
  const tab = await openTab();
  await mustOpen(tab, options);
  const r = await tab.eval(async (n) => {
    s.set("a", 1);
    await s.save();
    const before = raw.ls(n);
    // Fill localStorage to the brim, then free about 4 KB.
    const fillers = [];
    for (let size = 1 << 20; size >= 256; ) {
      const k = `filler:${fillers.length}`;
      try {
        localStorage.setItem(k, "f".repeat(size));
        fillers.push([k, size]);
      } catch {
        size >>= 1;
      }
    }
    const small = fillers.filter(([, sz]) => sz >= 4096 && sz <= 8192);
    if (small.length) localStorage.removeItem(small[0][0]);
    const free = small.length ? small[0][1] : 0;
    s.set("big", "b".repeat(200_000));
    const save = await caught(() => s.save());
    const after = raw.ls(n);
    const ctx = s.get();
    for (const [k] of fillers) localStorage.removeItem(k);
    const retry = await caught(() => s.save());
    return { before, after, save, hasBig: ctx.big?.length, a: ctx.a, free, fillers: fillers.length, retry, stored: await raw.stored(n) };
  }, name);
  assert.ok(r.fillers > 3, `localStorage was filled (${r.fillers} fillers, ${r.free} chars freed)`);
  assert.equal(r.save?.how, "reject", `save() rejects: ${JSON.stringify(r.save)}`);
  assert.equal(r.save?.code, "QUOTA_EXCEEDED", `code (message: ${r.save?.message})`);
  assert.deepEqual(r.after, r.before, "every stored entry of the name is as before the failed save");
  assert.equal(r.hasBig, 200_000, "the in-memory context keeps the change");
  assert.equal(r.retry, null, "with room again, save() works");
  assert.equal(r.stored?.ctx.big?.length, 200_000);
  assert.equal(r.stored?.ctx.a, 1);
  tab.assertNoErrors();
});

fcase("storage", "the database is deleted under an open session: it lets go, and later saves reconnect and store", async () => {
  const name = uniqueName("deleted");
  const tab = await openTab();
  await mustOpen(tab, { name });
  const r = await tab.eval(async (n) => {
    s.set("before", 1);
    await s.save();
    const del = await new Promise((res) => {
      const q = indexedDB.deleteDatabase(raw.DB(n));
      const timer = setTimeout(() => res("no answer in 5 s (blocked by an open connection)"), 5000);
      q.onsuccess = () => (clearTimeout(timer), res("deleted"));
      q.onerror = () => (clearTimeout(timer), res(`error ${q.error?.name}`));
    });
    s.set("after", 2);
    const save = await caught(() => s.save());
    return { del, save, stored: await raw.stored(n) };
  }, name);
  assert.equal(r.del, "deleted", "deleteDatabase was not blocked");
  assert.equal(r.save, null, "save() after the deletion resolves");
  assert.deepEqual(r.stored?.ctx, { before: 1, after: 2 }, "the whole context is stored again");
  await tab.reload();
  const r2 = await mustOpen(tab, { name });
  assert.equal(r2.info.backend, "indexeddb");
  assert.deepEqual(r2.ctx, { before: 1, after: 2 });
  assertRestored(r2, "reload");
  tab.assertNoErrors();
});

fcase("storage", "another connection upgrades the database (versionchange): it lets go, and later saves reconnect and store", async () => {
  const name = uniqueName("upgraded");
  const tab = await openTab();
  await mustOpen(tab, { name });
  const r = await tab.eval(async (n) => {
    s.set("before", 1);
    await s.save();
    const up = await new Promise((res) => {
      const q = indexedDB.open(raw.DB(n), 2);
      const timer = setTimeout(() => res("no answer in 5 s (blocked by an open connection)"), 5000);
      q.onsuccess = () => {
        clearTimeout(timer);
        q.result.close();
        res("upgraded");
      };
      q.onerror = () => (clearTimeout(timer), res(`error ${q.error?.name}`));
    });
    s.set("after", 2);
    const save = await caught(() => s.save());
    return { up, save, stored: await raw.stored(n), info: s.info() };
  }, name);
  assert.equal(r.up, "upgraded", "the upgrade was not blocked");
  assert.equal(r.save, null, `save() after the upgrade resolves (info: ${JSON.stringify(r.info)})`);
  assert.deepEqual(r.stored?.ctx, { before: 1, after: 2 }, "stored in the (upgraded) database");
  await tab.reload();
  const r2 = await openS(tab, { name });
  observe(
    `after another connection upgraded the database to version 2, a reload opened ${r2.ok ? `backend ${r2.info.backend}, degraded ${JSON.stringify(r2.info.degraded)}, context ${JSON.stringify(r2.ctx)}` : `nothing: ${JSON.stringify(r2.error)}`}`,
  );
  tab.assertNoErrors();
});

// ================================================================== 8: bad input

fgroup("input", "bad values and arguments throw a coded Error and change neither the context nor storage", async (t, sub) => {
  const name = uniqueName("bad-input");
  const options = { name, maxContextBytes: 1000 };
  const good = { a: 1, nested: { ok: true } };
  const tab = await openTab();
  await mustOpen(tab, options);
  await tab.eval(async (g) => {
    s.update(g);
    await s.save();
  }, good);
  const r = await tab.eval(() => {
    const cyclic = { name: "loop" };
    cyclic.self = cyclic;
    class Point {
      constructor() {
        this.x = 1;
      }
    }
    const values = {
      "a function": () => 1,
      "a symbol": Symbol("s"),
      "a BigInt": 10n,
      "a cycle": cyclic,
      "a DOM node (document.body)": document.body,
      "a Date": new Date(0),
      "a Map": new Map([[1, 2]]),
      "a Set": new Set([1]),
      NaN: NaN,
      Infinity: Infinity,
      "a class instance": new Point(),
      "undefined inside an array": [1, undefined],
      "a function deep inside": { deep: { list: [{ fn() {} }] } },
    };
    const out = {};
    const check = (label, fn) => {
      out[label] = { error: caught(fn), ctx: plain(s.get()), dirty: s.info().dirty };
    };
    for (const [label, v] of Object.entries(values)) {
      check(`set("bad", ${label})`, () => s.set("bad", v));
      check(`update({ a: 2, bad: ${label} })`, () => s.update({ a: 2, bad: v }));
    }
    let deep = {};
    for (let i = 0; i < 100_000; i++) deep = { v: deep };
    check('set("bad", 100000 levels of nesting)', () => s.set("bad", deep));
    check('set("bad", an object whose getter throws)', () =>
      s.set("bad", {
        get x() {
          throw new Error("boom");
        },
      }),
    );
    check('set("bad", a sparse array [1, , 3])', () => s.set("bad", [1, , 3]));
    check('set("big", 2000 chars) over maxContextBytes 1000', () => s.set("big", "x".repeat(2000)));
    check('set("big", 20 MiB string) over maxContextBytes 1000', () => s.set("big", "x".repeat(20 * 1024 * 1024)));
    check("update({ big: 2000 chars }) over maxContextBytes 1000", () => s.update({ a: 2, big: "x".repeat(2000) }));
    for (const [label, arg] of [
      ["update(42)", 42],
      ["update([1])", [1]],
      ["update(null)", null],
      ['update("abc")', "abc"],
    ]) {
      check(label, () => s.update(arg));
    }
    return out;
  });
  await tab.eval(() => s.save());
  const stored = await tab.eval((n) => raw.stored(n), name);
  for (const [label, x] of Object.entries(r)) {
    const code = label.includes("maxContextBytes") ? "TOO_LARGE" : label.startsWith("update(") && !label.startsWith("update({") ? "INVALID_ARGUMENT" : "NOT_SERIALIZABLE";
    // Nesting deeper than any JSON parser takes may be refused either way, but with a code.
    const codes = label.includes("levels of nesting") ? ["NOT_SERIALIZABLE", "TOO_LARGE"] : [code];
    sub(`${label} -> ${codes.join(" or ")}`, () => {
      assert.equal(x.error?.how, "throw", `throws synchronously: ${JSON.stringify(x.error)}`);
      assert.equal(x.error?.isError, true, "an Error object");
      assert.ok(codes.includes(x.error?.code), `code ${x.error?.code} is ${codes.join(" or ")} (message: ${x.error?.message})`);
      assert.ok(x.error?.message.length > 0, "a message");
      assert.deepEqual(x.ctx, good, "get() unchanged");
      assert.equal(x.dirty, false, "nothing pending");
      assert.deepEqual(stored?.ctx, good, "storage unchanged");
    });
  }
  await tab.reload();
  const r2 = await mustOpen(tab, options);
  assert.deepEqual(r2.ctx, good, "after a reload: the good context");
  assertRestored(r2, "reload");
  tab.assertNoErrors();
});

fgroup("input", "bad backups / version / migrate options reject INVALID_ARGUMENT and touch nothing", async (t, sub) => {
  const name = uniqueName("bad-options");
  const tab = await openTab();
  await saveVersions(tab, { name }, [{ kept: true }]);
  const before = await storedRecords(tab, name, { withMeta: true });
  const bad = {
    "backups: -1": "{ backups: -1 }",
    "backups: 1.5": "{ backups: 1.5 }",
    'backups: "2"': '{ backups: "2" }',
    "backups: NaN": "{ backups: NaN }",
    "version: -1": "{ version: -1 }",
    "version: 1.5": "{ version: 1.5 }",
    'version: "2"': '{ version: "2" }',
    'migrate: "x"': '{ migrate: "x" }',
  };
  const out = await tab.eval(
    async ([name, bad]) => {
      const out = {};
      for (const [label, src] of Object.entries(bad)) {
        const o = { name, ...(0, eval)(`(${src})`) };
        out[label] = await caught(() => sp.openSession(o).then((s) => s.close()));
      }
      return out;
    },
    [name, bad],
  );
  const after = await storedRecords(tab, name, { withMeta: true });
  for (const [label, e] of Object.entries(out)) {
    sub(`openSession({ ${label} }) -> INVALID_ARGUMENT`, () => {
      assert.equal(e?.how, "reject", `rejects: ${JSON.stringify(e)}`);
      assert.equal(e?.code, "INVALID_ARGUMENT", `code (message: ${e?.message})`);
      assert.ok(e?.message.length > 0);
      assert.deepEqual(after, before, "storage untouched");
    });
  }
  tab.assertNoErrors();
});

fcase("input", "a migrate result with a __proto__ key: an ordinary key, no pollution", async () => {
  const name = uniqueName("proto-migrate");
  const tab = await openTab();
  await savedWithV1(tab, name);
  await tab.reload();
  const r = await mustOpen(tab, { name, version: 2 }, { migrate: `(old) => JSON.parse('{"__proto__": {"polluted": true}, "name": "a2"}')` });
  const x = await tab.eval(() => ({
    polluted: {}.polluted,
    own: Object.prototype.hasOwnProperty.call(s.get(), "__proto__"),
    value: JSON.stringify(Object.getOwnPropertyDescriptor(s.get(), "__proto__")?.value),
    keys: Object.keys(s.get()).sort(),
  }));
  assert.deepEqual(x, { polluted: undefined, own: true, value: '{"polluted":true}', keys: ["__proto__", "name"] }, JSON.stringify(r.events));
  tab.assertNoErrors();
});

fcase("input", "__proto__, constructor and prototype keys are ordinary keys, in this tab, in a tab that receives them, and after a reload", async () => {
  const name = uniqueName("proto");
  const a = await openTab();
  await mustOpen(a, { name });
  const b = await a.newTab();
  await mustOpen(b, { name });
  await a.eval(() => {
    s.set("__proto__", { polluted: true });
    s.update(JSON.parse('{"__proto__": {"polluted": true, "via": "update"}}'));
    s.set("constructor", { prototype: { polluted: true } });
    s.update(JSON.parse('{"prototype": {"polluted": true}}'));
  });
  const inspect = () => {
    const ctx = s.get();
    const own = (k) => (Object.prototype.hasOwnProperty.call(ctx, k) ? JSON.stringify(Object.getOwnPropertyDescriptor(ctx, k).value) : "(not an own key)");
    return {
      objectPolluted: {}.polluted,
      objectProtoPolluted: Object.prototype.polluted,
      ctxPolluted: ctx.polluted,
      ctxProtoIsObjectProto: [Object.prototype, null].includes(Object.getPrototypeOf(ctx)),
      constructorIntact: {}.constructor === Object,
      keys: Object.keys(ctx).sort(),
      proto: own("__proto__"),
      ctor: own("constructor"),
      prototype: own("prototype"),
      getProto: JSON.stringify(s.get("__proto__")),
    };
  };
  const expected = {
    objectPolluted: undefined,
    objectProtoPolluted: undefined,
    ctxPolluted: undefined,
    ctxProtoIsObjectProto: true,
    constructorIntact: true,
    keys: ["__proto__", "constructor", "prototype"],
    proto: '{"polluted":true,"via":"update"}',
    ctor: '{"prototype":{"polluted":true}}',
    prototype: '{"polluted":true}',
    getProto: '{"polluted":true,"via":"update"}',
  };
  assert.deepEqual(await a.eval(inspect), expected, "tab A");
  await b.waitFor(() => s.get("prototype") !== undefined && Object.keys(s.get()).length === 3, null, { message: "B receives the keys" });
  assert.deepEqual(await b.eval(inspect), expected, "tab B, which received the change");
  await a.eval(() => s.save());
  await b.reload();
  assertRestored(await mustOpen(b, { name }), "B's reload");
  assert.deepEqual(await b.eval(inspect), expected, "tab B after a reload (from storage)");
  a.assertNoErrors();
});
