//! Position rules on the fixture (see common/mod.rs), hand-computed. A long of
//! 10 AAA bought on bar 0 fills at bar 1's open 102; rules act from bar 2.
//!
//! | bar | AAA open/high/low/close |
//! |-----|-------------------------|
//! | 2   | 104 / 106 / 103 / 105   |
//! | 3   | 103 / 104 / 100 / 101   |
//! | 4   | 100 / 101 / 97 / 98     |

mod common;

use common::*;
use nl_core::{ExecutionMode, ExecutionPrice, ExitReason, StopFillMode};
use nl_engine::{Engine, EngineConfig, PositionRule};

fn with_rule(cfg: EngineConfig, rule: PositionRule, long: bool) -> Engine {
    let cfg = EngineConfig { allow_short_selling: true, ..cfg };
    run(cfg, market(), |b, e| {
        if b == 0 {
            e.set_position_rules(None, Some(rule.clone())).unwrap();
            if long { buy(e, AAA, 10.0); } else { sell(e, AAA, 10.0); }
        }
    })
}

/// (bar, price, exit reason) of the rule's exit fill.
fn exit_of(e: &Engine) -> Option<(i64, f64, ExitReason)> {
    e.fills().get(1).map(|f| (f.timestamp, f.price, f.exit_reason))
}

#[test]
fn stop_loss_and_take_profit_levels_and_gaps() {
    let next = EngineConfig::default();
    use PositionRule::*;
    #[rustfmt::skip]
    let cases = [
        // Long stop 2%: level 99.96; bar 4's low 97 reaches it, its open 100 is above: the level.
        ("long stop at the level", StopLoss { pct: 0.02 }, true, Some((4, 102.0 * 0.98, ExitReason::StopLoss))),
        // Long stop 1%: level 100.98; bar 3's low 100 reaches it, open 103 above: the level.
        ("long stop on bar 3", StopLoss { pct: 0.01 }, true, Some((3, 102.0 * 0.99, ExitReason::StopLoss))),
        // Long target 2%: level 104.04; bar 2 opens 104 below, high 106 reaches it: the level.
        ("long target at the level", TakeProfit { pct: 0.02 }, true, Some((2, 102.0 * 1.02, ExitReason::TakeProfit))),
        // Long target 1%: level 103.02; bar 2 opens 104 above it: the open.
        ("long target gapped: the open", TakeProfit { pct: 0.01 }, true, Some((2, 104.0, ExitReason::TakeProfit))),
        // Short (sold at 102) stop 2%: level 104.04, bar 2 opens 104 below, high 106: the level.
        ("short stop", StopLoss { pct: 0.02 }, false, Some((2, 102.0 * 1.02, ExitReason::StopLoss))),
        // Short target 3%: level 98.94; bar 4 low 97 reaches it, open 100 above: the level.
        ("short target", TakeProfit { pct: 0.03 }, false, Some((4, 102.0 * 0.97, ExitReason::TakeProfit))),
        // Short stop 1%: level 103.02; bar 2 opens 104 above it (gapped against the short): the open.
        ("short stop gapped: the open", StopLoss { pct: 0.01 }, false, Some((2, 104.0, ExitReason::StopLoss))),
        // Long trail 1%: the close 105 of bar 2 lifts the mark, so bar 3's level is
        // 103.95; bar 3 opens 103 below it: the open.
        ("long trail gapped: the open", TrailingStop { pct: 0.01 }, true, Some((3, 103.0, ExitReason::TrailingStop))),
        ("no trigger", StopLoss { pct: 0.10 }, true, None),
        // Time exit after 2 bars held: bar 3, at that bar's open (NEXT_BAR pass).
        ("time exit", TimeExit { max_bars: 2 }, true, Some((3, 103.0, ExitReason::TimeStop))),
    ];
    for (name, rule, long, expected) in cases {
        assert_eq!(exit_of(&with_rule(next.clone(), rule, long)), expected, "{name}");
    }
}

#[test]
fn fill_modes() {
    let sl = PositionRule::StopLoss { pct: 0.02 };
    let mode = |m| EngineConfig { stop_fill_mode: m, ..EngineConfig::default() };
    // Triggered on bar 4 (low 97 <= 99.96): at its close 98, or at its low 97.
    assert_eq!(exit_of(&with_rule(mode(StopFillMode::ClosePrice), sl.clone(), true)), Some((4, 98.0, ExitReason::StopLoss)));
    assert_eq!(exit_of(&with_rule(mode(StopFillMode::BarExtreme), sl.clone(), true)), Some((4, 97.0, ExitReason::StopLoss)));
    // NEXT_BAR_OPEN: the 1% stop triggers on bar 3 and fills at bar 4's open 100.
    let sl1 = PositionRule::StopLoss { pct: 0.01 };
    assert_eq!(exit_of(&with_rule(mode(StopFillMode::NextBarOpen), sl1, true)), Some((4, 100.0, ExitReason::StopLoss)));
    // Stop slippage moves the rule's price against the exit: 99.96 * (1 - 0.001).
    let slipped = EngineConfig { stop_slippage_rate: 0.001, ..EngineConfig::default() };
    assert_eq!(exit_of(&with_rule(slipped, sl, true)).map(|x| x.1), Some(102.0 * 0.98 * (1.0 - 0.001)));
}

#[test]
fn chains_take_the_first_rule_that_fires() {
    use PositionRule::*;
    // On bar 2 both a 0.5% take-profit (102.51, opened through: the open 104)
    // and a one-bar time exit (at the open 104) fire: the first listed wins.
    let tp_first = Chain(vec![TakeProfit { pct: 0.005 }, TimeExit { max_bars: 1 }]);
    let time_first = Chain(vec![TimeExit { max_bars: 1 }, TakeProfit { pct: 0.005 }]);
    assert_eq!(exit_of(&with_rule(EngineConfig::default(), tp_first, true)), Some((2, 104.0, ExitReason::TakeProfit)));
    assert_eq!(exit_of(&with_rule(EngineConfig::default(), time_first, true)), Some((2, 104.0, ExitReason::TimeStop)));
}

#[test]
fn no_re_entry_in_the_bar_of_a_rule_exit_and_per_asset_overrides() {
    let mut reentry = None;
    let e = run(EngineConfig::default(), market(), |b, e| {
        if b == 0 {
            e.set_position_rules(None, Some(PositionRule::StopLoss { pct: 0.02 })).unwrap();
            e.set_position_rules(Some(BBB), None).unwrap(); // BBB: no rules
            buy(e, AAA, 10.0);
            buy(e, BBB, 10.0);
        }
        if b == 4 {
            reentry = Some(buy(e, AAA, 5.0)); // AAA was stopped out at this bar's start
        }
    });
    assert_eq!(reentry, Some(0));
    assert_eq!(e.position(BBB).map(|p| p.quantity), Some(10.0)); // BBB fell 6% but has no rule
    assert_eq!(e.trades()[0].exit_reason, ExitReason::StopLoss);
}

#[test]
fn same_bar_mode_rules_exit_at_the_rule_price() {
    let cfg = EngineConfig { execution_mode: ExecutionMode::SameBar, execution_price: ExecutionPrice::Close, ..EngineConfig::default() };
    // SAME_BAR: bought at bar 0's close 101; 2% stop = 98.98, reached on bar 4 (low 97, open 100): the level.
    assert_eq!(exit_of(&with_rule(cfg, PositionRule::StopLoss { pct: 0.02 }, true)), Some((4, 101.0 * 0.98, ExitReason::StopLoss)));
}

#[test]
fn all_of_needs_every_rule_and_exits_at_the_pass_price() {
    use PositionRule::*;
    // Take-profit 0% (any gain) AND held 2 bars: both only on bar 3 (bars_held 2, high 104 >= 102):
    // a market exit at bar 3's open 103, described by both rules.
    let rule = AllOf(vec![TakeProfit { pct: 0.0 }, TimeExit { max_bars: 2 }]);
    let e = with_rule(EngineConfig::default(), rule, true);
    assert_eq!(exit_of(&e), Some((3, 103.0, ExitReason::TakeProfit)));
    assert_eq!(e.orders()[1].extras().exit_detail.as_deref(), Some("take_profit_0.0% AND time_exit_2bars"));
    // One rule alone never fires: no exit.
    let never = AllOf(vec![StopLoss { pct: 0.5 }, TimeExit { max_bars: 1 }]);
    assert_eq!(exit_of(&with_rule(EngineConfig::default(), never, true)), None);
}
