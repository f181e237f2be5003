//! The auth state machine: the next state as a pure function of the current
//! state and what happened. The engine applies every change of state (and
//! of tokens) through [`next`] and tells subscribers.

/// Where an auth session stands (`auth.state`).
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub enum AuthState {
    /// No tokens: never signed in here, or stored tokens were rejected.
    Anonymous,
    /// Tokens are being established: stored ones checked on open
    /// (`statusUrl` or `validate`), or new ones stored by `signIn`.
    Authenticating,
    /// Holding an access token that is not expired.
    Authenticated,
    /// Calling `refresh()`, or retrying it after transient failures while
    /// the access token has expired.
    Refreshing,
    /// The refresh token was refused, or the tokens expired with none:
    /// tokens cleared, sign in again.
    Expired,
    /// `logout()` ran in this tab or another one.
    LoggedOut,
}

/// Every state, for tests and tables.
pub const ALL_STATES: [AuthState; 6] = [
    AuthState::Anonymous,
    AuthState::Authenticating,
    AuthState::Authenticated,
    AuthState::Refreshing,
    AuthState::Expired,
    AuthState::LoggedOut,
];

impl AuthState {
    /// The string exposed to JS.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthState::Anonymous => "anonymous",
            AuthState::Authenticating => "authenticating",
            AuthState::Authenticated => "authenticated",
            AuthState::Refreshing => "refreshing",
            AuthState::Expired => "expired",
            AuthState::LoggedOut => "logged_out",
        }
    }

    /// Whether a session in this state holds tokens.
    pub fn has_tokens(self) -> bool {
        matches!(
            self,
            AuthState::Authenticating | AuthState::Authenticated | AuthState::Refreshing
        )
    }
}

/// What happened.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub enum AuthEvent {
    /// Tokens found in storage are about to be checked, or `signIn` is
    /// storing new ones.
    Check,
    /// Tokens were accepted: checked, signed in, refreshed, or adopted from
    /// another tab.
    Accept,
    /// This tab calls `refresh()`.
    RefreshStart,
    /// A refresh round failed transiently; `still_valid`: the access token
    /// has not expired, so it can still be used.
    RefreshFailed {
        /// The access token has not expired yet.
        still_valid: bool,
    },
    /// The stored tokens were found invalid (checked on open, or expired
    /// with no refresh token): cleared.
    Reject,
    /// The refresh token was refused, or the tokens disappeared while this
    /// tab held them: cleared.
    Expire,
    /// `logout()`, here or in another tab.
    Logout,
}

/// The state after `event` in `state`. Events that do not apply leave the
/// state as it is (e.g. a refresh failure reported to a tab that has
/// logged out meanwhile).
pub fn next(state: AuthState, event: AuthEvent) -> AuthState {
    use AuthEvent as E;
    use AuthState as S;
    match event {
        E::Check => S::Authenticating,
        E::Accept => S::Authenticated,
        E::Logout => S::LoggedOut,
        E::RefreshStart if state.has_tokens() => S::Refreshing,
        E::RefreshFailed { still_valid } if state == S::Refreshing => {
            if still_valid {
                S::Authenticated
            } else {
                S::Refreshing
            }
        }
        E::Reject if state.has_tokens() => S::Anonymous,
        E::Expire if state.has_tokens() => S::Expired,
        _ => state,
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use AuthEvent as E;
    use AuthState as S;

    fn any_state() -> impl Strategy<Value = AuthState> {
        (0..ALL_STATES.len()).prop_map(|i| ALL_STATES[i])
    }

    fn any_event() -> impl Strategy<Value = AuthEvent> {
        prop_oneof![
            Just(E::Check),
            Just(E::Accept),
            Just(E::RefreshStart),
            any::<bool>().prop_map(|still_valid| E::RefreshFailed { still_valid }),
            Just(E::Reject),
            Just(E::Expire),
            Just(E::Logout),
        ]
    }

    #[test]
    fn names_are_the_documented_strings() {
        let names: Vec<_> = ALL_STATES.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "anonymous",
                "authenticating",
                "authenticated",
                "refreshing",
                "expired",
                "logged_out"
            ]
        );
    }

    #[test]
    fn the_usual_paths() {
        // Open with stored tokens, checked and accepted, refreshed twice.
        let mut s = S::Anonymous;
        for (e, want) in [
            (E::Check, S::Authenticating),
            (E::Accept, S::Authenticated),
            (E::RefreshStart, S::Refreshing),
            (E::Accept, S::Authenticated),
            (E::RefreshStart, S::Refreshing),
            (E::RefreshFailed { still_valid: true }, S::Authenticated),
            (E::RefreshStart, S::Refreshing),
            (E::RefreshFailed { still_valid: false }, S::Refreshing),
            (E::Expire, S::Expired),
            (E::Accept, S::Authenticated),
            (E::Logout, S::LoggedOut),
        ] {
            s = next(s, e);
            assert_eq!(s, want, "after {e:?}");
        }
        assert_eq!(next(S::Authenticating, E::Reject), S::Anonymous);
    }

    #[test]
    fn a_tab_without_tokens_ignores_what_needs_them() {
        for s in [S::Anonymous, S::Expired, S::LoggedOut] {
            for e in [
                E::RefreshStart,
                E::RefreshFailed { still_valid: true },
                E::Reject,
                E::Expire,
            ] {
                assert_eq!(next(s, e), s, "{e:?} in {s:?}");
            }
        }
    }

    proptest! {
        #[test]
        fn logout_and_accept_apply_from_every_state(s in any_state()) {
            prop_assert_eq!(next(s, E::Logout), S::LoggedOut);
            prop_assert_eq!(next(s, E::Accept), S::Authenticated);
        }

        /// Tokens come only from Check or Accept: no other event turns a
        /// state without tokens into one with tokens.
        #[test]
        fn only_check_and_accept_bring_tokens(s in any_state(), e in any_event()) {
            let t = next(s, e);
            if !s.has_tokens() && t.has_tokens() {
                prop_assert!(matches!(e, E::Check | E::Accept));
            }
        }

        /// Refreshing is entered only by RefreshStart, from a state with tokens.
        #[test]
        fn refreshing_only_from_refresh_start(s in any_state(), e in any_event()) {
            if next(s, e) == S::Refreshing && s != S::Refreshing {
                prop_assert_eq!(e, E::RefreshStart);
                prop_assert!(s.has_tokens());
            }
        }

        /// Any sequence of events ends in one of the six states, and a
        /// Logout at any point leaves logged_out until tokens come back.
        #[test]
        fn logout_sticks_until_tokens_return(events in proptest::collection::vec(any_event(), 0..40)) {
            let mut s = S::LoggedOut;
            for e in events {
                let t = next(s, e);
                if s == S::LoggedOut && !matches!(e, E::Check | E::Accept) {
                    prop_assert_eq!(t, S::LoggedOut);
                }
                s = t;
            }
        }
    }
}
