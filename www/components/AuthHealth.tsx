"use client";
import { useEffect, useState, type ReactNode } from "react";
import { openAuthSession, type AuthHealth as Health, type AuthSession, type Tokens } from "session-persist";
import { errorText } from "@/lib/format";

/** Demo tokens live this long; refreshed 20 s before they expire. */
const LIFETIME_MS = 60_000;

/**
 * This demo has no auth server: `refresh` mints new demo tokens in the page.
 * A real app calls its server here, and rejects with an error whose `status`
 * is 400/401/403 when the refresh token is refused.
 */
function demoTokens(): Tokens {
  const id = Math.random().toString(36).slice(2, 10);
  return { accessToken: `demo-${id}`, refreshToken: `demo-refresh-${id}`, expiresAt: Date.now() + LIFETIME_MS };
}

/**
 * The auth session's health (`auth.health()`), read every second and on every
 * transition. Nothing is rendered from the session before it is open (after
 * mount), so the server render and the hydrating render are the same.
 */
export function AuthHealth({ name }: { name: string }) {
  const [auth, setAuth] = useState<AuthSession | null>(null);
  const [health, setHealth] = useState<Health | null>(null);
  const [last, setLast] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    let session: AuthSession | null = null;
    let stop = () => {};
    openAuthSession({
      name,
      refreshMargin: 20_000,
      refresh: async () => demoTokens(),
    }).then(
      (s) => {
        if (!live) return void s.close();
        session = s;
        setAuth(s);
        setHealth(s.health());
        const off = s.subscribe((state, detail) => {
          setHealth(s.health());
          setLast(`${detail.from} → ${state} (${detail.reason}${detail.source === "tab" ? ", another tab" : ""})`);
        });
        const timer = setInterval(() => setHealth(s.health()), 1000);
        stop = () => {
          off();
          clearInterval(timer);
        };
      },
      (e) => live && setError(errorText(e)),
    );
    return () => {
      live = false;
      stop();
      void session?.close();
    };
  }, [name]);

  const row = (label: string, field: string, value: ReactNode) => (
    <tr>
      <th scope="row">{label}</th>
      <td data-field={field}>{health ? value : "—"}</td>
    </tr>
  );
  const act = (fn: () => Promise<void>) => () => {
    setError(null);
    fn().catch((e) => setError(errorText(e)));
  };

  return (
    <section aria-labelledby="auth-heading">
      <h2 id="auth-heading">Auth session</h2>
      <table className="health" id="auth-health" data-testid="auth-health" data-ready={health ? "true" : "false"}>
        <tbody>
          {row("State", "state", health?.state)}
          {row("Score", "score", health ? `${health.score} / 100` : null)}
          {row(
            "Access token expires in",
            "expiresInMs",
            health?.expiresInMs == null ? "no token" : `${Math.round(health.expiresInMs / 1000)} s`,
          )}
          {row("Failures in the last minute", "recentFailures", health?.recentFailures)}
          {row("Last transition", "last", last ?? "none since this page opened")}
        </tbody>
      </table>
      <div className="row">
        <button type="button" id="auth-sign-in" disabled={!auth} onClick={act(async () => auth?.signIn(demoTokens()))}>
          Sign in (demo tokens)
        </button>
        <button type="button" id="auth-logout" disabled={!auth} onClick={act(async () => auth?.logout())}>
          Log out every tab
        </button>
        {error ? (
          <span className="error" role="alert">
            {error}
          </span>
        ) : null}
      </div>
      <p className="muted">
        Score: 100 when authenticated, 70 while refreshing, 50 while checking stored tokens, 0 without a session; at most
        25 once the access token has expired; minus 10 per failure (network error, 5xx, failed refresh) in the last
        minute, at most 50 off. Demo tokens live {LIFETIME_MS / 1000} s and are refreshed 20 s before they expire, by one
        tab for all of them.
      </p>
    </section>
  );
}
