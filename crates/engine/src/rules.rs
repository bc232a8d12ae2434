//! Position rules (stop-loss, take-profit, time exit and chains of them),
//! evaluated at the start of every bar on that bar's OHLC, before orders are
//! matched. Semantics are ml4t-backtest 0.2.0's `risk/position` rules.

use nl_core::{EngineError, EngineResult, ExitReason, StopFillMode};

/// What a rule sees about one open position on the current bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleState {
    pub is_long: bool,
    /// The price stop and target levels are measured from (entry fill price,
    /// or the signal price with `StopLevelBasis::SignalPrice`).
    pub base_price: f64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    /// This bar's reference price (the close).
    pub close: f64,
    pub bars_held: u32,
}

/// A rule's decision.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleAction {
    Hold,
    /// Close the whole position: at `fill_price` (before slippage) when
    /// given, else at the pass's execution price; `defer` = at the next
    /// bar's open (NEXT_BAR_OPEN mode).
    Exit { reason: ExitReason, detail: String, fill_price: Option<f64>, defer: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub enum PositionRule {
    /// Exit when the loss from the base price reaches `pct`.
    StopLoss { pct: f64 },
    /// Exit when the gain from the base price reaches `pct`.
    TakeProfit { pct: f64 },
    /// Exit (at the pass's price) once the position is `max_bars` old.
    TimeExit { max_bars: u32 },
    /// The first rule that does not hold wins (RuleChain, AnyOf).
    Chain(Vec<PositionRule>),
}

/// `pct` as Python's `f"{pct:.1%}"` writes it.
fn percent(pct: f64) -> String {
    format!("{:.1}%", pct * 100.0)
}

impl PositionRule {
    pub fn validate(&self) -> EngineResult<()> {
        match self {
            PositionRule::StopLoss { pct } | PositionRule::TakeProfit { pct } => {
                if pct.is_finite() && *pct >= 0.0 {
                    Ok(())
                } else {
                    Err(EngineError::InvalidArgument(format!("rule pct must be finite and >= 0, got {pct}")))
                }
            }
            PositionRule::TimeExit { .. } => Ok(()),
            PositionRule::Chain(rules) => rules.iter().try_for_each(PositionRule::validate),
        }
    }

    pub fn evaluate(&self, s: &RuleState, mode: StopFillMode) -> RuleAction {
        match self {
            PositionRule::StopLoss { pct } => {
                let level = if s.is_long { s.base_price * (1.0 - pct) } else { s.base_price * (1.0 + pct) };
                let hit = if s.is_long { s.low <= level || s.close <= level } else { s.high >= level || s.close >= level };
                if !hit {
                    return RuleAction::Hold;
                }
                // Adverse extreme: the low for a long's stop, the high for a short's.
                let extreme = if s.is_long { s.low } else { s.high };
                let opened_through = if s.is_long { s.open <= level } else { s.open >= level };
                exit(ExitReason::StopLoss, format!("stop_loss_{}", percent(*pct)), level, extreme, opened_through, s, mode)
            }
            PositionRule::TakeProfit { pct } => {
                let level = if s.is_long { s.base_price * (1.0 + pct) } else { s.base_price * (1.0 - pct) };
                let hit = if s.is_long { s.high >= level || s.close >= level } else { s.low <= level || s.close <= level };
                if !hit {
                    return RuleAction::Hold;
                }
                let extreme = if s.is_long { s.high } else { s.low };
                let opened_through = if s.is_long { s.open >= level } else { s.open <= level };
                exit(ExitReason::TakeProfit, format!("take_profit_{}", percent(*pct)), level, extreme, opened_through, s, mode)
            }
            PositionRule::TimeExit { max_bars } => {
                if s.bars_held >= *max_bars {
                    RuleAction::Exit {
                        reason: ExitReason::TimeStop,
                        detail: format!("time_exit_{max_bars}bars"),
                        fill_price: None,
                        defer: false,
                    }
                } else {
                    RuleAction::Hold
                }
            }
            PositionRule::Chain(rules) => {
                for r in rules {
                    let a = r.evaluate(s, mode);
                    if a != RuleAction::Hold {
                        return a;
                    }
                }
                RuleAction::Hold
            }
        }
    }
}

/// A triggered stop or target: its fill price under `mode`. STOP_PRICE fills
/// at the open when the bar opened through the level, at the level when the
/// bar traded through it, else (only the close reached it) at the close.
fn exit(
    reason: ExitReason,
    detail: String,
    level: f64,
    extreme: f64,
    opened_through: bool,
    s: &RuleState,
    mode: StopFillMode,
) -> RuleAction {
    let fill_price = match mode {
        StopFillMode::NextBarOpen => {
            return RuleAction::Exit { reason, detail, fill_price: None, defer: true };
        }
        StopFillMode::ClosePrice => s.close,
        StopFillMode::BarExtreme => extreme,
        StopFillMode::StopPrice => {
            if opened_through {
                s.open
            } else if s.low <= level && level <= s.high {
                level
            } else {
                s.close
            }
        }
    };
    RuleAction::Exit { reason, detail, fill_price: Some(fill_price), defer: false }
}
