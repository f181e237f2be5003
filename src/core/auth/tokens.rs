//! Tokens: the checks that turn bad input into an error a person can act
//! on, when a refresh is due, and what a tab does once it holds the
//! cross-tab refresh lock.

use crate::core::error::{Code, Error, Result};

/// One field as read from a JS object, before it is checked.
pub enum Field<T> {
    /// `undefined` or `null`.
    Missing,
    /// Present, but of the wrong type.
    Wrong,
    /// Present, of the right type.
    Value(T),
}

/// What the app gives to `signIn` and gets from `refresh`.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub struct Tokens {
    /// Sent in the header of every `auth.fetch`.
    pub access: String,
    /// Given to `refresh()`; `None` when the server issued none.
    pub refresh: Option<String>,
    /// When the access token expires, epoch ms.
    pub expires_at: u64,
}

/// Smallest `expiresAt` taken as milliseconds (March 1973): anything below
/// is almost surely seconds (a JWT's `exp`).
const MIN_EPOCH_MS: f64 = 1e11;

fn invalid(what: &str, problem: &str) -> Error {
    let mut m = String::from(what);
    m.push_str(": ");
    m.push_str(problem);
    Error::new(Code::InvalidArgument, m)
}

/// A token goes into an HTTP header: it must be non-empty and free of the
/// characters a header value cannot hold.
fn header_safe(s: &str) -> bool {
    !s.is_empty() && !s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

/// Checks tokens given by the app (`what` names where they came from, e.g.
/// `"signIn()"` or `"the result of refresh()"`).
pub fn check_tokens(
    what: &str,
    access: Field<String>,
    refresh: Field<String>,
    expires_at: Field<f64>,
) -> Result<Tokens> {
    let access = match access {
        Field::Value(s) if header_safe(&s) => s,
        Field::Value(s) if !s.is_empty() => {
            return Err(invalid(
                what,
                "accessToken contains a line break or NUL; it is sent as an HTTP header value, so it cannot",
            ))
        }
        _ => {
            return Err(invalid(
                what,
                "accessToken must be a non-empty string, e.g. { accessToken: \"…\", refreshToken: \"…\", expiresAt: Date.now() + 3600000 }",
            ))
        }
    };
    let refresh = match refresh {
        Field::Missing => None,
        Field::Value(s) if header_safe(&s) => Some(s),
        _ => return Err(invalid(
            what,
            "refreshToken must be a non-empty string when given (leave it out if there is none)",
        )),
    };
    let expires_at = match expires_at {
        Field::Value(n) if n.is_finite() && n >= MIN_EPOCH_MS => n as u64,
        Field::Value(n) if n.is_finite() && n > 0.0 => {
            return Err(invalid(
                what,
                "expiresAt looks like seconds since the epoch; give milliseconds (multiply by 1000)",
            ))
        }
        _ => {
            return Err(invalid(
                what,
                "expiresAt must be when the access token expires, in epoch milliseconds, e.g. Date.now() + 3600000",
            ))
        }
    };
    Ok(Tokens {
        access,
        refresh,
        expires_at,
    })
}

/// Tokens as stored and shared between tabs.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub struct Record {
    /// The tokens.
    pub tokens: Tokens,
    /// Id of the sign-in these tokens descend from: a new `signIn` starts a
    /// new one, so a late message about an older sign-in is told apart.
    pub sid: String,
    /// Refreshes since that sign-in. Refreshes happen under the cross-tab
    /// lock, so within one `sid` a larger `seq` is always newer.
    pub seq: u64,
    /// When these tokens were obtained (their lifetime starts), epoch ms.
    pub obtained_at: u64,
}

/// The margin actually used: `margin`, but never more than half of the
/// token's lifetime, so a short-lived token is not refreshed at once.
pub fn effective_margin(margin: u64, obtained_at: u64, expires_at: u64) -> u64 {
    margin.min(expires_at.saturating_sub(obtained_at) / 2)
}

impl Record {
    /// When a refresh is due, epoch ms.
    pub fn due_at(&self, margin: u64) -> u64 {
        let exp = self.tokens.expires_at;
        exp - effective_margin(margin, self.obtained_at, exp)
    }

    /// Whether the access token has expired at `now`.
    pub fn is_expired(&self, now: u64) -> bool {
        now >= self.tokens.expires_at
    }

    /// Whether it is time to refresh at `now`.
    pub fn is_due(&self, now: u64, margin: u64) -> bool {
        now >= self.due_at(margin)
    }

    /// Whether `other` is the same version of the tokens (same sign-in,
    /// same number of refreshes).
    pub fn same_version(&self, other: &Record) -> bool {
        self.sid == other.sid && self.seq == other.seq
    }
}

/// Whether a tab holding `held` needs new tokens at `now`: they are due, or
/// the server refused the access token `refused` (a 401) and these are
/// still those.
pub fn needs_refresh(held: &Record, refused: Option<&str>, now: u64, margin: u64) -> bool {
    refused == Some(held.tokens.access.as_str()) || held.is_due(now, margin)
}

/// What a tab does once it holds the cross-tab refresh lock, having read
/// the stored tokens again.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub enum LockedStep {
    /// Nothing is stored any more (logout or expiry in another tab).
    Gone,
    /// What is stored is good: another tab already refreshed (or this one
    /// was not due after all). Use it; do not call `refresh()`.
    Adopt,
    /// What is stored needs refreshing: call `refresh()` with it.
    Refresh,
}

/// Decides, inside the lock, from what storage holds now. `refused`: the
/// access token a server answered 401 to, if that is why we are here. The
/// refresh always starts from the stored tokens, never from the tab's
/// copy, so a refresh token that another tab already used is never sent.
pub fn locked_step(
    stored: Option<&Record>,
    refused: Option<&str>,
    now: u64,
    margin: u64,
) -> LockedStep {
    match stored {
        None => LockedStep::Gone,
        Some(s) if needs_refresh(s, refused, now, margin) => LockedStep::Refresh,
        Some(_) => LockedStep::Adopt,
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(access: &str, refresh: Option<&str>, exp: f64) -> Result<Tokens> {
        check_tokens(
            "signIn()",
            Field::Value(access.into()),
            refresh.map_or(Field::Missing, |r| Field::Value(r.into())),
            Field::Value(exp),
        )
    }

    fn record(access: &str, seq: u64, obtained_at: u64, expires_at: u64) -> Record {
        Record {
            tokens: Tokens {
                access: access.into(),
                refresh: Some("r".into()),
                expires_at,
            },
            sid: "s1".into(),
            seq,
            obtained_at,
        }
    }

    const T0: u64 = 1_700_000_000_000;

    #[test]
    fn good_tokens_pass() {
        let t = ok("a.b.c", Some("r1"), T0 as f64 + 0.5).unwrap();
        assert_eq!(t.access, "a.b.c");
        assert_eq!(t.refresh.as_deref(), Some("r1"));
        assert_eq!(t.expires_at, T0);
        assert_eq!(ok("a", None, T0 as f64).unwrap().refresh, None);
    }

    #[test]
    fn bad_tokens_say_what_to_do() {
        let msg = |r: Result<Tokens>| {
            let e = r.unwrap_err();
            assert_eq!(e.code, Code::InvalidArgument);
            e.message
        };
        assert!(msg(ok("", None, T0 as f64))
            .starts_with("signIn(): accessToken must be a non-empty string"));
        assert!(msg(ok("a\r\nX-Evil: 1", None, T0 as f64)).contains("line break"));
        assert!(
            msg(ok("a", Some(""), T0 as f64)).contains("refreshToken must be a non-empty string")
        );
        assert!(msg(ok("a", None, 1_700_000_000.0)).contains("multiply by 1000"));
        assert!(msg(ok("a", None, f64::NAN)).contains("epoch milliseconds"));
        assert!(msg(ok("a", None, -5.0)).contains("epoch milliseconds"));
        let wrong = check_tokens("x", Field::Wrong, Field::Missing, Field::Value(T0 as f64));
        assert!(msg(wrong).contains("accessToken"));
        let wrong = check_tokens(
            "x",
            Field::Value("a".into()),
            Field::Wrong,
            Field::Value(T0 as f64),
        );
        assert!(msg(wrong).contains("refreshToken"));
        let wrong = check_tokens(
            "x",
            Field::Value("a".into()),
            Field::Missing,
            Field::Missing,
        );
        assert!(msg(wrong).contains("expiresAt"));
    }

    #[test]
    fn margin_is_capped_at_half_the_lifetime() {
        // 5 min margin, 1 h token: due 5 min before expiry.
        assert_eq!(
            record("a", 0, T0, T0 + 3_600_000).due_at(300_000),
            T0 + 3_300_000
        );
        // 5 min margin, 3 s token: due half way.
        assert_eq!(record("a", 0, T0, T0 + 3_000).due_at(300_000), T0 + 1_500);
        // Obtained after it expired: due at once.
        assert_eq!(record("a", 0, T0 + 10, T0).due_at(300_000), T0);
    }

    #[test]
    fn inside_the_lock() {
        let stored = record("a2", 1, T0, T0 + 3_000); // due at T0 + 1500
        let s = Some(&stored);
        assert_eq!(locked_step(None, None, T0, 1000), LockedStep::Gone);
        // Another tab refreshed already: adopt, even when we came for a 401 on the old token.
        assert_eq!(locked_step(s, None, T0 + 100, 1000), LockedStep::Adopt);
        assert_eq!(
            locked_step(s, Some("a1"), T0 + 100, 1000),
            LockedStep::Adopt
        );
        // The stored token itself was refused, or is due: refresh it.
        assert_eq!(
            locked_step(s, Some("a2"), T0 + 100, 1000),
            LockedStep::Refresh
        );
        assert_eq!(locked_step(s, None, T0 + 2_000, 1000), LockedStep::Refresh);
    }

    proptest! {
        /// Due time is never before the token's half-life, never after its
        /// expiry, and exactly `margin` before expiry when that is shorter.
        #[test]
        fn due_time_bounds(obtained in 0u64..1u64 << 45, life in 0u64..1u64 << 36, margin in 0u64..1u64 << 36) {
            let r = record("a", 0, obtained, obtained + life);
            let due = r.due_at(margin);
            prop_assert!(due <= obtained + life);
            prop_assert!(due >= obtained + life / 2);
            if margin <= life / 2 {
                prop_assert_eq!(due, obtained + life - margin);
            }
        }

        /// A tab holding the lock refreshes only tokens that need it, and
        /// only the stored ones: tokens not due and not refused are adopted.
        #[test]
        fn refresh_only_when_needed(obtained in 0u64..1u64 << 40, life in 1u64..1u64 << 30, margin in 0u64..1u64 << 30, at in 0u64..1u64 << 31, refused_same in any::<bool>()) {
            let r = record("a", 3, obtained, obtained + life);
            let now = obtained + at;
            let refused = if refused_same { Some("a") } else { Some("other") };
            let step = locked_step(Some(&r), refused, now, margin);
            let want = if refused_same || now >= r.due_at(margin) { LockedStep::Refresh } else { LockedStep::Adopt };
            prop_assert_eq!(step, want);
        }
    }
}
