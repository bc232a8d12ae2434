//! The simulated venue: the only part of the engine that knows it is a
//! backtest. It decides whether and at what price an order executes on a
//! bar (triggers, gap rules, execution prices), what that costs (commission,
//! slippage, impact, volume limits). A backtest's kernel runs its matching
//! passes (`kernel/matching.rs`) so that each fill is booked before the next
//! is sized; `paper::PaperVenue` applies the same rules behind the
//! `ExecutionClient` seam.

pub mod costs;
pub(crate) mod execute;
pub mod liquidity;
pub mod paper;
pub mod prediction_fees;
pub mod triggers;
