//! A failed strategy callback undone (kernel/savepoint.rs) and a live
//! engine's settings changed (kernel/settings.rs), hand-computed on the
//! fixture (see common/mod.rs): AAA bar 0 opens 100, closes 101, volume 1000.

mod common;

use common::*;
use nl_core::{ExecutionMode, OrderStatus, StopFillMode};
use nl_engine::{Engine, EngineConfig, ExecutionLimit, PerAsset};

/// SAME_BAR market orders fill inside the submit call, at most 10% of the
/// bar's volume per asset and bar, shared by every order.
fn immediate_shared_10pct() -> EngineConfig {
    EngineConfig {
        execution_mode: ExecutionMode::SameBar,
        execution_price: nl_core::ExecutionPrice::Close,
        immediate_fill: true,
        limits: PerAsset::uniform(ExecutionLimit::SharedVolumeParticipation {
            max_participation: 0.1, min_volume: 0.0, shared_participation: f64::NAN }),
        ..EngineConfig::default()
    }
}

#[test]
fn a_rolled_back_callback_gives_back_cash_fills_orders_and_the_volume_budget() {
    let mut e = Engine::new(immediate_shared_10pct(), market()).unwrap();
    e.begin_bar(0).unwrap();
    // 10% of 1000 = 100 of the 150 fill at the close 101: cash 100,000 - 10,100.
    buy(&mut e, AAA, 150.0);
    assert_eq!(e.fills().len(), 1);
    assert_eq!(e.cash(), 89_900.0);
    assert!(e.rollback_callback());
    assert_eq!((e.cash(), e.fills().len(), e.orders().len()), (100_000.0, 0, 0));
    assert!(e.position(AAA).is_none());
    assert_eq!(e.pending_orders().count(), 0);
    // The budget is whole again: a new order fills 100 more, not 0.
    let id = buy(&mut e, AAA, 150.0);
    assert_eq!(id, 1);
    assert_eq!(e.fills().iter().map(|f| f.quantity).collect::<Vec<_>>(), vec![100.0]);
    e.end_bar().unwrap();
}

#[test]
fn a_rollback_keeps_what_earlier_bars_did_and_restores_changed_pending_orders() {
    let mut e = Engine::new(EngineConfig { execution_mode: ExecutionMode::SameBar, ..EngineConfig::default() },
                            market()).unwrap();
    e.begin_bar(0).unwrap();
    buy(&mut e, AAA, 10.0);
    e.end_bar().unwrap(); // SAME_BAR at the default execution price, the open 100: cash 99,000
    e.begin_bar(1).unwrap();
    let resting = {
        let mut r = nl_engine::OrderRequest::market(AAA, 5.0, nl_core::OrderSide::Buy);
        r.order_type = nl_core::OrderType::Limit;
        r.limit_price = Some(50.0);
        match e.submit_order(r).unwrap() { nl_engine::SubmitOutcome::Accepted(id) => id, _ => unreachable!() }
    };
    e.end_bar().unwrap();
    e.begin_bar(2).unwrap();
    // A callback that cancels the resting order, sells, then fails.
    assert!(e.cancel_order(resting));
    sell(&mut e, AAA, 10.0);
    assert!(e.rollback_callback());
    assert_eq!(e.order(resting).unwrap().status, OrderStatus::Pending);
    assert_eq!(e.pending_orders().map(|o| o.id).collect::<Vec<_>>(), vec![resting]);
    assert_eq!(e.orders().len(), 2);
    assert_eq!(e.cash(), 99_000.0);
    assert_eq!(e.position(AAA).unwrap().quantity, 10.0);
    e.end_bar().unwrap();
}

#[test]
fn a_callback_that_changed_nothing_has_nothing_to_undo() {
    let mut e = Engine::new(EngineConfig::default(), market()).unwrap();
    e.begin_bar(0).unwrap();
    let _ = e.cash();
    assert!(!e.rollback_callback());
    e.end_bar().unwrap();
    // Outside a callback window nothing is recorded.
    buy(&mut e, AAA, 1.0);
    assert!(!e.rollback_callback());
    assert_eq!(e.orders().len(), 1);
}

#[test]
fn decision_settings_change_any_time_order_flow_settings_only_before_activity() {
    let mut e = Engine::new(EngineConfig::default(), market()).unwrap();
    let same_bar = EngineConfig { execution_mode: ExecutionMode::SameBar, ..EngineConfig::default() };
    e.update_settings(same_bar.clone()).unwrap();
    assert_eq!(e.config().execution_mode, ExecutionMode::SameBar);
    e.begin_bar(0).unwrap();
    buy(&mut e, AAA, 10.0);
    let next_bar = EngineConfig { execution_mode: ExecutionMode::NextBar, ..same_bar.clone() };
    let err = e.update_settings(next_bar).unwrap_err().to_string();
    assert!(err.contains("execution_mode can only be changed before the first order"), "{err}");
    assert_eq!(e.config().execution_mode, ExecutionMode::SameBar);
    // A refused change changes nothing, the decision settings in it included.
    let both = EngineConfig { skip_cash_validation: true, initial_cash: 1.0, ..same_bar.clone() };
    assert!(e.update_settings(both).unwrap_err().to_string().contains("initial_cash cannot be changed"));
    assert!(!e.config().skip_cash_validation);
    let stop = EngineConfig { stop_fill_mode: StopFillMode::NextBarOpen, cash_buffer_pct: 0.25, ..same_bar };
    e.update_settings(stop).unwrap();
    assert_eq!(e.config().stop_fill_mode, StopFillMode::NextBarOpen);
    let bad = EngineConfig { cash_buffer_pct: 1.0, ..e.config().clone() };
    assert!(e.update_settings(bad).unwrap_err().to_string().contains("cash_buffer_pct must be in [0, 1)"));
    e.end_bar().unwrap(); // 10 at the open 100 (SAME_BAR, execution price OPEN): cash 99,000
    assert_eq!(e.cash(), 99_000.0);
    // The account keeps a quarter back: 99,000 x 0.75 = 74,250 < 800 x 102 = 81,600.
    e.begin_bar(1).unwrap();
    let refused = buy(&mut e, AAA, 800.0);
    let fits = buy(&mut e, AAA, 700.0); // 71,400
    e.end_bar().unwrap();
    assert_eq!(e.order(refused).unwrap().status, OrderStatus::Rejected);
    assert_eq!(e.order(fits).unwrap().status, OrderStatus::Filled);
}
