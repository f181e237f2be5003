//! The JS surface of auth sessions: `openAuthSession` and the
//! `AuthSession` class. Thin: reads options and arguments, calls the auth
//! engine (`crate::auth`), maps errors to JS `Error`s with a `code`.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::auth::{self, FetchError, Hooks};
use crate::core::auth::options::{check_attempts, check_header_name, AuthOptions};
use crate::core::error::{Error, Result};
use crate::core::options::check_name;
use crate::platform::args::{self, invalid};
use crate::platform::js;

fn to_js(e: Error) -> JsValue {
    js::to_js_error(&e)
}

fn promise(fut: impl std::future::Future<Output = Result<JsValue>> + 'static) -> Promise {
    future_to_promise(async move { fut.await.map_err(to_js) })
}

/// Opens an auth session (see API.md, "Auth session").
#[wasm_bindgen(js_name = openAuthSession)]
pub fn open_auth_session(options: JsValue) -> Promise {
    promise(async move {
        let (opts, hooks) = parse_options(&options)?;
        let inner = auth::AuthSession::open(opts, hooks).await?;
        Ok(AuthSession { inner }.into())
    })
}

/// An open auth session.
#[wasm_bindgen]
pub struct AuthSession {
    inner: auth::AuthSession,
}

#[wasm_bindgen]
impl AuthSession {
    /// `anonymous`, `authenticating`, `authenticated`, `refreshing`,
    /// `expired` or `logged_out`.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        self.inner.state().as_str().into()
    }

    /// Stores the tokens of a new login and shares them with every tab.
    #[wasm_bindgen(js_name = signIn)]
    pub fn sign_in(&self, tokens: JsValue) -> Promise {
        let s = self.inner.clone();
        promise(async move {
            let tokens = auth::tokens_from_js("signIn()", &tokens)?;
            s.sign_in(tokens).await.map(|_| JsValue::UNDEFINED)
        })
    }

    /// Logs out every tab and removes the stored tokens.
    pub fn logout(&self) -> Promise {
        let s = self.inner.clone();
        promise(async move { s.logout().await.map(|_| JsValue::UNDEFINED) })
    }

    /// A valid access token (refreshed first if due), or null.
    pub fn token(&self) -> Promise {
        let s = self.inner.clone();
        promise(async move {
            let t = s.token().await?;
            Ok(t.map_or(JsValue::NULL, JsValue::from))
        })
    }

    /// `fetch` with the token header, refresh on 401, and retries.
    pub fn fetch(&self, input: JsValue, init: JsValue) -> Promise {
        let s = self.inner.clone();
        future_to_promise(async move {
            s.fetch(&input, &init).await.map_err(|e| match e {
                FetchError::Coded(e) => to_js(e),
                FetchError::Thrown(v) => v,
            })
        })
    }

    /// `{ score, expiresInMs, recentFailures, state }`.
    pub fn health(&self) -> JsValue {
        let h = self.inner.health();
        js::object([
            ("score", JsValue::from(h.score)),
            (
                "expiresInMs",
                js::opt_num(h.expires_in_ms.map(|n| n as f64)),
            ),
            ("recentFailures", JsValue::from(h.recent_failures)),
            ("state", h.state.as_str().into()),
        ])
    }

    /// Calls `fn(state, detail)` on every change; returns an unsubscribe
    /// function.
    pub fn subscribe(&self, f: JsValue) -> std::result::Result<JsValue, JsValue> {
        let f = js::as_function(&f).ok_or_else(|| {
            to_js(invalid(
                "subscribe() takes a function (state, detail) => void",
            ))
        })?;
        let id = self.inner.subscribe(f).map_err(to_js)?;
        let weak = self.inner.downgrade();
        Ok(Closure::<dyn FnMut()>::new(move || {
            if let Some(s) = weak.upgrade() {
                s.unsubscribe(id);
            }
        })
        .into_js_value())
    }

    /// Stops timers and listeners (the stored tokens stay).
    pub fn close(&self) -> Promise {
        self.inner.close();
        Promise::resolve(&JsValue::UNDEFINED)
    }
}

// ----- options -----

const MAX_MS: f64 = 2_147_483_647.0;

/// `o[key]` as a whole number up to `max`; `label` names it in errors.
fn opt_whole(o: &JsValue, key: &str, label: &str, max: f64) -> Result<Option<u64>> {
    args::whole(o, key, label, max).map(|n| n.map(|n| n as u64))
}

/// Reads `AuthOptions`, applying defaults and rejecting bad values.
fn parse_options(o: &JsValue) -> Result<(AuthOptions, Hooks)> {
    if !o.is_object() {
        return Err(invalid(
            "openAuthSession() takes an options object with at least a refresh function, e.g. openAuthSession({ refresh: async (tokens) => newTokens })",
        ));
    }
    let refresh = js::as_function(&js::get(o, "refresh")).ok_or_else(|| {
        invalid("refresh must be a function (tokens) => Promise<{ accessToken, refreshToken?, expiresAt }> that asks your server for new tokens")
    })?;
    let validate =
        match js::get(o, "validate") {
            v if v.is_undefined() => None,
            v => Some(js::as_function(&v).ok_or_else(|| {
                invalid("validate must be a function (tokens) => Promise<boolean>")
            })?),
        };
    let mut opts = AuthOptions::default();
    if let Some(name) = args::string(o, "name")? {
        check_name(&name)?;
        opts.name = name;
    }
    if let Some(url) = args::string(o, "statusUrl")? {
        if url.is_empty() {
            return Err(invalid("statusUrl must be a non-empty URL"));
        }
        if validate.is_some() {
            return Err(invalid(
                "give statusUrl or validate, not both: validate replaces the statusUrl check",
            ));
        }
        opts.status_url = Some(url);
    }
    if let Some(n) = opt_whole(o, "refreshMargin", "refreshMargin (ms)", MAX_MS)? {
        opts.refresh_margin = n;
    }
    if let Some(h) = args::string(o, "headerName")? {
        check_header_name(&h)?;
        opts.header_name = h;
    }
    let retry = js::get(o, "retry");
    if !retry.is_undefined() {
        if !retry.is_object() {
            return Err(invalid(
                "retry must be { attempts?: number, baseDelay?: number, maxDelay?: number }",
            ));
        }
        if let Some(n) = opt_whole(&retry, "attempts", "retry.attempts", 1e9)? {
            opts.retry.attempts = check_attempts(n)?;
        }
        if let Some(n) = opt_whole(&retry, "baseDelay", "retry.baseDelay (ms)", MAX_MS)? {
            opts.retry.base_delay = n;
        }
        if let Some(n) = opt_whole(&retry, "maxDelay", "retry.maxDelay (ms)", MAX_MS)? {
            opts.retry.max_delay = n;
        }
    }
    Ok((opts, Hooks { refresh, validate }))
}
