//! The `extern "C"` surface of nautilus_like.
//!
//! Conventions (every export follows them):
//! - Functions return an [`NlStatus`]; results go through out-pointers.
//! - On a non-OK status, `nl_last_error()` returns the message (thread-local).
//! - Every export runs inside `guard`, which catches panics, so a Rust bug
//!   becomes a Python exception instead of aborting the interpreter.
//! - Handles are created by `*_new`, freed by `*_drop`; strings returned by
//!   Rust are freed with `nl_string_free`.

mod account;
mod bar;
mod cash_events;
mod config;
mod costs;
mod error;
mod enums;
mod handles;
mod orders;
mod portfolio;
mod portfolio_limits;
mod prediction_fees;
mod rebalance;
mod records;
mod rules;
mod stepped;
mod values;

pub use account::*;
pub use bar::*;
pub use cash_events::*;
pub use config::*;
pub use costs::*;
pub use error::*;
pub use enums::*;
pub use handles::*;
pub use orders::*;
pub use portfolio::*;
pub use portfolio_limits::*;
pub use prediction_fees::*;
pub use rebalance::*;
pub use records::*;
pub use rules::*;
pub use stepped::*;
pub use values::*;
