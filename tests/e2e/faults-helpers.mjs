// Helpers of the fault-injection suite (faults.test.mjs): raw access to what
// session-persist stored (to read and tamper with it behind its back), an
// `openS` that records every event, injectable storage faults, and a Chromium
// of our own on a persistent profile that can be SIGKILLed.
//
// Page-side functions here are installed with `context.addInitScript` (pass
// them in `browser.open(path, { init: [...] })`), so they run in every page
// of the context before the package loads, and again after each reload.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "./helpers.mjs";

/**
 * Page side, installed first: `window.raw` (storage as the package left it,
 * through the original IndexedDB and localStorage functions, so faults
 * injected later do not touch it) and `window.openS(options)` which opens
 * `window.s`, recording every event of `onEvent` in `window.events` and
 * catching a rejection: `{ ok, error?, info?, ctx? }`.
 */
export function rawStoragePage() {
  const idb = window.indexedDB;
  const origOpen = IDBFactory.prototype.open;
  const origPut = IDBObjectStore.prototype.put;
  const origGet = IDBObjectStore.prototype.get;
  const origGetAllKeys = IDBObjectStore.prototype.getAllKeys;
  const origDelete = IDBObjectStore.prototype.delete;
  let ls = null;
  try {
    ls = window.localStorage;
  } catch {}
  const lsGet = ls && Storage.prototype.getItem;
  const lsSet = ls && Storage.prototype.setItem;
  const lsRemove = ls && Storage.prototype.removeItem;
  const lsKey = ls && Storage.prototype.key;
  const lsLength = ls && Object.getOwnPropertyDescriptor(Storage.prototype, "length").get;

  const DB = (name) => `session-persist:${name}`;
  const req = (r) =>
    new Promise((res, rej) => {
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });

  async function exists(name) {
    const dbs = await idb.databases();
    return dbs.some((d) => d.name === DB(name));
  }
  async function connect(name) {
    return new Promise((res, rej) => {
      const q = origOpen.call(idb, DB(name));
      q.onupgradeneeded = () => q.transaction.abort(); // never create it
      q.onsuccess = () => res(q.result);
      q.onerror = () => rej(q.error);
    });
  }
  // Runs fn(store) in one transaction of the database of `name`; undefined if it does not exist.
  async function withStore(name, mode, fn) {
    if (!(await exists(name))) return undefined;
    const db = await connect(name);
    try {
      const tx = db.transaction("records", mode);
      const done = new Promise((res, rej) => {
        tx.oncomplete = res;
        tx.onerror = () => rej(tx.error);
        tx.onabort = () => rej(tx.error);
      });
      const out = await fn(tx.objectStore("records"));
      await done;
      return out;
    } finally {
      db.close();
    }
  }

  const lsEntries = (prefix) => {
    const out = {};
    if (!ls) return out;
    const n = lsLength.call(ls);
    for (let i = 0; i < n; i++) {
      const k = lsKey.call(ls, i);
      if (k.startsWith(prefix)) out[k.slice(prefix.length)] = lsGet.call(ls, k);
    }
    return out;
  };

  // A stored context record -> { ctx, rev, schema, at } (null if it is not a record).
  function decode(rec) {
    if (typeof rec === "string") {
      try {
        rec = JSON.parse(rec);
      } catch {
        return null;
      }
    }
    if (!rec || typeof rec !== "object" || !Array.isArray(rec.keys) || !Array.isArray(rec.vals)) return null;
    const ctx = {};
    rec.keys.forEach((k, i) => {
      if (rec.vals[i] != null) Object.defineProperty(ctx, k, { value: JSON.parse(rec.vals[i]), enumerable: true, writable: true, configurable: true });
    });
    return { ctx, rev: rec.rev, schema: rec.schema, at: rec.at };
  }

  // "Edits a vals string": the first value's JSON text, changed into other valid JSON.
  function tamper(rec) {
    const copy = structuredClone(rec);
    const i = copy.vals.findIndex((v) => typeof v === "string");
    const v = JSON.parse(copy.vals[i]);
    copy.vals[i] = JSON.stringify(typeof v === "string" ? v + "!" : typeof v === "number" ? v + 1 : { tampered: true });
    return copy;
  }

  window.raw = {
    DB,
    exists,
    decode,
    tamper,
    /** IndexedDB keys of `name` (null if there is no database). */
    keys: async (name) => (await withStore(name, "readonly", (st) => req(origGetAllKeys.call(st)))) ?? null,
    get: (name, key) => withStore(name, "readonly", (st) => req(origGet.call(st, key))),
    put: (name, key, value) => withStore(name, "readwrite", (st) => req(origPut.call(st, value, key))),
    del: (name, key) => withStore(name, "readwrite", (st) => req(origDelete.call(st, key))),
    /** Every record of `name`, key -> value. */
    all: (name) =>
      withStore(name, "readonly", async (st) => {
        const keys = await req(origGetAllKeys.call(st));
        const out = {};
        for (const k of keys) out[k] = await req(origGet.call(st, k));
        return out;
      }),
    /** localStorage entries of `name` (key without the prefix -> text). */
    ls: (name) => lsEntries(`session-persist:${name}:`),
    lsGet: (name, key) => lsGet.call(ls, `session-persist:${name}:${key}`),
    lsSet: (name, key, text) => lsSet.call(ls, `session-persist:${name}:${key}`, text),
    lsRemove: (k) => lsRemove.call(ls, k),
    lsSetRaw: (k, v) => lsSet.call(ls, k, v),
    /** What storage holds for `name` as a context (IndexedDB, else localStorage), or null. */
    async stored(name) {
      const rec = (await raw.get(name, "ctx").catch(() => undefined)) ?? (ls ? lsGet.call(ls, `session-persist:${name}:ctx`) : null);
      return decode(rec);
    },
  };

  // A structured-clone-safe copy of an event detail (Error objects become { name, message, code }).
  function plain(v, depth = 0) {
    if (v instanceof Error) return { name: v.name, message: v.message, code: v.code, isError: true };
    if (v === null || typeof v !== "object" || depth > 4) return typeof v === "function" || typeof v === "symbol" ? String(v) : v;
    if (Array.isArray(v)) return v.map((x) => plain(x, depth + 1));
    const out = {};
    for (const k of Object.keys(v)) out[k] = plain(v[k], depth + 1);
    return out;
  }
  window.plain = plain;

  /**
   * Opens `window.s` with `options` (+ `onEvent` recording into `window.events`).
   * `migrate`: JS source of a migrate function, evaluated here.
   */
  window.openS = async (options = {}, { migrate } = {}) => {
    window.events = [];
    const o = { ...options, onEvent: (event, detail) => window.events.push({ event, detail: plain(detail) }) };
    if (migrate) o.migrate = (0, eval)(`(${migrate})`);
    const t0 = performance.now();
    try {
      window.s = await sp.openSession(o);
    } catch (e) {
      window.s = undefined;
      return { ok: false, error: plain(e), ms: performance.now() - t0, events: window.events };
    }
    // The same events through on() handlers added before the next macrotask (they are replayed).
    window.onEvents = [];
    for (const event of ["saved", "restored", "recovered", "degraded", "remote-change", "error"]) {
      s.on(event, (detail) => window.onEvents.push({ event, detail: plain(detail) }));
    }
    return { ok: true, info: s.info(), ctx: plain(s.get()), ms: performance.now() - t0, events: window.events };
  };
}

// ---------------------------------------------------------------- faults
// Each is a page function for `init`; they run after rawStoragePage.

/** `delete window.indexedDB` (wherever it is defined). */
export function noIndexedDB() {
  delete window.indexedDB;
  delete Window.prototype.indexedDB;
  delete globalThis.indexedDB;
}

/** `indexedDB` defined as undefined. */
export function undefinedIndexedDB() {
  Object.defineProperty(window, "indexedDB", { value: undefined, configurable: true, writable: true });
}

/** `indexedDB.open` throws. */
export function openThrows() {
  IDBFactory.prototype.open = function () {
    throw new DOMException("The user denied permission to access the database.", "SecurityError");
  };
}

/**
 * `indexedDB.open` returns a real request that fires `error`: its upgrade
 * transaction is aborted before any other listener sees `upgradeneeded`
 * (capturing listeners run first at the target).
 */
export function openFiresError() {
  const orig = IDBFactory.prototype.open;
  IDBFactory.prototype.open = function (...args) {
    const r = orig.apply(this, args);
    r.addEventListener(
      "upgradeneeded",
      (e) => {
        e.stopImmediatePropagation();
        r.transaction.abort();
      },
      { capture: true },
    );
    return r;
  };
}

/** `indexedDB.open` returns a real request whose events nobody else ever sees. */
export function openNeverAnswers() {
  const orig = IDBFactory.prototype.open;
  IDBFactory.prototype.open = function (...args) {
    const r = orig.apply(this, args);
    for (const type of ["upgradeneeded", "success", "error", "blocked"]) {
      r.addEventListener(type, (e) => e.stopImmediatePropagation(), { capture: true });
    }
    return r;
  };
}

/** `localStorage.setItem` throws (a full or read-only localStorage). */
export function localStorageSetThrows() {
  Storage.prototype.setItem = function () {
    throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
  };
}

/** Reading `window.localStorage` throws (cookies blocked, sandboxed iframe). */
export function localStorageDenied() {
  Object.defineProperty(window, "localStorage", {
    configurable: true,
    get() {
      throw new DOMException("Access is denied for this document.", "SecurityError");
    },
  });
}

/**
 * `IDBObjectStore.prototype.put` throws `window.quotaError()` while
 * `window.failPut` is true (off by default; each page has its own flag),
 * only for the key `window.failPutKey` if that is set.
 * `window.putFailures` counts the refused calls.
 */
export function putFailsOnFlag() {
  const orig = IDBObjectStore.prototype.put;
  window.failPut = false;
  window.putFailures = 0;
  window.quotaError = () => new DOMException("quota", "QuotaExceededError");
  window.failPutKey = null; // when set, only puts of this key fail
  window.failMode = "throw"; // or "abort": the put is issued, then its transaction aborted (a disk error)
  IDBObjectStore.prototype.put = function (...args) {
    if (window.failPut && (window.failPutKey == null || args[1] === window.failPutKey)) {
      window.putFailures++;
      if (window.failMode === "abort") {
        const r = orig.apply(this, args);
        this.transaction.abort();
        return r;
      }
      throw window.quotaError();
    }
    return orig.apply(this, args);
  };
}

// ---------------------------------------------------------------- a killable Chromium

/**
 * Chromium launched by us on the persistent profile `userDataDir`, reached
 * over CDP: `{ browser, context, pid, kill() }`. `kill()` SIGKILLs the
 * browser process and its whole process group (renderers, storage service)
 * at once: a crash, with no shutdown of any kind.
 */
export async function launchKillable(userDataDir) {
  const child = spawn(
    CHROMIUM,
    [...CHROMIUM_ARGS, "--headless", `--user-data-dir=${userDataDir}`, "--remote-debugging-port=0", "--no-default-browser-check", "about:blank"],
    { detached: true, stdio: ["ignore", "ignore", "pipe"] },
  );
  const exited = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
  const ws = await new Promise((resolve, reject) => {
    let err = "";
    const timer = setTimeout(() => reject(new Error(`chromium printed no DevTools endpoint in 20 s: ${err.slice(-2000)}`)), 20_000);
    child.stderr.on("data", (d) => {
      err += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`chromium exited (${code ?? signal}) before listening: ${err.slice(-2000)}`));
    });
  });
  child.stderr.resume();
  const browser = await chromium.connectOverCDP(ws);
  const context = browser.contexts()[0];
  return {
    browser,
    context,
    pid: child.pid,
    exited,
    /** SIGKILL now; resolves once the browser process is gone. */
    async kill() {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {}
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
      const r = await exited;
      await browser.close().catch(() => {});
      return r;
    },
  };
}

/** A fresh temporary profile directory, and its removal. */
export async function tempProfile() {
  const dir = await mkdtemp(join(tmpdir(), "sp-faults-profile-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true, maxRetries: 3 }) };
}
