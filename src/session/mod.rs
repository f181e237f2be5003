//! The session engine: ties the pure core (document, clock, schedule,
//! retention) to a storage backend, timers and the page lifecycle.
//!
//! State lives in one `RefCell`. No borrow is ever held while app code runs
//! (subscribers, event handlers) or across an `await`, so app code may call
//! back into the session from anywhere.

mod events;
mod records;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use js_sys::Function;
use wasm_bindgen::JsValue;

use crate::core::clock::Clock;
use crate::core::doc::{Doc, Entry, Op};
use crate::core::error::{Code, Error, Result};
use crate::core::options::Options;
use crate::core::schedule::Schedule;
use crate::core::snapshots::{self, Info as SnapshotInfo, Source};
use crate::platform::lifecycle::Lifecycle;
use crate::platform::lock::Lock;
use crate::platform::storage::{self, Backend, Batch, MemoryStorage, Storage};
use crate::platform::value::{report_later, Value};
use crate::platform::{env, js};

pub use events::Event;
pub use records::info_to_js as snapshot_info_to_js;

/// Storage key of the context record.
const CTX: &str = "ctx";
/// Storage key of session metadata (restore count and time).
const META: &str = "meta";
/// Storage key of the snapshot index.
const SNAP_INDEX: &str = "snapidx";
/// Where a context record that failed validation is kept, so it is not
/// overwritten before someone can look at it.
const DAMAGED: &str = "ctx.damaged";
/// Tombstones older than this are dropped on save (30 days).
const TOMBSTONE_TTL_MS: u64 = 30 * 86_400_000;

fn snap_key(id: &str) -> String {
    format!("snap:{id}")
}

/// Where a change came from (`Change.source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeSource {
    /// This tab's `update`/`set`/`delete`.
    Local,
    /// Another tab.
    Tab,
    /// Loaded from storage.
    Restore,
    /// A snapshot was restored.
    Snapshot,
}

impl ChangeSource {
    fn as_str(self) -> &'static str {
        match self {
            ChangeSource::Local => "local",
            ChangeSource::Tab => "tab",
            ChangeSource::Restore => "restore",
            ChangeSource::Snapshot => "snapshot",
        }
    }
}

/// App callbacks given in the options.
#[derive(Default)]
pub struct Hooks {
    /// `onEvent(event, detail)`: every event, including those raised while opening.
    pub on_event: Option<Function>,
}

/// What `info()` reports.
pub struct Info {
    /// Device session id.
    pub session_id: String,
    /// This tab's id.
    pub tab_id: String,
    /// The backend in use.
    pub backend: Backend,
    /// Context revision.
    pub revision: u64,
    /// Changes not yet written.
    pub dirty: bool,
    /// Time of the last successful write.
    pub last_saved_at: Option<u64>,
    /// How many times a stored context was loaded.
    pub restore_count: u32,
    /// When a stored context was last loaded.
    pub last_restored_at: Option<u64>,
    /// Whether the context came from a backup because the primary was bad.
    pub recovered_from_backup: bool,
    /// Why the backend is not the one asked for.
    pub degraded: Option<String>,
    /// Stored size of the context in bytes.
    pub bytes: usize,
}

struct State {
    opts: Options,
    session_id: String,
    tab_id: String,
    storage: Rc<dyn Storage>,
    degraded: Option<String>,
    doc: Doc<Value>,
    clock: Clock,
    schedule: Schedule,
    writes_in_flight: u32,
    last_saved_at: Option<u64>,
    restore_count: u32,
    last_restored_at: Option<u64>,
    recovered_from_backup: bool,
    view: Option<JsValue>,
    subscribers: Vec<(u32, Function)>,
    handlers: Vec<(u32, Event, Function)>,
    on_event: Option<Function>,
    next_id: u32,
    /// Events raised while opening, replayed to `on()` handlers once open.
    opening_events: Option<Vec<(Event, JsValue)>>,
    closed: bool,
    timer: Option<(u64, Timeout)>,
    lifecycle: Option<Lifecycle>,
}

/// A write that has been issued to storage.
struct PendingWrite {
    done: storage::BoxFut<'static, Result<()>>,
    revision: u64,
    bytes: usize,
}

/// A session handle that does not keep it alive (for JS closures).
pub struct WeakSession(Weak<Inner>);

impl WeakSession {
    /// The session, if it is still alive.
    pub fn upgrade(&self) -> Option<Session> {
        Session::from_weak(&self.0)
    }
}

/// An open session. Cheap to clone: clones share the session.
#[derive(Clone)]
pub struct Session {
    inner: Rc<Inner>,
}

struct Inner {
    state: RefCell<State>,
    /// Serializes read-modify-write operations on storage.
    lock: Lock,
}

fn closed_error() -> Error {
    Error::new(
        Code::Closed,
        "the session was closed; open a new one with openSession()",
    )
}

impl Session {
    /// Opens the session: picks storage, loads the stored context and
    /// snapshot index, and starts autosave.
    pub async fn open(opts: Options, session_id: String, hooks: Hooks) -> Result<Session> {
        let tab_id = env::tab_id();
        let (storage, degraded) = storage::open(&opts.name, opts.storage).await;
        let schedule = Schedule::new(opts.save_debounce, opts.auto_save_interval);
        let session = Session {
            inner: Rc::new(Inner {
                state: RefCell::new(State {
                    clock: Clock::new(tab_id.clone()),
                    opts,
                    session_id,
                    tab_id,
                    storage,
                    degraded: degraded.clone(),
                    doc: Doc::new(),
                    schedule,
                    writes_in_flight: 0,
                    last_saved_at: None,
                    restore_count: 0,
                    last_restored_at: None,
                    recovered_from_backup: false,
                    view: None,
                    subscribers: Vec::new(),
                    handlers: Vec::new(),
                    on_event: hooks.on_event,
                    next_id: 1,
                    opening_events: Some(Vec::new()),
                    closed: false,
                    timer: None,
                    lifecycle: None,
                }),
                lock: Lock::default(),
            }),
        };
        if let Some(why) = degraded {
            let backend = session.state().storage.backend();
            session.emit(
                Event::Degraded,
                js::object([
                    ("backend", backend.as_str().into()),
                    ("reason", why.as_str().into()),
                ]),
            );
        }
        session.load().await?;
        let initial = session.state().opts.initial_snapshot_id.clone();
        if let Some(id) = initial {
            if let Err(e) = session.restore_snapshot(&id).await {
                session.emit_error(&e);
            }
        }
        session.start_lifecycle();
        session.finish_opening();
        Ok(session)
    }

    fn state(&self) -> std::cell::Ref<'_, State> {
        self.inner.state.borrow()
    }

    fn state_mut(&self) -> std::cell::RefMut<'_, State> {
        self.inner.state.borrow_mut()
    }

    fn weak(&self) -> Weak<Inner> {
        Rc::downgrade(&self.inner)
    }

    fn from_weak(weak: &Weak<Inner>) -> Option<Session> {
        weak.upgrade().map(|inner| Session { inner })
    }

    /// A handle that does not keep the session alive.
    pub fn downgrade(&self) -> WeakSession {
        WeakSession(self.weak())
    }

    /// Loads what storage holds: the context (unless `restoreOnOpen` is
    /// false), metadata and the snapshot index.
    async fn load(&self) -> Result<()> {
        let storage = self.state().storage.clone();
        let found = storage.read(&[CTX, META, SNAP_INDEX]).await;
        let mut found = match found {
            Ok(v) => v,
            Err(e) => {
                // Unreadable storage must not stop the app, and what it holds
                // must not be overwritten by an empty context: keep this
                // session in memory, and say so.
                self.emit_error(&e);
                self.degrade_to_memory(format!("could not read stored data ({}); changes are kept in memory only so that it is not overwritten", e.message));
                return Ok(());
            }
        };
        let index = found.pop().flatten();
        let meta = found.pop().flatten();
        let ctx = found.pop().flatten();
        let now = env::now();
        let (restore_count, last_restored_at) =
            meta.as_ref().map(records::decode_meta).unwrap_or((0, None));
        {
            let mut st = self.state_mut();
            st.restore_count = restore_count;
            st.last_restored_at = last_restored_at;
        }
        let Some(ctx) = ctx else { return Ok(()) };
        let restore = self.state().opts.restore_on_open;
        match records::decode(&ctx) {
            Ok((header, entries)) if restore => {
                let revision = header.revision;
                self.adopt(entries, revision);
                let meta = {
                    let mut st = self.state_mut();
                    st.restore_count += 1;
                    st.last_restored_at = Some(now);
                    st.last_saved_at = Some(header.saved_at);
                    records::encode_meta(st.restore_count, st.last_restored_at)
                };
                let write = storage.write(Batch {
                    puts: vec![(META.into(), meta)],
                    deletes: vec![],
                });
                if let Err(e) = write.await {
                    self.emit_error(&e);
                }
                self.emit(
                    Event::Restored,
                    js::object([
                        ("source", "storage".into()),
                        ("revision", (revision as f64).into()),
                    ]),
                );
            }
            Ok((_, entries)) => {
                // restoreOnOpen: false starts empty; keep what was stored as
                // an "auto" snapshot instead of overwriting it on the next save.
                let bytes = entries.values().map(|e| e.size).sum();
                if let Err(e) = self
                    .store_snapshot(ctx, bytes, "", Source::Auto, index)
                    .await
                {
                    self.emit_error(&e);
                    self.degrade_to_memory(format!("could not keep the stored context as a snapshot ({}); changes are kept in memory only so that it is not overwritten", e.message));
                }
            }
            Err(e) => {
                let _ = storage
                    .write(Batch {
                        puts: vec![(DAMAGED.into(), ctx)],
                        deletes: vec![CTX.into()],
                    })
                    .await;
                self.emit(
                    Event::Recovered,
                    js::object([
                        ("reason", e.message.as_str().into()),
                        ("lost", JsValue::TRUE),
                        ("keptAs", DAMAGED.into()),
                    ]),
                );
            }
        }
        Ok(())
    }

    /// Switches to memory storage for the rest of this session, raising
    /// `degraded`. Used when writing to the real storage could destroy data.
    fn degrade_to_memory(&self, why: String) {
        {
            let mut st = self.state_mut();
            let name = format!("{}#{}", st.opts.name, env::random_id(""));
            st.storage = Rc::new(MemoryStorage::open(&name));
            st.degraded = Some(why.clone());
        }
        self.emit(
            Event::Degraded,
            js::object([
                ("backend", Backend::Memory.as_str().into()),
                ("reason", why.as_str().into()),
            ]),
        );
    }

    /// Makes loaded entries the context, and moves the clock past them so
    /// new local writes win over what was stored.
    fn adopt(&self, entries: BTreeMap<String, Entry<Value>>, revision: u64) {
        let mut st = self.state_mut();
        for e in entries.values() {
            st.clock.observe(&e.stamp);
        }
        st.doc = Doc::from_entries(entries, revision);
        st.view = None;
    }

    fn start_lifecycle(&self) {
        let weak = self.weak();
        let lifecycle = Lifecycle::watch(move || {
            if let Some(s) = Session::from_weak(&weak) {
                s.flush_on_leave();
            }
        });
        self.state_mut().lifecycle = lifecycle;
    }

    /// Ends the opening phase: events raised so far are replayed, at the
    /// next macrotask, to `on()` handlers added after `openSession` resolved.
    fn finish_opening(&self) {
        let weak = self.weak();
        Timeout::new(0, move || {
            let Some(s) = Session::from_weak(&weak) else {
                return;
            };
            let events = s.state_mut().opening_events.take().unwrap_or_default();
            for (event, detail) in events {
                s.deliver(event, &detail);
            }
        })
        .forget();
    }

    // ----- reading -----

    /// The context as a frozen plain object; the same object until the
    /// next change.
    pub fn view(&self) -> JsValue {
        if let Some(v) = &self.state().view {
            return v.clone();
        }
        let obj = js_sys::Object::new();
        for (k, v) in self.state().doc.live() {
            js::set(&obj, k, &v.js);
        }
        let view: JsValue = js_sys::Object::freeze(&obj).into();
        self.state_mut().view = Some(view.clone());
        view
    }

    /// The value of `key`, or `undefined`.
    pub fn get(&self, key: &str) -> JsValue {
        self.state()
            .doc
            .get(key)
            .map_or(JsValue::UNDEFINED, |v| v.js.clone())
    }

    /// Device session id.
    pub fn session_id(&self) -> String {
        self.state().session_id.clone()
    }

    /// This tab's id.
    pub fn tab_id(&self) -> String {
        self.state().tab_id.clone()
    }

    /// Current status.
    pub fn info(&self) -> Info {
        let st = self.state();
        Info {
            session_id: st.session_id.clone(),
            tab_id: st.tab_id.clone(),
            backend: st.storage.backend(),
            revision: st.doc.revision(),
            dirty: st.schedule.is_dirty() || st.writes_in_flight > 0,
            last_saved_at: st.last_saved_at,
            restore_count: st.restore_count,
            last_restored_at: st.last_restored_at,
            recovered_from_backup: st.recovered_from_backup,
            degraded: st.degraded.clone(),
            bytes: st.doc.bytes(),
        }
    }

    // ----- changing -----

    /// Applies a patch: `Some(value)` sets a key, `None` removes it. All or
    /// nothing: a value that cannot be stored, or a context that would grow
    /// past `maxContextBytes`, fails the whole patch and changes nothing.
    pub fn update(&self, patch: Vec<(String, Option<JsValue>)>) -> Result<()> {
        self.check_open()?;
        let mut ops = Vec::with_capacity(patch.len());
        for (key, value) in patch {
            let op = match value {
                Some(v) => {
                    let (value, size) = Value::encode(&key, v)?;
                    Op::Set(value, size)
                }
                None => Op::Delete,
            };
            ops.push((key, op));
        }
        self.apply(ops, ChangeSource::Local, true).map(|_| ())
    }

    /// Applies `ops` as this tab's writes and tells subscribers. Returns the
    /// keys that changed.
    fn apply(
        &self,
        ops: Vec<(String, Op<Value>)>,
        source: ChangeSource,
        check_size: bool,
    ) -> Result<Vec<String>> {
        let changed = {
            let mut st = self.state_mut();
            let max = st.opts.max_context_bytes;
            if check_size {
                let after = st.doc.bytes_after(&ops);
                if after > max && after > st.doc.bytes() {
                    return Err(Error::new(
                        Code::TooLarge,
                        format!(
                            "the context would be {after} bytes, over maxContextBytes ({max}); store less, or raise maxContextBytes"
                        ),
                    ));
                }
            }
            let now = env::now();
            let st = &mut *st;
            let changed = st.doc.apply_local(ops, &mut st.clock, now);
            if changed.is_empty() {
                return Ok(changed);
            }
            st.view = None;
            if changed.iter().any(|k| st.opts.persist.persists(k)) {
                st.schedule.changed(now);
            }
            changed
        };
        self.arm_timer();
        self.notify(&changed, source);
        Ok(changed)
    }

    fn notify(&self, keys: &[String], source: ChangeSource) {
        let subscribers: Vec<Function> = self
            .state()
            .subscribers
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        if subscribers.is_empty() {
            return;
        }
        let ctx = self.view();
        let change = js::object([
            ("source", source.as_str().into()),
            ("keys", js::str_array(keys.iter().map(String::as_str))),
        ]);
        for f in subscribers {
            if let Err(e) = f.call2(&JsValue::UNDEFINED, &ctx, &change) {
                report_later(&e);
            }
        }
    }

    /// Calls `f(ctx, change)` after every change; returns its id.
    pub fn subscribe(&self, f: Function) -> Result<u32> {
        self.check_open()?;
        let mut st = self.state_mut();
        let id = st.next_id;
        st.next_id += 1;
        st.subscribers.push((id, f));
        Ok(id)
    }

    /// Removes a subscriber or event handler by id.
    pub fn unsubscribe(&self, id: u32) {
        let mut st = self.state_mut();
        st.subscribers.retain(|(i, _)| *i != id);
        st.handlers.retain(|(i, _, _)| *i != id);
    }

    /// Calls `f(detail)` on every `event`; returns its id.
    pub fn on(&self, event: Event, f: Function) -> Result<u32> {
        self.check_open()?;
        let mut st = self.state_mut();
        let id = st.next_id;
        st.next_id += 1;
        st.handlers.push((id, event, f));
        Ok(id)
    }

    fn check_open(&self) -> Result<()> {
        if self.state().closed {
            return Err(closed_error());
        }
        Ok(())
    }

    // ----- events -----

    fn emit(&self, event: Event, detail: JsValue) {
        let on_event = {
            let mut st = self.state_mut();
            if let Some(buffer) = st.opening_events.as_mut() {
                buffer.push((event, detail.clone()));
            }
            st.on_event.clone()
        };
        if let Some(f) = on_event {
            if let Err(e) = f.call2(&JsValue::UNDEFINED, &event.as_str().into(), &detail) {
                report_later(&e);
            }
        }
        self.deliver(event, &detail);
    }

    fn emit_error(&self, err: &Error) {
        self.emit(
            Event::Error,
            js::object([
                ("code", err.code.as_str().into()),
                ("message", err.message.as_str().into()),
                ("error", js::to_js_error(err)),
            ]),
        );
    }

    /// Calls the `on()` handlers of `event`.
    fn deliver(&self, event: Event, detail: &JsValue) {
        let handlers: Vec<Function> = self
            .state()
            .handlers
            .iter()
            .filter(|(_, e, _)| *e == event)
            .map(|(_, _, f)| f.clone())
            .collect();
        for f in handlers {
            if let Err(e) = f.call1(&JsValue::UNDEFINED, detail) {
                report_later(&e);
            }
        }
    }

    // ----- saving -----

    /// Sets the timer for the next autosave, if one is due earlier than the
    /// timer already set. A timer that fires early just re-arms, so a burst
    /// of changes costs no timer churn.
    fn arm_timer(&self) {
        let now = env::now();
        let mut st = self.state_mut();
        if st.closed {
            return;
        }
        let Some(due) = st.schedule.due_at() else {
            return;
        };
        if st.timer.as_ref().is_some_and(|(at, _)| *at <= due) {
            return;
        }
        let weak = self.weak();
        let delay = due.saturating_sub(now).min(u32::MAX as u64) as u32;
        let timeout = Timeout::new(delay, move || {
            if let Some(s) = Session::from_weak(&weak) {
                s.on_timer();
            }
        });
        st.timer = Some((due, timeout));
    }

    fn on_timer(&self) {
        let due = {
            let mut st = self.state_mut();
            st.timer = None;
            st.schedule.is_due(env::now())
        };
        if due {
            let s = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                // Failures are reported as `error` events and retried.
                let _ = s.write_context().await;
            });
        } else {
            self.arm_timer();
        }
    }

    /// The page may be going away: issue the write now, inside the event
    /// handler. A write started in a later microtask does not survive a
    /// reload in Chromium.
    fn flush_on_leave(&self) {
        if !self.state().schedule.is_dirty() {
            return;
        }
        if let Ok(pending) = self.begin_write() {
            let s = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let _ = s.finish_write(pending).await;
            });
        }
    }

    /// Writes the context now and reports the outcome.
    async fn write_context(&self) -> Result<()> {
        let pending = self.begin_write()?;
        self.finish_write(pending).await
    }

    /// Builds the record of the current context and issues its write.
    /// Writes are not queued behind each other: IndexedDB runs read-write
    /// transactions on one store in the order they were created, and each
    /// write carries the latest context.
    fn begin_write(&self) -> Result<PendingWrite> {
        let mut st = self.state_mut();
        if st.closed {
            return Err(closed_error());
        }
        let now = env::now();
        st.doc
            .prune_tombstones(now.saturating_sub(TOMBSTONE_TTL_MS));
        st.schedule.write_started();
        st.writes_in_flight += 1;
        let (record, bytes) = records::encode(&st.doc, &st.opts, now);
        let done = st.storage.write(Batch {
            puts: vec![(CTX.into(), record)],
            deletes: vec![],
        });
        Ok(PendingWrite {
            done,
            revision: st.doc.revision(),
            bytes,
        })
    }

    /// Waits for a write begun by [`Session::begin_write`], then records
    /// the outcome and raises `saved` or `error`.
    async fn finish_write(&self, pending: PendingWrite) -> Result<()> {
        let result = pending.done.await;
        let now = env::now();
        {
            let mut st = self.state_mut();
            st.writes_in_flight -= 1;
            match &result {
                Ok(()) => {
                    st.schedule.write_succeeded();
                    st.last_saved_at = Some(now);
                }
                Err(_) => st.schedule.write_failed(now),
            }
        }
        match &result {
            Ok(()) => self.emit(
                Event::Saved,
                js::object([
                    ("revision", (pending.revision as f64).into()),
                    ("bytes", (pending.bytes as f64).into()),
                    ("at", (now as f64).into()),
                ]),
            ),
            Err(e) => {
                self.emit_error(e);
                self.arm_timer();
            }
        }
        result
    }

    /// Writes what is pending; resolves when it is stored.
    pub async fn save(&self) -> Result<()> {
        self.check_open()?;
        let pending = {
            let st = self.state();
            st.schedule.is_dirty() || st.writes_in_flight > 0
        };
        if pending {
            self.write_context().await?;
        }
        Ok(())
    }

    /// Sets `key` and writes now.
    pub async fn share(&self, key: String, value: JsValue) -> Result<()> {
        self.update(vec![(key, Some(value))])?;
        self.write_context().await
    }

    // ----- snapshots -----

    async fn read_index(&self) -> Result<Vec<SnapshotInfo>> {
        let storage = self.state().storage.clone();
        let found = storage.read(&[SNAP_INDEX]).await?;
        Ok(found
            .into_iter()
            .next()
            .flatten()
            .map(|v| records::decode_index(&v))
            .unwrap_or_default())
    }

    /// Stores `record` as a new snapshot and applies retention, in one
    /// write. `index` is the stored index if already read.
    async fn store_snapshot(
        &self,
        record: JsValue,
        bytes: usize,
        name: &str,
        source: Source,
        index: Option<JsValue>,
    ) -> Result<String> {
        let mut list = match index {
            Some(v) => records::decode_index(&v),
            None => self.read_index().await?,
        };
        let now = env::now();
        let id = snapshots::new_id(now, env::random());
        list.push(SnapshotInfo {
            id: id.clone(),
            name: name.to_string(),
            created_at: now,
            source,
            bytes,
        });
        let (retention, storage) = {
            let st = self.state();
            (st.opts.snapshots, st.storage.clone())
        };
        let evicted = snapshots::retain(&mut list, retention, now);
        let mut batch = Batch {
            puts: vec![
                (snap_key(&id), record),
                (SNAP_INDEX.into(), records::encode_index(&list)),
            ],
            deletes: evicted.iter().map(|id| snap_key(id)).collect(),
        };
        batch.deletes.retain(|k| *k != snap_key(&id));
        storage.write(batch).await?;
        Ok(id)
    }

    /// Saves the current context as a named snapshot; returns its id.
    pub async fn create_snapshot(&self, name: &str, source: Source) -> Result<String> {
        self.check_open()?;
        let _guard = self.inner.lock.acquire().await;
        self.check_open()?;
        let (record, bytes) = {
            let st = self.state();
            records::encode(&st.doc, &st.opts, env::now())
        };
        self.store_snapshot(record, bytes, name, source, None).await
    }

    /// Snapshots, newest first, at most `limit`.
    pub async fn list_snapshots(&self, limit: Option<usize>) -> Result<Vec<SnapshotInfo>> {
        self.check_open()?;
        let mut list = self.read_index().await?;
        snapshots::sort_newest_first(&mut list);
        if let Some(n) = limit {
            list.truncate(n);
        }
        Ok(list)
    }

    fn not_found(id: &str) -> Error {
        Error::new(
            Code::SnapshotNotFound,
            format!("no snapshot with id \"{id}\"; listSnapshots() gives the ids that exist"),
        )
    }

    /// Replaces the context with a snapshot's, after taking a `pre-restore`
    /// snapshot of the current one, and writes it.
    pub async fn restore_snapshot(&self, id: &str) -> Result<()> {
        self.check_open()?;
        let _guard = self.inner.lock.acquire().await;
        self.check_open()?;
        let index = self.read_index().await?;
        if !index.iter().any(|i| i.id == id) {
            return Err(Self::not_found(id));
        }
        let storage = self.state().storage.clone();
        let key = snap_key(id);
        let body = storage
            .read(&[key.as_str()])
            .await?
            .into_iter()
            .next()
            .flatten();
        let body = body.ok_or_else(|| Self::not_found(id))?;
        let (_, entries) = records::decode(&body).map_err(|e| {
            Error::new(
                Code::StorageUnavailable,
                format!("snapshot \"{id}\" is damaged: {}", e.message),
            )
        })?;
        let (current, bytes) = {
            let st = self.state();
            records::encode(&st.doc, &st.opts, env::now())
        };
        self.store_snapshot(current, bytes, "", Source::PreRestore, None)
            .await?;
        let ops = {
            let st = self.state();
            let mut ops: Vec<(String, Op<Value>)> = st
                .doc
                .live()
                .filter(|(k, _)| !entries.get(*k).is_some_and(|e| e.value.is_some()))
                .map(|(k, _)| (k.clone(), Op::Delete))
                .collect();
            for (k, e) in entries {
                if let Some(v) = e.value {
                    ops.push((k, Op::Set(v, e.size)));
                }
            }
            ops
        };
        self.apply(ops, ChangeSource::Snapshot, false)?;
        self.write_context().await?;
        let revision = self.state().doc.revision();
        self.emit(
            Event::Restored,
            js::object([
                ("source", "snapshot".into()),
                ("snapshotId", id.into()),
                ("revision", (revision as f64).into()),
            ]),
        );
        Ok(())
    }

    /// Deletes a snapshot.
    pub async fn delete_snapshot(&self, id: &str) -> Result<()> {
        self.check_open()?;
        let _guard = self.inner.lock.acquire().await;
        let mut index = self.read_index().await?;
        let before = index.len();
        index.retain(|i| i.id != id);
        if index.len() == before {
            return Err(Self::not_found(id));
        }
        let storage = self.state().storage.clone();
        storage
            .write(Batch {
                puts: vec![(SNAP_INDEX.into(), records::encode_index(&index))],
                deletes: vec![snap_key(id)],
            })
            .await
    }

    /// Removes the context, snapshots and metadata of this name, in storage
    /// and in memory.
    pub async fn clear(&self) -> Result<()> {
        self.check_open()?;
        let _guard = self.inner.lock.acquire().await;
        let index = self.read_index().await?;
        let storage = self.state().storage.clone();
        let mut deletes: Vec<String> = [CTX, META, SNAP_INDEX, DAMAGED]
            .iter()
            .map(|s| s.to_string())
            .collect();
        deletes.extend(index.iter().map(|i| snap_key(&i.id)));
        storage
            .write(Batch {
                puts: vec![],
                deletes,
            })
            .await?;
        let ops: Vec<(String, Op<Value>)> = self
            .state()
            .doc
            .live()
            .map(|(k, _)| (k.clone(), Op::Delete))
            .collect();
        self.apply(ops, ChangeSource::Local, false)?;
        let mut st = self.state_mut();
        // Storage now matches the (empty) context: nothing to write.
        st.schedule.write_started();
        st.schedule.write_succeeded();
        st.restore_count = 0;
        st.last_restored_at = None;
        st.last_saved_at = None;
        Ok(())
    }

    /// Writes what is pending, then stops timers and listeners. Later calls
    /// fail with `CLOSED`; closing twice is harmless.
    pub async fn close(&self) -> Result<()> {
        if self.state().closed {
            return Ok(());
        }
        let saved = self.save().await;
        let mut st = self.state_mut();
        st.closed = true;
        st.timer = None;
        st.lifecycle = None;
        st.subscribers.clear();
        st.handlers.clear();
        st.on_event = None;
        saved
    }
}
