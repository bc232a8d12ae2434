//! Hand-computed scenarios on the two-asset fixture (see common/mod.rs).
//! Every expected number can be checked with a pencil from the bar table.

mod common;

use common::*;
use nl_core::{ExecutionMode, ExecutionPrice, OrderStatus, ShareType, TradeStatus};
use nl_engine::{CommissionModel, EngineConfig, SlippageModel};

fn cfg() -> EngineConfig {
    EngineConfig::default()
}

#[test]
fn next_bar_market_orders_fill_at_the_next_open() {
    // Buy 10 AAA on bar 0 -> bar 1 open 102; sell on bar 2 -> bar 3 open 103.
    let e = run(cfg(), market(), |b, e| match b {
        0 => { buy(e, AAA, 10.0); }
        2 => { sell(e, AAA, 10.0); }
        4 => { buy(e, BBB, 5.0); } // last bar: never fills, stays pending
        _ => {}
    });
    let fills = e.fills();
    assert_eq!(fills.len(), 2);
    assert_eq!((fills[0].timestamp, fills[0].price, fills[0].price_source), (1, 102.0, ExecutionPrice::Open));
    assert_eq!((fills[1].timestamp, fills[1].price), (3, 103.0));
    assert_eq!(fills[0].reference_price, 103.0); // bar 1 close
    // Marks at closes: bar1 98980 + 10*103, bar2 98980 + 10*105, then flat.
    assert_eq!(e.equity_curve(), &[100_000.0, 100_010.0, 100_030.0, 100_010.0, 100_010.0]);
    assert_eq!(e.orders()[2].status, OrderStatus::Pending);
    assert_eq!(e.pending_orders().count(), 1);
    let t = &e.trades()[0];
    assert_eq!((t.entry_price, t.exit_price, t.quantity, t.pnl, t.bars_held), (102.0, 103.0, 10.0, 10.0, 2));
}

#[test]
fn same_bar_fills_at_the_configured_price_of_the_same_bar() {
    let actions = |b: u32, e: &mut nl_engine::Engine| match b {
        0 => { buy(e, AAA, 10.0); }
        2 => { sell(e, AAA, 10.0); }
        4 => { buy(e, BBB, 5.0); }
        _ => {}
    };
    let open = EngineConfig { execution_mode: ExecutionMode::SameBar, ..cfg() };
    let e = run(open, market(), actions);
    let prices: Vec<f64> = e.fills().iter().map(|f| f.price).collect();
    assert_eq!(prices, vec![100.0, 104.0, 50.0]); // same-bar opens
    assert_eq!(e.equity_curve(), &[100_010.0, 100_030.0, 100_040.0, 100_040.0, 100_040.0]);

    let close = EngineConfig { execution_mode: ExecutionMode::SameBar, execution_price: ExecutionPrice::Close, ..cfg() };
    let e = run(close, market(), actions);
    let prices: Vec<f64> = e.fills().iter().map(|f| f.price).collect();
    assert_eq!(prices, vec![101.0, 105.0, 50.0]); // same-bar closes
    assert_eq!(e.equity_curve(), &[100_000.0, 100_020.0, 100_040.0, 100_040.0, 100_040.0]);

    let mid = EngineConfig { execution_mode: ExecutionMode::SameBar, execution_price: ExecutionPrice::Mid, ..cfg() };
    let e = run(mid, market(), actions);
    assert_eq!(e.fills()[0].price, 100.5); // (102 + 99) / 2
}

/// Bar 0: buy 10 AAA and 500 BBB; bar 2: sell 10 AAA and 200 BBB (BBB stays 300 long).
fn cost_run(commission: CommissionModel, slippage: SlippageModel) -> nl_engine::Engine {
    run(EngineConfig { commission: commission.into(), slippage: slippage.into(), ..cfg() }, market(), |b, e| match b {
        0 => { buy(e, AAA, 10.0); buy(e, BBB, 500.0); }
        2 => { sell(e, AAA, 10.0); sell(e, BBB, 200.0); }
        _ => {}
    })
}

#[test]
fn percentage_commission_is_charged_on_fill_notional() {
    let e = cost_run(CommissionModel::Percentage { rate: 0.001 }, SlippageModel::None);
    let c: Vec<f64> = e.fills().iter().map(|f| f.commission).collect();
    assert_eq!(c, vec![1.02, 25.5, 1.03, 9.6]); // 0.1% of 1020, 25500, 1030, 9600
    assert_eq!(e.cash(), 84072.84999999999);
    assert_eq!(*e.equity_curve().last().unwrap(), 99072.84999999999); // + 300 * 50
}

#[test]
fn per_share_commission_has_a_minimum_per_fill() {
    let e = cost_run(CommissionModel::PerShare { per_share: 0.01, minimum: 1.0 }, SlippageModel::None);
    let c: Vec<f64> = e.fills().iter().map(|f| f.commission).collect();
    assert_eq!(c, vec![1.0, 5.0, 1.0, 2.0]); // 10*0.01 -> min 1; 500*0.01 = 5; ...
    assert_eq!(e.cash(), 84101.0);
}

#[test]
fn per_trade_commission_is_flat_per_fill() {
    let e = cost_run(CommissionModel::Combined { percentage: 0.0, fixed: 2.0 }, SlippageModel::None);
    assert!(e.fills().iter().all(|f| f.commission == 2.0));
    assert_eq!(e.cash(), 84102.0);
}

#[test]
fn percentage_slippage_moves_price_against_the_order_and_commission_uses_it() {
    let e = cost_run(CommissionModel::Percentage { rate: 0.001 }, SlippageModel::Percentage { rate: 0.01 });
    let f = e.fills();
    // Buy AAA at 102 + 1.02; BBB at 51 + 0.51; sells at 103 - 1.03 and 48 - 0.48.
    assert_eq!((f[0].price, f[0].slippage, f[0].commission), (103.02, 1.02, 1.0302));
    assert_eq!((f[1].price, f[1].slippage), (51.51, 0.51));
    assert_eq!((f[2].price, f[2].slippage), (101.97, 1.03));
    assert_eq!((f[3].price, f[3].slippage), (47.52, 0.48));
    assert!((e.cash() - 83701.1911).abs() < 1e-9);
}

#[test]
fn fixed_slippage_is_per_share() {
    let e = cost_run(CommissionModel::None, SlippageModel::Fixed { amount: 0.05 });
    let p: Vec<f64> = e.fills().iter().map(|f| f.price).collect();
    assert_eq!(p, vec![102.05, 51.05, 102.95, 47.95]);
    assert_eq!(e.cash(), 84074.0);
}

#[test]
fn cash_account_rejects_what_it_cannot_pay_for() {
    let small = |cash| EngineConfig { initial_cash: cash, ..cfg() };
    // 100 * 102 = 10200 > 10000.
    let e = run(small(10_000.0), market(), |b, e| if b == 0 { buy(e, AAA, 100.0); });
    assert_eq!(e.orders()[0].status, OrderStatus::Rejected);
    assert_eq!(e.orders()[0].rejection_reason.as_ref().map(ToString::to_string).as_deref(), Some("Insufficient cash: need $10200.00, have $10000.00"));
    assert!(e.fills().is_empty());
    // The check includes commission: 98 * 102 = 9996 plus 9.996 > 10000.
    let with_fee = EngineConfig { commission: CommissionModel::Percentage { rate: 0.001 }.into(), ..small(10_000.0) };
    let e = run(with_fee, market(), |b, e| if b == 0 { buy(e, AAA, 98.0); });
    assert_eq!(e.orders()[0].rejection_reason.as_ref().map(ToString::to_string).as_deref(), Some("Insufficient cash: need $9996.00, have $9990.00"));
    // Within the 0.01 tolerance the buy fills and cash ends a hair below zero.
    let e = run(small(1019.995), market(), |b, e| if b == 0 { buy(e, AAA, 10.0); });
    assert_eq!(e.orders()[0].status, OrderStatus::Filled);
    assert!((e.cash() - -0.005).abs() < 1e-9);
    let e = run(small(1019.989), market(), |b, e| if b == 0 { buy(e, AAA, 10.0); });
    assert_eq!(e.orders()[0].status, OrderStatus::Rejected);
}

#[test]
fn cash_account_rejects_shorts_and_reversals() {
    let e = run(cfg(), market(), |b, e| match b {
        0 => { sell(e, BBB, 10.0); buy(e, AAA, 10.0); }
        1 => { sell(e, AAA, 15.0); }
        _ => {}
    });
    assert_eq!(e.orders()[0].rejection_reason.as_ref().map(ToString::to_string).as_deref(), Some("Short selling not allowed in cash account"));
    assert_eq!(e.orders()[2].rejection_reason.as_ref().map(ToString::to_string).as_deref(), Some("Position reversal not allowed in cash account"));
    assert_eq!(e.position(AAA).unwrap().quantity, 10.0);
}

#[test]
fn short_enabled_account_reverses_in_one_fill_with_two_trades() {
    // Long 10 at 102 (fee 1.02), then sell 25 at 104 (fee 2.6): closes 10, opens short 15.
    let c = EngineConfig {
        allow_short_selling: true,
        commission: CommissionModel::Percentage { rate: 0.001 }.into(),
        ..cfg()
    };
    let e = run(c, market(), |b, e| match b {
        0 => { buy(e, AAA, 10.0); }
        1 => { sell(e, AAA, 25.0); }
        _ => {}
    });
    assert_eq!(e.fills().len(), 2);
    let t = &e.trades()[0];
    // Fees: entry 1.02 + the closed share of the flip fee, 2.6 * 10/25 = 1.04.
    assert_eq!((t.quantity, t.entry_price, t.exit_price, t.status), (10.0, 102.0, 104.0, TradeStatus::Closed));
    assert!((t.fees - 2.06).abs() < 1e-12 && (t.pnl - 17.94).abs() < 1e-12);
    let p = e.position(AAA).unwrap();
    assert_eq!((p.quantity, p.entry_price), (-15.0, 104.0));
    assert!((p.entry_commission - 1.56).abs() < 1e-12);
}

#[test]
fn exits_fill_first_and_fund_entries_in_the_same_bar() {
    // Cash 10000: buy 90 AAA at 102 (cash 820). Bar 1 submits buy 150 BBB first,
    // then sell 90 AAA; at bar 2 the sell fills first (90 * 104 = 9360), so the
    // buy (150 * 49 = 7350) is affordable.
    let e = run(EngineConfig { initial_cash: 10_000.0, ..cfg() }, market(), |b, e| match b {
        0 => { buy(e, AAA, 90.0); }
        1 => { buy(e, BBB, 150.0); sell(e, AAA, 90.0); }
        _ => {}
    });
    let order: Vec<u64> = e.fills().iter().map(|f| f.order_id).collect();
    assert_eq!(order, vec![1, 3, 2]);
    assert_eq!(e.cash(), 2830.0);
    assert_eq!(*e.equity_curve().last().unwrap(), 10_330.0); // 2830 + 150 * 50
}

#[test]
fn entries_in_one_bar_see_cash_used_by_earlier_entries() {
    let e = run(EngineConfig { initial_cash: 10_000.0, ..cfg() }, market(), |b, e| if b == 0 {
        buy(e, BBB, 100.0); // 5100
        buy(e, AAA, 60.0); // 6120 > 4900 left: rejected
        buy(e, BBB, 10.0); // 510
    });
    let s: Vec<OrderStatus> = e.orders().iter().map(|o| o.status).collect();
    assert_eq!(s, vec![OrderStatus::Filled, OrderStatus::Rejected, OrderStatus::Filled]);
    assert_eq!(e.orders()[1].rejection_reason.as_ref().map(ToString::to_string).as_deref(), Some("Insufficient cash: need $6120.00, have $4900.00"));
    assert_eq!(e.cash(), 4390.0);
}

#[test]
fn adds_average_the_entry_and_partial_exits_allocate_entry_fees() {
    // 0.1% commission. Buy 10 @102, buy 20 @104, sell 12 @103, sell 18 @100.
    let c = EngineConfig { commission: CommissionModel::Percentage { rate: 0.001 }.into(), ..cfg() };
    let e = run(c, market(), |b, e| match b {
        0 => { buy(e, AAA, 10.0); }
        1 => { buy(e, AAA, 20.0); }
        2 => { sell(e, AAA, 12.0); }
        3 => { sell(e, AAA, 18.0); }
        _ => {}
    });
    let t = e.trades();
    assert_eq!(t.len(), 2);
    // Entry (10*102 + 20*104)/30 = 103.333...; entry fees 1.02 + 2.08 = 3.1.
    assert_eq!(t[0].status, TradeStatus::Partial);
    assert_eq!(t[0].quantity, 12.0);
    assert!((t[0].entry_price - 103.33333333333333).abs() < 1e-12);
    assert!((t[0].fees - 2.476).abs() < 1e-12); // 3.1 * 12/30 + 1.236
    assert!((t[0].pnl - -6.476).abs() < 1e-9); // (103 - 103.33) * 12 - 2.476
    assert_eq!(t[0].bars_held, 2);
    assert_eq!(t[1].status, TradeStatus::Closed);
    assert!((t[1].fees - 3.66).abs() < 1e-12); // 1.86 left + 1.8
    assert!((t[1].pnl - -63.66).abs() < 1e-9);
    assert_eq!(t[1].bars_held, 3);
}

#[test]
fn integer_accounts_floor_at_processing_and_reject_zero() {
    let e = run(cfg(), market(), |b, e| if b == 0 {
        buy(e, AAA, 10.7);
        buy(e, BBB, 0.4);
        assert_eq!(buy(e, BBB, 1e-9), 0, "a practically zero quantity creates no order");
    });
    assert_eq!((e.orders()[0].quantity, e.orders()[0].requested_quantity), (10.0, 10.7));
    assert_eq!(e.fills()[0].quantity, 10.0);
    assert_eq!(e.orders()[1].status, OrderStatus::Rejected);
    assert_eq!(e.orders()[1].rejection_reason.as_ref().map(ToString::to_string).as_deref(), Some("Quantity rounds to zero (share_type=INTEGER)"));
    assert_eq!(e.orders().len(), 2);
    let frac = EngineConfig { share_type: ShareType::Fractional, ..cfg() };
    let e = run(frac, market(), |b, e| if b == 0 { buy(e, BBB, 0.4); });
    assert_eq!(e.fills()[0].quantity, 0.4);
}

#[test]
fn an_order_waits_for_its_asset_to_have_a_bar() {
    // BBB has no rows on bars 1 and 2: the bar-0 order fills at bar 3's open, 48.
    let e = run(cfg(), market_without(&[(1, BBB), (2, BBB)]), |b, e| if b == 0 { buy(e, BBB, 10.0); });
    assert_eq!((e.fills()[0].timestamp, e.fills()[0].price), (3, 48.0));
    // Equity on bars 1-2 marks nothing (flat) and bars_held counts missing bars.
    let e = run(cfg(), market_without(&[(2, AAA)]), |b, e| match b {
        0 => { buy(e, AAA, 10.0); }
        3 => { sell(e, AAA, 10.0); }
        _ => {}
    });
    assert_eq!(e.trades()[0].bars_held, 3); // entry bar 1, exit bar 4
    assert_eq!(e.equity_curve()[2], 100_010.0); // AAA missing on bar 2: marked at bar-1 close 103
}

#[test]
fn excursions_use_closes_including_the_entry_bar() {
    let e = run(cfg(), market(), |b, e| match b {
        0 => { buy(e, AAA, 10.0); }
        3 => { sell(e, AAA, 10.0); }
        _ => {}
    });
    let t = &e.trades()[0];
    // Entry 102; closes 103, 105, 101 -> best (105-102)/102, worst (101-102)/102.
    assert_eq!(t.mfe, (105.0 - 102.0) / 102.0);
    assert_eq!(t.mae, (101.0 - 102.0) / 102.0);
}

#[test]
fn cancelled_orders_never_fill() {
    let e = run(cfg(), market(), |b, e| if b == 0 {
        let id = buy(e, AAA, 10.0);
        assert!(e.cancel_order(id));
        assert!(!e.cancel_order(id), "cancelling twice reports false");
    });
    assert!(e.fills().is_empty());
    assert_eq!(e.orders()[0].status, OrderStatus::Cancelled);
}

#[test]
fn bars_must_be_stepped_in_order() {
    let mut e = nl_engine::Engine::new(cfg(), market()).unwrap();
    assert!(e.begin_bar(1).is_err());
    e.begin_bar(0).unwrap();
    assert!(e.begin_bar(1).is_err(), "bar 0 not ended");
    e.end_bar().unwrap();
    assert!(e.end_bar().is_err());
}

#[test]
fn a_closed_position_is_kept_only_when_asked_for() {
    // AAA 10 bought at bar 1's open 102 (serial 1), kept on bar 1, sold at bar 3's
    // open 103; BBB 5 bought at bar 1's open 51 (serial 2), never kept, sold at
    // bar 3's open 48.
    let e = run(cfg(), market(), |b, e| match b {
        0 => { buy(e, AAA, 10.0); buy(e, BBB, 5.0); }
        1 => {
            assert!(e.keep_when_closed(1));
            assert!(!e.keep_when_closed(3)); // not opened (yet)
        }
        2 => { sell(e, AAA, 10.0); sell(e, BBB, 5.0); }
        _ => {}
    });
    let kept = e.closed_position(1).expect("kept");
    // As it stood just before the closing fill: marked at bar 2's close 105.
    assert_eq!((kept.asset, kept.quantity, kept.entry_price, kept.current_price), (AAA, 10.0, 102.0, 105.0));
    assert!(e.closed_position(2).is_none());
    assert_eq!(e.trades().len(), 2);
}

#[test]
fn a_kept_position_is_dropped_with_its_last_view() {
    // AAA 10 bought at bar 1's open (serial 1), kept twice on bar 1, sold at bar 3's open.
    let mut e = run(cfg(), market(), |b, e| match b {
        0 => { buy(e, AAA, 10.0); }
        1 => { assert!(e.keep_when_closed(1) && e.keep_when_closed(1)); }
        2 => { sell(e, AAA, 10.0); }
        _ => {}
    });
    assert!(e.release_position(1));
    assert_eq!(e.closed_position(1).map(|p| p.quantity), Some(10.0)); // one view left
    assert!(e.release_position(1));
    assert!(e.closed_position(1).is_none());
    assert!(!e.release_position(1)); // not kept any more
}
