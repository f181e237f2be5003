// Page-side helpers for bench/pages/bench.html, installed with
// `page.evaluate(installHelpers)` after every load of the page: the test
// context generator and one adapter per contender. Self-contained (it runs in
// the page, not in Node); it uses the libraries bench.html put in `window.lib`.

export const CONTENDERS = {
  "raw-idb": "raw IndexedDB",
  "idb-keyval": "idb-keyval",
  localforage: "localForage",
  dexie: "Dexie",
  localstorage: "raw localStorage",
  zustand: "zustand persist",
  "session-persist": "session-persist",
};

export function installHelpers() {
  const { sp, idbKeyval, Dexie, localforage, zustand } = window.lib;

  // --- the context: deterministic, realistic nested JSON -------------------
  const WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore " +
    "et dolore magna aliqua draft invoice customer order filter sidebar panel theme dark light recent search").split(" ");
  const PREFIXES = ["draft", "panel", "filter", "pref", "form", "cursor", "tab", "recent"];

  // mulberry32: the same values in every run and every browser.
  function rng(seed) {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const words = (r, n) => Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]).join(" ");

  const keyName = (i) => `${PREFIXES[i % PREFIXES.length]}:${i}`;

  /** Value of key i at revision `rev` (every revision gives a different value). */
  function makeValue(i, rev = 0) {
    const r = rng(i * 7919 + 1);
    switch (i % 8) {
      case 0: return `${words(r, 12 + Math.floor(r() * 20))} (rev ${rev})`;
      case 1: return Math.round(r() * 1e6) / 100 + rev;
      case 2: return [rev, ...Array.from({ length: 3 + Math.floor(r() * 6) }, () => Math.floor(r() * 1e5))];
      default: return {
        id: i,
        title: words(r, 3 + Math.floor(r() * 4)),
        done: r() < 0.3,
        rev,
        tags: [WORDS[i % WORDS.length], WORDS[(i * 7) % WORDS.length]],
        meta: { owner: `user${i % 17}`, score: Math.round(r() * 1000) / 10, updatedAt: 1_700_000_000_000 + i * 60_000 + rev },
        notes: words(r, 4 + Math.floor(r() * 10)),
      };
    }
  }

  /** A context whose JSON text is at most `bytes` long (and within ~200 B of it). */
  function makeContext(bytes, rev = 0) {
    const ctx = {};
    let size = 2; // "{}"
    for (let i = 0; ; i++) {
      const key = keyName(i);
      const value = makeValue(i, rev);
      const add = JSON.stringify(key).length + 1 + JSON.stringify(value).length + (i ? 1 : 0);
      if (size + add > bytes) break;
      ctx[key] = value;
      size += add;
    }
    return ctx;
  }

  // --- raw IndexedDB ------------------------------------------------------
  const request = (r) => new Promise((ok, fail) => { r.onsuccess = () => ok(r.result); r.onerror = () => fail(r.error); });
  const committed = (tx) => new Promise((ok, fail) => { tx.oncomplete = () => ok(); tx.onabort = () => fail(tx.error); });
  function rawOpen(name) {
    const r = indexedDB.open(name);
    r.onupgradeneeded = () => r.result.createObjectStore("kv");
    return request(r);
  }
  function rawPut(db, value) {
    const tx = db.transaction("kv", "readwrite");
    tx.objectStore("kv").put(value, "ctx");
    return committed(tx);
  }
  async function rawGet(name) {
    const db = await request(indexedDB.open(name));
    return request(db.transaction("kv").objectStore("kv").get("ctx"));
  }

  // zustand persist over localStorage, counting storage writes so a caller
  // can check the write happened synchronously inside setState.
  function zustandStore(name, initial) {
    const storage = {
      writes: 0,
      getItem: (k) => localStorage.getItem(k),
      setItem: (k, v) => { storage.writes++; localStorage.setItem(k, v); },
      removeItem: (k) => localStorage.removeItem(k),
    };
    const store = zustand.createStore(zustand.persist(() => ({ ...initial }), { name, storage: zustand.createJSONStorage(() => storage) }));
    return { store, storage };
  }

  // --- savers: store `ctx` under `name`, then write changes -----------------
  // Each returns { key(k, v), all(next), close() }: key() changes one key and
  // resolves once the whole context is stored (durable: the transaction
  // completed); all() stores a context where every key changed.
  const savers = {
    async "raw-idb"(name, ctx) {
      const db = await rawOpen(name);
      await rawPut(db, ctx);
      return { key: (k, v) => { ctx[k] = v; return rawPut(db, ctx); }, all: (next) => rawPut(db, next), close: () => db.close() };
    },
    async "idb-keyval"(name, ctx) {
      const store = idbKeyval.createStore(name, "kv");
      await idbKeyval.set("ctx", ctx, store);
      return { key: (k, v) => { ctx[k] = v; return idbKeyval.set("ctx", ctx, store); }, close() {} };
    },
    async localforage(name, ctx) {
      const lf = localforage.createInstance({ name, storeName: "kv", driver: localforage.INDEXEDDB });
      await lf.setItem("ctx", ctx);
      return { key: (k, v) => { ctx[k] = v; return lf.setItem("ctx", ctx); }, close() {} };
    },
    async dexie(name, ctx) {
      const db = new Dexie(name);
      db.version(1).stores({ kv: "" }); // out-of-line keys, like the others
      await db.kv.put(ctx, "ctx");
      return { key: (k, v) => { ctx[k] = v; return db.kv.put(ctx, "ctx"); }, close: () => db.close() };
    },
    async localstorage(name, ctx) {
      localStorage.setItem(name, JSON.stringify(ctx));
      return { key: (k, v) => { ctx[k] = v; localStorage.setItem(name, JSON.stringify(ctx)); }, close: () => localStorage.removeItem(name) };
    },
    async zustand(name, ctx) {
      const { store, storage } = zustandStore(name, {});
      store.setState(ctx);
      return {
        key(k, v) {
          const before = storage.writes;
          store.setState({ [k]: v });
          if (storage.writes !== before + 1) throw new Error("zustand persist did not write synchronously in setState");
        },
        close: () => localStorage.removeItem(name),
      };
    },
    async "session-persist"(name, ctx) {
      // A long debounce so only save() writes.
      const s = await sp.openSession({ name, saveDebounce: 60000 });
      s.update(ctx);
      await s.save();
      return {
        key: async (k, v) => { s.set(k, v); await s.save(); },
        all: async (next) => { s.update(next); await s.save(); },
        close: () => s.close(),
      };
    },
  };

  // --- loaders: read the context stored under `name` in a fresh page --------
  // Each resolves to the context object, opening whatever it needs.
  const loaders = {
    "raw-idb": (name) => rawGet(name),
    "idb-keyval": (name) => idbKeyval.get("ctx", idbKeyval.createStore(name, "kv")),
    localforage: (name) => localforage.createInstance({ name, storeName: "kv", driver: localforage.INDEXEDDB }).getItem("ctx"),
    dexie(name) {
      const db = new Dexie(name);
      db.version(1).stores({ kv: "" });
      return db.kv.get("ctx");
    },
    localstorage: (name) => JSON.parse(localStorage.getItem(name)),
    async "session-persist"(name) {
      const s = await sp.openSession({ name });
      return s.get();
    },
  };

  // Runs `change(i)` for i < n spread evenly over one second. Timers are
  // clamped to ~4 ms once nested, so each tick makes every change due by now
  // (1000 changes: about 4 per tick, 1 ms apart on average).
  async function paced(n, change) {
    const t0 = performance.now();
    let i = 0;
    let ticks = 0;
    await new Promise((done) => {
      const tick = () => {
        ticks++;
        const due = Math.min(n, Math.floor(((performance.now() - t0) * n) / 1000) + 1);
        for (; i < due; i++) change(i);
        if (i < n) setTimeout(tick, 1);
        else done();
      };
      tick();
    });
    return { ms: performance.now() - t0, ticks };
  }

  window.bench = { makeContext, makeValue, keyName, savers, loaders, zustandStore, rawOpen, rawPut, paced };
}
