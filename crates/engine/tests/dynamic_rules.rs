//! The dynamic position rules (tightening trailing stop, scaled exit,
//! volatility stops, signal exit) on the fixture (see common/mod.rs),
//! hand-computed. A position of 10 AAA entered on bar 0 fills at bar 1's
//! open 102 (NEXT_BAR); rules act from bar 2 and compare the close with the
//! water marks of the closes up to the previous bar (from the fill price 102).
//!
//! | bar | AAA open/high/low/close | long HWM / short LWM seen |
//! |-----|-------------------------|---------------------------|
//! | 1   | 102 / 104 / 101 / 103   | (entry)                   |
//! | 2   | 104 / 106 / 103 / 105   | 103 / 102                 |
//! | 3   | 103 / 104 / 100 / 101   | 105 / 102                 |
//! | 4   | 100 / 101 / 97 / 98     | 105 / 101                 |

mod common;

use common::*;
use nl_core::{ExecutionMode, ExecutionPrice, ExitReason};
use nl_engine::{Engine, EngineConfig, PositionRule};

const ATR: u32 = 0;
const SIGNAL: u32 = 1;

/// Runs one AAA position of `qty` (negative: short) entered on bar 0 under
/// `rule`; `context(bar)` gives the context values the strategy sets for the
/// open position on that bar (seen by the rules from the next bar).
fn run_rule(cfg: EngineConfig, rule: PositionRule, qty: f64, context: impl Fn(u32) -> Vec<(u32, Option<f64>)>) -> Engine {
    let cfg = EngineConfig { allow_short_selling: true, ..cfg };
    run(cfg, market(), |b, e| {
        if b == 0 {
            e.set_position_rules(None, Some(rule.clone())).unwrap();
            if qty > 0.0 { buy(e, AAA, qty) } else { sell(e, AAA, -qty) };
        }
        if let Some(serial) = e.position(AAA).map(|p| p.serial) {
            for (key, value) in context(b) {
                assert!(e.set_position_context(AAA, serial, key, value).unwrap());
            }
        }
    })
}

/// Every rule exit: (bar, quantity, price, reason, detail).
fn exits(e: &Engine) -> Vec<(i64, f64, f64, ExitReason, String)> {
    e.fills()
        .iter()
        .filter(|f| e.orders()[f.order_id as usize - 1].extras().exit_detail.is_some())
        .map(|f| (f.timestamp, f.quantity, f.price, f.exit_reason, e.orders()[f.order_id as usize - 1].extras().exit_detail.clone().unwrap().into()))
        .collect()
}

fn one(bar: i64, qty: f64, price: f64, reason: ExitReason, detail: &str) -> Vec<(i64, f64, f64, ExitReason, String)> {
    vec![(bar, qty, price, reason, detail.to_string())]
}

fn none(_: u32) -> Vec<(u32, Option<f64>)> {
    vec![]
}

#[test]
fn tightening_trailing_stop_picks_the_trail_by_return() {
    let cfg = EngineConfig::default;
    let rule = PositionRule::tightening_trailing_stop;
    // Bar 3: return (101-102)/102 = -0.98% >= -1%: trail 3% of HWM 105 = 101.85;
    // the close 101 is below: exit at the pass's price, bar 3's open 103.
    let tight = run_rule(cfg(), rule(vec![(-0.02, 0.05), (-0.01, 0.03)]), 10.0, none);
    assert_eq!(exits(&tight), one(3, 10.0, 103.0, ExitReason::Signal, "tightening_trail_3.0%_at_-1.0%"));
    // Threshold -0.5% not reached on bar 3: trail 5% -> 99.75, hold. Bar 4:
    // return -3.92% reaches no threshold: the lowest threshold's trail (5%)
    // applies, close 98 <= 99.75: exit at bar 4's open 100 (the gap is not priced).
    let loose = run_rule(cfg(), rule(vec![(-0.005, 0.03), (-0.02, 0.05)]), 10.0, none);
    assert_eq!(exits(&loose), one(4, 10.0, 100.0, ExitReason::Signal, "tightening_trail_5.0%_at_-3.9%"));
    // Short of 10 at 102: bar 2 close 105 is -2.94%, below the only threshold 0:
    // its trail 2% of LWM 102 = 104.04 <= 105: exit at bar 2's open 104.
    let short = run_rule(cfg(), rule(vec![(0.0, 0.02)]), -10.0, none);
    assert_eq!(exits(&short), one(2, 10.0, 104.0, ExitReason::Signal, "tightening_trail_2.0%_at_-2.9%"));
    // No schedule: ml4t's 5% default. Bar 4: 98 <= 105 * 0.95 = 99.75.
    let empty = run_rule(cfg(), rule(vec![]), 10.0, none);
    assert_eq!(exits(&empty), one(4, 10.0, 100.0, ExitReason::Signal, "tightening_trail_5.0%_at_-3.9%"));
}

#[test]
fn scaled_exit_takes_each_target_once_per_rule_instance() {
    // SAME_BAR at the close: 16 AAA bought at bar 0's close 101, 10 BBB at 50.5.
    let cfg = EngineConfig { execution_mode: ExecutionMode::SameBar, execution_price: ExecutionPrice::Close, ..EngineConfig::default() };
    let scenario = |bbb_slot: u32| {
        run(cfg.clone(), market(), |b, e| {
            if b == 0 {
                // Targets given out of order: tried lowest first.
                e.set_position_rules(Some(AAA), Some(PositionRule::scaled_exit(vec![(0.02, 0.5), (0.01, 0.25)], 1))).unwrap();
                e.set_position_rules(Some(BBB), Some(PositionRule::scaled_exit(vec![(0.02, 0.5), (0.01, 0.25)], bbb_slot))).unwrap();
                buy(e, AAA, 16.0);
                buy(e, BBB, 10.0);
            }
        })
    };
    // One instance for both (slot 1): bar 1, AAA +1.98% (103) takes the 1% target:
    // 25% of 16 = 4 at the close 103. BBB +1.98% (51.5) finds 1% taken, 2% not
    // reached. Bar 2: AAA +3.96% takes 2%: half of 12 = 6 at 105. No more targets.
    let shared = scenario(1);
    assert_eq!(
        exits(&shared),
        vec![
            (1, 4.0, 103.0, ExitReason::Signal, "scale_out_1%_25%".to_string()),
            (2, 6.0, 105.0, ExitReason::Signal, "scale_out_2%_50%".to_string()),
        ]
    );
    // BBB's own instance (slot 2): it scales out 25% of 10 = 2.5 -> 2 shares (integer) at 51.5 too.
    let own = scenario(2);
    assert_eq!(exits(&own)[1], (1, 2.0, 51.5, ExitReason::Signal, "scale_out_1%_25%".to_string()));
}

#[test]
fn a_full_scale_out_does_not_block_re_entry_and_memory_resets() {
    let mut reentry = 0;
    let e = run(EngineConfig::default(), market(), |b, e| {
        if b == 0 {
            e.set_position_rules(None, Some(PositionRule::scaled_exit(vec![(0.01, 1.0)], 7))).unwrap();
            buy(e, AAA, 10.0);
        }
        if b == 2 {
            // Bar 2 (+2.94%) sold everything at the open 104 as a partial exit:
            // unlike a full exit it leaves the asset open for re-entry now.
            reentry = buy(e, AAA, 5.0);
            e.reset_rule_memory(7);
        }
    });
    assert_eq!(exits(&e), one(2, 10.0, 104.0, ExitReason::Signal, "scale_out_1%_100%"));
    assert_ne!(reentry, 0);
    // Re-entered at bar 3's open 103; bar 4 (98) is below every target.
    assert_eq!(e.position(AAA).map(|p| (p.quantity, p.entry_price)), Some((5.0, 103.0)));
}

#[test]
fn volatility_stop_uses_the_entry_atr_and_fills_at_its_level() {
    let cfg = EngineConfig::default;
    let stop = |use_entry_atr: bool| PositionRule::VolatilityStop { multiplier: 2.0, atr_key: ATR, entry_atr_memory: use_entry_atr.then_some(3) };
    // ATR 0.75 from bar 1, 0.25 from bar 2 on.
    let atr = |b: u32| vec![(ATR, Some(if b == 1 { 0.75 } else { 0.25 }))];
    // Entry ATR 0.75 (first seen, bar 2): stop 102 - 1.5 = 100.5. Bar 4 closes at 98:
    // exit at the level 100.5, above bar 4's open 100 (ml4t does not price the gap).
    let entry = run_rule(cfg(), stop(true), 10.0, atr);
    assert_eq!(exits(&entry), one(4, 10.0, 100.5, ExitReason::Signal, "volatility_stop_2.0x_atr"));
    // This bar's ATR: bar 3 sees 0.25, stop 101.5 >= close 101: exit at 101.5.
    let current = run_rule(cfg(), stop(false), 10.0, atr);
    assert_eq!(exits(&current), one(3, 10.0, 101.5, ExitReason::Signal, "volatility_stop_2.0x_atr"));
    // Short at 102, ATR 1: stop 104 <= bar 2's close 105: exit at 104.
    let short = run_rule(cfg(), stop(true), -10.0, |_| vec![(ATR, Some(1.0))]);
    assert_eq!(exits(&short), one(2, 10.0, 104.0, ExitReason::Signal, "volatility_stop_2.0x_atr"));
    // No ATR, a zero ATR, an ATR removed again: hold.
    assert_eq!(exits(&run_rule(cfg(), stop(true), 10.0, none)), vec![]);
    assert_eq!(exits(&run_rule(cfg(), stop(false), 10.0, |_| vec![(ATR, Some(0.0))])), vec![]);
    let removed = |b: u32| vec![(ATR, if b == 1 { Some(0.25) } else { None })];
    // ATR 0.25 seen on bar 2 only (stop 101.5 < 105): hold; then gone.
    assert_eq!(exits(&run_rule(cfg(), stop(false), 10.0, removed)), vec![]);
}

#[test]
fn volatility_trailing_stop_trails_the_water_mark() {
    let rule = PositionRule::VolatilityTrailingStop { multiplier: 3.0, atr_key: ATR };
    // Long: bar 2 stop 103 - 3 = 100 < 105; bar 3: HWM 105 - 3 = 102 >= close 101: exit at 102.
    let long = run_rule(EngineConfig::default(), rule.clone(), 10.0, |_| vec![(ATR, Some(1.0))]);
    assert_eq!(exits(&long), one(3, 10.0, 102.0, ExitReason::TrailingStop, "vol_trailing_stop_3.0x_atr"));
    // Short: LWM 102 + 3 * 0.75 = 104.25 <= bar 2's close 105: exit at 104.25.
    let short = run_rule(EngineConfig::default(), rule, -10.0, |_| vec![(ATR, Some(0.75))]);
    assert_eq!(exits(&short), one(2, 10.0, 104.25, ExitReason::TrailingStop, "vol_trailing_stop_3.0x_atr"));
}

#[test]
fn signal_exit_reads_the_position_context() {
    let rule = PositionRule::SignalExit { signal_key: SIGNAL, threshold: 0.3 };
    // Long: -0.2 (bar 1) is not below -0.3; -0.5 set on bar 2 exits at bar 3's open 103.
    let signal = |b: u32| vec![(SIGNAL, Some(if b == 1 { -0.2 } else { -0.5 }))];
    let long = run_rule(EngineConfig::default(), rule.clone(), 10.0, signal);
    assert_eq!(exits(&long), one(3, 10.0, 103.0, ExitReason::Signal, "signal_exit_-0.50"));
    // Short: exits on a signal above +0.3 (0.45 set on bar 1): bar 2's open 104.
    let short = run_rule(EngineConfig::default(), rule.clone(), -10.0, |_| vec![(SIGNAL, Some(0.45))]);
    assert_eq!(exits(&short), one(2, 10.0, 104.0, ExitReason::Signal, "signal_exit_0.45"));
    // A signal under another key is not read.
    assert_eq!(exits(&run_rule(EngineConfig::default(), rule, 10.0, |_| vec![(ATR, Some(-1.0))])), vec![]);
}

#[test]
fn context_belongs_to_one_position() {
    let mut applied = Vec::new();
    run(EngineConfig::default(), market(), |b, e| {
        if b == 0 {
            buy(e, AAA, 10.0);
        }
        if b == 1 {
            let serial = e.position(AAA).unwrap().serial;
            applied.push(e.set_position_context(AAA, serial, SIGNAL, Some(1.0)).unwrap());
            applied.push(e.set_position_context(AAA, serial + 1, SIGNAL, Some(1.0)).unwrap()); // no such position
            applied.push(e.set_position_context(BBB, serial, SIGNAL, Some(1.0)).unwrap()); // BBB is flat
        }
    });
    assert_eq!(applied, vec![true, false, false]);
}

#[test]
fn all_of_evaluates_every_rule() {
    use PositionRule::*;
    // The AllOf's time exit holds on bar 2, but its scaled exit still takes the 1%
    // target (ml4t evaluates all), so the chain's second rule (same instance, slot 5)
    // finds nothing left: no exit at all.
    let scaled = || PositionRule::scaled_exit(vec![(0.01, 0.5)], 5);
    let rule = Chain(vec![AllOf(vec![TimeExit { max_bars: 99 }, scaled()]), scaled()]);
    assert_eq!(exits(&run_rule(EngineConfig::default(), rule, 10.0, none)), vec![]);
    // When all agree the first rule's size is used: a partial 50% of 10 at bar 2's
    // open 104; the joined description names "time": a time stop (ml4t's keywords).
    let rule = AllOf(vec![scaled(), TimeExit { max_bars: 1 }]);
    assert_eq!(
        exits(&run_rule(EngineConfig::default(), rule, 10.0, none)),
        one(2, 5.0, 104.0, ExitReason::TimeStop, "scale_out_1%_50% AND time_exit_1bars")
    );
}

#[test]
fn bad_dynamic_rules_are_refused() {
    let mut e = Engine::new(EngineConfig::default(), market()).unwrap();
    let bad = [
        PositionRule::tightening_trailing_stop(vec![(f64::NAN, 0.03)]),
        PositionRule::tightening_trailing_stop(vec![(0.0, -0.01)]),
        PositionRule::scaled_exit(vec![(0.05, 1.5)], 0),
        PositionRule::scaled_exit(vec![(0.05, 0.0)], 0),
        PositionRule::VolatilityStop { multiplier: f64::INFINITY, atr_key: 0, entry_atr_memory: None },
        PositionRule::VolatilityTrailingStop { multiplier: -1.0, atr_key: 0 },
        PositionRule::SignalExit { signal_key: 0, threshold: f64::NAN },
    ];
    for rule in bad {
        assert!(e.set_position_rules(None, Some(rule.clone())).is_err(), "{rule:?}");
    }
}
