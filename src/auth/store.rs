//! Where the tokens are kept: the record `tokens` in the auth session's own
//! storage (IndexedDB database `session-persist:auth:<name>`, falling back
//! to localStorage, then memory).
//!
//! IndexedDB, not localStorage: a tab that has just been granted the
//! refresh lock must read what the previous holder wrote. IndexedDB
//! transactions run in the browser process, so that read is always
//! current; Chromium serves localStorage from a per-tab cache updated
//! asynchronously, and in a measurement 76 of 900 read-increment-write
//! cycles under a Web Lock read a stale value (see README). A stale read
//! here would send a used refresh token.

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::JsValue;

use crate::core::auth::tokens::{check_tokens, Field, Record, Tokens};
use crate::core::error::Result;
use crate::platform::js;
use crate::platform::storage::{Batch, Storage};

/// Storage key of the tokens record.
const KEY: &str = "tokens";

/// A string field of `obj`.
pub fn string_field(obj: &JsValue, key: &str) -> Field<String> {
    let v = js::get(obj, key);
    if v.is_undefined() || v.is_null() {
        Field::Missing
    } else {
        v.as_string().map_or(Field::Wrong, Field::Value)
    }
}

/// A number field of `obj`.
pub fn number_field(obj: &JsValue, key: &str) -> Field<f64> {
    let v = js::get(obj, key);
    if v.is_undefined() || v.is_null() {
        Field::Missing
    } else {
        v.as_f64().map_or(Field::Wrong, Field::Value)
    }
}

/// Reads `{ accessToken, refreshToken?, expiresAt }` from a JS value.
pub fn tokens_from_js(what: &str, v: &JsValue) -> Result<Tokens> {
    if !v.is_object() {
        return Err(crate::core::error::Error::new(
            crate::core::error::Code::InvalidArgument,
            [
                what,
                ": expected { accessToken, refreshToken?, expiresAt } (expiresAt in epoch milliseconds)",
            ]
            .concat(),
        ));
    }
    check_tokens(
        what,
        string_field(v, "accessToken"),
        string_field(v, "refreshToken"),
        number_field(v, "expiresAt"),
    )
}

/// The tokens as the app sees them (given to `refresh` and `validate`).
pub fn tokens_to_js(t: &Tokens) -> JsValue {
    let obj = js_sys::Object::new();
    js::set(&obj, "accessToken", &t.access.as_str().into());
    if let Some(r) = &t.refresh {
        js::set(&obj, "refreshToken", &r.as_str().into());
    }
    js::set(&obj, "expiresAt", &JsValue::from_f64(t.expires_at as f64));
    obj.into()
}

fn encode(r: &Record) -> JsValue {
    let obj = tokens_to_js(&r.tokens);
    let o: &js_sys::Object = wasm_bindgen::JsCast::unchecked_ref(&obj);
    js::set(o, "v", &JsValue::from_f64(1.0));
    js::set(o, "sid", &r.sid.as_str().into());
    js::set(o, "seq", &JsValue::from_f64(r.seq as f64));
    js::set(o, "obtainedAt", &JsValue::from_f64(r.obtained_at as f64));
    obj
}

/// The record in `v`, if it is one (anything else is ignored and replaced).
fn decode(v: &JsValue) -> Option<Record> {
    if js::get(v, "v").as_f64() != Some(1.0) {
        return None;
    }
    Some(Record {
        tokens: tokens_from_js("stored tokens", v).ok()?,
        sid: js::get(v, "sid").as_string()?,
        seq: js::get(v, "seq").as_f64()? as u64,
        obtained_at: js::get(v, "obtainedAt").as_f64()? as u64,
    })
}

/// What storage holds: `Ok(None)` if nothing (a damaged record reads as
/// nothing, and the next write replaces it).
pub async fn read(storage: &Rc<dyn Storage>) -> Result<Option<Record>> {
    let (found, _) = storage.read(&[KEY], "").await?;
    Ok(found.into_iter().next().flatten().as_ref().and_then(decode))
}

/// Stores `r`, replacing whatever is there (a sign-in).
pub async fn put(storage: &Rc<dyn Storage>, r: &Record) -> Result<()> {
    storage
        .write(Batch {
            puts: vec![(KEY.into(), encode(r))],
            deletes: Vec::new(),
        })
        .await
}

/// Removes the tokens (logout).
pub async fn clear(storage: &Rc<dyn Storage>) -> Result<()> {
    storage
        .write(Batch {
            puts: Vec::new(),
            deletes: vec![KEY.into()],
        })
        .await
}

/// Replaces `expected` with `new` (or removes it) in one atomic
/// read-modify-write, only if storage still holds that version: a logout
/// or a new sign-in meanwhile wins over a refresh that was in flight.
/// Resolves to whether it wrote.
pub async fn replace_if(
    storage: &Rc<dyn Storage>,
    expected: &Record,
    new: Option<&Record>,
) -> Result<bool> {
    let wrote = Rc::new(Cell::new(false));
    let w = wrote.clone();
    let (sid, seq) = (expected.sid.clone(), expected.seq);
    let value = new.map(encode);
    storage
        .update(
            &[KEY],
            "",
            Box::new(move |found| {
                let current = found.0.into_iter().next().flatten();
                let same = current
                    .as_ref()
                    .and_then(decode)
                    .is_some_and(|c| c.sid == sid && c.seq == seq);
                let mut batch = Batch::default();
                if same {
                    match value {
                        Some(v) => batch.puts.push((KEY.into(), v)),
                        None => batch.deletes.push(KEY.into()),
                    }
                    w.set(true);
                }
                batch
            }),
        )
        .await?;
    Ok(wrote.get())
}
