//! IndexedDB backend (rexie): one database per session name, one object
//! store of records keyed by string.
//!
//! Every transaction awaits only its own requests: IndexedDB commits a
//! transaction as soon as control returns to the event loop with nothing
//! pending (rexie issue 36), so records are built before it starts.

use std::cell::RefCell;

use rexie::{ObjectStore, Rexie, TransactionMode};
use wasm_bindgen::JsValue;

use super::{within, Backend, Batch, BoxFut, Storage};
use crate::core::error::{Code, Error, Result};
use crate::platform::js;

const STORE: &str = "records";
/// Opening can hang (a `blocked` upgrade, a wedged browser profile): give up
/// after this long and fall back.
const OPEN_TIMEOUT_MS: u32 = 5_000;

/// Records of one session name in IndexedDB.
pub struct IdbStorage {
    name: String,
    db: RefCell<Option<Rexie>>,
}

async fn connect(name: &str) -> Result<Rexie> {
    let db_name = format!("session-persist:{name}");
    let build = Rexie::builder(&db_name)
        .version(1)
        .add_object_store(ObjectStore::new(STORE))
        .build();
    match within(OPEN_TIMEOUT_MS, build).await {
        Some(Ok(db)) => Ok(db),
        Some(Err(e)) => Err(js::storage_error_text(
            "could not open IndexedDB",
            &e.to_string(),
            false,
        )),
        None => Err(Error::new(
            Code::StorageUnavailable,
            "opening IndexedDB timed out (another tab may be blocking an upgrade)",
        )),
    }
}

fn idb_error(context: &str, e: rexie::Error) -> Error {
    let text = e.to_string();
    let quota = text.contains("Quota") || text.contains("quota");
    js::storage_error_text(context, &text, quota)
}

impl IdbStorage {
    /// Opens (creating if needed) the database of `name`.
    pub async fn open(name: &str) -> Result<Self> {
        let db = connect(name).await?;
        Ok(IdbStorage {
            name: name.to_string(),
            db: RefCell::new(Some(db)),
        })
    }

    /// A transaction, reconnecting once if the connection was closed under
    /// us (Safari drops connections; another tab may force a close).
    async fn transaction(&self, mode: TransactionMode) -> Result<rexie::Transaction> {
        let attempt = |db: &Option<Rexie>| db.as_ref().map(|db| db.transaction(&[STORE], mode));
        if let Some(Ok(tx)) = attempt(&self.db.borrow()) {
            return Ok(tx);
        }
        let db = connect(&self.name).await?;
        let tx = db
            .transaction(&[STORE], mode)
            .map_err(|e| idb_error("could not start an IndexedDB transaction", e))?;
        *self.db.borrow_mut() = Some(db);
        Ok(tx)
    }
}

impl Storage for IdbStorage {
    fn backend(&self) -> Backend {
        Backend::IndexedDb
    }

    fn read<'a>(&'a self, keys: &'a [&'a str]) -> BoxFut<'a, Result<Vec<Option<JsValue>>>> {
        Box::pin(async move {
            let tx = self.transaction(TransactionMode::ReadOnly).await?;
            let store = tx
                .store(STORE)
                .map_err(|e| idb_error("IndexedDB read failed", e))?;
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                let v = store
                    .get(JsValue::from_str(key))
                    .await
                    .map_err(|e| idb_error("IndexedDB read failed", e))?;
                out.push(v.filter(|v| !v.is_undefined()));
            }
            Ok(out)
        })
    }

    fn write(&self, batch: Batch) -> BoxFut<'_, Result<()>> {
        Box::pin(async move {
            let tx = self.transaction(TransactionMode::ReadWrite).await?;
            let store = tx
                .store(STORE)
                .map_err(|e| idb_error("IndexedDB write failed", e))?;
            for (key, value) in &batch.puts {
                store
                    .put(value, Some(&JsValue::from_str(key)))
                    .await
                    .map_err(|e| idb_error("IndexedDB write failed", e))?;
            }
            for key in &batch.deletes {
                store
                    .delete(JsValue::from_str(key))
                    .await
                    .map_err(|e| idb_error("IndexedDB write failed", e))?;
            }
            let result = tx
                .done()
                .await
                .map_err(|e| idb_error("IndexedDB write failed", e))?;
            if result.is_aborted() {
                return Err(Error::new(
                    Code::StorageUnavailable,
                    "IndexedDB aborted the write (the disk may be full or the database closing); nothing was changed",
                ));
            }
            Ok(())
        })
    }
}
