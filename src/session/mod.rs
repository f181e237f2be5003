//! The session engine: ties the pure core (document, clock, schedule,
//! retention) to a storage backend, the cross-tab channel, timers and the
//! page lifecycle.
//!
//! State lives in one `RefCell`. No borrow is ever held while app code runs
//! (subscribers, event handlers), across an `await`, or while calling into
//! storage (whose callbacks may run at once), so app code may call back
//! into the session from anywhere.
//!
//! - `saving`: autosave, read-merge-write saves, the leave journal;
//! - `snapshots`: snapshots and `clear`;
//! - `sync`: the cross-tab protocol.

mod events;
mod records;
mod recovery;
mod saving;
mod snapshots;
mod sync;
mod view;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use js_sys::Function;
use wasm_bindgen::JsValue;

use crate::core::clock::Clock;
use crate::core::doc::{Doc, Entry, Op};
use crate::core::error::{Code, Error, Result};
use crate::core::keymap::KeyMap;
use crate::core::options::Options;
use crate::core::record::{check_schema, SchemaCheck};
use crate::core::schedule::Schedule;
use crate::core::snapshots::Source;
use crate::platform::channel::Channel;
use crate::platform::lifecycle::Lifecycle;
use crate::platform::lock::Lock;
use crate::platform::storage::journal::LocalJournal;
use crate::platform::storage::{self, Backend, Batch, MemoryStorage, Storage};
use crate::platform::value::{report_later, Value};
use crate::platform::{env, js, tabs};

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
/// Prefix of the backup ring: earlier saved versions of `ctx`.
const BAK_PREFIX: &str = "bak:";
/// Storage key of the write head, `{ next, w, ws }`: the backup ring's next
/// slot, and the tab and write number that wrote `ctx` (written with it, so
/// a save reads this small record instead of the whole context to learn
/// whether anyone wrote since).
const BAK_INDEX: &str = "bakidx";
/// Prefix of the journal a leaving tab writes (`tab:<tabId>`); the next
/// save of any tab folds journals into the context record.
const JOURNAL_PREFIX: &str = "tab:";

/// Where a change came from (`Change.source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeSource {
    /// This tab's `update`/`set`/`delete`/`clear`.
    Local,
    /// Another tab (live, or found in storage).
    Tab,
    /// Loaded from storage on open.
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
    /// `migrate(old, fromVersion)`: upgrades a context stored with an older `version`.
    pub migrate: Option<Function>,
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
    /// Where an IndexedDB session writes when the page goes away.
    journal: Option<LocalJournal>,
    degraded: Option<String>,
    doc: Doc<Value>,
    clock: Clock,
    schedule: Schedule,
    writes_in_flight: u32,
    /// Sequence number of this tab's last context write (stored in the
    /// record, so the next write can tell whether anyone wrote since).
    write_seq: u64,
    /// What storage holds, as far as this tab knows.
    stored: Option<Stored>,
    /// The next write must not keep the record it replaces as a backup
    /// (`clear()`: the cleared context must not survive in the ring).
    forget_replaced: bool,
    last_saved_at: Option<u64>,
    restore_count: u32,
    last_restored_at: Option<u64>,
    recovered_from_backup: bool,
    view: view::View,
    subscribers: Vec<(u32, Function)>,
    handlers: Vec<(u32, Event, Function)>,
    on_event: Option<Function>,
    /// The app's `migrate`, for stored contexts and snapshots of older versions.
    migrate: Option<Function>,
    next_id: u32,
    /// Events raised while opening, replayed to `on()` handlers once open.
    opening_events: Option<Vec<(Event, JsValue)>>,
    closed: bool,
    timer: Option<(u64, Timeout)>,
    lifecycle: Option<Lifecycle>,
    channel: Option<Channel>,
    /// Keys changed locally and not yet sent to other tabs.
    outbox: KeyMap<()>,
    /// Whether a microtask will send the outbox.
    send_scheduled: bool,
    /// Whether another tab of this name may be listening: it said so on the
    /// channel, or Web Locks showed one (or could not tell) at open. Until
    /// then changes are not posted (a tab that opens later asks for the
    /// whole state), which saves a message per change in a lone tab.
    peers: bool,
    /// Keys a save merged in from storage, to announce once it is done.
    absorbed: Vec<String>,
    /// Resolves the wait for a reply to this tab's `hello`.
    hello: Option<(String, Function)>,
}

/// What this tab last wrote to (or read from) storage, to write the next
/// save without reading first (see `saving`).
struct Stored {
    /// The `ctx` record.
    record: JsValue,
    /// Its writer and write number, as the `head` record says.
    writer: (String, u64),
    /// The backup ring's next slot.
    bak_next: u32,
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
    /// Serializes snapshot operations, which read, then write.
    lock: Lock,
}

fn closed_error() -> Error {
    Error::new(
        Code::Closed,
        "the session was closed; open a new one with openSession()",
    )
}

impl Session {
    /// Opens the session: picks storage, joins the other tabs, loads the
    /// stored context (and anything newer a live tab holds), and starts
    /// autosave.
    pub async fn open(opts: Options, session_id: String, hooks: Hooks) -> Result<Session> {
        // Tab presence (Web Locks) and storage open at the same time. The
        // count of other tabs is taken after this tab's claim, so of two
        // tabs opening at once at least one sees the other.
        let presence = async {
            let mut tab_id = env::tab_id();
            if !tabs::claim(&opts.name, &tab_id).await {
                // A duplicated tab starts with the original's sessionStorage,
                // hence its id: two writers must never share one.
                tab_id = env::new_tab_id();
                tabs::claim(&opts.name, &tab_id).await;
            }
            let others = match opts.cross_tab {
                true => tabs::others(&opts.name, &tab_id).await,
                false => Some(0),
            };
            (tab_id, others)
        };
        let ((tab_id, others), (storage, degraded)) =
            storage::both(presence, storage::open(&opts.name, opts.storage)).await;
        let schedule = Schedule::new(opts.save_debounce, opts.auto_save_interval);
        let journal = match storage.backend() {
            Backend::IndexedDb => LocalJournal::open(&opts.name),
            _ => None,
        };
        let session = Session {
            inner: Rc::new(Inner {
                state: RefCell::new(State {
                    clock: Clock::new(tab_id.clone()),
                    opts,
                    session_id,
                    tab_id,
                    storage,
                    journal,
                    degraded: degraded.clone(),
                    doc: Doc::new(),
                    schedule,
                    writes_in_flight: 0,
                    // Random start: a reloaded tab keeps its id, and must not
                    // mistake a record it wrote before the reload for its last.
                    write_seq: env::random() & 0xffff_ffff,
                    stored: None,
                    forget_replaced: false,
                    last_saved_at: None,
                    restore_count: 0,
                    last_restored_at: None,
                    recovered_from_backup: false,
                    view: view::View::default(),
                    subscribers: Vec::new(),
                    handlers: Vec::new(),
                    on_event: hooks.on_event,
                    migrate: hooks.migrate,
                    next_id: 1,
                    opening_events: Some(Vec::new()),
                    closed: false,
                    timer: None,
                    lifecycle: None,
                    channel: None,
                    outbox: KeyMap::new(),
                    send_scheduled: false,
                    peers: false,
                    absorbed: Vec::new(),
                    hello: None,
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
        // Listen before loading, so nothing sent meanwhile is missed (merging
        // is order-independent).
        session.join_channel();
        if let Err(e) = session.load().await {
            session.shut();
            return Err(e);
        }
        session.catch_up_from_tabs(others).await;
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

    fn storage(&self) -> Rc<dyn Storage> {
        self.state().storage.clone()
    }

    /// Loads what storage holds: the context (from the newest valid backup
    /// if the primary is damaged; migrated if stored with an older schema;
    /// refused if newer), journals of tabs that left, and metadata. Fails
    /// only when `migrate` fails, before anything is written.
    async fn load(&self) -> Result<()> {
        let migrate = self.state().migrate.clone();
        let storage = self.storage();
        let (mut found, journals) = match storage
            .read(&[CTX, META, BAK_INDEX], JOURNAL_PREFIX)
            .await
        {
            Ok(f) => f,
            Err(e) => {
                // Unreadable storage must not stop the app, and what it holds
                // must not be overwritten by an empty context: keep this
                // session in memory, and say so.
                self.emit_error(&e);
                self.degrade_to_memory(format!(
                    "could not read stored data ({}); changes are kept in memory only so that it is not overwritten",
                    e.message
                ));
                return Ok(());
            }
        };
        let bak_index = found.pop().flatten();
        let meta = found.pop().flatten();
        let ctx = found.pop().flatten();
        let (count, at) = meta.as_ref().map(records::decode_meta).unwrap_or((0, None));
        {
            let mut st = self.state_mut();
            st.restore_count = count;
            st.last_restored_at = at;
        }
        let primary = match ctx {
            Some(raw) => match records::decode(&raw) {
                Ok(record) => {
                    self.remember_stored(&raw, bak_index.as_ref());
                    Some((raw, record))
                }
                Err(e) => self.recover_from_backups(raw, &e).await,
            },
            None => None,
        };
        let (restore, version) = {
            let st = self.state();
            (st.opts.restore_on_open, st.opts.version)
        };
        let mut loaded = false;
        let mut migrated = false;
        if let Some((raw, record)) = primary {
            let stored = record.header.schema;
            match check_schema(stored, version) {
                SchemaCheck::Newer => {
                    self.refuse_newer(stored);
                    return Ok(());
                }
                _ if !restore => self.keep_as_auto_snapshot(raw, record.bytes()).await,
                SchemaCheck::Older if migrate.is_some() => {
                    let ops = self.migration(migrate.as_ref(), &record, stored).await?;
                    self.adopt(record);
                    self.apply(ops, ChangeSource::Restore, false)?;
                    migrated = true;
                    loaded = true;
                }
                _ => loaded = self.adopt(record),
            }
        }
        // Journals hold what tabs that left had not saved yet.
        let mut from_journals = false;
        let local = self
            .state()
            .journal
            .as_ref()
            .map(LocalJournal::read)
            .unwrap_or_default();
        let journals = journals
            .into_iter()
            .map(|(_, j)| j)
            .chain(local.into_iter().map(|f| f.record));
        for j in journals {
            if let Some(record) = self.usable(&j) {
                let changed = !self.absorb(record.entries, None).is_empty();
                from_journals |= changed;
                loaded |= changed;
            }
        }
        if from_journals || self.state().recovered_from_backup {
            self.mark_dirty();
        }
        if !restore {
            // restoreOnOpen: false starts a fresh context for every tab of
            // this name: what was stored is deleted (and kept as a snapshot).
            let _ = self.apply(self.delete_all(), ChangeSource::Local, false);
            return Ok(());
        }
        if migrated {
            // Written at once with the new version, so it migrates once.
            if let Err(e) = self.write_context().await {
                self.emit_error(&e);
            }
        }
        if loaded {
            self.count_restore();
        }
        Ok(())
    }

    /// Changes that delete every live key.
    fn delete_all(&self) -> Vec<(String, Op<Value>)> {
        self.state()
            .doc
            .live()
            .map(|(k, _)| (k.clone(), Op::Delete))
            .collect()
    }

    /// Makes a loaded record the context. Returns whether it held any live
    /// key (a record of only deletions, after `clear()`, restores nothing).
    fn adopt(&self, record: records::Record) -> bool {
        self.state_mut().last_saved_at = Some(record.header.saved_at);
        !self
            .absorb(record.entries, Some(record.header.revision))
            .is_empty()
    }

    /// A journal or other record this session can merge: valid, and of its
    /// schema version.
    fn usable(&self, v: &JsValue) -> Option<records::Record> {
        let record = records::decode(v).ok()?;
        (record.header.schema == self.state().opts.version).then_some(record)
    }

    /// Records one more restore: at once in memory (and the `restored`
    /// event), and in the stored metadata in the background, so opening
    /// does not wait for a write.
    fn count_restore(&self) {
        let now = env::now();
        let revision = {
            let mut st = self.state_mut();
            st.restore_count += 1;
            st.last_restored_at = Some(now);
            st.doc.revision()
        };
        let seen: Rc<RefCell<u32>> = Rc::default();
        let s = seen.clone();
        let write = self.storage().update(
            &[META],
            "",
            Box::new(move |(found, _)| {
                let (count, _) = found[0]
                    .as_ref()
                    .map(records::decode_meta)
                    .unwrap_or((0, None));
                *s.borrow_mut() = count + 1;
                Batch {
                    puts: vec![(META.into(), records::encode_meta(count + 1, Some(now)))],
                    deletes: vec![],
                }
            }),
        );
        let session = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match write.await {
                // Another tab may have counted restores meanwhile.
                Ok(()) => {
                    let mut st = session.state_mut();
                    st.restore_count = st.restore_count.max(*seen.borrow());
                }
                Err(e) => session.emit_error(&e),
            }
        });
        self.emit(
            Event::Restored,
            js::object([
                ("source", "storage".into()),
                ("revision", (revision as f64).into()),
            ]),
        );
    }

    async fn keep_as_auto_snapshot(&self, ctx: JsValue, bytes: usize) {
        if let Err(e) = self.store_snapshot(ctx, bytes, "", Source::Auto).await {
            self.emit_error(&e);
            self.degrade_to_memory(format!(
                "could not keep the stored context as a snapshot ({}); changes are kept in memory only so that it is not overwritten",
                e.message
            ));
        }
    }

    /// Switches to memory storage for the rest of this session, raising
    /// `degraded`. Used when writing to the real storage could destroy data.
    fn degrade_to_memory(&self, why: String) {
        {
            let mut st = self.state_mut();
            let name = format!("{}#{}", st.opts.name, env::random_id(""));
            st.storage = Rc::new(MemoryStorage::open(&name));
            st.journal = None;
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

    /// Merges entries written elsewhere (storage, another tab) into the
    /// context; each wins only if its stamp is newer. Entries stamped
    /// implausibly far in the future are dropped: they would win every
    /// merge. Returns the keys that changed. `revision`: the stored
    /// revision, adopted when the context was empty.
    fn absorb(&self, mut entries: KeyMap<Entry<Value>>, revision: Option<u64>) -> Vec<String> {
        let now = env::now();
        entries.retain(|_, e| e.stamp.is_plausible(now));
        let mut st = self.state_mut();
        let st = &mut *st;
        let empty = st.doc.entries().next().is_none();
        if let (Some(rev), true) = (revision, empty) {
            for e in entries.values() {
                st.clock.observe(&e.stamp);
            }
            let keys: Vec<String> = entries
                .iter()
                .filter(|(_, e)| e.value.is_some())
                .map(|(k, _)| k.clone())
                .collect();
            st.doc = Doc::from_entries(entries, rev);
            st.view.replaced();
            return keys;
        }
        let mut changed = Vec::new();
        for (k, e) in entries {
            if !st.opts.persist.persists(&k) {
                continue;
            }
            st.clock.observe(&e.stamp);
            if st.doc.merge(k.clone(), e) {
                changed.push(k);
            }
        }
        st.view.changed(&changed);
        changed
    }

    fn start_lifecycle(&self) {
        let (leave, back) = (self.weak(), self.weak());
        let lifecycle = Lifecycle::watch(
            move || {
                if let Some(s) = Session::from_weak(&leave) {
                    s.flush_on_leave();
                }
            },
            move || {
                if let Some(s) = Session::from_weak(&back) {
                    s.on_return();
                }
            },
        );
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
        let mut st = self.state_mut();
        let st = &mut *st;
        st.view.get(&st.doc)
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
    /// Setting a key to the value it holds (same JSON) is no change: no new
    /// revision, no notification, no write (an app that writes from an
    /// effect on every render would otherwise loop).
    pub fn update(&self, patch: Vec<(String, Option<JsValue>)>) -> Result<()> {
        self.check_open()?;
        let mut ops = Vec::with_capacity(patch.len());
        for (key, value) in patch {
            let op = match value {
                Some(v) => {
                    // A key already held has its JS string at hand.
                    let key_js = self.state().doc.get(&key).map(|held| held.key.clone());
                    let key_js = key_js.unwrap_or_else(|| JsValue::from_str(&key));
                    let (value, size) = Value::encode(&key, key_js, v)?;
                    if self.holds(&key, &value) {
                        continue;
                    }
                    Op::Set(value, size)
                }
                None => Op::Delete,
            };
            ops.push((key, op));
        }
        self.apply(ops, ChangeSource::Local, true).map(|_| ())
    }

    /// Whether `key` already holds exactly `value` (same JSON text).
    fn holds(&self, key: &str, value: &Value) -> bool {
        self.state()
            .doc
            .get(key)
            .is_some_and(|held| held.hash == value.hash && held.json == value.json)
    }

    /// Applies `ops` as this tab's writes, schedules their save and their
    /// delivery to other tabs, and tells subscribers. Returns the keys that
    /// changed.
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
            let mut ops = ops;
            for (_, op) in ops.iter_mut() {
                if let Op::Set(v, _) = op {
                    v.restamped();
                }
            }
            let changed = st.doc.apply_local(ops, &mut st.clock, now);
            if changed.is_empty() {
                return Ok(changed);
            }
            st.view.changed(&changed);
            let mut persisted = false;
            for k in changed.iter().filter(|k| st.opts.persist.persists(k)) {
                // Nobody to send to yet: a tab that opens later asks for all.
                if st.peers {
                    st.outbox.insert(k.clone(), ());
                }
                persisted = true;
            }
            if persisted {
                st.schedule.changed(now);
            }
            changed
        };
        self.arm_timer();
        self.schedule_send();
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

    /// Tells subscribers and `remote-change` handlers about keys another
    /// tab changed (`from`: its tab id, or `"storage"`).
    fn announce_remote(&self, keys: &[String], from: &str) {
        if keys.is_empty() {
            return;
        }
        self.notify(keys, ChangeSource::Tab);
        if self.heard(Event::RemoteChange) {
            self.emit(
                Event::RemoteChange,
                js::object([
                    ("keys", js::str_array(keys.iter().map(String::as_str))),
                    ("from", from.into()),
                ]),
            );
        }
    }

    /// Whether anyone would receive `event` now (`onEvent`, an `on()`
    /// handler, or the replay of events raised while opening): building a
    /// detail nobody reads is skipped on the hot paths.
    fn heard(&self, event: Event) -> bool {
        let st = self.state();
        st.on_event.is_some()
            || st.opening_events.is_some()
            || st.handlers.iter().any(|(_, e, _)| *e == event)
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

    /// Writes what is pending, then stops timers, listeners and the
    /// channel. Later calls fail with `CLOSED`; closing twice is harmless.
    pub async fn close(&self) -> Result<()> {
        if self.state().closed {
            return Ok(());
        }
        self.send_outbox();
        let saved = self.save().await;
        self.shut();
        saved
    }

    /// Stops timers, listeners and the channel, and gives up the tab's
    /// presence.
    fn shut(&self) {
        let mut st = self.state_mut();
        st.closed = true;
        st.timer = None;
        st.lifecycle = None;
        st.channel = None;
        st.subscribers.clear();
        st.handlers.clear();
        st.on_event = None;
        tabs::release(&st.opts.name, &st.tab_id);
    }
}
