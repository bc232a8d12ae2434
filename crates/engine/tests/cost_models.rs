//! Commission and slippage models on one fill each, hand-computed on the
//! fixture (see common/mod.rs): a market buy on bar 0 fills at bar 1's open,
//! AAA 102 / BBB 51, on a bar with volume 2000.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use nl_engine::{
    Callback, CommissionCallback, CommissionModel, CommissionQuery, Commissions, EngineConfig, PerAsset, SlippageModel,
    Slippages,
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
    ];
    for m in bad {
        let cfg = EngineConfig { commission: m.into(), ..EngineConfig::default() };
        assert!(nl_engine::Engine::new(cfg, market()).is_err());
    }
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
