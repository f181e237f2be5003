//! Small helpers for reading and building JS objects, and for turning the
//! core's errors into JS `Error`s with a `code`.

use std::cell::RefCell;

use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::error::{Code, Error};
use crate::core::keymap::KeyMap;

/// Field names converted to JS strings so far. Converting a Rust string is a
/// `TextDecoder` call (about a microsecond); a record, a message or an event
/// detail names a dozen fields, so the first conversions are kept. Capped,
/// since `set` may be given app keys.
const FIELD_CACHE_MAX: usize = 128;

thread_local! {
    static FIELDS: RefCell<KeyMap<JsValue>> = RefCell::new(KeyMap::new());
}

/// `key` as a JS string, from the cache when it was seen before.
pub fn field(key: &str) -> JsValue {
    FIELDS.with(|cache| {
        if let Some(js) = cache.borrow().get(key) {
            return js.clone();
        }
        let js = JsValue::from_str(key);
        let mut cache = cache.borrow_mut();
        if cache.len() < FIELD_CACHE_MAX {
            cache.insert(key.to_string(), js.clone());
        }
        js
    })
}

/// `obj[key]`, or `undefined` when `obj` is not an object or the read throws.
pub fn get(obj: &JsValue, key: &str) -> JsValue {
    if !obj.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &field(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `obj[key] = value` as an own data property, safe for keys such as
/// `__proto__` that a plain assignment would treat specially.
pub fn set(obj: &Object, key: &str, value: &JsValue) {
    set_key(obj, key, &field(key), value);
}

/// [`set`] with the key also given as a JS string (saves converting it).
pub fn set_key(obj: &Object, key: &str, key_js: &JsValue, value: &JsValue) {
    if key == "__proto__" {
        let desc = Object::new();
        let _ = Reflect::set(&desc, &"value".into(), value);
        let _ = Reflect::set(&desc, &"enumerable".into(), &JsValue::TRUE);
        let _ = Reflect::set(&desc, &"writable".into(), &JsValue::TRUE);
        let _ = Reflect::set(&desc, &"configurable".into(), &JsValue::TRUE);
        Object::define_property(obj, key_js, &desc);
    } else {
        let _ = Reflect::set(obj, key_js, value);
    }
}

/// A plain object built from `(key, value)` pairs.
pub fn object<'a>(fields: impl IntoIterator<Item = (&'a str, JsValue)>) -> JsValue {
    let obj = Object::new();
    for (k, v) in fields {
        set(&obj, k, &v);
    }
    obj.into()
}

/// A number as a JS value; `null` for `None`.
pub fn opt_num(n: Option<f64>) -> JsValue {
    n.map_or(JsValue::NULL, JsValue::from_f64)
}

/// A JS array of strings.
pub fn str_array<'a>(items: impl IntoIterator<Item = &'a str>) -> JsValue {
    let arr = js_sys::Array::new();
    for s in items {
        arr.push(&JsValue::from_str(s));
    }
    arr.into()
}

/// A JS `Error` with `code` and `message`.
pub fn to_js_error(err: &Error) -> JsValue {
    let e = js_sys::Error::new(&err.message);
    let _ = Reflect::set(&e, &"code".into(), &JsValue::from_str(err.code.as_str()));
    e.into()
}

/// The message of a thrown JS value (an `Error`, a DOMException, or any
/// other value).
pub fn message_of(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        return s;
    }
    let name = get(value, "name").as_string().unwrap_or_default();
    let msg = get(value, "message").as_string().unwrap_or_default();
    match (name.is_empty(), msg.is_empty()) {
        (false, false) => format!("{name}: {msg}"),
        (false, true) => name,
        (true, false) => msg,
        (true, true) => String::from("unknown error"),
    }
}

/// Maps a storage exception to an error code. Quota errors come in several
/// shapes (`QuotaExceededError`, code 22, Firefox's
/// `NS_ERROR_DOM_QUOTA_REACHED`, an `AbortError` whose message names the
/// quota): all become `QUOTA_EXCEEDED`.
pub fn storage_error(context: &str, value: &JsValue) -> Error {
    let text = message_of(value);
    let code_22 = get(value, "code").as_f64() == Some(22.0);
    // A byte-window search: `str::contains` links a substring searcher
    // and its panic paths (about 5 KB of wasm) for this one line.
    let quota = code_22
        || text
            .as_bytes()
            .windows(5)
            .any(|w| w.eq_ignore_ascii_case(b"quota"));
    if quota {
        Error::new(
            Code::QuotaExceeded,
            format!("{context}: the browser's storage quota is full ({text}); free space (delete snapshots or large keys) and save again"),
        )
    } else {
        Error::new(Code::StorageUnavailable, format!("{context}: {text}"))
    }
}

/// The own enumerable keys and values of a plain object (prototype
/// `Object.prototype` or `null`); `None` for anything else (arrays,
/// functions, class instances, primitives).
pub fn plain_entries(v: &JsValue) -> Option<Vec<(String, JsValue)>> {
    if !v.is_object() || js_sys::Array::is_array(v) || v.dyn_ref::<js_sys::Function>().is_some() {
        return None;
    }
    let proto = Object::get_prototype_of(v);
    if !(proto.is_null() || proto == Object::get_prototype_of(&Object::new())) {
        return None;
    }
    let obj: &Object = v.unchecked_ref();
    Some(
        Object::keys(obj)
            .iter()
            .filter_map(|k| {
                // Read with the key as JS gave it: no conversion back.
                let value = Reflect::get(v, &k).unwrap_or(JsValue::UNDEFINED);
                Some((k.as_string()?, value))
            })
            .collect(),
    )
}

/// A JS function, if `value` is one.
pub fn as_function(value: &JsValue) -> Option<js_sys::Function> {
    value.dyn_ref::<js_sys::Function>().cloned()
}
