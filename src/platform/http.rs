//! HTTP for the auth session: one try of a request with the token header
//! (see `http.js`). Retries and their policy are the engine's.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::js;

#[wasm_bindgen(module = "/src/platform/http.js")]
extern "C" {
    #[wasm_bindgen(js_name = prepareRequest, catch)]
    fn prepare_request(input: &JsValue, init: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = statusRequest, catch)]
    fn status_request(url: &str) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = sendWithToken)]
    fn send_with_token(request: &JsValue, name: &str, token: &str) -> Promise;
}

/// A request ready to be sent (and copied for each try).
pub struct Request(JsValue);

impl Request {
    /// `new Request(input, init)`; the error `fetch` itself would throw.
    pub fn new(input: &JsValue, init: &JsValue) -> Result<Request, JsValue> {
        prepare_request(input, init).map(Request)
    }

    /// An uncached `GET url`.
    pub fn get(url: &str) -> Result<Request, JsValue> {
        status_request(url).map(Request)
    }
}

/// How one try ended.
pub struct Sent {
    /// The HTTP status; 0 when there is no response.
    pub status: u16,
    /// The `Response`, or the error when there is none.
    pub value: JsValue,
    /// The app aborted the request (its `AbortSignal`).
    pub aborted: bool,
}

/// Sends one copy of `request` with `header: token`.
pub async fn send(request: &Request, header: &str, token: &str) -> Sent {
    // sendWithToken never rejects.
    let r = JsFuture::from(send_with_token(&request.0, header, token))
        .await
        .unwrap_or(JsValue::UNDEFINED);
    let status = js::get(&r, "status").as_f64().unwrap_or(0.0) as u16;
    Sent {
        status,
        value: js::get(&r, if status == 0 { "error" } else { "response" }),
        aborted: js::get(&r, "aborted").is_truthy(),
    }
}
