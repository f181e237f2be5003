"use client";
import { useEffect, useState, type ReactNode } from "react";
import type { SessionEvent, SessionInfo } from "session-persist";
import { useSessionRecovery } from "session-persist/react";
import { errorText, formatBytes, formatTime } from "@/lib/format";

const EVENTS: SessionEvent[] = ["saved", "restored", "recovered", "degraded", "remote-change", "error"];

interface Snapshot {
  info: SessionInfo;
  snapshots: number | null;
  storage: StorageEstimate | null;
}

interface LoggedEvent {
  n: number;
  at: number;
  event: SessionEvent | "change";
  detail: string;
}

/**
 * The session's health from `session.info()`, read again on every change and
 * every event. Nothing here is rendered from the session until it is open
 * (after mount), so the server render and the hydrating render are the same.
 */
export function Health() {
  const { session, status } = useSessionRecovery();
  const [state, setState] = useState<Snapshot | null>(null);
  const [log, setLog] = useState<LoggedEvent[]>([]);
  const [saving, setSaving] = useState<string | null>(null);

  useEffect(() => {
    if (!session) return;
    let live = true;
    let n = 0;
    let pending = false;
    const refresh = () => {
      setState((s) => ({ info: session.info(), snapshots: s?.snapshots ?? null, storage: s?.storage ?? null }));
      // The async parts, at most one at a time (a burst of changes needs one look).
      if (pending) return;
      pending = true;
      Promise.all([
        session.listSnapshots().then((l) => l.length, () => null),
        navigator.storage?.estimate ? navigator.storage.estimate().catch(() => null) : Promise.resolve(null),
      ]).then(([snapshots, storage]) => {
        pending = false;
        if (live) setState({ info: session.info(), snapshots, storage });
      });
    };
    const record = (event: LoggedEvent["event"], detail: unknown) => {
      setLog((l) => [{ n: ++n, at: Date.now(), event, detail: short(detail) }, ...l].slice(0, 12));
      refresh();
    };
    refresh();
    const offs = [
      session.subscribe((_ctx, change) => record("change", change)),
      ...EVENTS.map((e) => session.on(e, (detail) => record(e, detail))),
    ];
    return () => {
      live = false;
      for (const off of offs) off();
    };
  }, [session]);

  const info = state?.info;
  const row = (label: string, field: string, value: ReactNode) => (
    <tr>
      <th scope="row">{label}</th>
      <td data-field={field}>{info ? value : "—"}</td>
    </tr>
  );

  return (
    <>
      <section aria-labelledby="health-heading">
        <h2 id="health-heading">Session health</h2>
        <table className="health" id="health" data-testid="health" data-ready={info ? "true" : "false"}>
          <tbody>
            {row("Backend", "backend", info?.backend)}
            {row("Degraded", "degraded", info?.degraded ?? "no")}
            {row("Revision", "revision", info?.revision)}
            {row("Unsaved changes", "dirty", info ? (info.dirty ? "yes" : "no") : null)}
            {row("Last saved", "lastSavedAt", formatTime(info?.lastSavedAt))}
            {row("Restore count", "restoreCount", info?.restoreCount)}
            {row("Last restored", "lastRestoredAt", formatTime(info?.lastRestoredAt))}
            {row("Recovered from backup", "recoveredFromBackup", info?.recoveredFromBackup ? "yes" : "no")}
            {row("Snapshots", "snapshots", state?.snapshots ?? "…")}
            {row(
              "Storage used (origin)",
              "storage",
              state?.storage ? `${formatBytes(state.storage.usage)} of ${formatBytes(state.storage.quota)}` : "n/a",
            )}
            {row("Session id", "sessionId", <code>{info?.sessionId}</code>)}
            {row("Tab id", "tabId", <code>{info?.tabId}</code>)}
          </tbody>
        </table>
        <div className="row">
          <button
            type="button"
            id="save-now"
            disabled={!session}
            onClick={() => {
              setSaving("saving…");
              session?.save().then(
                () => setSaving(null),
                (e) => setSaving(errorText(e)),
              );
            }}
          >
            Save now
          </button>
          <span className="muted">{saving ?? `status: ${status}`}</span>
        </div>
      </section>
      <section aria-labelledby="events-heading">
        <h2 id="events-heading">Recent events</h2>
        <ol className="events" id="events">
          {log.length === 0 ? <li className="muted">None since this page opened.</li> : null}
          {log.map((e) => (
            <li key={e.n}>
              <span className="muted">{new Date(e.at).toLocaleTimeString()}</span> <b>{e.event}</b> <code>{e.detail}</code>
            </li>
          ))}
        </ol>
      </section>
    </>
  );
}

function short(detail: unknown): string {
  if (detail instanceof Error) return errorText(detail);
  let text: string;
  try {
    text = JSON.stringify(detail) ?? "";
  } catch {
    text = String(detail);
  }
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}
