//! Memory backend: a map per session name, shared by the sessions of one
//! page, gone when the page goes.

use std::cell::RefCell;
use std::collections::HashMap;

use wasm_bindgen::JsValue;

use super::{Backend, Batch, BoxFut, Storage};
use crate::core::error::Result;

thread_local! {
    static STORES: RefCell<HashMap<String, HashMap<String, JsValue>>> = RefCell::new(HashMap::new());
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

impl Storage for MemoryStorage {
    fn backend(&self) -> Backend {
        Backend::Memory
    }

    fn read<'a>(&'a self, keys: &'a [&'a str]) -> BoxFut<'a, Result<Vec<Option<JsValue>>>> {
        let out = STORES.with(|s| {
            let s = s.borrow();
            let store = s.get(&self.name);
            keys.iter()
                .map(|k| store.and_then(|m| m.get(*k).cloned()))
                .collect()
        });
        Box::pin(async move { Ok(out) })
    }

    fn write(&self, batch: Batch) -> BoxFut<'static, Result<()>> {
        STORES.with(|s| {
            let mut s = s.borrow_mut();
            let store = s.entry(self.name.clone()).or_default();
            for (k, v) in batch.puts {
                store.insert(k, v);
            }
            for k in batch.deletes {
                store.remove(&k);
            }
        });
        Box::pin(async { Ok(()) })
    }
}
