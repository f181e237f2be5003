//! Cross-tab sync over the session's channel.
//!
//! Messages are plain objects `{ sp: 1, t, from, ... }`:
//! - `ops`: entries this tab just changed, `e: [[key, stamp, json|null]]`;
//! - `hello`: a tab that just opened (or came back) asks for state, `id`;
//! - `state`: the answer to hello `to`, with every persisted entry in `e`.
//!
//! Receivers merge entries by stamp, so delivery order, duplicates and
//! replays do not matter. Anything else on the channel (another version,
//! a foreign script, garbage) is ignored, never thrown.

use js_sys::{Array, Function, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::{Session, CTX, JOURNAL_PREFIX};
use crate::core::clock::Stamp;
use crate::core::doc::Entry;
use crate::core::keymap::KeyMap;
use crate::platform::channel::Channel;
use crate::platform::storage::within;
use crate::platform::value::Value;
use crate::platform::{env, js};

/// Protocol version; messages of any other version are ignored.
const PROTOCOL: u32 = 1;
/// How long a new tab waits for a live tab's state before it reports
/// itself restored (when another tab is known to be open).
const HELLO_WAIT_MS: u32 = 500;
/// The same, when the browser cannot tell whether another tab is open.
const HELLO_WAIT_UNKNOWN_MS: u32 = 50;

impl Session {
    /// Opens the channel (unless `crossTab` is false).
    pub(super) fn join_channel(&self) {
        let (name, cross_tab) = {
            let st = self.state();
            (st.opts.name.clone(), st.opts.cross_tab)
        };
        if !cross_tab {
            return;
        }
        let weak = self.weak();
        let channel = Channel::open(&name, move |msg| {
            if let Some(s) = Session::from_weak(&weak) {
                s.on_message(&msg);
            }
        });
        self.state_mut().channel = channel;
    }

    fn post(&self, fields: Vec<(&str, JsValue)>) {
        let st = self.state();
        if let Some(ch) = &st.channel {
            let mut all = vec![
                ("sp", JsValue::from(PROTOCOL)),
                ("v", st.opts.version.into()),
                ("from", st.tab_id.as_str().into()),
            ];
            all.extend(fields);
            ch.post(&js::object(all));
        }
    }

    /// Sends the outbox in a microtask, so a burst of changes in one task
    /// is one message.
    pub(super) fn schedule_send(&self) {
        {
            let mut st = self.state_mut();
            if !st.peers {
                st.outbox = KeyMap::new();
            }
            if st.send_scheduled || st.outbox.is_empty() || st.channel.is_none() {
                return;
            }
            st.send_scheduled = true;
        }
        let s = self.clone();
        wasm_bindgen_futures::spawn_local(async move { s.send_outbox() });
    }

    /// Sends the current entries of the keys changed since the last send.
    pub(super) fn send_outbox(&self) {
        let entries = {
            let mut st = self.state_mut();
            st.send_scheduled = false;
            let keys = std::mem::take(&mut st.outbox);
            if keys.is_empty() || st.channel.is_none() || !st.peers {
                return;
            }
            encode_entries(st.doc.entries().filter(|(k, _)| keys.contains_key(k)))
        };
        self.post(vec![("t", "ops".into()), ("e", entries)]);
    }

    fn on_message(&self, msg: &JsValue) {
        // Another protocol, or another schema version of the context (a tab
        // of an older or newer app): not ours to merge.
        let version = self.state().opts.version as f64;
        if js::get(msg, "sp").as_f64() != Some(PROTOCOL as f64)
            || js::get(msg, "v").as_f64() != Some(version)
        {
            return;
        }
        let Some(from) = js::get(msg, "from").as_string() else {
            return;
        };
        if from.is_empty() || from == self.state().tab_id || self.state().closed {
            return;
        }
        self.state_mut().peers = true;
        match js::get(msg, "t").as_string().as_deref() {
            Some("ops") => {
                let Some(entries) = decode_entries(&js::get(msg, "e")) else {
                    return;
                };
                let changed = self.absorb(entries, None);
                self.announce_remote(&changed, &from);
            }
            Some("hello") => {
                let Some(id) = js::get(msg, "id").as_string() else {
                    return;
                };
                let entries = {
                    let st = self.state();
                    encode_entries(
                        st.doc
                            .entries()
                            .filter(|(k, _)| st.opts.persist.persists(k)),
                    )
                };
                self.post(vec![
                    ("t", "state".into()),
                    ("to", id.into()),
                    ("e", entries),
                ]);
            }
            Some("state") => {
                let waiting = self.state().hello.as_ref().map(|(id, _)| id.clone());
                if waiting.is_none() || js::get(msg, "to").as_string() != waiting {
                    return;
                }
                // Only a well-formed answer ends the wait.
                let Some(entries) = decode_entries(&js::get(msg, "e")) else {
                    return;
                };
                let changed = self.absorb(entries, None);
                self.announce_remote(&changed, &from);
                if let Some((_, resolve)) = self.state_mut().hello.take() {
                    let _ = resolve.call0(&JsValue::UNDEFINED);
                }
            }
            _ => {}
        }
    }

    /// Asks live tabs for what they hold (changes not saved yet) and waits
    /// briefly for the first answer, so a new tab starts up to date. Skipped
    /// when no other tab is open.
    /// `others`: how many other tabs Web Locks showed at open (`None`: unknown).
    pub(super) async fn catch_up_from_tabs(&self, others: Option<u32>) {
        if self.state().channel.is_none() {
            return;
        }
        let wait = match others {
            Some(0) => return,
            Some(_) => HELLO_WAIT_MS,
            None => HELLO_WAIT_UNKNOWN_MS,
        };
        self.state_mut().peers = true;
        let answered = self.say_hello();
        let _ = within(wait, JsFuture::from(answered)).await;
        self.state_mut().hello = None;
    }

    /// Sends a hello; the promise resolves when its first answer arrives.
    fn say_hello(&self) -> Promise {
        let id = env::random_id("h");
        let mut resolve_fn: Option<Function> = None;
        let answered = Promise::new(&mut |resolve, _| resolve_fn = Some(resolve));
        if let Some(f) = resolve_fn {
            self.state_mut().hello = Some((id.clone(), f));
        }
        self.post(vec![("t", "hello".into()), ("id", id.into())]);
        answered
    }

    /// The page is back (visible, restored from the back/forward cache,
    /// resumed): it may have missed messages, so merge what storage holds
    /// and ask live tabs again.
    pub(super) fn on_return(&self) {
        if self.state().closed {
            return;
        }
        let s = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let storage = s.storage();
            if let Ok((found, journals)) = storage.read(&[CTX], JOURNAL_PREFIX).await {
                let mut changed = Vec::new();
                for v in found
                    .into_iter()
                    .flatten()
                    .chain(journals.into_iter().map(|(_, v)| v))
                {
                    if let Some(record) = s.usable(&v) {
                        changed.extend(s.absorb(record.entries, None));
                    }
                }
                s.announce_remote(&changed, "storage");
            }
            if s.state().channel.is_some() {
                let _ = s.say_hello();
            }
        });
    }
}

/// `[[key, stamp, json|null]]` for the given entries.
fn encode_entries<'a>(entries: impl Iterator<Item = (&'a String, &'a Entry<Value>)>) -> JsValue {
    entries
        .map(|(k, e)| match &e.value {
            Some(v) => Array::of3(&v.key, &v.stamp_js(&e.stamp.encode()), &v.json),
            None => Array::of3(&k.as_str().into(), &e.stamp.encode().into(), &JsValue::NULL),
        })
        .collect::<Array>()
        .into()
}

/// Reads `[[key, stamp, json|null]]`. `None` if anything in it is
/// malformed: a tab running this protocol never sends a bad entry, so one
/// means the whole message is not to be trusted.
fn decode_entries(v: &JsValue) -> Option<KeyMap<Entry<Value>>> {
    if !Array::is_array(v) {
        return None;
    }
    let arr: &Array = wasm_bindgen::JsCast::unchecked_ref(v);
    let now = env::now();
    let mut out = KeyMap::new();
    for item in arr.iter() {
        if !Array::is_array(&item) {
            return None;
        }
        let item: Array = wasm_bindgen::JsCast::unchecked_into(item);
        if item.length() != 3 {
            return None;
        }
        let key_js = item.get(0);
        let key = key_js.as_string()?;
        let stamp_js = item.get(1);
        let stamp = stamp_js.as_string().and_then(|s| Stamp::decode(&s))?;
        if !stamp.is_plausible(now) {
            return None;
        }
        let json = item.get(2);
        let (value, size) = if json.is_null() {
            (None, 0)
        } else {
            let (v, size) = Value::decode(&key, key_js, json)?;
            v.set_stamp_js(stamp_js);
            (Some(v), size)
        };
        out.insert(key, Entry { value, stamp, size });
    }
    Some(out)
}
