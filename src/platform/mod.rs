//! The browser: storage backends, values crossing into JS, time and ids,
//! timers and the page lifecycle. Everything that touches `web-sys` or
//! `js-sys` lives here or in the bindings above it.

pub mod args;
pub mod channel;
pub mod env;
pub mod http;
pub mod js;
pub mod lifecycle;
pub mod lock;
pub mod refresh_lock;
pub mod storage;
pub mod tabs;
pub mod value;
