//! The paper venue: the simulated venue's fill rules behind the
//! `ExecutionClient` seam. Scenarios on the fixture (common/mod.rs) with
//! hand-computed fills, and a property: where the account never limits an
//! order, a run through the paper venue fills exactly as the in-process
//! backtest does.

mod common;

use common::*;
use nl_core::{CancelReason, ConditionalOrderMode, LimitGapFill, OrderSide, OrderStatus, OrderType, Refusal, TimeInForce};
use nl_engine::venue::sim::paper::PaperVenue;
use nl_engine::{CommissionModel, Engine, EngineConfig, ExecutionLimit, OrderRequest, PerAsset, SlippageModel, SubmitOutcome};
use proptest::prelude::*;

fn paper(cfg: EngineConfig) -> Engine {
    let venue = PaperVenue::new(cfg.paper_venue()).unwrap();
    let mut e = Engine::new(cfg, market()).unwrap();
    e.set_execution_client(Box::new(venue)).unwrap();
    e
}

fn id(outcome: SubmitOutcome) -> u64 {
    match outcome {
        SubmitOutcome::Accepted(id) => id,
        SubmitOutcome::Ignored => panic!("no order"),
    }
}

fn limit(asset: u32, qty: f64, side: OrderSide, price: f64, tif: TimeInForce) -> OrderRequest {
    OrderRequest { limit_price: Some(price), time_in_force: tif, ..OrderRequest::new(asset, qty, side, OrderType::Limit) }
}

#[test]
fn a_bracket_fills_at_the_venue_and_its_other_exit_is_cancelled_there() {
    let cfg = EngineConfig { initial_cash: 10_000.0, commission: CommissionModel::Percentage { rate: 0.001 }.into(), ..Default::default() };
    let mut e = paper(cfg);
    e.begin_bar(0).unwrap();
    let [entry, tp, sl] = e.submit_bracket(OrderRequest::market(AAA, 10.0, OrderSide::Buy), 105.5, 99.5).unwrap().unwrap();
    let moc = id(e.submit_order(OrderRequest::new(BBB, 5.0, OrderSide::Buy, OrderType::MarketOnClose)).unwrap());
    e.end_bar().unwrap();
    // The venue has no close auction: refused, with its reason, within the bar.
    let o = e.order(moc).unwrap();
    assert_eq!(o.status, OrderStatus::Rejected);
    assert!(matches!(o.rejection_reason.as_deref(), Some(Refusal::Venue { text }) if text.contains("market-on-close")));
    // Bar 1 opens at 102: the entry fills, commission 1.02; neither exit
    // reaches (high 104 < 105.5, low 101 > 99.5).
    e.begin_bar(1).unwrap();
    let ioc = id(e.submit_order(limit(BBB, 10.0, OrderSide::Buy, 40.0, TimeInForce::Ioc)).unwrap());
    e.end_bar().unwrap();
    // Bar 2's high 106 reaches the take-profit at 105.5 (the open 104 did
    // not gap through it): commission 1.055, and the stop-loss goes (OCO).
    // BBB's low 48 never reaches 40: the IOC order expires after one bar.
    e.begin_bar(2).unwrap();
    let resting = id(e.submit_order(limit(BBB, 10.0, OrderSide::Buy, 30.0, TimeInForce::Gtc)).unwrap());
    e.end_bar().unwrap();
    e.begin_bar(3).unwrap();
    assert!(e.cancel_order(resting));
    e.end_bar().unwrap();
    e.begin_bar(4).unwrap();
    e.end_bar().unwrap();
    let fills: Vec<(u64, i64, f64, f64, f64)> =
        e.fills().iter().map(|f| (f.order_id, f.timestamp, f.quantity, f.price, f.commission)).collect();
    assert_eq!(fills, vec![(entry, 1, 10.0, 102.0, 10.0 * 102.0 * 0.001), (tp, 2, 10.0, 105.5, 10.0 * 105.5 * 0.001)]);
    let reason = |id| { let o = e.order(id).unwrap(); (o.status, o.cancel_reason, o.extras().cancelled_at.get()) };
    assert_eq!(reason(sl), (OrderStatus::Cancelled, Some(CancelReason::Oco), Some(2)));
    assert_eq!(reason(ioc), (OrderStatus::Cancelled, Some(CancelReason::ImmediateOrCancel), Some(2)));
    assert_eq!(reason(resting), (OrderStatus::Cancelled, Some(CancelReason::User), Some(3)));
    // Cash: 10,000 - 1,020 - 1.02 + 1,055 - 1.055 = 10,032.925; bar 1's
    // equity marks the 10 shares at its close 103.
    let cash = 10_000.0 - 1_020.0 - 1.02 + 1_055.0 - 1.055;
    assert!((e.cash() - cash).abs() < 1e-9);
    let bar1 = 10_000.0 - 1_020.0 - 1.02 + 1_030.0;
    let want = [10_000.0, bar1, cash, cash, cash];
    assert!(e.equity_curve().iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-9), "{:?}", e.equity_curve());
    assert!(e.pending_orders().next().is_none());
}

#[test]
fn a_volume_limit_fills_in_parts_one_bar_at_a_time() {
    // 10% of volume per bar: bar 1 trades 2,000 (200 fill), bar 2 3,000 (the last 100).
    let cfg = EngineConfig {
        initial_cash: 1_000_000.0,
        limits: PerAsset::uniform(ExecutionLimit::VolumeParticipation { max_participation: 0.1, min_volume: 0.0 }),
        ..Default::default()
    };
    let mut e = paper(cfg);
    e.begin_bar(0).unwrap();
    let order = id(e.submit_order(OrderRequest::market(AAA, 300.0, OrderSide::Buy)).unwrap());
    e.end_bar().unwrap();
    for b in 1..3 {
        e.begin_bar(b).unwrap();
        e.end_bar().unwrap();
    }
    let fills: Vec<(i64, f64, f64)> = e.fills().iter().map(|f| (f.timestamp, f.quantity, f.price)).collect();
    assert_eq!(fills, vec![(1, 200.0, 102.0), (2, 100.0, 104.0)]);
    let o = e.order(order).unwrap();
    assert_eq!((o.status, o.filled_quantity, o.filled_at.get()), (OrderStatus::Filled, 300.0, Some(2)));
    assert_eq!(o.filled_price.get(), Some((200.0 * 102.0 + 100.0 * 104.0) / 300.0));
}

/// One scripted decision for one asset on one bar.
#[derive(Debug, Clone)]
struct Step {
    bar: u32,
    asset: u32,
    /// Order type 0..5 (market, limit, stop, stop-limit, trailing stop).
    kind: u8,
    /// Signed: buy > 0, sell < 0.
    quantity: f64,
    /// Offset of the limit/stop from the bar's close, in percent.
    offset: f64,
    ioc: bool,
    cancel: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (0u32..4, 0u32..2, 0u8..5, -40.0f64..40.0, -4.0f64..4.0, any::<bool>(), prop::bool::weighted(0.2)).prop_map(
        |(bar, asset, kind, quantity, offset, ioc, cancel)| Step { bar, asset, kind, quantity, offset, ioc, cancel },
    )
}

fn config() -> impl Strategy<Value = EngineConfig> {
    let commission = prop_oneof![
        Just(CommissionModel::None),
        (0.0f64..0.01).prop_map(|rate| CommissionModel::Percentage { rate }),
        (0.0f64..0.05, 0.0f64..2.0).prop_map(|(per_share, minimum)| CommissionModel::PerShare { per_share, minimum }),
        (0.0f64..0.01, 0.0f64..3.0).prop_map(|(percentage, fixed)| CommissionModel::Combined { percentage, fixed }),
    ];
    let slippage = prop_oneof![
        Just(SlippageModel::None),
        (0.0f64..0.01).prop_map(|rate| SlippageModel::Percentage { rate }),
        (0.0f64..0.2).prop_map(|amount| SlippageModel::Fixed { amount }),
        (0.0f64..0.5).prop_map(|impact| SlippageModel::VolumeShare { impact }),
    ];
    let limit = prop_oneof![
        Just(ExecutionLimit::None),
        (0.005f64..0.05).prop_map(|p| ExecutionLimit::VolumeParticipation { max_participation: p, min_volume: 0.0 }),
    ];
    let modes = (any::<bool>(), any::<bool>());
    (commission, slippage, limit, modes).prop_map(|(c, s, l, (close_mode, gap_open))| EngineConfig {
        initial_cash: 1e9,
        allow_short_selling: true,
        commission: c.into(),
        slippage: s.into(),
        limits: PerAsset::uniform(l),
        conditional_order_mode: if close_mode { ConditionalOrderMode::ExecutionPrice } else { ConditionalOrderMode::BarOhlc },
        limit_gap_fill: if gap_open { LimitGapFill::Open } else { LimitGapFill::Limit },
        ..Default::default()
    })
}

/// Runs the script: on each bar, for each asset (its first step only),
/// either cancels its working order or (when it has none) submits one that never crosses the position
/// through zero, so no reversal cancels anything and cash never limits.
fn drive(mut e: Engine, script: &[Step]) -> Engine {
    for b in 0..5u32 {
        e.begin_bar(b).unwrap();
        // One decision per asset and bar: a cancel at the venue is a request
        // confirmed at the bar's end, so the asset is not traded again in it.
        let mut acted = [false; 2];
        for s in script.iter().filter(|s| s.bar == b) {
            if std::mem::replace(&mut acted[s.asset as usize], true) {
                continue;
            }
            let working: Vec<u64> = e.pending_orders().filter(|o| o.asset == s.asset).map(|o| o.id).collect();
            if let Some(&w) = working.first() {
                if s.cancel {
                    e.cancel_order(w);
                }
                continue;
            }
            let held = e.position(s.asset).map_or(0.0, |p| p.quantity);
            let mut qty = s.quantity.round();
            if held != 0.0 && held.signum() != qty.signum() {
                qty = qty.signum() * qty.abs().min(held.abs());
            }
            if qty == 0.0 {
                continue;
            }
            let side = if qty > 0.0 { OrderSide::Buy } else { OrderSide::Sell };
            let close = BARS[s.asset as usize][b as usize].3;
            let level = close * (1.0 + s.offset / 100.0);
            let kind = [OrderType::Market, OrderType::Limit, OrderType::Stop, OrderType::StopLimit, OrderType::TrailingStop][s.kind as usize];
            let mut req = OrderRequest::new(s.asset, qty.abs(), side, kind);
            match kind {
                OrderType::Limit => req.limit_price = Some(level),
                OrderType::Stop => req.stop_price = Some(level),
                OrderType::StopLimit => {
                    req.stop_price = Some(level);
                    req.limit_price = Some(level * if side == OrderSide::Buy { 1.01 } else { 0.99 });
                }
                OrderType::TrailingStop => req.trail_amount = Some(close * s.offset.abs().max(0.5) / 100.0),
                _ => {}
            }
            if s.ioc {
                req.time_in_force = TimeInForce::Ioc;
            }
            e.submit_order(req).unwrap();
        }
        e.end_bar().unwrap();
    }
    e
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_paper_venue_fills_as_the_backtest_does(cfg in config(), script in prop::collection::vec(step(), 0..24)) {
        let backtest = drive(Engine::new(cfg.clone(), market()).unwrap(), &script);
        let venue = drive(paper(cfg), &script);
        let fills = |e: &Engine| {
            let mut f: Vec<String> = e.fills().iter()
                .map(|f| format!("{} {} {:?} {} {} {}", f.order_id, f.timestamp, f.side, f.quantity, f.price, f.commission))
                .collect();
            f.sort();
            f
        };
        prop_assert_eq!(fills(&backtest), fills(&venue));
        let orders = |e: &Engine| e.orders().iter()
            .map(|o| format!("{} {:?} {:?} {} {:?}", o.id, o.status, o.cancel_reason, o.filled_quantity, o.filled_at))
            .collect::<Vec<_>>();
        prop_assert_eq!(orders(&backtest), orders(&venue));
        prop_assert_eq!(backtest.equity_curve(), venue.equity_curve());
        prop_assert_eq!(backtest.cash(), venue.cash());
    }
}
