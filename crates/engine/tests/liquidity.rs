//! Volume participation limits (partial fills carried to later bars) and
//! market impact, hand-computed on the fixture (see common/mod.rs): AAA opens
//! 100, 102, 104, 103, 100; bar volumes 1000, 2000, 3000, 4000, 5000.

mod common;

use common::*;
use nl_core::{CancelReason, OrderSide, OrderStatus, OrderType, TimeInForce};
use nl_engine::{CommissionModel, Engine, EngineConfig, ExecutionLimit, MarketImpact, OrderRequest, PerAsset};

fn limited(max_participation: f64, min_volume: f64) -> EngineConfig {
    EngineConfig {
        limits: PerAsset::uniform(ExecutionLimit::VolumeParticipation { max_participation, min_volume }),
        ..EngineConfig::default()
    }
}

fn fills(e: &Engine) -> Vec<(i64, f64, f64)> {
    e.fills().iter().map(|f| (f.timestamp, f.quantity, f.price)).collect()
}

fn buy_500_on_bar_0(cfg: EngineConfig) -> Engine {
    run(cfg, market(), |b, e| {
        if b == 0 {
            buy(e, AAA, 500.0);
        }
    })
}

#[test]
fn a_participation_limit_splits_an_order_over_bars() {
    // 10% of 2000 = 200 at bar 1's open 102, the other 300 (10% of 3000) at bar 2's 104.
    let e = buy_500_on_bar_0(limited(0.1, 0.0));
    assert_eq!(fills(&e), vec![(1, 200.0, 102.0), (2, 300.0, 104.0)]);
    let o = e.order(1).unwrap();
    assert_eq!((o.status, o.filled_quantity, o.filled_at.get()), (OrderStatus::Filled, 500.0, Some(2)));
    assert_eq!(o.filled_price.get(), Some((102.0 * 200.0 + 104.0 * 300.0) / 500.0)); // 103.2
    assert_eq!(e.position(AAA).unwrap().quantity, 500.0);
}

#[test]
fn a_partially_filled_order_stays_pending_with_the_remainder() {
    let mut seen = None;
    run(limited(0.1, 0.0), market(), |b, e| match b {
        0 => { buy(e, AAA, 500.0); }
        1 => {
            let o = e.order(1).unwrap();
            seen = Some((o.status, o.quantity, o.filled_quantity, o.requested_quantity));
        }
        _ => {}
    });
    assert_eq!(seen, Some((OrderStatus::Pending, 300.0, 200.0, 500.0)));
}

#[test]
fn bars_below_the_minimum_volume_fill_nothing() {
    // Bar 1 (2000) is below 2500; bar 2 (3000) fills 300, bar 3 (4000) the last 200.
    let e = buy_500_on_bar_0(limited(0.1, 2500.0));
    assert_eq!(fills(&e), vec![(2, 300.0, 104.0), (3, 200.0, 103.0)]);
}

#[test]
fn a_per_order_fee_is_charged_once_across_partial_fills() {
    // 200 * 0.01 + 1 = 3 -> the 5 minimum; then 500 * 0.01 + 1 = 6 in all, 1 more.
    let cfg = EngineConfig {
        commission: CommissionModel::PerOrder { per_share: 0.01, rate: 0.0, per_trade: 1.0, minimum: 5.0 }.into(),
        ..limited(0.1, 0.0)
    };
    let e = buy_500_on_bar_0(cfg);
    let fees: Vec<f64> = e.fills().iter().map(|f| f.commission).collect();
    assert_eq!(fees, vec![5.0, 1.0]);
    assert_eq!(e.order(1).unwrap().commission, 6.0);
}

#[test]
fn ioc_keeps_its_partial_fill_and_fok_fills_nothing() {
    let tif = |t| OrderRequest { time_in_force: t, ..OrderRequest::new(AAA, 500.0, OrderSide::Buy, OrderType::Market) };
    let e = run(limited(0.1, 0.0), market(), |b, e| {
        if b == 0 {
            e.submit_order(tif(TimeInForce::Ioc)).unwrap();
            e.submit_order(tif(TimeInForce::Fok)).unwrap();
        }
    });
    assert_eq!(fills(&e), vec![(1, 200.0, 102.0)]);
    let (ioc, fok) = (e.order(1).unwrap(), e.order(2).unwrap());
    assert_eq!((ioc.status, ioc.cancel_reason, ioc.filled_quantity), (OrderStatus::Cancelled, Some(CancelReason::ImmediateOrCancel), 200.0));
    assert_eq!((fok.status, fok.cancel_reason, fok.filled_quantity), (OrderStatus::Cancelled, Some(CancelReason::FillOrKill), 0.0));
}

#[test]
fn market_impact_moves_the_price_against_the_order() {
    let run_with = |impact| {
        let e = run(EngineConfig { impact, allow_short_selling: true, ..EngineConfig::default() }, market(), |b, e| {
            if b == 0 {
                buy(e, AAA, 100.0);
                sell(e, BBB, 100.0);
            }
        });
        (e.fills()[0].price, e.fills()[1].price, e.fills()[0].slippage)
    };
    // Linear: 0.1 * (100 / 2000) * 102 = 0.51 up for the buy; 0.1 * 0.05 * 51 = 0.255 down for the sale.
    assert_eq!(run_with(MarketImpact::Linear { coefficient: 0.1 }), (102.0 + 0.1 * 0.05 * 102.0, 51.0 - 0.1 * 0.05 * 51.0, 0.0));
    // Square root: 0.5 * 0.02 * sqrt(0.05) * price.
    let sq = MarketImpact::SquareRoot { coefficient: 0.5, volatility: 0.02, adv_factor: 1.0 };
    assert_eq!(run_with(sq).0, 102.0 + 0.5 * 0.02 * 0.05f64.sqrt() * 102.0);
    // Power law: 0.1 * 0.05^0.6 * 102 = 1.69; a 2.0 floor wins over it.
    let pl = MarketImpact::PowerLaw { coefficient: 0.1, exponent: 0.6, min_impact: 0.0 };
    assert_eq!(run_with(pl).0, 102.0 + 0.1 * 0.05f64.powf(0.6) * 102.0);
    let floored = MarketImpact::PowerLaw { coefficient: 0.1, exponent: 0.6, min_impact: 2.0 };
    assert_eq!(run_with(floored).0, 104.0);
}

#[test]
fn partial_fills_allowed_fills_what_cash_affords() {
    use nl_core::ShareType;
    // 1000 cash, 20 AAA at bar 1's open 102 cost 2040: 9 whole shares (918) fit, 10 (1020) do not.
    let cfg = |share_type| EngineConfig { initial_cash: 1000.0, partial_fills_allowed: true, share_type, ..EngineConfig::default() };
    let e = run(cfg(ShareType::Integer), market(), |b, e| {
        if b == 0 {
            buy(e, AAA, 20.0);
        }
    });
    let o = e.order(1).unwrap();
    assert_eq!((o.status, o.quantity, o.filled_quantity, o.requested_quantity), (OrderStatus::Filled, 9.0, 9.0, 20.0));
    // Fractional: about 1000 / 102 shares, never more than the cash.
    let e = run(cfg(ShareType::Fractional), market(), |b, e| {
        if b == 0 {
            buy(e, AAA, 20.0);
        }
    });
    let q = e.fills()[0].quantity;
    assert!((q - 1000.0 / 102.0).abs() < 1e-6 && q * 102.0 <= 1000.0, "{q}");
    // Without it the order is rejected.
    let e = run(EngineConfig { initial_cash: 1000.0, ..EngineConfig::default() }, market(), |b, e| {
        if b == 0 {
            buy(e, AAA, 20.0);
        }
    });
    assert_eq!(e.order(1).unwrap().status, OrderStatus::Rejected);
}
