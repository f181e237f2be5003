// End-to-end harness: the repo's static server on a free port, one headless
// Chromium per test file (playwright-core, the system browser), a fresh
// browser context (so fresh storage) per test, and every page error or
// console error collected for the test to assert on.
//
//   const browser = useBrowser();            // at the top of a test file
//   test("...", async () => {
//     const tab = await browser.open();      // fixture page, window.sp = the package
//     await tab.eval(() => sp.getOrCreateSessionId());
//     tab.assertNoErrors();
//   });
import { before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer } from "../../scripts/serve.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const FIXTURE = "tests/e2e/fixture.html";
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
];

// Installed in every page before its scripts run.
// caught(fn): how fn failed, keeping the error's `code` (lost when an
// exception crosses page.evaluate): null if it neither threw nor rejected,
// else { how: "throw" | "reject", code, message, isError }.
function pageHelpers() {
  const describe = (how, e) => ({ how, code: e?.code, message: String(e?.message ?? e), isError: e instanceof Error });
  window.caught = (fn) => {
    let r;
    try {
      r = fn();
    } catch (e) {
      return describe("throw", e);
    }
    if (r && typeof r.then === "function") return r.then(() => null, (e) => describe("reject", e));
    return null;
  };
}

/**
 * Registers before/after hooks for this test file; returns `{ url, open }`.
 * `handle(req, res)`: extra routes served by the same origin (see scripts/serve.mjs).
 */
export function useBrowser({ handle } = {}) {
  let server;
  let browser;
  const contexts = new Set();

  before(async () => {
    server = await startServer({ port: 0, root: ROOT, handle });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  });
  afterEach(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    contexts.clear();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  return {
    get url() {
      return server.url;
    },
    /**
     * A new browser context (empty storage) with one tab on `path` (the fixture by default).
     * `init`: a function (or several) run in every page of the context before its scripts,
     * e.g. `{ init: () => delete window.BroadcastChannel }`.
     */
    async open(path = FIXTURE, { init } = {}) {
      const context = await browser.newContext();
      contexts.add(context);
      await context.addInitScript(pageHelpers);
      for (const script of [init ?? []].flat()) await context.addInitScript(script);
      const errors = [];
      const page = await context.newPage();
      const tab = makeTab(context, page, errors, server.url + path);
      await tab.goto();
      return tab;
    },
  };
}

function makeTab(context, page, errors, url) {
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console.error: ${m.text()}`);
  });
  const ready = async () => {
    try {
      await page.waitForFunction(() => window.ready === true, null, { timeout: 15000 });
    } catch (e) {
      throw new Error(`${url} never set window.ready; page errors: ${JSON.stringify(errors)}`, { cause: e });
    }
  };
  return {
    page,
    context,
    /** Page errors and console errors of this tab and of tabs opened from it. */
    errors,
    url,
    async goto() {
      await page.goto(url);
      await ready();
    },
    /** Reloads this tab (pagehide fires) and waits for the fixture again. */
    async reload() {
      await page.reload();
      await ready();
    },
    /**
     * A tab opened by this one with `window.open(location.href)`: like the
     * browser's "Duplicate tab", it starts with a copy of this tab's sessionStorage.
     */
    async duplicate() {
      const [popup] = await Promise.all([context.waitForEvent("page"), page.evaluate(() => void window.open(location.href))]);
      const other = makeTab(context, popup, errors, url);
      await popup.waitForLoadState("load");
      await other.ready();
      return other;
    },
    /** Waits for the fixture page to be ready (window.ready). */
    ready,
    /** Another tab in the same browser context (same storage, its own sessionStorage). */
    async newTab() {
      const other = makeTab(context, await context.newPage(), errors, url);
      await other.goto();
      return other;
    },
    /** page.evaluate */
    eval(fn, arg) {
      return page.evaluate(fn, arg);
    },
    /**
     * Waits until `fn(arg)` is truthy in the page (page.waitForFunction); on timeout
     * throws with `message` and the tab's errors instead of a bare timeout.
     */
    async waitFor(fn, arg, { timeout = 5000, message = "condition" } = {}) {
      try {
        return await page.waitForFunction(fn, arg, { timeout, polling: 10 });
      } catch (e) {
        throw new Error(`${message}: not true within ${timeout} ms; page errors: ${JSON.stringify(errors)}`, { cause: e });
      }
    },
    /**
     * Closes the tab the way a user does: beforeunload, pagehide and unload run
     * (page.close({ runBeforeUnload: true })); resolves once the page is gone.
     */
    async close() {
      if (page.isClosed()) return;
      const closed = new Promise((r) => page.once("close", r));
      await page.close({ runBeforeUnload: true });
      await closed;
    },
    assertNoErrors() {
      assert.deepEqual(errors, [], "the page logged errors");
    },
  };
}

/** A storage name unique to this run and label, so tests never share data. */
export function uniqueName(label) {
  return `e2e-${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
