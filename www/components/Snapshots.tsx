"use client";
import { useCallback, useEffect, useState } from "react";
import type { SnapshotInfo } from "session-persist";
import { useSessionRecovery } from "session-persist/react";
import { errorText, formatBytes, formatTime } from "@/lib/format";

/** Named snapshots of the context: take one, list them (newest first), restore one. */
export function Snapshots() {
  const { session, createSnapshot, restoreSnapshot, isRestored } = useSessionRecovery();
  const [list, setList] = useState<SnapshotInfo[] | null>(null);
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  // Only the session's identity matters here: the action functions change with every context change.
  const refresh = useCallback(async () => {
    if (!session) return;
    try {
      setList(await session.listSnapshots());
    } catch (e) {
      setError(errorText(e));
    }
  }, [session]);

  useEffect(() => {
    if (!session) return;
    void refresh();
    // Snapshots taken in another tab raise no event here: look again when the tab comes back.
    const onVisible = () => document.visibilityState === "visible" && void refresh();
    document.addEventListener("visibilitychange", onVisible);
    return () => document.removeEventListener("visibilitychange", onVisible);
  }, [session, refresh]);

  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await action();
      setError(null);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
      await refresh();
    }
  };

  return (
    <section aria-labelledby="snapshots-heading">
      <h2 id="snapshots-heading">Snapshots</h2>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            await createSnapshot(name.trim() || undefined);
            setName("");
          });
        }}
      >
        <input
          id="snapshot-name"
          data-testid="snapshot-name"
          aria-label="Snapshot name"
          placeholder="Snapshot name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          disabled={!isRestored}
        />
        <button type="submit" id="take-snapshot" disabled={!isRestored || busy}>
          Take snapshot
        </button>
      </form>
      {error ? (
        <p className="error" role="alert" id="snapshot-error">
          {error}
        </p>
      ) : null}
      <ul className="snapshots" id="snapshots" data-testid="snapshots" data-count={list?.length ?? ""}>
        {list === null ? <li className="muted">{isRestored ? "Loading…" : "—"}</li> : null}
        {list?.length === 0 ? <li className="muted">No snapshots yet.</li> : null}
        {list?.map((s) => (
          <li key={s.id} data-testid="snapshot" data-id={s.id} data-name={s.name} data-source={s.source}>
            <span className="snap-name">{s.name || <i>unnamed</i>}</span>
            <span className="muted">
              {s.source} · {formatTime(s.createdAt)} · {formatBytes(s.bytes)}
            </span>
            <button type="button" data-testid="restore" disabled={busy} onClick={() => void run(() => restoreSnapshot(s.id))}>
              Restore
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
