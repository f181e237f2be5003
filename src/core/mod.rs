//! The pure core: no `web-sys`, no `js-sys`. Everything here is plain Rust,
//! deterministic given its inputs (time and randomness are passed in), and
//! tested natively with `cargo test`.

pub mod auth;
pub mod checksum;
pub mod clock;
pub mod doc;
pub mod error;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod fuzz;
pub mod keymap;
pub mod options;
pub mod record;
pub mod schedule;
pub mod snapshots;
