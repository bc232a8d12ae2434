//! Exit rules whose threshold moves with the position or the market:
//! ml4t-backtest 0.2.0's `TighteningTrailingStop`, `ScaledExit`,
//! `VolatilityStop`, `VolatilityTrailingStop` (risk/position/dynamic.py) and
//! `SignalExit` (signal.py). Unlike the static stops they compare this bar's
//! close (not its range) and ignore `stop_fill_mode`: the trailing and
//! scaled exits fill at the pass's price, the volatility stops at their level.

use nl_core::ExitReason;
use crate::rules::memory::{ContextKey, MemorySlot, RuleMemory};
use crate::rules::{RuleAction, RuleState};

/// The position's return at this bar's close (ml4t's `Position.pnl_percent`).
pub(crate) fn unrealized_return(s: &RuleState) -> f64 {
    s.unrealized_return
}

/// `x` as Python's `f"{x:.{digits}%}"` writes it (Python scales by 100 in
/// binary, then rounds the exact value, as Rust's formatting does).
pub(crate) fn percent(x: f64, digits: usize) -> String {
    format!("{:.*}%", digits, x * 100.0)
}

fn exit(reason: ExitReason, detail: String, fill_price: Option<f64>) -> RuleAction {
    RuleAction::exit(reason, detail, fill_price, false)
}

/// A trailing stop whose distance is the trail of the highest schedule
/// threshold the return has reached (else the lowest threshold's trail; 5%
/// with no schedule). `schedule` is sorted by threshold, highest first.
pub(crate) fn tightening_trailing_stop(schedule: &[(f64, f64)], s: &RuleState) -> RuleAction {
    let ret = unrealized_return(s);
    let trail = schedule.iter().find(|(threshold, _)| ret >= *threshold).or(schedule.last()).map_or(0.05, |p| p.1);
    let hit = if s.is_long { s.close <= s.high_water_mark * (1.0 - trail) } else { s.close >= s.low_water_mark * (1.0 + trail) };
    if !hit {
        return RuleAction::Hold;
    }
    // ml4t classifies exits by keywords of their description: "tightening_trail" has none.
    exit(ExitReason::Signal, format!("tightening_trail_{}_at_{}", percent(trail, 1), percent(ret, 1)), None)
}

/// Exits `fraction` of the current position at the lowest target return
/// reached that this rule has not acted on before (one target per bar).
/// `targets` is sorted by threshold, lowest first.
pub(crate) fn scaled_exit(targets: &[(f64, f64)], slot: MemorySlot, s: &RuleState, memory: &mut RuleMemory) -> RuleAction {
    let ret = unrealized_return(s);
    for &(threshold, fraction) in targets {
        if !memory.is_triggered(slot, threshold) && ret >= threshold {
            memory.mark_triggered(slot, threshold);
            let detail = format!("scale_out_{}_{}", percent(threshold, 0), percent(fraction, 0));
            return RuleAction::Exit { reason: ExitReason::Signal, detail, fill_price: None, defer: false, fraction: Some(fraction) };
        }
    }
    RuleAction::Hold
}

/// The ATR in the position's context, when usable (ml4t holds on a missing
/// or non-positive one; NaN passes that test and then never triggers).
fn usable_atr(key: ContextKey, s: &RuleState, memory: &RuleMemory) -> Option<f64> {
    memory.context(s.asset, s.serial, key).filter(|atr| !(*atr <= 0.0))
}

/// Exit when the close crosses `multiplier` ATRs from the entry price; fills
/// at that level. With `use_entry_atr` the distance uses the first usable ATR
/// this rule ever saw (kept in `slot`), else this bar's.
pub(crate) fn volatility_stop(
    multiplier: f64,
    atr_key: ContextKey,
    use_entry_atr: Option<MemorySlot>,
    s: &RuleState,
    memory: &mut RuleMemory,
) -> RuleAction {
    let Some(mut atr) = usable_atr(atr_key, s, memory) else {
        return RuleAction::Hold;
    };
    if let Some(slot) = use_entry_atr {
        atr = memory.entry_atr(slot, atr);
    }
    match close_through(s, s.entry_price, s.entry_price, atr * multiplier) {
        Some(stop) => exit(ExitReason::Signal, format!("volatility_stop_{multiplier:.1}x_atr"), Some(stop)),
        None => RuleAction::Hold,
    }
}

/// The stop level `distance` below `long_ref` (a long) or above `short_ref`
/// (a short), when this bar's close reached it.
fn close_through(s: &RuleState, long_ref: f64, short_ref: f64, distance: f64) -> Option<f64> {
    if s.is_long {
        let stop = long_ref - distance;
        (s.close <= stop).then_some(stop)
    } else {
        let stop = short_ref + distance;
        (s.close >= stop).then_some(stop)
    }
}

/// Exit when the close retraces `multiplier` of this bar's ATRs from the
/// water mark (the best close since entry, up to the previous bar); fills at
/// that level.
pub(crate) fn volatility_trailing_stop(multiplier: f64, atr_key: ContextKey, s: &RuleState, memory: &RuleMemory) -> RuleAction {
    let Some(atr) = usable_atr(atr_key, s, memory) else {
        return RuleAction::Hold;
    };
    match close_through(s, s.high_water_mark, s.low_water_mark, atr * multiplier) {
        Some(stop) => exit(ExitReason::TrailingStop, format!("vol_trailing_stop_{multiplier:.1}x_atr"), Some(stop)),
        None => RuleAction::Hold,
    }
}

/// Exit a long when the context's signal falls below `-threshold`, a short
/// when it rises above `threshold`; at the pass's price.
pub(crate) fn signal_exit(signal_key: ContextKey, threshold: f64, s: &RuleState, memory: &RuleMemory) -> RuleAction {
    let Some(signal) = memory.context(s.asset, s.serial, signal_key) else {
        return RuleAction::Hold;
    };
    let hit = if s.is_long { signal < -threshold } else { signal > threshold };
    if !hit {
        return RuleAction::Hold;
    }
    exit(ExitReason::Signal, format!("signal_exit_{signal:.2}"), None)
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn percent_writes_what_python_writes() {
        // Expected strings printed by CPython's format(x, ".{d}%"): ties on the
        // scaled binary value round to even, tiny negatives keep their sign.
        let cases = [(0.025, 0, "2%"), (0.035, 0, "4%"), (0.005, 0, "0%"), (0.125, 1, "12.5%"), (-0.0001, 1, "-0.0%")];
        for (x, digits, python) in cases {
            assert_eq!(percent(x, digits), python, "{x}");
        }
    }
}
