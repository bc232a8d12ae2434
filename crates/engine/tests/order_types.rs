//! Limit, stop, stop-limit, trailing-stop and market-on-close orders on the
//! fixture's AAA bars (see common/mod.rs), hand-computed:
//!
//! | bar | open | high | low | close |
//! |-----|------|------|-----|-------|
//! | 0   | 100  | 102  | 99  | 101   |
//! | 1   | 102  | 104  | 101 | 103   |
//! | 2   | 104  | 106  | 103 | 105   |
//! | 3   | 103  | 104  | 100 | 101   |
//! | 4   | 100  | 101  | 97  | 98    |

mod common;

use common::*;
use nl_core::{ConditionalOrderMode, ExecutionMode, ExecutionPrice, LimitGapFill, OrderSide, OrderStatus, OrderType};
use nl_engine::{Engine, EngineConfig, OrderRequest};

fn order(side: OrderSide, t: OrderType, limit: Option<f64>, stop: Option<f64>, trail: Option<f64>) -> OrderRequest {
    OrderRequest { limit_price: limit, stop_price: stop, trail_amount: trail, ..OrderRequest::new(AAA, 10.0, side, t) }
}

/// Runs `req` submitted on bar `at` (after a 10-share long entered on bar 0
/// when `long_first`), returning the (bar, price) of the order's fill.
fn fill_of(cfg: EngineConfig, long_first: bool, at: u32, req: OrderRequest) -> Option<(i64, f64)> {
    fill_of_asset(cfg, AAA, long_first, at, req)
}

#[test]
fn order_type_table() {
    use OrderSide::{Buy, Sell};
    use OrderType::*;
    let next = EngineConfig::default();
    let same = EngineConfig { execution_mode: ExecutionMode::SameBar, execution_price: ExecutionPrice::Close, ..next.clone() };
    let exec_px = EngineConfig { conditional_order_mode: ConditionalOrderMode::ExecutionPrice, ..next.clone() };
    #[rustfmt::skip]
    let cases: Vec<(&str, EngineConfig, bool, u32, OrderRequest, Option<(i64, f64)>)> = vec![
        ("buy limit touched by the low fills at the limit",
         next.clone(), false, 0, order(Buy, Limit, Some(101.5), None, None), Some((1, 101.5))),
        ("buy limit waits for a bar whose low reaches it",
         next.clone(), false, 0, order(Buy, Limit, Some(100.5), None, None), Some((3, 100.5))),
        ("buy limit: open gaps below, still the limit price (ml4t rule)",
         next.clone(), false, 3, order(Buy, Limit, Some(100.5), None, None), Some((4, 100.5))),
        ("buy limit never reached stays pending",
         next.clone(), false, 0, order(Buy, Limit, Some(90.0), None, None), None),
        ("sell limit touched by the high",
         next.clone(), true, 1, order(Sell, Limit, Some(105.5), None, None), Some((2, 105.5))),
        ("sell stop triggered by the low fills at the stop",
         next.clone(), true, 1, order(Sell, Stop, None, Some(100.5), None), Some((3, 100.5))),
        ("sell stop: open gaps through, fills at the open",
         next.clone(), true, 3, order(Sell, Stop, None, Some(100.5), None), Some((4, 100.0))),
        ("buy stop triggered by the high",
         next.clone(), false, 0, order(Buy, Stop, None, Some(103.5), None), Some((1, 103.5))),
        ("buy stop: open gaps above, fills at the open",
         next.clone(), false, 1, order(Buy, Stop, None, Some(103.0), None), Some((2, 104.0))),
        ("buy stop-limit with limit above the stop fills at the limit on the trigger bar",
         next.clone(), false, 0, order(Buy, StopLimit, Some(103.8), Some(103.5), None), Some((1, 103.8))),
        ("buy stop-limit with a better limit: no intrabar reversal assumed, fills later",
         next.clone(), false, 0, order(Buy, StopLimit, Some(102.5), Some(103.5), None), Some((3, 102.5))),
        ("trailing sell 2.0: stop ratchets to 106-2 on bar 2, the open is at it",
         next.clone(), true, 1, order(Sell, TrailingStop, None, None, Some(2.0)), Some((2, 104.0))),
        ("trailing sell 3.5: stop 102.5 from bar 2 high, hit on bar 3",
         next.clone(), true, 1, order(Sell, TrailingStop, None, None, Some(3.5)), Some((3, 102.5))),
        ("trailing buy 2.0: stop 101+2 from bar 1 low, open 102 below, high reaches it",
         next.clone(), false, 0, order(Buy, TrailingStop, None, None, Some(2.0)), Some((1, 103.0))),
        ("market-on-close in NEXT_BAR fills at the same bar's close",
         next.clone(), false, 1, order(Buy, MarketOnClose, None, None, None), Some((1, 103.0))),
        ("SAME_BAR buy limit fills on its own bar",
         same.clone(), false, 0, order(Buy, Limit, Some(100.5), None, None), Some((0, 100.5))),
        ("EXECUTION_PRICE mode: a buy limit compares the open only, fills at it",
         exec_px.clone(), false, 0, order(Buy, Limit, Some(101.5), None, None), Some((4, 100.0))),
        ("EXECUTION_PRICE mode: a buy stop triggers when the open reaches it",
         exec_px.clone(), false, 0, order(Buy, Stop, None, Some(103.5), None), Some((2, 104.0))),
    ];
    for (name, cfg, long_first, at, req, expected) in cases {
        assert_eq!(fill_of(cfg, long_first, at, req), expected, "{name}");
    }
}

/// `fill_of` for any asset (BBB has the bars whose opens gap through stops).
fn fill_of_asset(cfg: EngineConfig, asset: u32, long_first: bool, at: u32, mut req: OrderRequest) -> Option<(i64, f64)> {
    req.asset = asset;
    let mut id = 0;
    let e: Engine = run(EngineConfig { allow_short_selling: true, ..cfg }, market(), |b, e| {
        if long_first && b == 0 {
            buy(e, asset, 10.0);
        }
        if b == at {
            id = match e.submit_order(req).unwrap() {
                nl_engine::SubmitOutcome::Accepted(id) => id,
                nl_engine::SubmitOutcome::Ignored => 0,
            };
        }
    });
    e.fills().iter().find(|f| f.order_id == id).map(|f| (f.timestamp, f.price))
}

/// SAME_BAR at the close: an order is first matched on its own bar, on that
/// bar's OHLC. BBB bars: 0: 50/51/49/50.5, 1: 51/52/50/51.5, 2: 49/50/48/48.5,
/// 3: 48/49.5/47.5/49, 4: 50/51/49.5/50.
#[test]
fn order_type_table_same_bar() {
    use OrderSide::{Buy, Sell};
    use OrderType::*;
    let same = EngineConfig { execution_mode: ExecutionMode::SameBar, execution_price: ExecutionPrice::Close, ..EngineConfig::default() };
    #[rustfmt::skip]
    let cases: Vec<(&str, u32, bool, u32, OrderRequest, Option<(i64, f64)>)> = vec![
        ("sell limit reached by the bar's high, open below it",
         AAA, true, 0, order(Sell, Limit, Some(101.5), None, None), Some((0, 101.5))),
        ("sell limit: open 104 already above 103.5, still the limit (ml4t rule)",
         AAA, true, 2, order(Sell, Limit, Some(103.5), None, None), Some((2, 103.5))),
        ("buy limit: open 100 already below 102.5, still the limit (ml4t rule)",
         AAA, false, 0, order(Buy, Limit, Some(102.5), None, None), Some((0, 102.5))),
        ("buy limit reached by the low, no gap",
         AAA, false, 3, order(Buy, Limit, Some(100.5), None, None), Some((3, 100.5))),
        ("sell stop reached by the low, open above it",
         AAA, true, 2, order(Sell, Stop, None, Some(103.5), None), Some((2, 103.5))),
        ("sell stop: next bar opens 49 through 49.5, fills at the open",
         BBB, true, 1, order(Sell, Stop, None, Some(49.5), None), Some((2, 49.0))),
        ("buy stop reached by the high, open below it",
         AAA, false, 2, order(Buy, Stop, None, Some(105.5), None), Some((2, 105.5))),
        ("buy stop: next bar opens 50 through 49.8, fills at the open",
         BBB, false, 3, order(Buy, Stop, None, Some(49.8), None), Some((4, 50.0))),
        ("buy stop-limit, limit above the stop: the limit on the trigger bar",
         AAA, false, 2, order(Buy, StopLimit, Some(105.8), Some(105.5), None), Some((2, 105.8))),
        ("sell stop-limit, limit below the stop: the limit on the trigger bar",
         AAA, true, 3, order(Sell, StopLimit, Some(100.2), Some(100.5), None), Some((3, 100.2))),
        ("trailing sell 2.0 from bar 2's high 106: stop 104 = the open",
         AAA, true, 2, order(Sell, TrailingStop, None, None, Some(2.0)), Some((2, 104.0))),
        ("market-on-close sell at the bar's close",
         AAA, true, 1, order(Sell, MarketOnClose, None, None, None), Some((1, 103.0))),
        ("market sell at the bar's close",
         AAA, true, 3, order(Sell, Market, None, None, None), Some((3, 101.0))),
    ];
    for (name, asset, long_first, at, req, expected) in cases {
        assert_eq!(fill_of_asset(same.clone(), asset, long_first, at, req), expected, "{name}");
    }
}

#[test]
fn fills_stay_inside_the_bar_except_documented_limit_gaps() {
    // Stops fill at the stop when the bar trades through it and at the open
    // when it gaps: always inside [low, high]. A limit the bar opens through
    // fills at the limit under ml4t's rule (it can lie outside the bar: the
    // documented gap case) and at the open with `limit_gap_fill = Open`.
    let open_fill = EngineConfig { limit_gap_fill: LimitGapFill::Open, ..EngineConfig::default() };
    for level in [96.0, 99.5, 100.5, 102.5, 103.5, 105.5, 110.0] {
        for side in [OrderSide::Buy, OrderSide::Sell] {
            for t in [OrderType::Limit, OrderType::Stop, OrderType::StopLimit] {
                let (limit, stop) = match t {
                    OrderType::Limit => (Some(level), None),
                    OrderType::Stop => (None, Some(level)),
                    _ => (Some(level), Some(level)),
                };
                for cfg in [EngineConfig::default(), open_fill.clone()] {
                    let gap_open = cfg.limit_gap_fill == LimitGapFill::Open;
                    let Some((b, px)) = fill_of(cfg, side == OrderSide::Sell, 0, order(side, t, limit, stop, None))
                    else { continue };
                    let (op, hi, lo, _) = BARS[AAA as usize][b as usize];
                    let opened_through = if side == OrderSide::Buy { op <= level } else { op >= level };
                    let documented_gap = t != OrderType::Stop && opened_through && !gap_open;
                    assert!(documented_gap || (px >= lo && px <= hi),
                            "{side:?} {t:?} at {level}: {px} outside [{lo}, {hi}]");
                    if t == OrderType::Limit && opened_through {
                        assert_eq!(px, if gap_open { op } else { level });
                    }
                }
            }
        }
    }
}

#[test]
fn slippage_never_pushes_a_limit_fill_past_its_limit() {
    // Buy limit 101.5 is touched on bar 1, but 101.5 + 0.02 slippage > 101.5:
    // no fill there, nor later (ml4t's rule); a stop has no such bound.
    let slip = EngineConfig { slippage: nl_engine::SlippageModel::Fixed { amount: 0.02 }.into(), ..EngineConfig::default() };
    assert_eq!(fill_of(slip.clone(), false, 0, order(OrderSide::Buy, OrderType::Limit, Some(101.5), None, None)), None);
    assert_eq!(fill_of(slip, false, 0, order(OrderSide::Buy, OrderType::Stop, None, Some(103.5), None)),
               Some((1, 103.52)));
}

#[test]
fn stop_limit_stays_triggered_and_records_when() {
    let mut e = Engine::new(EngineConfig::default(), market()).unwrap();
    e.begin_bar(0).unwrap();
    e.submit_order(order(OrderSide::Buy, OrderType::StopLimit, Some(102.5), Some(103.5), None)).unwrap();
    e.end_bar().unwrap();
    e.begin_bar(1).unwrap();
    assert_eq!(e.orders()[0].stop_triggered_at.get(), Some(1));
    assert_eq!(e.orders()[0].status, OrderStatus::Pending);
}

#[test]
fn invalid_prices_are_refused_at_submission() {
    let mut e = Engine::new(EngineConfig::default(), market()).unwrap();
    e.begin_bar(0).unwrap();
    for (req, text) in [
        (order(OrderSide::Buy, OrderType::Limit, None, None, None), "limit_price is required"),
        (order(OrderSide::Buy, OrderType::Limit, Some(-1.0), None, None), "limit_price must be"),
        (order(OrderSide::Buy, OrderType::Stop, None, Some(f64::INFINITY), None), "stop_price must be"),
        (order(OrderSide::Buy, OrderType::StopLimit, Some(1.0), None, None), "stop_price is required"),
        (order(OrderSide::Sell, OrderType::TrailingStop, None, None, Some(-2.0)), "trail_amount must be"),
        (order(OrderSide::Sell, OrderType::TrailingStop, None, None, None), "trail_amount is required"),
        (order(OrderSide::Buy, OrderType::Market, Some(0.0), None, None), "limit_price must be"),
    ] {
        let err = e.submit_order(req).unwrap_err().to_string();
        assert!(err.contains(text), "{err}");
    }
    assert!(e.orders().is_empty());
}

/// `next_bar_execution_price` replaces the open of NEXT_BAR's open pass
/// (AAA bar 1: 102/104/101/103, bar 3: 103/104/100/101).
#[test]
fn next_bar_execution_price_prices_the_open_pass() {
    use OrderSide::Buy;
    use OrderType::*;
    let next = |source| EngineConfig { next_bar_execution_price: Some(source), ..EngineConfig::default() };
    let exec_px = |source| EngineConfig { conditional_order_mode: ConditionalOrderMode::ExecutionPrice, ..next(source) };
    #[rustfmt::skip]
    let cases: Vec<(&str, EngineConfig, OrderRequest, Option<(i64, f64)>)> = vec![
        ("unset: a market buy from bar 0 fills at bar 1's open",
         EngineConfig::default(), order(Buy, Market, None, None, None), Some((1, 102.0))),
        ("CLOSE: at bar 1's close", next(ExecutionPrice::Close), order(Buy, Market, None, None, None), Some((1, 103.0))),
        ("MID: at bar 1's (high + low) / 2", next(ExecutionPrice::Mid), order(Buy, Market, None, None, None),
         Some((1, 102.5))),
        ("a limit touched by the low still fills at the limit", next(ExecutionPrice::Close),
         order(Buy, Limit, Some(101.5), None, None), Some((1, 101.5))),
        ("EXECUTION_PRICE triggers compare the close: 103, 105 miss 101.5, bar 3's 101 fills",
         exec_px(ExecutionPrice::Close), order(Buy, Limit, Some(101.5), None, None), Some((3, 101.0))),
        ("market-on-close is unaffected", next(ExecutionPrice::Open), order(Buy, MarketOnClose, None, None, None),
         Some((0, 101.0))),
    ];
    for (name, cfg, req, expected) in cases {
        assert_eq!(fill_of(cfg, false, 0, req), expected, "{name}");
    }
}

/// An asset's own fill basis (`asset_price_sources`, ml4t's
/// `AssetSlippage(price_sources=...)`) replaces the config's sources in every
/// pass but a market-on-close order's (AAA bar 1: 102/104/101/103).
#[test]
fn an_assets_own_price_source_wins_over_the_configured_ones() {
    use OrderSide::Buy;
    use OrderType::*;
    let own = |cfg: EngineConfig, source| EngineConfig {
        asset_price_sources: [(AAA, source)].into_iter().collect(),
        ..cfg
    };
    let next = EngineConfig::default();
    let next_close = EngineConfig { next_bar_execution_price: Some(ExecutionPrice::Close), ..EngineConfig::default() };
    let same = EngineConfig { execution_mode: ExecutionMode::SameBar, execution_price: ExecutionPrice::Close, ..next.clone() };
    #[rustfmt::skip]
    let cases: Vec<(&str, EngineConfig, OrderRequest, Option<(i64, f64)>)> = vec![
        ("MID instead of NEXT_BAR's open: (104 + 101) / 2",
         own(next.clone(), ExecutionPrice::Mid), order(Buy, Market, None, None, None), Some((1, 102.5))),
        ("OPEN instead of next_bar_execution_price=CLOSE",
         own(next_close, ExecutionPrice::Open), order(Buy, Market, None, None, None), Some((1, 102.0))),
        ("MID instead of SAME_BAR's close: bar 0 (102 + 99) / 2",
         own(same, ExecutionPrice::Mid), order(Buy, Market, None, None, None), Some((0, 100.5))),
        ("market-on-close keeps bar 0's close",
         own(next.clone(), ExecutionPrice::Mid), order(Buy, MarketOnClose, None, None, None), Some((0, 101.0))),
        ("another asset's basis leaves AAA at the open",
         EngineConfig { asset_price_sources: [(BBB, ExecutionPrice::Mid)].into_iter().collect(), ..next },
         order(Buy, Market, None, None, None), Some((1, 102.0))),
    ];
    for (name, cfg, req, expected) in cases {
        assert_eq!(fill_of(cfg, false, 0, req), expected, "{name}");
    }
}
