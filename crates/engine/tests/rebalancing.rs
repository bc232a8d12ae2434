//! The engine's support for target-weight rebalancing, on the fixture (see
//! common/mod.rs), hand-computed.
//!
//! | bar | AAA open/high/low/close | BBB open/high/low/close |
//! |-----|-------------------------|-------------------------|
//! | 0   | 100 / 102 / 99 / 101    | 50 / 51 / 49 / 50.5     |
//! | 1   | 102 / 104 / 101 / 103   | 51 / 52 / 50 / 51.5     |

mod common;

use common::*;
use nl_core::{EntryOrderPriority, ExecutionMode, ExecutionPrice, FillOrdering, OrderStatus, ShareType};
use nl_engine::{Engine, EngineConfig};

fn same_bar_at_close() -> EngineConfig {
    EngineConfig { execution_mode: ExecutionMode::SameBar, execution_price: ExecutionPrice::Close, ..EngineConfig::default() }
}

#[test]
fn matching_now_fills_same_bar_orders_inside_the_callback() {
    // Buy 10 AAA on bar 0, match at once: filled at bar 0's close 101 before
    // the bar ends, so cash is already 100000 - 1010 when the strategy goes on.
    let mut seen = None;
    run(same_bar_at_close(), market(), |b, e| {
        if b == 0 {
            buy(e, AAA, 10.0);
            e.match_pending_now().unwrap();
            seen = Some((e.cash(), e.order(1).unwrap().status, e.fills().len()));
        }
    });
    assert_eq!(seen, Some((98_990.0, OrderStatus::Filled, 1)));
}

#[test]
fn matching_now_leaves_next_bar_orders_for_the_next_open() {
    // NEXT_BAR: the order stays pending and fills at bar 1's open 102.
    let mut seen = None;
    let e = run(EngineConfig::default(), market(), |b, e| {
        if b == 0 {
            buy(e, AAA, 10.0);
            e.match_pending_now().unwrap();
            seen = Some((e.cash(), e.order(1).unwrap().status));
        }
    });
    assert_eq!(seen, Some((100_000.0, OrderStatus::Pending)));
    assert_eq!((e.fills()[0].timestamp, e.fills()[0].price), (1, 102.0));
}

/// Margin account (initial margin 50%), NEXT_BAR: 10 AAA bought at bar 1's
/// open 102 (cash 98_980). Returns bar 1's buying power before and after
/// `match_pending_now`.
fn buying_power_around_matching(fill_ordering: FillOrdering) -> (f64, f64) {
    let cfg = EngineConfig {
        allow_leverage: true,
        initial_margin: 0.5,
        long_maintenance_margin: 0.25,
        short_maintenance_margin: 0.3,
        fill_ordering,
        ..EngineConfig::default()
    };
    let mut seen = (0.0, 0.0);
    run(cfg, market(), |b, e| {
        if b == 0 {
            buy(e, AAA, 10.0);
        } else if b == 1 {
            let before = e.buying_power();
            e.match_pending_now().unwrap();
            seen = (before, e.buying_power());
        }
    });
    seen
}

#[test]
fn next_bar_matching_now_fills_nothing_but_an_exit_first_pass_marks_at_the_close() {
    // Marked at the open: (98_980 + 1_020 - 510) / 0.5 = 198_980. The
    // EXIT_FIRST pass marks between exits and entries even with nothing to
    // match: at the close 103, (98_980 + 1_030 - 515) / 0.5 = 198_990 (ml4t).
    // FIFO marks only after a fill, so nothing moves.
    assert_eq!(buying_power_around_matching(FillOrdering::ExitFirst), (198_980.0, 198_990.0));
    assert_eq!(buying_power_around_matching(FillOrdering::Fifo), (198_980.0, 198_980.0));
}

#[test]
fn matching_now_outside_a_bar_is_an_error() {
    let mut e = Engine::new(EngineConfig::default(), market()).unwrap();
    assert!(e.match_pending_now().is_err());
}

/// Cash 1000; on bar 0 buy 9 AAA (9 x 102 = 918 at bar 1's open) and 15 BBB
/// (15 x 51 = 765): only one fits. Returns which order filled first.
fn notional_desc_winner(priority_notionals: Option<(f64, f64)>) -> u64 {
    let cfg = EngineConfig {
        initial_cash: 1000.0,
        entry_order_priority: EntryOrderPriority::NotionalDesc,
        ..EngineConfig::default()
    };
    let e = run(cfg, market(), |b, e| {
        if b == 0 {
            let (a, bb) = (buy(e, AAA, 9.0), buy(e, BBB, 15.0));
            if let Some((na, nb)) = priority_notionals {
                e.mark_rebalance_order(a, Some(na)).unwrap();
                e.mark_rebalance_order(bb, Some(nb)).unwrap();
            }
        }
    });
    e.fills()[0].order_id
}

#[test]
fn a_sizing_notional_replaces_the_fill_notional_in_notional_priorities() {
    // By fill notional AAA (918) goes first; sized at 500 vs 800, BBB does
    // (AAA, marked a rebalance's, then gets the 2 shares 235 of cash buy).
    assert_eq!(notional_desc_winner(None), 1);
    assert_eq!(notional_desc_winner(Some((500.0, 800.0))), 2);
}

#[test]
fn a_sizing_notional_must_be_valid_and_for_a_pending_order() {
    let mut e = Engine::new(EngineConfig::default(), market()).unwrap();
    e.begin_bar(0).unwrap();
    let id = buy(&mut e, AAA, 1.0);
    for bad in [f64::NAN, -1.0, f64::INFINITY] {
        assert!(e.mark_rebalance_order(id, Some(bad)).is_err(), "{bad}");
    }
    assert!(e.mark_rebalance_order(99, None).is_err());
    assert!(e.mark_rebalance_order(0, None).is_err());
    e.cancel_order(id);
    assert!(e.mark_rebalance_order(id, None).is_err());
}

/// Cash 1000; on bar 0 buy 25 BBB, which costs 25 x 51 = 1275 at bar 1's open.
fn short_of_cash(share_type: ShareType, reject: bool, rebalance: bool) -> (OrderStatus, f64, f64) {
    let cfg = EngineConfig { initial_cash: 1000.0, share_type, reject_on_insufficient_cash: reject, ..EngineConfig::default() };
    let e = run(cfg, market(), |b, e| {
        if b == 0 {
            let id = buy(e, BBB, 25.0);
            if rebalance {
                e.mark_rebalance_order(id, None).unwrap();
            }
        }
    });
    let o = e.order(1).unwrap();
    (o.status, o.filled_quantity, e.cash())
}

#[test]
fn a_rebalance_order_in_an_integer_account_fills_what_cash_affords() {
    // floor(1000 / 51) = 19 shares for 969; a plain order is rejected.
    assert_eq!(short_of_cash(ShareType::Integer, true, true), (OrderStatus::Filled, 19.0, 31.0));
    assert_eq!(short_of_cash(ShareType::Integer, true, false).0, OrderStatus::Rejected);
    // Not in a fractional account, nor where unaffordable orders are cancelled.
    assert_eq!(short_of_cash(ShareType::Fractional, true, true).0, OrderStatus::Rejected);
    assert_eq!(short_of_cash(ShareType::Integer, false, true).0, OrderStatus::Cancelled);
}

#[test]
fn target_quantities_size_without_submitting() {
    // SAME_BAR at the close, bar 0 (AAA closes 101, account 100_000 flat):
    // target $5_050 -> 50 units; 10% of 100_000 = $10_000 -> 99.0099... units.
    // Nothing is submitted by asking, and the order_target_* orders then send
    // exactly those quantities.
    let mut seen = None;
    run(same_bar_at_close(), market(), |b, e| {
        if b == 0 {
            let value = e.target_value_quantity(AAA, 5_050.0).unwrap();
            let percent = e.target_percent_quantity(AAA, 0.10).unwrap();
            let under_a_cent = e.target_value_quantity(AAA, 0.004).unwrap();
            let orders_before = e.orders().len();
            seen = Some((value, percent, under_a_cent, orders_before));
        }
    });
    let (value, percent, under_a_cent, orders_before) = seen.unwrap();
    assert_eq!(value, Some(50.0));
    assert!((percent.unwrap() - 10_000.0 / 101.0).abs() < 1e-9);
    assert_eq!((under_a_cent, orders_before), (None, 0));
}

#[test]
fn a_closed_bar_reads_after_its_fills_and_is_recorded_once_by_end_bar() {
    // SAME_BAR at the close: buy 10 AAA on bar 0 -> filled at 101 by close_bar,
    // cash 98_990, but the equity curve has no point until end_bar records it.
    let mut e = Engine::new(same_bar_at_close(), market()).unwrap();
    e.begin_bar(0).unwrap();
    buy(&mut e, AAA, 10.0);
    e.close_bar().unwrap();
    assert_eq!((e.cash(), e.equity_curve().len()), (98_990.0, 0));
    assert!(e.close_bar().is_err(), "a bar closes once");
    e.end_bar().unwrap();
    assert_eq!(e.equity_curve(), &[100_000.0]);
    // Without close_bar, end_bar closes and records as before.
    e.begin_bar(1).unwrap();
    e.end_bar().unwrap();
    assert_eq!(e.equity_curve().len(), 2);
}
