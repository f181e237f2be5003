//! IndexedDB backend, on `web-sys` directly: one database per session name,
//! one object store of records keyed by string.
//!
//! Every request of a transaction is issued synchronously when the
//! transaction is created, then `commit()` is called. Two reasons:
//! IndexedDB commits a transaction as soon as control returns to the event
//! loop with nothing pending (rexie issue 36), and a write started in a
//! `pagehide` handler only survives the page if it is issued and committed
//! inside the handler itself, not in a later microtask. (rexie, which issues
//! requests when its futures are polled, cannot do the latter; see README.)

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    IdbDatabase, IdbKeyRange, IdbObjectStore, IdbOpenDbRequest, IdbRequest, IdbTransaction,
    IdbTransactionMode,
};

use super::{within, Backend, Batch, BoxFut, Found, Guess, Modify, Storage};
use crate::core::error::{Code, Error, Result};
use crate::platform::js;

const STORE: &str = "records";
/// Opening can hang (a `blocked` upgrade, a wedged browser profile): give up
/// after this long and fall back.
const OPEN_TIMEOUT_MS: u32 = 5_000;

/// The open connection, if any. Shared with the connection's own event
/// handlers, which drop it when the browser or another tab closes it.
type Slot = Rc<RefCell<Option<IdbDatabase>>>;

/// The connection's `versionchange`/`close` handler, kept alive with it.
type LostHandler = Rc<RefCell<Option<Closure<dyn FnMut()>>>>;

/// Records of one session name in IndexedDB. Clones share the connection.
#[derive(Clone)]
pub struct IdbStorage {
    name: Rc<str>,
    db: Slot,
    /// Keeps the `versionchange`/`close` handler alive while connected.
    on_lost: LostHandler,
}

/// A promise settled by the first of two callbacks, and those callbacks
/// (which must stay alive until it settles).
struct Settle {
    promise: Promise,
    ok: Closure<dyn FnMut()>,
    fail: Closure<dyn FnMut()>,
}

impl Settle {
    /// `ok` resolves with `value()`, `fail` rejects with `error()`.
    fn new(value: impl Fn() -> JsValue + 'static, error: impl Fn() -> JsValue + 'static) -> Settle {
        let mut resolve = None;
        let mut reject = None;
        let promise = Promise::new(&mut |res, rej| {
            resolve = Some(res);
            reject = Some(rej);
        });
        // The executor runs synchronously, so both are set.
        let resolve: Function = resolve.unwrap_or_else(|| Function::new_no_args(""));
        let reject: Function = reject.unwrap_or_else(|| Function::new_no_args(""));
        Settle {
            promise,
            ok: Closure::new(move || {
                let _ = resolve.call1(&JsValue::UNDEFINED, &value());
            }),
            fail: Closure::new(move || {
                let _ = reject.call1(&JsValue::UNDEFINED, &error());
            }),
        }
    }

    fn ok_fn(&self) -> &Function {
        self.ok.as_ref().unchecked_ref()
    }

    fn fail_fn(&self) -> &Function {
        self.fail.as_ref().unchecked_ref()
    }

    async fn wait(self) -> std::result::Result<JsValue, JsValue> {
        let result = JsFuture::from(self.promise.clone()).await;
        drop(self);
        result
    }
}

/// Removes what `on_done` set: call before dropping its `Settle` early, or
/// the browser would later call a dropped closure.
fn detach(tx: &IdbTransaction) {
    tx.set_oncomplete(None);
    tx.set_onabort(None);
}

/// Settles when `tx` completes (ok) or aborts (error: the reason).
fn on_done(tx: &IdbTransaction) -> Settle {
    let t = tx.clone();
    let s = Settle::new(
        || JsValue::UNDEFINED,
        move || {
            t.error().map_or_else(
                || JsValue::from_str("AbortError: the transaction was aborted"),
                JsValue::from,
            )
        },
    );
    tx.set_oncomplete(Some(s.ok_fn()));
    tx.set_onabort(Some(s.fail_fn()));
    s
}

/// Opens the database of `name` at whatever version it has (another
/// connection may have upgraded it; asking for an older version fails with
/// `VersionError`), creating it, or adding our object store with an
/// upgrade if it lacks one.
async fn connect(name: &str) -> Result<IdbDatabase> {
    let db_name = format!("session-persist:{name}");
    let db = open_db(&db_name, None).await?;
    if db.object_store_names().contains(STORE) {
        return Ok(db);
    }
    let next = db.version() as u32 + 1;
    db.close();
    open_db(&db_name, Some(next)).await
}

/// One `indexedDB.open`, creating the object store if it upgrades.
async fn open_db(db_name: &str, version: Option<u32>) -> Result<IdbDatabase> {
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or_else(|| Error::new(Code::StorageUnavailable, "IndexedDB is missing or disabled"))?;
    let req: IdbOpenDbRequest = match version {
        Some(v) => factory.open_with_u32(db_name, v),
        None => factory.open(db_name),
    }
    .map_err(|e| js::storage_error("could not open IndexedDB", &e))?;
    let r = req.clone();
    let upgrade = Closure::<dyn FnMut()>::new(move || {
        if let Ok(db) = r.result().and_then(|v| v.dyn_into::<IdbDatabase>()) {
            if !db.object_store_names().contains(STORE) {
                let _ = db.create_object_store(STORE);
            }
        }
    });
    req.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let (ok, err) = (req.clone(), req.clone());
    let s = Settle::new(
        move || ok.result().unwrap_or(JsValue::UNDEFINED),
        move || {
            err.error()
                .ok()
                .flatten()
                .map_or(JsValue::NULL, JsValue::from)
        },
    );
    req.set_onsuccess(Some(s.ok_fn()));
    req.set_onerror(Some(s.fail_fn()));
    let opened = within(OPEN_TIMEOUT_MS, s.wait()).await;
    req.set_onupgradeneeded(None);
    if opened.is_none() {
        // Gave up waiting: if the open answers later, close that connection
        // (it would block other tabs' upgrades) instead of calling the
        // dropped handlers.
        let late = req.clone();
        let close = Closure::once_into_js(move || {
            if let Ok(db) = late.result().and_then(|v| v.dyn_into::<IdbDatabase>()) {
                db.close();
            }
        });
        req.set_onsuccess(Some(close.unchecked_ref()));
        req.set_onerror(None);
    }
    match opened {
        Some(Ok(db)) => db.dyn_into::<IdbDatabase>().map_err(|_| {
            Error::new(
                Code::StorageUnavailable,
                "IndexedDB opened something that is not a database",
            )
        }),
        Some(Err(e)) => Err(js::storage_error("could not open IndexedDB", &e)),
        None => Err(Error::new(
            Code::StorageUnavailable,
            "opening IndexedDB timed out (another tab may be blocking an upgrade)",
        )),
    }
}

impl IdbStorage {
    /// Opens (creating if needed) the database of `name`.
    pub async fn open(name: &str) -> Result<Self> {
        let storage = IdbStorage {
            name: name.into(),
            db: Rc::default(),
            on_lost: Rc::default(),
        };
        storage.reconnect().await?;
        Ok(storage)
    }

    /// (Re)opens the connection. A connection is dropped when another tab
    /// needs a version change (we close, so it is not blocked) or when the
    /// browser closes it (Safari's "connection is closing"); the next
    /// operation reconnects instead of failing forever.
    async fn reconnect(&self) -> Result<IdbDatabase> {
        let db = connect(&self.name).await?;
        let slot = self.db.clone();
        let lost = Closure::<dyn FnMut()>::new(move || {
            if let Some(db) = slot.borrow_mut().take() {
                db.close();
            }
        });
        db.set_onversionchange(Some(lost.as_ref().unchecked_ref()));
        db.set_onclose(Some(lost.as_ref().unchecked_ref()));
        *self.on_lost.borrow_mut() = Some(lost);
        *self.db.borrow_mut() = Some(db.clone());
        Ok(db)
    }

    fn transaction(
        &self,
        db: &IdbDatabase,
        mode: IdbTransactionMode,
    ) -> std::result::Result<IdbTransaction, JsValue> {
        db.transaction_with_str_and_mode(STORE, mode)
    }

    /// Issues all of `batch` in one read-write transaction and commits it,
    /// synchronously. Errors if there is no usable connection.
    fn start_write(&self, batch: &Batch) -> std::result::Result<Settle, JsValue> {
        let db = self.db.borrow().clone().ok_or(JsValue::NULL)?;
        let tx = self.transaction(&db, IdbTransactionMode::Readwrite)?;
        let done = on_done(&tx);
        if let Err(e) = tx
            .object_store(STORE)
            .and_then(|store| write_batch(&store, batch))
        {
            // A value that cannot be cloned, or a full quota, throws here:
            // undo the rest.
            detach(&tx);
            let _ = tx.abort();
            return Err(e);
        }
        // IndexedDB 3.0 (Chrome 76, Firefox 74, Safari 15); web-sys flags it
        // deprecated only because its IDL source does. Where missing, the
        // transaction still commits when its requests finish.
        #[allow(deprecated)]
        let _ = tx.commit();
        Ok(done)
    }

    /// Issues the reads of `keys` and `prefix` on `store`.
    /// With `keys_only`, records under `prefix` are found with no value
    /// (`undefined`): enough to know whether there are any, without reading them.
    fn issue_reads(
        store: &IdbObjectStore,
        keys: &[&str],
        prefix: &str,
        keys_only: bool,
    ) -> std::result::Result<Reads, JsValue> {
        let values = keys
            .iter()
            .map(|k| store.get(&JsValue::from_str(k)))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let prefixed = if prefix.is_empty() {
            None
        } else {
            // Keys are strings: everything from `prefix` up to `prefix` + the
            // highest BMP code unit shares the prefix.
            let range = IdbKeyRange::bound(
                &JsValue::from_str(prefix),
                &JsValue::from_str(&format!("{prefix}\u{ffff}")),
            )?;
            let keys = store.get_all_keys_with_key(&range)?;
            let values = if keys_only {
                None
            } else {
                Some(store.get_all_with_key(&range)?)
            };
            Some((keys, values))
        };
        Ok(Reads { values, prefixed })
    }

    fn start_read(
        &self,
        keys: &[&str],
        prefix: &str,
    ) -> std::result::Result<(Settle, Reads), JsValue> {
        let db = self.db.borrow().clone().ok_or(JsValue::NULL)?;
        let tx = self.transaction(&db, IdbTransactionMode::Readonly)?;
        let done = on_done(&tx);
        match tx
            .object_store(STORE)
            .and_then(|store| Self::issue_reads(&store, keys, prefix, false))
        {
            Ok(reads) => Ok((done, reads)),
            Err(e) => {
                detach(&tx);
                let _ = tx.abort();
                Err(e)
            }
        }
    }

    /// Starts a read-modify-write transaction: reads now, and `modify` runs
    /// in the success callback of the last read, still inside the
    /// transaction. With a `guess`, its batch is written right after the
    /// reads are issued, and the callback only checks it: kept if it holds,
    /// else the transaction is aborted (undoing it) and `modify` is handed
    /// back in `Updating::missed` to run in a new one. On failure to start,
    /// `modify` is handed back.
    fn start_update(
        &self,
        keys: &[&str],
        prefix: &str,
        modify: Modify,
        guess: Option<Guess>,
    ) -> std::result::Result<Updating, (JsValue, Modify)> {
        let started = (|| {
            let db = self.db.borrow().clone().ok_or(JsValue::NULL)?;
            let tx = self.transaction(&db, IdbTransactionMode::Readwrite)?;
            let store = tx.object_store(STORE)?;
            let reads = match &guess {
                Some(g) => Self::issue_reads(&store, g.reads, prefix, true)?,
                None => Self::issue_reads(&store, keys, prefix, false)?,
            };
            Ok((tx, store, reads))
        })();
        let (tx, store, reads) = match started {
            Ok(v) => v,
            Err(e) => return Err((e, modify)),
        };
        let done = on_done(&tx);
        let holds = match guess {
            Some(Guess { batch, holds, .. }) => match write_batch(&store, &batch) {
                Ok(()) => Some(holds),
                Err(e) => {
                    // Not cloneable or over quota: the real write would fail
                    // the same way, so report it.
                    detach(&tx);
                    let _ = tx.abort();
                    return Err((e, modify));
                }
            },
            None => None,
        };
        let failure: Rc<RefCell<Option<JsValue>>> = Rc::default();
        let missed: Rc<RefCell<Option<Modify>>> = Rc::default();
        let last = reads.last();
        let (t, f, m) = (tx.clone(), failure.clone(), missed.clone());
        let mut pending = Some((modify, reads, holds));
        let run = Closure::<dyn FnMut()>::new(move || {
            let Some((modify, reads, holds)) = pending.take() else {
                return;
            };
            let found = reads.found();
            match holds.map(|holds| holds(&found)) {
                Some(true) => {}
                Some(false) => {
                    *m.borrow_mut() = Some(modify);
                    let _ = t.abort();
                    return;
                }
                None => {
                    let batch = modify(found);
                    if let Err(e) = write_batch(&store, &batch) {
                        *f.borrow_mut() = Some(e);
                        let _ = t.abort();
                        return;
                    }
                }
            }
            #[allow(deprecated)] // see start_write
            let _ = t.commit();
        });
        match last {
            Some(req) => req.set_onsuccess(Some(run.as_ref().unchecked_ref())),
            None => run
                .as_ref()
                .unchecked_ref::<Function>()
                .call0(&JsValue::UNDEFINED)
                .map(|_| ())
                .unwrap_or(()),
        }
        Ok(Updating {
            done,
            failure,
            missed,
            _run: run,
        })
    }
}

/// Requests of a read, issued in one transaction.
struct Reads {
    values: Vec<IdbRequest>,
    /// The keys under the prefix, and their values unless only keys were asked for.
    prefixed: Option<(IdbRequest, Option<IdbRequest>)>,
}

impl Reads {
    /// The request that completes last (requests complete in issue order).
    fn last(&self) -> Option<IdbRequest> {
        match &self.prefixed {
            Some((_, Some(values))) => Some(values.clone()),
            Some((keys, None)) => Some(keys.clone()),
            None => self.values.last().cloned(),
        }
    }

    /// What the completed requests found.
    fn found(&self) -> Found {
        let result = |r: &IdbRequest| r.result().ok().filter(|v| !v.is_undefined());
        let values = self.values.iter().map(result).collect();
        let mut matching = Vec::new();
        if let Some((keys, values)) = &self.prefixed {
            if let Some(keys) = result(keys) {
                let keys: js_sys::Array = keys.unchecked_into();
                let values: Option<js_sys::Array> =
                    values.as_ref().and_then(result).map(JsCast::unchecked_into);
                for (i, k) in keys.iter().enumerate() {
                    let v = match &values {
                        Some(values) => values.get(i as u32),
                        None => JsValue::UNDEFINED,
                    };
                    if let Some(k) = k.as_string() {
                        matching.push((k, v));
                    }
                }
            }
        }
        (values, matching)
    }
}

/// A read-modify-write under way.
struct Updating {
    done: Settle,
    /// Why the write part failed, if it threw (the abort itself has no reason).
    failure: Rc<RefCell<Option<JsValue>>>,
    /// Set when a guess did not hold: the update to run instead.
    missed: Rc<RefCell<Option<Modify>>>,
    _run: Closure<dyn FnMut()>,
}

fn write_batch(store: &IdbObjectStore, batch: &Batch) -> std::result::Result<(), JsValue> {
    for (key, value) in &batch.puts {
        store.put_with_key(value, &JsValue::from_str(key))?;
    }
    for key in &batch.deletes {
        store.delete(&JsValue::from_str(key))?;
    }
    Ok(())
}

fn lost_connection(e: &JsValue) -> bool {
    e.is_null() || js::get(e, "name").as_string().as_deref() == Some("InvalidStateError")
}

impl IdbStorage {
    fn update_guessing_opt(
        &self,
        keys: &[&str],
        prefix: &str,
        guess: Option<Guess>,
        modify: Modify,
    ) -> BoxFut<'static, Result<()>> {
        let started = self.start_update(keys, prefix, modify, guess);
        let this = self.clone();
        let (keys, prefix): (Vec<String>, String) =
            (keys.iter().map(|k| k.to_string()).collect(), prefix.into());
        Box::pin(async move {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let mut started = started;
            loop {
                let updating = match started {
                    Ok(u) => u,
                    Err((e, modify)) if lost_connection(&e) => {
                        this.reconnect().await?;
                        this.start_update(&keys, &prefix, modify, None)
                            .map_err(|(e, _)| js::storage_error("IndexedDB write failed", &e))?
                    }
                    Err((e, _)) => return Err(js::storage_error("IndexedDB write failed", &e)),
                };
                let Updating {
                    done,
                    failure,
                    missed,
                    _run,
                } = updating;
                let result = done.wait().await;
                if let Some(modify) = missed.borrow_mut().take() {
                    // The guess was wrong and undone: read, then write.
                    started = this.start_update(&keys, &prefix, modify, None);
                    continue;
                }
                let failure = failure.borrow_mut().take();
                return result.map(|_| ()).map_err(|e| {
                    js::storage_error(
                        "IndexedDB write failed; nothing was changed",
                        &failure.unwrap_or(e),
                    )
                });
            }
        })
    }
}

impl Storage for IdbStorage {
    fn backend(&self) -> Backend {
        Backend::IndexedDb
    }

    fn read(&self, keys: &[&str], prefix: &str) -> BoxFut<'static, Result<Found>> {
        let started = self.start_read(keys, prefix);
        let this = self.clone();
        let (keys, prefix): (Vec<String>, String) =
            (keys.iter().map(|k| k.to_string()).collect(), prefix.into());
        Box::pin(async move {
            let (done, reads) = match started {
                Ok(s) => s,
                Err(e) if lost_connection(&e) => {
                    this.reconnect().await?;
                    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                    this.start_read(&keys, &prefix)
                        .map_err(|e| js::storage_error("IndexedDB read failed", &e))?
                }
                Err(e) => return Err(js::storage_error("IndexedDB read failed", &e)),
            };
            done.wait()
                .await
                .map_err(|e| js::storage_error("IndexedDB read failed", &e))?;
            Ok(reads.found())
        })
    }

    fn update(&self, keys: &[&str], prefix: &str, modify: Modify) -> BoxFut<'static, Result<()>> {
        self.update_guessing_opt(keys, prefix, None, modify)
    }

    fn update_guessing(
        &self,
        keys: &[&str],
        prefix: &str,
        guess: Guess,
        modify: Modify,
    ) -> BoxFut<'static, Result<()>> {
        self.update_guessing_opt(keys, prefix, Some(guess), modify)
    }

    fn write(&self, batch: Batch) -> BoxFut<'static, Result<()>> {
        // Started now, not when first polled: see the module comment.
        let started = self.start_write(&batch);
        let this = self.clone();
        Box::pin(async move {
            let done = match started {
                Ok(done) => done,
                Err(e)
                    if e.is_null()
                        || js::get(&e, "name").as_string().as_deref()
                            == Some("InvalidStateError") =>
                {
                    // The connection was lost: reconnect once and retry.
                    this.reconnect().await?;
                    this.start_write(&batch)
                        .map_err(|e| js::storage_error("IndexedDB write failed", &e))?
                }
                Err(e) => return Err(js::storage_error("IndexedDB write failed", &e)),
            };
            done.wait()
                .await
                .map(|_| ())
                .map_err(|e| js::storage_error("IndexedDB write failed; nothing was changed", &e))
        })
    }
}
