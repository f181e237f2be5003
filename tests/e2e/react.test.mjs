// session-persist/react in a real Vite + React app (examples/vite-react), as a
// user gets it: the package installed from a packed copy of dist/ (npm
// --install-links), bundled by Vite with no wasm configuration, rendered under
// <React.StrictMode>, in real Chromium.
//
// `before` installs the example's dependencies and builds it twice:
//   dist-dev/  NODE_ENV=development: React's development build, where
//              StrictMode really mounts, unmounts and remounts every effect
//              (most tests use it: that is where one-session-per-name matters);
//   dist/      the production build (a smoke test).
//
// Every page counts the sessions it opens two ways (an init script):
//   - BroadcastChannels named `session-persist:<name>`: each session opens
//     exactly one and closes it on close();
//   - Web Locks held named `session-persist:<name>:tab:<tabId>`, one per open
//     session (a second session of a name in the same tab also takes one).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { useBrowser, uniqueName } from "./helpers.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const EXAMPLE = join(ROOT, "examples/vite-react");
const DEV = "examples/vite-react/dist-dev/";
const PROD = "examples/vite-react/dist/";

const require = createRequire(import.meta.url);
const browser = useBrowser();
const T = { timeout: 60_000 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function run(cmd, args, env = {}) {
  const t0 = performance.now();
  try {
    execFileSync(cmd, args, { cwd: EXAMPLE, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(" ")} failed in examples/vite-react:\n${e.stdout}\n${e.stderr}`, { cause: e });
  }
  return Math.round(performance.now() - t0);
}

/** Every file under `dir`, as paths relative to it. */
function files(dir) {
  return readdirSync(dir, { recursive: true }).filter((f) => statSync(join(dir, f)).isFile()).sort();
}

before(async () => {
  const dist = join(ROOT, "dist");
  assert.ok(existsSync(join(dist, "react.js")), "dist/react.js is missing: run `bash scripts/build.sh` first");

  // Dependencies. `session-persist` is `file:../..` installed with
  // --install-links, i.e. a packed copy of the repo (only `files`: dist/), as
  // a registry install gives; a symlink would not be what users get.
  // `npm install` alone does NOT refresh that copy after dist/ is rebuilt (it
  // says "up to date"), so: a fresh tree (npm ci) when there is none yet,
  // else drop just the copied package and let `npm install` pack it again
  // (~0.5 s instead of ~2 s for npm ci). Either way the copy is then checked
  // byte for byte against dist/.
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const flags = ["--install-links", "--no-audit", "--no-fund"];
  let how;
  if (!existsSync(join(EXAMPLE, "node_modules/.package-lock.json"))) {
    how = `npm ci ${flags.join(" ")}`;
    const ms = run(npm, ["ci", ...flags]);
    how += ` (${ms} ms)`;
  } else {
    rmSync(join(EXAMPLE, "node_modules/session-persist"), { recursive: true, force: true });
    how = `npm install ${flags.join(" ")} (session-persist re-packed)`;
    const ms = run(npm, ["install", ...flags]);
    how += ` (${ms} ms)`;
  }
  const installed = join(EXAMPLE, "node_modules/session-persist/dist");
  assert.deepEqual(files(installed), files(dist), "the installed session-persist has the files of dist/");
  for (const f of files(dist)) {
    assert.ok(readFileSync(join(installed, f)).equals(readFileSync(join(dist, f))), `installed ${f} equals dist/${f}`);
  }
  assert.ok(!lstatSync(join(EXAMPLE, "node_modules/session-persist")).isSymbolicLink(), "session-persist is a copy, not a symlink");

  // Builds: no config file, only --base ./ so both outputs can be served
  // from a sub-folder by the repo's test server.
  const vite = join(EXAMPLE, "node_modules/vite/bin/vite.js");
  assert.ok(!existsSync(join(EXAMPLE, "vite.config.js")) && !existsSync(join(EXAMPLE, "vite.config.mjs")), "no Vite config");
  const devMs = run(process.execPath, [vite, "build", "--base", "./", "--outDir", "dist-dev"], { NODE_ENV: "development" });
  const prodMs = run(process.execPath, [vite, "build", "--base", "./"], { NODE_ENV: "production" });
  // Two wasm files since the auth engine has its own (dist/wasm-auth/): Vite
  // emits both, as each is named by a literal URL; a page fetches the auth
  // one only if it calls openAuthSession.
  const built = ["wasm", "wasm-auth"].map((d) => readFileSync(join(dist, d, "session_persist_bg.wasm")));
  for (const out of ["dist-dev", "dist"]) {
    const wasm = files(join(EXAMPLE, out)).filter((f) => f.endsWith(".wasm"));
    assert.equal(wasm.length, 2, `vite emitted the session and auth .wasm into ${out}/ (${wasm})`);
    for (const [i, b] of built.entries()) {
      assert.ok(wasm.some((f) => readFileSync(join(EXAMPLE, out, f)).equals(b)), `${out}/ has dist/${["wasm", "wasm-auth"][i]}/session_persist_bg.wasm`);
    }
  }
  console.log(`react e2e setup: ${how}; vite build: development ${devMs} ms, production ${prodMs} ms`);
});

// Init script: counts BroadcastChannels by name (opened, closed) and records
// every value the provider panel's status / isRestored show.
function instrument() {
  const Native = window.BroadcastChannel;
  const bc = (window.__bc = { opened: {}, closed: {} });
  if (Native) {
    window.BroadcastChannel = class extends Native {
      constructor(name) {
        super(name);
        bc.opened[this.name] = (bc.opened[this.name] ?? 0) + 1;
      }
      close() {
        if (!this.__closed) {
          this.__closed = true;
          bc.closed[this.name] = (bc.closed[this.name] ?? 0) + 1;
        }
        return super.close();
      }
    };
  }
  window.__statuses = [];
  new MutationObserver(() => {
    const s = document.querySelector('[data-testid="p-status"]')?.textContent;
    const r = document.querySelector('[data-testid="p-restored"]')?.textContent;
    if (s === undefined) return;
    const entry = `${s}/${r}`;
    if (window.__statuses.at(-1) !== entry) window.__statuses.push(entry);
  }).observe(document, { subtree: true, childList: true, characterData: true });
}

/** Opens the example (development build by default) with the session name `name` and extra query parameters. */
function openApp(name, { build = DEV, query = "", init = [] } = {}) {
  return browser.open(`${build}?name=${encodeURIComponent(name)}${query}`, { init: [instrument, init].flat() });
}

const sel = (id) => `[data-testid="${id}"]`;
const text = (tab, id) => tab.page.textContent(sel(id));
const json = async (tab, id) => JSON.parse(await text(tab, id));

/** Waits until the element's text equals `expected` (or satisfies it, if a function of the text). */
async function waitText(tab, id, expected, timeout = 5000) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    last = await tab.page.textContent(sel(id)).catch(() => null);
    if (typeof expected === "function" ? last !== null && expected(last) : last === expected) return last;
    if (Date.now() > end) {
      throw new Error(`[data-testid=${id}] is ${JSON.stringify(last)}, expected ${typeof expected === "function" ? expected.toString() : JSON.stringify(expected)} within ${timeout} ms; page errors: ${JSON.stringify(tab.errors)}`);
    }
    await sleep(20);
  }
}

/** Waits until the element shows JSON deep-equal to `expected`. */
async function waitJson(tab, id, expected, timeout = 5000) {
  return waitText(tab, id, (t) => {
    try {
      return JSON.stringify(JSON.parse(t)) === JSON.stringify(expected);
    } catch {
      return false;
    }
  }, timeout).catch((e) => {
    e.message += `\nexpected JSON: ${JSON.stringify(expected)}`;
    throw e;
  });
}

/** Fills the panel's inputs and clicks one of its buttons; resolves with the action's { result, error } once done. */
async function act(tab, panel, button, fields = {}) {
  for (const [field, value] of Object.entries(fields)) await tab.page.fill(sel(`${panel}-${field}`), value);
  const before = Number(await text(tab, `${panel}-done`));
  await tab.page.click(sel(`${panel}-${button}`));
  await waitText(tab, `${panel}-done`, (t) => Number(t) > before);
  const error = await text(tab, `${panel}-error`);
  return { result: JSON.parse(await text(tab, `${panel}-result`)), error: error ? JSON.parse(error) : null };
}

/** updateContext({ [key]: value }) through the panel; asserts it succeeded. */
async function update(tab, panel, key, value) {
  const out = await act(tab, panel, "update", { key, value: JSON.stringify(value) });
  assert.equal(out.error, null, `updateContext({ ${key} }) succeeded`);
}

/** Open sessions of `name` in this tab, counted by channels and by Web Locks. */
function sessions(tab, name) {
  return tab.eval(async (name) => {
    const ch = `session-persist:${name}`;
    const opened = window.__bc.opened[ch] ?? 0;
    const closed = window.__bc.closed[ch] ?? 0;
    const { held = [] } = await navigator.locks.query();
    const locks = held.filter((l) => l.name.startsWith(`${ch}:tab:`)).length;
    return { opened, closed, open: opened - closed, locks };
  }, name);
}

async function waitSessions(tab, name, expected, timeout = 2000) {
  const end = Date.now() + timeout;
  let got;
  for (;;) {
    got = await sessions(tab, name);
    if (Object.entries(expected).every(([k, v]) => got[k] === v)) return got;
    if (Date.now() > end) assert.fail(`sessions of ${name}: ${JSON.stringify(got)}, expected ${JSON.stringify(expected)} within ${timeout} ms`);
    await sleep(20);
  }
}

async function ready(tab, panel = "p") {
  await waitText(tab, `${panel}-status`, "ready", 10_000);
}

test("the development build runs StrictMode for real (effects mount twice), React 19.3.1", T, async () => {
  const tab = await openApp(uniqueName("react-strict"));
  assert.equal(await text(tab, "react-mode"), "development");
  assert.match(await tab.page.textContent("h1 + p"), /^React 19\.3\.1,/);
  assert.equal(await tab.eval(() => window.effectRuns), 2, "StrictMode mounted, unmounted and remounted App's effect");
  await ready(tab);
  tab.assertNoErrors();
});

test("status goes idle/restoring -> ready, isRestored becomes true, and updateContext survives a reload", T, async () => {
  const name = uniqueName("react-restore");
  const tab = await openApp(name);
  await ready(tab);
  await ready(tab, "solo");
  assert.equal(await text(tab, "p-restored"), "true");
  assert.deepEqual(await json(tab, "p-context"), {});
  const seen = await tab.eval(() => window.__statuses);
  assert.equal(seen.at(-1), "ready/true", `statuses seen: ${seen}`);
  assert.ok(["idle/false", "restoring/false"].includes(seen[0]), `first status shown: ${seen}`);
  for (const s of seen) assert.ok(["idle/false", "restoring/false", "ready/true"].includes(s), `unexpected status/isRestored ${s} in ${seen}`);

  await update(tab, "p", "counter", 5);
  await update(tab, "p", "draft", { title: "Hello", tags: ["a", "b"] });
  await update(tab, "solo", "solo", "standalone value");
  const expected = { counter: 5, draft: { title: "Hello", tags: ["a", "b"] } };
  await waitJson(tab, "p-context", expected);

  await tab.reload();
  // Right after the reload, before the session is open, nothing is shown as restored.
  const seen2 = await tab.eval(() => window.__statuses);
  assert.ok(!seen2.slice(0, -1).includes("ready/true") && !seen2.includes("restoring/true"), `statuses after reload: ${seen2}`);
  await ready(tab);
  await ready(tab, "solo");
  assert.equal(await text(tab, "p-restored"), "true");
  assert.deepEqual(await json(tab, "p-context"), expected);
  assert.deepEqual(await json(tab, "ctx-all"), expected);
  assert.equal(await text(tab, "ctx-key"), "5");
  assert.deepEqual(await json(tab, "solo-context"), { solo: "standalone value" });
  assert.equal(await text(tab, "p-hook-error"), "");
  tab.assertNoErrors();
});

test("StrictMode opens exactly one session per name (one channel, one tab lock), and keeps it open", T, async () => {
  const name = uniqueName("react-one");
  const tab = await openApp(name);
  await ready(tab);
  await ready(tab, "solo");
  await sleep(500); // a late second open, or a close, would show by now
  assert.deepEqual(await sessions(tab, name), { opened: 1, closed: 0, open: 1, locks: 1 }, "provider's name");
  assert.deepEqual(await sessions(tab, `${name}-solo`), { opened: 1, closed: 0, open: 1, locks: 1 }, "standalone hook's name");
  // Still usable after StrictMode's unmount/remount: not a closed session.
  await update(tab, "p", "counter", 1);
  await waitText(tab, "ctx-key", "1");
  tab.assertNoErrors();
});

test("unmounting the provider closes its session; remounting opens one again and restores the context", T, async () => {
  const name = uniqueName("react-unmount");
  const tab = await openApp(name);
  await ready(tab);
  await update(tab, "p", "counter", 7);
  await update(tab, "p", "note", "typed just before unmount"); // unsaved yet (300 ms debounce)

  await tab.page.click(sel("toggle-provider"));
  assert.equal(await text(tab, "provider-mounted"), "false");
  await waitSessions(tab, name, { opened: 1, closed: 1, open: 0, locks: 0 }, 1000);
  // The standalone hook's session is not touched.
  assert.deepEqual(await sessions(tab, `${name}-solo`), { opened: 1, closed: 0, open: 1, locks: 1 });

  await tab.page.click(sel("toggle-provider"));
  await ready(tab);
  await waitSessions(tab, name, { opened: 2, closed: 1, open: 1, locks: 1 }, 1000);
  assert.deepEqual(await json(tab, "p-context"), { counter: 7, note: "typed just before unmount" });
  assert.equal(await text(tab, "ctx-key"), "7");
  await sleep(300);
  assert.deepEqual(await sessions(tab, name), { opened: 2, closed: 1, open: 1, locks: 1 }, "still one session after remount");
  tab.assertNoErrors();
});

test("unmount and immediate remount (same task burst) keep a change made just before", T, async () => {
  const name = uniqueName("react-flip");
  const tab = await openApp(name);
  await ready(tab);
  await update(tab, "p", "counter", 1);
  await sleep(500); // saved
  await update(tab, "p", "counter", 2); // not saved yet
  // Unmount, then remount as fast as a user (or a router) can: two clicks.
  await tab.page.click(sel("toggle-provider"));
  await tab.page.click(sel("toggle-provider"));
  await ready(tab);
  await sleep(500);
  assert.equal(await text(tab, "ctx-key"), "2", "the remounted provider shows the last value");
  const n = await sessions(tab, name);
  assert.equal(n.open, 1, `one session open after the flip: ${JSON.stringify(n)}`);
  assert.equal(n.locks, 1, `one tab lock after the flip: ${JSON.stringify(n)}`);
  await tab.reload();
  await ready(tab);
  assert.equal(await text(tab, "ctx-key"), "2", "after a reload too");
  tab.assertNoErrors();
});

test("remounting the provider in one commit (new key) keeps its session open: no close, no second open", T, async () => {
  const name = uniqueName("react-rekey");
  const tab = await openApp(name);
  await ready(tab);
  await update(tab, "p", "counter", 8);
  await tab.page.click(sel("rekey-provider"));
  await ready(tab);
  assert.equal(await text(tab, "ctx-key"), "8");
  await sleep(300);
  assert.deepEqual(await sessions(tab, name), { opened: 1, closed: 0, open: 1, locks: 1 });
  // And the store is still the one every new user of the name finds.
  await tab.page.click(sel("toggle-named"));
  await waitText(tab, "named-status", "ready");
  assert.equal(await tab.eval(() => window.__sessions.named === window.__sessions.p), true);
  assert.deepEqual(await sessions(tab, name), { opened: 1, closed: 0, open: 1, locks: 1 });
  tab.assertNoErrors();
});

test("writing from an effect with [status, updateContext] as dependencies runs once, not in a loop", T, async () => {
  const name = uniqueName("react-effect");
  const tab = await openApp(name, { query: "&effect=1" });
  await ready(tab);
  await waitJson(tab, "ctx-all", { lastVisited: "home" });
  await sleep(1000);
  const runs = await tab.eval(() => window.lastVisitedRuns);
  const renders = Number(await text(tab, "ctx-key-renders"));
  // StrictMode may run the effect twice; a loop runs it hundreds of times.
  assert.ok(runs <= 2, `the effect ran ${runs} times in about a second (useSessionContext("counter") rendered ${renders} times)`);
  tab.assertNoErrors();
});

test("hooks inside the provider share its session; useSessionRecovery({ name }) outside opens its own", T, async () => {
  const name = uniqueName("react-share");
  const tab = await openApp(name);
  await ready(tab);
  await ready(tab, "solo");
  await waitText(tab, "probe-status", "ready");
  const pTab = await text(tab, "p-tab-id");
  assert.ok(pTab.length > 0, "the provider's session has a tabId");
  assert.equal(await text(tab, "probe-tab-id"), pTab, "both hooks in the provider see the same session.tabId");
  const ids = await tab.eval(() => ({
    same: window.__sessions.p === window.__sessions.probe,
    soloIsOther: window.__sessions.solo !== window.__sessions.p && window.__sessions.solo != null,
  }));
  assert.deepEqual(ids, { same: true, soloIsOther: true });
  assert.equal((await sessions(tab, name)).open, 1, "one channel for the provider's hooks");
  assert.equal((await sessions(tab, `${name}-solo`)).open, 1, "the standalone hook has its own channel");

  // A change through one hook shows in every hook of the provider, not in the standalone one.
  await update(tab, "p", "counter", 3);
  await waitJson(tab, "ctx-all", { counter: 3 });
  await waitText(tab, "ctx-key", "3");
  assert.deepEqual(await json(tab, "solo-context"), {});

  // Unmounting the standalone hook closes its session, not the provider's.
  await tab.page.click(sel("toggle-solo"));
  await waitSessions(tab, `${name}-solo`, { open: 0, locks: 0 }, 1000);
  assert.deepEqual(await sessions(tab, name), { opened: 1, closed: 0, open: 1, locks: 1 });
  tab.assertNoErrors();
});

test("useSessionRecovery({ name }) outside the provider, with the provider's name, shares its session", T, async () => {
  const name = uniqueName("react-named");
  const tab = await openApp(name);
  await ready(tab);
  await update(tab, "p", "counter", 4);
  await tab.page.click(sel("toggle-named"));
  await waitText(tab, "named-status", "ready");
  assert.deepEqual(await json(tab, "named-context"), { counter: 4 }, "shown at once, no restore");
  assert.equal(await tab.eval(() => window.__sessions.named === window.__sessions.p), true, "the same Session object");
  await sleep(300);
  assert.deepEqual(await sessions(tab, name), { opened: 1, closed: 0, open: 1, locks: 1 });

  // The provider goes, the other user stays: the session stays open.
  await tab.page.click(sel("toggle-provider"));
  await sleep(300);
  assert.deepEqual(await sessions(tab, name), { opened: 1, closed: 0, open: 1, locks: 1 }, "still used by the named hook");
  assert.equal(await text(tab, "named-status"), "ready");
  // The last user goes: closed.
  await tab.page.click(sel("toggle-named"));
  await waitSessions(tab, name, { opened: 1, closed: 1, open: 0, locks: 0 }, 1000);
  tab.assertNoErrors();
});

test("restoreOnMount: false starts from an empty context; initialSnapshotId restores a snapshot on mount", T, async () => {
  const name = uniqueName("react-options");
  const tab = await openApp(name);
  await ready(tab);
  await update(tab, "p", "counter", 1);
  await act(tab, "p", "snapshot", { "snapshot-name": "at one" });
  const id = await tab.page.inputValue(sel("p-restore-id"));
  await update(tab, "p", "counter", 2);
  await sleep(500);
  // Same tab (same storage), other query parameters.
  const visit = async (query) => {
    await tab.page.goto(`${tab.url}${query}`);
    await tab.ready();
    await ready(tab);
  };

  await visit("");
  assert.deepEqual(await json(tab, "p-context"), { counter: 2 }, "stored context (control)");
  await visit(`&snapshot=${encodeURIComponent(id)}`);
  assert.deepEqual(await json(tab, "p-context"), { counter: 1 }, "initialSnapshotId");
  assert.equal(await text(tab, "ctx-key"), "1");
  await update(tab, "p", "counter", 3);
  await sleep(500);
  await visit("&fresh=1");
  assert.deepEqual(await json(tab, "p-context"), {}, "restoreOnMount: false");
  assert.equal(await text(tab, "ctx-key"), "undefined");
  tab.assertNoErrors();
});

test("without IndexedDB the hooks say degraded, are restored, and work on localStorage", T, async () => {
  const name = uniqueName("react-degraded");
  const init = () => Object.defineProperty(window, "indexedDB", { value: undefined, configurable: true });
  const tab = await openApp(name, { init });
  await waitText(tab, "p-status", "degraded", 10_000);
  assert.equal(await text(tab, "p-restored"), "true");
  assert.equal(await tab.eval(() => window.__sessions.p.info().backend), "localstorage");
  await update(tab, "p", "counter", 6);
  await waitText(tab, "ctx-key", "6");
  await tab.reload();
  await waitText(tab, "p-status", "degraded", 10_000);
  assert.equal(await text(tab, "ctx-key"), "6");
  tab.assertNoErrors();
});

test("useSessionContext(key) re-renders on changes; another tab's change reaches the hooks and onSessionStorageChange", T, async () => {
  const name = uniqueName("react-tabs");
  const tab = await openApp(name);
  await ready(tab);
  assert.equal(await text(tab, "ctx-key"), "undefined");
  const renders0 = Number(await text(tab, "ctx-key-renders"));
  await update(tab, "p", "counter", 1);
  await waitText(tab, "ctx-key", "1");
  assert.ok(Number(await text(tab, "ctx-key-renders")) > renders0, "useSessionContext('counter') re-rendered");
  await sleep(400);
  assert.equal(await text(tab, "remote-count"), "0", "a change of this tab is not a remote change");

  const tab2 = await tab.newTab();
  await ready(tab2);
  assert.equal(await text(tab2, "ctx-key"), "1", "the second tab loads the first one's value");
  await update(tab2, "p", "counter", 42);
  await waitText(tab, "ctx-key", "42", 3000);
  await waitJson(tab, "ctx-all", { counter: 42 });
  await waitJson(tab, "p-context", { counter: 42 });
  await waitText(tab, "remote-count", (t) => Number(t) >= 1);
  assert.deepEqual(await json(tab, "remote-last"), { counter: 42 });

  // shareContext from tab 2, a new key.
  const before = Number(await text(tab, "remote-count"));
  const out = await act(tab2, "p", "share", { key: "shared", value: JSON.stringify({ by: "tab2" }) });
  assert.equal(out.error, null);
  await waitJson(tab, "p-context", { counter: 42, shared: { by: "tab2" } }, 3000);
  await waitText(tab, "remote-count", (t) => Number(t) > before);
  assert.deepEqual(await json(tab, "remote-last"), { counter: 42, shared: { by: "tab2" } });
  assert.equal(await text(tab2, "remote-count"), "0", "tab 2 saw no remote change of its own");
  tab.assertNoErrors();
});

test("createSnapshot / listSnapshots / restoreSnapshot through the hook", T, async () => {
  const name = uniqueName("react-snap");
  const tab = await openApp(name);
  await ready(tab);
  await update(tab, "p", "counter", 1);
  const created = await act(tab, "p", "snapshot", { "snapshot-name": "one" });
  assert.equal(created.error, null);
  const id = await tab.page.inputValue(sel("p-restore-id"));
  assert.ok(typeof id === "string" && id.length > 0, "createSnapshot resolved with an id");

  await update(tab, "p", "counter", 2);
  await update(tab, "p", "extra", true);
  await waitText(tab, "ctx-key", "2");

  const listed = await act(tab, "p", "list");
  assert.equal(listed.error, null);
  const list = await json(tab, "p-snapshots");
  assert.equal(list.length, 1, JSON.stringify(list));
  assert.equal(list[0].id, id);
  assert.equal(list[0].name, "one");
  assert.equal(list[0].source, "manual");
  assert.equal(typeof list[0].createdAt, "number");

  const restored = await act(tab, "p", "restore");
  assert.equal(restored.error, null);
  await waitJson(tab, "p-context", { counter: 1 });
  await waitText(tab, "ctx-key", "1");
  await waitJson(tab, "ctx-all", { counter: 1 });

  await act(tab, "p", "list");
  const after = await json(tab, "p-snapshots");
  assert.deepEqual(after.map((s) => s.source).sort(), ["manual", "pre-restore"], JSON.stringify(after));

  // An unknown id: SNAPSHOT_NOT_FOUND, shown by the app; the context is unchanged.
  const missing = await act(tab, "p", "restore", { "restore-id": "no-such-snapshot" });
  assert.equal(missing.error?.code, "SNAPSHOT_NOT_FOUND", JSON.stringify(missing));
  assert.equal(missing.error?.isError, true);
  assert.deepEqual(await json(tab, "p-context"), { counter: 1 });
  assert.equal(await text(tab, "p-status"), "ready");
  tab.assertNoErrors();
});

test("updateContext with a function throws an Error with code NOT_SERIALIZABLE; nothing changes", T, async () => {
  const name = uniqueName("react-error");
  const tab = await openApp(name);
  await ready(tab);
  await update(tab, "p", "counter", 1);
  await update(tab, "p", "keep", "me");
  await sleep(500); // saved
  const before = await json(tab, "p-context");
  const renders = await text(tab, "ctx-key-renders");

  const out = await act(tab, "p", "update-function", { key: "counter" });
  assert.equal(out.error?.code, "NOT_SERIALIZABLE", JSON.stringify(out));
  assert.equal(out.error.isError, true, "an Error instance");
  assert.match(out.error.message, /counter/, "the message names the key");
  assert.equal(await text(tab, "p-error"), JSON.stringify(out.error), "the app caught and shows it");

  await sleep(300);
  assert.deepEqual(await json(tab, "p-context"), before);
  assert.deepEqual(await json(tab, "ctx-all"), before);
  assert.equal(await text(tab, "ctx-key"), "1");
  assert.equal(await text(tab, "ctx-key-renders"), renders, "no re-render for a refused change");
  assert.equal(await text(tab, "p-status"), "ready", "a refused call does not change the status");
  assert.equal(await text(tab, "p-hook-error"), "", "nor the hook's error");
  // What is stored is unchanged too.
  await tab.reload();
  await ready(tab);
  assert.deepEqual(await json(tab, "p-context"), before);
  tab.assertNoErrors();
});

test("production build: one session per name, restore after reload, no errors", T, async () => {
  const name = uniqueName("react-prod");
  const tab = await openApp(name, { build: PROD });
  assert.equal(await text(tab, "react-mode"), "production");
  assert.equal(await tab.eval(() => window.effectRuns), 1, "no StrictMode double effects in production");
  await ready(tab);
  await ready(tab, "solo");
  await update(tab, "p", "counter", 9);
  await waitText(tab, "ctx-key", "9");
  assert.deepEqual(await sessions(tab, name), { opened: 1, closed: 0, open: 1, locks: 1 });
  await tab.reload();
  await ready(tab);
  assert.equal(await text(tab, "ctx-key"), "9");
  await tab.page.click(sel("toggle-provider"));
  await waitSessions(tab, name, { open: 0, locks: 0 }, 1000);
  tab.assertNoErrors();
});

// Rendered by react-dom/server in Node (dist/react.js) and hydrated in the page
// (the example's bundled React and bindings): `kit` is React plus the bindings.
function hydrationTree(kit, name) {
  const h = kit.React.createElement;
  function Recovery({ options, label }) {
    const r = kit.useSessionRecovery(options);
    return h("p", null, `${label}: status=${r.status} restored=${r.isRestored} ctx=${JSON.stringify(r.contextData)}`);
  }
  function Key() {
    const v = kit.useSessionContext("counter");
    return h("i", null, `counter=${v === undefined ? "undefined" : JSON.stringify(v)}`);
  }
  function Whole() {
    return h("code", null, `all=${JSON.stringify(kit.useSessionContext())}`);
  }
  return h(
    "section",
    null,
    h(kit.SessionProvider, { options: { name } }, h(Recovery, { label: "provider" }), h(Key), h(Whole)),
    h(Recovery, { label: "own", options: { name: `${name}-own` } }),
  );
}

/** Puts `html` in a new element of the page and hydrates `hydrationTree(kit, name)` on it (in StrictMode). */
function hydrateInPage(tab, html, name, until) {
  return tab.eval(
    async ({ src, html, name, until }) => {
      const kit = window.hydrationKit;
      const tree = new Function(`return (${src})`)()(kit, name);
      const el = document.createElement("div");
      el.innerHTML = html;
      document.body.append(el);
      const recoverable = [];
      kit.hydrateRoot(el, kit.React.createElement(kit.React.StrictMode, null, tree), {
        onRecoverableError: (e) => recoverable.push(String(e?.message ?? e)),
      });
      const end = Date.now() + 5000;
      const parts = [].concat(until); // every part must show before the checks
      while (!parts.every((p) => el.textContent.includes(p)) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      return { recoverable, text: el.textContent };
    },
    { src: hydrationTree.toString(), html, name, until },
  );
}

test("server-rendered markup hydrates with no mismatch, whether the session is already open in the page or not", T, async () => {
  const { renderToString } = require("react-dom/server");
  const React = require("react");
  const kit = { React, ...(await import("../../dist/react.js")) };
  const name = uniqueName("react-hydrate");
  const tab = await openApp(name);
  await ready(tab);
  await update(tab, "p", "counter", 5); // this page's session of `name` is open, with data

  const serverHtml = (n) => renderToString(hydrationTree(kit, n));
  const html = serverHtml(name);
  assert.equal(
    html,
    `<section><p>provider: status=idle restored=false ctx={}</p><i>counter=undefined</i><code>all={}</code><p>own: status=idle restored=false ctx={}</p></section>`,
  );

  // Control first: markup that differs from the first client render is reported
  // (so the checks below can fail). React also logs it; those lines are dropped.
  const tampered = await hydrateInPage(tab, html.replace("counter=undefined", "counter=7"), uniqueName("react-hydrate-control"), "own: status=ready");
  assert.ok(tampered.recoverable.some((m) => /hydrat/i.test(m)), `a mismatch is reported: ${JSON.stringify(tampered)}`);
  tab.errors.splice(0, tab.errors.length, ...tab.errors.filter((e) => !/hydrat|didn't match|server rendered/i.test(e)));

  // The session of `name` is open here with { counter: 5 }: hydration must still
  // see the server's empty context, then show the real one.
  // Wait for both parts: "own" opens a second session from scratch, which
  // can take longer than the provider's, already open.
  const open = await hydrateInPage(tab, html, name, ['provider: status=ready restored=true ctx={"counter":5}', "own: status=ready"]);
  assert.deepEqual(open.recoverable, [], "no hydration mismatch");
  assert.match(open.text, /provider: status=ready restored=true ctx=\{"counter":5\}counter=5all=\{"counter":5\}own: status=ready/);

  // A name nobody opened yet in this page.
  const fresh = uniqueName("react-hydrate-fresh");
  const freshResult = await hydrateInPage(tab, serverHtml(fresh), fresh, ["provider: status=ready", "own: status=ready"]);
  assert.deepEqual(freshResult.recoverable, [], "no hydration mismatch");
  assert.match(freshResult.text, /provider: status=ready restored=true ctx=\{\}counter=undefinedall=\{\}own: status=ready/);
  tab.assertNoErrors();
});
