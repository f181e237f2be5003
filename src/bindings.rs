//! The JS surface: `openSession` and the `Session` class. Thin: converts
//! arguments, calls the session engine, maps errors to JS `Error`s with a
//! `code`. No policy here.

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;

use crate::core::error::{Error, Result};
use crate::core::options::{self, Options, PersistFilter, StorageChoice};
use crate::core::snapshots::Source;
use crate::platform::args::{self, invalid};
use crate::platform::js;
use crate::session::{self, Event, Hooks};

fn to_js(e: Error) -> JsValue {
    js::to_js_error(&e)
}

/// Opens a session. `sessionId` comes from the JS entry's
/// `getOrCreateSessionId`, which must work before the wasm is loaded.
#[wasm_bindgen(js_name = openSession)]
pub fn open_session(options: JsValue, session_id: String) -> Promise {
    future_to_promise(async move {
        let (opts, hooks) = parse_options(&options).map_err(to_js)?;
        let s = session::Session::open(opts, session_id, hooks)
            .await
            .map_err(to_js)?;
        Ok(Session { inner: s }.into())
    })
}

/// An open session (see API.md).
#[wasm_bindgen]
pub struct Session {
    inner: session::Session,
}

fn key_arg(key: &JsValue) -> Result<String> {
    key.as_string()
        .ok_or_else(|| invalid("a key must be a string"))
}

fn id_arg(id: &JsValue) -> Result<String> {
    id.as_string()
        .ok_or_else(|| invalid("a snapshot id must be a string"))
}

fn fn_arg(f: &JsValue, what: &str) -> Result<Function> {
    js::as_function(f).ok_or_else(|| invalid(format!("{what} must be a function")))
}

/// A plain object's own keys and values (`undefined`: remove the key), or
/// an error saying why the patch is not one.
fn patch_entries(patch: &JsValue) -> Result<Vec<(String, Option<JsValue>)>> {
    let entries = js::plain_entries(patch).ok_or_else(|| {
        invalid("update() takes a plain object of keys to values, e.g. update({ theme: \"dark\" })")
    })?;
    Ok(entries
        .into_iter()
        .map(|(k, v)| (k, (!v.is_undefined()).then_some(v)))
        .collect())
}

fn unsubscriber(s: &session::Session, id: u32) -> JsValue {
    let weak = s.downgrade();
    Closure::<dyn FnMut()>::new(move || {
        if let Some(s) = weak.upgrade() {
            s.unsubscribe(id);
        }
    })
    .into_js_value()
}

fn promise<T: Into<JsValue>>(
    fut: impl std::future::Future<Output = Result<T>> + 'static,
) -> Promise {
    future_to_promise(async move { fut.await.map(Into::into).map_err(to_js) })
}

#[wasm_bindgen]
impl Session {
    /// The device session id: the same in every tab of this origin and name.
    #[wasm_bindgen(getter, js_name = sessionId)]
    pub fn session_id(&self) -> String {
        self.inner.session_id()
    }

    /// This tab's id, kept across its reloads.
    #[wasm_bindgen(getter, js_name = tabId)]
    pub fn tab_id(&self) -> String {
        self.inner.tab_id()
    }

    /// `get()`: the whole context (a new frozen object after each change);
    /// `get(key)`: one value.
    pub fn get(&self, key: JsValue) -> JsValue {
        match key.as_string() {
            Some(k) => self.inner.get(&k),
            None if key.is_undefined() => self.inner.view(),
            None => JsValue::UNDEFINED,
        }
    }

    /// Shallow-merges `patch`; a key set to `undefined` is removed.
    pub fn update(&self, patch: JsValue) -> std::result::Result<(), JsValue> {
        let entries = patch_entries(&patch).map_err(to_js)?;
        self.inner.update(entries).map_err(to_js)
    }

    /// Sets one key (`undefined` removes it).
    pub fn set(&self, key: JsValue, value: JsValue) -> std::result::Result<(), JsValue> {
        let key = key_arg(&key).map_err(to_js)?;
        let value = (!value.is_undefined()).then_some(value);
        self.inner.update(vec![(key, value)]).map_err(to_js)
    }

    /// Removes one key.
    pub fn delete(&self, key: JsValue) -> std::result::Result<(), JsValue> {
        let key = key_arg(&key).map_err(to_js)?;
        self.inner.update(vec![(key, None)]).map_err(to_js)
    }

    /// Sets `key` and saves now.
    pub fn share(&self, key: JsValue, value: JsValue) -> Promise {
        let s = self.inner.clone();
        promise(async move {
            let key = key_arg(&key)?;
            s.share(key, value).await.map(|_| JsValue::UNDEFINED)
        })
    }

    /// Writes what is pending; resolves once stored.
    pub fn save(&self) -> Promise {
        let s = self.inner.clone();
        promise(async move { s.save().await.map(|_| JsValue::UNDEFINED) })
    }

    /// Calls `fn(ctx, change)` after every change; returns an unsubscribe function.
    pub fn subscribe(&self, f: JsValue) -> std::result::Result<JsValue, JsValue> {
        let f = fn_arg(&f, "subscribe's argument").map_err(to_js)?;
        let id = self.inner.subscribe(f).map_err(to_js)?;
        Ok(unsubscriber(&self.inner, id))
    }

    /// Calls `fn(detail)` on each `event`; returns a function that removes it.
    pub fn on(&self, event: JsValue, f: JsValue) -> std::result::Result<JsValue, JsValue> {
        let name = event.as_string().unwrap_or_default();
        let event = Event::parse(&name).ok_or_else(|| {
            to_js(invalid(format!(
                "unknown event \"{name}\"; use saved, restored, recovered, degraded, remote-change or error"
            )))
        })?;
        let f = fn_arg(&f, "the handler").map_err(to_js)?;
        let id = self.inner.on(event, f).map_err(to_js)?;
        Ok(unsubscriber(&self.inner, id))
    }

    /// Saves the context as a snapshot; resolves to its id.
    #[wasm_bindgen(js_name = createSnapshot)]
    pub fn create_snapshot(&self, name: JsValue) -> Promise {
        let s = self.inner.clone();
        promise(async move {
            let name = match name.as_string() {
                Some(n) => n,
                None if name.is_undefined() || name.is_null() => String::new(),
                None => return Err(invalid("a snapshot name must be a string")),
            };
            s.create_snapshot(&name, Source::Manual)
                .await
                .map(JsValue::from)
        })
    }

    /// Snapshots, newest first.
    #[wasm_bindgen(js_name = listSnapshots)]
    pub fn list_snapshots(&self, limit: JsValue) -> Promise {
        let s = self.inner.clone();
        promise(async move {
            let limit = match limit.as_f64() {
                Some(n) => Some(options::whole_number("limit", n, u32::MAX as f64)? as usize),
                None if limit.is_undefined() || limit.is_null() => None,
                None => return Err(invalid("limit must be a number")),
            };
            let list = s.list_snapshots(limit).await?;
            Ok(list
                .iter()
                .map(session::snapshot_info_to_js)
                .collect::<Array>())
        })
    }

    /// Replaces the context with a snapshot's (undoable: a `pre-restore`
    /// snapshot is taken first).
    #[wasm_bindgen(js_name = restoreSnapshot)]
    pub fn restore_snapshot(&self, id: JsValue) -> Promise {
        let s = self.inner.clone();
        promise(async move {
            s.restore_snapshot(&id_arg(&id)?)
                .await
                .map(|_| JsValue::UNDEFINED)
        })
    }

    /// Deletes a snapshot.
    #[wasm_bindgen(js_name = deleteSnapshot)]
    pub fn delete_snapshot(&self, id: JsValue) -> Promise {
        let s = self.inner.clone();
        promise(async move {
            s.delete_snapshot(&id_arg(&id)?)
                .await
                .map(|_| JsValue::UNDEFINED)
        })
    }

    /// Status of the session (`SessionInfo`).
    pub fn info(&self) -> JsValue {
        let i = self.inner.info();
        js::object([
            ("sessionId", i.session_id.into()),
            ("tabId", i.tab_id.into()),
            ("backend", i.backend.as_str().into()),
            ("revision", (i.revision as f64).into()),
            ("dirty", i.dirty.into()),
            (
                "lastSavedAt",
                js::opt_num(i.last_saved_at.map(|t| t as f64)),
            ),
            ("restoreCount", i.restore_count.into()),
            (
                "lastRestoredAt",
                js::opt_num(i.last_restored_at.map(|t| t as f64)),
            ),
            ("recoveredFromBackup", i.recovered_from_backup.into()),
            ("degraded", i.degraded.map_or(JsValue::NULL, JsValue::from)),
            ("bytes", (i.bytes as f64).into()),
        ])
    }

    /// Removes the context, snapshots and backups of this name.
    pub fn clear(&self) -> Promise {
        let s = self.inner.clone();
        promise(async move { s.clear().await.map(|_| JsValue::UNDEFINED) })
    }

    /// Saves, then releases timers and listeners.
    pub fn close(&self) -> Promise {
        let s = self.inner.clone();
        promise(async move { s.close().await.map(|_| JsValue::UNDEFINED) })
    }
}

// ----- options -----

fn opt_number(o: &JsValue, name: &str, max: f64) -> Result<Option<f64>> {
    args::whole(o, name, name, max)
}

fn opt_strings(o: &JsValue, name: &str) -> Result<Option<Vec<String>>> {
    let v = js::get(o, name);
    if v.is_undefined() {
        return Ok(None);
    }
    let arr = v
        .dyn_into::<Array>()
        .map_err(|_| invalid(format!("persist.{name} must be an array of key names")))?;
    arr.iter()
        .map(|k| {
            k.as_string()
                .ok_or_else(|| invalid(format!("persist.{name} must contain only strings")))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

const MAX_MS: f64 = 2_147_483_647.0;

/// Reads `SessionOptions`, applying defaults and rejecting bad values.
fn parse_options(o: &JsValue) -> Result<(Options, Hooks)> {
    let mut opts = Options::default();
    let mut hooks = Hooks::default();
    if o.is_undefined() || o.is_null() {
        return Ok((opts, hooks));
    }
    if !o.is_object() {
        return Err(invalid("openSession() takes an options object"));
    }
    if let Some(name) = args::string(o, "name")? {
        options::check_name(&name)?;
        opts.name = name;
    }
    if let Some(s) = args::string(o, "storage")? {
        opts.storage = StorageChoice::parse(&s)?;
    }
    if let Some(n) = opt_number(o, "autoSaveInterval", MAX_MS)? {
        opts.auto_save_interval = n as u64;
    }
    if let Some(n) = opt_number(o, "saveDebounce", MAX_MS)? {
        opts.save_debounce = n as u64;
    }
    if let Some(b) = args::boolean(o, "crossTab")? {
        opts.cross_tab = b;
    }
    if let Some(n) = opt_number(o, "version", u32::MAX as f64)? {
        opts.version = n as u32;
    }
    let migrate = js::get(o, "migrate");
    if !migrate.is_undefined() {
        hooks.migrate = Some(fn_arg(&migrate, "migrate")?);
    }
    let persist = js::get(o, "persist");
    if !persist.is_undefined() {
        if !persist.is_object() {
            return Err(invalid(
                "persist must be { include?: string[], exclude?: string[] }",
            ));
        }
        opts.persist = PersistFilter {
            include: opt_strings(&persist, "include")?,
            exclude: opt_strings(&persist, "exclude")?.unwrap_or_default(),
        };
    }
    let snaps = js::get(o, "snapshots");
    if !snaps.is_undefined() {
        if !snaps.is_object() {
            return Err(invalid(
                "snapshots must be { maxCount?: number, maxAgeDays?: number }",
            ));
        }
        if let Some(n) = opt_number(&snaps, "maxCount", 10_000.0)? {
            if n < 1.0 {
                return Err(invalid("snapshots.maxCount must be at least 1"));
            }
            opts.snapshots.max_count = n as usize;
        }
        let age = js::get(&snaps, "maxAgeDays");
        if !age.is_undefined() {
            match age.as_f64() {
                Some(d) if d.is_finite() && d >= 0.0 => opts.snapshots.max_age_days = d,
                _ => {
                    return Err(invalid(
                        "snapshots.maxAgeDays must be a number of days, 0 or more (0: no limit)",
                    ))
                }
            }
        }
    }
    if let Some(n) = opt_number(o, "backups", 100.0)? {
        opts.backups = n as u32;
    }
    if let Some(n) = opt_number(o, "maxContextBytes", 1e9)? {
        if n < 1.0 {
            return Err(invalid("maxContextBytes must be at least 1"));
        }
        opts.max_context_bytes = n as usize;
    }
    if let Some(b) = args::boolean(o, "restoreOnOpen")? {
        opts.restore_on_open = b;
    }
    opts.initial_snapshot_id = args::string(o, "initialSnapshotId")?;
    let on_event = js::get(o, "onEvent");
    if !on_event.is_undefined() {
        hooks.on_event = Some(fn_arg(&on_event, "onEvent")?);
    }
    Ok((opts, hooks))
}
