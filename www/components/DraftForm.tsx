"use client";
import { useState } from "react";
import { useSessionRecovery } from "session-persist/react";
import { errorText } from "@/lib/format";

type Draft = { title?: string; body?: string };

/** A draft kept in the context as you type: it survives reloads and shows in every tab. */
export function DraftForm() {
  const { contextData, updateContext, isRestored } = useSessionRecovery();
  const draft = (contextData.draft ?? {}) as Draft;
  const [error, setError] = useState<string | null>(null);

  const edit = (patch: Draft | undefined) => {
    try {
      updateContext({ draft: patch && { ...draft, ...patch } });
      setError(null);
    } catch (e) {
      setError(errorText(e)); // e.g. TOO_LARGE: the context is left as it was
    }
  };

  return (
    <section aria-labelledby="draft-heading">
      <h2 id="draft-heading">Draft</h2>
      <p className="hint">Type, then reload or open a second tab: nothing is lost.</p>
      <form className="draft" onSubmit={(e) => e.preventDefault()}>
        <label>
          Title
          <input
            id="draft-title"
            data-testid="draft-title"
            value={draft.title ?? ""}
            disabled={!isRestored}
            placeholder={isRestored ? "A title" : "Restoring…"}
            onChange={(e) => edit({ title: e.target.value })}
          />
        </label>
        <label>
          Body
          <textarea
            id="draft-body"
            data-testid="draft-body"
            rows={6}
            value={draft.body ?? ""}
            disabled={!isRestored}
            placeholder={isRestored ? "Write something" : "Restoring…"}
            onChange={(e) => edit({ body: e.target.value })}
          />
        </label>
        <div className="row">
          <button type="button" id="draft-clear" disabled={!isRestored} onClick={() => edit(undefined)}>
            Clear draft
          </button>
        </div>
        {error ? (
          <p className="error" role="alert" id="draft-error">
            {error}
          </p>
        ) : null}
      </form>
    </section>
  );
}
