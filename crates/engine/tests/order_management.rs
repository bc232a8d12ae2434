//! Brackets (one-cancels-other), order updates, time in force and fill
//! ordering on the fixture (see common/mod.rs), hand-computed.
//!
//! | bar | AAA open/high/low/close | BBB open/high/low/close |
//! |-----|-------------------------|-------------------------|
//! | 0   | 100 / 102 / 99 / 101    | 50 / 51 / 49 / 50.5     |
//! | 1   | 102 / 104 / 101 / 103   | 51 / 52 / 50 / 51.5     |
//! | 2   | 104 / 106 / 103 / 105   | 49 / 50 / 48 / 48.5     |
//! | 3   | 103 / 104 / 100 / 101   | 48 / 49.5 / 47.5 / 49   |
//! | 4   | 100 / 101 / 97 / 98     | 50 / 51 / 49.5 / 50     |

mod common;

use common::*;
use nl_core::{
    CancelReason, EntryOrderPriority, FillOrdering, OrderSide, OrderStatus, OrderType, TimeInForce,
};
use nl_engine::{Engine, EngineConfig, OrderRequest, OrderUpdate, SubmitOutcome};

fn accepted(o: SubmitOutcome) -> u64 {
    match o {
        SubmitOutcome::Accepted(id) => id,
        SubmitOutcome::Ignored => panic!("order ignored"),
    }
}

fn limit(asset: u32, qty: f64, side: OrderSide, price: f64, tif: TimeInForce) -> OrderRequest {
    OrderRequest { limit_price: Some(price), time_in_force: tif, ..OrderRequest::new(asset, qty, side, OrderType::Limit) }
}

fn fills(e: &Engine) -> Vec<(u64, i64, f64)> {
    e.fills().iter().map(|f| (f.order_id, f.timestamp, f.price)).collect()
}

fn bracket(e: &mut Engine, tp: f64, sl: f64) -> [u64; 3] {
    e.submit_bracket(OrderRequest::market(AAA, 10.0, OrderSide::Buy), tp, sl).unwrap().unwrap()
}

#[test]
fn bracket_take_profit_fills_and_cancels_the_stop_loss() {
    // Entry at bar 1's open 102; bar 2's high 106 reaches the 105.5 take-profit.
    let e = run(EngineConfig::default(), market(), |b, e| {
        if b == 0 {
            assert_eq!(bracket(e, 105.5, 99.5), [1, 2, 3]);
        }
    });
    assert_eq!(fills(&e), vec![(1, 1, 102.0), (2, 2, 105.5)]);
    let sl = e.order(3).unwrap();
    assert_eq!((sl.status, sl.cancel_reason, sl.extras().cancelled_at.get()), (OrderStatus::Cancelled, Some(CancelReason::Oco), Some(2)));
    assert_eq!((sl.extras().parent_id, e.order(2).unwrap().extras().parent_id, e.order(1).unwrap().extras().parent_id), (Some(1), Some(1), None));
    assert_eq!(e.cash(), 100_000.0 - 1020.0 + 1055.0);
}

#[test]
fn bracket_stop_loss_can_fill_on_the_entry_bar() {
    // Entry at bar 3's open 103; its low 100 reaches the 101.5 stop (open above it: no gap).
    let e = run(EngineConfig::default(), market(), |b, e| {
        if b == 2 {
            bracket(e, 110.0, 101.5);
        }
    });
    assert_eq!(fills(&e), vec![(1, 3, 103.0), (3, 3, 101.5)]);
    assert_eq!(e.order(2).unwrap().cancel_reason, Some(CancelReason::Oco));
    assert_eq!(e.trades()[0].pnl, -15.0);
}

#[test]
fn bracket_validates_all_legs_before_queueing_any() {
    let e = run(EngineConfig::default(), market(), |b, e| {
        if b == 0 {
            let err = e.submit_bracket(OrderRequest::market(AAA, 10.0, OrderSide::Buy), f64::NAN, 99.0).unwrap_err();
            assert!(err.to_string().contains("take_profit"), "{err}");
        }
    });
    assert!(e.orders().is_empty());
}

#[test]
fn update_order_moves_a_limit_and_changes_quantity() {
    let mut id = 0;
    let e = run(EngineConfig::default(), market(), |b, e| match b {
        0 => id = accepted(e.submit_order(limit(AAA, 10.0, OrderSide::Buy, 95.0, TimeInForce::Gtc)).unwrap()),
        1 => {
            let update = OrderUpdate { quantity: Some(4.0), limit_price: Some(101.5), ..Default::default() };
            assert!(e.update_order(id, update).unwrap());
            let bad = OrderUpdate { quantity: Some(-1.0), ..Default::default() };
            assert!(e.update_order(id, bad).unwrap_err().to_string().contains("quantity"));
            let no_price = OrderUpdate { limit_price: Some(f64::INFINITY), ..Default::default() };
            assert!(e.update_order(id, no_price).is_err());
        }
        _ => {}
    });
    // Bar 2's low 103 misses 101.5; bar 3's low 100 reaches it.
    assert_eq!(fills(&e), vec![(1, 3, 101.5)]);
    assert_eq!(e.fills()[0].quantity, 4.0);
    let mut e = e;
    assert!(!e.update_order(id, OrderUpdate { quantity: Some(1.0), ..Default::default() }).unwrap());
}

/// A 10-share long (bar 1) with a sell stop-limit, stop 101.5 / limit 103.5:
/// bar 1's low 101 triggers it, but its close 103 does not reach the limit,
/// so it waits triggered. Bar 2's high 106 would then fill it at 103.5.
fn stop_limit_run(move_stop: bool) -> Engine {
    let mut id = 0;
    run(EngineConfig::default(), market(), |b, e| match b {
        0 => {
            buy(e, AAA, 10.0);
            let req = OrderRequest {
                stop_price: Some(101.5),
                limit_price: Some(103.5),
                ..OrderRequest::new(AAA, 10.0, OrderSide::Sell, OrderType::StopLimit)
            };
            id = accepted(e.submit_order(req).unwrap());
        }
        1 => {
            assert_eq!(e.order(id).unwrap().stop_triggered_at.get(), Some(1));
            if move_stop {
                // A new stop re-arms the order: 90 is never reached.
                assert!(e.update_order(id, OrderUpdate { stop_price: Some(90.0), ..Default::default() }).unwrap());
                assert_eq!(e.order(id).unwrap().stop_triggered_at.get(), None);
            }
        }
        _ => {}
    })
}

#[test]
fn updating_a_stop_price_re_arms_the_trigger() {
    assert_eq!(fills(&stop_limit_run(false)), vec![(1, 1, 102.0), (2, 2, 103.5)]);
    assert_eq!(fills(&stop_limit_run(true)), vec![(1, 1, 102.0)]);
}

#[test]
fn ioc_orders_get_one_pass() {
    let e = run(EngineConfig::default(), market(), |b, e| {
        if b == 0 {
            // Bar 1's low 101 reaches 101.5 but not 100.5.
            e.submit_order(limit(AAA, 1.0, OrderSide::Buy, 101.5, TimeInForce::Ioc)).unwrap();
            e.submit_order(limit(AAA, 1.0, OrderSide::Buy, 100.5, TimeInForce::Ioc)).unwrap();
            e.submit_order(limit(AAA, 1.0, OrderSide::Buy, 100.5, TimeInForce::Fok)).unwrap();
        }
    });
    assert_eq!(fills(&e), vec![(1, 1, 101.5)]);
    for (id, reason) in [(2, CancelReason::ImmediateOrCancel), (3, CancelReason::FillOrKill)] {
        let o = e.order(id).unwrap();
        assert_eq!((o.status, o.cancel_reason, o.extras().cancelled_at.get()), (OrderStatus::Cancelled, Some(reason), Some(1)));
    }
}

#[test]
fn day_orders_live_for_their_first_session() {
    // Sessions: bars 0-1 are day 0, bars 2-4 day 1.
    let mut e = Engine::new(EngineConfig::default(), market()).unwrap();
    e.set_sessions(vec![0, 0, 1, 1, 1]).unwrap();
    for b in 0..5 {
        e.begin_bar(b).unwrap();
        match b {
            // Executable from bar 1 (day 0); bar 1's low 101 misses 100.5: expires after bar 1.
            0 => { e.submit_order(limit(AAA, 1.0, OrderSide::Buy, 100.5, TimeInForce::Day)).unwrap(); }
            // Executable from bar 3 (day 1); bar 3's low 100 reaches it.
            2 => { e.submit_order(limit(AAA, 1.0, OrderSide::Buy, 100.5, TimeInForce::Day)).unwrap(); }
            _ => {}
        }
        e.end_bar().unwrap();
    }
    let first = e.order(1).unwrap();
    assert_eq!((first.status, first.cancel_reason, first.extras().cancelled_at.get()), (OrderStatus::Cancelled, Some(CancelReason::DayExpired), Some(1)));
    assert_eq!(fills(&e), vec![(2, 3, 100.5)]);
    let mut no_sessions = Engine::new(EngineConfig::default(), market()).unwrap();
    no_sessions.begin_bar(0).unwrap();
    assert!(no_sessions.submit_order(limit(AAA, 1.0, OrderSide::Buy, 100.5, TimeInForce::Day)).is_err());
}

/// 10 AAA bought on bar 0 (1020 at bar 1's open) leaves 980 of 2000. On bar 2
/// a buy of 30 BBB (1440 at bar 3's open 48) is submitted before a sale of
/// the 10 AAA (1030 at bar 3's open 103).
fn cash_race(ordering: FillOrdering) -> Engine {
    let cfg = EngineConfig { initial_cash: 2000.0, fill_ordering: ordering, ..EngineConfig::default() };
    run(cfg, market(), |b, e| match b {
        0 => { buy(e, AAA, 10.0); }
        2 => { buy(e, BBB, 30.0); sell(e, AAA, 10.0); }
        _ => {}
    })
}

#[test]
fn exit_first_frees_cash_before_entries_fifo_does_not() {
    let e = cash_race(FillOrdering::ExitFirst);
    assert_eq!(fills(&e), vec![(1, 1, 102.0), (3, 3, 103.0), (2, 3, 48.0)]);
    for ordering in [FillOrdering::Fifo, FillOrdering::Sequential] {
        let e = cash_race(ordering);
        assert_eq!(fills(&e), vec![(1, 1, 102.0), (3, 3, 103.0)]);
        let rejected = e.order(2).unwrap();
        assert_eq!(rejected.status, OrderStatus::Rejected);
        assert_eq!(rejected.rejection_reason.as_ref().map(ToString::to_string).as_deref(), Some("Insufficient cash: need $1440.00, have $980.00"));
    }
}

/// With 1100 cash, 10 AAA (1020 at bar 1's open) and 10 BBB (510) compete.
fn priority_race(priority: EntryOrderPriority, ordering: FillOrdering) -> Vec<u64> {
    let cfg = EngineConfig { initial_cash: 1100.0, entry_order_priority: priority, fill_ordering: ordering, ..EngineConfig::default() };
    let e = run(cfg, market(), |b, e| {
        if b == 0 {
            buy(e, AAA, 10.0);
            buy(e, BBB, 10.0);
        }
    });
    e.fills().iter().map(|f| f.order_id).collect()
}

#[test]
fn entry_priority_decides_who_gets_the_cash() {
    use EntryOrderPriority::*;
    for ordering in [FillOrdering::ExitFirst, FillOrdering::Priority] {
        assert_eq!(priority_race(Submission, ordering), vec![1]);
        assert_eq!(priority_race(NotionalDesc, ordering), vec![1]);
        assert_eq!(priority_race(NotionalAsc, ordering), vec![2]);
        assert_eq!(priority_race(FreeCashAsc, ordering), vec![2]);
        assert_eq!(priority_race(OrderValueAsc, ordering), vec![2]);
    }
    // FIFO ignores the priority.
    assert_eq!(priority_race(NotionalAsc, FillOrdering::Fifo), vec![1]);
}
