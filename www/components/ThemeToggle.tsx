"use client";
import { useState } from "react";
import { useSessionContext, useSessionRecovery } from "session-persist/react";
import { errorText } from "@/lib/format";

/** Light/dark, stored in the context and shared with the other tabs at once (shareContext). */
export function ThemeToggle() {
  const theme = useSessionContext<string>("theme") === "dark" ? "dark" : "light";
  const { shareContext, isRestored } = useSessionRecovery();
  const [error, setError] = useState<string | null>(null);
  const next = theme === "dark" ? "light" : "dark";

  return (
    <section aria-labelledby="theme-heading">
      <h2 id="theme-heading">Theme</h2>
      <div className="row">
        <span>
          Current: <b data-testid="theme">{theme}</b>
        </span>
        <button
          type="button"
          id="theme-toggle"
          disabled={!isRestored}
          aria-pressed={theme === "dark"}
          onClick={() => shareContext("theme", next).then(() => setError(null), (e) => setError(errorText(e)))}
        >
          Switch to {next}
        </button>
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </section>
  );
}
