//! The two-asset, five-bar fixture shared by the scenario tests.
//!
//! | bar | AAA open/high/low/close | BBB open/high/low/close |
//! |-----|-------------------------|-------------------------|
//! | 0   | 100 / 102 / 99 / 101    | 50 / 51 / 49 / 50.5     |
//! | 1   | 102 / 104 / 101 / 103   | 51 / 52 / 50 / 51.5     |
//! | 2   | 104 / 106 / 103 / 105   | 49 / 50 / 48 / 48.5     |
//! | 3   | 103 / 104 / 100 / 101   | 48 / 49.5 / 47.5 / 49   |
//! | 4   | 100 / 101 / 97 / 98     | 50 / 51 / 49.5 / 50     |
//!
//! Volume is 1000 * (bar + 1).
#![allow(dead_code)]

use std::sync::Arc;

use nl_core::OrderSide;
use nl_engine::{Engine, EngineConfig, MarketData, OrderRequest, SubmitOutcome};

pub const AAA: u32 = 0;
pub const BBB: u32 = 1;

pub const BARS: [[(f64, f64, f64, f64); 5]; 2] = [
    [(100.0, 102.0, 99.0, 101.0), (102.0, 104.0, 101.0, 103.0), (104.0, 106.0, 103.0, 105.0),
     (103.0, 104.0, 100.0, 101.0), (100.0, 101.0, 97.0, 98.0)],
    [(50.0, 51.0, 49.0, 50.5), (51.0, 52.0, 50.0, 51.5), (49.0, 50.0, 48.0, 48.5),
     (48.0, 49.5, 47.5, 49.0), (50.0, 51.0, 49.5, 50.0)],
];

/// The fixture, optionally without some (bar, asset) rows.
pub fn market_without(missing: &[(u32, u32)]) -> Arc<MarketData> {
    let (mut bar, mut asset, mut o, mut h, mut l, mut c, mut v) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for b in 0..5u32 {
        for a in 0..2u32 {
            if missing.contains(&(b, a)) {
                continue;
            }
            let (op, hi, lo, cl) = BARS[a as usize][b as usize];
            bar.push(b);
            asset.push(a);
            o.push(op);
            h.push(hi);
            l.push(lo);
            c.push(cl);
            v.push(1000.0 * (b as f64 + 1.0));
        }
    }
    Arc::new(MarketData::from_vecs(5, 2, bar, asset, o, h, l, c, v).unwrap())
}

pub fn market() -> Arc<MarketData> {
    market_without(&[])
}

/// A scripted run: `actions(bar, engine)` is called between begin_bar and end_bar.
pub fn run(cfg: EngineConfig, market: Arc<MarketData>, mut actions: impl FnMut(u32, &mut Engine)) -> Engine {
    let mut e = Engine::new(cfg, market).unwrap();
    for b in 0..e.market().n_bars() as u32 {
        e.begin_bar(b).unwrap();
        actions(b, &mut e);
        e.end_bar().unwrap();
    }
    e
}

pub fn buy(e: &mut Engine, asset: u32, qty: f64) -> u64 {
    submit(e, asset, qty, OrderSide::Buy)
}

pub fn sell(e: &mut Engine, asset: u32, qty: f64) -> u64 {
    submit(e, asset, qty, OrderSide::Sell)
}

fn submit(e: &mut Engine, asset: u32, qty: f64, side: OrderSide) -> u64 {
    match e.submit_order(OrderRequest::market(asset, qty, side)).unwrap() {
        SubmitOutcome::Accepted(id) => id,
        SubmitOutcome::Ignored => 0,
    }
}
