//! Property tests: accounting identities that hold for any order flow.

mod common;

use std::sync::Arc;

use nl_core::{OrderSide, ShareType};
use nl_engine::{CommissionModel, Engine, EngineConfig, MarketData, OrderRequest, SlippageModel};
use proptest::prelude::*;

/// Random OHLC walks for `n_assets` over `n_bars`, some rows missing.
fn market(n_bars: usize, n_assets: usize, seed: Vec<(f64, f64, bool)>) -> Arc<MarketData> {
    let (mut bar, mut asset, mut o, mut h, mut l, mut c, mut v) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut last = vec![100.0; n_assets];
    for b in 0..n_bars {
        for a in 0..n_assets {
            let (ret, gap, present) = seed[(b * n_assets + a) % seed.len()];
            if !present && b > 0 {
                continue;
            }
            let open = last[a] * (1.0 + gap);
            let close = open * (1.0 + ret);
            bar.push(b as u32);
            asset.push(a as u32);
            o.push(open);
            h.push(open.max(close) * 1.01);
            l.push(open.min(close) * 0.99);
            c.push(close);
            v.push(1e5);
            last[a] = close;
        }
    }
    Arc::new(MarketData::from_vecs(n_bars, n_assets, bar, asset, o, h, l, c, v).unwrap())
}

fn scenario() -> impl Strategy<Value = (Vec<(f64, f64, bool)>, Vec<(u8, u8, f64)>, bool, bool, u8)> {
    (
        prop::collection::vec((-0.05f64..0.05, -0.02f64..0.02, prop::bool::weighted(0.9)), 30..90),
        prop::collection::vec((0u8..30, 0u8..3, -40.0f64..40.0), 0..60),
        any::<bool>(),
        any::<bool>(),
        0u8..3,
    )
}

proptest! {
    /// Equity always equals initial cash plus every trade's net P&L (closed,
    /// partial, and open positions marked at the last price net of entry fees),
    /// and a cash account never holds a short or spends more than its cash.
    #[test]
    fn equity_is_initial_cash_plus_trade_pnl((seed, orders, shorts, fractional, costs) in scenario()) {
        let cfg = EngineConfig {
            initial_cash: 20_000.0,
            allow_short_selling: shorts,
            share_type: if fractional { ShareType::Fractional } else { ShareType::Integer },
            commission: [CommissionModel::None, CommissionModel::Percentage { rate: 0.002 },
                         CommissionModel::PerShare { per_share: 0.01, minimum: 1.0 }][costs as usize].clone().into(),
            slippage: if costs == 1 { SlippageModel::Percentage { rate: 0.001 } } else { SlippageModel::Fixed { amount: 0.02 } }.into(),
            ..EngineConfig::default()
        };
        let n_bars = 30;
        let md = market(n_bars, 3, seed);
        let mut e = Engine::new(cfg, md.clone()).unwrap();
        for b in 0..n_bars as u32 {
            e.begin_bar(b).unwrap();
            for &(at, asset, qty) in &orders {
                if at as u32 == b {
                    let side = if qty >= 0.0 { OrderSide::Buy } else { OrderSide::Sell };
                    e.submit_order(OrderRequest::market(asset as u32, qty.abs(), side)).unwrap();
                }
            }
            e.end_bar().unwrap();
            if !shorts {
                prop_assert!(e.positions().all(|p| p.quantity > 0.0));
                prop_assert!(e.cash() >= -0.01 - 1e-9, "cash {}", e.cash());
            }
        }
        let realized: f64 = e.trades().iter().map(|t| t.pnl).sum();
        let open: f64 = e.positions()
            .map(|p| (e.last_price(p.asset) - p.entry_price) * p.quantity - p.entry_commission)
            .sum();
        let equity = *e.equity_curve().last().unwrap();
        prop_assert!((equity - (20_000.0 + realized + open)).abs() < 1e-6 * equity.abs().max(1.0),
            "equity {} vs {}", equity, 20_000.0 + realized + open);
        // Without slippage, fills happen inside the bar's range (NEXT_BAR: the open).
        for f in e.fills() {
            let row = md.find_row(md.bar_at_time(f.timestamp).unwrap(), f.asset).unwrap();
            let bar = md.bar_at(row);
            let raw = if f.side == OrderSide::Buy { f.price - f.slippage } else { f.price + f.slippage };
            prop_assert!(raw >= bar.low && raw <= bar.high);
        }
    }
}
