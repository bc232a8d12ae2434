//! Trading through an `ExecutionClient`: the kernel sends commands and books
//! the venue's reports with the same code as simulated fills. A scripted
//! venue stands in for a real one; prices are the fixture's (common/mod.rs).

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use nl_core::{CancelReason, EngineResult, ExitReason, Order, OrderId, OrderSide, OrderStatus, Refusal};
use nl_engine::venue::{ExecutionClient, ExecutionReport};
use nl_engine::{Engine, EngineConfig, OrderRequest, PositionRule, SubmitOutcome};

/// What the venue was asked to do, and the reports it will return next.
#[derive(Default)]
struct Venue {
    submitted: Vec<Order>,
    cancels: Vec<OrderId>,
    modified: Vec<Order>,
    outbox: Vec<ExecutionReport>,
    /// The connection is down: sends fail.
    offline: bool,
}

#[derive(Clone, Default)]
struct ScriptedVenue(Arc<Mutex<Venue>>);

impl ScriptedVenue {
    fn send(&self, report: ExecutionReport) {
        self.0.lock().unwrap().outbox.push(report);
    }
    fn fill(&self, order_id: OrderId, quantity: f64, price: f64, commission: f64) {
        self.send(ExecutionReport::Filled { order_id, timestamp: 0, quantity, price, commission });
    }
    fn venue(&self) -> std::sync::MutexGuard<'_, Venue> {
        self.0.lock().unwrap()
    }
}

impl ExecutionClient for ScriptedVenue {
    fn submit(&mut self, order: &Order) -> EngineResult<()> {
        if self.venue().offline {
            return Err(nl_core::EngineError::InvalidState("connection lost".into()));
        }
        self.venue().submitted.push(order.clone());
        Ok(())
    }
    fn cancel(&mut self, order_id: OrderId) -> EngineResult<()> {
        self.venue().cancels.push(order_id);
        Ok(())
    }
    fn modify(&mut self, order: &Order) -> EngineResult<()> {
        if self.venue().offline {
            return Err(nl_core::EngineError::InvalidState("connection lost".into()));
        }
        self.venue().modified.push(order.clone());
        Ok(())
    }
    fn poll(&mut self, reports: &mut Vec<ExecutionReport>) -> EngineResult<()> {
        reports.append(&mut self.venue().outbox);
        Ok(())
    }
}

fn engine(venue: &ScriptedVenue) -> Engine {
    let cfg = EngineConfig { initial_cash: 10_000.0, allow_short_selling: true, ..EngineConfig::default() };
    let mut e = Engine::new(cfg, market()).unwrap();
    e.set_execution_client(Box::new(venue.clone())).unwrap();
    e
}

fn id(outcome: SubmitOutcome) -> OrderId {
    match outcome {
        SubmitOutcome::Accepted(id) => id,
        SubmitOutcome::Ignored => panic!("no order"),
    }
}

#[test]
fn partial_then_complete_fills_are_booked_as_reported() {
    let venue = ScriptedVenue::default();
    let mut e = engine(&venue);
    e.begin_bar(0).unwrap();
    let order = id(e.submit_order(OrderRequest::market(AAA, 10.0, OrderSide::Buy)).unwrap());
    assert_eq!(venue.venue().submitted.len(), 1);
    // Nothing fills until the venue says so.
    e.end_bar().unwrap();
    e.begin_bar(1).unwrap();
    assert!(e.fills().is_empty());
    venue.send(ExecutionReport::Accepted { order_id: order, timestamp: 0 });
    venue.fill(order, 4.0, 100.5, 1.0);
    assert_eq!(e.process_reports().unwrap(), 2);
    // 4 @ 100.5 + 1 commission: cash 10,000 - 402 - 1 = 9,597; 6 still working.
    assert_eq!(e.cash(), 9_597.0);
    assert_eq!(e.position(AAA).unwrap().quantity, 4.0);
    assert_eq!(e.order(order).unwrap().status, OrderStatus::Pending);
    assert_eq!(e.order(order).unwrap().quantity, 6.0);
    venue.fill(order, 6.0, 101.0, 1.0);
    e.process_reports().unwrap();
    // 6 @ 101 + 1: cash 9,597 - 606 - 1 = 8,990; average (402 + 606) / 10 = 100.8.
    assert_eq!(e.cash(), 8_990.0);
    let o = e.order(order).unwrap();
    assert_eq!((o.status, o.filled_quantity, o.filled_price.get(), o.commission), (OrderStatus::Filled, 10.0, Some(100.8), 2.0));
    assert_eq!(e.fills()[1].reference_price, 103.0); // bar 1's close
    e.end_bar().unwrap();
    // Equity at bar 1's close 103: 8,990 + 1,030.
    assert_eq!(e.equity_curve(), &[10_000.0, 10_020.0]);
}

#[test]
fn a_filled_bracket_exit_asks_the_venue_to_cancel_its_sibling() {
    let venue = ScriptedVenue::default();
    let mut e = engine(&venue);
    e.begin_bar(0).unwrap();
    let [entry, tp, sl] = e.submit_bracket(OrderRequest::market(AAA, 10.0, OrderSide::Buy), 110.0, 95.0).unwrap().unwrap();
    assert_eq!(venue.venue().submitted.iter().map(|o| o.id).collect::<Vec<_>>(), [entry, tp, sl]);
    venue.fill(entry, 10.0, 100.0, 0.0);
    venue.fill(tp, 10.0, 110.0, 0.0);
    e.process_reports().unwrap();
    // The take-profit filled: the stop is asked to go, and works until confirmed.
    assert_eq!(venue.venue().cancels, [sl]);
    assert_eq!(e.order(sl).unwrap().status, OrderStatus::Pending);
    // The venue only knows "cancelled"; the kernel keeps why it asked.
    venue.send(ExecutionReport::Cancelled { order_id: sl, timestamp: 0, reason: CancelReason::User });
    e.process_reports().unwrap();
    assert_eq!(e.order(sl).unwrap().cancel_reason, Some(CancelReason::Oco));
    assert_eq!(e.pending_orders().count(), 0);
    // Round trip 10 x (110 - 100) = +100.
    assert_eq!(e.cash(), 10_100.0);
    assert_eq!(e.trades()[0].pnl, 100.0);
}

#[test]
fn cancels_and_changes_are_requests_and_refusals_keep_the_venues_words() {
    let venue = ScriptedVenue::default();
    let mut e = engine(&venue);
    e.begin_bar(0).unwrap();
    let mut limit = OrderRequest::new(AAA, 5.0, OrderSide::Buy, nl_core::OrderType::Limit);
    limit.limit_price = Some(99.0);
    let a = id(e.submit_order(limit).unwrap());
    let b = id(e.submit_order(OrderRequest::market(BBB, 5.0, OrderSide::Buy)).unwrap());
    assert!(e.cancel_order(a));
    assert_eq!(venue.venue().cancels, [a]);
    assert_eq!(e.order(a).unwrap().status, OrderStatus::Pending);
    e.update_order(a, nl_engine::OrderUpdate { limit_price: Some(98.0), ..Default::default() }).unwrap();
    assert_eq!(venue.venue().modified[0].limit_price.get(), Some(98.0));
    venue.send(ExecutionReport::Cancelled { order_id: a, timestamp: 0, reason: CancelReason::User });
    venue.send(ExecutionReport::Rejected { order_id: b, timestamp: 0, reason: Refusal::Venue { text: "unknown symbol BBB".into() } });
    e.process_reports().unwrap();
    assert_eq!(e.order(a).unwrap().status, OrderStatus::Cancelled);
    let rejected = e.order(b).unwrap();
    assert_eq!(rejected.status, OrderStatus::Rejected);
    assert_eq!(rejected.rejection_reason.as_ref().unwrap().to_string(), "unknown symbol BBB");
    assert_eq!(e.cash(), 10_000.0);
}

#[test]
fn reports_that_would_corrupt_the_book_are_refused() {
    let venue = ScriptedVenue::default();
    let mut e = engine(&venue);
    e.begin_bar(0).unwrap();
    let order = id(e.submit_order(OrderRequest::market(AAA, 10.0, OrderSide::Buy)).unwrap());
    let fill = |q: f64, p: f64| ExecutionReport::Filled { order_id: order, timestamp: 0, quantity: q, price: p, commission: 0.0 };
    let err = |e: &mut Engine, r: ExecutionReport| e.apply_report(&r).unwrap_err().to_string();
    assert!(err(&mut e, ExecutionReport::Accepted { order_id: 99, timestamp: 0 }).contains("unknown order 99"));
    assert!(err(&mut e, fill(11.0, 100.0)).contains("exceeds the 10"));
    assert!(err(&mut e, fill(1.0, f64::NAN)).contains("positive quantity and price"));
    e.apply_report(&fill(10.0, 100.0)).unwrap();
    assert!(err(&mut e, fill(1.0, 100.0)).contains("no longer working"));
    assert_eq!(e.cash(), 9_000.0);
}

#[test]
fn rule_exits_go_to_the_venue_and_sim_only_settings_are_refused() {
    let venue = ScriptedVenue::default();
    let mut e = engine(&venue);
    e.set_position_rules(None, Some(PositionRule::StopLoss { pct: 0.01 })).unwrap();
    e.begin_bar(0).unwrap();
    let order = id(e.submit_order(OrderRequest::market(AAA, 10.0, OrderSide::Buy)).unwrap());
    e.end_bar().unwrap();
    e.begin_bar(1).unwrap();
    venue.fill(order, 10.0, 102.0, 0.0);
    e.process_reports().unwrap();
    e.end_bar().unwrap();
    for b in 2..5 {
        e.begin_bar(b).unwrap();
        e.end_bar().unwrap();
    }
    // Stop 1% under 102 = 100.98: bar 3's low 100 reaches it and the exit is
    // sent; bar 4's low 97 is below it too, but the exit is still working
    // there (no fill reported), so it is not sent twice.
    let sent = venue.venue().submitted.clone();
    assert_eq!(sent.len(), 2);
    assert_eq!((sent[1].side, sent[1].quantity, sent[1].exit_reason), (OrderSide::Sell, 10.0, ExitReason::StopLoss));
    assert_eq!(e.position(AAA).unwrap().quantity, 10.0);

    let cfg = EngineConfig { immediate_fill: true, ..EngineConfig::default() };
    let err = Engine::new(cfg, market()).unwrap().set_execution_client(Box::new(ScriptedVenue::default())).unwrap_err();
    assert!(err.to_string().contains("immediate_fill"));
    let cfg = EngineConfig {
        allow_short_selling: true,
        short_cash_policy: nl_engine::account::ShortCashPolicy::LockNotional,
        ..EngineConfig::default()
    };
    let err = Engine::new(cfg, market()).unwrap().set_execution_client(Box::new(ScriptedVenue::default())).unwrap_err();
    assert!(err.to_string().contains("LOCK_NOTIONAL"));
    let mut late = Engine::new(EngineConfig::default(), market()).unwrap();
    late.begin_bar(0).unwrap();
    assert!(late.set_execution_client(Box::new(ScriptedVenue::default())).is_err());
    assert!(late.process_reports().is_err());
}

#[test]
fn one_bad_report_does_not_lose_the_others() {
    let venue = ScriptedVenue::default();
    let mut e = engine(&venue);
    e.begin_bar(0).unwrap();
    let a = id(e.submit_order(OrderRequest::market(AAA, 10.0, OrderSide::Buy)).unwrap());
    let b = id(e.submit_order(OrderRequest::market(BBB, 10.0, OrderSide::Buy)).unwrap());
    venue.fill(a, 10.0, 100.0, 0.0);
    venue.fill(a, 1.0, 100.0, 0.0); // a duplicate: the order is already filled
    venue.fill(b, 10.0, 50.0, 0.0);
    let err = e.process_reports().unwrap_err().to_string();
    assert!(err.starts_with("1 of 3 execution reports refused (2 applied)"), "{err}");
    // Both real fills are booked: 10,000 - 1,000 - 500.
    assert_eq!(e.cash(), 8_500.0);
    assert_eq!(e.order(b).unwrap().status, OrderStatus::Filled);
}

#[test]
fn fills_that_add_up_to_the_order_complete_it() {
    let venue = ScriptedVenue::default();
    let cfg = EngineConfig { share_type: nl_core::ShareType::Fractional, ..EngineConfig::default() };
    let mut e = Engine::new(cfg, market()).unwrap();
    e.set_execution_client(Box::new(venue.clone())).unwrap();
    e.begin_bar(0).unwrap();
    let order = id(e.submit_order(OrderRequest::market(AAA, 1.0, OrderSide::Buy)).unwrap());
    // 0.7 + 0.3 leaves 5.55e-17 in floating point: that is nothing left.
    venue.fill(order, 0.7, 100.0, 0.0);
    venue.fill(order, 0.3, 100.0, 0.0);
    e.process_reports().unwrap();
    assert_eq!(e.order(order).unwrap().status, OrderStatus::Filled);
    assert_eq!(e.pending_orders().count(), 0);
    // An integer account takes whole units only.
    let mut whole = engine(&venue);
    whole.begin_bar(0).unwrap();
    let order = id(whole.submit_order(OrderRequest::market(AAA, 2.0, OrderSide::Buy)).unwrap());
    let half = ExecutionReport::Filled { order_id: order, timestamp: 0, quantity: 0.5, price: 100.0, commission: 0.0 };
    assert!(whole.apply_report(&half).unwrap_err().to_string().contains("not whole units"));
}

#[test]
fn an_order_the_venue_never_got_is_rejected_and_a_failed_change_is_not_applied() {
    let venue = ScriptedVenue::default();
    let mut e = engine(&venue);
    e.begin_bar(0).unwrap();
    let mut limit = OrderRequest::new(AAA, 5.0, OrderSide::Buy, nl_core::OrderType::Limit);
    limit.limit_price = Some(99.0);
    let working = id(e.submit_order(limit).unwrap());
    venue.venue().offline = true;
    let lost = id(e.submit_order(OrderRequest::market(AAA, 5.0, OrderSide::Buy)).unwrap());
    let o = e.order(lost).unwrap();
    assert_eq!(o.status, OrderStatus::Rejected);
    assert_eq!(o.rejection_reason.as_ref().unwrap().to_string(), "not sent to the venue: connection lost");
    let change = nl_engine::OrderUpdate { limit_price: Some(98.0), ..Default::default() };
    assert!(e.update_order(working, change).is_err());
    assert_eq!(e.order(working).unwrap().limit_price.get(), Some(99.0));
}

#[test]
fn an_expired_order_says_which_time_in_force_ran_out() {
    let venue = ScriptedVenue::default();
    let mut e = engine(&venue);
    e.begin_bar(0).unwrap();
    let mut ioc = OrderRequest::market(AAA, 5.0, OrderSide::Buy);
    ioc.time_in_force = nl_core::TimeInForce::Ioc;
    let order = id(e.submit_order(ioc).unwrap());
    venue.send(ExecutionReport::Expired { order_id: order, timestamp: 0 });
    e.process_reports().unwrap();
    assert_eq!(e.order(order).unwrap().cancel_reason, Some(CancelReason::ImmediateOrCancel));
}

#[test]
fn a_fill_in_an_asset_without_a_bar_yet_is_valued_at_its_price() {
    // AAA has no row on bar 0; the venue fills 10 @ 100 there anyway.
    let venue = ScriptedVenue::default();
    let mut e = Engine::new(EngineConfig { initial_cash: 10_000.0, ..EngineConfig::default() }, market_without(&[(0, AAA)])).unwrap();
    e.set_execution_client(Box::new(venue.clone())).unwrap();
    e.begin_bar(0).unwrap();
    let order = id(e.submit_order(OrderRequest::market(AAA, 10.0, OrderSide::Buy)).unwrap());
    venue.fill(order, 10.0, 100.0, 0.0);
    e.process_reports().unwrap();
    assert!(e.fills()[0].reference_price.is_nan());
    e.end_bar().unwrap();
    // Cash 9,000 + 10 x 100.
    assert_eq!(e.equity_curve(), &[10_000.0]);
}
