//! Retries: bounded exponential backoff with full jitter, and what
//! `auth.fetch` does after each response.

/// The `retry` option, defaults applied.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub struct Retry {
    /// Tries in all (the first one included). At least 1.
    pub attempts: u32,
    /// Cap of the first wait, ms; doubles with each retry.
    pub base_delay: u64,
    /// Largest cap of any wait, ms.
    pub max_delay: u64,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 5,
            base_delay: 250,
            max_delay: 10_000,
        }
    }
}

impl Retry {
    /// The wait before retry number `retry` (1 for the first retry), given
    /// 64 random bits: uniform in `[0, min(max_delay, base_delay × 2^(retry-1))]`
    /// ("full jitter": tabs and clients that failed together spread out
    /// instead of retrying in step).
    pub fn backoff(&self, retry: u32, random: u64) -> u64 {
        let exp = retry.saturating_sub(1).min(40);
        // base × 2^exp, saturating (a shift: `saturating_mul` links a
        // 128-bit multiply on wasm32).
        let doubled = if exp >= self.base_delay.leading_zeros() {
            u64::MAX
        } else {
            self.base_delay << exp
        };
        random % doubled.min(self.max_delay).saturating_add(1)
    }
}

/// How one try of a request ended.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub enum Outcome {
    /// A response to hand back: 2xx, 3xx, or a 4xx other than 401.
    Done,
    /// 401: the access token was refused.
    Unauthorized,
    /// A network error or a 5xx: worth trying again.
    Transient,
}

/// Classifies an HTTP status; 0 stands for a network error (no response).
pub fn classify(status: u16) -> Outcome {
    match status {
        0 | 500..=599 => Outcome::Transient,
        401 => Outcome::Unauthorized,
        _ => Outcome::Done,
    }
}

/// What `auth.fetch` does next.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub enum Next {
    /// Hand back this response.
    Return,
    /// Refresh the tokens, then send again (once per call).
    RefreshThenRetry,
    /// Wait for the backoff of this retry number, then send again.
    RetryAfter(u32),
    /// Out of tries: hand back this response, or reject with this error.
    GiveUp,
}

/// The step after a try that ended with `outcome`. `sent`: tries so far,
/// this one included; `refreshed`: a 401 already led to a refresh in this
/// call. The retry after a 401 is one try more than `attempts`.
pub fn next_step(outcome: Outcome, sent: u32, attempts: u32, refreshed: bool) -> Next {
    let budget = attempts.max(1) + refreshed as u32;
    match outcome {
        Outcome::Done => Next::Return,
        Outcome::Unauthorized if refreshed => Next::Return,
        Outcome::Unauthorized => Next::RefreshThenRetry,
        Outcome::Transient if sent < budget => Next::RetryAfter(sent),
        Outcome::Transient => Next::GiveUp,
    }
}

/// Whether a `refresh()` rejection is final: the error's `status` says the
/// server refused the refresh token (400, 401, 403). Anything else
/// (network errors, 5xx, no status at all) is transient.
pub fn is_final_refresh_error(status: Option<f64>) -> bool {
    matches!(status, Some(s) if s == 400.0 || s == 401.0 || s == 403.0)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        assert_eq!(
            Retry::default(),
            Retry {
                attempts: 5,
                base_delay: 250,
                max_delay: 10_000
            }
        );
    }

    #[test]
    fn statuses() {
        assert_eq!(classify(0), Outcome::Transient);
        assert_eq!(classify(503), Outcome::Transient);
        assert_eq!(classify(599), Outcome::Transient);
        assert_eq!(classify(401), Outcome::Unauthorized);
        for s in [200, 204, 304, 400, 403, 404, 409, 429, 600] {
            assert_eq!(classify(s), Outcome::Done, "{s}");
        }
        assert!(is_final_refresh_error(Some(401.0)));
        assert!(is_final_refresh_error(Some(400.0)));
        assert!(is_final_refresh_error(Some(403.0)));
        assert!(!is_final_refresh_error(Some(500.0)));
        assert!(!is_final_refresh_error(Some(404.0)));
        assert!(!is_final_refresh_error(None));
    }

    #[test]
    fn a_401_refreshes_once_and_retries_once() {
        assert_eq!(
            next_step(Outcome::Unauthorized, 1, 5, false),
            Next::RefreshThenRetry
        );
        assert_eq!(next_step(Outcome::Unauthorized, 2, 5, true), Next::Return);
        // The retry after the refresh does not eat the transient budget.
        assert_eq!(
            next_step(Outcome::Transient, 5, 5, true),
            Next::RetryAfter(5)
        );
        assert_eq!(next_step(Outcome::Transient, 6, 5, true), Next::GiveUp);
    }

    #[test]
    fn transient_failures_use_exactly_the_attempts() {
        for attempts in 1..8 {
            let mut sent = 0;
            loop {
                sent += 1;
                match next_step(Outcome::Transient, sent, attempts, false) {
                    Next::RetryAfter(n) => assert_eq!(n, sent),
                    Next::GiveUp => break,
                    other => panic!("{other:?}"),
                }
            }
            assert_eq!(sent, attempts);
        }
    }

    #[test]
    fn backoff_caps_double_until_the_maximum() {
        let r = Retry::default();
        // With random = cap, the delay is the cap itself.
        let cap_of = |n: u32| (250u64 << (n - 1)).min(10_000);
        for n in 1..=8 {
            assert_eq!(r.backoff(n, cap_of(n)), cap_of(n));
            assert_eq!(r.backoff(n, cap_of(n) + 1), 0);
        }
    }

    proptest! {
        /// Every delay lies in [0, min(maxDelay, baseDelay × 2^(n-1))], for
        /// any policy, retry number and random input.
        #[test]
        fn backoff_is_bounded(base in 0u64..1u64 << 40, max in 0u64..1u64 << 40, n in 0u32..200, random in any::<u64>()) {
            let r = Retry { attempts: 5, base_delay: base, max_delay: max };
            let d = r.backoff(n, random);
            prop_assert!(d <= max);
            let exp = n.saturating_sub(1).min(40);
            prop_assert!(u128::from(d) <= u128::from(base) << exp);
        }

        /// The cap is exactly min(maxDelay, baseDelay × 2^(n-1)) (computed
        /// here without overflow, in 128 bits).
        #[test]
        fn backoff_cap_is_exact(base in any::<u64>(), max in 0..u64::MAX, n in 1u32..60) {
            let r = Retry { attempts: 5, base_delay: base, max_delay: max };
            let exp = (n - 1).min(40);
            let cap = (u128::from(base) << exp).min(u128::from(max)) as u64;
            // random = cap: the delay is the cap itself.
            prop_assert_eq!(r.backoff(n, cap), cap);
        }

        /// Full jitter: every delay from 0 to the cap is reachable.
        #[test]
        fn backoff_covers_the_whole_range(base in 1u64..10_000, n in 1u32..10, pick in any::<u64>()) {
            let r = Retry { attempts: 5, base_delay: base, max_delay: 60_000 };
            let cap = (base << (n - 1)).min(60_000);
            let want = pick % (cap + 1);
            prop_assert_eq!(r.backoff(n, want), want);
        }

        /// However requests fail, a call sends at most attempts + 1 requests.
        #[test]
        fn a_call_is_bounded(attempts in 1u32..20, outcomes in proptest::collection::vec(0u8..3, 1..60)) {
            let (mut sent, mut refreshed) = (0u32, false);
            for o in outcomes {
                sent += 1;
                let outcome = [Outcome::Done, Outcome::Unauthorized, Outcome::Transient][o as usize];
                match next_step(outcome, sent, attempts, refreshed) {
                    Next::Return | Next::GiveUp => break,
                    Next::RefreshThenRetry => refreshed = true,
                    Next::RetryAfter(_) => {}
                }
            }
            prop_assert!(sent <= attempts + 1);
        }
    }
}
