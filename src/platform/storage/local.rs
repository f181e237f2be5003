//! localStorage backend: each record is JSON text under
//! `session-persist:<name>:<key>`. Writes are synchronous; a batch that
//! fails part way (quota) is rolled back so storage is as it was.

use wasm_bindgen::JsValue;

use super::{Backend, Batch, Found, Synchronous};
use crate::core::error::{Code, Error, Result};
use crate::platform::{env, js};

/// Records of one session name in localStorage.
pub struct LocalStorage {
    storage: web_sys::Storage,
    prefix: String,
}

impl LocalStorage {
    /// localStorage for `name`, if this page can write to it.
    pub fn open(name: &str) -> Result<Self> {
        let storage = env::local_storage().ok_or_else(|| {
            Error::new(
                Code::StorageUnavailable,
                "localStorage is missing or disabled",
            )
        })?;
        // Some browsers expose localStorage but throw on every write.
        let probe = "session-persist:probe";
        storage
            .set_item(probe, "1")
            .and_then(|_| storage.remove_item(probe))
            .map_err(|e| js::storage_error("localStorage refused a write", &e))?;
        Ok(LocalStorage {
            storage,
            prefix: format!("session-persist:{name}:"),
        })
    }

    fn full_key(&self, key: &str) -> String {
        let mut k = self.prefix.clone();
        k.push_str(key);
        k
    }

    fn get(&self, full_key: &str) -> Option<JsValue> {
        let text = self.storage.get_item(full_key).ok().flatten()?;
        // Unparseable text reads as a record that fails validation, not as a
        // missing one, so it is reported, not overwritten silently.
        Some(js_sys::JSON::parse(&text).unwrap_or(JsValue::from_str(&text)))
    }
}

impl Synchronous for LocalStorage {
    fn kind(&self) -> Backend {
        Backend::LocalStorage
    }

    fn find(&self, keys: &[&str], prefix: &str) -> Found {
        let values = keys.iter().map(|k| self.get(&self.full_key(k))).collect();
        let mut matching = Vec::new();
        if !prefix.is_empty() {
            let full_prefix = self.full_key(prefix);
            let n = self.storage.length().unwrap_or(0);
            for i in 0..n {
                let Ok(Some(full)) = self.storage.key(i) else {
                    continue;
                };
                if let Some(key) = full.strip_prefix(&self.prefix) {
                    if full.starts_with(&full_prefix) {
                        if let Some(v) = self.get(&full) {
                            matching.push((key.to_string(), v));
                        }
                    }
                }
            }
            crate::core::keymap::sort_by(&mut matching, |a, b| a.0 < b.0);
        }
        (values, matching)
    }

    fn apply(&self, batch: Batch) -> Result<()> {
        let mut undo: Vec<(String, Option<String>)> = Vec::new();
        let result = (|| {
            for (key, value) in &batch.puts {
                let full = self.full_key(key);
                let text = js_sys::JSON::stringify(value)
                    .map_err(|e| js::storage_error("could not encode a record", &e))?;
                let old = self.storage.get_item(&full).ok().flatten();
                self.storage
                    .set_item(&full, &String::from(text))
                    .map_err(|e| js::storage_error("localStorage refused a write", &e))?;
                undo.push((full, old));
            }
            for key in &batch.deletes {
                let full = self.full_key(key);
                let old = self.storage.get_item(&full).ok().flatten();
                let _ = self.storage.remove_item(&full);
                undo.push((full, old));
            }
            Ok(())
        })();
        if result.is_err() {
            for (key, old) in undo.into_iter().rev() {
                let _ = match old {
                    Some(v) => self.storage.set_item(&key, &v),
                    None => self.storage.remove_item(&key),
                };
            }
        }
        result
    }
}
