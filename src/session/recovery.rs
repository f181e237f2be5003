//! Getting saved data back: the backup ring, records of another schema
//! version, and migrations.
//!
//! Every save keeps the record it replaces in a ring of `backups` slots
//! (`bak:<i>`), in the same transaction. A primary that fails validation is
//! set aside (`ctx.damaged`) and the newest valid backup is loaded instead.
//! A record of an older schema is migrated by the app's `migrate`; one of a
//! newer schema is neither loaded nor overwritten.

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::records::{self, Record};
use super::{Event, Session, BAK_PREFIX, CTX, DAMAGED};
use crate::core::doc::Op;
use crate::core::error::{Code, Error, Result};
use crate::core::record::newest_valid;
use crate::platform::js;
use crate::platform::storage::Batch;
use crate::platform::value::Value;

impl Session {
    /// The primary `raw` failed validation (`why`): keep it aside, and load
    /// the newest valid backup if there is one. Raises `recovered` saying
    /// which, or that nothing could be recovered.
    pub(super) async fn recover_from_backups(
        &self,
        raw: JsValue,
        why: &Error,
    ) -> Option<(JsValue, Record)> {
        let storage = self.storage();
        let _ = storage
            .write(Batch {
                puts: vec![(DAMAGED.into(), raw.clone())],
                deletes: vec![CTX.into()],
            })
            .await;
        let lost_revision = js::get(&raw, "rev");
        let backups = storage
            .read(&[], BAK_PREFIX)
            .await
            .map(|(_, b)| b)
            .unwrap_or_default();
        let decoded: Vec<Option<Record>> = backups
            .iter()
            .map(|(_, v)| records::decode(v).ok())
            .collect();
        let headers: Vec<_> = decoded
            .iter()
            .enumerate()
            .map(|(i, r)| (i, r.as_ref().map(|r| r.header.clone())))
            .collect();
        let chosen = newest_valid(&headers);
        let mut fields = vec![
            ("reason", JsValue::from(why.message.as_str())),
            ("keptAs", DAMAGED.into()),
            ("lostRevision", lost_revision),
        ];
        let result = match chosen {
            Some(i) => {
                let record = decoded.into_iter().nth(i).flatten()?;
                fields.push(("from", "backup".into()));
                fields.push(("lost", JsValue::FALSE));
                fields.push(("revision", (record.header.revision as f64).into()));
                fields.push(("savedAt", (record.header.saved_at as f64).into()));
                self.state_mut().recovered_from_backup = true;
                Some((backups[i].1.clone(), record))
            }
            None => {
                fields.push(("from", "none".into()));
                fields.push(("lost", JsValue::TRUE));
                None
            }
        };
        self.emit(Event::Recovered, js::object(fields));
        result
    }

    /// The stored context was written by a newer version of the app: keep
    /// this session in memory so it is not overwritten, and say so.
    pub(super) fn refuse_newer(&self, stored: u32) {
        let ours = self.state().opts.version;
        let err = Error::new(
            Code::VersionTooNew,
            format!(
                "the stored context has schema version {stored}, newer than this app's version {ours}; it was not loaded and will not be overwritten (reload to get the newer app)"
            ),
        );
        self.emit_error(&err);
        self.degrade_to_memory(err.message);
    }

    /// Runs the app's `migrate(old, fromVersion)` on `record` and returns
    /// the changes that turn it into the result. Nothing is written here;
    /// any failure is `MIGRATION_FAILED`.
    pub(super) async fn migration(
        &self,
        migrate: Option<&Function>,
        record: &Record,
        from: u32,
    ) -> Result<Vec<(String, Op<Value>)>> {
        let fail = |what: String| {
            Error::new(
                Code::MigrationFailed,
                format!("migrate(old, {from}) failed: {what}; nothing stored was changed"),
            )
        };
        let Some(f) = migrate else {
            return Ok(Vec::new());
        };
        let old = js_sys::Object::new();
        for (k, e) in &record.entries {
            if let Some(v) = &e.value {
                js::set(&old, k, &v.js);
            }
        }
        let out = f
            .call2(&JsValue::UNDEFINED, &old, &from.into())
            .map_err(|e| fail(js::message_of(&e)))?;
        let out = if js::get(&out, "then").is_function() {
            JsFuture::from(Promise::resolve(&out))
                .await
                .map_err(|e| fail(js::message_of(&e)))?
        } else {
            out
        };
        let entries =
            js::plain_entries(&out).ok_or_else(|| fail("it must return a plain object".into()))?;
        let mut ops: Vec<(String, Op<Value>)> = Vec::new();
        for (k, v) in &entries {
            if v.is_undefined() {
                continue;
            }
            let (value, size) =
                Value::encode(k, JsValue::from_str(k), v.clone()).map_err(|e| fail(e.message))?;
            ops.push((k.clone(), Op::Set(value, size)));
        }
        for (k, e) in &record.entries {
            if e.value.is_some() && !entries.iter().any(|(n, v)| n == k && !v.is_undefined()) {
                ops.push((k.clone(), Op::Delete));
            }
        }
        Ok(ops)
    }
}
