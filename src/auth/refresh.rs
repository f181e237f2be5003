//! Refresh rounds. One round at a time in a tab; each try of a round takes
//! the cross-tab lock, reads the stored tokens again and either adopts them
//! (another tab refreshed already) or calls the app's `refresh()` with the
//! stored refresh token and stores the result before letting go. So
//! exactly one tab refreshes, the others wait for its result, and no
//! refresh token is sent twice.

use gloo_timers::callback::Timeout;
use gloo_timers::future::TimeoutFuture;

use super::{call_app, store, AuthSession, Held};
use crate::core::auth::retry::{is_final_refresh_error, Retry};
use crate::core::auth::state::AuthEvent;
use crate::core::auth::state::AuthState::{Authenticated, Refreshing};
use crate::core::auth::tokens::{locked_step, needs_refresh, LockedStep, Record};
use crate::platform::{env, js, refresh_lock};

/// How one try ended.
enum Try {
    /// Settled: the tokens to use now, if any.
    Done(Option<Record>),
    /// `refresh()` failed in a way worth retrying (or storage could not be
    /// read): why.
    Transient(String),
}

/// The longest `setTimeout` delay; longer ones fire at once.
const MAX_TIMEOUT: u64 = 2_147_483_647;
/// After a failed round, the next one waits `maxDelay`, and at least this.
const MIN_ROUND_GAP: u64 = 1_000;

/// How long after a failed round the next one may start.
fn round_gap(retry: &Retry) -> u64 {
    retry.max_delay.max(retry.base_delay).max(MIN_ROUND_GAP)
}

impl AuthSession {
    /// Makes sure this tab holds tokens that are not due, or, with
    /// `refused`, tokens other than that access token (which a server
    /// answered 401 to). Returns the tokens to use now: new ones, or after
    /// a failed round the old ones (which may have expired); `None` when
    /// there are none.
    pub(super) async fn ensure_fresh(&self, refused: Option<String>) -> Option<Record> {
        let _round = self.inner.round.acquire().await;
        let epoch = self.epoch();
        let retry = self.inner.opts.retry;
        let margin = self.inner.opts.refresh_margin;
        let mut tries = 0;
        loop {
            let held = self.held()?;
            let now = env::now();
            // Done meanwhile (a round that ran while this one waited, or
            // another tab's tokens), or void (logout, close)?
            if self.ended_since(epoch) || !needs_refresh(&held, refused.as_deref(), now, margin) {
                return Some(held);
            }
            // A round just failed: the next one waits (unless a 401 forces it).
            if tries == 0 && refused.is_none() && self.st().retry_at.is_some_and(|t| now < t) {
                return Some(held);
            }
            tries += 1;
            match self.try_refresh(refused.as_deref(), epoch).await {
                Try::Done(r) => return r,
                Try::Transient(why) => {
                    self.record_failure();
                    if tries >= retry.attempts || self.ended_since(epoch) {
                        let now = env::now();
                        self.st_mut().retry_at = Some(now + round_gap(&retry));
                        let still_valid = !held.is_expired(now);
                        self.transition(
                            AuthEvent::RefreshFailed { still_valid },
                            Held::Keep,
                            "refresh-failed",
                            false,
                            Some(&why),
                        );
                        return self.held();
                    }
                    TimeoutFuture::new(retry.backoff(tries, env::random()).min(MAX_TIMEOUT) as u32)
                        .await;
                }
            }
        }
    }

    /// One try, under the cross-tab lock.
    async fn try_refresh(&self, refused: Option<&str>, epoch: u32) -> Try {
        let inner = &self.inner;
        let lock_name = ["session-persist:auth:", inner.opts.name.as_str()].concat();
        let guard = refresh_lock::acquire(&lock_name, &inner.storage, &inner.me).await;
        if self.ended_since(epoch) {
            return Try::Done(self.held());
        }
        // Read again inside the lock: the previous holder may have refreshed.
        let stored = match store::read(&inner.storage).await {
            Ok(s) => s,
            Err(e) => return Try::Transient(e.message),
        };
        let now = env::now();
        let s = match (
            locked_step(stored.as_ref(), refused, now, inner.opts.refresh_margin),
            stored,
        ) {
            (LockedStep::Refresh, Some(s)) => s,
            (LockedStep::Adopt, Some(s)) => {
                drop(guard);
                self.adopt(s.clone(), true);
                return Try::Done(Some(s));
            }
            _ => {
                drop(guard);
                // Another tab logged out, or its refresh was refused; its
                // message (which may come later) says which.
                self.transition(AuthEvent::Expire, Held::Clear, "cleared", true, None);
                return Try::Done(None);
            }
        };
        if s.tokens.refresh.is_none() {
            if !s.is_expired(now) {
                // Nothing to refresh with: use it until it expires.
                self.adopt(s.clone(), true);
                self.st_mut().retry_at = Some(s.tokens.expires_at);
                self.arm_timer();
                return Try::Done(Some(s));
            }
            self.drop_stored(&s, AuthEvent::Expire, "expired", None)
                .await;
            return Try::Done(None);
        }
        self.transition(AuthEvent::RefreshStart, Held::Keep, "refresh", false, None);
        let result = call_app(&inner.hooks.refresh, &store::tokens_to_js(&s.tokens)).await;
        if self.ended_since(epoch) {
            // Logged out (or closed) meanwhile: the new tokens are not wanted.
            return Try::Done(self.held());
        }
        let value = match result {
            Ok(v) => v,
            Err(e) if is_final_refresh_error(js::get(&e, "status").as_f64()) => {
                let why = js::message_of(&e);
                self.drop_stored(&s, AuthEvent::Expire, "refresh-rejected", Some(&why))
                    .await;
                return Try::Done(None);
            }
            Err(e) => return Try::Transient(js::message_of(&e)),
        };
        let mut tokens = match store::tokens_from_js("the result of refresh()", &value) {
            Ok(t) => t,
            Err(e) => {
                // The refresh token was probably spent: retrying would send
                // it again. Give up on this login.
                self.drop_stored(&s, AuthEvent::Expire, "refresh-rejected", Some(&e.message))
                    .await;
                return Try::Done(None);
            }
        };
        // A server that does not rotate refresh tokens returns none: keep ours.
        if tokens.refresh.is_none() {
            tokens.refresh = s.tokens.refresh.clone();
        }
        let r = Record {
            tokens,
            sid: s.sid.clone(),
            seq: s.seq + 1,
            obtained_at: env::now(),
        };
        match store::replace_if(&inner.storage, &s, Some(&r)).await {
            Ok(false) => {
                // Storage moved on (a logout, a new sign-in): follow it.
                drop(guard);
                self.follow_storage(false).await;
                Try::Done(self.held())
            }
            stored => {
                if stored.is_err() {
                    // Not stored: this tab still has good tokens.
                    self.record_failure();
                }
                drop(guard);
                self.transition(
                    AuthEvent::Accept,
                    Held::Set(r.clone()),
                    "refresh",
                    false,
                    None,
                );
                self.post_tokens(&r.sid);
                if r.is_expired(env::now()) {
                    // Expired on arrival (clocks apart?): keep the new refresh
                    // token, but do not refresh again at once, forever.
                    self.record_failure();
                    self.st_mut().retry_at = Some(env::now() + round_gap(&inner.opts.retry));
                    self.arm_timer();
                }
                Try::Done(Some(r))
            }
        }
    }

    /// Takes `r` (stored by this or another tab) as this tab's tokens.
    pub(super) fn adopt(&self, r: Record, remote: bool) {
        let reason = match self.st().held.as_ref() {
            Some(h) if h.sid == r.sid => "refresh",
            _ => "signIn",
        };
        self.transition(AuthEvent::Accept, Held::Set(r), reason, remote, None);
    }

    /// Arms the timer of the next refresh: when the tokens are due, or
    /// after a failed round when the next round may start.
    pub(super) fn arm_timer(&self) {
        let weak = self.downgrade();
        let old = {
            let mut st = self.st_mut();
            let old = st.timer.take();
            let at = match &st.held {
                // Not while authenticating: opening checks or refreshes first.
                Some(h) if !st.closed && matches!(st.state, Authenticated | Refreshing) => h
                    .due_at(self.inner.opts.refresh_margin)
                    .max(st.retry_at.unwrap_or(0)),
                _ => return drop((st, old)),
            };
            let delay = at.saturating_sub(env::now()).min(MAX_TIMEOUT) as u32;
            st.timer = Some(Timeout::new(delay, move || {
                if let Some(s) = weak.upgrade() {
                    wasm_bindgen_futures::spawn_local(async move {
                        s.ensure_fresh(None).await;
                        s.arm_timer();
                    });
                }
            }));
            old
        };
        drop(old);
    }
}
