//! Tab presence (Web Locks): see `tabs.js`.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(module = "/src/platform/tabs.js")]
extern "C" {
    #[wasm_bindgen(js_name = claimTab)]
    fn claim_tab(name: &str, tab_id: &str) -> js_sys::Promise;
    #[wasm_bindgen(js_name = releaseTab)]
    fn release_tab_js(name: &str, tab_id: &str);
    #[wasm_bindgen(js_name = countOtherTabs)]
    fn count_other_tabs(name: &str, tab_id: &str) -> js_sys::Promise;
}

/// Holds this tab's presence for `name`. False if another live tab already
/// uses `tab_id` (a duplicated tab copies sessionStorage).
pub async fn claim(name: &str, tab_id: &str) -> bool {
    JsFuture::from(claim_tab(name, tab_id))
        .await
        .map(|v| v.as_bool() != Some(false))
        .unwrap_or(true)
}

/// Gives up this tab's presence for `name`.
pub fn release(name: &str, tab_id: &str) {
    release_tab_js(name, tab_id);
}

/// How many other tabs have `name` open; `None` when the browser cannot tell.
pub async fn others(name: &str, tab_id: &str) -> Option<u32> {
    let n = JsFuture::from(count_other_tabs(name, tab_id))
        .await
        .ok()?
        .as_f64()?;
    (n >= 0.0).then_some(n as u32)
}
