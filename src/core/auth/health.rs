//! `auth.health()`: recent failures and the score, a pure function of the
//! state, the time left on the access token and the recent failures.

use super::state::AuthState;

/// Failures count as recent for this long, ms.
pub const RECENT_MS: u64 = 60_000;
/// At most this many failure times are kept (so `recentFailures` is at most
/// this).
pub const MAX_KEPT: usize = 32;

/// Times of recent failures (network errors and 5xx in `auth.fetch`,
/// transient `refresh()` failures, a token check that got no answer).
#[derive(Clone, Default)]
pub struct Failures {
    at: Vec<u64>,
}

impl Failures {
    /// Records a failure at `now`, forgetting the oldest beyond [`MAX_KEPT`].
    pub fn record(&mut self, now: u64) {
        if self.at.len() == MAX_KEPT {
            self.at.remove(0);
        }
        self.at.push(now);
    }

    /// How many failures happened in the [`RECENT_MS`] before `now`.
    pub fn recent(&self, now: u64) -> u32 {
        self.at
            .iter()
            .filter(|&&t| now.saturating_sub(t) < RECENT_MS)
            .count() as u32
    }
}

/// Points taken off per recent failure.
pub const FAILURE_PENALTY: u32 = 10;
/// Most points failures can take off.
pub const MAX_FAILURE_PENALTY: u32 = 50;
/// Highest score while the access token has expired.
pub const EXPIRED_TOKEN_CAP: u32 = 25;

/// The health score, 0 to 100:
///
/// 1. by state: authenticated 100, refreshing 70, authenticating 50, and 0
///    for anonymous, expired and logged_out (no session to be healthy);
/// 2. holding an access token that has expired (`expires_in_ms <= 0`, e.g.
///    refreshes failing while the server is down): at most 25;
/// 3. minus 10 per failure in the last minute, at most 50 off; never below 0.
pub fn score(state: AuthState, expires_in_ms: Option<i64>, recent_failures: u32) -> u8 {
    let mut base: u32 = match state {
        AuthState::Authenticated => 100,
        AuthState::Refreshing => 70,
        AuthState::Authenticating => 50,
        AuthState::Anonymous | AuthState::Expired | AuthState::LoggedOut => return 0,
    };
    if matches!(expires_in_ms, Some(ms) if ms <= 0) {
        base = base.min(EXPIRED_TOKEN_CAP);
    }
    let penalty = recent_failures
        .saturating_mul(FAILURE_PENALTY)
        .min(MAX_FAILURE_PENALTY);
    base.saturating_sub(penalty) as u8
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::core::auth::state::ALL_STATES;
    use proptest::prelude::*;

    #[test]
    fn documented_values() {
        assert_eq!(score(AuthState::Authenticated, Some(60_000), 0), 100);
        assert_eq!(score(AuthState::Authenticated, Some(60_000), 2), 80);
        assert_eq!(score(AuthState::Authenticated, Some(60_000), 9), 50);
        assert_eq!(score(AuthState::Refreshing, Some(1_000), 0), 70);
        assert_eq!(score(AuthState::Refreshing, Some(-1), 1), 15);
        assert_eq!(score(AuthState::Refreshing, Some(0), 5), 0);
        assert_eq!(score(AuthState::Authenticating, None, 0), 50);
        assert_eq!(score(AuthState::LoggedOut, None, 0), 0);
        assert_eq!(score(AuthState::Anonymous, None, 0), 0);
        assert_eq!(score(AuthState::Expired, None, 0), 0);
    }

    #[test]
    fn failures_are_recent_for_a_minute_and_bounded() {
        let mut f = Failures::default();
        f.record(1_000);
        f.record(30_000);
        assert_eq!(f.recent(30_000), 2);
        assert_eq!(f.recent(61_000), 1);
        assert_eq!(f.recent(90_000), 0);
        for t in 0..100 {
            f.record(100_000 + t);
        }
        assert_eq!(f.recent(100_100), MAX_KEPT as u32);
    }

    proptest! {
        /// The score is 0 to 100, 0 without tokens, and never goes up with
        /// more failures or with the token expiring.
        #[test]
        fn score_bounds_and_monotonicity(i in 0usize..6, left in any::<i64>(), n in 0u32..1000) {
            let s = ALL_STATES[i];
            let v = score(s, Some(left), n);
            prop_assert!(v <= 100);
            if !s.has_tokens() {
                prop_assert_eq!(v, 0);
            }
            prop_assert!(score(s, Some(left), n + 1) <= v);
            prop_assert!(score(s, Some(0), n) <= v);
        }
    }
}
