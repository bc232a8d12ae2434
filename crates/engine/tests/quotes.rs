//! Execution and mark prices from quote columns, hand-computed on the fixture
//! (see common/mod.rs) with quotes added for AAA on bar 1 only:
//! bid 101.9, ask 102.3, vwap 102.6, bid size 50, ask size 80.
//! AAA bar 1: open 102, close 103, volume 2000.

mod common;

use std::sync::Arc;

use common::*;
use nl_core::{ExecutionMode, ExecutionPrice, OrderSide};
use nl_engine::{Engine, EngineConfig, ExecutionLimit, MarketData, PerAsset, QuoteColumns};

/// The fixture with quote columns; `mid` optional.
fn quoted(with_vwap_everywhere: bool) -> Arc<MarketData> {
    let base = market();
    let n = base.n_rows();
    let mut cols: [Vec<f64>; 5] = std::array::from_fn(|_| vec![f64::NAN; n]);
    for row in 0..n {
        let bar = base.rows(1).contains(&row);
        if with_vwap_everywhere {
            cols[2][row] = base.close_column()[row];
        }
        if bar && base.asset_of(row) == AAA {
            cols[0][row] = 101.9;
            cols[1][row] = 102.3;
            cols[2][row] = 102.6;
            cols[3][row] = 50.0;
            cols[4][row] = 80.0;
        }
    }
    let [bid, ask, vwap, bid_size, ask_size] = cols;
    let fresh = market();
    let md = Arc::try_unwrap(fresh).ok().expect("unshared");
    let q = QuoteColumns {
        vwap: Some(Arc::new(vwap)),
        bid: Some(Arc::new(bid)),
        ask: Some(Arc::new(ask)),
        mid: None,
        bid_size: Some(Arc::new(bid_size)),
        ask_size: Some(Arc::new(ask_size)),
    };
    Arc::new(md.with_quotes(q, &["AAA".into(), "BBB".into()], &|b| format!("bar {b}")).unwrap())
}

/// A buy and a sell (short) of AAA on bar 0, filled on bar 1 (NEXT_BAR).
fn fills_with(cfg: EngineConfig, md: Arc<MarketData>) -> Vec<(f64, ExecutionPrice, f64)> {
    let cfg = EngineConfig { allow_short_selling: true, ..cfg };
    let e: Engine = run(cfg, md, |b, e| {
        if b == 0 {
            buy(e, AAA, 10.0);
            sell(e, BBB, 10.0);
            sell(e, AAA, 5.0);
        }
    });
    e.fills().iter().filter(|f| f.asset == AAA).map(|f| (f.price, f.price_source, f.available_size)).collect()
}

#[test]
fn quote_sources_fill_at_the_quote_in_next_bar_mode() {
    use ExecutionPrice::*;
    let cfg = |p| EngineConfig { execution_price: p, ..EngineConfig::default() };
    // Buy 10 then sell 5 (a partial exit). Available size: ask size for the buy, bid size for the sale.
    assert_eq!(fills_with(cfg(Bid), quoted(false)), vec![(101.9, Bid, 80.0), (101.9, Bid, 50.0)]);
    assert_eq!(fills_with(cfg(Ask), quoted(false)), vec![(102.3, Ask, 80.0), (102.3, Ask, 50.0)]);
    assert_eq!(fills_with(cfg(QuoteMid), quoted(false)), vec![(102.1, QuoteMid, 80.0), (102.1, QuoteMid, 50.0)]);
    assert_eq!(fills_with(cfg(QuoteSide), quoted(false)), vec![(102.3, QuoteSide, 80.0), (101.9, QuoteSide, 50.0)]);
    assert_eq!(fills_with(cfg(Vwap), quoted(false)), vec![(102.6, Vwap, 80.0), (102.6, Vwap, 50.0)]);
    // Non-quote sources still fill at the open in NEXT_BAR mode.
    assert_eq!(fills_with(cfg(Close), quoted(false)), vec![(102.0, Open, 80.0), (102.0, Open, 50.0)]);
}

#[test]
fn missing_quotes_fall_back_to_the_close_and_missing_vwap_waits() {
    use ExecutionPrice::*;
    // Orders submitted on bar 1 fill on bar 2, which has no quotes: bid/ask fall back
    // to bar 2's close (105); VWAP has no price, so the order waits for a bar with one.
    let on_bar_1 = |p, md| {
        let cfg = EngineConfig { execution_price: p, ..EngineConfig::default() };
        let e = run(cfg, md, |b, e| {
            if b == 1 {
                buy(e, AAA, 10.0);
            }
        });
        e.fills().iter().map(|f| (f.timestamp, f.price)).collect::<Vec<_>>()
    };
    assert_eq!(on_bar_1(Bid, quoted(false)), vec![(2, 105.0)]);
    assert_eq!(on_bar_1(Vwap, quoted(false)), vec![]);
    assert_eq!(on_bar_1(Vwap, quoted(true)), vec![(2, 105.0)]); // this feed's VWAP = close
}

#[test]
fn quote_sizes_bound_participation() {
    // 10% of the 80-share ask size is 8 shares on bar 1.
    let cfg = EngineConfig {
        limits: PerAsset::uniform(ExecutionLimit::VolumeParticipation { max_participation: 0.1, min_volume: 0.0 }),
        ..EngineConfig::default()
    };
    let e = run(cfg, quoted(false), |b, e| {
        if b == 0 {
            buy(e, AAA, 10.0);
        }
    });
    let got: Vec<(i64, f64)> = e.fills().iter().map(|f| (f.timestamp, f.quantity)).collect();
    assert_eq!(got, vec![(1, 8.0), (2, 2.0)]);
}

#[test]
fn mark_price_values_longs_at_the_bid_and_shorts_at_the_ask() {
    // One position per run, opened on bar 1 in SAME_BAR mode at the close.
    let run_mark = |qty: f64, mark| {
        let cfg = EngineConfig {
            execution_mode: ExecutionMode::SameBar,
            execution_price: ExecutionPrice::Close,
            mark_price: mark,
            allow_short_selling: true,
            ..EngineConfig::default()
        };
        let e = run(cfg, quoted(false), |b, e| {
            if b == 1 {
                let side = if qty > 0.0 { OrderSide::Buy } else { OrderSide::Sell };
                e.submit_order(nl_engine::OrderRequest::market(AAA, qty.abs(), side)).unwrap();
            }
        });
        // Position value on bar 1 = equity - cash.
        e.equity_curve()[1] - e.cash_curve()[1]
    };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    // Filled at bar 1's close 103; marked at the bid (long) / ask (short) of bar 1.
    assert!(close(run_mark(10.0, ExecutionPrice::QuoteSide), 10.0 * 101.9));
    assert!(close(run_mark(-4.0, ExecutionPrice::QuoteSide), -4.0 * 102.3));
    assert!(close(run_mark(10.0, ExecutionPrice::Price), 10.0 * 103.0));
}

#[test]
fn bad_quote_values_are_refused_naming_column_and_asset() {
    let md = Arc::try_unwrap(market()).ok().unwrap();
    let mut bid = vec![f64::NAN; md.n_rows()];
    bid[3] = -1.0;
    let q = QuoteColumns { bid: Some(Arc::new(bid)), ..QuoteColumns::default() };
    let err = md.with_quotes(q, &["AAA".into(), "BBB".into()], &|b| format!("bar {b}")).err().unwrap();
    assert!(err.to_string().contains("\"bid\"") && err.to_string().contains("BBB") && err.to_string().contains("bar 1"),
            "{err}");
}
