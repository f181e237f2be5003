// Auth sessions (openAuthSession) in Chromium against a toy auth server
// (tests/support/auth-server.mjs) served from the fixture's origin: tokens
// live 1.5 to 3 s, so a test sees several expiries in ~10 s. The server
// counts refresh calls, refuses and records reused refresh tokens, and
// records every request that carries an expired or unknown access token.
import { test } from "node:test";
import assert from "node:assert/strict";
import { useBrowser, uniqueName, FIXTURE } from "./helpers.mjs";
import { createAuthApi } from "../support/auth-server.mjs";

const api = createAuthApi({ lifetimeMs: 3000 });
const browser = useBrowser({ handle: api.handle });
const T = { timeout: 90_000 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Installed in every page: opening an auth session wired to the toy server,
// a log of its transitions, a fetch loop, and a look at what is stored.
function authHelpers() {
  window.openTestAuth = async (name, { validateAnswer, ...options } = {}) => {
    window.authLog = [];
    window.fetchLog = [];
    const base = {
      name,
      refresh: async (tokens) => {
        const r = await fetch("/api/refresh", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ refreshToken: tokens.refreshToken }),
        });
        if (!r.ok) throw Object.assign(new Error(`refresh answered ${r.status}`), { status: r.status });
        return r.json();
      },
    };
    if (validateAnswer === undefined) base.statusUrl = "/api/status";
    else base.validate = async () => validateAnswer;
    window.auth = await sp.openAuthSession({ ...base, ...options });
    auth.subscribe((state, detail) => authLog.push({ at: Date.now(), state, ...detail }));
    return auth.state;
  };
  window.login = async () => {
    const r = await fetch("/api/login", { method: "POST" });
    await auth.signIn(await r.json());
  };
  window.startFetching = (every) => {
    window.fetching = true;
    window.fetchLoop = (async () => {
      while (window.fetching) {
        const at = Date.now();
        try {
          const r = await auth.fetch("/api/data");
          fetchLog.push({ at, status: r.status });
        } catch (e) {
          fetchLog.push({ at, error: e.code ?? String(e) });
        }
        await new Promise((r) => setTimeout(r, every * (0.5 + Math.random())));
      }
    })();
  };
  window.stopFetching = () => {
    window.fetching = false;
    return window.fetchLoop;
  };
  // Every record of the auth session's IndexedDB store, and the auth keys of localStorage.
  window.authStorage = (name) =>
    new Promise((resolve) => {
      const local = Object.keys(localStorage).filter((k) => k.startsWith("session-persist:auth:"));
      const req = indexedDB.open(`session-persist:auth:${name}`);
      req.onerror = () => resolve({ idb: { error: String(req.error) }, local });
      req.onsuccess = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains("records")) {
          db.close();
          return resolve({ idb: {}, local });
        }
        const idb = {};
        const cursor = db.transaction("records").objectStore("records").openCursor();
        cursor.onsuccess = () => {
          const c = cursor.result;
          if (c) {
            idb[c.key] = c.value;
            c.continue();
          } else {
            db.close();
            resolve({ idb, local });
          }
        };
      };
    });
}

// Chromium logs every 4xx/5xx answer and network error as a console error;
// these tests ask for them.
const HTTP_STATUS_LOG = /^console\.error: Failed to load resource: (the server responded with a status of \d+|net::ERR_)/;
function assertNoPageErrors(tab) {
  assert.deepEqual(tab.errors.filter((e) => !HTTP_STATUS_LOG.test(e)), [], "the page logged errors");
}

const noWebLocks = () => {
  delete Navigator.prototype.locks;
};

const startFetchingIn = (tab) => tab.eval(() => startFetching(100));

async function waitUntil(fn, timeout, message) {
  const end = Date.now() + timeout;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`${message}: not true within ${timeout} ms`);
    await sleep(20);
  }
}

/** Resets the server and opens `count` tabs of one browser context, each with the auth session `name`. */
async function openTabs(count, name, { init = [], options = {} } = {}) {
  const first = await browser.open(FIXTURE, { init: [authHelpers, ...init] });
  const tabs = [first];
  while (tabs.length < count) tabs.push(await first.newTab());
  for (const t of tabs) assert.equal(await t.eval(([n, o]) => openTestAuth(n, o), [name, options]), "anonymous");
  return tabs;
}

/**
 * Three tabs, each calling auth.fetch every ~150 ms, over several token
 * lifetimes (3 s; refreshed 1 s before expiry). Stops 1.3 s after a refresh,
 * so every token but the newest has expired and the newest is not yet due:
 * then exactly one refresh per expiry is right, and any double refresh shows.
 */
async function severalExpiries(label, init) {
  api.setDown(null);
  api.setLifetime(3000);
  api.resetStats();
  const name = uniqueName(label);
  const tabs = await openTabs(3, name, { init, options: { refreshMargin: 1000 } });
  assert.equal(await tabs[0].eval(() => navigator.locks === undefined), init.length > 0);

  await tabs[0].eval(() => login());
  for (const t of tabs) {
    await t.waitFor(() => auth.state === "authenticated", null, { timeout: 1000, message: "the sign-in reached the tab" });
  }
  for (const t of tabs) await t.eval(() => startFetching(150));
  await sleep(9000);
  const issued = api.stats.issued.length;
  // Not asserted here: a broken build may never refresh again; the counts below say why.
  await waitUntil(() => api.stats.issued.length > issued, 4000, "a refresh after the run").catch(() => {});
  await sleep(1300);
  for (const t of tabs) await t.eval(() => stopFetching());
  const logs = [];
  for (const t of tabs) logs.push(await t.eval(() => (auth.close(), { authLog, fetchLog, state: auth.state })));
  const now = Date.now();
  const s = structuredClone(api.stats);

  const expiries = s.issued.filter((t) => t.expiresAt <= now).length;
  const fetches = logs.flatMap((l) => l.fetchLog);
  const failed = fetches.filter((f) => f.status !== 200);
  // How long each refreshed token took to reach each tab (its subscribers).
  let slowest = 0;
  let missed = 0;
  for (const tok of s.issued.filter((t) => t.by === "refresh")) {
    for (const l of logs) {
      const seen = l.authLog.find((e) => e.expiresAt === tok.expiresAt);
      if (seen) slowest = Math.max(slowest, seen.at - tok.issuedAt);
      else missed++;
    }
  }
  console.log(
    `auth.test [${label}]: refresh calls ${s.refreshCalls}, expiries ${expiries}, reused refresh tokens ${s.reused.length}, ` +
      `expired-token requests ${s.expiredRequests.length}, unknown-token requests ${s.unknownRequests.length}, ` +
      `fetches ${fetches.length} (${failed.length} not 200), new tokens in every tab within ${slowest} ms (${missed} never arrived)`,
  );
  assert.equal(s.refreshCalls, expiries, "one refresh call per expiry");
  assert.deepEqual(s.reused, [], "no refresh token used twice");
  assert.deepEqual(s.expiredRequests, [], "no request carried an expired token");
  assert.ok(expiries >= 3, `several expiries (${expiries})`);
  assert.deepEqual(s.unknownRefresh, [], "no unknown refresh token");
  assert.deepEqual(s.unknownRequests, [], "no request carried an unknown token");
  assert.deepEqual(failed, [], "every auth.fetch got its 200");
  assert.ok(fetches.length > 100, `the tabs kept fetching (${fetches.length})`);
  assert.equal(missed, 0, "every tab got every new token");
  assert.ok(slowest <= 1000, `new tokens reached every tab within a second (${slowest} ms)`);
  for (const l of logs) {
    assert.equal(l.state, "authenticated");
    const other = l.authLog.filter((e) => !["authenticated", "refreshing"].includes(e.state));
    // Only the signing-in tab passes through authenticating, once.
    assert.ok(other.every((e) => e.state === "authenticating" && e.reason === "signIn"), JSON.stringify(other));
  }
  assert.deepEqual(
    logs[0].authLog.slice(0, 2).map((e) => `${e.from}>${e.state}:${e.reason}`),
    ["anonymous>authenticating:signIn", "authenticating>authenticated:signIn"],
  );
  for (const t of tabs) t.assertNoErrors();
}

test("three tabs over several expiries: one refresh per expiry, no reused refresh token, no expired token sent (Web Locks)", T, () =>
  severalExpiries("weblocks", []));

test("the same without navigator.locks in any tab (the lease fallback)", T, () => severalExpiries("fallback", [noWebLocks]));

test("logout in one tab reaches every tab within a second and empties storage; a tab opened later is anonymous", T, async () => {
  api.setDown(null);
  api.setLifetime(60_000);
  const name = uniqueName("logout");
  const [a, b, c] = await openTabs(3, name);
  await a.eval(() => login());
  for (const t of [a, b, c]) await t.waitFor(() => auth.state === "authenticated", null, { timeout: 1000 });
  const before = await a.eval((n) => authStorage(n), name);
  assert.equal(typeof before.idb.tokens?.accessToken, "string", "the tokens are stored");

  const t0 = await b.eval(async () => {
    const t0 = Date.now();
    await auth.logout();
    return t0;
  });
  const delays = [];
  for (const t of [a, b, c]) {
    await t.waitFor(() => auth.state === "logged_out", null, { timeout: 1000, message: "logged out" });
    const e = await t.eval(() => authLog.find((e) => e.state === "logged_out"));
    delays.push(e.at - t0);
    assert.equal(await t.eval(() => auth.token()), null);
    assert.equal((await t.eval(() => caught(() => auth.fetch("/api/data")))).code, "NOT_AUTHENTICATED");
  }
  console.log(`auth.test: logout reached the tabs in ${delays.join(", ")} ms`);
  assert.ok(delays.every((d) => d <= 1000));
  assert.deepEqual(await c.eval((n) => authStorage(n), name), { idb: {}, local: [] }, "storage is empty");

  const d = await a.newTab();
  assert.equal(await d.eval((n) => openTestAuth(n), name), "anonymous");
  await a.reload();
  assert.equal(await a.eval((n) => openTestAuth(n), name), "anonymous");
  for (const t of [a, b, c, d]) t.assertNoErrors();
});

test("stored tokens are checked on open: valid ones are kept, ones the server refuses are cleared", T, async () => {
  api.setDown(null);
  api.setLifetime(60_000);
  api.resetStats();
  const name = uniqueName("check");
  const [tab] = await openTabs(1, name);
  await tab.eval(() => login());
  await tab.reload();
  assert.equal(await tab.eval((n) => openTestAuth(n), name), "authenticated");
  assert.equal(api.stats.hits["/api/status"], 1);

  // Tokens the server never issued (or has forgotten).
  await tab.eval(() => auth.signIn({ accessToken: "forged", refreshToken: "rt-forged", expiresAt: Date.now() + 60_000 }));
  await tab.reload();
  assert.equal(await tab.eval((n) => openTestAuth(n), name), "anonymous");
  assert.equal(api.stats.hits["/api/status"], 2);
  assert.equal(api.stats.refreshCalls, 0, "an invalid token is cleared, not refreshed");
  assert.deepEqual(await tab.eval((n) => authStorage(n), name), { idb: {}, local: [] });

  // No answer from statusUrl is not a "no": the tokens are kept, a failure counted.
  await tab.eval(() => login());
  await tab.reload();
  api.setDown("503");
  assert.equal(await tab.eval((n) => openTestAuth(n), name), "authenticated");
  api.setDown(null);
  assert.equal((await tab.eval(() => auth.health())).recentFailures, 1);
  assert.equal(api.stats.refreshCalls, 0);

  // validate() instead of statusUrl.
  await tab.eval(() => login());
  await tab.reload();
  assert.equal(await tab.eval((n) => openTestAuth(n, { validateAnswer: true }), name), "authenticated");
  await tab.reload();
  assert.equal(await tab.eval((n) => openTestAuth(n, { validateAnswer: false }), name), "anonymous");
  assert.deepEqual((await tab.eval((n) => authStorage(n), name)).idb, {});
  assertNoPageErrors(tab);
});

test("stored tokens already past expiry are refreshed once if there is a refresh token, else cleared", T, async () => {
  api.setDown(null);
  api.setLifetime(1500);
  api.resetStats();
  const name = uniqueName("expired-on-open");
  const [tab] = await openTabs(1, name);
  await tab.eval(() => login());
  await tab.eval(() => auth.close());
  await sleep(1700);
  await tab.reload();
  assert.equal(await tab.eval((n) => openTestAuth(n, { refreshMargin: 100 }), name), "authenticated");
  assert.equal(api.stats.refreshCalls, 1);
  assert.equal(api.stats.hits["/api/status"] ?? 0, 0, "fresh tokens need no check");
  assert.equal(await tab.eval(() => auth.fetch("/api/data").then((r) => r.status)), 200);

  // Without a refresh token: cleared.
  await tab.eval(() => auth.signIn({ accessToken: "short-lived", expiresAt: Date.now() + 300 }));
  await tab.eval(() => auth.close());
  await sleep(400);
  await tab.reload();
  assert.equal(await tab.eval((n) => openTestAuth(n), name), "anonymous");
  assert.deepEqual((await tab.eval((n) => authStorage(n), name)).idb, {});
  assert.equal(api.stats.refreshCalls, 1);
  tab.assertNoErrors();
});

test("tokens without a refresh token are used until they expire, then the state is expired (no busy retrying)", T, async () => {
  api.setDown(null);
  api.setLifetime(1500);
  api.resetStats();
  const name = uniqueName("no-refresh-token");
  // Counts cross-tab lock requests: a session retrying in a loop would make hundreds.
  const countLocks = () => {
    const request = LockManager.prototype.request;
    window.lockRequests = 0;
    LockManager.prototype.request = function (...args) {
      window.lockRequests++;
      return request.apply(this, args);
    };
  };
  const [tab] = await openTabs(1, name, { init: [countLocks] });
  const exp = await tab.eval(async () => {
    const { accessToken, expiresAt } = await (await fetch("/api/login", { method: "POST" })).json();
    await auth.signIn({ accessToken, expiresAt });
    return expiresAt;
  });
  startFetchingIn(tab);
  await tab.waitFor(() => auth.state === "expired", null, { timeout: 3000, message: "expired" });
  const expiredAt = await tab.eval(() => authLog.find((e) => e.state === "expired").at);
  await tab.eval(() => stopFetching());
  const r = await tab.eval(() => ({ locks: lockRequests, token: auth.token(), log: authLog.map((e) => `${e.state}:${e.reason}`), fetches: fetchLog }));
  console.log(`auth.test: no refresh token: expired ${expiredAt - exp} ms after expiresAt, ${r.locks} lock requests, ${r.fetches.length} fetches`);
  assert.ok(expiredAt - exp >= 0 && expiredAt - exp < 500, `expired at expiry (${expiredAt - exp} ms)`);
  assert.ok(r.locks <= 4, `no busy retrying (${r.locks} lock requests)`);
  assert.equal(api.stats.refreshCalls, 0);
  assert.deepEqual(api.stats.expiredRequests, [], "nothing sent with the expired token");
  assert.ok(r.fetches.filter((f) => f.status === 200).length > 3, "the token was used until it expired");
  assert.ok(r.fetches.every((f) => f.status === 200 || f.error === "NOT_AUTHENTICATED"), JSON.stringify(r.fetches));
  assert.deepEqual((await tab.eval((n) => authStorage(n), name)).idb, {}, "cleared");
  assertNoPageErrors(tab);
});

test("refresh() failing with 400/401/403 is final in every tab (expired, storage cleared); other failures are retried", T, async () => {
  api.setDown(null);
  api.setLifetime(60_000);
  api.resetStats();
  const name = uniqueName("refresh-errors");
  const [a, b] = await openTabs(2, name, { options: { retry: { attempts: 3, baseDelay: 20, maxDelay: 100 } } });
  await a.eval(() => login());
  await b.waitFor(() => auth.state === "authenticated", null, { timeout: 1000 });

  // Transient: two 503s, then the refresh goes through (a 401 from the API forces it).
  api.failNext("/api/refresh", 2, 503);
  api.failNext("/api/data", 1, 401);
  assert.equal(await a.eval(() => auth.fetch("/api/data").then((r) => r.status)), 200);
  assert.equal(api.stats.hits["/api/refresh"], 3, "retried after each 503");
  assert.equal(api.stats.refreshCalls, 1);
  assert.equal(await a.eval(() => auth.state), "authenticated");
  assert.equal((await a.eval(() => auth.health())).recentFailures, 2);

  // Final: the refresh token is refused.
  api.failNext("/api/refresh", 1, 401);
  api.failNext("/api/data", 1, 401);
  const t0 = Date.now();
  assert.equal(await a.eval(() => auth.fetch("/api/data").then((r) => r.status)), 401, "the 401 stands");
  assert.equal(api.stats.hits["/api/refresh"], 4, "a refused refresh token is not retried");
  for (const t of [a, b]) {
    await t.waitFor(() => auth.state === "expired", null, { timeout: 1000, message: "expired" });
    assert.equal(await t.eval(() => auth.token()), null);
    assert.equal((await t.eval(() => caught(() => auth.fetch("/api/data")))).code, "NOT_AUTHENTICATED");
  }
  const reason = await b.eval(() => authLog.at(-1));
  assert.equal(reason.source, "tab");
  assert.ok(reason.at - t0 < 1000);
  const detail = await a.eval(() => authLog.at(-1));
  assert.equal(detail.reason, "refresh-rejected");
  assert.match(detail.error, /401/);
  assert.deepEqual(await a.eval((n) => authStorage(n), name), { idb: {}, local: [] });
  for (const t of [a, b]) assertNoPageErrors(t);
});

test("with the server down, auth.fetch tries exactly retry.attempts times, then returns the last response or rejects; health says so", T, async () => {
  api.setDown(null);
  api.setLifetime(60_000);
  api.resetStats();
  const name = uniqueName("down");
  const [tab] = await openTabs(1, name, { options: { retry: { attempts: 3, baseDelay: 20, maxDelay: 100 } } });
  await tab.eval(() => login());
  const healthy = await tab.eval(() => auth.health());
  assert.equal(healthy.score, 100);
  assert.equal(healthy.recentFailures, 0);
  assert.equal(healthy.state, "authenticated");
  assert.ok(healthy.expiresInMs > 50_000 && healthy.expiresInMs <= 60_000);

  api.setDown("503");
  assert.equal(await tab.eval(() => auth.fetch("/api/data").then((r) => r.status)), 503, "the last response");
  assert.equal(api.stats.hits["/api/data"], 3, "3 tries, as configured");
  api.setDown("reset");
  const failed = await tab.eval(() => caught(() => auth.fetch("/api/data")));
  assert.equal(failed.how, "reject");
  assert.equal(failed.isError, true, `the network error (${failed.message})`);
  assert.equal(api.stats.hits["/api/data"], 6, "3 more tries");
  const sick = await tab.eval(() => auth.health());
  assert.equal(sick.recentFailures, 6);
  assert.equal(sick.score, 50, "100 - 10 per failure, at most 50 off");
  assert.equal(sick.state, "authenticated", "the token itself is fine");

  // The default policy: 5 tries.
  assert.equal(await tab.eval((n) => openTestAuth(n), name), "authenticated");
  api.setDown("503");
  const t0 = Date.now();
  assert.equal(await tab.eval(() => auth.fetch("/api/data").then((r) => r.status)), 503);
  assert.equal(api.stats.hits["/api/data"], 11, "5 tries by default");
  const waited = Date.now() - t0;
  assert.ok(waited < 250 + 500 + 1000 + 2000 + 1500, `backoff bounded (${waited} ms)`);
  console.log(`auth.test: server down: ${api.stats.hits["/api/data"]} hits for 3 + 3 + 5 configured tries; 5 default tries took ${waited} ms; health ${JSON.stringify(sick)}`);

  api.setDown(null);
  assert.equal(await tab.eval(() => auth.fetch("/api/data").then((r) => r.status)), 200);
  assert.equal(api.stats.hits["/api/data"], 12);
  assertNoPageErrors(tab);
});

test("refreshes failing while the server is down show in state and health; it recovers when the server is back", T, async () => {
  api.setDown(null);
  api.setLifetime(2000);
  api.resetStats();
  const name = uniqueName("refresh-down");
  const [tab] = await openTabs(1, name, { options: { refreshMargin: 500, retry: { attempts: 2, baseDelay: 20, maxDelay: 200 } } });
  await tab.eval(() => login());
  api.setDown("503");
  await tab.waitFor(() => auth.state === "refreshing" && auth.health().expiresInMs < 0, null, {
    timeout: 6000,
    message: "refreshing with an expired token",
  });
  const h = await tab.eval(() => auth.health());
  assert.ok(h.recentFailures >= 2, `failures counted (${h.recentFailures})`);
  assert.ok(h.score <= 25 - 10 * h.recentFailures || h.score === 0, `score: at most 25 with an expired token, minus 10 per failure (${h.score})`);
  assert.equal(await tab.eval(() => auth.token()), null, "no expired token handed out");
  assert.equal((await tab.eval(() => caught(() => auth.fetch("/api/data")))).code, "NOT_AUTHENTICATED");
  assert.equal(api.stats.hits["/api/data"] ?? 0, 0, "nothing sent with the expired token");
  const log = await tab.eval(() => authLog.map((e) => `${e.state}:${e.reason}`));
  assert.ok(log.includes("authenticated:refresh-failed"), `a failed round while the token was valid: ${log}`);

  api.setDown(null);
  await tab.waitFor(() => auth.state === "authenticated", null, { timeout: 3000, message: "recovered" });
  assert.equal(await tab.eval(() => auth.fetch("/api/data").then((r) => r.status)), 200);
  const s = api.stats;
  console.log(`auth.test: refresh down: ${s.hits["/api/refresh"]} refresh hits (${s.refreshCalls} after recovery), health while down ${JSON.stringify(h)}`);
  assert.equal(s.refreshCalls, 1, "one refresh once the server is back");
  assert.deepEqual(s.reused, []);
  assert.deepEqual(s.expiredRequests, []);
  assertNoPageErrors(tab);
});

test("a 401 refreshes once and retries once (one refresh for two tabs); other 4xx are returned as they are, untried again", T, async () => {
  api.setDown(null);
  api.setLifetime(60_000);
  api.resetStats();
  const name = uniqueName("401");
  const [a, b] = await openTabs(2, name);
  await a.eval(() => login());
  await b.waitFor(() => auth.state === "authenticated", null, { timeout: 1000 });

  api.failNext("/api/data", 1, 401);
  assert.equal(await a.eval(() => auth.fetch("/api/data").then((r) => r.status)), 200);
  assert.equal(api.stats.hits["/api/data"], 2, "the 401, then one retry");
  assert.equal(api.stats.refreshCalls, 1);

  // Still 401 after the refresh: returned as it is.
  api.failNext("/api/data", 5, 401);
  assert.equal(await a.eval(() => auth.fetch("/api/data").then((r) => r.status)), 401);
  assert.equal(api.stats.hits["/api/data"], 4);
  assert.equal(api.stats.refreshCalls, 2);

  // Both tabs get a 401 for the same token at once: one refresh between them.
  api.failNext("/api/data", 2, 401);
  await b.waitFor(() => authLog.filter((e) => e.reason === "refresh").length >= 2, null, { timeout: 1000 });
  const both = await Promise.all([a, b].map((t) => t.eval(() => auth.fetch("/api/data").then((r) => r.status))));
  assert.deepEqual(both, [200, 200]);
  assert.equal(api.stats.hits["/api/data"], 8);
  assert.equal(api.stats.refreshCalls, 3, "one refresh for both tabs");
  api.failNext("/api/data", 0, 0);

  for (const code of [400, 403, 404, 409, 429]) {
    const before = api.stats.hits["/api/code"] ?? 0;
    assert.equal(await a.eval((c) => auth.fetch(`/api/code?status=${c}`).then((r) => r.status), code), code);
    assert.equal(api.stats.hits["/api/code"], before + 1, `${code} is not retried`);
  }

  // An aborted request rejects with its AbortError, untried again.
  const dataHits = api.stats.hits["/api/data"];
  const aborted = await a.eval(async () => {
    const c = new AbortController();
    const p = auth.fetch("/api/data", { signal: c.signal });
    c.abort();
    return p.then(() => "resolved", (e) => e.name);
  });
  assert.equal(aborted, "AbortError");
  assert.ok(api.stats.hits["/api/data"] - dataHits <= 1, "an aborted request is not retried");

  // A request with a body is sent whole on every try.
  api.failNext("/api/echo", 2, 503);
  const echoed = await a.eval(() =>
    auth
      .fetch(new Request("/api/echo", { method: "POST", headers: { "content-type": "application/json" } }), { body: JSON.stringify({ n: 42 }), method: "POST" })
      .then((r) => r.json()),
  );
  assert.deepEqual(echoed, { body: { n: 42 } });
  assert.equal(api.stats.hits["/api/echo"], 3);
  assert.deepEqual(api.stats.reused, []);
  assert.deepEqual(api.stats.unknownRequests, []);
  for (const t of [a, b]) assertNoPageErrors(t);
});

test("bad input is refused with INVALID_ARGUMENT and a message saying what to do; nothing panics", T, async () => {
  const tab = await browser.open(FIXTURE, { init: authHelpers });
  const r = await tab.eval(async () => {
    const f = async () => ({ accessToken: "a", expiresAt: Date.now() + 1000 });
    const opens = {
      none: () => sp.openAuthSession(),
      noRefresh: () => sp.openAuthSession({ name: "x" }),
      refreshNotAFunction: () => sp.openAuthSession({ refresh: "yes" }),
      negativeMargin: () => sp.openAuthSession({ refresh: f, refreshMargin: -5 }),
      marginAsText: () => sp.openAuthSession({ refresh: f, refreshMargin: "5m" }),
      badHeader: () => sp.openAuthSession({ refresh: f, headerName: "X Token" }),
      zeroAttempts: () => sp.openAuthSession({ refresh: f, retry: { attempts: 0 } }),
      retryNotObject: () => sp.openAuthSession({ refresh: f, retry: 3 }),
      emptyName: () => sp.openAuthSession({ refresh: f, name: "" }),
      statusUrlAndValidate: () => sp.openAuthSession({ refresh: f, statusUrl: "/api/status", validate: async () => true }),
      validateNotAFunction: () => sp.openAuthSession({ refresh: f, validate: true }),
    };
    const out = {};
    for (const [k, fn] of Object.entries(opens)) out[k] = await caught(fn);
    const auth = await sp.openAuthSession({ name: `bad-input-${Math.random()}`, refresh: f });
    const now = Date.now();
    const signIns = {
      undefined: undefined,
      null: null,
      empty: {},
      noExpiry: { accessToken: "a" },
      seconds: { accessToken: "a", expiresAt: Math.floor(now / 1000) + 60 },
      accessNumber: { accessToken: 5, expiresAt: now + 60_000 },
      accessNewline: { accessToken: "a\r\nX-Other: 1", expiresAt: now + 60_000 },
      refreshNumber: { accessToken: "a", refreshToken: 7, expiresAt: now + 60_000 },
      pastWithoutRefresh: { accessToken: "a", expiresAt: now - 1000 },
    };
    for (const [k, t] of Object.entries(signIns)) out[`signIn(${k})`] = await caught(() => auth.signIn(t));
    out.subscribe = caught(() => auth.subscribe(5));
    out.anonymousFetch = await caught(() => auth.fetch("/api/data"));
    out.anonymousToken = await auth.token();
    out.badUrl = await caught(() => auth.fetch("http://[::1"));
    out.state = auth.state;
    await auth.close();
    out.afterClose = await caught(() => auth.signIn({ accessToken: "a", expiresAt: Date.now() + 60_000 }));
    out.fetchAfterClose = await caught(() => auth.fetch("/api/data"));
    return out;
  });
  const invalid = Object.keys(r).filter((k) => !["anonymousFetch", "anonymousToken", "badUrl", "state", "afterClose", "fetchAfterClose"].includes(k));
  for (const k of invalid) {
    assert.equal(r[k]?.code, "INVALID_ARGUMENT", `${k}: ${JSON.stringify(r[k])}`);
    assert.equal(r[k].isError, true, k);
  }
  assert.equal(r.subscribe.how, "throw");
  assert.match(r.noRefresh.message, /refresh must be a function/);
  assert.match(r.negativeMargin.message, /refreshMargin/);
  assert.match(r.badHeader.message, /headerName/);
  assert.match(r.zeroAttempts.message, /retry\.attempts/);
  assert.match(r.statusUrlAndValidate.message, /not both/);
  assert.match(r["signIn(seconds)"].message, /multiply by 1000/);
  assert.match(r["signIn(accessNewline)"].message, /line break/);
  assert.match(r["signIn(empty)"].message, /accessToken/);
  assert.match(r["signIn(pastWithoutRefresh)"].message, /in the past/);
  assert.equal(r.anonymousFetch.code, "NOT_AUTHENTICATED");
  assert.equal(r.anonymousToken, null);
  assert.equal(r.badUrl.how, "reject");
  assert.equal(r.badUrl.isError, true, "fetch's own TypeError for a bad URL");
  assert.equal(r.state, "anonymous");
  assert.equal(r.afterClose.code, "CLOSED");
  assert.equal(r.fetchAfterClose.code, "CLOSED");
  tab.assertNoErrors();
});
