//! Commission and slippage models on one fill each, hand-computed on the
//! fixture (see common/mod.rs): a market buy on bar 0 fills at bar 1's open,
//! AAA 102 / BBB 51, on a bar with volume 2000.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use nl_engine::{
    Callback, CommissionCallback, CommissionModel, CommissionQuery, Commissions, EngineConfig, PerAsset, SlippageModel,
    SlippageQuery, Slippages,
};

fn one_fill(commission: Commissions, slippage: Slippages, qty: f64) -> (f64, f64, f64) {
    let cfg = EngineConfig { commission, slippage, ..EngineConfig::default() };
    let e = run(cfg, market(), |b, e| {
        if b == 0 {
            buy(e, AAA, qty);
        }
    });
    let f = &e.fills()[0];
    (f.price, f.slippage, f.commission)
}

fn commission(m: CommissionModel, qty: f64) -> f64 {
    one_fill(m.into(), SlippageModel::None.into(), qty).2
}

fn slipped_price(m: SlippageModel, qty: f64) -> f64 {
    one_fill(CommissionModel::None.into(), m.into(), qty).0
}

#[test]
fn commission_models() {
    let tiers = CommissionModel::Tiered { tiers: vec![(1000.0, 0.01), (f64::INFINITY, 0.005)] };
    assert_eq!(commission(tiers.clone(), 5.0), 510.0 * 0.01); // 510 <= 1000
    assert_eq!(commission(tiers, 20.0), 2040.0 * 0.005);
    // Per order: 10 * 0.01 + 1 = 1.1, below the 5 minimum.
    let per_order = CommissionModel::PerOrder { per_share: 0.01, rate: 0.0, per_trade: 1.0, minimum: 5.0 };
    assert_eq!(commission(per_order, 10.0), 5.0);
    let per_order = CommissionModel::PerOrder { per_share: 0.01, rate: 0.001, per_trade: 1.0, minimum: 0.0 };
    assert_eq!(commission(per_order, 10.0), 10.0 * 0.01 + 1020.0 * 0.001 + 1.0);
    assert_eq!(commission(CommissionModel::Combined { percentage: 0.001, fixed: 2.0 }, 10.0), 1020.0 * 0.001 + 2.0);
}

#[test]
fn slippage_models() {
    assert_eq!(slipped_price(SlippageModel::Spread { spread: 0.2, half_given: false }, 10.0), 102.1);
    assert_eq!(slipped_price(SlippageModel::Spread { spread: 0.2, half_given: true }, 10.0), 102.2);
    // 102 * (10 / 2000 * 0.5) = 0.255 per share.
    assert_eq!(slipped_price(SlippageModel::VolumeShare { impact: 0.5 }, 10.0), 102.0 + 102.0 * (10.0 / 2000.0 * 0.5));
}

#[test]
fn cumulative_volume_share_grows_with_the_bar_s_fills() {
    let cfg = EngineConfig {
        slippage: SlippageModel::CumulativeVolumeShare { impact: 0.1 }.into(),
        ..EngineConfig::default()
    };
    let e = run(cfg, market(), |b, e| {
        if b == 0 {
            buy(e, AAA, 100.0);
            buy(e, AAA, 100.0);
        }
    });
    // Participation 100/2000 then 200/2000.
    let slips: Vec<f64> = e.fills().iter().map(|f| f.slippage).collect();
    assert_eq!(slips, vec![102.0 * 0.1 * 0.05f64.powi(2), 102.0 * 0.1 * 0.1f64.powi(2)]);
}

#[test]
fn per_asset_routes_fall_back_to_the_default() {
    let slippage = PerAsset {
        default: SlippageModel::Fixed { amount: 0.05 },
        by_asset: HashMap::from([(BBB, SlippageModel::Spread { spread: 0.04, half_given: true })]),
    };
    let cfg = EngineConfig { slippage, ..EngineConfig::default() };
    let e = run(cfg, market(), |b, e| {
        if b == 0 {
            buy(e, AAA, 1.0);
            buy(e, BBB, 1.0);
        }
    });
    let prices: Vec<f64> = e.fills().iter().map(|f| f.price).collect();
    assert_eq!(prices, vec![102.05, 51.04]);
}

struct Flat(f64);

impl CommissionCallback for Flat {
    fn commission(&self, q: &CommissionQuery) -> Result<f64, String> {
        if q.quantity > 50.0 {
            Err("too big".into())
        } else {
            Ok(self.0)
        }
    }

    fn name(&self) -> String {
        "Flat".into()
    }
}

#[test]
fn callbacks_are_used_checked_and_their_failures_stop_the_run() {
    let flat = |v: f64| CommissionModel::Callback(Callback(Arc::new(Flat(v))));
    assert_eq!(commission(flat(3.0), 10.0), 3.0);
    for (fee, qty, expect) in [(-1.0, 10.0, "Invalid commission from Flat"), (3.0, 60.0, "too big")] {
        let cfg = EngineConfig { commission: flat(fee).into(), ..EngineConfig::default() };
        let mut e = nl_engine::Engine::new(cfg, market()).unwrap();
        e.begin_bar(0).unwrap();
        buy(&mut e, AAA, qty);
        e.end_bar().unwrap();
        let err = e.begin_bar(1).unwrap_err();
        assert!(err.to_string().contains(expect), "{err}");
    }
}

#[test]
fn invalid_models_are_refused() {
    let bad = [
        CommissionModel::Tiered { tiers: vec![] },
        CommissionModel::Tiered { tiers: vec![(100.0, 0.01), (50.0, 0.02)] },
        CommissionModel::PerOrder { per_share: -1.0, rate: 0.0, per_trade: 0.0, minimum: 0.0 },
        CommissionModel::Futures { per_trade: 0.0, per_block: f64::NAN, percentage: 0.0 },
    ];
    for m in bad {
        let cfg = EngineConfig { commission: m.into(), ..EngineConfig::default() };
        assert!(nl_engine::Engine::new(cfg, market()).is_err());
    }
    let cfg = EngineConfig { slippage: SlippageModel::FuturesPoints { points: -0.25 }.into(), ..EngineConfig::default() };
    let err = nl_engine::Engine::new(cfg, market()).err().expect("a negative slippage_points is refused");
    assert!(err.to_string().contains("slippage_points must be finite and >= 0, got -0.25"), "{err}");
}

#[test]
fn futures_commission_is_the_largest_of_its_three_parts() {
    let fee = |per_trade, per_block, percentage, quantity: f64, price, multiplier| {
        let m = CommissionModel::Futures { per_trade, per_block, percentage };
        m.commission(&CommissionQuery { multiplier, ..CommissionQuery::first(AAA, quantity, price) }).unwrap()
    };
    // 1 ES at 4000 (x50): max(5, 2.5, 0) = 5, the per-trade floor.
    assert_eq!(fee(5.0, 2.5, 0.0, 1.0, 4000.0, 50.0), 5.0);
    // 10 contracts: max(5, 25, 0) = 25.
    assert_eq!(fee(5.0, 2.5, 0.0, 10.0, 4000.0, 50.0), 25.0);
    // 1bp of 10 * 4000 * 50 = 2,000,000 is 200 > 25.
    assert_eq!(fee(5.0, 2.5, 0.0001, 10.0, 4000.0, 50.0), 200.0);
    // Without the multiplier the notional is 40,000 and 1bp only 4.
    assert_eq!(fee(0.0, 0.0, 0.0001, 10.0, 4000.0, 1.0), 4.0);
    // A sell's quantity counts by its size.
    assert_eq!(fee(0.0, 2.25, 0.0, -10.0, 4000.0, 50.0), 22.5);
}

#[test]
fn futures_slippage_moves_the_price_by_its_points_and_costs_points_times_multiplier() {
    let m = SlippageModel::FuturesPoints { points: 0.25 };
    let q = |quantity| SlippageQuery { asset: AAA, quantity, price: 4000.0, volume: f64::NAN, available: f64::NAN,
                                       volume_consumed: 0.0, high: f64::NAN, low: f64::NAN, estimate: false };
    assert_eq!(m.per_share(&q(2.0)).unwrap(), 0.25);
    // 2 ES: 2 * 0.25 * 50 = 25; a sell of 3: 3 * 0.25 * 50 = 37.5.
    assert_eq!(m.fill_cost(&q(2.0), 50.0).unwrap(), 25.0);
    assert_eq!(m.fill_cost(&q(-3.0), 50.0).unwrap(), 37.5);
    // Any model's cost is its per-unit adjustment times size and multiplier: 0.05 * 10 * 1000.
    assert_eq!(SlippageModel::Fixed { amount: 0.05 }.fill_cost(&q(10.0), 1000.0).unwrap(), 0.05 * 10.0 * 1000.0);
}

#[test]
fn a_futures_round_trip_charges_contract_costs_in_cash() {
    // AAA as a contract worth 50 per point. Buy 2 on bar 0 -> bar 1 open 102,
    // sell 2 on bar 2 -> bar 3 open 103; 0.25 points of slippage each way.
    let cfg = EngineConfig {
        commission: CommissionModel::Futures { per_trade: 5.0, per_block: 2.5, percentage: 0.001 }.into(),
        slippage: SlippageModel::FuturesPoints { points: 0.25 }.into(),
        ..EngineConfig::default()
    };
    let mut e = nl_engine::Engine::new(cfg, market()).unwrap();
    e.set_multiplier(AAA, 50.0).unwrap();
    for b in 0..5 {
        e.begin_bar(b).unwrap();
        match b {
            0 => { buy(&mut e, AAA, 2.0); }
            2 => { sell(&mut e, AAA, 2.0); }
            _ => {}
        }
        e.end_bar().unwrap();
    }
    let fills: Vec<(f64, f64, f64)> = e.fills().iter().map(|f| (f.price, f.slippage, f.commission)).collect();
    // Entry 102.25: notional 2 * 102.25 * 50 = 10,225, 0.1% = 10.225 > max(5, 2 * 2.5).
    // Exit 102.75: notional 10,275, fee 10.275.
    assert_eq!(fills, vec![(102.25, 0.25, 10.225), (102.75, 0.25, 10.275)]);
    // 100,000 - 10,225 - 10.225 + 10,275 - 10.275 = 100,029.5.
    assert!((e.cash() - 100_029.5).abs() < 1e-9, "{}", e.cash());
}

/// Counts the queries a callback model gets: pre-trade estimates apart from fees.
#[derive(Default)]
struct Counting {
    estimates: std::sync::atomic::AtomicUsize,
    charges: std::sync::atomic::AtomicUsize,
}

impl CommissionCallback for Counting {
    fn commission(&self, q: &CommissionQuery) -> Result<f64, String> {
        let counter = if q.estimate { &self.estimates } else { &self.charges };
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(1.0)
    }

    fn name(&self) -> String {
        "Counting".into()
    }
}

#[test]
fn a_fill_charges_its_fee_once_and_the_account_checks_are_estimates() {
    // One market buy of 10: the cash check quotes the fee (an estimate), the
    // fill charges it once; a model counting its fills (ml4t's stateful fee
    // tiers) sees one fill.
    let counting = Arc::new(Counting::default());
    let model = CommissionModel::Callback(Callback(counting.clone()));
    assert_eq!(commission(model, 10.0), 1.0);
    assert_eq!(counting.charges.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(counting.estimates.load(std::sync::atomic::Ordering::SeqCst) >= 1);
}

#[test]
fn volatility_volume_slippage_without_history_charges_7_5bp_on_an_observed_range_only() {
    let m = SlippageModel::VolatilityVolume { eta: 0.05 };
    let q = |high, low| SlippageQuery { asset: AAA, quantity: 1.0, price: 101.0, volume: 20.0, available: 20.0,
                                        volume_consumed: 0.0, high, low, estimate: false };
    // 101 * 7.5 / 10,000 = 0.07575 per share, whatever the range.
    assert!((m.per_share(&q(102.0, 100.0)).unwrap() - 0.07575).abs() < 1e-12);
    // No observed range (NaN), a non-positive one or high < low: refused.
    assert!(m.per_share(&q(f64::NAN, 100.0)).unwrap_err().to_string().contains("observed positive high and low"));
    assert!(m.per_share(&q(102.0, 0.0)).is_err());
    assert!(m.per_share(&q(99.0, 100.0)).unwrap_err().to_string().contains("below low"));
    assert!(SlippageModel::VolatilityVolume { eta: -1.0 }.validate().is_err());
}
