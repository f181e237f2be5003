// session-persist/react on a server: importing dist/react.js reads no browser
// global; renderToString of SessionProvider, useSessionRecovery and
// useSessionContext does not throw and shows the initial state (empty
// context, status "idle", isRestored false); and the server snapshot the
// hooks give useSyncExternalStore is one cached object, so the first client
// (hydrating) render equals the server's. (Real hydration in Chromium:
// tests/e2e/react.test.mjs.)
//
// React is loaded through require() before anything else, so that
// (1) its own reads of globals happen before the trap is set, and
// (2) its useSyncExternalStore can be wrapped before dist/react.js's
//     `import { useSyncExternalStore } from "react"` binds it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const React = require("react");
const { renderToString, renderToPipeableStream } = require("react-dom/server");
const h = React.createElement;

const ENTRY = new URL("../../dist/react.js", import.meta.url);
const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));
const BROWSER_GLOBALS = [
  "window", "self", "document", "localStorage", "sessionStorage", "indexedDB",
  "navigator", "location", "history", "BroadcastChannel", "addEventListener",
  "requestAnimationFrame", "matchMedia",
];

// Every call of React's useSyncExternalStore, wrapped: records whether
// getServerSnapshot returns the same object twice in a row, and the object.
const sesCalls = [];
const realUseSyncExternalStore = React.useSyncExternalStore;
React.useSyncExternalStore = function (subscribe, getSnapshot, getServerSnapshot) {
  const a = getServerSnapshot?.();
  const b = getServerSnapshot?.();
  sesCalls.push({ hasServerSnapshot: typeof getServerSnapshot === "function", stable: Object.is(a, b), snapshot: a });
  return realUseSyncExternalStore(subscribe, getSnapshot, getServerSnapshot);
};

/** The file of the function that called the caller of this (from a stack trace), or "". */
function callerFile() {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 5;
  const stack = new Error().stack.split("\n");
  Error.stackTraceLimit = limit;
  // [0] "Error", [1] callerFile, [2] the getter, [3] the code that read the global.
  const m = /\(?((?:file:\/\/|\/|data:)[^)]*?)(?::\d+:\d+)?\)?$/.exec(stack[3] ?? "");
  return m ? m[1].replace(/^file:\/\//, "") : "";
}

/**
 * Replaces each browser global by a getter that records the read and throws,
 * so a module that reads one fails, even inside try/catch or `typeof`.
 * `ours(file)` says whether a read from `file` counts; others (React's own)
 * get what was there before (undefined in Node, or Node's own global).
 */
function trapBrowserGlobals(ours = () => true) {
  const touched = [];
  const saved = new Map();
  for (const name of BROWSER_GLOBALS) {
    const desc = Object.getOwnPropertyDescriptor(globalThis, name);
    if (desc && !desc.configurable) continue;
    saved.set(name, desc);
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() {
        const file = callerFile();
        if (!ours(file)) return desc ? (desc.get ? desc.get.call(globalThis) : desc.value) : undefined;
        touched.push(`${name} (${file})`);
        throw new Error(`browser global "${name}" read on the server by ${file}`);
      },
    });
  }
  const restore = () => {
    for (const [name, desc] of saved) {
      if (desc) Object.defineProperty(globalThis, name, desc);
      else delete globalThis[name];
    }
  };
  return { touched, restore };
}

const inDist = (file) => file.startsWith(DIST);

// Collects console.error / console.warn (React's warnings) while fn runs.
async function consoleOf(fn) {
  const logged = [];
  const { error, warn } = console;
  console.error = (...a) => logged.push(`error: ${a.join(" ")}`);
  console.warn = (...a) => logged.push(`warn: ${a.join(" ")}`);
  try {
    return { value: await fn(), logged };
  } finally {
    Object.assign(console, { error, warn });
  }
}

test("the trap catches our reads of browser globals, and lets others' through", async () => {
  const trap = trapBrowserGlobals();
  try {
    await assert.rejects(import("data:text/javascript,export const w = typeof window;"));
    await assert.rejects(import("data:text/javascript,export const l = navigator.locks;"));
    // A read inside try/catch does not fail the import, but is recorded.
    await import("data:text/javascript,try { indexedDB } catch {} export const x = 1;");
    assert.deepEqual(trap.touched.map((t) => t.split(" ")[0]), ["window", "navigator", "indexedDB"]);
  } finally {
    trap.restore();
  }
  // With a file filter: a read from a file that is "ours" throws, one from elsewhere does not.
  const dir = mkdtempSync(join(tmpdir(), "react-ssr-trap-"));
  try {
    writeFileSync(join(dir, "ours.mjs"), "export function read() { return typeof localStorage; }\n");
    writeFileSync(join(dir, "theirs.mjs"), "export function read() { return typeof localStorage; }\n");
    const ours = await import(join(dir, "ours.mjs"));
    const theirs = await import(join(dir, "theirs.mjs"));
    const trap2 = trapBrowserGlobals((f) => f.endsWith("/ours.mjs"));
    try {
      assert.equal(theirs.read(), "undefined");
      assert.throws(() => ours.read(), /localStorage/);
      assert.equal(trap2.touched.length, 1, trap2.touched.join(", "));
      assert.match(trap2.touched[0], /^localStorage \(.*ours\.mjs\)$/);
    } finally {
      trap2.restore();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("importing session-persist/react (dist/react.js) in Node touches no browser global and does not throw", async () => {
  const trap = trapBrowserGlobals();
  let mod;
  try {
    mod = await import(ENTRY.href);
  } finally {
    trap.restore();
  }
  assert.deepEqual(trap.touched, []);
  for (const name of ["SessionProvider", "useSessionRecovery", "useSessionContext", "onSessionStorageChange"]) {
    assert.equal(typeof mod[name], "function", name);
  }
});

// The trees rendered on the server. Each component prints what its hook returns.
function trees({ SessionProvider, useSessionRecovery, useSessionContext }) {
  const seen = [];
  function Recovery({ options, label }) {
    const r = useSessionRecovery(options);
    seen.push({ label, r });
    return h("p", { "data-label": label }, `status=${r.status} restored=${r.isRestored} error=${r.error} session=${r.session} ctx=${JSON.stringify(r.contextData)}`);
  }
  function Whole({ label }) {
    const ctx = useSessionContext();
    seen.push({ label, ctx });
    return h("code", null, `${label}=${JSON.stringify(ctx)}`);
  }
  function Key({ k, label }) {
    const v = useSessionContext(k);
    seen.push({ label, v });
    return h("i", null, `${label}=${v === undefined ? "undefined" : JSON.stringify(v)}`);
  }
  const inProvider = h(
    SessionProvider,
    { options: { name: "ssr-provider" } },
    h(Recovery, { label: "in" }),
    h(Whole, { label: "all" }),
    h(Key, { k: "k", label: "key" }),
  );
  const outside = h(
    "div",
    null,
    h(Recovery, { options: { name: "ssr-own" }, label: "own" }),
    h(Whole, { label: "defaultAll" }),
    h(Key, { k: "k", label: "defaultKey" }),
  );
  return { inProvider, outside, both: h(React.StrictMode, null, h("main", null, inProvider, outside)), seen };
}

const EXPECTED =
  '<main><p data-label="in">status=idle restored=false error=null session=null ctx={}</p><code>all={}</code><i>key=undefined</i>' +
  '<div><p data-label="own">status=idle restored=false error=null session=null ctx={}</p><code>defaultAll={}</code><i>defaultKey=undefined</i></div></main>';

test("renderToString: SessionProvider, useSessionRecovery, useSessionContext() and (\"k\") show the empty context, idle, not restored", async () => {
  const mod = await import(ENTRY.href);
  const t = trees(mod);
  const trap = trapBrowserGlobals(inDist);
  let out;
  try {
    out = await consoleOf(() => renderToString(t.both));
  } finally {
    trap.restore();
  }
  assert.deepEqual(trap.touched, [], "rendering read no browser global from dist/");
  assert.deepEqual(out.logged, [], "React logged nothing");
  assert.equal(out.value, EXPECTED);
  for (const { label, r } of t.seen.filter((s) => s.r)) {
    assert.deepEqual(r.contextData, {}, label);
    assert.equal(r.status, "idle", label);
    assert.equal(r.isRestored, false, label);
    assert.equal(r.error, null, label);
    assert.equal(r.session, null, label);
    for (const fn of ["updateContext", "shareContext", "createSnapshot", "restoreSnapshot", "listSnapshots"]) {
      assert.equal(typeof r[fn], "function", `${label}.${fn}`);
    }
  }
});

test("streaming SSR (renderToPipeableStream) gives the same markup", async () => {
  const mod = await import(ENTRY.href);
  const { Writable } = await import("node:stream");
  const html = await new Promise((resolve, reject) => {
    let body = "";
    const sink = new Writable({
      write(chunk, _enc, cb) {
        body += chunk;
        cb();
      },
      final(cb) {
        resolve(body);
        cb();
      },
    });
    const { pipe } = renderToPipeableStream(trees(mod).both, { onAllReady: () => pipe(sink), onError: reject });
  });
  assert.equal(html, EXPECTED);
});

test("the server snapshot is one cached object: the same across calls and renders, so hydration sees the server's markup", async () => {
  const mod = await import(ENTRY.href);
  sesCalls.length = 0;
  const t1 = trees(mod);
  const first = renderToString(t1.both);
  const calls1 = sesCalls.splice(0);
  const t2 = trees(mod);
  const second = renderToString(t2.both);
  const calls2 = sesCalls.splice(0);

  assert.equal(first, second, "two server renders give the same markup");
  // 6 hook users, each through useSyncExternalStore.
  assert.equal(calls1.length, 6, "every hook reads its state through useSyncExternalStore");
  assert.equal(calls2.length, 6);
  for (const c of [...calls1, ...calls2]) {
    assert.equal(c.hasServerSnapshot, true, "a getServerSnapshot is given (else React throws on the server and hydration)");
    assert.equal(c.stable, true, "getServerSnapshot returns the same object on each call (React: \"getServerSnapshot should be cached\")");
  }
  // Each hook's server snapshot is the same value in every render (hooks
  // differ: useSessionContext("k") selects one key, whose server value is
  // undefined), and every object among them is frozen.
  calls1.forEach((c, i) => assert.equal(c.snapshot, calls2[i].snapshot, `hook ${i}: the same server snapshot in both renders`));
  for (const c of calls1) {
    if (c.snapshot !== undefined) {
      assert.ok(Object.isFrozen(c.snapshot), "a server snapshot object is frozen (no render can change what hydration compares to)");
    }
  }

  // What components receive is the same object too, render after render.
  const ctxs = [...t1.seen, ...t2.seen].map((s) => s.r?.contextData ?? s.ctx).filter(Boolean);
  assert.equal(ctxs.length, 8);
  assert.equal(new Set(ctxs).size, 1, "contextData / useSessionContext() is one object across renders");
  assert.ok(Object.isFrozen(ctxs[0]), "and it is frozen");
});

test("the actions of useSessionRecovery on the server fail with a coded Error instead of touching the browser", async () => {
  const mod = await import(ENTRY.href);
  const t = trees(mod);
  renderToString(t.inProvider);
  const { r } = t.seen.find((s) => s.r);
  const trap = trapBrowserGlobals(inDist);
  try {
    assert.throws(() => r.updateContext({ a: 1 }), (e) => e instanceof Error && typeof e.code === "string");
    for (const call of [() => r.shareContext("a", 1), () => r.createSnapshot("x"), () => r.restoreSnapshot("x"), () => r.listSnapshots()]) {
      const p = call();
      assert.ok(p instanceof Promise, "async actions return a promise");
      await assert.rejects(p, (e) => e instanceof Error && typeof e.code === "string");
    }
  } finally {
    trap.restore();
  }
  assert.deepEqual(trap.touched, []);
});
