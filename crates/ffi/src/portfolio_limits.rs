//! Portfolio limits across the ABI: the limits the engine enforces (see
//! `nl_engine::portfolio_limits`) and the events they recorded.

use nl_core::EngineError;
use nl_engine::{LimitAction, LimitKind, PortfolioLimit};

use crate::error::{guard, null_error, NlStatus};
use crate::handles::{engine, write, NlEngine};

/// Limit kinds for [`NlPortfolioLimitSpec::kind`] (ml4t's class names).
pub const NL_PORTFOLIO_LIMIT_MAX_DRAWDOWN: u32 = 1;
pub const NL_PORTFOLIO_LIMIT_DAILY_LOSS: u32 = 2;
pub const NL_PORTFOLIO_LIMIT_MAX_POSITIONS: u32 = 3;
pub const NL_PORTFOLIO_LIMIT_GROSS_EXPOSURE: u32 = 4;
pub const NL_PORTFOLIO_LIMIT_NET_EXPOSURE: u32 = 5;

/// Actions for [`NlPortfolioLimitSpec::action`] and [`NlPortfolioLimitEvent::action`].
pub const NL_PORTFOLIO_LIMIT_WARN: u32 = 1;
pub const NL_PORTFOLIO_LIMIT_HALT: u32 = 2;
pub const NL_PORTFOLIO_LIMIT_REDUCE: u32 = 3;
pub const NL_PORTFOLIO_LIMIT_LIQUIDATE: u32 = 4;

/// One portfolio limit.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NlPortfolioLimitSpec {
    pub kind: u32,
    pub action: u32,
    /// max_drawdown, max_daily_loss_pct, max_gross_exposure or max_net_exposure.
    pub threshold: f64,
    /// Net exposure: min_net_exposure.
    pub lower: f64,
    /// Drawdown: warn_threshold (NaN: none).
    pub warn_threshold: f64,
    /// Drawdown with action reduce: the fraction of each position to close.
    pub reduction_pct: f64,
    pub max_positions: u32,
}

/// Something a limit did (see `nl_engine_portfolio_limit_event`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NlPortfolioLimitEvent {
    /// The close it was judged at, or the time of the refused entry.
    pub timestamp: i64,
    /// Index of the limit in the list given to `nl_engine_set_portfolio_limits`.
    pub limit: u32,
    pub kind: u32,
    pub action: u32,
    pub value: f64,
    pub threshold: f64,
    /// The refused entry order; 0 for a breach at a close.
    pub order_id: u64,
}

fn limit_of(s: &NlPortfolioLimitSpec) -> Result<PortfolioLimit, EngineError> {
    let kind = match s.kind {
        NL_PORTFOLIO_LIMIT_MAX_DRAWDOWN => LimitKind::MaxDrawdown {
            max_drawdown: s.threshold,
            warn_threshold: (!s.warn_threshold.is_nan()).then_some(s.warn_threshold),
        },
        NL_PORTFOLIO_LIMIT_DAILY_LOSS => LimitKind::DailyLoss { max_daily_loss_pct: s.threshold },
        NL_PORTFOLIO_LIMIT_MAX_POSITIONS => LimitKind::MaxPositions { max_positions: s.max_positions },
        NL_PORTFOLIO_LIMIT_GROSS_EXPOSURE => LimitKind::GrossExposure { max_gross_exposure: s.threshold },
        NL_PORTFOLIO_LIMIT_NET_EXPOSURE => {
            LimitKind::NetExposure { max_net_exposure: s.threshold, min_net_exposure: s.lower }
        }
        other => return Err(EngineError::InvalidArgument(format!("invalid portfolio limit kind {other}"))),
    };
    let action = match s.action {
        NL_PORTFOLIO_LIMIT_WARN => LimitAction::Warn,
        NL_PORTFOLIO_LIMIT_HALT => LimitAction::Halt,
        NL_PORTFOLIO_LIMIT_REDUCE => LimitAction::Reduce,
        NL_PORTFOLIO_LIMIT_LIQUIDATE => LimitAction::Liquidate,
        other => return Err(EngineError::InvalidArgument(format!("invalid portfolio limit action {other}"))),
    };
    Ok(PortfolioLimit { kind, action, reduction_pct: s.reduction_pct })
}

fn kind_code(kind: LimitKind) -> u32 {
    match kind {
        LimitKind::MaxDrawdown { .. } => NL_PORTFOLIO_LIMIT_MAX_DRAWDOWN,
        LimitKind::DailyLoss { .. } => NL_PORTFOLIO_LIMIT_DAILY_LOSS,
        LimitKind::MaxPositions { .. } => NL_PORTFOLIO_LIMIT_MAX_POSITIONS,
        LimitKind::GrossExposure { .. } => NL_PORTFOLIO_LIMIT_GROSS_EXPOSURE,
        LimitKind::NetExposure { .. } => NL_PORTFOLIO_LIMIT_NET_EXPOSURE,
    }
}

fn action_code(action: LimitAction) -> u32 {
    match action {
        LimitAction::Warn => NL_PORTFOLIO_LIMIT_WARN,
        LimitAction::Halt => NL_PORTFOLIO_LIMIT_HALT,
        LimitAction::Reduce => NL_PORTFOLIO_LIMIT_REDUCE,
        LimitAction::Liquidate => NL_PORTFOLIO_LIMIT_LIQUIDATE,
    }
}

/// Sets the portfolio limits (before the first bar; `n = 0` turns them off).
///
/// # Safety
/// `e` must be a live engine handle; `specs` valid for `n` entries.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_portfolio_limits(e: *mut NlEngine, specs: *const NlPortfolioLimitSpec,
                                                        n: usize) -> NlStatus {
    guard(|| {
        if n > 0 && specs.is_null() {
            return Err(null_error("portfolio limit specs").into());
        }
        let specs = if n == 0 { &[][..] } else { std::slice::from_raw_parts(specs, n) };
        let limits = specs.iter().map(limit_of).collect::<Result<Vec<_>, _>>()?;
        Ok(engine(e, "setting portfolio limits")?.set_portfolio_limits(limits)?)
    })
}

/// The number of portfolio-limit events so far.
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_portfolio_limit_event_count(e: *mut NlEngine, out: *mut usize) -> NlStatus {
    guard(|| {
        write(out, engine(e, "reading portfolio limit events")?.limit_events().len())
    })
}

/// Portfolio-limit event `i` (0-based, in the order they happened).
///
/// # Safety
/// `e` must be a live engine handle; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_portfolio_limit_event(e: *mut NlEngine, i: usize, out: *mut NlPortfolioLimitEvent)
                                                         -> NlStatus {
    guard(|| {
        let eng = engine(e, "reading portfolio limit events")?;
        let Some(ev) = eng.limit_events().get(i) else {
            return Err(EngineError::NotFound(format!("portfolio limit event {i} of {}", eng.limit_events().len())).into());
        };
        let event = NlPortfolioLimitEvent {
            timestamp: ev.timestamp,
            limit: ev.limit,
            kind: kind_code(eng.portfolio_limits()[ev.limit as usize].kind),
            action: action_code(ev.action),
            value: ev.value,
            threshold: ev.threshold,
            order_id: ev.order_id.unwrap_or(0),
        };
        write(out, event)
    })
}
