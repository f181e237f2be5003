//! Reading the optional fields of an options object passed from JS, each
//! refused with `INVALID_ARGUMENT` and a message naming the field.

use wasm_bindgen::JsValue;

use crate::core::error::{Code, Error, Result};
use crate::core::options::whole_number;
use crate::platform::js;

/// An `INVALID_ARGUMENT` error.
pub fn invalid(message: impl Into<String>) -> Error {
    Error::new(Code::InvalidArgument, message)
}

/// `o[key]` as a string, if given.
pub fn string(o: &JsValue, key: &str) -> Result<Option<String>> {
    let v = js::get(o, key);
    if v.is_undefined() {
        return Ok(None);
    }
    v.as_string()
        .map(Some)
        .ok_or_else(|| invalid([key, " must be a string"].concat()))
}

/// `o[key]` as a boolean, if given.
pub fn boolean(o: &JsValue, key: &str) -> Result<Option<bool>> {
    let v = js::get(o, key);
    if v.is_undefined() {
        return Ok(None);
    }
    v.as_bool()
        .map(Some)
        .ok_or_else(|| invalid([key, " must be true or false"].concat()))
}

/// `o[key]` as a whole number from 0 to `max`, if given; `label` names it
/// in errors (e.g. `retry.maxDelay (ms)`).
pub fn whole(o: &JsValue, key: &str, label: &str, max: f64) -> Result<Option<f64>> {
    let v = js::get(o, key);
    if v.is_undefined() {
        return Ok(None);
    }
    let n = v
        .as_f64()
        .ok_or_else(|| invalid([label, " must be a number"].concat()))?;
    whole_number(label, n, max).map(Some)
}
