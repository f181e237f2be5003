//! The frozen object `get()` returns: the same object until the context
//! changes, then a new one.
//!
//! Rebuilding it key by key from wasm costs a boundary crossing per key on
//! every change (250 us for 560 keys), so after a change to a few existing
//! keys the new object is a native copy of the previous one with only those
//! keys patched. Keys stay in key order: a change that adds a key rebuilds.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

use crate::core::doc::Doc;
use crate::core::keymap::KeyMap;
use crate::platform::js;
use crate::platform::value::Value;

/// The one key a copy by `Object.assign` would not copy as data.
const PROTO: &str = "__proto__";

/// Above this many changed keys a patch is no cheaper than a rebuild.
const MAX_PATCHED: usize = 32;

/// The view of a context, built on demand.
#[derive(Default)]
pub(super) struct View {
    /// Built and up to date.
    current: Option<JsValue>,
    /// Built earlier; `changed` lists the keys changed since.
    previous: Option<JsValue>,
    changed: KeyMap<()>,
    /// Whether `previous` cannot be patched (too many or unknown changes).
    rebuild: bool,
}

impl View {
    /// Records that `keys` changed.
    pub fn changed<'a>(&mut self, keys: impl IntoIterator<Item = &'a String>) {
        if let Some(current) = self.current.take() {
            self.previous = Some(current);
            self.changed = KeyMap::new();
            self.rebuild = false;
        }
        for k in keys {
            if self.rebuild {
                break; // no need to remember which
            }
            self.changed.insert(k.clone(), ());
            if self.changed.len() > MAX_PATCHED {
                self.rebuild = true;
                self.changed = KeyMap::new();
            }
        }
    }

    /// Records that the whole context was replaced.
    pub fn replaced(&mut self) {
        *self = View::default();
    }

    /// The view of `doc`.
    pub fn get(&mut self, doc: &Doc<Value>) -> JsValue {
        if let Some(v) = &self.current {
            return v.clone();
        }
        let patched = match (self.previous.take(), self.rebuild) {
            (Some(previous), false) => self.patch(&previous, doc),
            _ => None,
        };
        let obj = patched.unwrap_or_else(|| {
            let obj = Object::new();
            for (k, v) in doc.live() {
                js::set_key(&obj, k, &v.key, &v.js);
            }
            obj
        });
        let view: JsValue = Object::freeze(&obj).into();
        self.current = Some(view.clone());
        self.changed = KeyMap::new();
        view
    }

    /// A copy of `previous` with the changed keys patched; `None` if a key
    /// was added (it would land out of key order).
    fn patch(&self, previous: &JsValue, doc: &Doc<Value>) -> Option<Object> {
        // `Object.assign` sets `__proto__` through its setter.
        if doc.get(PROTO).is_some() || self.changed.contains_key(PROTO) {
            return None;
        }
        let previous: &Object = wasm_bindgen::JsCast::unchecked_ref(previous);
        let obj = Object::assign(&Object::new(), previous);
        for (k, _) in self.changed.iter() {
            match doc.get(k) {
                Some(v) => {
                    if !Reflect::has(&obj, &v.key).unwrap_or(false) {
                        return None;
                    }
                    let _ = Reflect::set(&obj, &v.key, &v.js);
                }
                None => {
                    let _ = Reflect::delete_property(&obj, &JsValue::from_str(k));
                }
            }
        }
        Some(obj)
    }
}
