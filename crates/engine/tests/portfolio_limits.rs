//! Portfolio limits enforced by the engine, on flat bars (open = high = low =
//! close = the listed price), so every market order fills at the next bar's
//! listed price and each figure can be checked with a pencil. 10,000 cash.

use std::sync::Arc;

use nl_core::{CancelReason, ExitReason, OrderSide, OrderStatus};
use nl_engine::{
    Engine, EngineConfig, LimitAction, LimitEvent, LimitKind, MarketData, OrderRequest, PortfolioLimit, SubmitOutcome,
};

/// Flat bars: `prices[asset][bar]`.
fn flat(prices: &[&[f64]]) -> Arc<MarketData> {
    let n_bars = prices[0].len();
    let (mut bar, mut asset, mut px) = (vec![], vec![], vec![]);
    for b in 0..n_bars {
        for (a, seq) in prices.iter().enumerate() {
            bar.push(b as u32);
            asset.push(a as u32);
            px.push(seq[b]);
        }
    }
    let v = vec![1e6; px.len()];
    Arc::new(MarketData::from_vecs(n_bars, prices.len(), bar, asset, px.clone(), px.clone(), px.clone(), px, v).unwrap())
}

fn cfg() -> EngineConfig {
    EngineConfig { initial_cash: 10_000.0, ..EngineConfig::default() }
}

fn limit(kind: LimitKind, action: LimitAction) -> PortfolioLimit {
    PortfolioLimit { kind, action, reduction_pct: 0.0 }
}

fn drawdown(max_drawdown: f64, action: LimitAction) -> PortfolioLimit {
    limit(LimitKind::MaxDrawdown { max_drawdown, warn_threshold: None }, action)
}

/// Runs every bar with `limits`; `actions(bar, engine)` runs inside the bar.
fn run_with(cfg: EngineConfig, market: Arc<MarketData>, sessions: Option<Vec<i64>>, limits: Vec<PortfolioLimit>,
            mut actions: impl FnMut(u32, &mut Engine)) -> Engine {
    let mut e = Engine::new(cfg, market).unwrap();
    if let Some(s) = sessions {
        e.set_sessions(s).unwrap();
    }
    e.set_portfolio_limits(limits).unwrap();
    for b in 0..e.market().n_bars() as u32 {
        e.begin_bar(b).unwrap();
        actions(b, &mut e);
        e.end_bar().unwrap();
    }
    e
}

fn order(e: &mut Engine, asset: u32, qty: f64) -> u64 {
    let side = if qty > 0.0 { OrderSide::Buy } else { OrderSide::Sell };
    match e.submit_order(OrderRequest::market(asset, qty.abs(), side)).unwrap() {
        SubmitOutcome::Accepted(id) => id,
        SubmitOutcome::Ignored => panic!("order ignored"),
    }
}

fn event(bar: i64, limit: u32, action: LimitAction, value: f64, threshold: f64, order_id: Option<u64>) -> LimitEvent {
    LimitEvent { timestamp: bar, limit, action, value, threshold, order_id }
}

#[test]
fn drawdown_past_the_limit_liquidates_at_the_next_open_and_halts_entries() {
    // 100 @ 100 at bar 1 (cash 0). Closes: 10,000, 9,000 (10%), 7,900: drawdown
    // 2,100 / 10,000 = 21% >= 20% -> sold at bar 4's open 75: cash 7,500.
    let e = run_with(cfg(), flat(&[&[100.0, 100.0, 90.0, 79.0, 75.0, 80.0, 80.0]]), None,
                     vec![drawdown(0.20, LimitAction::Liquidate)], |b, e| match b {
        0 => { order(e, 0, 100.0); }
        3 => { order(e, 0, 10.0); } // pending at the breach: cancelled
        4 => { order(e, 0, 10.0); } // after the liquidation: refused at bar 5
        _ => {}
    });
    assert_eq!(e.limit_events(), &[
        event(3, 0, LimitAction::Liquidate, 0.21, 0.20, None),
        event(5, 0, LimitAction::Halt, 0.21, 0.20, Some(4)),
    ]);
    let exit = e.fills().last().unwrap();
    assert_eq!((exit.timestamp, exit.price, exit.quantity, exit.exit_reason), (4, 75.0, 100.0, ExitReason::RiskLiquidation));
    assert_eq!(e.orders()[1].cancel_reason, Some(CancelReason::PortfolioLimit));
    let refused = &e.orders()[3]; // order 3 is the liquidation
    assert_eq!(refused.status, OrderStatus::Rejected);
    assert_eq!(refused.rejection_reason.as_ref().map(ToString::to_string).as_deref(),
               Some("Portfolio limit MaxDrawdownLimit: entries halted for the rest of the run after drawdown 21.0% >= 20.0%"));
    assert_eq!(e.exit_detail_of_last_fill(), Some("MaxDrawdownLimit: drawdown 21.0% >= 20.0%".into()));
    assert_eq!(e.equity_curve(), &[10_000.0, 10_000.0, 9_000.0, 7_900.0, 7_500.0, 7_500.0, 7_500.0]);
}

trait LastDetail {
    fn exit_detail_of_last_fill(&self) -> Option<String>;
}

impl LastDetail for Engine {
    fn exit_detail_of_last_fill(&self) -> Option<String> {
        let id = self.fills().last()?.order_id;
        self.order(id)?.extras().exit_detail.as_deref().map(String::from)
    }
}

#[test]
fn warn_records_the_breach_once_and_changes_nothing() {
    let prices: &[f64] = &[100.0, 100.0, 90.0, 79.0, 70.0, 80.0];
    let actions = |b: u32, e: &mut Engine| if b == 0 { order(e, 0, 100.0); };
    let plain = run_with(cfg(), flat(&[prices]), None, vec![], actions);
    let warned = run_with(cfg(), flat(&[prices]), None, vec![drawdown(0.20, LimitAction::Warn)], actions);
    // Breached at bar 3 (21%) and bar 4 (30%): one event, at the start.
    assert_eq!(warned.limit_events(), &[event(3, 0, LimitAction::Warn, 0.21, 0.20, None)]);
    assert_eq!(warned.equity_curve(), plain.equity_curve());
    assert_eq!(format!("{:?}", warned.fills()), format!("{:?}", plain.fills()));
    assert!(plain.limit_events().is_empty());
}

#[test]
fn a_drawdown_warn_threshold_warns_before_the_limit_acts() {
    let warn_first = limit(LimitKind::MaxDrawdown { max_drawdown: 0.20, warn_threshold: Some(0.10) }, LimitAction::Halt);
    let e = run_with(cfg(), flat(&[&[100.0, 100.0, 90.0, 79.0, 79.0]]), None, vec![warn_first],
                     |b, e| if b == 0 { order(e, 0, 100.0); });
    assert_eq!(e.limit_events(), &[
        event(2, 0, LimitAction::Warn, 0.10, 0.10, None),
        event(3, 0, LimitAction::Halt, 0.21, 0.20, None),
    ]);
    // Halt keeps the position.
    assert_eq!(e.position(0).unwrap().quantity, 100.0);
}

#[test]
fn drawdown_reduce_cuts_every_position_by_reduction_pct_once_per_breach() {
    // 50 AAA @ 100 and 100 BBB @ 50 (cash 0). Bar 2 closes 70 / 40: equity
    // 3,500 + 4,000 = 7,500, drawdown 25% -> half of each sold at bar 3's
    // prices (25 @ 70, 50 @ 40). Still 25% at bar 3: no second cut.
    let reduce = PortfolioLimit { reduction_pct: 0.5, ..drawdown(0.20, LimitAction::Reduce) };
    let e = run_with(cfg(), flat(&[&[100.0, 100.0, 70.0, 70.0, 70.0], &[50.0, 50.0, 40.0, 40.0, 40.0]]), None,
                     vec![reduce], |b, e| if b == 0 { order(e, 0, 50.0); order(e, 1, 100.0); });
    assert_eq!(e.limit_events(), &[event(2, 0, LimitAction::Reduce, 0.25, 0.20, None)]);
    let exits: Vec<(i64, f64, f64)> = e.fills()[2..].iter().map(|f| (f.timestamp, f.quantity, f.price)).collect();
    assert_eq!(exits, vec![(3, 25.0, 70.0), (3, 50.0, 40.0)]);
    assert_eq!(e.cash(), 25.0 * 70.0 + 50.0 * 40.0);
    assert_eq!(e.exit_detail_of_last_fill(), Some("risk reduction: MaxDrawdownLimit: drawdown 25.0% >= 20.0%".into()));
}

#[test]
fn max_positions_refuses_the_entry_that_would_open_one_too_many() {
    // Four entries fill at bar 1 in submission order: the fourth would be
    // the 4th position of at most 3. Adding to an open position is allowed.
    let three = limit(LimitKind::MaxPositions { max_positions: 3 }, LimitAction::Halt);
    let e = run_with(cfg(), flat(&[&[10.0; 4], &[20.0; 4], &[30.0; 4], &[40.0; 4]]), None, vec![three], |b, e| match b {
        0 => { for a in 0..4 { order(e, a, 10.0); } }
        1 => { order(e, 0, 10.0); }
        _ => {}
    });
    let statuses: Vec<OrderStatus> = e.orders().iter().map(|o| o.status).collect();
    use OrderStatus::*;
    assert_eq!(statuses, vec![Filled, Filled, Filled, Rejected, Filled]);
    assert_eq!(e.orders()[3].rejection_reason.as_ref().map(ToString::to_string).as_deref(), Some("Portfolio limit MaxPositionsLimit: positions 4 > max 3"));
    assert_eq!(e.limit_events(), &[event(1, 0, LimitAction::Halt, 4.0, 3.0, Some(4))]);
    assert_eq!(e.position(0).unwrap().quantity, 20.0);
}

#[test]
fn gross_exposure_halt_refuses_the_entry_that_would_breach_it() {
    // 40 @ 100 = 40% of 10,000; 20 more would make 60% > 50%.
    let half = limit(LimitKind::GrossExposure { max_gross_exposure: 0.5 }, LimitAction::Halt);
    let e = run_with(cfg(), flat(&[&[100.0; 4]]), None, vec![half], |b, e| match b {
        0 => { order(e, 0, 40.0); }
        1 => { order(e, 0, 20.0); order(e, 0, 10.0); } // 60%: refused; 50%: allowed
        _ => {}
    });
    assert_eq!(e.orders()[1].rejection_reason.as_ref().map(ToString::to_string).as_deref(),
               Some("Portfolio limit GrossExposureLimit: gross exposure 60.0% > max 50.0%"));
    assert_eq!(e.orders()[2].status, OrderStatus::Filled);
    assert_eq!(e.position(0).unwrap().quantity, 50.0);
    assert_eq!(e.limit_events(), &[event(2, 0, LimitAction::Halt, 0.6, 0.5, Some(2))]);
}

#[test]
fn gross_exposure_reduce_scales_positions_back_to_the_limit_at_every_breaching_close() {
    // Bar 1 close: 60 @ 100 = 6,000 of 10,000 = 60% > 50%: sell
    // (6,000 - 5,000) / 6,000 = 1/6 of 60 = 10 at bar 2's open. Bar 3 close
    // 125: 50 * 125 = 6,250 of 11,250 = 55.6% -> sell (6,250 - 5,625) / 6,250
    // = 10% = 5 at bar 4.
    let half = limit(LimitKind::GrossExposure { max_gross_exposure: 0.5 }, LimitAction::Reduce);
    let e = run_with(cfg(), flat(&[&[100.0, 100.0, 100.0, 125.0, 125.0]]), None, vec![half],
                     |b, e| if b == 0 { order(e, 0, 60.0); });
    let events: Vec<(i64, LimitAction)> = e.limit_events().iter().map(|v| (v.timestamp, v.action)).collect();
    assert_eq!(events, vec![(1, LimitAction::Reduce), (3, LimitAction::Reduce)]);
    assert_eq!(e.limit_events()[0].value, 0.6);
    assert_eq!(e.limit_events()[1].value, 6_250.0 / 11_250.0);
    let exits: Vec<(i64, f64, f64, ExitReason)> =
        e.fills()[1..].iter().map(|f| (f.timestamp, f.quantity, f.price, f.exit_reason)).collect();
    assert_eq!(exits, vec![(2, 10.0, 100.0, ExitReason::RiskLiquidation), (4, 5.0, 125.0, ExitReason::RiskLiquidation)]);
    assert_eq!(e.position(0).unwrap().quantity, 45.0);
}

#[test]
fn net_exposure_reduce_cuts_only_the_side_past_the_limit() {
    // Long 60 AAA @ 100 (6,000), short 20 BBB @ 50 (-1,000): net 5,000 of
    // 10,000 = 50% > 30%: the longs shed 2,000 / 6,000 = 1/3 -> 20 AAA.
    let config = EngineConfig { allow_short_selling: true, ..cfg() };
    let net = limit(LimitKind::NetExposure { max_net_exposure: 0.3, min_net_exposure: -0.3 }, LimitAction::Reduce);
    let e = run_with(config, flat(&[&[100.0; 4], &[50.0; 4]]), None, vec![net],
                     |b, e| if b == 0 { order(e, 0, 60.0); order(e, 1, -20.0); });
    assert_eq!(e.limit_events(), &[event(1, 0, LimitAction::Reduce, 0.5, 0.3, None)]);
    assert_eq!((e.position(0).unwrap().quantity, e.position(1).unwrap().quantity), (40.0, -20.0));
}

#[test]
fn net_exposure_halt_allows_an_entry_that_moves_toward_the_range() {
    // Short 60 @ 100 = -60% < -50%: refused. Long 30 then short 60:
    // 30% - 60% = -30% is inside: allowed.
    let config = EngineConfig { allow_short_selling: true, ..cfg() };
    let net = limit(LimitKind::NetExposure { max_net_exposure: 0.5, min_net_exposure: -0.5 }, LimitAction::Halt);
    let e = run_with(config, flat(&[&[100.0; 4], &[100.0; 4]]), None, vec![net], |b, e| match b {
        0 => { order(e, 0, -60.0); }
        1 => { order(e, 1, 30.0); order(e, 0, -60.0); }
        _ => {}
    });
    assert_eq!(e.orders()[0].rejection_reason.as_ref().map(ToString::to_string).as_deref(),
               Some("Portfolio limit NetExposureLimit: net exposure -60.0% < min -50.0%"));
    assert_eq!((e.orders()[1].status, e.orders()[2].status), (OrderStatus::Filled, OrderStatus::Filled));
}

#[test]
fn daily_loss_halts_entries_until_the_next_trading_day() {
    // Two bars a day. 100 @ 100 at bar 1. Day 1 starts from bar 1's close
    // (10,000); bar 2 closes at 94: loss 600 / 9,400 = 6.4% > 5% -> halt.
    // A buy filling at bar 3 (day 1) is refused; one filling at bar 4 (day 2) fills.
    let daily = limit(LimitKind::DailyLoss { max_daily_loss_pct: 0.05 }, LimitAction::Halt);
    let e = run_with(cfg(), flat(&[&[100.0, 100.0, 94.0, 94.0, 94.0, 94.0]]), Some(vec![0, 0, 1, 1, 2, 2]),
                     vec![daily], |b, e| match b {
        0 => { order(e, 0, 100.0); }
        2 | 3 => { order(e, 0, -1.0); order(e, 0, 1.0); } // exits are always allowed
        _ => {}
    });
    let statuses: Vec<OrderStatus> = e.orders().iter().map(|o| o.status).collect();
    use OrderStatus::*;
    assert_eq!(statuses, vec![Filled, Filled, Rejected, Filled, Filled]);
    assert_eq!(e.orders()[2].rejection_reason.as_ref().map(ToString::to_string).as_deref(),
               Some("Portfolio limit DailyLossLimit: entries halted for the day after daily loss 6.4% > max 5.0%"));
    assert_eq!(e.limit_events(), &[
        event(2, 0, LimitAction::Halt, 600.0 / 9_400.0, 0.05, None),
        event(3, 0, LimitAction::Halt, 600.0 / 9_400.0, 0.05, Some(3)),
    ]);
}

#[test]
fn daily_loss_liquidate_closes_everything_and_a_new_day_can_breach_again() {
    // Bar 2 (day 1): loss 6.4% -> sold at bar 3's 94. Re-bought 100 @ 94 at
    // bar 5 (day 2 starts at bar 3's close: 9,400 cash). Bar 6 close 85: day 2
    // loss 900 / 8,500 = 10.6% -> sold at bar 7's 85.
    let daily = limit(LimitKind::DailyLoss { max_daily_loss_pct: 0.05 }, LimitAction::Liquidate);
    let e = run_with(cfg(), flat(&[&[100.0, 100.0, 94.0, 94.0, 94.0, 94.0, 85.0, 85.0]]),
                     Some(vec![0, 0, 1, 1, 2, 2, 2, 3]),
                     vec![daily], |b, e| match b {
        0 => { order(e, 0, 100.0); }
        4 => { order(e, 0, 100.0); }
        _ => {}
    });
    let events: Vec<(i64, f64)> = e.limit_events().iter().map(|v| (v.timestamp, v.value)).collect();
    assert_eq!(events, vec![(2, 600.0 / 9_400.0), (6, 900.0 / 8_500.0)]);
    let fills: Vec<(i64, f64, ExitReason)> = e.fills().iter().map(|f| (f.timestamp, f.price, f.exit_reason)).collect();
    assert_eq!(fills, vec![(1, 100.0, ExitReason::Signal), (3, 94.0, ExitReason::RiskLiquidation),
                           (5, 94.0, ExitReason::Signal), (7, 85.0, ExitReason::RiskLiquidation)]);
    assert_eq!(e.cash(), 8_500.0);
}

#[test]
fn skip_cash_validation_does_not_lift_a_limit() {
    let config = EngineConfig { skip_cash_validation: true, ..cfg() };
    let one = limit(LimitKind::MaxPositions { max_positions: 1 }, LimitAction::Halt);
    let e = run_with(config, flat(&[&[10.0; 3], &[10.0; 3]]), None, vec![one],
                     |b, e| if b == 0 { order(e, 0, 1.0); order(e, 1, 1.0); });
    assert_eq!(e.orders()[1].status, OrderStatus::Rejected);
}

#[test]
fn invalid_limits_are_refused_naming_the_parameter() {
    let cases = [
        (drawdown(1.5, LimitAction::Liquidate), "MaxDrawdownLimit: max_drawdown must be in (0, 1], got 1.5"),
        (drawdown(0.2, LimitAction::Reduce), "MaxDrawdownLimit: reduction_pct must be in (0, 1] for action 'reduce', got 0"),
        (limit(LimitKind::MaxDrawdown { max_drawdown: 0.2, warn_threshold: Some(0.3) }, LimitAction::Halt),
         "MaxDrawdownLimit: warn_threshold must be in (0, max_drawdown=0.2), got 0.3"),
        (limit(LimitKind::DailyLoss { max_daily_loss_pct: 0.05 }, LimitAction::Reduce),
         "DailyLossLimit: does not support action 'reduce'"),
        (limit(LimitKind::MaxPositions { max_positions: 3 }, LimitAction::Liquidate),
         "MaxPositionsLimit: supports actions 'warn' and 'halt' only"),
        (limit(LimitKind::GrossExposure { max_gross_exposure: f64::NAN }, LimitAction::Halt),
         "GrossExposureLimit: max_gross_exposure must be a finite number > 0, got NaN"),
        (limit(LimitKind::NetExposure { max_net_exposure: -0.5, min_net_exposure: 0.5 }, LimitAction::Warn),
         "NetExposureLimit: min_net_exposure (0.5) and max_net_exposure (-0.5) must be finite with min <= max"),
        (PortfolioLimit { reduction_pct: 0.5, ..drawdown(0.2, LimitAction::Halt) },
         "MaxDrawdownLimit: reduction_pct is only for MaxDrawdownLimit with action 'reduce', got 0.5"),
    ];
    for (l, message) in cases {
        let mut e = Engine::new(cfg(), flat(&[&[1.0]])).unwrap();
        assert_eq!(e.set_portfolio_limits(vec![l]).unwrap_err().to_string(), message);
    }
    let mut e = Engine::new(cfg(), flat(&[&[1.0]])).unwrap();
    let daily = limit(LimitKind::DailyLoss { max_daily_loss_pct: 0.05 }, LimitAction::Halt);
    assert!(e.set_portfolio_limits(vec![daily]).unwrap_err().to_string().contains("DailyLossLimit needs trading days"));
    e.begin_bar(0).unwrap();
    assert!(e.set_portfolio_limits(vec![]).unwrap_err().to_string().contains("before the first bar"));
}

#[test]
fn exposure_counts_contract_multipliers() {
    // 1 contract x 50 @ 100 = 5,000 = 50% of 10,000; a second makes 100% > 80%.
    let mut e = Engine::new(cfg(), flat(&[&[100.0; 4]])).unwrap();
    e.set_multiplier(0, 50.0).unwrap();
    e.set_portfolio_limits(vec![limit(LimitKind::GrossExposure { max_gross_exposure: 0.8 }, LimitAction::Halt)]).unwrap();
    for b in 0..4 {
        e.begin_bar(b).unwrap();
        if b < 2 {
            order(&mut e, 0, 1.0);
        }
        e.end_bar().unwrap();
    }
    assert_eq!(e.orders()[1].rejection_reason.as_ref().map(ToString::to_string).as_deref(),
               Some("Portfolio limit GrossExposureLimit: gross exposure 100.0% > max 80.0%"));
    assert_eq!(e.position(0).unwrap().quantity, 1.0);
    assert_eq!(e.limit_events(), &[event(2, 0, LimitAction::Halt, 1.0, 0.8, Some(2))]);
}
