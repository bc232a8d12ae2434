//! Pre-trade risk: next-bar submission prechecks and portfolio limits (the
//! engine's, and a snapshot judged on request).

pub mod limit_checks;
pub mod portfolio_limits;
pub(crate) mod prechecks;
