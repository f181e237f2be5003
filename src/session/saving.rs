//! Writing the context: the autosave timer, read-merge-write saves, and the
//! journal a leaving tab writes.
//!
//! The tab that made a change writes it; other tabs only merge it in
//! memory, so N tabs do not write one change N times. A save is one atomic
//! read-merge-write: whatever another tab stored since this tab last wrote
//! is merged in (per key, newest stamp wins) before writing, so concurrent
//! savers never undo each other. A tab leaving the page cannot wait for a
//! read, so it writes its own journal record (`tab:<tabId>`) instead: in
//! localStorage for an IndexedDB session (see `storage::journal`), in the
//! session's storage otherwise; the next save of any tab folds journals in
//! and deletes them.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use wasm_bindgen::JsValue;

use super::{records, Session, Stored, BAK_INDEX, BAK_PREFIX, CTX, DAMAGED, JOURNAL_PREFIX};
use crate::core::error::Result;
use crate::core::error::{Code, Error};
use crate::core::record::{check_schema, SchemaCheck};
use crate::platform::storage::{Backend, Batch, BoxFut, Found, Guess};
use crate::platform::{env, js};

/// Tombstones older than this are dropped on save (30 days): they only need
/// to outlive any stale copy of their key.
const TOMBSTONE_TTL_MS: u64 = 30 * 86_400_000;

/// A write that has been issued to storage.
pub(super) struct PendingWrite {
    done: BoxFut<'static, Result<()>>,
    /// Revision and size of what was written, known once the record is built.
    written: Rc<Cell<(u64, usize)>>,
    /// localStorage journals folded into this write (key, text): deleted
    /// once it has committed.
    folded: Rc<RefCell<Vec<(String, String)>>>,
    /// A leave journal, not a save of the context (raises no `saved`).
    journal: bool,
    /// Set when the write was refused (storage holds a newer schema).
    refused: Rc<RefCell<Option<Error>>>,
}

impl Session {
    /// Marks the context as needing a write (for changes not made through
    /// `apply`, e.g. folded journals).
    pub(super) fn mark_dirty(&self) {
        self.state_mut().schedule.changed(env::now());
        self.arm_timer();
    }

    /// Sets the timer for the next autosave, if one is due earlier than the
    /// timer already set. A timer that fires early just re-arms, so a burst
    /// of changes costs no timer churn.
    pub(super) fn arm_timer(&self) {
        let now = env::now();
        let mut st = self.state_mut();
        if st.closed {
            return;
        }
        let Some(due) = st.schedule.due_at() else {
            return;
        };
        if st.timer.as_ref().is_some_and(|(at, _)| *at <= due) {
            return;
        }
        let weak = self.weak();
        let delay = due.saturating_sub(now).min(u32::MAX as u64) as u32;
        let timeout = Timeout::new(delay, move || {
            if let Some(s) = Session::from_weak(&weak) {
                s.on_timer();
            }
        });
        st.timer = Some((due, timeout));
    }

    fn on_timer(&self) {
        let due = {
            let mut st = self.state_mut();
            st.timer = None;
            st.schedule.is_due(env::now())
        };
        if due {
            let s = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                // Failures are reported as `error` events and retried.
                let _ = s.write_context().await;
            });
        } else {
            self.arm_timer();
        }
    }

    /// The page may be going away: write now, inside the event handler (a
    /// write issued in a later callback does not survive a reload in
    /// Chromium). With IndexedDB that is a blind write of this tab's
    /// journal; localStorage and memory can merge synchronously.
    pub(super) fn flush_on_leave(&self) {
        self.send_outbox();
        // A save still in flight counts as unsaved: the browser may drop
        // an IndexedDB transaction that has not committed when the page goes.
        let (dirty, backend) = {
            let st = self.state();
            (
                st.schedule.is_dirty() || st.writes_in_flight > 0,
                st.storage.backend(),
            )
        };
        if !dirty {
            return;
        }
        // IndexedDB sessions write the localStorage journal and also try
        // IndexedDB: a second chance if the browser drops either.
        if backend == Backend::IndexedDb {
            self.write_local_journal();
        }
        let pending = if backend == Backend::IndexedDb {
            self.begin_journal()
        } else {
            self.begin_write()
        };
        if let Ok(pending) = pending {
            let s = self.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let _ = s.finish_write(pending).await;
            });
        }
    }

    /// Writes the context now and reports the outcome.
    pub(super) async fn write_context(&self) -> Result<()> {
        let pending = self.begin_write()?;
        self.finish_write(pending).await
    }

    /// Writes this tab's record to the localStorage journal, synchronously
    /// (when localStorage refuses, e.g. full, the IndexedDB journal remains).
    fn write_local_journal(&self) {
        let st = self.state();
        if let Some(journal) = &st.journal {
            let (record, _) = records::encode(&st.doc, &st.opts, env::now(), (&st.tab_id, 0));
            let _ = journal.write(&st.tab_id, &record);
        }
    }

    /// Issues a read-merge-write of the context. When this tab knows what
    /// storage holds (it wrote or read it last), the write is prepared now
    /// and sent together with the read of `head` (one round trip); it is
    /// kept only if nobody wrote since, else the full read-merge-write runs.
    fn begin_write(&self) -> Result<PendingWrite> {
        self.check_open()?;
        let storage = {
            let mut st = self.state_mut();
            st.schedule.write_started();
            st.writes_in_flight += 1;
            st.storage.clone()
        };
        let written: Rc<Cell<(u64, usize)>> = Rc::default();
        let folded: Rc<RefCell<Vec<(String, String)>>> = Rc::default();
        let refused: Rc<RefCell<Option<Error>>> = Rc::default();
        let (weak, w, f, r) = (
            self.weak(),
            written.clone(),
            folded.clone(),
            refused.clone(),
        );
        // Runs inside the storage transaction, after the reads.
        let modify = Box::new(move |found| match Session::from_weak(&weak) {
            Some(s) => s.compose_write(found, &w, &f, &r),
            None => Batch::default(),
        });
        let done = match self.guess_write(&written) {
            Some(guess) => {
                storage.update_guessing(&[CTX, BAK_INDEX], JOURNAL_PREFIX, guess, modify)
            }
            None => storage.update(&[CTX, BAK_INDEX], JOURNAL_PREFIX, modify),
        };
        Ok(PendingWrite {
            done,
            written,
            folded,
            journal: false,
            refused,
        })
    }

    /// The write of a save that assumes storage holds what this tab last
    /// wrote or read, and the check of that: `head` names that write, the
    /// backup ring is where it was left, and no tab left a journal. `None`
    /// when this tab does not know (first save, after a failure) or a
    /// localStorage journal is waiting to be folded in.
    fn guess_write(&self, written: &Rc<Cell<(u64, usize)>>) -> Option<Guess> {
        let backend = self.state().storage.backend();
        if backend != Backend::IndexedDb {
            return None;
        }
        let journals = self.state().journal.as_ref().map(|j| j.read());
        if journals.is_some_and(|j| !j.is_empty()) {
            return None;
        }
        let previous = self.state_mut().stored.take()?;
        let backups = self.state().opts.backups;
        let mut batch = Batch::default();
        let next = if backups > 0 {
            batch.puts.push((
                format!("{BAK_PREFIX}{}", previous.bak_next),
                previous.record,
            ));
            (previous.bak_next + 1) % backups
        } else {
            0
        };
        let (record, head) = self.next_record(written, next);
        batch.puts.push((CTX.into(), record));
        batch.puts.push((BAK_INDEX.into(), head));
        let (tab, seq) = previous.writer;
        let expected_next = previous.bak_next;
        let holds = Box::new(move |(found, journals): &Found| {
            found[0].as_ref().is_some_and(|head| {
                records::written_by(head, (&tab, seq))
                    && ring_next(Some(head), backups) == expected_next
            }) && journals.is_empty()
        });
        Some(Guess {
            reads: &[BAK_INDEX],
            batch,
            holds,
        })
    }

    /// Builds the context record of the next write and its `head`, and
    /// remembers them as what storage holds once written (with the backup
    /// ring's next slot then).
    fn next_record(&self, written: &Cell<(u64, usize)>, bak_next: u32) -> (JsValue, JsValue) {
        let mut st = self.state_mut();
        let now = env::now();
        st.doc
            .prune_tombstones(now.saturating_sub(TOMBSTONE_TTL_MS));
        st.write_seq += 1;
        let (record, bytes) = records::encode(&st.doc, &st.opts, now, (&st.tab_id, st.write_seq));
        written.set((st.doc.revision(), bytes));
        let head = records::encode_head(bak_next, (&st.tab_id, st.write_seq));
        // If this write fails, storage's head will not name it, so the next
        // save's guess fails its check and reads first: never wrong, only slower.
        st.stored = Some(Stored {
            record: record.clone(),
            writer: (st.tab_id.clone(), st.write_seq),
            bak_next,
        });
        (record, head)
    }

    /// Issues a blind write of this tab's journal record.
    fn begin_journal(&self) -> Result<PendingWrite> {
        self.check_open()?;
        let (storage, batch, written) = {
            let mut st = self.state_mut();
            st.schedule.write_started();
            st.writes_in_flight += 1;
            let (record, bytes) = records::encode(&st.doc, &st.opts, env::now(), (&st.tab_id, 0));
            let key = format!("{JOURNAL_PREFIX}{}", st.tab_id);
            let batch = Batch {
                puts: vec![(key, record)],
                deletes: vec![],
            };
            (st.storage.clone(), batch, (st.doc.revision(), bytes))
        };
        Ok(PendingWrite {
            done: storage.write(batch),
            written: Rc::new(Cell::new(written)),
            folded: Rc::default(),
            journal: true,
            refused: Rc::default(),
        })
    }

    /// What a save writes, given what storage holds: the stored context and
    /// journals merged into this tab's context, written back as one record;
    /// the record it replaces kept in the backup ring; folded journals
    /// deleted; a stored record that fails validation kept aside rather
    /// than overwritten. Nothing, if storage holds a newer schema.
    fn compose_write(
        &self,
        (found, journals): Found,
        written: &Cell<(u64, usize)>,
        folded: &RefCell<Vec<(String, String)>>,
        refused: &RefCell<Option<Error>>,
    ) -> Batch {
        let mut batch = Batch::default();
        let mut absorbed = Vec::new();
        let mut found = found.into_iter();
        let (stored, ring) = (found.next().flatten(), found.next().flatten());
        let (ours, version, backups, forget) = {
            let mut st = self.state_mut();
            let ours = stored
                .as_ref()
                .is_some_and(|v| records::written_by(v, (&st.tab_id, st.write_seq)));
            let forget = std::mem::take(&mut st.forget_replaced);
            (ours, st.opts.version, st.opts.backups, forget)
        };
        let mut stored_valid = ours;
        if let (Some(v), false) = (&stored, ours) {
            match records::decode(v) {
                Ok(record) => {
                    if check_schema(record.header.schema, version) == SchemaCheck::Newer {
                        *refused.borrow_mut() = Some(Error::new(
                            Code::VersionTooNew,
                            format!(
                                "another tab stored this context with schema version {}, newer than this app's {version}; not overwritten (reload to get the newer app)",
                                record.header.schema
                            ),
                        ));
                        return Batch::default();
                    }
                    stored_valid = true;
                    absorbed.extend(self.absorb(record.entries, None));
                }
                Err(_) => batch.puts.push((DAMAGED.into(), v.clone())),
            }
        }
        // The record being replaced goes into the backup ring.
        let mut bak_next = ring_next(ring.as_ref(), backups);
        if let (Some(v), true, true) = (stored, stored_valid && !forget, backups > 0) {
            batch.puts.push((format!("{BAK_PREFIX}{bak_next}"), v));
            bak_next = (bak_next + 1) % backups;
        }
        for (key, j) in journals {
            if let Some(record) = self.usable(&j) {
                absorbed.extend(self.absorb(record.entries, None));
            }
            batch.deletes.push(key);
        }
        let local = self
            .state()
            .journal
            .as_ref()
            .map(|j| j.read())
            .unwrap_or_default();
        for found in local {
            if let Some(record) = self.usable(&found.record) {
                absorbed.extend(self.absorb(record.entries, None));
            }
            folded.borrow_mut().push((found.key, found.text));
        }
        self.state_mut().absorbed.extend(absorbed);
        let (record, head) = self.next_record(written, bak_next);
        batch.puts.push((CTX.into(), record));
        batch.puts.push((BAK_INDEX.into(), head));
        batch
    }

    /// Waits for a write, then records the outcome, raises `saved` or
    /// `error`, and announces what it merged in from other tabs.
    pub(super) async fn finish_write(&self, pending: PendingWrite) -> Result<()> {
        let mut result = pending.done.await;
        let refused = pending.refused.borrow_mut().take();
        if let Some(err) = refused {
            // Keep what this tab holds in memory; never write over it.
            self.degrade_to_memory(err.message.clone());
            result = Err(err);
        }
        let now = env::now();
        let absorbed = {
            let mut st = self.state_mut();
            st.writes_in_flight -= 1;
            match &result {
                Ok(()) => {
                    st.schedule.write_succeeded();
                    st.last_saved_at = Some(now);
                    if let Some(journal) = &st.journal {
                        journal.remove_if_unchanged(&pending.folded.borrow());
                    }
                }
                Err(_) => st.schedule.write_failed(now),
            }
            std::mem::take(&mut st.absorbed)
        };
        self.announce_remote(&absorbed, "storage");
        match &result {
            Ok(()) if pending.journal || !self.heard(super::Event::Saved) => {}
            Ok(()) => {
                let (revision, bytes) = pending.written.get();
                self.emit(
                    super::Event::Saved,
                    js::object([
                        ("revision", (revision as f64).into()),
                        ("bytes", (bytes as f64).into()),
                        ("at", (now as f64).into()),
                    ]),
                );
            }
            Err(e) => {
                self.emit_error(e);
                self.arm_timer();
            }
        }
        result
    }

    /// Writes what is pending; resolves when it is stored.
    pub async fn save(&self) -> Result<()> {
        self.check_open()?;
        let pending = {
            let st = self.state();
            st.schedule.is_dirty() || st.writes_in_flight > 0
        };
        if pending {
            self.write_context().await?;
        }
        Ok(())
    }

    /// Sets `key`, tells the other tabs at once, and writes now.
    pub async fn share(&self, key: String, value: wasm_bindgen::JsValue) -> Result<()> {
        self.update(vec![(key, Some(value))])?;
        self.send_outbox();
        self.write_context().await
    }
}

impl Session {
    /// Remembers a context record loaded from storage as what storage holds,
    /// if the write head names its writer (so the next save can guess).
    pub(super) fn remember_stored(&self, ctx: &JsValue, head: Option<&JsValue>) {
        let Some(writer) = head.and_then(records::writer_of) else {
            return;
        };
        if !records::written_by(ctx, (&writer.0, writer.1)) {
            return;
        }
        let mut st = self.state_mut();
        let bak_next = ring_next(head, st.opts.backups);
        st.stored = Some(Stored {
            record: ctx.clone(),
            writer,
            bak_next,
        });
    }
}

/// The backup ring's next slot, as its index record says (0 if it has none
/// or a malformed one).
fn ring_next(index: Option<&JsValue>, backups: u32) -> u32 {
    if backups == 0 {
        return 0;
    }
    index
        .and_then(|r| js::get(r, "next").as_f64())
        .unwrap_or(0.0) as u32
        % backups
}
