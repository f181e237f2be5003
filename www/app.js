// The demo: one session named "demo", shown live.
import { openSession } from "/dist/index.js";

const $ = (id) => document.getElementById(id);
let session = null;

function showError(err) {
  const box = $("error");
  box.replaceChildren();
  if (!err) return box.classList.remove("shown");
  const code = document.createElement("code");
  code.textContent = err.code ?? err.name ?? "Error";
  box.append(code, `: ${err.message ?? String(err)}`);
  box.classList.add("shown");
}

// Runs a user action; any error (thrown or rejected) is shown with its code.
async function act(fn) {
  try {
    showError(null);
    await fn();
  } catch (err) {
    showError(err);
  }
  renderInfo();
}

function logEvent(text) {
  const pre = $("events");
  const line = `${new Date().toLocaleTimeString()}  ${text}\n`;
  pre.textContent = (line + pre.textContent).split("\n").slice(0, 50).join("\n");
}

const time = (ms) => (ms == null ? "—" : new Date(ms).toLocaleTimeString());

function renderContext(ctx) {
  $("context").textContent = JSON.stringify(ctx, null, 2);
}

function renderInfo() {
  if (!session) return;
  const i = session.info();
  const rows = [
    ["backend", i.backend],
    ["degraded", i.degraded ?? "no"],
    ["sessionId", i.sessionId],
    ["tabId", i.tabId],
    ["revision", i.revision],
    ["dirty", i.dirty ? "yes (save pending)" : "no"],
    ["lastSavedAt", time(i.lastSavedAt)],
    ["restoreCount", i.restoreCount],
    ["lastRestoredAt", time(i.lastRestoredAt)],
    ["recoveredFromBackup", i.recoveredFromBackup ? "yes" : "no"],
  ];
  $("info").replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = k;
      dd.textContent = String(v);
      dd.dataset.field = k;
      return [dt, dd];
    }),
  );
}

async function renderSnapshots() {
  if (!session) return;
  const list = await session.listSnapshots();
  const ul = $("snapshots");
  if (list.length === 0) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "No snapshots yet.";
    return ul.replaceChildren(li);
  }
  ul.replaceChildren(
    ...list.map((s) => {
      const li = document.createElement("li");
      li.dataset.id = s.id;
      const meta = document.createElement("span");
      meta.className = "meta";
      const small = document.createElement("small");
      small.textContent = `${s.source} · ${new Date(s.createdAt).toLocaleString()} · ${s.bytes} B`;
      meta.append(s.name || "(unnamed)", small);
      const restore = button("Restore", "secondary", () => session.restoreSnapshot(s.id));
      const del = button("Delete", "danger", () => session.deleteSnapshot(s.id));
      li.append(meta, restore, del);
      return li;
    }),
  );
}

function button(label, cls, fn) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = cls;
  b.textContent = label;
  b.addEventListener("click", () => act(async () => {
    await fn();
    await renderSnapshots();
  }));
  return b;
}

// A value that parses as JSON is stored as such; anything else as the text typed.
function parseValue(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function onEvent(event, detail) {
  let text = event;
  try {
    if (detail != null) text += ` ${detail instanceof Error ? detail.message : JSON.stringify(detail)}`;
  } catch {} // a detail that does not stringify
  logEvent(text);
  renderInfo();
  if (event === "error") showError(detail instanceof Error ? detail : { code: detail?.code, message: text });
}

async function main() {
  try {
    // onEvent sees every event, including those raised while opening.
    session = await openSession({ name: "demo", onEvent });
  } catch (err) {
    $("status").textContent = "Could not open the session.";
    showError(err);
    window.ready = true;
    return;
  }
  window.session = session; // handy in the console
  $("status").textContent = "";

  session.subscribe((ctx, change) => {
    renderContext(ctx);
    renderInfo();
    if (change.source !== "local") logEvent(`change from ${change.source}: ${change.keys.join(", ")}`);
    if (change.source === "restore" || change.source === "snapshot") renderSnapshots().catch(showError);
  });

  $("set-form").addEventListener("submit", (e) => {
    e.preventDefault();
    act(() => session.set($("key").value.trim(), parseValue($("value").value)));
  });
  $("delete").addEventListener("click", () => act(() => session.delete($("key").value.trim())));
  $("save").addEventListener("click", () => act(() => session.save()));
  $("clear").addEventListener("click", () => act(async () => {
    await session.clear();
    await renderSnapshots();
  }));
  $("snapshot-form").addEventListener("submit", (e) => {
    e.preventDefault();
    act(async () => {
      await session.createSnapshot($("snapshot-name").value.trim() || undefined);
      $("snapshot-name").value = "";
      await renderSnapshots();
    });
  });

  renderContext(session.get());
  renderInfo();
  await renderSnapshots();
  window.ready = true; // the page is live (the e2e tests wait for this)
}

window.addEventListener("unhandledrejection", (e) => showError(e.reason));
main();
