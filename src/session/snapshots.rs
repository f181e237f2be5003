//! Snapshots and `clear`. The snapshot index is changed only by atomic
//! read-modify-writes, so tabs taking snapshots at once do not lose each
//! other's entries.

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::JsValue;

use super::{
    records, ChangeSource, Event, Session, BAK_INDEX, BAK_PREFIX, DAMAGED, JOURNAL_PREFIX, META,
    SNAP_INDEX,
};
use crate::core::doc::Op;
use crate::core::error::{Code, Error, Result};
use crate::core::record::{check_schema, SchemaCheck};
use crate::core::snapshots::{self, Info as SnapshotInfo, Source};
use crate::platform::storage::Batch;
use crate::platform::value::Value;
use crate::platform::{env, js};

fn snap_key(id: &str) -> String {
    format!("snap:{id}")
}

fn not_found(id: &str) -> Error {
    Error::new(
        Code::SnapshotNotFound,
        format!("no snapshot with id \"{id}\"; listSnapshots() gives the ids that exist"),
    )
}

fn index_of(found: &[Option<JsValue>]) -> Vec<SnapshotInfo> {
    found
        .first()
        .cloned()
        .flatten()
        .map(|v| records::decode_index(&v))
        .unwrap_or_default()
}

impl Session {
    /// The record of the current context, for a snapshot.
    fn snapshot_record(&self) -> (JsValue, usize) {
        let st = self.state();
        records::encode(&st.doc, &st.opts, env::now(), (&st.tab_id, 0))
    }

    /// Stores `record` as a new snapshot and applies retention, in one
    /// atomic step. Returns the new id.
    pub(super) async fn store_snapshot(
        &self,
        record: JsValue,
        bytes: usize,
        name: &str,
        source: Source,
    ) -> Result<String> {
        let now = env::now();
        let id = snapshots::new_id(now, env::random());
        let info = SnapshotInfo {
            id: id.clone(),
            name: name.to_string(),
            created_at: now,
            source,
            bytes,
        };
        let retention = self.state().opts.snapshots;
        let key = snap_key(&id);
        self.storage()
            .update(
                &[SNAP_INDEX],
                "",
                Box::new(move |(found, _)| {
                    let mut list = index_of(&found);
                    list.push(info);
                    let evicted = snapshots::retain(&mut list, retention, now);
                    Batch {
                        puts: vec![
                            (key.clone(), record),
                            (SNAP_INDEX.into(), records::encode_index(&list)),
                        ],
                        deletes: evicted
                            .iter()
                            .map(|id| snap_key(id))
                            .filter(|k| *k != key)
                            .collect(),
                    }
                }),
            )
            .await?;
        Ok(id)
    }

    /// Saves the current context as a named snapshot; returns its id.
    pub async fn create_snapshot(&self, name: &str, source: Source) -> Result<String> {
        self.check_open()?;
        let _guard = self.inner.lock.acquire().await;
        self.check_open()?;
        let (record, bytes) = self.snapshot_record();
        self.store_snapshot(record, bytes, name, source).await
    }

    /// Snapshots, newest first, at most `limit`.
    pub async fn list_snapshots(&self, limit: Option<usize>) -> Result<Vec<SnapshotInfo>> {
        self.check_open()?;
        let (found, _) = self.storage().read(&[SNAP_INDEX], "").await?;
        let mut list = index_of(&found);
        snapshots::sort_newest_first(&mut list);
        if let Some(n) = limit {
            list.truncate(n);
        }
        Ok(list)
    }

    /// Replaces the context with a snapshot's, after taking a `pre-restore`
    /// snapshot of the current one, and writes it. Other tabs receive the
    /// change like any other.
    pub async fn restore_snapshot(&self, id: &str) -> Result<()> {
        self.check_open()?;
        let _guard = self.inner.lock.acquire().await;
        self.check_open()?;
        let key = snap_key(id);
        let (found, _) = self.storage().read(&[SNAP_INDEX, &key], "").await?;
        if !index_of(&found).iter().any(|i| i.id == id) {
            return Err(not_found(id));
        }
        let body = found
            .get(1)
            .cloned()
            .flatten()
            .ok_or_else(|| not_found(id))?;
        let record = records::decode(&body).map_err(|e| {
            Error::new(
                Code::StorageUnavailable,
                format!("snapshot \"{id}\" is damaged: {}", e.message),
            )
        })?;
        // A snapshot of another schema version: migrate an older one, as on
        // open; refuse a newer one.
        let (version, migrate) = {
            let st = self.state();
            (st.opts.version, st.migrate.clone())
        };
        let stored = record.header.schema;
        let restored: Vec<(String, Value, usize)> = match check_schema(stored, version) {
            SchemaCheck::Newer => {
                return Err(Error::new(
                    Code::VersionTooNew,
                    format!("snapshot \"{id}\" has schema version {stored}, newer than this app's {version}; it cannot be restored here"),
                ))
            }
            SchemaCheck::Older if migrate.is_some() => self
                .migration(migrate.as_ref(), &record, stored)
                .await?
                .into_iter()
                .filter_map(|(k, op)| match op {
                    Op::Set(v, size) => Some((k, v, size)),
                    Op::Delete => None,
                })
                .collect(),
            _ => record
                .entries
                .into_iter()
                .filter_map(|(k, e)| e.value.map(|v| (k, v, e.size)))
                .collect(),
        };
        let (current, bytes) = self.snapshot_record();
        self.store_snapshot(current, bytes, "", Source::PreRestore)
            .await?;
        let ops = {
            let st = self.state();
            let mut ops: Vec<(String, Op<Value>)> = st
                .doc
                .live()
                .filter(|(k, _)| !restored.iter().any(|(r, _, _)| r == *k))
                .map(|(k, _)| (k.clone(), Op::Delete))
                .collect();
            ops.extend(
                restored
                    .into_iter()
                    .map(|(k, v, size)| (k, Op::Set(v, size))),
            );
            ops
        };
        self.apply(ops, ChangeSource::Snapshot, false)?;
        self.send_outbox();
        self.write_context().await?;
        let revision = self.state().doc.revision();
        self.emit(
            Event::Restored,
            js::object([
                ("source", "snapshot".into()),
                ("snapshotId", id.into()),
                ("revision", (revision as f64).into()),
            ]),
        );
        Ok(())
    }

    /// Deletes a snapshot.
    pub async fn delete_snapshot(&self, id: &str) -> Result<()> {
        self.check_open()?;
        let _guard = self.inner.lock.acquire().await;
        let existed = Rc::new(Cell::new(false));
        let (e, target) = (existed.clone(), id.to_string());
        self.storage()
            .update(
                &[SNAP_INDEX],
                "",
                Box::new(move |(found, _)| {
                    let mut list = index_of(&found);
                    let before = list.len();
                    list.retain(|i| i.id != target);
                    if list.len() == before {
                        return Batch::default();
                    }
                    e.set(true);
                    Batch {
                        puts: vec![(SNAP_INDEX.into(), records::encode_index(&list))],
                        deletes: vec![snap_key(&target)],
                    }
                }),
            )
            .await?;
        if !existed.get() {
            return Err(not_found(id));
        }
        Ok(())
    }

    /// Empties the context (in every tab) and removes this name's snapshots,
    /// journals and metadata from storage. The context record stays, holding
    /// only deletions, so a tab that has not heard of the clear cannot bring
    /// the old values back by saving them.
    pub async fn clear(&self) -> Result<()> {
        self.check_open()?;
        let _guard = self.inner.lock.acquire().await;
        self.apply(self.delete_all(), ChangeSource::Local, false)?;
        self.send_outbox();
        // Neither the write below nor a guess may put the record it
        // replaces (the context being cleared) into the emptied backup ring.
        {
            let mut st = self.state_mut();
            st.stored = None;
            st.forget_replaced = true;
        }
        self.storage()
            .update(
                &[SNAP_INDEX],
                JOURNAL_PREFIX,
                Box::new(move |(found, journals)| {
                    let mut deletes: Vec<String> = [META, SNAP_INDEX, DAMAGED, BAK_INDEX]
                        .iter()
                        .map(|s| s.to_string())
                        .collect();
                    // Backups: every slot the option allows (100 at most).
                    deletes.extend((0..100).map(|i| format!("{BAK_PREFIX}{i}")));
                    deletes.extend(index_of(&found).iter().map(|i| snap_key(&i.id)));
                    deletes.extend(journals.into_iter().map(|(k, _)| k));
                    Batch {
                        puts: vec![],
                        deletes,
                    }
                }),
            )
            .await?;
        self.write_context().await?;
        let mut st = self.state_mut();
        if let Some(journal) = &st.journal {
            let all: Vec<(String, String)> = journal
                .read()
                .into_iter()
                .map(|f| (f.key, f.text))
                .collect();
            journal.remove_if_unchanged(&all);
        }
        st.restore_count = 0;
        st.last_restored_at = None;
        Ok(())
    }
}
