//! The auth session engine (`openAuthSession`): keeps one login alive for
//! every tab of the origin. The rules are the pure core's
//! (`core::auth`); this ties them to storage, the cross-tab channel and
//! lock, timers and `fetch`.
//!
//! As in the session engine, no `RefCell` borrow is held while app code
//! runs (subscribers, `refresh`, `validate`) or across an `await`.
//!
//! - `store`: the tokens record in storage;
//! - `refresh`: refresh rounds under the cross-tab lock, the refresh timer;
//! - `fetch`: `auth.fetch` and `auth.token`;
//! - `sync`: messages between tabs.

mod fetch;
mod refresh;
mod store;
mod sync;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use crate::core::auth::health::{self, Failures};
use crate::core::auth::options::AuthOptions;
use crate::core::auth::state::{next, AuthEvent, AuthState};
use crate::core::auth::tokens::{Record, Tokens};
use crate::core::error::{Code, Error, Result};
use crate::core::options::StorageChoice;
use crate::platform::channel::Channel;
use crate::platform::lock::Lock;
use crate::platform::storage::{self, Storage};
use crate::platform::value::report_later;
use crate::platform::{env, http, js};

pub use fetch::FetchError;
pub use store::tokens_from_js;

/// The app's functions from the options.
pub struct Hooks {
    /// `refresh(tokens)`: resolves to new tokens.
    pub refresh: Function,
    /// `validate(tokens)`: resolves to whether stored tokens are still good.
    pub validate: Option<Function>,
}

/// What `health()` reports.
pub struct Health {
    /// 0 to 100 (`core::auth::health::score`).
    pub score: u8,
    /// Time left on the access token, ms (negative once expired).
    pub expires_in_ms: Option<i64>,
    /// Failures in the last minute.
    pub recent_failures: u32,
    /// The current state.
    pub state: AuthState,
}

/// How the held tokens change with a transition.
enum Held {
    Keep,
    Set(Record),
    Clear,
}

struct State {
    state: AuthState,
    held: Option<Record>,
    /// Bumped by `signIn`, `logout`, `close` and tokens cleared by another
    /// tab: a refresh started before must not apply its result.
    epoch: u32,
    /// After a failed refresh round, no new round (but a forced one, after
    /// a 401) starts before this time.
    retry_at: Option<u64>,
    failures: Failures,
    subscribers: Vec<(u32, Function)>,
    next_id: u32,
    timer: Option<Timeout>,
    channel: Option<Channel>,
    /// Sign-ins that ended (logout, expiry) here or in another tab: a late
    /// message about them is ignored.
    ended: Vec<String>,
    closed: bool,
}

struct Inner {
    st: RefCell<State>,
    /// One refresh round at a time in this tab; the cross-tab lock is taken
    /// inside it, once per try.
    round: Lock,
    hooks: Hooks,
    opts: AuthOptions,
    storage: Rc<dyn Storage>,
    /// This session's id, for the fallback lock's lease.
    me: String,
}

/// An open auth session. Cheap to clone: clones share it.
#[derive(Clone)]
pub struct AuthSession {
    inner: Rc<Inner>,
}

/// A handle that does not keep the session alive (for JS closures).
pub struct WeakAuth(Weak<Inner>);

impl WeakAuth {
    /// The session, if still alive.
    pub fn upgrade(&self) -> Option<AuthSession> {
        self.0.upgrade().map(|inner| AuthSession { inner })
    }
}

fn closed_error() -> Error {
    Error::new(
        Code::Closed,
        "the auth session was closed; open a new one with openAuthSession()",
    )
}

/// How a check of stored tokens came out.
enum Checked {
    Valid,
    Invalid,
    /// No answer (network error, 5xx, `validate` threw): keep the tokens.
    Unknown(String),
}

/// Calls `f(arg)` and waits for its result if it is a promise; a throw and
/// a rejection both come back as `Err`.
async fn call_app(f: &Function, arg: &JsValue) -> std::result::Result<JsValue, JsValue> {
    let v = f.call1(&JsValue::UNDEFINED, arg)?;
    JsFuture::from(Promise::resolve(&v)).await
}

impl AuthSession {
    /// Opens the auth session `opts.name`: its storage, the channel to the
    /// other tabs, then the stored tokens, checked (or refreshed once if
    /// already expired).
    pub async fn open(opts: AuthOptions, hooks: Hooks) -> Result<AuthSession> {
        let scope = ["auth:", opts.name.as_str()].concat();
        let (storage, _degraded) = storage::open(&scope, StorageChoice::Auto).await;
        let session = AuthSession {
            inner: Rc::new(Inner {
                st: RefCell::new(State {
                    state: AuthState::Anonymous,
                    held: None,
                    epoch: 0,
                    retry_at: None,
                    failures: Failures::default(),
                    subscribers: Vec::new(),
                    next_id: 1,
                    timer: None,
                    channel: None,
                    ended: Vec::new(),
                    closed: false,
                }),
                round: Lock::default(),
                hooks,
                opts,
                storage,
                me: env::random_id("a"),
            }),
        };
        // Listen first, so nothing another tab does meanwhile is missed.
        session.join_channel(&scope);
        session.load().await;
        Ok(session)
    }

    fn st(&self) -> std::cell::Ref<'_, State> {
        self.inner.st.borrow()
    }

    fn st_mut(&self) -> std::cell::RefMut<'_, State> {
        self.inner.st.borrow_mut()
    }

    /// A handle that does not keep the session alive.
    pub fn downgrade(&self) -> WeakAuth {
        WeakAuth(Rc::downgrade(&self.inner))
    }

    fn check_open(&self) -> Result<()> {
        if self.st().closed {
            return Err(closed_error());
        }
        Ok(())
    }

    fn epoch(&self) -> u32 {
        self.st().epoch
    }

    /// Whether what was started at `epoch` is void (logout, sign-in, close).
    fn ended_since(&self, epoch: u32) -> bool {
        let st = self.st();
        st.closed || st.epoch != epoch
    }

    fn held(&self) -> Option<Record> {
        self.st().held.clone()
    }

    fn record_failure(&self) {
        self.st_mut().failures.record(env::now());
    }

    /// Remembers that the sign-in `sid` ended, keeping the last few.
    fn end_sign_in(st: &mut State, sid: &str) {
        if sid.is_empty() || st.ended.iter().any(|s| s == sid) {
            return;
        }
        if st.ended.len() == 8 {
            st.ended.remove(0);
        }
        st.ended.push(sid.into());
    }

    /// The current state.
    pub fn state(&self) -> AuthState {
        self.st().state
    }

    /// Applies `event` (and the change of tokens), re-arms the refresh
    /// timer, and tells subscribers if the state or the tokens changed.
    fn transition(
        &self,
        event: AuthEvent,
        held: Held,
        reason: &str,
        remote: bool,
        error: Option<&str>,
    ) {
        let (from, to, subscribers, expires_at) = {
            let mut st = self.st_mut();
            let from = st.state;
            let to = next(from, event);
            let mut tokens_changed = match held {
                Held::Keep => false,
                Held::Set(r) => {
                    let same = st.held.as_ref().is_some_and(|h| h.same_version(&r));
                    st.held = Some(r);
                    if !same {
                        // New tokens: a failed round of the old ones is moot.
                        st.retry_at = None;
                    }
                    !same
                }
                Held::Clear => st.held.take().is_some(),
            };
            if !to.has_tokens() && st.held.take().is_some() {
                tokens_changed = true;
            }
            st.state = to;
            let subscribers: Vec<Function> = if from == to && !tokens_changed {
                Vec::new()
            } else {
                st.subscribers.iter().map(|(_, f)| f.clone()).collect()
            };
            let expires_at = st.held.as_ref().map(|h| h.tokens.expires_at as f64);
            (from, to, subscribers, expires_at)
        };
        // Also when nothing changed: a failed round moved `retry_at`.
        self.arm_timer();
        if subscribers.is_empty() {
            return;
        }
        let detail = js::object([
            ("from", from.as_str().into()),
            ("reason", reason.into()),
            ("source", if remote { "tab" } else { "local" }.into()),
            ("expiresAt", js::opt_num(expires_at)),
        ]);
        if let Some(e) = error {
            let _ = js_sys::Reflect::set(&detail, &"error".into(), &e.into());
        }
        let state: JsValue = to.as_str().into();
        for f in subscribers {
            if let Err(e) = f.call2(&JsValue::UNDEFINED, &state, &detail) {
                report_later(&e);
            }
        }
    }

    /// Reads the stored tokens and settles the opening state: checked and
    /// accepted, rejected and cleared, or (already expired) refreshed once.
    async fn load(&self) {
        let stored = match store::read(&self.inner.storage).await {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(_) => {
                self.record_failure();
                return;
            }
        };
        self.transition(
            AuthEvent::Check,
            Held::Set(stored.clone()),
            "check",
            false,
            None,
        );
        if stored.is_expired(env::now()) {
            if stored.tokens.refresh.is_some() {
                self.ensure_fresh(None).await;
            } else {
                self.drop_stored(&stored, AuthEvent::Reject, "expired", None)
                    .await;
            }
            return;
        }
        match self.check(&stored).await {
            Checked::Valid => self.transition(AuthEvent::Accept, Held::Keep, "check", false, None),
            Checked::Invalid => {
                self.drop_stored(&stored, AuthEvent::Reject, "invalid", None)
                    .await
            }
            Checked::Unknown(why) => {
                // No answer is not a "no": keep the session; a 401 later
                // will refresh it.
                self.record_failure();
                self.transition(AuthEvent::Accept, Held::Keep, "check", false, Some(&why));
            }
        }
    }

    /// Asks `validate(tokens)`, or `GET statusUrl` with the header, whether
    /// stored tokens are still good. Without either they are trusted.
    async fn check(&self, r: &Record) -> Checked {
        let opts = &self.inner.opts;
        if let Some(validate) = &self.inner.hooks.validate {
            return match call_app(validate, &store::tokens_to_js(&r.tokens)).await {
                Ok(v) => match v.as_bool() {
                    Some(true) => Checked::Valid,
                    Some(false) => Checked::Invalid,
                    None => Checked::Unknown("validate() must resolve to true or false".into()),
                },
                Err(e) => Checked::Unknown(js::message_of(&e)),
            };
        }
        let Some(url) = &opts.status_url else {
            return Checked::Valid;
        };
        let request = match http::Request::get(url) {
            Ok(r) => r,
            Err(e) => return Checked::Unknown(js::message_of(&e)),
        };
        let sent = http::send(&request, &opts.header_name, &r.tokens.access).await;
        match sent.status {
            200..=299 => Checked::Valid,
            401 | 403 => Checked::Invalid,
            0 => Checked::Unknown(js::message_of(&sent.value)),
            s => Checked::Unknown(["statusUrl answered ", &s.to_string()].concat()),
        }
    }

    /// Removes `stored` from storage (unless another tab replaced it
    /// meanwhile, whose tokens are then taken instead), applies `event`
    /// and tells the other tabs.
    async fn drop_stored(
        &self,
        stored: &Record,
        event: AuthEvent,
        reason: &str,
        error: Option<&str>,
    ) {
        match store::replace_if(&self.inner.storage, stored, None).await {
            Ok(false) => {
                self.follow_storage(false).await;
                if self
                    .st()
                    .held
                    .as_ref()
                    .is_some_and(|h| !h.same_version(stored))
                {
                    return;
                }
            }
            Ok(true) => {}
            Err(_) => self.record_failure(),
        }
        Self::end_sign_in(&mut self.st_mut(), &stored.sid);
        self.transition(event, Held::Clear, reason, false, error);
        self.post_cleared(reason, &stored.sid);
    }

    /// Stores new tokens from the app's sign-in (state `authenticating`
    /// while it writes) and shares them with every tab. Already expired
    /// tokens are refreshed at once (they need a refresh token).
    pub async fn sign_in(&self, tokens: Tokens) -> Result<()> {
        self.check_open()?;
        let now = env::now();
        if now >= tokens.expires_at && tokens.refresh.is_none() {
            return Err(Error::new(
                Code::InvalidArgument,
                "signIn(): expiresAt is in the past and there is no refreshToken to get a new access token; sign in with current tokens",
            ));
        }
        let r = Record {
            tokens,
            sid: env::random_id("s"),
            seq: 0,
            obtained_at: now,
        };
        let had_tokens = self.held().is_some();
        // A round still running for the previous tokens must not apply its result.
        self.st_mut().epoch += 1;
        self.transition(AuthEvent::Check, Held::Keep, "signIn", false, None);
        if let Err(e) = store::put(&self.inner.storage, &r).await {
            // Not stored: back to the tokens this tab had, if any.
            let event = if had_tokens {
                AuthEvent::Accept
            } else {
                AuthEvent::Reject
            };
            self.transition(event, Held::Keep, "signIn", false, Some(&e.message));
            return Err(e);
        }
        self.transition(
            AuthEvent::Accept,
            Held::Set(r.clone()),
            "signIn",
            false,
            None,
        );
        self.post_tokens(&r.sid);
        if r.is_expired(env::now()) {
            self.ensure_fresh(None).await;
        }
        Ok(())
    }

    /// Logs out this tab and every other one, and removes the stored tokens.
    pub async fn logout(&self) -> Result<()> {
        self.check_open()?;
        let sid = {
            let mut st = self.st_mut();
            st.epoch += 1;
            let sid = st.held.as_ref().map(|h| h.sid.clone()).unwrap_or_default();
            Self::end_sign_in(&mut st, &sid);
            sid
        };
        self.transition(AuthEvent::Logout, Held::Clear, "logout", false, None);
        let cleared = store::clear(&self.inner.storage).await;
        // After the write: a tab reading storage on this message finds it empty.
        self.post_cleared("logout", &sid);
        cleared
    }

    /// Calls `f(state, detail)` on every change of state or tokens;
    /// returns its id.
    pub fn subscribe(&self, f: Function) -> Result<u32> {
        self.check_open()?;
        let mut st = self.st_mut();
        let id = st.next_id;
        st.next_id += 1;
        st.subscribers.push((id, f));
        Ok(id)
    }

    /// Removes a subscriber.
    pub fn unsubscribe(&self, id: u32) {
        self.st_mut().subscribers.retain(|(i, _)| *i != id);
    }

    /// The health of this tab's session.
    pub fn health(&self) -> Health {
        let now = env::now();
        let st = self.st();
        let expires_in_ms = st
            .held
            .as_ref()
            .map(|h| h.tokens.expires_at as i64 - now as i64);
        let recent_failures = st.failures.recent(now);
        Health {
            score: health::score(st.state, expires_in_ms, recent_failures),
            expires_in_ms,
            recent_failures,
            state: st.state,
        }
    }

    /// Stops timers and the channel; the stored tokens stay. Later calls
    /// fail with `CLOSED`.
    pub fn close(&self) {
        let (timer, channel) = {
            let mut st = self.st_mut();
            st.closed = true;
            st.epoch += 1;
            st.subscribers.clear();
            (st.timer.take(), st.channel.take())
        };
        // Dropped outside the borrow: their destructors call into JS.
        drop(timer);
        drop(channel);
    }
}
