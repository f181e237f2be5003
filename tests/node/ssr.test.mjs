// The core entry on a server: importing it never throws and reads no browser
// global; the functions answer without a browser.
import { test } from "node:test";
import assert from "node:assert/strict";

const ENTRY = new URL("../../dist/index.js", import.meta.url);
const BROWSER_GLOBALS = [
  "window", "self", "document", "localStorage", "sessionStorage", "indexedDB",
  "navigator", "location", "history",
];

// Replaces each browser global by a getter that records the read and throws,
// so a module that reads one fails to import, even inside try/catch.
function trapBrowserGlobals() {
  const touched = [];
  const saved = new Map();
  for (const name of BROWSER_GLOBALS) {
    const desc = Object.getOwnPropertyDescriptor(globalThis, name);
    if (desc && !desc.configurable) continue;
    saved.set(name, desc);
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() {
        touched.push(name);
        throw new Error(`browser global "${name}" read on the server`);
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

test("the browser-global trap catches a module that reads window at import", async () => {
  const trap = trapBrowserGlobals();
  try {
    await assert.rejects(import("data:text/javascript,export const w = typeof window;"));
    assert.deepEqual(trap.touched, ["window"]);
  } finally {
    trap.restore();
  }
});

test("importing the core entry in Node touches no browser global and does not throw", async () => {
  const trap = trapBrowserGlobals();
  let mod;
  try {
    mod = await import(ENTRY.href);
  } finally {
    trap.restore();
  }
  assert.deepEqual(trap.touched, []);
  assert.equal(typeof mod.openSession, "function");
  assert.equal(typeof mod.getOrCreateSessionId, "function");
});

test("getOrCreateSessionId() returns an empty string on the server", async () => {
  const { getOrCreateSessionId } = await import(ENTRY.href);
  assert.equal(getOrCreateSessionId(), "");
  assert.equal(getOrCreateSessionId("other"), "");
});

test("openSession() rejects on the server with code UNSUPPORTED_ENVIRONMENT", async () => {
  const { openSession } = await import(ENTRY.href);
  const p = openSession({ name: "ssr" });
  assert.ok(p instanceof Promise, "openSession returns a promise rather than throwing synchronously");
  await assert.rejects(p, (err) => {
    assert.ok(err instanceof Error);
    assert.equal(err.code, "UNSUPPORTED_ENVIRONMENT");
    assert.match(err.message, /browser/);
    return true;
  });
  await assert.rejects(openSession(), { code: "UNSUPPORTED_ENVIRONMENT" });
});

test("openAuthSession() rejects on the server with code UNSUPPORTED_ENVIRONMENT", async () => {
  const { openAuthSession } = await import(ENTRY.href);
  const p = openAuthSession({ refresh: async () => ({ accessToken: "a", expiresAt: Date.now() + 1000 }) });
  assert.ok(p instanceof Promise, "openAuthSession returns a promise rather than throwing synchronously");
  await assert.rejects(p, (err) => {
    assert.ok(err instanceof Error);
    assert.equal(err.code, "UNSUPPORTED_ENVIRONMENT");
    assert.match(err.message, /browser/);
    return true;
  });
});
