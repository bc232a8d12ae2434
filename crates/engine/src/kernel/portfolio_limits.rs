//! Portfolio limits as the engine enforces them each bar and on entries.

use nl_core::Refusal;
use nl_core::{AssetId, BarIndex, CancelReason, EngineError, EngineResult, ExitReason, OrderId, OrderSide, ShareType};
use crate::kernel::{DeferredExit, Engine, Phase};
use crate::risk::portfolio_limits::*;

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
