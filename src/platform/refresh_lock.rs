//! The cross-tab lock around a refresh: one tab at a time, across every tab
//! of the origin. Web Locks where the browser has them (`refresh_lock.js`);
//! elsewhere a lease record (see `core::auth::lease`) taken with an atomic
//! read-modify-write in the auth session's storage, polled while another
//! tab holds it, renewed while held, and lapsing if its holder dies.

use std::cell::Cell;
use std::rc::Rc;

use gloo_timers::callback::Interval;
use gloo_timers::future::TimeoutFuture;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::storage::{Backend, Batch, Storage};
use super::{env, js};
use crate::core::auth::lease::{self, Lease};

#[wasm_bindgen(module = "/src/platform/refresh_lock.js")]
extern "C" {
    #[wasm_bindgen(js_name = requestLock)]
    fn request_lock(name: &str) -> JsValue;
}

/// Storage key of the fallback lease.
const LEASE_KEY: &str = "lock";
/// A lease lapses this long after it was taken or last renewed, ms.
const LEASE_TTL: u64 = 5_000;
/// The holder renews its lease this often, ms.
const RENEW_EVERY: u32 = 1_500;
/// localStorage is cached per tab and updated asynchronously: after taking
/// the lease there, wait this long and check that it is still ours, ms.
const SETTLE_MS: u32 = 150;

/// Holding the lock; dropping it releases the lock.
pub struct Guard {
    release: Option<Function>,
    lease: Option<(Rc<dyn Storage>, String, Interval)>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(f) = self.release.take() {
            let _ = f.call0(&JsValue::UNDEFINED);
        }
        if let Some((storage, me, renew)) = self.lease.take() {
            drop(renew);
            wasm_bindgen_futures::spawn_local(async move {
                let _ = storage
                    .update(
                        &[LEASE_KEY],
                        "",
                        Box::new(move |found| {
                            let mut batch = Batch::default();
                            if lease::may_release(decode(found.0.first()).as_ref(), &me) {
                                batch.deletes.push(LEASE_KEY.into());
                            }
                            batch
                        }),
                    )
                    .await;
            });
        }
    }
}

/// Waits for the lock `name`, shared by every tab of the origin. `storage`
/// and `me` (a random id of this session) serve the fallback lease.
pub async fn acquire(name: &str, storage: &Rc<dyn Storage>, me: &str) -> Guard {
    let requested = request_lock(name);
    if let Some(p) = requested.dyn_ref::<Promise>() {
        if let Ok(release) = JsFuture::from(p.clone()).await {
            if let Ok(release) = release.dyn_into::<Function>() {
                return Guard {
                    release: Some(release),
                    lease: None,
                };
            }
        }
        // Web Locks refused (e.g. an opaque origin): use the lease.
    }
    loop {
        if take(storage, me).await && still_mine(storage, me).await {
            let (s, owner) = (storage.clone(), me.to_string());
            let renew = Interval::new(RENEW_EVERY, move || {
                let (s, owner) = (s.clone(), owner.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    take(&s, &owner).await;
                });
            });
            return Guard {
                release: None,
                lease: Some((storage.clone(), me.to_string(), renew)),
            };
        }
        TimeoutFuture::new(20 + (env::random() % 40) as u32).await;
    }
}

/// Takes (or renews) the lease if free, lapsed or ours; true if we hold it.
async fn take(storage: &Rc<dyn Storage>, me: &str) -> bool {
    let took = Rc::new(Cell::new(false));
    let (t, owner) = (took.clone(), me.to_string());
    let written = storage
        .update(
            &[LEASE_KEY],
            "",
            Box::new(move |found| {
                let mut batch = Batch::default();
                if let Some(l) = lease::take(
                    decode(found.0.first()).as_ref(),
                    &owner,
                    env::now(),
                    LEASE_TTL,
                ) {
                    batch.puts.push((LEASE_KEY.into(), encode(&l)));
                    t.set(true);
                }
                batch
            }),
        )
        .await;
    written.is_ok() && took.get()
}

/// IndexedDB transactions are atomic across tabs, so a lease taken there is
/// ours. localStorage is not: another tab may have taken it from a stale
/// copy at the same moment; the later write wins everywhere once settled.
async fn still_mine(storage: &Rc<dyn Storage>, me: &str) -> bool {
    if storage.backend() != Backend::LocalStorage {
        return true;
    }
    TimeoutFuture::new(SETTLE_MS).await;
    match storage.read(&[LEASE_KEY], "").await {
        Ok(found) => lease::may_release(decode(found.0.first()).as_ref(), me),
        Err(_) => false,
    }
}

fn encode(l: &Lease) -> JsValue {
    js::object([
        ("owner", l.owner.as_str().into()),
        ("until", JsValue::from_f64(l.until as f64)),
    ])
}

fn decode(v: Option<&Option<JsValue>>) -> Option<Lease> {
    let v = v?.as_ref()?;
    Some(Lease {
        owner: js::get(v, "owner").as_string()?,
        until: js::get(v, "until").as_f64()? as u64,
    })
}
