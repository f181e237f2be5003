//! The pure logic of auth sessions (`openAuthSession`): the state machine,
//! token rules (checks, when a refresh is due, what to do inside the
//! cross-tab lock), retry and backoff, the health score and the fallback
//! lock's lease. No browser here: time and randomness are passed in.

pub mod health;
pub mod lease;
pub mod options;
pub mod retry;
pub mod state;
pub mod tokens;
