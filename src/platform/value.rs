//! Context values crossing between JS and Rust. A value stays a `JsValue`
//! (Rust never needs to read it); Rust keeps its JSON text's size and hash
//! for size limits and checksums.

use std::cell::OnceCell;

use wasm_bindgen::prelude::*;

use crate::core::checksum;
use crate::core::error::{Code, Error};

#[wasm_bindgen(module = "/src/platform/value.js")]
extern "C" {
    #[wasm_bindgen(js_name = encodeValue, catch)]
    fn encode_value(value: &JsValue, key: &JsValue) -> Result<js_sys::JsString, JsValue>;

    #[wasm_bindgen(js_name = decodeValue)]
    fn decode_value(text: &JsValue) -> JsValue;

    /// Rethrows `error` in a microtask, so app code that threw is reported
    /// (console, `window.onerror`) without unwinding through the library.
    #[wasm_bindgen(js_name = reportLater)]
    pub fn report_later(error: &JsValue);
}

/// A context value as held by the session.
#[derive(Clone, Debug)]
pub struct Value {
    /// The value the app gave (or one parsed from storage).
    pub js: JsValue,
    /// Its JSON text, as a JS string.
    pub json: JsValue,
    /// Hash of the JSON text (UTF-8).
    pub hash: u64,
    /// Its key as a JS string.
    pub key: JsValue,
    /// Its stamp as a JS string, once read, saved or sent: a save converts
    /// only the entries that changed. Valid for the stamp the value is held
    /// under; [`Value::restamped`] drops it when the value is written anew.
    stamp_js: OnceCell<JsValue>,
}

impl Value {
    /// Remembers `js` as its stamp's JS string (read along with the value
    /// from storage or a message), so saving it converts nothing.
    pub fn set_stamp_js(&self, js: JsValue) {
        let _ = self.stamp_js.set(js);
    }

    /// Whether its stamp still needs converting to a JS string.
    pub fn needs_stamp_js(&self) -> bool {
        self.stamp_js.get().is_none()
    }

    /// Its stamp (whose text is `text`) as a JS string, converted once.
    pub fn stamp_js(&self, text: &str) -> JsValue {
        self.stamp_js
            .get_or_init(|| JsValue::from_str(text))
            .clone()
    }

    /// Forgets the stamp's JS string: the value is about to be written
    /// under a new stamp (e.g. a restored snapshot's values).
    pub fn restamped(&mut self) {
        self.stamp_js = OnceCell::new();
    }

    /// Encodes an app value set under `key` (`key_js`: the same key as a JS
    /// string; converting keys is a measurable part of a large update).
    /// Returns the value and its stored size in bytes, or `NOT_SERIALIZABLE`
    /// saying where it fails.
    pub fn encode(key: &str, key_js: JsValue, js: JsValue) -> Result<(Value, usize), Error> {
        let json = encode_value(&js, &key_js).map_err(|problem| {
            Error::new(
                Code::NotSerializable,
                format!(
                    "cannot store \"{key}\": {}",
                    problem
                        .as_string()
                        .unwrap_or_else(|| crate::platform::js::message_of(&problem))
                ),
            )
        })?;
        let text = String::from(&json);
        let size = key.len() + text.len();
        let hash = checksum::hash(text.as_bytes());
        Ok((
            Value {
                js,
                json: json.into(),
                hash,
                key: key_js,
                stamp_js: OnceCell::new(),
            },
            size,
        ))
    }

    /// A value read back from stored or received JSON text. `None` if the
    /// text is not JSON, or parses to something [`Value::encode`] would
    /// refuse (`1e999` parses to `Infinity`).
    /// `key_js`: the key as a JS string, if the caller has it.
    pub fn decode(key: &str, key_js: JsValue, json: JsValue) -> Option<(Value, usize)> {
        let text = json.as_string()?;
        let js = decode_value(&json);
        if js.is_undefined() {
            return None;
        }
        let size = key.len() + text.len();
        let hash = checksum::hash(text.as_bytes());
        Some((
            Value {
                js,
                json,
                hash,
                key: key_js,
                stamp_js: OnceCell::new(),
            },
            size,
        ))
    }
}
