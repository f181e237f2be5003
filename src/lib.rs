//! session-persist: keeps a web app's session alive across reloads, crashes,
//! browser restarts and tabs.
//!
//! Layers, each using only those below it:
//! - [`core`]: pure Rust (context document, clocks, records, checksums,
//!   snapshot retention, the autosave schedule), tested natively;
//! - `platform`: the browser (storage backends, timers, page lifecycle);
//! - `session` and `bindings`: the session engine and its JS surface;
//! - `auth` and `bindings_auth`: the auth session engine and its JS surface.
#![deny(missing_docs)]

// Talc instead of dlmalloc: about 5 KB less wasm, and faster (README, Performance).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

pub mod auth;
#[cfg(feature = "session")]
pub mod bindings;
#[cfg(feature = "auth")]
pub mod bindings_auth;
pub mod core;
pub mod platform;
pub mod session;
