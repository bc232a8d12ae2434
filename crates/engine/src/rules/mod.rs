//! Position rules (stop-loss, take-profit, time exit, trailing stops, the
//! dynamic rules of `dynamic` and chains of them), evaluated at the
//! start of every bar on that bar's OHLC, before orders are matched.
//! Semantics are ml4t-backtest 0.2.0's `risk/position` rules.

pub(crate) mod dynamic;
pub mod evaluation;
pub mod memory;

use nl_core::{AssetId, EngineError, EngineResult, ExitReason, StopFillMode, Timestamp, TrailStopTiming};

use crate::callback::Callback;
use crate::rules::memory::{ContextKey, MemorySlot, RuleMemory};

/// What a rule sees about one open position on the current bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleState {
    pub asset: AssetId,
    /// The position's serial (a reopened or reversed position has a new one).
    pub serial: u64,
    /// The current bar's time.
    pub timestamp: Timestamp,
    pub is_long: bool,
    /// Average entry price and signed quantity (now and when opened).
    pub entry_price: f64,
    pub quantity: f64,
    pub initial_quantity: f64,
    pub entry_time: Timestamp,
    pub max_favorable_excursion: f64,
    pub max_adverse_excursion: f64,
    /// The price stop and target levels are measured from (entry fill price,
    /// or the signal price with `StopLevelBasis::SignalPrice`).
    pub base_price: f64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    /// This bar's reference price (the close).
    pub close: f64,
    /// The return at the close (ml4t's `unrealized_return`, which its
    /// return-driven rules read).
    pub unrealized_return: f64,
    pub bars_held: u32,
    /// Highest / lowest reference price since entry, up to the previous bar.
    pub high_water_mark: f64,
    pub low_water_mark: f64,
}

/// Engine settings the rules read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleSettings {
    pub fill_mode: StopFillMode,
    pub trail_timing: TrailStopTiming,
}

/// A rule's decision.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleAction {
    Hold,
    /// Close the position (`fraction` None, ml4t's EXIT_FULL) or `fraction`
    /// of it (EXIT_PARTIAL: it does not block re-entry in this bar, even at
    /// 1.0): at `fill_price` (before slippage) when given, else at the pass's
    /// execution price; `defer` = at the next bar's open (NEXT_BAR_OPEN mode).
    Exit { reason: ExitReason, detail: String, fill_price: Option<f64>, defer: bool, fraction: Option<f64> },
}

impl RuleAction {
    /// A full exit.
    pub fn exit(reason: ExitReason, detail: String, fill_price: Option<f64>, defer: bool) -> Self {
        RuleAction::Exit { reason, detail, fill_price, defer, fraction: None }
    }
}

/// A rule written outside the engine (a Python object behind the C ABI).
/// `Err` means it raised; the caller keeps the exception.
pub trait RuleCallback: Send + Sync {
    fn evaluate(&self, state: &RuleState) -> Result<RuleAction, String>;

    /// Context values the callback set on the position it evaluated while it
    /// ran. The FFI holds such writes back (the engine is borrowed during the
    /// call); they are applied to the rules' memory as soon as the callback
    /// returns, before the next rule reads it, as ml4t's rules share the
    /// position's context dict. Default: none.
    fn take_context_writes(&self, _state: &RuleState) -> Vec<(ContextKey, Option<f64>)> {
        Vec::new()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PositionRule {
    /// Exit when the loss from the base price reaches `pct`.
    StopLoss { pct: f64 },
    /// Exit when the gain from the base price reaches `pct`.
    TakeProfit { pct: f64 },
    /// Exit (at the pass's price) once the position is `max_bars` old.
    TimeExit { max_bars: u32 },
    /// Exit when the price retraces `pct` from the best price since entry
    /// (the high-water mark for longs, the low-water mark for shorts).
    TrailingStop { pct: f64 },
    /// A trailing stop on the close whose trail tightens as the return grows:
    /// (return threshold, trail pct) pairs, highest threshold first (build
    /// with [`PositionRule::tightening_trailing_stop`]).
    TighteningTrailingStop { schedule: Vec<(f64, f64)> },
    /// Partial exits at return targets: (return threshold, fraction of the
    /// current position) pairs, lowest first (build with
    /// [`PositionRule::scaled_exit`]); each target acts once per `memory`.
    ScaledExit { targets: Vec<(f64, f64)>, memory: MemorySlot },
    /// A stop `multiplier` ATRs (context value `atr_key`) from the entry;
    /// `entry_atr_memory`: keep the first ATR seen there (ml4t's `use_entry_atr`).
    VolatilityStop { multiplier: f64, atr_key: ContextKey, entry_atr_memory: Option<MemorySlot> },
    /// A trailing stop `multiplier` current ATRs from the water mark.
    VolatilityTrailingStop { multiplier: f64, atr_key: ContextKey },
    /// Exit when the context value `signal_key` passes `threshold` against
    /// the position (below -threshold for longs, above it for shorts).
    SignalExit { signal_key: ContextKey, threshold: f64 },
    /// The first rule that does not hold wins (RuleChain, AnyOf).
    Chain(Vec<PositionRule>),
    /// Exit only when every rule wants to (all are evaluated, so stateful
    /// rules remember even when another holds); at the pass's price, the
    /// first rule's full or partial size, with the rules' descriptions
    /// joined by " AND " (ml4t-backtest's `AllOf`).
    AllOf(Vec<PositionRule>),
    /// A user's rule, called back for the positions it governs.
    Callback(Callback<dyn RuleCallback>),
}

/// `pct` as Python's `f"{pct:.1%}"` writes it.
fn percent(pct: f64) -> String {
    dynamic::percent(pct, 1)
}

fn check(ok: bool, what: impl FnOnce() -> String) -> EngineResult<()> {
    if ok {
        Ok(())
    } else {
        Err(EngineError::InvalidArgument(what()))
    }
}

impl PositionRule {
    /// ml4t's `TighteningTrailingStop(schedule)`: the schedule is looked up
    /// highest threshold first (ties keep their given order).
    pub fn tightening_trailing_stop(mut schedule: Vec<(f64, f64)>) -> Self {
        schedule.sort_by(|a, b| b.0.total_cmp(&a.0));
        PositionRule::TighteningTrailingStop { schedule }
    }

    /// ml4t's `ScaledExit(targets)`: targets are tried lowest threshold first.
    pub fn scaled_exit(mut targets: Vec<(f64, f64)>, memory: MemorySlot) -> Self {
        targets.sort_by(|a, b| a.0.total_cmp(&b.0));
        PositionRule::ScaledExit { targets, memory }
    }

    pub fn validate(&self) -> EngineResult<()> {
        match self {
            PositionRule::StopLoss { pct } | PositionRule::TakeProfit { pct } | PositionRule::TrailingStop { pct } => {
                check(pct.is_finite() && *pct >= 0.0, || format!("rule pct must be finite and >= 0, got {pct}"))
            }
            PositionRule::TighteningTrailingStop { schedule } => schedule.iter().try_for_each(|&(threshold, trail)| {
                check(threshold.is_finite() && trail.is_finite() && trail >= 0.0, || {
                    format!("schedule entries must be (finite return threshold, finite trail pct >= 0), got ({threshold}, {trail})")
                })
            }),
            PositionRule::ScaledExit { targets, .. } => targets.iter().try_for_each(|&(threshold, fraction)| {
                check(threshold.is_finite() && fraction > 0.0 && fraction <= 1.0, || {
                    format!("targets must be (finite return threshold, exit fraction in (0, 1]), got ({threshold}, {fraction})")
                })
            }),
            PositionRule::VolatilityStop { multiplier, .. } | PositionRule::VolatilityTrailingStop { multiplier, .. } => {
                check(multiplier.is_finite() && *multiplier >= 0.0, || format!("multiplier must be finite and >= 0, got {multiplier}"))
            }
            PositionRule::SignalExit { threshold, .. } => {
                check(threshold.is_finite(), || format!("threshold must be finite, got {threshold}"))
            }
            PositionRule::TimeExit { .. } | PositionRule::Callback(_) => Ok(()),
            PositionRule::Chain(rules) | PositionRule::AllOf(rules) => rules.iter().try_for_each(PositionRule::validate),
        }
    }

    /// The rule's decision for one position on this bar; stateful rules
    /// record what they acted on in `memory`.
    pub fn evaluate(&self, s: &RuleState, settings: RuleSettings, memory: &mut RuleMemory) -> EngineResult<RuleAction> {
        let mode = settings.fill_mode;
        Ok(match self {
            PositionRule::StopLoss { pct } => {
                let level = if s.is_long { s.base_price * (1.0 - pct) } else { s.base_price * (1.0 + pct) };
                let hit = if s.is_long { s.low <= level || s.close <= level } else { s.high >= level || s.close >= level };
                if !hit {
                    return Ok(RuleAction::Hold);
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
                    return Ok(RuleAction::Hold);
                }
                let extreme = if s.is_long { s.high } else { s.low };
                let opened_through = if s.is_long { s.open >= level } else { s.open <= level };
                exit(ExitReason::TakeProfit, format!("take_profit_{}", percent(*pct)), level, extreme, opened_through, s, mode)
            }
            PositionRule::TimeExit { max_bars } => {
                if s.bars_held >= *max_bars {
                    RuleAction::exit(ExitReason::TimeStop, format!("time_exit_{max_bars}bars"), None, false)
                } else {
                    RuleAction::Hold
                }
            }
            PositionRule::TrailingStop { pct } => trailing_stop(*pct, s, settings),
            PositionRule::TighteningTrailingStop { schedule } => dynamic::tightening_trailing_stop(schedule, s),
            PositionRule::ScaledExit { targets, memory: slot } => dynamic::scaled_exit(targets, *slot, s, memory),
            PositionRule::VolatilityStop { multiplier, atr_key, entry_atr_memory } => {
                dynamic::volatility_stop(*multiplier, *atr_key, *entry_atr_memory, s, memory)
            }
            PositionRule::VolatilityTrailingStop { multiplier, atr_key } => {
                dynamic::volatility_trailing_stop(*multiplier, *atr_key, s, memory)
            }
            PositionRule::SignalExit { signal_key, threshold } => dynamic::signal_exit(*signal_key, *threshold, s, memory),
            PositionRule::Chain(rules) => {
                for r in rules {
                    let a = r.evaluate(s, settings, memory)?;
                    if a != RuleAction::Hold {
                        return Ok(a);
                    }
                }
                RuleAction::Hold
            }
            PositionRule::AllOf(rules) => {
                let mut details = Vec::with_capacity(rules.len());
                let mut all_exit = true;
                let mut first_fraction = None;
                let mut reason: Option<ExitReason> = None;
                for (i, r) in rules.iter().enumerate() {
                    match r.evaluate(s, settings, memory)? {
                        RuleAction::Hold => all_exit = false,
                        RuleAction::Exit { detail, fraction, reason: own, .. } => {
                            if i == 0 {
                                first_fraction = fraction;
                            }
                            // ml4t classifies the joined description: the
                            // strongest keyword of any part wins.
                            reason = Some(reason.map_or(own, |r| r.strongest(own)));
                            details.push(detail);
                        }
                    }
                }
                if !all_exit || details.is_empty() {
                    return Ok(RuleAction::Hold);
                }
                let detail = details.into_iter().filter(|d| !d.is_empty()).collect::<Vec<_>>().join(" AND ");
                let reason = reason.unwrap_or(ExitReason::Signal);
                RuleAction::Exit { reason, detail, fill_price: None, defer: false, fraction: first_fraction }
            }
            PositionRule::Callback(cb) => {
                let action = cb.0.evaluate(s);
                for (key, value) in cb.0.take_context_writes(s) {
                    memory.set_context(s.asset, s.serial, key, value);
                }
                action.map_err(EngineError::Callback)?
            }
        })
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
            return RuleAction::exit(reason, detail, None, true);
        }
        StopFillMode::ClosePrice => s.close,
        // A state without the bar's range (built by hand, not by the engine)
        // fills at the level, as ml4t's rules do.
        StopFillMode::BarExtreme => {
            if extreme.is_nan() {
                level
            } else {
                extreme
            }
        }
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
    RuleAction::exit(reason, detail, Some(fill_price), false)
}

/// ml4t-backtest's `TrailingStop`. The trigger compares the adverse extreme
/// (and the open) with the stop; a bar that opens through the stop fills at
/// the open, else per `fill_mode` (STOP_PRICE and NEXT_BAR_OPEN price at the
/// stop level).
fn trailing_stop(pct: f64, s: &RuleState, settings: RuleSettings) -> RuleAction {
    // A state without the bar's range (built by hand, not by the engine)
    // trades at its close, as in ml4t's rule.
    let or_close = |p: f64| if p.is_nan() { s.close } else { p };
    let s = &RuleState { open: or_close(s.open), high: or_close(s.high), low: or_close(s.low), ..*s };
    let detail = format!("trailing_stop_{}", percent(pct));
    let exit_at = |fill_price: f64| {
        if settings.fill_mode == StopFillMode::NextBarOpen {
            RuleAction::exit(ExitReason::TrailingStop, detail.clone(), None, true)
        } else {
            RuleAction::exit(ExitReason::TrailingStop, detail.clone(), Some(fill_price), false)
        }
    };
    // The fill for a stop level `stop` the bar traded through.
    let priced = |stop: f64| -> f64 {
        let gapped = if s.is_long { s.open < stop } else { s.open > stop };
        if gapped {
            return s.open;
        }
        match settings.fill_mode {
            StopFillMode::ClosePrice => s.close,
            StopFillMode::BarExtreme => {
                if s.is_long {
                    s.low
                } else {
                    s.high
                }
            }
            StopFillMode::StopPrice | StopFillMode::NextBarOpen => stop,
        }
    };
    let level = |mark: f64| if s.is_long { mark * (1.0 - pct) } else { mark * (1.0 + pct) };
    let crossed = |stop: f64| {
        if s.is_long {
            s.low <= stop || s.open < stop
        } else {
            s.high >= stop || s.open > stop
        }
    };
    let lagged_mark = if s.is_long { s.high_water_mark } else { s.low_water_mark };
    let live_mark = if s.is_long { s.high_water_mark.max(s.high) } else { s.low_water_mark.min(s.low) };
    match settings.trail_timing {
        TrailStopTiming::VbtPro => {
            let lagged = level(lagged_mark);
            if crossed(lagged) {
                return exit_at(priced(lagged));
            }
            // Second pass: the updated mark against the close only, filled there.
            let live = level(live_mark);
            let closed_through = if s.is_long { s.close <= live } else { s.close >= live };
            if closed_through {
                return exit_at(s.close);
            }
            RuleAction::Hold
        }
        TrailStopTiming::Intrabar | TrailStopTiming::Lagged => {
            let mark = if settings.trail_timing == TrailStopTiming::Intrabar { live_mark } else { lagged_mark };
            let stop = level(mark);
            if crossed(stop) {
                exit_at(priced(stop))
            } else {
                RuleAction::Hold
            }
        }
    }
}

/// The exit reason a user rule's free-text description names (ml4t's
/// keyword precedence). Only descriptions written by user code (a Python
/// rule) are read this way; built-in rules carry their reason.
pub fn reason_of(detail: &str) -> ExitReason {
    let d = detail.to_lowercase();
    if d.contains("stop_loss") {
        ExitReason::StopLoss
    } else if d.contains("take_profit") {
        ExitReason::TakeProfit
    } else if d.contains("trailing") {
        ExitReason::TrailingStop
    } else if d.contains("time") {
        ExitReason::TimeStop
    } else if d.contains("risk_liquidation") || d.split(|c: char| !c.is_alphanumeric() && c != '_').any(|w| w == "liquidation" || w == "liquidate") {
        ExitReason::RiskLiquidation
    } else if d.contains("end_of_data") {
        ExitReason::EndOfData
    } else {
        ExitReason::Signal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long_state(close: f64, open: f64, high: f64, low: f64, high_water_mark: f64) -> RuleState {
        RuleState {
            asset: 0,
            serial: 1,
            timestamp: 0,
            is_long: true,
            entry_price: 100.0,
            quantity: 10.0,
            initial_quantity: 10.0,
            entry_time: 0,
            max_favorable_excursion: 0.0,
            max_adverse_excursion: 0.0,
            base_price: 100.0,
            open,
            high,
            low,
            close,
            unrealized_return: (close - 100.0) / 100.0,
            bars_held: 3,
            high_water_mark,
            low_water_mark: 100.0,
        }
    }

    fn settings(fill_mode: StopFillMode) -> RuleSettings {
        RuleSettings { fill_mode, trail_timing: TrailStopTiming::Lagged }
    }

    fn fill_of(action: RuleAction) -> Option<f64> {
        match action {
            RuleAction::Exit { fill_price, .. } => fill_price,
            RuleAction::Hold => panic!("expected an exit"),
        }
    }

    #[test]
    fn a_stop_loss_without_the_bar_range_fills_at_its_level_under_bar_extreme() {
        // Entry 100, 5% stop = 95; close 94 with no open/high/low: the extreme is unknown.
        let rule = PositionRule::StopLoss { pct: 0.05 };
        let s = long_state(94.0, f64::NAN, f64::NAN, f64::NAN, 100.0);
        let a = rule.evaluate(&s, settings(StopFillMode::BarExtreme), &mut RuleMemory::default()).unwrap();
        assert_eq!(fill_of(a), Some(95.0));
        // With the range, the low (93).
        let s = long_state(94.0, 96.0, 97.0, 93.0, 100.0);
        let a = rule.evaluate(&s, settings(StopFillMode::BarExtreme), &mut RuleMemory::default()).unwrap();
        assert_eq!(fill_of(a), Some(93.0));
    }

    #[test]
    fn a_scaled_exit_reads_the_states_return() {
        // Close at the entry (100) but a stated return of 6%: the 5% target takes 25%.
        let rule = PositionRule::scaled_exit(vec![(0.05, 0.25), (0.10, 0.5)], 0);
        let s = RuleState { unrealized_return: 0.06, ..long_state(100.0, 100.0, 100.0, 100.0, 100.0) };
        let mut memory = RuleMemory::default();
        match rule.evaluate(&s, settings(StopFillMode::StopPrice), &mut memory).unwrap() {
            RuleAction::Exit { fraction, .. } => assert_eq!(fraction, Some(0.25)),
            RuleAction::Hold => panic!("expected a partial exit"),
        }
        // 12% next: the 10% target takes half.
        let s = RuleState { unrealized_return: 0.12, ..s };
        match rule.evaluate(&s, settings(StopFillMode::StopPrice), &mut memory).unwrap() {
            RuleAction::Exit { fraction, .. } => assert_eq!(fraction, Some(0.5)),
            RuleAction::Hold => panic!("expected a partial exit"),
        }
    }

    #[test]
    fn a_trailing_stop_without_the_bar_range_reads_the_close() {
        // Water mark 110, 10% trail = 99. Close 98 with no range: open and low
        // are the close, so the bar "opened" through the stop and fills there (98).
        let rule = PositionRule::TrailingStop { pct: 0.10 };
        let s = long_state(98.0, f64::NAN, f64::NAN, f64::NAN, 110.0);
        let a = rule.evaluate(&s, settings(StopFillMode::StopPrice), &mut RuleMemory::default()).unwrap();
        assert_eq!(fill_of(a), Some(98.0));
        // Close 100 (above 99): holds.
        let s = long_state(100.0, f64::NAN, f64::NAN, f64::NAN, 110.0);
        let a = rule.evaluate(&s, settings(StopFillMode::StopPrice), &mut RuleMemory::default()).unwrap();
        assert_eq!(a, RuleAction::Hold);
    }
}
