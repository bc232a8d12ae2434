//! Exchange sessions in the kernel, hand-computed on the fixture (see
//! common/mod.rs; bar times are 0..4): `CancelPolicy.SESSION_END` cancels
//! (`set_session_closes`) and bars outside the sessions passed over
//! (`set_session_mask`, `begin_session_bar`).
//!
//! | bar | AAA open/high/low/close |
//! |-----|-------------------------|
//! | 0   | 100 / 102 / 99 / 101    |
//! | 1   | 102 / 104 / 101 / 103   |
//! | 2   | 104 / 106 / 103 / 105   |
//! | 3   | 103 / 104 / 100 / 101   |
//! | 4   | 100 / 101 / 97 / 98     |

mod common;

use common::*;
use nl_core::{CancelReason, OrderSide, OrderStatus, OrderType, TimeInForce};
use nl_engine::{Engine, EngineConfig, OrderRequest, SubmitOutcome};

fn limit_buy(e: &mut Engine, price: f64) -> u64 {
    let req = OrderRequest { limit_price: Some(price), time_in_force: TimeInForce::Gtc,
                             ..OrderRequest::new(AAA, 1.0, OrderSide::Buy, OrderType::Limit) };
    match e.submit_order(req).unwrap() {
        SubmitOutcome::Accepted(id) => id,
        SubmitOutcome::Ignored => panic!("order ignored"),
    }
}

/// A buy limit at 101.5 submitted on bar 0; bar 1 (low 101) would fill it.
fn resting_limit_run(sessions: Vec<i64>, closes: Option<Vec<i64>>) -> Engine {
    let mut e = Engine::new(EngineConfig::default(), market()).unwrap();
    e.set_sessions(sessions).unwrap();
    if let Some(c) = closes {
        e.set_session_closes(c).unwrap();
    }
    for b in 0..5 {
        e.begin_bar(b).unwrap();
        if b == 0 {
            limit_buy(&mut e, 101.5);
        }
        e.end_bar().unwrap();
    }
    e
}

#[test]
fn a_gtc_limit_fills_in_the_next_session_without_session_end() {
    let e = resting_limit_run(vec![0, 1, 1, 1, 1], None);
    assert_eq!(e.fills().iter().map(|f| (f.timestamp, f.price)).collect::<Vec<_>>(), vec![(1, 101.5)]);
}

#[test]
fn session_end_cancels_it_at_its_sessions_close_before_the_next_session_trades() {
    // Session 0 closes at time 1, which is bar 1's time, but bar 1 opens
    // session 1: the order is cancelled at bar 1's start, stamped 1.
    let e = resting_limit_run(vec![0, 1, 1, 1, 1], Some(vec![1, 5, 5, 5, 5]));
    assert!(e.fills().is_empty());
    let o = e.order(1).unwrap();
    assert_eq!((o.status, o.cancel_reason, o.extras().cancelled_at.get()),
               (OrderStatus::Cancelled, Some(CancelReason::SessionEnd), Some(1)));
}

#[test]
fn a_bar_at_its_own_sessions_close_trades_then_cancels_what_is_left() {
    // Bar 1 closes session 0 (a bar labelled by its close): it may fill
    // the order first; here a limit of 100.5 misses bar 1's low 101, so the
    // order is cancelled at bar 1's end and bar 3 (low 100) never fills it.
    let mut e = Engine::new(EngineConfig::default(), market()).unwrap();
    e.set_sessions(vec![0, 0, 1, 1, 1]).unwrap();
    e.set_session_closes(vec![1, 1, 5, 5, 5]).unwrap();
    for b in 0..5 {
        e.begin_bar(b).unwrap();
        if b == 0 {
            limit_buy(&mut e, 100.5);
        }
        e.end_bar().unwrap();
    }
    assert!(e.fills().is_empty());
    let o = e.order(1).unwrap();
    assert_eq!((o.cancel_reason, o.extras().cancelled_at.get()), (Some(CancelReason::SessionEnd), Some(1)));
}

#[test]
fn session_closes_need_sessions_and_one_entry_per_bar() {
    let mut e = Engine::new(EngineConfig::default(), market()).unwrap();
    assert!(e.set_session_closes(vec![5; 5]).is_err());
    e.set_sessions(vec![0; 5]).unwrap();
    assert!(e.set_session_closes(vec![5; 4]).is_err());
    assert!(e.set_session_mask(vec![true; 4]).is_err());
}

#[test]
fn a_bar_outside_the_sessions_is_passed_over() {
    // Bar 1 is outside: the market order from bar 0 fills at bar 2's open
    // 104 (not bar 1's 102), and bar 1 has no equity point.
    let mut e = Engine::new(EngineConfig::default(), market()).unwrap();
    e.set_session_mask(vec![true, false, true, true, true]).unwrap();
    let mut traded = Vec::new();
    for b in 0..5 {
        if !e.begin_session_bar(b).unwrap() {
            continue;
        }
        traded.push(b);
        if b == 0 {
            buy(&mut e, AAA, 10.0);
        }
        e.end_bar().unwrap();
    }
    assert_eq!(traded, vec![0, 2, 3, 4]);
    assert_eq!(e.fills().iter().map(|f| (f.timestamp, f.price)).collect::<Vec<_>>(), vec![(2, 104.0)]);
    assert_eq!(e.equity_curve().len(), 4);
    assert_eq!(e.skipped_bars(), 1);
}
