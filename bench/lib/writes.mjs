// 4. Write count: `updates` changes of one small key spread evenly over one
// second, then 1.5 s of quiet; how many storage writes did they cost?
//   session-persist, default options (saveDebounce 300, autoSaveInterval
//   30000): IndexedDB read-write transactions that put the context record
//   ("ctx"), counted by wrapping IDBDatabase.prototype.transaction and
//   IDBObjectStore.prototype.put before the session opens; and `saved` events.
//   zustand persist, default storage (localStorage): localStorage.setItem
//   calls for its key, counted by wrapping Storage.prototype.setItem.

// In a fresh bench page (bench.paced spreads the updates: see page-helpers.mjs).
async function countSessionWrites({ name, updates, quietMs }) {
  const dbName = `session-persist:${name}`;
  const counts = { readwrite: 0, puts: 0 };
  const ctxTxs = new Set();
  const transaction = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (stores, mode, ...rest) {
    if (this.name === dbName && mode === "readwrite") counts.readwrite++;
    return transaction.call(this, stores, mode, ...rest);
  };
  const put = IDBObjectStore.prototype.put;
  IDBObjectStore.prototype.put = function (value, key) {
    if (this.transaction.db.name === dbName) {
      counts.puts++;
      if (key === "ctx") ctxTxs.add(this.transaction);
    }
    return put.apply(this, arguments);
  };
  try {
    const s = await sp.openSession({ name });
    let saved = 0;
    s.on("saved", () => saved++);
    const atOpen = { ctxWrites: ctxTxs.size, ...counts };
    ctxTxs.clear();
    counts.readwrite = counts.puts = 0;
    const timing = await bench.paced(updates, (i) => s.set("counter", i));
    await new Promise((ok) => setTimeout(ok, quietMs));
    const result = { writes: ctxTxs.size, readwrite: counts.readwrite, puts: counts.puts, saved, atOpen, ...timing, stored: s.info().revision };
    await s.close();
    return result;
  } finally {
    IDBDatabase.prototype.transaction = transaction;
    IDBObjectStore.prototype.put = put;
  }
}

async function countZustandWrites({ name, updates, quietMs }) {
  let writes = 0;
  const setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = function (key, value) {
    if (this === localStorage && key === name) writes++;
    return setItem.call(this, key, value);
  };
  try {
    const { createStore, persist } = lib.zustand;
    const store = createStore(persist(() => ({ counter: -1 }), { name })); // default storage: localStorage
    const timing = await bench.paced(updates, (i) => store.setState({ counter: i }));
    await new Promise((ok) => setTimeout(ok, quietMs));
    localStorage.removeItem(name);
    return { writes, ...timing };
  } finally {
    Storage.prototype.setItem = setItem;
  }
}

export async function measureWrites(page, { updates, run, log }) {
  const quietMs = 1500;
  const ours = await page.evaluate(countSessionWrites, { name: `bench-${run}-writes`, updates, quietMs });
  const zustand = await page.evaluate(countZustandWrites, { name: `bench-${run}-writes-zustand`, updates, quietMs });
  log(`writes: ${updates} updates in ${ours.ms.toFixed(0)} ms (${ours.ticks} timer ticks) / zustand ${zustand.ms.toFixed(0)} ms`);
  return { updates, quietMs, "session-persist": ours, zustand };
}
