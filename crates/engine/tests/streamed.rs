//! A streamed feed (bars pushed one at a time) gives the same fills,
//! trades and equity as the same bars handed over as a historical feed.

mod common;

use common::{AAA, BARS, BBB};
use nl_core::{OrderSide, OrderType, TimeInForce};
use nl_engine::{Bar, Engine, EngineConfig, MarketData, OrderRequest};
use proptest::prelude::*;

const DAY: i64 = 86_400_000_000_000;

fn bar(o: f64, h: f64, l: f64, c: f64, v: f64) -> Bar {
    let nan = f64::NAN;
    Bar { open: o, high: h, low: l, close: c, price: c, volume: v, vwap: nan, bid: nan, ask: nan, mid: nan, bid_size: nan, ask_size: nan }
}

/// The fixture's rows of bar `b` (BBB first on odd bars: feed order is kept).
fn rows(b: u32) -> Vec<(u32, Bar)> {
    let mut rows: Vec<(u32, Bar)> = [AAA, BBB]
        .iter()
        .map(|&a| {
            let (o, h, l, c) = BARS[a as usize][b as usize];
            (a, bar(o, h, l, c, 1000.0 * (b as f64 + 1.0)))
        })
        .collect();
    if b % 2 == 1 {
        rows.reverse();
    }
    rows
}

fn historical() -> std::sync::Arc<MarketData> {
    let (mut bars, mut assets, mut o, mut h, mut l, mut c, mut v) = (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for b in 0..5 {
        for (a, r) in rows(b) {
            bars.push(b);
            assets.push(a);
            o.push(r.open);
            h.push(r.high);
            l.push(r.low);
            c.push(r.close);
            v.push(r.volume);
        }
    }
    let mut md = MarketData::from_vecs(5, 2, bars, assets, o, h, l, c, v).unwrap();
    // The streamed feed's clock: one bar a day.
    md.set_timestamps((0..5).map(|b| b * DAY).collect()).unwrap();
    std::sync::Arc::new(md)
}

/// One scripted order per (bar, asset) from `script` (side, type), run on
/// `e`, pushing bars first when `streamed`.
fn drive(mut e: Engine, streamed: bool, script: &[(u8, u8, f64)]) -> Engine {
    for b in 0..5u32 {
        if streamed {
            assert_eq!(e.push_bar(b as i64 * DAY, &rows(b)).unwrap(), b);
        }
        e.begin_bar(b).unwrap();
        for (i, &(kind, asset, qty)) in script.iter().enumerate() {
            if i % 5 != b as usize {
                continue;
            }
            let asset = (asset % 2) as u32;
            let side = if qty >= 0.0 { OrderSide::Buy } else { OrderSide::Sell };
            let close = BARS[asset as usize][b as usize].3;
            let mut req = OrderRequest::new(asset, qty.abs(), side, OrderType::Market);
            match kind % 5 {
                1 => {
                    req.order_type = OrderType::Limit;
                    req.limit_price = Some(if side == OrderSide::Buy { close * 0.99 } else { close * 1.01 });
                }
                2 => {
                    req.order_type = OrderType::Stop;
                    req.stop_price = Some(if side == OrderSide::Buy { close * 1.01 } else { close * 0.99 });
                }
                3 => req.time_in_force = TimeInForce::Day,
                // A DAY limit far from the market: it rests and expires.
                4 => {
                    req.order_type = OrderType::Limit;
                    req.limit_price = Some(if side == OrderSide::Buy { close * 0.9 } else { close * 1.1 });
                    req.time_in_force = TimeInForce::Day;
                }
                _ => {}
            }
            e.submit_order(req).unwrap();
        }
        e.end_bar().unwrap();
    }
    e
}

fn config() -> EngineConfig {
    EngineConfig { initial_cash: 10_000.0, allow_short_selling: true, ..EngineConfig::default() }
}

#[test]
fn a_market_order_fills_at_the_next_pushed_open() {
    // Buy 10 AAA on bar 0 (close 101): fills at bar 1's open 102; cash
    // 10,000 - 1,020 = 8,980; equity at bar 1's close 103: 8,980 + 1,030.
    let mut e = Engine::streamed(config(), 2, false).unwrap();
    e.push_bar(0, &rows(0)).unwrap();
    e.begin_bar(0).unwrap();
    e.submit_order(OrderRequest::market(AAA, 10.0, OrderSide::Buy)).unwrap();
    e.end_bar().unwrap();
    assert!(e.fills().is_empty());
    e.push_bar(DAY, &rows(1)).unwrap();
    e.begin_bar(1).unwrap();
    assert_eq!(e.current_timestamp(), Some(DAY));
    e.end_bar().unwrap();
    assert_eq!(e.fills()[0].price, 102.0);
    assert_eq!(e.cash(), 8_980.0);
    assert_eq!(e.equity_curve(), &[10_000.0, 10_010.0]);
}

#[test]
fn bad_pushes_are_refused_and_leave_the_feed_as_it_was() {
    let mut e = Engine::streamed(config(), 2, false).unwrap();
    e.push_bar(DAY, &rows(0)).unwrap();
    let later = |e: &mut Engine, ts: i64, rows: &[(u32, Bar)]| e.push_bar(ts, rows).unwrap_err().to_string();
    assert!(later(&mut e, DAY, &rows(1)).contains("timestamps must increase"));
    assert!(later(&mut e, 2 * DAY, &[(AAA, bar(1.0, 1.0, 1.0, f64::NAN, 0.0))]).contains("\"close\" must be finite and > 0"));
    assert!(later(&mut e, 2 * DAY, &[(7, bar(1.0, 1.0, 1.0, 1.0, 0.0))]).contains("asset index 7"));
    let twice = [(AAA, bar(1.0, 1.0, 1.0, 1.0, 0.0)), (AAA, bar(1.0, 1.0, 1.0, 1.0, 0.0))];
    assert!(later(&mut e, 2 * DAY, &twice).contains("duplicate (timestamp, asset)"));
    assert_eq!(e.market().n_bars(), 1);
    e.begin_bar(0).unwrap();
    assert!(later(&mut e, 2 * DAY, &rows(1)).contains("between bars"));
    // A historical feed cannot be extended.
    let mut h = Engine::new(config(), historical()).unwrap();
    assert!(h.push_bar(0, &rows(0)).is_err());
    // Borrow fees need the next bar's date at the close, however the engine is made.
    let cfg = EngineConfig { borrow_rate: 0.05, ..config() };
    assert!(Engine::streamed(cfg.clone(), 2, false).is_err());
    assert!(Engine::new(cfg, std::sync::Arc::new(MarketData::streamed(2, false))).is_err());
    // Sessions come from the bar times.
    assert!(Engine::streamed(config(), 2, false).unwrap().set_sessions(vec![]).is_err());
    // Quotes: only on a feed made with them, and valid.
    let mut quoted = bar(1.0, 1.0, 1.0, 1.0, 0.0);
    quoted.bid = 0.99;
    let mut plain = Engine::streamed(config(), 2, false).unwrap();
    assert!(later(&mut plain, 0, &[(AAA, quoted)]).contains("created without quotes"));
    let mut with_quotes = Engine::streamed(config(), 2, true).unwrap();
    quoted.ask = -1.0;
    assert!(later(&mut with_quotes, 0, &[(AAA, quoted)]).contains("\"ask\" must be finite and > 0"));
    quoted.ask = 1.01;
    with_quotes.push_bar(0, &[(AAA, quoted)]).unwrap();
    assert_eq!(with_quotes.market().bar_at(0).mid, 1.0);
}

proptest! {
    /// Compared through Debug text, where NaN quote fields are equal.
    #[test]
    fn streamed_and_historical_runs_agree(script in prop::collection::vec((0u8..5, 0u8..2, -30.0f64..30.0), 0..25)) {
        // Historical sessions one per bar, as the streamed feed's UTC days.
        let mut h = Engine::new(config(), historical()).unwrap();
        h.set_sessions((0..5).collect()).unwrap();
        let reference = &drive(h, false, &script);
        let b = drive(Engine::streamed(config(), 2, false).unwrap(), true, &script);
        prop_assert_eq!(format!("{:?}", reference.fills()), format!("{:?}", b.fills()));
        prop_assert_eq!(format!("{:?}", reference.trades()), format!("{:?}", b.trades()));
        prop_assert_eq!(format!("{:?}", reference.orders()), format!("{:?}", b.orders()));
        prop_assert_eq!(format!("{:?}", reference.equity_curve()), format!("{:?}", b.equity_curve()));
        prop_assert_eq!(format!("{:?}", reference.cash_curve()), format!("{:?}", b.cash_curve()));
    }
}

#[test]
fn a_streamed_feed_can_meet_new_assets_between_bars() {
    // AAA alone for bars 0-1; BBB joins before bar 2. A buy of 10 BBB on
    // bar 2 (close 48.5) fills at bar 3's open 48: cash 10,000 - 480 = 9,520;
    // equity at bar 3's close 49: 9,520 + 490 = 10,010.
    let mut e = Engine::streamed(config(), 1, false).unwrap();
    let aaa_only = |b: u32| rows(b).into_iter().filter(|r| r.0 == AAA).collect::<Vec<_>>();
    for b in 0..2u32 {
        e.push_bar(b as i64 * DAY, &aaa_only(b)).unwrap();
        e.begin_bar(b).unwrap();
        assert!(e.add_assets(1).unwrap_err().to_string().contains("between bars"));
        e.end_bar().unwrap();
    }
    // A row for an asset the feed does not have yet is refused.
    assert!(e.push_bar(2 * DAY, &rows(2)).unwrap_err().to_string().contains("asset index 1"));
    assert_eq!(e.add_assets(1).unwrap(), BBB);
    for b in 2..4u32 {
        e.push_bar(b as i64 * DAY, &rows(b)).unwrap();
        e.begin_bar(b).unwrap();
        if b == 2 {
            e.submit_order(OrderRequest::market(BBB, 10.0, OrderSide::Buy)).unwrap();
        }
        e.end_bar().unwrap();
    }
    assert_eq!((e.fills()[0].asset, e.fills()[0].price, e.fills()[0].timestamp), (BBB, 48.0, 3 * DAY));
    assert_eq!(e.cash(), 9_520.0);
    assert_eq!(e.equity_curve(), &[10_000.0, 10_000.0, 10_000.0, 10_010.0]);
    // A historical feed's assets are fixed.
    let mut h = Engine::new(config(), historical()).unwrap();
    assert!(h.add_assets(1).is_err());
}
