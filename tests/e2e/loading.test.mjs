// How the core entry loads its wasm in a page: lazily, once, only the one a
// call needs (session or auth), and again after a failure.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useBrowser, uniqueName } from "./helpers.mjs";

const browser = useBrowser();
const T = { timeout: 60_000 };

test("importing the package fetches no wasm; the first openSession fetches it once", T, async () => {
  const tab = await browser.open(); // fixture: imports /dist/index.js
  const requests = [];
  tab.page.on("request", (r) => requests.push(new URL(r.url()).pathname));
  await tab.eval(() => new Promise((r) => setTimeout(r, 200)));
  assert.deepEqual(requests.filter((p) => p.startsWith("/dist/wasm/")), [], "nothing loaded before openSession");

  await tab.eval(async (name) => {
    const [a, b] = await Promise.all([sp.openSession({ name }), sp.openSession({ name: name + "-2" })]);
    await sp.openSession({ name: name + "-3" });
    await Promise.all([a.close(), b.close()]);
  }, uniqueName("lazy"));
  assert.deepEqual(requests.filter((p) => p.endsWith(".wasm")), ["/dist/wasm/session_persist_bg.wasm"]);
  tab.assertNoErrors();
});

test("openAuthSession fetches only the auth wasm, once; openSession only the session wasm", T, async () => {
  const tab = await browser.open();
  const requests = [];
  tab.page.on("request", (r) => requests.push(new URL(r.url()).pathname));
  await tab.eval(async (name) => {
    const refresh = async () => ({ accessToken: "a", expiresAt: Date.now() + 60_000 });
    const [a, b] = await Promise.all([sp.openAuthSession({ name, refresh }), sp.openAuthSession({ name: name + "-2", refresh })]);
    await Promise.all([a.close(), b.close()]);
  }, uniqueName("lazy-auth"));
  assert.deepEqual(requests.filter((p) => p.endsWith(".wasm")), ["/dist/wasm-auth/session_persist_bg.wasm"]);
  await tab.eval(async (name) => (await sp.openSession({ name })).close(), uniqueName("lazy-after-auth"));
  assert.deepEqual(requests.filter((p) => p.endsWith(".wasm")), ["/dist/wasm-auth/session_persist_bg.wasm", "/dist/wasm/session_persist_bg.wasm"]);
  tab.assertNoErrors();
});

test("a failed wasm download rejects with WASM_LOAD_FAILED and a later openSession retries", T, async () => {
  const tab = await browser.open();
  await tab.page.route("**/session_persist_bg.wasm", (route) => route.abort());
  const failed = await tab.eval((name) => caught(() => sp.openSession({ name })), uniqueName("retry"));
  assert.equal(failed?.how, "reject");
  assert.equal(failed?.code, "WASM_LOAD_FAILED");
  tab.errors.length = 0; // the aborted request logs "Failed to load resource": expected here

  await tab.page.unroute("**/session_persist_bg.wasm");
  const info = await tab.eval(async (name) => (await sp.openSession({ name })).info(), uniqueName("retry"));
  assert.equal(info.backend, "indexeddb");
  tab.assertNoErrors();
});
