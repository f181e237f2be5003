//! Messages between the tabs of one auth session name, over the channel
//! `session-persist:auth:<name>` (BroadcastChannel, or `storage` events).
//! A message only says what happened; the tokens themselves are read from
//! storage, which is the one source of truth.
//!
//! - `{ kind: "tokens", sid }`: new tokens are stored (sign-in, refresh);
//! - `{ kind: "cleared", reason, sid }`: the sign-in `sid` ended
//!   (`reason`: `logout`, `expired`, `refresh-rejected`, `invalid`).

use wasm_bindgen::JsValue;

use super::{store, AuthSession, Held};
use crate::core::auth::state::AuthEvent;
use crate::platform::channel::Channel;
use crate::platform::js;

/// Version of these messages; others are ignored.
const PROTOCOL: f64 = 1.0;

impl AuthSession {
    pub(super) fn join_channel(&self, scope: &str) {
        let weak = self.downgrade();
        let channel = Channel::open(scope, move |msg| {
            if let Some(s) = weak.upgrade() {
                s.on_message(&msg);
            }
        });
        self.st_mut().channel = channel;
    }

    fn post(&self, kind: &str, reason: &str, sid: &str) {
        let msg = js::object([
            ("sp", "auth".into()),
            ("v", PROTOCOL.into()),
            ("kind", kind.into()),
            ("reason", reason.into()),
            ("sid", sid.into()),
        ]);
        if let Some(c) = &self.st().channel {
            c.post(&msg);
        }
    }

    /// Tells the other tabs that new tokens of sign-in `sid` are stored.
    pub(super) fn post_tokens(&self, sid: &str) {
        self.post("tokens", "", sid);
    }

    /// Tells the other tabs that sign-in `sid` ended, and why.
    pub(super) fn post_cleared(&self, reason: &str, sid: &str) {
        self.post("cleared", reason, sid);
    }

    fn on_message(&self, msg: &JsValue) {
        if self.st().closed
            || js::get(msg, "sp").as_string().as_deref() != Some("auth")
            || js::get(msg, "v").as_f64() != Some(PROTOCOL)
        {
            return;
        }
        let (Some(kind), Some(reason), Some(sid)) = (
            js::get(msg, "kind").as_string(),
            js::get(msg, "reason").as_string(),
            js::get(msg, "sid").as_string(),
        ) else {
            return;
        };
        match kind.as_str() {
            "tokens" => {
                let s = self.clone();
                wasm_bindgen_futures::spawn_local(async move { s.follow_storage(true).await });
            }
            "cleared" => self.cleared_elsewhere(&reason, &sid),
            _ => {}
        }
    }

    /// Takes the stored tokens if they are newer than this tab's: another
    /// sign-in, or a later refresh of the same one.
    pub(super) async fn follow_storage(&self, remote: bool) {
        let Ok(Some(r)) = store::read(&self.inner.storage).await else {
            return;
        };
        let newer = {
            let st = self.st();
            !st.closed
                && !st.ended.contains(&r.sid)
                && !st
                    .held
                    .as_ref()
                    .is_some_and(|h| h.sid == r.sid && h.seq >= r.seq)
        };
        if newer {
            self.adopt(r, remote);
        }
    }

    /// Another tab ended the sign-in `sid` (empty: whatever this tab holds).
    fn cleared_elsewhere(&self, reason: &str, sid: &str) {
        let event = match reason {
            "logout" => AuthEvent::Logout,
            "invalid" => AuthEvent::Reject,
            _ => AuthEvent::Expire,
        };
        {
            let mut st = self.st_mut();
            if !sid.is_empty() && st.held.as_ref().is_some_and(|h| h.sid != sid) {
                return; // about an older sign-in than ours
            }
            Self::end_sign_in(&mut st, sid);
            st.epoch += 1;
        }
        self.transition(event, Held::Clear, reason, true, None);
    }
}
