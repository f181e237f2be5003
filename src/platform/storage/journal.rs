//! The leave journal in localStorage: where an IndexedDB session writes
//! its unsaved changes when the page goes away.
//!
//! An IndexedDB write issued and committed inside `pagehide` is still lost
//! on reload in about one case in ten in Chromium (measured: 7 of 80 plain
//! `put` + `commit()` calls); a localStorage write there survived 80 of 80,
//! because it is synchronous. So a leaving tab writes its record here, under
//! `session-persist:<name>:tab:<tabId>`, and the next load or save folds it
//! into IndexedDB.
//!
//! The context a session saved to localStorage while IndexedDB was
//! unavailable (`session-persist:<name>:ctx`) is read the same way, so that
//! once IndexedDB works again what was saved meanwhile is merged, not hidden.

use wasm_bindgen::JsValue;

use crate::core::error::Result;
use crate::platform::{env, js};

/// The journals of one session name.
pub struct LocalJournal {
    storage: web_sys::Storage,
    prefix: String,
    /// The localStorage backend's context record of this name.
    fallback_ctx: String,
}

/// A journal as read: its localStorage key, its text (to delete it only if
/// unchanged) and its record.
pub struct Found {
    /// Full localStorage key.
    pub key: String,
    /// The stored text.
    pub text: String,
    /// The parsed record.
    pub record: JsValue,
}

impl LocalJournal {
    /// The journal of `name`, if localStorage is usable.
    pub fn open(name: &str) -> Option<Self> {
        Some(LocalJournal {
            storage: env::local_storage()?,
            prefix: format!("session-persist:{name}:tab:"),
            fallback_ctx: format!("session-persist:{name}:ctx"),
        })
    }

    /// Writes `record` as the journal of `tab_id`, replacing its last one.
    pub fn write(&self, tab_id: &str, record: &JsValue) -> Result<()> {
        let text = js_sys::JSON::stringify(record)
            .map_err(|e| js::storage_error("could not encode the journal", &e))?;
        let key = format!("{}{tab_id}", self.prefix);
        self.storage
            .set_item(&key, &String::from(text))
            .map_err(|e| js::storage_error("localStorage refused the journal", &e))
    }

    /// Every journal of this name, and the context saved to localStorage
    /// while degraded, if any.
    pub fn read(&self) -> Vec<Found> {
        let n = self.storage.length().unwrap_or(0);
        let mut out = Vec::new();
        for i in 0..n {
            let Ok(Some(key)) = self.storage.key(i) else {
                continue;
            };
            if !key.starts_with(&self.prefix) && key != self.fallback_ctx {
                continue;
            }
            let Ok(Some(text)) = self.storage.get_item(&key) else {
                continue;
            };
            let record = js_sys::JSON::parse(&text).unwrap_or(JsValue::NULL);
            out.push(Found { key, text, record });
        }
        out
    }

    /// Deletes journals that still hold the text they were read with (a
    /// journal rewritten since holds changes not folded in yet).
    pub fn remove_if_unchanged(&self, folded: &[(String, String)]) {
        for (key, text) in folded {
            if self.storage.get_item(key).ok().flatten().as_deref() == Some(text.as_str()) {
                let _ = self.storage.remove_item(key);
            }
        }
    }
}
