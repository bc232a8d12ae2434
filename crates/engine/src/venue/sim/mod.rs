//! The simulated venue: the only part of the engine that knows it is a
//! backtest. It decides whether and at what price an order executes on a
//! bar (triggers, gap rules, execution prices), what that costs (commission,
//! slippage, impact, volume limits), and runs the matching passes.

pub mod costs;
pub(crate) mod execute;
pub(crate) mod immediate;
pub mod liquidity;
pub(crate) mod matching;
pub mod triggers;
