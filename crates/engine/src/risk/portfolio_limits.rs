//! Portfolio limits the engine enforces every bar, with no strategy call
//! (ml4t-backtest's `RiskManager` leaves them to the strategy). None are set
//! by default, so parity with ml4t-backtest holds.
//!
//! When they are evaluated:
//! * At every bar's close, after marks and margin calls, on the equity the
//!   curve records: drawdown from the equity high-water mark (which starts at
//!   the initial cash), the day's loss since the previous session's last close,
//!   the number of open positions, and gross / net exposure over equity.
//! * Before every entry fill (an order that opens, adds to or reverses a
//!   position; exits are always allowed), for limits whose action is `Halt`
//!   or `Liquidate`: the entry is rejected, naming the limit, when the
//!   drawdown or daily-loss limit has halted entries, or when the fill would
//!   leave the positions count or an exposure beyond its limit and further
//!   from it than before.
//!
//! What each action does when a limit is breached at a close:
//! * `Warn`: records the breach's start, nothing else.
//! * `Halt`: records it and refuses entries: a drawdown breach for the rest of
//!   the run (ml4t's halt stays until a manual reset), a daily-loss breach
//!   until the session ends; count and exposure limits refuse the entries
//!   that would breach them.
//! * `Reduce`: cancels pending orders and sends market exits at the next open:
//!   a drawdown breach cuts every position by `reduction_pct`, once per
//!   breach (ml4t's rule); an exposure breach scales the positions (all for
//!   gross, the longs or the shorts for net) back to the limit at this close's
//!   marks, at every close it persists.
//! * `Liquidate`: as `Halt`, and cancels pending orders and closes every
//!   position at the next open, once per breach.
//!
//! Exits carry `exit_reason = risk_liquidation`; every action and refusal is
//! a [`LimitEvent`].

use nl_core::{AssetId, EngineError, EngineResult, OrderId, OrderSide, Refusal, Timestamp};

use crate::portfolio::Portfolio;


/// What a limit measures, and its thresholds (ml4t-backtest's parameters).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LimitKind {
    /// Breached when (high-water mark - equity) / high-water mark >=
    /// `max_drawdown`; a drawdown >= `warn_threshold` records a warning.
    MaxDrawdown { max_drawdown: f64, warn_threshold: Option<f64> },
    /// Breached when the loss since the previous session's last close, over
    /// equity, exceeds `max_daily_loss_pct`.
    DailyLoss { max_daily_loss_pct: f64 },
    /// Breached when more than `max_positions` positions are open.
    MaxPositions { max_positions: u32 },
    /// Breached when the sum of |market value| over equity exceeds `max_gross_exposure`.
    GrossExposure { max_gross_exposure: f64 },
    /// Breached when the signed sum of market values over equity leaves
    /// [`min_net_exposure`, `max_net_exposure`].
    NetExposure { max_net_exposure: f64, min_net_exposure: f64 },
}

/// What the engine does when a limit is breached (ml4t's action names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitAction {
    Warn,
    Halt,
    Reduce,
    Liquidate,
}

/// One limit and its action.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PortfolioLimit {
    pub kind: LimitKind,
    pub action: LimitAction,
    /// Fraction of every position a drawdown `Reduce` closes, in (0, 1];
    /// 0 for anything else (exposure reductions compute theirs).
    pub reduction_pct: f64,
}

impl PortfolioLimit {
    /// ml4t-backtest's class name, used in rejection reasons and exit details.
    pub fn name(&self) -> &'static str {
        match self.kind {
            LimitKind::MaxDrawdown { .. } => "MaxDrawdownLimit",
            LimitKind::DailyLoss { .. } => "DailyLossLimit",
            LimitKind::MaxPositions { .. } => "MaxPositionsLimit",
            LimitKind::GrossExposure { .. } => "GrossExposureLimit",
            LimitKind::NetExposure { .. } => "NetExposureLimit",
        }
    }

    pub fn validate(&self) -> EngineResult<()> {
        let name = self.name();
        let bad = |what: String| Err(EngineError::InvalidArgument(format!("{name}: {what}")));
        let fraction = |v: f64| v.is_finite() && v > 0.0 && v <= 1.0;
        match self.kind {
            LimitKind::MaxDrawdown { max_drawdown, warn_threshold } => {
                if !fraction(max_drawdown) {
                    return bad(format!("max_drawdown must be in (0, 1], got {max_drawdown}"));
                }
                if let Some(w) = warn_threshold.filter(|&w| !(w.is_finite() && w > 0.0 && w < max_drawdown)) {
                    return bad(format!("warn_threshold must be in (0, max_drawdown={max_drawdown}), got {w}"));
                }
            }
            LimitKind::DailyLoss { max_daily_loss_pct: v } if !fraction(v) => {
                return bad(format!("max_daily_loss_pct must be in (0, 1], got {v}"));
            }
            LimitKind::GrossExposure { max_gross_exposure: v } if !(v.is_finite() && v > 0.0) => {
                return bad(format!("max_gross_exposure must be a finite number > 0, got {v}"));
            }
            LimitKind::NetExposure { max_net_exposure: hi, min_net_exposure: lo }
                if !(hi.is_finite() && lo.is_finite() && lo <= hi) =>
            {
                return bad(format!("min_net_exposure ({lo}) and max_net_exposure ({hi}) must be finite with min <= max"));
            }
            _ => {}
        }
        let reducible = matches!(
            self.kind,
            LimitKind::MaxDrawdown { .. } | LimitKind::GrossExposure { .. } | LimitKind::NetExposure { .. }
        );
        match self.action {
            LimitAction::Reduce if !reducible => bad("does not support action 'reduce'".into()),
            LimitAction::Reduce | LimitAction::Liquidate if matches!(self.kind, LimitKind::MaxPositions { .. }) => {
                bad("supports actions 'warn' and 'halt' only".into())
            }
            LimitAction::Reduce if matches!(self.kind, LimitKind::MaxDrawdown { .. }) && !fraction(self.reduction_pct) => {
                bad(format!("reduction_pct must be in (0, 1] for action 'reduce', got {}", self.reduction_pct))
            }
            _ if self.reduction_pct != 0.0
                && !(self.action == LimitAction::Reduce && matches!(self.kind, LimitKind::MaxDrawdown { .. })) =>
            {
                bad(format!("reduction_pct is only for MaxDrawdownLimit with action 'reduce', got {}", self.reduction_pct))
            }
            _ => Ok(()),
        }
    }

    /// Whether the limit refuses entries (before fills, and after a
    /// drawdown or daily-loss halt).
    pub(crate) fn blocks_entries(&self) -> bool {
        matches!(self.action, LimitAction::Halt | LimitAction::Liquidate)
    }
}

/// Something a limit did: a breach starting at a close (or an exposure
/// reduction repeated at a later close), or an entry refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitEvent {
    /// The close it was judged at, or the time of the refused entry.
    pub timestamp: Timestamp,
    /// Index of the limit in the list given to `set_portfolio_limits`.
    pub limit: u32,
    /// `Halt` for a refused entry; else the limit's action (`Warn` for a
    /// drawdown's `warn_threshold`).
    pub action: LimitAction,
    /// The measure: drawdown, daily loss or exposure as a fraction of
    /// equity, or the number of positions.
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
    /// The refused entry order, if any.
    pub order_id: Option<OrderId>,
}

/// The limits, and what the engine tracks to evaluate them.
#[derive(Debug, Default)]
pub(crate) struct LimitMonitor {
    pub(crate) limits: Vec<PortfolioLimit>,
    /// Per limit: breached at the previous close (a breach acts once).
    pub(crate) breached: Vec<bool>,
    /// Per limit: a drawdown's warn threshold was reached at the previous close.
    pub(crate) warned: Vec<bool>,
    /// Per limit: entries refused since a close, as (value, threshold, the
    /// session it lasts for: `None` for the rest of the run).
    pub(crate) halted: Vec<Option<(f64, f64, Option<i64>)>>,
    pub(crate) high_water_mark: f64,
    /// The current session and the equity it started from.
    pub(crate) day: Option<(i64, f64)>,
    pub(crate) events: Vec<LimitEvent>,
}

/// Positions a breach at a close cuts at the next open, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitCut {
    /// The exits' detail ("MaxDrawdownLimit: drawdown 21.0% >= 20.0%").
    pub detail: String,
    /// Every open position in opening order: asset, signed quantity held,
    /// and the fraction of it to close (>= 1: all of it; 0 or NaN: none).
    pub positions: Vec<(AssetId, f64, f64)>,
}

/// An entry as the limits judge it before its fill: order `order_id`
/// trading `quantity` (unsigned) of `asset` on `side` at `price`, against
/// the position `held`.
#[derive(Debug, Clone, Copy)]
pub struct LimitEntry {
    pub order_id: OrderId,
    pub asset: AssetId,
    pub side: OrderSide,
    pub held: f64,
    pub quantity: f64,
    pub price: f64,
}

impl LimitMonitor {
    /// Checks `limits` and starts them with the equity high-water mark at
    /// `initial_cash`. A daily-loss limit needs the bars' sessions
    /// (`has_sessions`).
    pub(crate) fn new(limits: Vec<PortfolioLimit>, initial_cash: f64, has_sessions: bool) -> EngineResult<Self> {
        limits.iter().try_for_each(PortfolioLimit::validate)?;
        if !has_sessions && limits.iter().any(|l| matches!(l.kind, LimitKind::DailyLoss { .. })) {
            return Err(EngineError::InvalidState(
                "DailyLossLimit needs trading days: the feed's timestamps are not dates or datetimes".into()));
        }
        let n = limits.len();
        Ok(Self {
            limits,
            breached: vec![false; n],
            warned: vec![false; n],
            halted: vec![None; n],
            high_water_mark: initial_cash,
            ..Self::default()
        })
    }

    pub fn limits(&self) -> &[PortfolioLimit] {
        &self.limits
    }

    /// What the limits did so far, in the order they did it.
    pub fn events(&self) -> &[LimitEvent] {
        &self.events
    }

    /// Evaluates every limit on the close at time `at` (in `session`, if
    /// the bars have sessions; `last_close` is the equity recorded at the
    /// previous close, or the initial cash) over `x`, the portfolio at its
    /// marks. Records what the limits did and returns the cuts their
    /// breaches ask for, in the limits' order.
    pub(crate) fn at_close(&mut self, at: Timestamp, session: Option<i64>, last_close: f64, x: &Exposure,
                           portfolio: &Portfolio) -> Vec<LimitCut> {
        let mut cuts = Vec::new();
        if self.limits.is_empty() {
            return cuts;
        }
        // A new session starts from the previous session's last close.
        if let Some(s) = session.filter(|&s| self.day.is_none_or(|(d, _)| d != s)) {
            self.day = Some((s, last_close));
            // Each day's loss is a new breach.
            for (i, limit) in self.limits.iter().enumerate() {
                if matches!(limit.kind, LimitKind::DailyLoss { .. }) {
                    self.breached[i] = false;
                }
            }
        }
        self.high_water_mark = self.high_water_mark.max(x.equity);
        let drawdown = if self.high_water_mark > 0.0 {
            ((self.high_water_mark - x.equity) / self.high_water_mark).max(0.0)
        } else {
            0.0
        };
        let daily_loss = self.day.map_or(0.0, |(_, start)| ratio((start - x.equity).max(0.0), x.equity));
        for i in 0..self.limits.len() {
            let limit = self.limits[i];
            let (value, threshold, breached) = match limit.kind {
                LimitKind::MaxDrawdown { max_drawdown, .. } => (drawdown, max_drawdown, drawdown >= max_drawdown),
                LimitKind::DailyLoss { max_daily_loss_pct } => {
                    (daily_loss, max_daily_loss_pct, daily_loss > max_daily_loss_pct)
                }
                kind => exposure_breach(kind, x).expect("an exposure limit"),
            };
            let onset = breached && !self.breached[i];
            self.breached[i] = breached;
            if let LimitKind::MaxDrawdown { warn_threshold: Some(w), .. } = limit.kind {
                let warned = !breached && drawdown >= w;
                if warned && !self.warned[i] {
                    self.record(at, i, LimitAction::Warn, drawdown, w, None);
                }
                self.warned[i] = warned;
            }
            let exposure_reduce = limit.action == LimitAction::Reduce && !matches!(limit.kind, LimitKind::MaxDrawdown { .. });
            if !(onset || (breached && exposure_reduce)) {
                continue;
            }
            self.record(at, i, limit.action, value, threshold, None);
            // Drawdown and daily-loss halts outlast the breach; count and
            // exposure limits refuse entries as they come.
            if limit.blocks_entries() {
                match limit.kind {
                    LimitKind::MaxDrawdown { .. } => self.halted[i] = Some((value, threshold, None)),
                    LimitKind::DailyLoss { .. } => self.halted[i] = Some((value, threshold, session)),
                    _ => {}
                }
            }
            let detail = format!("{}: {}", limit.name(), breach_text(limit.kind, value, threshold));
            let cut = |detail: String, fraction: &dyn Fn(f64) -> f64| LimitCut {
                detail,
                positions: portfolio.positions().map(|p| (p.asset, p.quantity, fraction(p.quantity))).collect(),
            };
            match limit.action {
                LimitAction::Liquidate => cuts.push(cut(detail, &|_| 1.0)),
                LimitAction::Reduce => {
                    let detail = format!("risk reduction: {detail}");
                    match limit.kind {
                        LimitKind::MaxDrawdown { .. } => cuts.push(cut(detail, &|_| limit.reduction_pct)),
                        LimitKind::GrossExposure { .. } => {
                            // Selling moves value into cash: equity stays, gross shrinks.
                            let excess = x.gross - threshold * x.equity;
                            cuts.push(cut(detail, &|_| excess / x.gross));
                        }
                        _ => {
                            // Scale the side (longs or shorts) that pushes net
                            // exposure past the threshold back to it.
                            let too_long = x.net > threshold * x.equity;
                            let excess = (x.net - threshold * x.equity).abs();
                            let side_value: f64 = portfolio.positions()
                                .map(|p| p.quantity * p.current_price * portfolio.multiplier(p.asset))
                                .filter(|&v| (v > 0.0) == too_long)
                                .map(f64::abs)
                                .sum();
                            if side_value > 0.0 {
                                let fraction = excess / side_value;
                                cuts.push(cut(detail, &|q| if (q > 0.0) == too_long { fraction } else { 0.0 }));
                            }
                        }
                    }
                }
                LimitAction::Warn | LimitAction::Halt => {}
            }
        }
        cuts
    }

    fn record(&mut self, at: Timestamp, i: usize, action: LimitAction, value: f64, threshold: f64, order_id: Option<OrderId>) {
        self.events.push(LimitEvent { timestamp: at, limit: i as u32, action, value, threshold, order_id });
    }

    /// Why a limit refuses entry `e` at time `at` (in `session`), if one
    /// does; the refusal is recorded. The portfolio after the fill is judged
    /// with the traded asset at the entry's price, the others at their
    /// marks, before commission.
    pub(crate) fn entry_refusal(&mut self, at: Timestamp, session: Option<i64>, portfolio: &Portfolio, e: &LimitEntry)
        -> Option<Refusal> {
        if self.limits.is_empty() || e.quantity <= 0.0 {
            return None;
        }
        let (i, value, threshold, text) = self.entry_breach(session, portfolio, e)?;
        let name = self.limits[i].name();
        self.record(at, i, LimitAction::Halt, value, threshold, Some(e.order_id));
        Some(Refusal::PortfolioLimit { name: name.to_string(), text })
    }

    /// The first limit that refuses the entry: (index, value, threshold, why).
    fn entry_breach(&self, session: Option<i64>, portfolio: &Portfolio, e: &LimitEntry) -> Option<(usize, f64, f64, String)> {
        let LimitEntry { asset, side, held, quantity, price, .. } = *e;
        let after_quantity = held + side.sign() * quantity;
        let m = portfolio.multiplier(asset);
        let mut before = Exposure { equity: portfolio.cash, ..Exposure::default() };
        for p in portfolio.positions().filter(|p| p.asset != asset) {
            let value = p.quantity * p.current_price * portfolio.multiplier(p.asset);
            before.equity += value;
            before.gross += value.abs();
            before.net += value;
            before.positions += 1;
        }
        // Buying at `price` swaps cash for the same value: equity is unchanged.
        before.equity += held * price * m;
        let mut after = before;
        let with = |x: &mut Exposure, q: f64| {
            x.gross += (q * price * m).abs();
            x.net += q * price * m;
            x.positions += u32::from(q != 0.0);
        };
        with(&mut before, held);
        with(&mut after, after_quantity);
        for (i, limit) in self.limits.iter().enumerate().filter(|(_, l)| l.blocks_entries()) {
            if let Some((value, threshold, until)) = self.halted[i] {
                if until.is_none() || until == session {
                    let why = match limit.kind {
                        LimitKind::DailyLoss { .. } => "for the day",
                        _ => "for the rest of the run",
                    };
                    return Some((i, value, threshold,
                                 format!("entries halted {why} after {}", breach_text(limit.kind, value, threshold))));
                }
            }
            let (Some((v_before, ..)), Some((value, threshold, true))) =
                (exposure_breach(limit.kind, &before), exposure_breach(limit.kind, &after))
            else {
                continue;
            };
            // An entry that moves toward the limit (e.g. a hedge) is allowed.
            let worse = if value > threshold || matches!(limit.kind, LimitKind::MaxPositions { .. }) {
                value > v_before
            } else {
                value < v_before
            };
            if worse {
                return Some((i, value, threshold, breach_text(limit.kind, value, threshold)));
            }
        }
        None
    }
}

/// The portfolio as the limits see it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Exposure {
    pub(crate) equity: f64,
    pub(crate) gross: f64,
    pub(crate) net: f64,
    pub(crate) positions: u32,
}

impl Exposure {
    /// `equity` (the portfolio valued at its marks) and the positions'
    /// market values at their current marks.
    pub(crate) fn at_marks(portfolio: &Portfolio, equity: f64) -> Self {
        let mut x = Exposure { equity, ..Exposure::default() };
        for p in portfolio.positions() {
            let value = p.quantity * p.current_price * portfolio.multiplier(p.asset);
            x.gross += value.abs();
            x.net += value;
            x.positions += 1;
        }
        x
    }

    fn ratio(&self, value: f64) -> f64 {
        ratio(value, self.equity)
    }
}

/// `value / equity`; without positive equity any exposure is unbounded.
pub(crate) fn ratio(value: f64, equity: f64) -> f64 {
    if equity > 0.0 {
        value / equity
    } else if value == 0.0 {
        0.0
    } else {
        f64::INFINITY.copysign(value)
    }
}

/// (value, threshold, breached) of an exposure limit; `None` for the others.
pub(crate) fn exposure_breach(kind: LimitKind, x: &Exposure) -> Option<(f64, f64, bool)> {
    match kind {
        LimitKind::MaxPositions { max_positions } => {
            Some((x.positions as f64, max_positions as f64, x.positions > max_positions))
        }
        LimitKind::GrossExposure { max_gross_exposure } => {
            let g = x.ratio(x.gross);
            Some((g, max_gross_exposure, g > max_gross_exposure))
        }
        LimitKind::NetExposure { max_net_exposure, min_net_exposure } => {
            let n = x.ratio(x.net);
            Some(if n > max_net_exposure {
                (n, max_net_exposure, true)
            } else if n < min_net_exposure {
                (n, min_net_exposure, true)
            } else {
                (n, if n >= 0.0 { max_net_exposure } else { min_net_exposure }, false)
            })
        }
        _ => None,
    }
}

/// "drawdown 21.0% >= 20.0%": the breach in ml4t's words, as a percentage.
pub(crate) fn breach_text(kind: LimitKind, value: f64, threshold: f64) -> String {
    let pct = |v: f64| format!("{:.1}%", v * 100.0);
    match kind {
        LimitKind::MaxDrawdown { .. } => format!("drawdown {} >= {}", pct(value), pct(threshold)),
        LimitKind::DailyLoss { .. } => format!("daily loss {} > max {}", pct(value), pct(threshold)),
        LimitKind::MaxPositions { .. } => format!("positions {value} > max {threshold}"),
        LimitKind::GrossExposure { .. } => format!("gross exposure {} > max {}", pct(value), pct(threshold)),
        LimitKind::NetExposure { .. } if value > threshold => {
            format!("net exposure {} > max {}", pct(value), pct(threshold))
        }
        LimitKind::NetExposure { .. } => format!("net exposure {} < min {}", pct(value), pct(threshold)),
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::account_tests::fill;

    /// 100,000 initial cash; long 2,000 @ 100 (cash -100,000, gross 200,000).
    fn leveraged_long() -> Portfolio {
        let mut p = Portfolio::new(100_000.0, 2);
        let f = fill(0, OrderSide::Buy, 2_000.0, 100.0);
        p.apply_fill(&f, 0.0);
        p
    }

    fn limit(kind: LimitKind, action: LimitAction) -> PortfolioLimit {
        PortfolioLimit { kind, action, reduction_pct: 0.0 }
    }

    #[test]
    fn a_drawdown_of_20_9_percent_breaches_a_20_percent_limit_once() {
        let drawdown = limit(LimitKind::MaxDrawdown { max_drawdown: 0.20, warn_threshold: Some(0.10) }, LimitAction::Liquidate);
        let mut m = LimitMonitor::new(vec![drawdown], 100_000.0, false).unwrap();
        let p = leveraged_long();
        let at = |equity| Exposure { equity, ..Exposure::default() };
        // Equity 110,000 raises the high-water mark; nothing happens.
        assert!(m.at_close(0, None, 100_000.0, &at(110_000.0), &p).is_empty());
        // 95,000: (110,000 - 95,000) / 110,000 = 13.6% >= the 10% warning.
        assert!(m.at_close(1, None, 110_000.0, &at(95_000.0), &p).is_empty());
        assert_eq!(m.events().last().map(|e| (e.timestamp, e.action)), Some((1, LimitAction::Warn)));
        // 87,000: 23,000 / 110,000 = 20.9% >= 20%: liquidate every position.
        let cuts = m.at_close(2, None, 95_000.0, &at(87_000.0), &p);
        assert_eq!(cuts, [LimitCut { detail: "MaxDrawdownLimit: drawdown 20.9% >= 20.0%".into(), positions: vec![(0, 2_000.0, 1.0)] }]);
        let e = m.events().last().unwrap();
        assert_eq!((e.timestamp, e.action, e.value, e.threshold), (2, LimitAction::Liquidate, 23_000.0 / 110_000.0, 0.20));
        // Still in drawdown at the next close: the breach acted once.
        assert!(m.at_close(3, None, 87_000.0, &at(86_000.0), &p).is_empty());
        // Entries are halted for the rest of the run; exits pass.
        let entry = LimitEntry { order_id: 9, asset: 1, side: OrderSide::Buy, held: 0.0, quantity: 1.0, price: 10.0 };
        assert_eq!(m.entry_refusal(4, None, &p, &entry).map(|r| r.to_string()).as_deref(),
                   Some("Portfolio limit MaxDrawdownLimit: entries halted for the rest of the run after drawdown 20.9% >= 20.0%"));
        assert_eq!(m.events().last().map(|e| (e.action, e.order_id)), Some((LimitAction::Halt, Some(9))));
        assert_eq!(m.entry_refusal(4, None, &p, &LimitEntry { quantity: 0.0, ..entry }), None);
    }

    #[test]
    fn a_gross_exposure_reduction_cuts_back_to_the_limit() {
        // Gross 200,000 on equity 100,000 = 2.0 against 1.5: 50,000 of
        // 200,000 too much, so a quarter of every position goes.
        let gross = limit(LimitKind::GrossExposure { max_gross_exposure: 1.5 }, LimitAction::Reduce);
        let mut m = LimitMonitor::new(vec![gross], 100_000.0, false).unwrap();
        let p = leveraged_long();
        let x = Exposure::at_marks(&p, 100_000.0);
        assert_eq!((x.gross, x.net, x.positions), (200_000.0, 200_000.0, 1));
        let cuts = m.at_close(0, None, 100_000.0, &x, &p);
        assert_eq!(cuts[0].positions, [(0, 2_000.0, 0.25)]);
        assert_eq!(cuts[0].detail, "risk reduction: GrossExposureLimit: gross exposure 200.0% > max 150.0%");
        // An exposure reduction repeats at every close the breach persists.
        assert_eq!(m.at_close(1, None, 100_000.0, &x, &p).len(), 1);
    }

    #[test]
    fn an_entry_that_would_break_a_position_count_is_refused() {
        let count = limit(LimitKind::MaxPositions { max_positions: 1 }, LimitAction::Halt);
        let mut m = LimitMonitor::new(vec![count], 100_000.0, false).unwrap();
        let p = leveraged_long();
        let buy = |asset| LimitEntry { order_id: 3, asset, side: OrderSide::Buy, held: 0.0, quantity: 5.0, price: 100.0 };
        // Adding to the open position keeps one position; a second asset makes two.
        assert_eq!(m.entry_refusal(0, None, &p, &LimitEntry { held: 2_000.0, ..buy(0) }), None);
        assert_eq!(m.entry_refusal(0, None, &p, &buy(1)).map(|r| r.to_string()).as_deref(),
                   Some("Portfolio limit MaxPositionsLimit: positions 2 > max 1"));
    }

    #[test]
    fn a_daily_loss_limit_needs_sessions() {
        let daily = limit(LimitKind::DailyLoss { max_daily_loss_pct: 0.05 }, LimitAction::Halt);
        assert!(LimitMonitor::new(vec![daily], 100_000.0, false).is_err());
        assert!(LimitMonitor::new(vec![daily], 100_000.0, true).is_ok());
    }
}
