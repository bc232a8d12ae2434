//! What the account lets entries spend, from its cash and open positions:
//! spendable cash (short collateral, unsettled proceeds, the cash buffer),
//! a margin account's buying power and its maintenance requirement.
//!
//! Totals follow ml4t-backtest's arithmetic (positions in opening order,
//! market value summed as Python's `sum()` does) so checks agree to the bit.



/// How a margin account computes one asset's margin (futures-style
/// schedules; equities use the account's rates).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum MarginSchedule {
    /// The account's `initial_margin` / long and short maintenance rates.
    #[default]
    Account,
    /// A fixed amount per contract (a SPAN snapshot): (initial, maintenance).
    PerContract { initial: f64, maintenance: f64 },
    /// Fractions of notional: (initial, maintenance).
    PercentOfNotional { initial: f64, maintenance: f64 },
}

