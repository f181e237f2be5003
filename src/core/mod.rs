//! The pure core: no `web-sys`, no `js-sys`. Everything here is plain Rust,
//! deterministic given its inputs (time and randomness are passed in), and
//! tested natively with `cargo test`.

pub mod checksum;
pub mod clock;
pub mod doc;
pub mod error;
pub mod options;
pub mod record;
pub mod schedule;
pub mod snapshots;
