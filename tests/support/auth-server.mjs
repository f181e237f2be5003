// A toy auth server for the auth session tests, mounted on the e2e static
// server (same origin as the fixture page: no CORS, no preflights to count).
// It issues short-lived tokens, rotates refresh tokens and refuses (and
// records) any refresh token used twice, counts every call, records every
// request that carries an expired or unknown access token, and can be
// switched "down" (503, or connections reset).
//
//   const api = createAuthApi({ lifetimeMs: 3000 });
//   const browser = useBrowser({ handle: api.handle });
//
// Routes (all under /api/, token in the X-Session-Token header):
//   POST /api/login            -> 200 { accessToken, refreshToken, expiresAt }
//   POST /api/refresh          { refreshToken } -> 200 new tokens; 401 if unknown or used before
//   GET  /api/status           -> 200 if the token is known and not expired, else 401
//   GET  /api/data             -> 200 { ok, n }; 401 for an expired or unknown token (recorded)
//   POST /api/echo             -> 200 { body } (with a valid token; 401 otherwise)
//   GET  /api/code?status=N    -> N (with a valid token; 401 otherwise)

const HEADER = "x-session-token";

export function createAuthApi({ lifetimeMs = 3000 } = {}) {
  let lifetime = lifetimeMs;
  let down = null; // null | "503" | "reset"
  let serial = 0;
  const access = new Map(); // accessToken -> { expiresAt }
  const refresh = new Map(); // refreshToken -> { used }
  const forced = new Map(); // path -> [{ status, left }]
  let stats;
  const reset = () => {
    stats = {
      logins: 0,
      /** Every call of /api/refresh that reached the server's logic (not while down). */
      refreshCalls: 0,
      /** Refresh tokens presented a second time. */
      reused: [],
      /** Refresh tokens never issued. */
      unknownRefresh: [],
      /** { token, path, at, expiredBy } of requests carrying an expired access token. */
      expiredRequests: [],
      /** Requests carrying a token never issued (or none). */
      unknownRequests: [],
      /** Requests per path, counted even while down. */
      hits: {},
      /** Every token issued: { accessToken, refreshToken, expiresAt, issuedAt, by: "login" | "refresh" }. */
      issued: [],
    };
  };
  reset();

  const rand = () => Math.random().toString(36).slice(2, 10);
  function issue(by) {
    serial++;
    const now = Date.now();
    const t = { accessToken: `at-${serial}-${rand()}`, refreshToken: `rt-${serial}-${rand()}`, expiresAt: now + lifetime };
    access.set(t.accessToken, { expiresAt: t.expiresAt });
    refresh.set(t.refreshToken, { used: false });
    stats.issued.push({ ...t, issuedAt: now, by });
    return t;
  }

  const send = (res, status, body) => {
    res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
    res.end(JSON.stringify(body ?? {}));
  };

  /** "ok", "expired" or "unknown" for the request's token; records the bad ones. */
  function checkToken(req, path) {
    const token = req.headers[HEADER];
    const known = token && access.get(token);
    if (!known) {
      stats.unknownRequests.push({ token: token ?? null, path, at: Date.now() });
      return "unknown";
    }
    const now = Date.now();
    if (now >= known.expiresAt) {
      stats.expiredRequests.push({ token, path, at: now, expiredBy: now - known.expiresAt });
      return "expired";
    }
    return "ok";
  }

  function readJson(req) {
    return new Promise((resolve) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        try {
          resolve(JSON.parse(body || "{}"));
        } catch {
          resolve({});
        }
      });
    });
  }

  async function route(req, res, url) {
    const path = url.pathname;
    const forcedStatus = forced.get(path)?.find((f) => f.left > 0);
    if (forcedStatus) {
      forcedStatus.left--;
      return send(res, forcedStatus.status, { forced: true });
    }
    if (path === "/api/login" && req.method === "POST") {
      stats.logins++;
      return send(res, 200, issue("login"));
    }
    if (path === "/api/refresh" && req.method === "POST") {
      const { refreshToken } = await readJson(req);
      stats.refreshCalls++;
      const entry = refresh.get(refreshToken);
      if (!entry) {
        stats.unknownRefresh.push(refreshToken ?? null);
        return send(res, 401, { error: "unknown refresh token" });
      }
      if (entry.used) {
        stats.reused.push(refreshToken);
        return send(res, 401, { error: "refresh token already used" });
      }
      entry.used = true;
      return send(res, 200, issue("refresh"));
    }
    if (path === "/api/status" && req.method === "GET") {
      const token = req.headers[HEADER];
      const known = token && access.get(token);
      return send(res, known && Date.now() < known.expiresAt ? 200 : 401, {});
    }
    if (path === "/api/data" && req.method === "GET") {
      const verdict = checkToken(req, path);
      return send(res, verdict === "ok" ? 200 : 401, { ok: verdict === "ok", n: stats.hits[path] });
    }
    if (path === "/api/echo" && req.method === "POST") {
      const verdict = checkToken(req, path);
      const body = await readJson(req);
      return send(res, verdict === "ok" ? 200 : 401, { body });
    }
    if (path === "/api/code") {
      const verdict = checkToken(req, path);
      return send(res, verdict === "ok" ? Number(url.searchParams.get("status")) : 401, {});
    }
    return send(res, 404, { error: "no such route" });
  }

  /** For startServer({ handle }): answers /api/*, leaves the rest to the static server. */
  function handle(req, res) {
    // No keep-alive, for any file: a browser retries a request on its own
    // when a reused connection is reset, which would blur the count of tries.
    res.setHeader("Connection", "close");
    const url = new URL(req.url ?? "/", "http://x");
    if (!url.pathname.startsWith("/api/")) return false;
    stats.hits[url.pathname] = (stats.hits[url.pathname] ?? 0) + 1;
    if (down === "reset") {
      req.socket.destroy();
      return true;
    }

    if (down === "503") {
      send(res, 503, { error: "down" });
      return true;
    }
    route(req, res, url).catch(() => send(res, 500, { error: "server error" }));
    return true;
  }

  return {
    handle,
    get stats() {
      return stats;
    },
    /** Zeroes the counters (tokens issued before stay valid). */
    resetStats: reset,
    /** Lifetime of tokens issued from now on. */
    setLifetime(ms) {
      lifetime = ms;
    },
    /** null (up), "503" or "reset" (every connection to /api/ is destroyed). */
    setDown(mode) {
      down = mode;
    },
    /** The next `count` requests to `path` answer `status` (before any other check). */
    failNext(path, count, status) {
      forced.set(path, [{ status, left: count }]);
    },
    /** Tokens issued directly (as a login would). */
    login() {
      stats.logins++;
      return issue("login");
    },
  };
}
