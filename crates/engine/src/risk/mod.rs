//! Pre-trade risk: next-bar submission prechecks and portfolio limits.

pub mod portfolio_limits;
pub(crate) mod prechecks;
