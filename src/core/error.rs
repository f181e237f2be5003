//! Errors with stable codes. The code is the contract (`err.code` in JS);
//! the message is for a person and may change.

use std::fmt;

/// The stable error codes of the public API.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Code {
    /// A value that cannot be stored as it is (function, symbol, cycle, ...).
    NotSerializable,
    /// The context would exceed `maxContextBytes`.
    TooLarge,
    /// The browser refused the write: storage quota is full.
    QuotaExceeded,
    /// The storage backend failed or is unavailable.
    StorageUnavailable,
    /// No snapshot with that id.
    SnapshotNotFound,
    /// The session was closed.
    Closed,
    /// The `migrate` option failed.
    MigrationFailed,
    /// Stored data has a newer schema version than this app: it is neither
    /// loaded nor overwritten.
    VersionTooNew,
    /// An argument or option has the wrong type or range.
    InvalidArgument,
    /// An auth session has no valid token (never signed in, logged out,
    /// expired, or a refresh failed).
    NotAuthenticated,
}

impl Code {
    /// The string exposed to JS as `error.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::NotSerializable => "NOT_SERIALIZABLE",
            Code::TooLarge => "TOO_LARGE",
            Code::QuotaExceeded => "QUOTA_EXCEEDED",
            Code::StorageUnavailable => "STORAGE_UNAVAILABLE",
            Code::SnapshotNotFound => "SNAPSHOT_NOT_FOUND",
            Code::Closed => "CLOSED",
            Code::MigrationFailed => "MIGRATION_FAILED",
            Code::VersionTooNew => "VERSION_TOO_NEW",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::NotAuthenticated => "NOT_AUTHENTICATED",
        }
    }
}

/// An error with a stable code and a message a person can act on.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Error {
    /// The stable code.
    pub code: Code,
    /// What went wrong and what to do about it.
    pub message: String,
}

impl Error {
    /// An error with `code` and `message`.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

/// Result with the crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_strings() {
        assert_eq!(Code::NotSerializable.as_str(), "NOT_SERIALIZABLE");
        assert_eq!(Code::SnapshotNotFound.as_str(), "SNAPSHOT_NOT_FOUND");
        let e = Error::new(Code::Closed, "the session was closed");
        assert_eq!(e.to_string(), "CLOSED: the session was closed");
    }
}
