import React, { useEffect, useRef, useState } from "react";
import { SessionProvider, onSessionStorageChange, useSessionContext, useSessionRecovery } from "session-persist/react";

const params = new URLSearchParams(location.search);
const NAME = params.get("name") || "vite-react-demo";
const SOLO = `${NAME}-solo`;
// ?fresh=1: the provider starts from an empty context (restoreOnMount: false).
// ?snapshot=ID: the provider restores that snapshot when it mounts.
const FRESH = params.get("fresh") === "1";
const SNAPSHOT = params.get("snapshot") || undefined;
// ?effect=1: mounts <LastVisited>, which writes to the context from an effect.
const EFFECT = params.get("effect") === "1";

/** The error an action failed with, as the app shows it. */
const describe = (e) => ({ code: e?.code ?? null, message: String(e?.message ?? e), isError: e instanceof Error });

/** Test hook: the Session object each panel sees, to compare identities. */
function useExposeSession(id, session) {
  useEffect(() => {
    (window.__sessions ??= {})[id] = session;
  }, [id, session]);
}

/** Everything useSessionRecovery returns, with a control for each action. */
function RecoveryPanel({ id, options }) {
  const r = useSessionRecovery(options);
  useExposeSession(id, r.session);
  const [key, setKey] = useState("counter");
  const [value, setValue] = useState("1");
  const [restoreId, setRestoreId] = useState("");
  const [snapshotName, setSnapshotName] = useState("checkpoint");
  const [outcome, setOutcome] = useState({ done: 0, result: null, error: null });
  const [snapshots, setSnapshots] = useState(null);

  // Runs an action; shows what it returned or how it failed (sync throw or rejection).
  const run = async (action) => {
    let result = null;
    let error = null;
    try {
      result = (await action()) ?? null;
    } catch (e) {
      error = describe(e);
    }
    setOutcome((o) => ({ done: o.done + 1, result, error }));
    return result;
  };
  const parsed = () => JSON.parse(value);
  const t = (name) => `${id}-${name}`;

  return (
    <section data-testid={id} style={{ border: "1px solid #ccc", padding: 8, margin: 8 }}>
      <h2>
        useSessionRecovery({options ? JSON.stringify(options) : ""}) — {id}
      </h2>
      <p>
        status <b data-testid={t("status")}>{r.status}</b>, isRestored <b data-testid={t("restored")}>{String(r.isRestored)}</b>, tab{" "}
        <code data-testid={t("tab-id")}>{r.session?.tabId ?? ""}</code>, hook error{" "}
        <code data-testid={t("hook-error")}>{r.error ? JSON.stringify(describe(r.error)) : ""}</code>
      </p>
      <pre data-testid={t("context")}>{JSON.stringify(r.contextData)}</pre>
      <label>
        key <input data-testid={t("key")} value={key} onChange={(e) => setKey(e.target.value)} />
      </label>
      <label>
        value (JSON) <input data-testid={t("value")} value={value} onChange={(e) => setValue(e.target.value)} />
      </label>
      <button data-testid={t("update")} onClick={() => run(() => r.updateContext({ [key]: parsed() }))}>
        updateContext
      </button>
      <button data-testid={t("update-function")} onClick={() => run(() => r.updateContext({ [key]: () => "not data" }))}>
        updateContext(function)
      </button>
      <button data-testid={t("share")} onClick={() => run(() => r.shareContext(key, parsed()))}>
        shareContext
      </button>
      <br />
      <label>
        snapshot name <input data-testid={t("snapshot-name")} value={snapshotName} onChange={(e) => setSnapshotName(e.target.value)} />
      </label>
      <button data-testid={t("snapshot")} onClick={() => run(async () => setRestoreId(await r.createSnapshot(snapshotName)))}>
        createSnapshot
      </button>
      <button data-testid={t("list")} onClick={() => run(async () => setSnapshots(await r.listSnapshots()))}>
        listSnapshots
      </button>
      <label>
        id <input data-testid={t("restore-id")} value={restoreId} onChange={(e) => setRestoreId(e.target.value)} />
      </label>
      <button data-testid={t("restore")} onClick={() => run(() => r.restoreSnapshot(restoreId))}>
        restoreSnapshot
      </button>
      <p>
        actions done <b data-testid={t("done")}>{outcome.done}</b>, result <code data-testid={t("result")}>{JSON.stringify(outcome.result)}</code>, error{" "}
        <code data-testid={t("error")}>{outcome.error ? JSON.stringify(outcome.error) : ""}</code>
      </p>
      <pre data-testid={t("snapshots")}>{snapshots ? JSON.stringify(snapshots) : ""}</pre>
    </section>
  );
}

/** A second user of the provider's session. */
function SessionProbe() {
  const { session, status } = useSessionRecovery();
  useExposeSession("probe", session);
  return (
    <p>
      second useSessionRecovery() in the provider: <span data-testid="probe-status">{status}</span> tab{" "}
      <code data-testid="probe-tab-id">{session?.tabId ?? ""}</code>
    </p>
  );
}

/** Outside the provider, the provider's name: shares the same session. */
function NamedProbe() {
  const { session, status, contextData } = useSessionRecovery({ name: NAME });
  useExposeSession("named", session);
  return (
    <p>
      useSessionRecovery({"{"} name: "{NAME}" {"}"}) outside the provider: <span data-testid="named-status">{status}</span> tab{" "}
      <code data-testid="named-tab-id">{session?.tabId ?? ""}</code> <code data-testid="named-context">{JSON.stringify(contextData)}</code>
    </p>
  );
}

/**
 * The usual way to write to the session from an effect, with the dependencies
 * eslint-plugin-react-hooks asks for. Counts its runs.
 */
function LastVisited() {
  const { status, updateContext } = useSessionRecovery();
  useEffect(() => {
    if (status !== "ready") return;
    window.lastVisitedRuns = (window.lastVisitedRuns ?? 0) + 1;
    updateContext({ lastVisited: "home" });
  }, [status, updateContext]);
  return null;
}

function WholeContext() {
  const ctx = useSessionContext();
  return (
    <p>
      useSessionContext(): <code data-testid="ctx-all">{JSON.stringify(ctx)}</code>
    </p>
  );
}

function KeyValue({ k }) {
  const v = useSessionContext(k);
  const renders = useRef(0);
  renders.current++;
  return (
    <p>
      useSessionContext("{k}"): <code data-testid="ctx-key">{v === undefined ? "undefined" : JSON.stringify(v)}</code>{" "}
      (rendered <span data-testid="ctx-key-renders">{renders.current}</span> times)
    </p>
  );
}

/** Changes made by other tabs, as onSessionStorageChange reports them. */
function RemoteLog() {
  const [log, setLog] = useState([]);
  useEffect(() => onSessionStorageChange((ctx) => setLog((l) => [...l, ctx])), []);
  return (
    <p>
      remote changes <b data-testid="remote-count">{log.length}</b>: <code data-testid="remote-last">{log.length ? JSON.stringify(log.at(-1)) : ""}</code>
    </p>
  );
}

export function App() {
  const [provider, setProvider] = useState(true);
  const [solo, setSolo] = useState(true);
  const [named, setNamed] = useState(false);
  const [providerKey, setProviderKey] = useState(0);
  const effectRuns = useRef(0);
  useEffect(() => {
    // StrictMode (development build) runs this twice; tests check it did, so
    // that "one session under StrictMode" is tested where it matters.
    window.effectRuns = ++effectRuns.current;
    window.ready = true;
  }, []);

  return (
    <main style={{ fontFamily: "system-ui, sans-serif" }}>
      <h1>session-persist/react — {NAME}</h1>
      <p>
        React {React.version}, {import.meta.env.DEV ? "development" : "production"} ({process.env.NODE_ENV}) build:{" "}
        <span data-testid="react-mode">{process.env.NODE_ENV}</span>
      </p>
      <button data-testid="toggle-provider" onClick={() => setProvider((p) => !p)}>
        {provider ? "unmount" : "mount"} the provider
      </button>{" "}
      <span data-testid="provider-mounted">{String(provider)}</span>{" "}
      <button data-testid="rekey-provider" onClick={() => setProviderKey((k) => k + 1)}>
        remount the provider in one commit (new key)
      </button>
      {provider && (
        // Options written inline, as apps do: a new object every render.
        <SessionProvider
          key={providerKey}
          options={{ name: NAME, ...(FRESH && { restoreOnMount: false }), ...(SNAPSHOT && { initialSnapshotId: SNAPSHOT }) }}>
          <RecoveryPanel id="p" />
          <SessionProbe />
          <WholeContext />
          <KeyValue k="counter" />
          {EFFECT && <LastVisited />}
        </SessionProvider>
      )}
      <hr />
      <button data-testid="toggle-solo" onClick={() => setSolo((s) => !s)}>
        {solo ? "unmount" : "mount"} the standalone hook
      </button>{" "}
      <span data-testid="solo-mounted">{String(solo)}</span>
      {solo && <RecoveryPanel id="solo" options={{ name: SOLO }} />}
      <hr />
      <button data-testid="toggle-named" onClick={() => setNamed((s) => !s)}>
        {named ? "unmount" : "mount"} useSessionRecovery({"{"} name {"}"}) with the provider's name, outside it
      </button>{" "}
      <span data-testid="named-mounted">{String(named)}</span>
      {named && <NamedProbe />}
      <RemoteLog />
    </main>
  );
}
