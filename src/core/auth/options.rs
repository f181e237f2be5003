//! Options of `openAuthSession` with their documented defaults, and the
//! checks that need no browser.

use super::retry::Retry;
use crate::core::error::{Code, Error, Result};

/// Default `refreshMargin`: 5 minutes.
pub const DEFAULT_REFRESH_MARGIN: u64 = 300_000;
/// Default `headerName`.
pub const DEFAULT_HEADER: &str = "X-Session-Token";
/// Most `retry.attempts` accepted.
pub const MAX_ATTEMPTS: u32 = 100;

/// The options the engine reads (the app's functions stay in the bindings).
#[derive(Clone)]
pub struct AuthOptions {
    /// Namespace: its own storage, channel and lock.
    pub name: String,
    /// `GET` with the header checks stored tokens on open.
    pub status_url: Option<String>,
    /// How long before expiry to refresh, ms (capped at half the lifetime).
    pub refresh_margin: u64,
    /// Header carrying the access token.
    pub header_name: String,
    /// Retries of `auth.fetch` and of `refresh()`.
    pub retry: Retry,
}

impl Default for AuthOptions {
    fn default() -> Self {
        AuthOptions {
            name: "default".into(),
            status_url: None,
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            header_name: DEFAULT_HEADER.into(),
            retry: Retry::default(),
        }
    }
}

/// Checks `headerName`: an HTTP field name (RFC 9110 token characters).
pub fn check_header_name(name: &str) -> Result<()> {
    // A match, not `contains` on a byte string: that links memchr.
    let token = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            )
    };
    if name.is_empty() || !name.bytes().all(token) {
        return Err(Error::new(
            Code::InvalidArgument,
            "headerName must be an HTTP header name (letters, digits and !#$%&'*+-.^_`|~), e.g. \"X-Session-Token\" or \"Authorization\"",
        ));
    }
    Ok(())
}

/// Checks `retry.attempts`: 1 to [`MAX_ATTEMPTS`] (the first try counts).
pub fn check_attempts(n: u64) -> Result<u32> {
    if n == 0 || n > MAX_ATTEMPTS as u64 {
        return Err(Error::new(
            Code::InvalidArgument,
            "retry.attempts must be from 1 (no retries) to 100; it counts the first try",
        ));
    }
    Ok(n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let o = AuthOptions::default();
        assert_eq!(o.name, "default");
        assert_eq!(o.refresh_margin, 5 * 60 * 1000);
        assert_eq!(o.header_name, "X-Session-Token");
        assert_eq!(o.retry, Retry::default());
        assert!(o.status_url.is_none());
    }

    #[test]
    fn header_names() {
        for ok in ["X-Session-Token", "Authorization", "x_token", "a"] {
            assert!(check_header_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "X Session", "X-Token:", "Tök", "a\r\nb"] {
            assert_eq!(
                check_header_name(bad).unwrap_err().code,
                Code::InvalidArgument,
                "{bad}"
            );
        }
    }

    #[test]
    fn attempts() {
        assert_eq!(check_attempts(1).unwrap(), 1);
        assert_eq!(check_attempts(100).unwrap(), 100);
        assert!(check_attempts(0).is_err());
        assert!(check_attempts(101).is_err());
    }
}
