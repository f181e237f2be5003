// The Next.js demo app (www/) as a user runs it: the built package installed
// with `npm install --install-links` (scripts/www.sh install, as `npm run demo`
// does), `next build`, `next start` on a free port, then driven in headless
// Chromium. Every page of every test must log no console error, no page error
// and no warning about hydration: the server render has to match the first
// client render.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, uniqueName } from "./helpers.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const T = { timeout: 60_000 };

let server; // { url, child, output }
let browser;

/** Runs `bash scripts/www.sh <step>`; resolves to its duration in seconds, rejects with its output. */
function www(step, timeoutMs) {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["scripts/www.sh", step], {
      cwd: ROOT,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so a timeout stops npm/next and their children
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n[killed after ${timeoutMs / 1000} s]`;
      killGroup(child, "SIGKILL");
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve((Date.now() - started) / 1000);
      else reject(new Error(`scripts/www.sh ${step} failed (exit ${code}):\n${output}`));
    });
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** `next start` in its own process group (detached = setsid); resolves once it answers. */
async function startNext() {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn("bash", ["scripts/www.sh", "start"], {
    cwd: ROOT,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", HOST: "127.0.0.1", PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const srv = { url, child, output: "", exited: null };
  child.stdout.on("data", (d) => (srv.output += d));
  child.stderr.on("data", (d) => (srv.output += d));
  child.on("exit", (code, signal) => (srv.exited = { code, signal }));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (srv.exited) throw new Error(`next start exited (${JSON.stringify(srv.exited)}):\n${srv.output}`);
    try {
      const r = await fetch(url + "/");
      if (r.ok) return srv;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      killGroup(child, "SIGKILL");
      throw new Error(`next start did not answer within 60 s:\n${srv.output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopNext(srv) {
  if (!srv || srv.exited) return;
  const gone = new Promise((r) => srv.child.once("exit", r));
  killGroup(srv.child, "SIGTERM");
  const timer = setTimeout(() => killGroup(srv.child, "SIGKILL"), 5000);
  await gone;
  clearTimeout(timer);
}

before(
  async () => {
    const install = await www("install", 600_000);
    const build = await www("build", 600_000);
    // Shown by node --test as a line of this file's output.
    console.log(`next.test: www install ${install.toFixed(1)} s, next build ${build.toFixed(1)} s`);
    server = await startNext();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  },
  { timeout: 1_200_000 },
);

after(async () => {
  await browser?.close();
  await stopNext(server);
});

/**
 * A fresh browser context (empty storage). Every page opened in it reports its
 * console errors and warnings and its uncaught errors into `messages`.
 */
async function newApp() {
  const context = await browser.newContext();
  const messages = [];
  context.on("page", (page) => {
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") messages.push(`console.${m.type()}: ${m.text()}  [${page.url()}]`);
    });
    page.on("pageerror", (e) => messages.push(`pageerror: ${e.message}  [${page.url()}]`));
    // Chromium's "Failed to load resource" console error does not say which one.
    page.on("response", (r) => {
      if (r.status() >= 400) messages.push(`http: ${r.status()} ${r.request().method()} ${r.url()}`);
    });
  });
  return {
    context,
    messages,
    /** A new tab on `path`, once its session is open. */
    async open(path) {
      const page = await context.newPage();
      await page.goto(server.url + path);
      await sessionReady(page, messages);
      return page;
    },
  };
}

/** The page has hydrated and its session is open (the status line says "ready"). */
async function sessionReady(page, messages) {
  try {
    await page.locator('#status[data-status="ready"]').waitFor({ timeout: 15_000 });
  } catch (e) {
    const status = await page.locator("#status").textContent().catch(() => "(no #status)");
    throw new Error(`${page.url()}: session not ready (${status}); messages: ${JSON.stringify(messages, null, 1)}`, { cause: e });
  }
}

/** No console error, no uncaught error, no failed request, no hydration warning. */
function assertClean(messages) {
  const bad = messages.filter((m) => !m.startsWith("console.warning") || /hydrat/i.test(m));
  const other = messages.filter((m) => !bad.includes(m));
  if (other.length) console.log(`next.test: other console warnings (allowed):\n  ${other.join("\n  ")}`);
  // In a production build React reports a hydration mismatch as a page error
  // "Minified React error #418" (or #423, #425), not by name.
  const hint = bad.some((m) => /React error #(418|419|421|422|423|425)\b/.test(m))
    ? "\n(React errors #418/#423/#425 are hydration mismatches: the server HTML differs from the first client render)"
    : "";
  assert.deepEqual(bad, [], `console errors, page errors, failed requests or hydration warnings:\n  ${bad.join("\n  ")}${hint}`);
}

/** A test with its own browser context; asserts the console stayed clean on every page. */
function appTest(name, fn) {
  test(name, T, async () => {
    const app = await newApp();
    try {
      await fn(app);
      assertClean(app.messages);
    } finally {
      await app.context.close().catch(() => {});
    }
  });
}

const value = (page, selector) => page.locator(selector).inputValue();
const field = (page, name) => page.locator(`#health td[data-field="${name}"]`).textContent();

appTest("the server renders the empty session (status idle), the browser then restores it", async (app) => {
  const name = uniqueName("next-ssr");
  const html = await (await fetch(`${server.url}/?name=${name}`)).text();
  assert.match(html, /data-status="idle"/);
  assert.match(html, /id="draft-title"[^>]*disabled=""/);
  const page = await app.open(`/?name=${name}`);
  assert.equal(await page.locator("#status").getAttribute("data-restored"), "true");
  assert.equal(await page.locator("#draft-title").isEnabled(), true);
  const health = await app.open(`/health?name=${name}`);
  await health.locator('#health[data-ready="true"]').waitFor();
});

appTest("a draft typed in the form is still there after an immediate reload", async (app) => {
  const page = await app.open(`/?name=${uniqueName("next-draft")}`);
  await page.locator("#draft-title").pressSequentially("Shopping list", { delay: 15 });
  await page.locator("#draft-body").pressSequentially("eggs\nmilk, bread", { delay: 15 });
  // Every keystroke went through the context (a controlled input drops none).
  assert.equal(await value(page, "#draft-title"), "Shopping list");
  assert.equal(await value(page, "#draft-body"), "eggs\nmilk, bread");

  await page.reload(); // at once: no waiting for the save debounce
  await sessionReady(page, app.messages);
  assert.equal(await value(page, "#draft-title"), "Shopping list");
  assert.equal(await value(page, "#draft-body"), "eggs\nmilk, bread");
});

appTest("a theme change in one tab reaches a second tab within a second, without reload", async (app) => {
  const path = `/?name=${uniqueName("next-theme")}`;
  const a = await app.open(path);
  const b = await app.open(path);
  const theme = (page) => page.evaluate(() => document.documentElement.dataset.theme);
  assert.equal(await theme(a), "light");
  assert.equal(await theme(b), "light");

  await a.click("#theme-toggle");
  const t0 = Date.now();
  await b.waitForFunction(() => document.documentElement.dataset.theme === "dark", null, { timeout: 1000, polling: 20 });
  const ms = Date.now() - t0;
  assert.equal(await b.locator('[data-testid="theme"]').textContent(), "dark");
  assert.equal(await theme(a), "dark");

  await b.click("#theme-toggle"); // and back, from the other tab
  await a.waitForFunction(() => document.documentElement.dataset.theme === "light", null, { timeout: 1000, polling: 20 });
  console.log(`next.test: theme reached the other tab in ${ms} ms`);

  // Stored too: a tab opened now starts dark after a switch.
  await a.click("#theme-toggle");
  const c = await app.open(path);
  await c.waitForFunction(() => document.documentElement.dataset.theme === "dark", null, { timeout: 5000 });
});

appTest("restoring a snapshot brings back the draft it was taken with", async (app) => {
  const page = await app.open(`/?name=${uniqueName("next-snap")}`);
  await page.fill("#draft-title", "Version one");
  await page.fill("#draft-body", "first body");
  await page.fill("#snapshot-name", "v1");
  await page.click("#take-snapshot");
  const v1 = page.locator('[data-testid="snapshot"][data-name="v1"]');
  await v1.waitFor();
  assert.equal(await value(page, "#snapshot-name"), "", "the name field is cleared");

  await page.fill("#draft-title", "Version two");
  await page.fill("#draft-body", "second body");
  await v1.locator('[data-testid="restore"]').click();
  await page.waitForFunction(() => document.querySelector("#draft-title").value === "Version one", null, { timeout: 5000 });
  assert.equal(await value(page, "#draft-body"), "first body");
  // The restore is undoable: a pre-restore snapshot (holding "Version two") is listed too.
  await page.locator('[data-testid="snapshot"][data-source="pre-restore"]').first().waitFor();

  await page.reload();
  await sessionReady(page, app.messages);
  assert.equal(await value(page, "#draft-title"), "Version one", "the restored draft is what is stored");
});

appTest("/health shows the IndexedDB backend, live updates, and the restore count going up after a reload", async (app) => {
  const name = uniqueName("next-health");
  const page = await app.open(`/?name=${name}`);
  await page.fill("#draft-title", "for the health page");
  await page.click("#nav-health"); // client-side navigation: the same session stays open
  await page.waitForURL(/\/health\?name=/);
  await page.locator('#health[data-ready="true"]').waitFor();

  assert.equal(await field(page, "backend"), "indexeddb");
  assert.equal(await field(page, "degraded"), "no");
  assert.equal(await field(page, "recoveredFromBackup"), "no");
  assert.match(await field(page, "sessionId"), /\S/);
  assert.match(await field(page, "storage"), /of/);
  const tabId = await field(page, "tabId");
  const before = Number(await field(page, "restoreCount"));
  assert.ok(Number.isInteger(before), `restore count is a number (${before})`);

  await page.reload();
  await sessionReady(page, app.messages);
  await page.locator('#health[data-ready="true"]').waitFor();
  const afterReload = Number(await field(page, "restoreCount"));
  assert.equal(afterReload, before + 1, "one more restore after a reload");
  assert.notEqual(await field(page, "lastRestoredAt"), "never");
  assert.equal(await field(page, "tabId"), tabId, "the tab keeps its id across reloads");
  assert.match(await field(page, "snapshots"), /^\d+$/);

  // A change made in another tab shows here without a reload.
  const revision = Number(await field(page, "revision"));
  const other = await app.open(`/?name=${name}`);
  await other.fill("#draft-body", "typed in another tab");
  await page.waitForFunction(
    (r) => Number(document.querySelector('#health td[data-field="revision"]').textContent) > r,
    revision,
    { timeout: 5000, polling: 20 },
  );
  await page.locator("#events li", { hasText: "remote-change" }).first().waitFor({ timeout: 5000 });
});

appTest("/health shows the auth session: sign-in and logout reach a second tab within a second", async (app) => {
  const path = `/health?name=${uniqueName("next-auth")}`;
  const a = await app.open(path);
  const b = await app.open(path);
  const authField = (page, name) => page.locator(`#auth-health td[data-field="${name}"]`).textContent();
  for (const p of [a, b]) await p.locator('#auth-health[data-ready="true"]').waitFor();
  assert.equal(await authField(a, "state"), "anonymous");
  assert.equal(await authField(a, "score"), "0 / 100");

  await a.click("#auth-sign-in");
  await b.waitForFunction(() => document.querySelector('#auth-health td[data-field="state"]').textContent === "authenticated", null, { timeout: 1000, polling: 20 });
  assert.equal(await authField(b, "score"), "100 / 100");
  assert.match(await authField(b, "expiresInMs"), /^\d+ s$/);
  assert.match(await authField(b, "last"), /another tab/);

  await b.click("#auth-logout");
  await a.waitForFunction(() => document.querySelector('#auth-health td[data-field="state"]').textContent === "logged_out", null, { timeout: 1000, polling: 20 });
  assert.equal(await authField(a, "expiresInMs"), "no token");
});
