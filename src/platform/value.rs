//! Context values crossing between JS and Rust. A value stays a `JsValue`
//! (Rust never needs to read it); Rust keeps its JSON text's size and hash
//! for size limits and checksums.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::core::checksum;
use crate::core::clock::Stamp;
use crate::core::error::{Code, Error};

#[wasm_bindgen(module = "/src/platform/value.js")]
extern "C" {
    #[wasm_bindgen(js_name = encodeValue, catch)]
    fn encode_value(value: &JsValue, key: &str) -> Result<js_sys::JsString, JsValue>;

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
    /// The stamp it was last saved or sent with, as text and as a JS
    /// string: a save re-encodes only the entries that changed.
    encoded_stamp: RefCell<Option<(Stamp, String, JsValue)>>,
}

impl Value {
    /// `stamp` as text and as a JS string (cached: the stamp of a held value
    /// changes only when the value does).
    pub fn encoded_stamp(&self, stamp: &Stamp) -> (String, JsValue) {
        let mut cache = self.encoded_stamp.borrow_mut();
        if let Some((s, text, js)) = cache.as_ref() {
            if s == stamp {
                return (text.clone(), js.clone());
            }
        }
        let text = stamp.encode();
        let js = JsValue::from_str(&text);
        *cache = Some((stamp.clone(), text.clone(), js.clone()));
        (text, js)
    }
}

impl Value {
    /// Encodes an app value set under `key`. Returns the value and its
    /// stored size in bytes, or `NOT_SERIALIZABLE` saying where it fails.
    pub fn encode(key: &str, js: JsValue) -> Result<(Value, usize), Error> {
        let json = encode_value(&js, key).map_err(|problem| {
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
                key: JsValue::from_str(key),
                encoded_stamp: RefCell::default(),
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
                encoded_stamp: RefCell::default(),
            },
            size,
        ))
    }
}
