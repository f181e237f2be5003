//! Memory backend: a map per session name, shared by the sessions of one
//! page, gone when the page goes.

use std::cell::RefCell;

use wasm_bindgen::JsValue;

use super::{Backend, Batch, Found, Synchronous};
use crate::core::error::Result;
use crate::core::keymap::KeyMap;

thread_local! {
    static STORES: RefCell<KeyMap<KeyMap<JsValue>>> = RefCell::new(KeyMap::new());
}

/// Records of one session name, in memory.
pub struct MemoryStorage {
    name: String,
}

impl MemoryStorage {
    /// The memory store of `name` (never fails).
    pub fn open(name: &str) -> Self {
        MemoryStorage {
            name: name.to_string(),
        }
    }
}

impl Synchronous for MemoryStorage {
    fn kind(&self) -> Backend {
        Backend::Memory
    }

    fn find(&self, keys: &[&str], prefix: &str) -> Found {
        STORES.with(|s| {
            let s = s.borrow();
            let store = s.get(&self.name);
            let values = keys
                .iter()
                .map(|k| store.and_then(|m| m.get(k).cloned()))
                .collect();
            // In key order already.
            let matching: Vec<(String, JsValue)> = match (store, prefix.is_empty()) {
                (Some(m), false) => m
                    .iter()
                    .filter(|(k, _)| k.starts_with(prefix))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                _ => Vec::new(),
            };
            (values, matching)
        })
    }

    fn apply(&self, batch: Batch) -> Result<()> {
        STORES.with(|s| {
            let mut s = s.borrow_mut();
            if !s.contains_key(&self.name) {
                s.insert(self.name.clone(), KeyMap::new());
            }
            let Some(store) = s.get_mut(&self.name) else {
                return;
            };
            for (k, v) in batch.puts {
                store.insert(k, v);
            }
            for k in batch.deletes {
                store.remove(&k);
            }
        });
        Ok(())
    }
}
