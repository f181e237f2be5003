//! `auth.fetch` and `auth.token`: a valid token first (refreshed if due),
//! the header on every try, a refresh and one more try after a 401, and
//! bounded retries with backoff for network errors and 5xx.

use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsValue;

use super::AuthSession;
use crate::core::auth::retry::{classify, next_step, Next, Outcome};
use crate::core::auth::tokens::Record;
use crate::core::error::{Code, Error, Result};
use crate::platform::{env, http};

/// Why `auth.fetch` failed.
pub enum FetchError {
    /// Ours, with a code (`NOT_AUTHENTICATED`, `CLOSED`).
    Coded(Error),
    /// What `fetch` (or `new Request`) threw: passed on as it is.
    Thrown(JsValue),
}

fn not_authenticated() -> Error {
    Error::new(
        Code::NotAuthenticated,
        "no valid access token: sign in first (auth.signIn), or the session expired, was logged out, or cannot refresh right now (auth.state and auth.health() say which)",
    )
}

impl AuthSession {
    /// Tokens whose access token may be sent now: refreshed first if due;
    /// never expired ones.
    async fn valid_token(&self) -> Option<Record> {
        let held = self.held()?;
        let r = if held.is_due(env::now(), self.inner.opts.refresh_margin) {
            self.ensure_fresh(None).await?
        } else {
            held
        };
        (!r.is_expired(env::now())).then_some(r)
    }

    /// A valid access token (refreshed first if due), or `None`.
    pub async fn token(&self) -> Result<Option<String>> {
        self.check_open()?;
        Ok(self.valid_token().await.map(|r| r.tokens.access))
    }

    /// `fetch(input, init)` with the token header, retries and refresh.
    pub async fn fetch(
        &self,
        input: &JsValue,
        init: &JsValue,
    ) -> std::result::Result<JsValue, FetchError> {
        self.check_open().map_err(FetchError::Coded)?;
        let request = http::Request::new(input, init).map_err(FetchError::Thrown)?;
        let retry = self.inner.opts.retry;
        let header = self.inner.opts.header_name.as_str();
        let (mut sent, mut refreshed) = (0u32, false);
        loop {
            // Every try asks again: a backoff may outlast the token.
            let Some(tokens) = self.valid_token().await else {
                return Err(FetchError::Coded(not_authenticated()));
            };
            let access = tokens.tokens.access;
            let r = http::send(&request, header, &access).await;
            sent += 1;
            if r.aborted {
                return Err(FetchError::Thrown(r.value));
            }
            let outcome = classify(r.status);
            if outcome == Outcome::Transient {
                self.record_failure();
            }
            match next_step(outcome, sent, retry.attempts, refreshed) {
                Next::RefreshThenRetry => {
                    refreshed = true;
                    let renewed = self.ensure_fresh(Some(access.clone())).await;
                    if !renewed.is_some_and(|n| n.tokens.access != access) {
                        return Ok(r.value); // no new token: the 401 stands
                    }
                }
                Next::RetryAfter(n) => {
                    TimeoutFuture::new(retry.backoff(n, env::random()).min(2_147_483_647) as u32)
                        .await;
                }
                Next::Return | Next::GiveUp if r.status == 0 => {
                    return Err(FetchError::Thrown(r.value))
                }
                Next::Return | Next::GiveUp => return Ok(r.value),
            }
        }
    }
}
