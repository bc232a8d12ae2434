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

use nl_core::Refusal;
use nl_core::{AssetId, BarIndex, CancelReason, EngineError, EngineResult, ExitReason, OrderId, OrderSide, ShareType};

use crate::kernel::{DeferredExit, Engine, Phase};

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
    fn blocks_entries(&self) -> bool {
        matches!(self.action, LimitAction::Halt | LimitAction::Liquidate)
    }
}

/// Something a limit did: a breach starting at a close (or an exposure
/// reduction repeated at a later close), or an entry refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitEvent {
    pub bar: BarIndex,
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
    limits: Vec<PortfolioLimit>,
    /// Per limit: breached at the previous close (a breach acts once).
    breached: Vec<bool>,
    /// Per limit: a drawdown's warn threshold was reached at the previous close.
    warned: Vec<bool>,
    /// Per limit: entries refused since a close, as (value, threshold, the
    /// session it lasts for: `None` for the rest of the run).
    halted: Vec<Option<(f64, f64, Option<i64>)>>,
    high_water_mark: f64,
    /// The current session and the equity it started from.
    day: Option<(i64, f64)>,
    events: Vec<LimitEvent>,
}

/// The portfolio as the limits see it.
#[derive(Debug, Clone, Copy, Default)]
struct Exposure {
    equity: f64,
    gross: f64,
    net: f64,
    positions: u32,
}

impl Exposure {
    fn ratio(&self, value: f64) -> f64 {
        ratio(value, self.equity)
    }
}

/// `value / equity`; without positive equity any exposure is unbounded.
fn ratio(value: f64, equity: f64) -> f64 {
    if equity > 0.0 {
        value / equity
    } else if value == 0.0 {
        0.0
    } else {
        f64::INFINITY.copysign(value)
    }
}

/// (value, threshold, breached) of an exposure limit; `None` for the others.
fn exposure_breach(kind: LimitKind, x: &Exposure) -> Option<(f64, f64, bool)> {
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
fn breach_text(kind: LimitKind, value: f64, threshold: f64) -> String {
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

impl Engine {
    /// Sets the portfolio limits (before the first bar only). An empty list
    /// turns them off. A daily-loss limit needs the bars' sessions.
    pub fn set_portfolio_limits(&mut self, limits: Vec<PortfolioLimit>) -> EngineResult<()> {
        if self.phase != Phase::BeforeFirstBar {
            return Err(EngineError::InvalidState("portfolio limits can only be set before the first bar".into()));
        }
        limits.iter().try_for_each(PortfolioLimit::validate)?;
        if self.sessions.is_none() && limits.iter().any(|l| matches!(l.kind, LimitKind::DailyLoss { .. })) {
            return Err(EngineError::InvalidState(
                "DailyLossLimit needs trading days: the feed's timestamps are not dates or datetimes".into()));
        }
        let n = limits.len();
        self.portfolio_limits = LimitMonitor {
            limits,
            breached: vec![false; n],
            warned: vec![false; n],
            halted: vec![None; n],
            high_water_mark: self.cfg.initial_cash,
            ..LimitMonitor::default()
        };
        Ok(())
    }

    pub fn portfolio_limits(&self) -> &[PortfolioLimit] {
        &self.portfolio_limits.limits
    }

    /// What the limits did so far, in the order they did it.
    pub fn limit_events(&self) -> &[LimitEvent] {
        &self.portfolio_limits.events
    }

    /// Evaluates every limit on the close of bar `b` and acts on breaches.
    pub(crate) fn enforce_portfolio_limits(&mut self, b: BarIndex) -> EngineResult<()> {
        if self.portfolio_limits.limits.is_empty() {
            return Ok(());
        }
        let x = self.exposure_at_marks();
        let session = self.sessions.as_ref().map(|s| s[b as usize]);
        // A new session starts from the previous session's last close.
        if let Some(s) = session.filter(|&s| self.portfolio_limits.day.is_none_or(|(d, _)| d != s)) {
            let start = self.equity.last().copied().unwrap_or(self.cfg.initial_cash);
            let m = &mut self.portfolio_limits;
            m.day = Some((s, start));
            // Each day's loss is a new breach.
            for (i, limit) in m.limits.iter().enumerate() {
                if matches!(limit.kind, LimitKind::DailyLoss { .. }) {
                    m.breached[i] = false;
                }
            }
        }
        let m = &mut self.portfolio_limits;
        m.high_water_mark = m.high_water_mark.max(x.equity);
        let drawdown = if m.high_water_mark > 0.0 {
            ((m.high_water_mark - x.equity) / m.high_water_mark).max(0.0)
        } else {
            0.0
        };
        let daily_loss = m.day.map_or(0.0, |(_, start)| ratio((start - x.equity).max(0.0), x.equity));
        for i in 0..self.portfolio_limits.limits.len() {
            let limit = self.portfolio_limits.limits[i];
            let (value, threshold, breached) = match limit.kind {
                LimitKind::MaxDrawdown { max_drawdown, .. } => (drawdown, max_drawdown, drawdown >= max_drawdown),
                LimitKind::DailyLoss { max_daily_loss_pct } => {
                    (daily_loss, max_daily_loss_pct, daily_loss > max_daily_loss_pct)
                }
                kind => exposure_breach(kind, &x).expect("an exposure limit"),
            };
            let onset = breached && !self.portfolio_limits.breached[i];
            self.portfolio_limits.breached[i] = breached;
            if let LimitKind::MaxDrawdown { warn_threshold: Some(w), .. } = limit.kind {
                let warned = !breached && drawdown >= w;
                if warned && !self.portfolio_limits.warned[i] {
                    self.record_limit_event(b, i, LimitAction::Warn, drawdown, w, None);
                }
                self.portfolio_limits.warned[i] = warned;
            }
            let exposure_reduce = limit.action == LimitAction::Reduce && !matches!(limit.kind, LimitKind::MaxDrawdown { .. });
            if !(onset || (breached && exposure_reduce)) {
                continue;
            }
            self.record_limit_event(b, i, limit.action, value, threshold, None);
            // Drawdown and daily-loss halts outlast the breach; count and
            // exposure limits refuse entries as they come.
            if limit.blocks_entries() {
                match limit.kind {
                    LimitKind::MaxDrawdown { .. } => self.portfolio_limits.halted[i] = Some((value, threshold, None)),
                    LimitKind::DailyLoss { .. } => self.portfolio_limits.halted[i] = Some((value, threshold, session)),
                    _ => {}
                }
            }
            let detail = format!("{}: {}", limit.name(), breach_text(limit.kind, value, threshold));
            match limit.action {
                LimitAction::Liquidate => self.schedule_limit_exits(detail, |_| 1.0),
                LimitAction::Reduce => {
                    let detail = format!("risk reduction: {detail}");
                    match limit.kind {
                        LimitKind::MaxDrawdown { .. } => self.schedule_limit_exits(detail, |_| limit.reduction_pct),
                        LimitKind::GrossExposure { .. } => {
                            // Selling moves value into cash: equity stays, gross shrinks.
                            let excess = x.gross - threshold * x.equity;
                            self.schedule_limit_exits(detail, |_| excess / x.gross);
                        }
                        _ => self.schedule_net_reduction(detail, &x, threshold),
                    }
                }
                LimitAction::Warn | LimitAction::Halt => {}
            }
        }
        Ok(())
    }

    /// Scales the side (longs or shorts) that pushes net exposure past
    /// `threshold` back to it.
    fn schedule_net_reduction(&mut self, detail: String, x: &Exposure, threshold: f64) {
        let too_long = x.net > threshold * x.equity;
        let excess = (x.net - threshold * x.equity).abs();
        let side_value: f64 = self.portfolio.positions()
            .map(|p| p.quantity * p.current_price * self.multiplier(p.asset))
            .filter(|&v| (v > 0.0) == too_long)
            .map(f64::abs)
            .sum();
        if side_value > 0.0 {
            let fraction = excess / side_value;
            self.schedule_limit_exits(detail, |q| if (q > 0.0) == too_long { fraction } else { 0.0 });
        }
    }

    /// Cancels pending orders (they were sized for the portfolio being cut)
    /// except the exits of positions only partly cut (protective stops and
    /// targets stay, and shrink to what remains after the cut), and
    /// schedules, for the next open, an exit of `fraction(quantity)` of
    /// every open position (capped at all of it; whole shares rounded up in
    /// an integer account so the cut reaches the limit). Exits already waiting
    /// stay, unless a liquidation replaces a rule's exit.
    fn schedule_limit_exits(&mut self, detail: String, fraction: impl Fn(f64) -> f64) {
        let open: Vec<(AssetId, f64)> = self.portfolio.positions().map(|p| (p.asset, p.quantity)).collect();
        let kept_exit = |o: &nl_core::Order| {
            open.iter().any(|&(a, held)| a == o.asset && o.side.sign() * held < 0.0 && !(fraction(held) >= 1.0))
        };
        self.cancel_pending_where(CancelReason::PortfolioLimit, |o| !kept_exit(o));
        for (asset, held) in open {
            let f = fraction(held);
            if f.is_nan() || f <= 0.0 {
                continue;
            }
            let full = f >= 1.0;
            let waiting = self.deferred_exits.iter().position(|e| e.asset == asset);
            match waiting {
                Some(k) if full && !matches!(self.deferred_exits[k].reason, ExitReason::MarginCall | ExitReason::RiskLiquidation) => {
                    self.deferred_exits.remove(k);
                }
                Some(_) => continue,
                None => {}
            }
            let mut quantity = if full { held.abs() } else { held.abs() * f };
            if self.cfg.share_type == ShareType::Integer {
                quantity = (quantity - 1e-9).ceil().min(held.abs());
            }
            if quantity > 0.0 {
                let detail = detail.clone();
                self.deferred_exits.push(DeferredExit {
                    asset, reason: ExitReason::RiskLiquidation, detail, quantity: quantity.copysign(held), enforced: true,
                });
            }
        }
    }

    fn record_limit_event(&mut self, bar: BarIndex, i: usize, action: LimitAction, value: f64, threshold: f64,
                          order_id: Option<OrderId>) {
        self.portfolio_limits.events.push(LimitEvent { bar, limit: i as u32, action, value, threshold, order_id });
    }

    /// Cash plus market values at the positions' marks, and their exposure.
    fn exposure_at_marks(&self) -> Exposure {
        let mut x = Exposure { equity: self.equity_now(), ..Exposure::default() };
        for p in self.portfolio.positions() {
            let value = p.quantity * p.current_price * self.multiplier(p.asset);
            x.gross += value.abs();
            x.net += value;
            x.positions += 1;
        }
        x
    }

    /// Rejects entry `id` (`quantity` of its asset at `price`, on bar `b`)
    /// if a limit refuses it, and records the refusal. The portfolio after
    /// the fill is judged with the traded asset at `price`, the others at
    /// their marks, before commission.
    pub(crate) fn refused_by_portfolio_limit(&mut self, id: OrderId, b: BarIndex, held: f64, quantity: f64, price: f64) -> bool {
        if self.portfolio_limits.limits.is_empty() || quantity <= 0.0 {
            return false;
        }
        let o = &self.book[id];
        let (asset, side) = (o.asset, o.side);
        let Some((i, value, threshold, text)) = self.entry_breach(b, asset, side, held, quantity, price) else {
            return false;
        };
        let name = self.portfolio_limits.limits[i].name();
        self.reject(id, Refusal::PortfolioLimit { name: name.to_string(), text });
        self.record_limit_event(b, i, LimitAction::Halt, value, threshold, Some(id));
        true
    }

    /// The first limit that refuses the entry: (index, value, threshold, why).
    fn entry_breach(&self, b: BarIndex, asset: AssetId, side: OrderSide, held: f64, quantity: f64, price: f64)
                    -> Option<(usize, f64, f64, String)> {
        let session = self.sessions.as_ref().map(|s| s[b as usize]);
        let after_quantity = held + side.sign() * quantity;
        let m = self.multiplier(asset);
        let mut before = Exposure { equity: self.portfolio.cash, ..Exposure::default() };
        for p in self.portfolio.positions().filter(|p| p.asset != asset) {
            let value = p.quantity * p.current_price * self.multiplier(p.asset);
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
        for (i, limit) in self.portfolio_limits.limits.iter().enumerate().filter(|(_, l)| l.blocks_entries()) {
            if let Some((value, threshold, until)) = self.portfolio_limits.halted[i] {
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
