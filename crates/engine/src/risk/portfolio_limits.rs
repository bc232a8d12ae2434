//! Portfolio limits the engine enforces every bar, with no strategy call
//! (ml4t-backtest's `RiskManager` leaves them to the strategy). None are set
//! by default, so parity with ml4t-backtest holds.
//!
//! When they are evaluated:
//! * At every bar's close, after marks and margin calls, on the equity the
//!   curve records: drawdown from the equity high-water mark (which starts at
//!   the initial cash), the day's loss since the previous session's last close,
//!   the number of open positions, and gross / net exposure over equity.
//! * Before every entry fill (an order that opens, adds to or reverses a
//!   position; exits are always allowed), for limits whose action is `Halt`
//!   or `Liquidate`: the entry is rejected, naming the limit, when the
//!   drawdown or daily-loss limit has halted entries, or when the fill would
//!   leave the positions count or an exposure beyond its limit and further
//!   from it than before.
//!
//! What each action does when a limit is breached at a close:
//! * `Warn`: records the breach's start, nothing else.
//! * `Halt`: records it and refuses entries: a drawdown breach for the rest of
//!   the run (ml4t's halt stays until a manual reset), a daily-loss breach
//!   until the session ends; count and exposure limits refuse the entries
//!   that would breach them.
//! * `Reduce`: cancels pending orders and sends market exits at the next open:
//!   a drawdown breach cuts every position by `reduction_pct`, once per
//!   breach (ml4t's rule); an exposure breach scales the positions (all for
//!   gross, the longs or the shorts for net) back to the limit at this close's
//!   marks, at every close it persists.
//! * `Liquidate`: as `Halt`, and cancels pending orders and closes every
//!   position at the next open, once per breach.
//!
//! Exits carry `exit_reason = risk_liquidation`; every action and refusal is
//! a [`LimitEvent`].

use nl_core::{BarIndex, EngineError, EngineResult, OrderId};


/// What a limit measures, and its thresholds (ml4t-backtest's parameters).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LimitKind {
    /// Breached when (high-water mark - equity) / high-water mark >=
    /// `max_drawdown`; a drawdown >= `warn_threshold` records a warning.
    MaxDrawdown { max_drawdown: f64, warn_threshold: Option<f64> },
    /// Breached when the loss since the previous session's last close, over
    /// equity, exceeds `max_daily_loss_pct`.
    DailyLoss { max_daily_loss_pct: f64 },
    /// Breached when more than `max_positions` positions are open.
    MaxPositions { max_positions: u32 },
    /// Breached when the sum of |market value| over equity exceeds `max_gross_exposure`.
    GrossExposure { max_gross_exposure: f64 },
    /// Breached when the signed sum of market values over equity leaves
    /// [`min_net_exposure`, `max_net_exposure`].
    NetExposure { max_net_exposure: f64, min_net_exposure: f64 },
}

/// What the engine does when a limit is breached (ml4t's action names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitAction {
    Warn,
    Halt,
    Reduce,
    Liquidate,
}

/// One limit and its action.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PortfolioLimit {
    pub kind: LimitKind,
    pub action: LimitAction,
    /// Fraction of every position a drawdown `Reduce` closes, in (0, 1];
    /// 0 for anything else (exposure reductions compute theirs).
    pub reduction_pct: f64,
}

impl PortfolioLimit {
    /// ml4t-backtest's class name, used in rejection reasons and exit details.
    pub fn name(&self) -> &'static str {
        match self.kind {
            LimitKind::MaxDrawdown { .. } => "MaxDrawdownLimit",
            LimitKind::DailyLoss { .. } => "DailyLossLimit",
            LimitKind::MaxPositions { .. } => "MaxPositionsLimit",
            LimitKind::GrossExposure { .. } => "GrossExposureLimit",
            LimitKind::NetExposure { .. } => "NetExposureLimit",
        }
    }

    pub fn validate(&self) -> EngineResult<()> {
        let name = self.name();
        let bad = |what: String| Err(EngineError::InvalidArgument(format!("{name}: {what}")));
        let fraction = |v: f64| v.is_finite() && v > 0.0 && v <= 1.0;
        match self.kind {
            LimitKind::MaxDrawdown { max_drawdown, warn_threshold } => {
                if !fraction(max_drawdown) {
                    return bad(format!("max_drawdown must be in (0, 1], got {max_drawdown}"));
                }
                if let Some(w) = warn_threshold.filter(|&w| !(w.is_finite() && w > 0.0 && w < max_drawdown)) {
                    return bad(format!("warn_threshold must be in (0, max_drawdown={max_drawdown}), got {w}"));
                }
            }
            LimitKind::DailyLoss { max_daily_loss_pct: v } if !fraction(v) => {
                return bad(format!("max_daily_loss_pct must be in (0, 1], got {v}"));
            }
            LimitKind::GrossExposure { max_gross_exposure: v } if !(v.is_finite() && v > 0.0) => {
                return bad(format!("max_gross_exposure must be a finite number > 0, got {v}"));
            }
            LimitKind::NetExposure { max_net_exposure: hi, min_net_exposure: lo }
                if !(hi.is_finite() && lo.is_finite() && lo <= hi) =>
            {
                return bad(format!("min_net_exposure ({lo}) and max_net_exposure ({hi}) must be finite with min <= max"));
            }
            _ => {}
        }
        let reducible = matches!(
            self.kind,
            LimitKind::MaxDrawdown { .. } | LimitKind::GrossExposure { .. } | LimitKind::NetExposure { .. }
        );
        match self.action {
            LimitAction::Reduce if !reducible => bad("does not support action 'reduce'".into()),
            LimitAction::Reduce | LimitAction::Liquidate if matches!(self.kind, LimitKind::MaxPositions { .. }) => {
                bad("supports actions 'warn' and 'halt' only".into())
            }
            LimitAction::Reduce if matches!(self.kind, LimitKind::MaxDrawdown { .. }) && !fraction(self.reduction_pct) => {
                bad(format!("reduction_pct must be in (0, 1] for action 'reduce', got {}", self.reduction_pct))
            }
            _ if self.reduction_pct != 0.0
                && !(self.action == LimitAction::Reduce && matches!(self.kind, LimitKind::MaxDrawdown { .. })) =>
            {
                bad(format!("reduction_pct is only for MaxDrawdownLimit with action 'reduce', got {}", self.reduction_pct))
            }
            _ => Ok(()),
        }
    }

    /// Whether the limit refuses entries (before fills, and after a
    /// drawdown or daily-loss halt).
    pub(crate) fn blocks_entries(&self) -> bool {
        matches!(self.action, LimitAction::Halt | LimitAction::Liquidate)
    }
}

/// Something a limit did: a breach starting at a close (or an exposure
/// reduction repeated at a later close), or an entry refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitEvent {
    pub bar: BarIndex,
    /// Index of the limit in the list given to `set_portfolio_limits`.
    pub limit: u32,
    /// `Halt` for a refused entry; else the limit's action (`Warn` for a
    /// drawdown's `warn_threshold`).
    pub action: LimitAction,
    /// The measure: drawdown, daily loss or exposure as a fraction of
    /// equity, or the number of positions.
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// The refused entry order, if any.
    pub order_id: Option<OrderId>,
}

/// The limits, and what the engine tracks to evaluate them.
#[derive(Debug, Default)]
pub(crate) struct LimitMonitor {
    pub(crate) limits: Vec<PortfolioLimit>,
    /// Per limit: breached at the previous close (a breach acts once).
    pub(crate) breached: Vec<bool>,
    /// Per limit: a drawdown's warn threshold was reached at the previous close.
    pub(crate) warned: Vec<bool>,
    /// Per limit: entries refused since a close, as (value, threshold, the
    /// session it lasts for: `None` for the rest of the run).
    pub(crate) halted: Vec<Option<(f64, f64, Option<i64>)>>,
    pub(crate) high_water_mark: f64,
    /// The current session and the equity it started from.
    pub(crate) day: Option<(i64, f64)>,
    pub(crate) events: Vec<LimitEvent>,
}

/// The portfolio as the limits see it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Exposure {
    pub(crate) equity: f64,
    pub(crate) gross: f64,
    pub(crate) net: f64,
    pub(crate) positions: u32,
}

impl Exposure {
    fn ratio(&self, value: f64) -> f64 {
        ratio(value, self.equity)
    }
}

/// `value / equity`; without positive equity any exposure is unbounded.
pub(crate) fn ratio(value: f64, equity: f64) -> f64 {
    if equity > 0.0 {
        value / equity
    } else if value == 0.0 {
        0.0
    } else {
        f64::INFINITY.copysign(value)
    }
}

/// (value, threshold, breached) of an exposure limit; `None` for the others.
pub(crate) fn exposure_breach(kind: LimitKind, x: &Exposure) -> Option<(f64, f64, bool)> {
    match kind {
        LimitKind::MaxPositions { max_positions } => {
            Some((x.positions as f64, max_positions as f64, x.positions > max_positions))
        }
        LimitKind::GrossExposure { max_gross_exposure } => {
            let g = x.ratio(x.gross);
            Some((g, max_gross_exposure, g > max_gross_exposure))
        }
        LimitKind::NetExposure { max_net_exposure, min_net_exposure } => {
            let n = x.ratio(x.net);
            Some(if n > max_net_exposure {
                (n, max_net_exposure, true)
            } else if n < min_net_exposure {
                (n, min_net_exposure, true)
            } else {
                (n, if n >= 0.0 { max_net_exposure } else { min_net_exposure }, false)
            })
        }
        _ => None,
    }
}

/// "drawdown 21.0% >= 20.0%": the breach in ml4t's words, as a percentage.
pub(crate) fn breach_text(kind: LimitKind, value: f64, threshold: f64) -> String {
    let pct = |v: f64| format!("{:.1}%", v * 100.0);
    match kind {
        LimitKind::MaxDrawdown { .. } => format!("drawdown {} >= {}", pct(value), pct(threshold)),
        LimitKind::DailyLoss { .. } => format!("daily loss {} > max {}", pct(value), pct(threshold)),
        LimitKind::MaxPositions { .. } => format!("positions {value} > max {threshold}"),
        LimitKind::GrossExposure { .. } => format!("gross exposure {} > max {}", pct(value), pct(threshold)),
        LimitKind::NetExposure { .. } if value > threshold => {
            format!("net exposure {} > max {}", pct(value), pct(threshold))
        }
        LimitKind::NetExposure { .. } => format!("net exposure {} < min {}", pct(value), pct(threshold)),
    }
}

