//! Orders the engine sends itself, and the charges it books at a close:
//! position-rule exits (now, or deferred to the next open), portfolio-limit
//! cuts, margin-call liquidations and borrow fees. The components decide
//! (`rules/evaluation.rs`, `risk/portfolio_limits.rs`, `account/`); the
//! kernel sends the orders and matches them.

use nl_core::{
    AssetId, BarIndex, CancelReason, EngineError, EngineResult, ExecutionMode, ExitReason, Order, OrderId, OrderSide,
    OrderStatus, OrderType, ShareType,
};

use crate::account::margin_call::MarginCall;
use crate::kernel::{Engine, OrderRequest, Phase, SubmitOutcome};
use crate::risk::portfolio_limits::{Exposure, LimitCut, LimitEntry, LimitEvent, LimitMonitor, PortfolioLimit};
use crate::rules::evaluation::DeferredExit;
use crate::rules::memory::{ContextKey, MemorySlot};
use crate::rules::{RuleSettings, RuleState};
use crate::venue::sim::triggers::MatchPoint;

impl Engine {
    // Position rules (rules/evaluation.rs decides; the kernel sends the
    // exits and matches them).

    /// Sends the exits deferred to this bar's open and fills them at it.
    /// Exits whose position is gone are dropped; assets without a bar wait.
    pub(crate) fn release_deferred_exits(&mut self, b: BarIndex) -> EngineResult<()> {
        if !self.rules.has_deferred() {
            return Ok(());
        }
        let mut sent = Vec::new();
        let mut enforced_assets = Vec::new();
        for exit in self.rules.take_deferred() {
            let held = self.portfolio.quantity(exit.asset);
            let Some(exit) = exit.fitted_to(held) else { continue };
            let Some(row) = self.row_in_bar(b, exit.asset) else {
                self.rules.requeue(exit);
                continue;
            };
            let open = self.market.bar_at(row).open;
            let DeferredExit { asset, reason, detail, quantity, enforced } = exit;
            if let Some(id) = self.submit_rule_exit(asset, quantity, reason, detail, Some(open), enforced)? {
                sent.push(id);
                if enforced {
                    enforced_assets.push(asset);
                }
            }
        }
        if sent.is_empty() {
            return Ok(());
        }
        // ml4t matches them "at the open"; in SAME_BAR mode that pass prices and
        // labels like the bar's execution pass but marks as an open-time pass
        // (the fill price is the open either way).
        let at = match self.cfg.execution_mode {
            ExecutionMode::NextBar => MatchPoint::Open,
            ExecutionMode::SameBar => MatchPoint::SameBarOpen,
        };
        self.match_pending_among(b, at, Some(&sent))?;
        for asset in enforced_assets {
            self.fit_exits_to_position(asset);
        }
        Ok(())
    }

    /// After the engine cut `asset`'s position: its working exit orders
    /// (protective stops, targets) shrink to what is still held, so none can
    /// reverse the position; with nothing held they are cancelled.
    pub(crate) fn fit_exits_to_position(&mut self, asset: AssetId) {
        let held = self.portfolio.quantity(asset);
        let is_exit = |o: &Order| o.asset == asset && o.side.sign() * held < 0.0;
        if held == 0.0 {
            return self.cancel_pending_where(CancelReason::PortfolioLimit, |o| o.asset == asset);
        }
        for i in 0..self.book.pending_ids().len() {
            let id = self.book.pending_ids()[i];
            let o = &self.book[id];
            if o.status == OrderStatus::Pending && is_exit(o) && o.quantity > held.abs() {
                if self.execution_client.is_some() {
                    // At a venue the smaller size is a request; a send that
                    // fails leaves the order as the venue has it.
                    let smaller = Order { quantity: held.abs(), ..o.clone() };
                    if self.request_modify(&smaller).is_err() {
                        continue;
                    }
                }
                self.book[id].quantity = held.abs();
            }
        }
    }

    /// Evaluates the rules of every open position with a bar now (in the
    /// order positions were opened) and sends the exits they trigger.
    pub(crate) fn evaluate_position_rules(&mut self, b: BarIndex) -> EngineResult<()> {
        if self.rules.is_empty() {
            return Ok(());
        }
        let settings = RuleSettings { fill_mode: self.cfg.stop_fill_mode, trail_timing: self.cfg.trail_stop_timing };
        let signal_basis = self.cfg.stop_level_basis == nl_core::StopLevelBasis::SignalPrice;
        let assets: Vec<AssetId> = self.portfolio.positions().map(|p| p.asset).collect();
        for asset in assets {
            let Some(row) = self.row_in_bar(b, asset) else { continue };
            let Some(pos) = self.portfolio.position(asset) else { continue };
            let state = RuleState::of(pos, &self.market.bar_at(row), self.market.timestamp(b), signal_basis);
            // At a venue a rule's exit may still be working (its fill not yet
            // reported): the rule does not fire again meanwhile.
            if self.execution_client.is_some()
                && self.book.pending().any(|o| o.asset == asset && o.exit_reason != ExitReason::Signal) {
                continue;
            }
            let Some(exit) = self.rules.evaluate(&state, settings)? else { continue };
            if exit.defer {
                let (reason, detail, quantity) = (exit.reason, exit.detail, exit.quantity);
                self.rules.defer(DeferredExit { asset, reason, detail, quantity, enforced: false });
            } else if self.submit_rule_exit(asset, exit.quantity, exit.reason, exit.detail, exit.fill_price, false)?.is_some()
                && exit.full {
                self.rules.mark_exited(asset, b);
            }
        }
        Ok(())
    }

    /// Cancels every pending order, then sends a market order closing each
    /// open position (in the order they were opened), tagged
    /// `risk_liquidation` with `detail`. Returns the exit orders' ids.
    pub fn flatten_all_positions(&mut self, detail: &str) -> EngineResult<Vec<u64>> {
        self.reduce_all_positions(1.0, detail)
    }

    /// The first open position whose `fraction` cannot be sent as an order:
    /// `(asset, rounds_to_zero)`; `rounds_to_zero` when an integer account
    /// would floor it to nothing, else it is below the minimum order size.
    pub fn unexecutable_reduction(&self, fraction: f64) -> Option<(AssetId, bool)> {
        self.portfolio.positions().find_map(|p| {
            let q = (p.quantity * fraction).abs();
            if !(q.is_finite() && q > crate::orders::MIN_ORDER_QUANTITY) {
                Some((p.asset, false))
            } else if self.cfg.share_type == ShareType::Integer && q.trunc() == 0.0 {
                Some((p.asset, true))
            } else {
                None
            }
        })
    }

    /// Cancels every pending order and sends market exits for `fraction`
    /// (0 < fraction <= 1) of every open position (exit reason
    /// `risk_liquidation`, `detail`): ml4t's `reduce_all_positions`. Refused,
    /// changing nothing, when the fraction is out of range.
    pub fn reduce_all_positions(&mut self, fraction: f64, detail: &str) -> EngineResult<Vec<u64>> {
        if !(fraction.is_finite() && fraction > 0.0 && fraction <= 1.0) {
            return Err(EngineError::InvalidArgument(format!("fraction must be a finite value in (0, 1], got {fraction}")));
        }
        self.note_change();
        for id in self.book.pending_ids().to_vec() {
            self.cancel_order(id);
        }
        let open: Vec<(AssetId, f64)> = self.portfolio.positions().map(|p| (p.asset, p.quantity * fraction)).collect();
        let mut ids = Vec::with_capacity(open.len());
        for (asset, quantity) in open {
            if let Some(id) = self.submit_rule_exit(asset, quantity, ExitReason::RiskLiquidation, detail.to_string(), None, false)? {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// A market order closing `quantity` (signed position size) of `asset`,
    /// tagged with the rule's reason and fill price.
    pub(crate) fn submit_rule_exit(&mut self, asset: AssetId, quantity: f64, reason: ExitReason, detail: String,
                        fill_price: Option<f64>, enforced: bool) -> EngineResult<Option<u64>> {
        let side = if quantity > 0.0 { OrderSide::Sell } else { OrderSide::Buy };
        let SubmitOutcome::Accepted(id) = self.queue_order(OrderRequest::new(asset, quantity.abs(), side, OrderType::Market))?
        else {
            return Ok(None);
        };
        let o = &mut self.book[id];
        o.exit_reason = reason;
        let extras = o.extras_mut();
        extras.exit_detail = Some(detail.into());
        extras.risk_fill_price = fill_price.into();
        // Prechecked like any submission (the engine's own enforcement aside);
        // flatten_all_positions from the strategy fills at once with immediate_fill.
        if enforced {
            self.fill_now_if_immediate(id)?;
        } else {
            self.admit_order(id)?;
        }
        Ok(Some(id))
    }

    // Portfolio limits (risk/portfolio_limits.rs judges; the kernel cancels
    // and schedules what a breach asks for).

    /// Sets the portfolio limits (before the first bar only). An empty list
    /// turns them off. A daily-loss limit needs the bars' sessions.
    pub fn set_portfolio_limits(&mut self, limits: Vec<PortfolioLimit>) -> EngineResult<()> {
        if self.phase != Phase::BeforeFirstBar {
            return Err(EngineError::InvalidState("portfolio limits can only be set before the first bar".into()));
        }
        self.portfolio_limits = LimitMonitor::new(limits, self.cfg.initial_cash, self.sessions.is_some())?;
        Ok(())
    }

    pub fn portfolio_limits(&self) -> &[PortfolioLimit] {
        self.portfolio_limits.limits()
    }

    /// What the limits did so far, in the order they did it.
    pub fn limit_events(&self) -> &[LimitEvent] {
        self.portfolio_limits.events()
    }

    /// Evaluates every limit on the close of bar `b` (on the equity the
    /// curve records) and schedules the cuts their breaches ask for.
    pub(crate) fn enforce_portfolio_limits(&mut self, b: BarIndex) {
        if self.portfolio_limits.limits().is_empty() {
            return;
        }
        let x = Exposure::at_marks(&self.portfolio, self.equity_now());
        let session = self.sessions.as_ref().map(|s| s[b as usize]);
        let last_close = self.equity.last().copied().unwrap_or(self.cfg.initial_cash);
        for cut in self.portfolio_limits.at_close(self.market.timestamp(b), session, last_close, &x, &self.portfolio) {
            self.schedule_limit_cut(cut);
        }
    }

    /// Applies a limit's cut: cancels pending orders (they were sized for the
    /// portfolio being cut) except the exits of positions only partly cut
    /// (protective stops and targets stay, and shrink to what remains after
    /// the cut), and schedules, for the next open, an exit of each
    /// position's fraction (all of it from 1 up; whole shares rounded up in
    /// an integer account so the cut reaches the limit). Exits already
    /// waiting stay, unless a liquidation replaces a rule's exit.
    pub(crate) fn schedule_limit_cut(&mut self, cut: LimitCut) {
        let LimitCut { detail, positions } = cut;
        let kept_exit = |o: &Order| {
            positions.iter().any(|&(a, held, f)| a == o.asset && o.side.sign() * held < 0.0 && !(f >= 1.0))
        };
        self.cancel_pending_where(CancelReason::PortfolioLimit, |o| !kept_exit(o));
        let whole_shares = self.cfg.share_type == ShareType::Integer;
        for (asset, held, f) in positions {
            self.rules.defer_limit_cut(asset, held, f, &detail, whole_shares);
        }
    }

    /// Rejects entry `id` (`quantity` of its asset at `price`, on bar `b`)
    /// if a portfolio limit refuses it (the limits record the refusal).
    pub(crate) fn refused_by_portfolio_limit(&mut self, id: OrderId, b: BarIndex, held: f64, quantity: f64, price: f64) -> bool {
        if self.portfolio_limits.limits().is_empty() {
            return false;
        }
        let o = &self.book[id];
        let entry = LimitEntry { order_id: id, asset: o.asset, side: o.side, held, quantity, price };
        let session = self.sessions.as_ref().map(|s| s[b as usize]);
        let Some(reason) = self.portfolio_limits.entry_refusal(self.market.timestamp(b), session, &self.portfolio, &entry) else { return false };
        self.reject(id, reason);
        true
    }

    // Position rules' memory (rules/memory.rs).

    /// Sets (or with `None` removes) a context value of `asset`'s open
    /// position `serial`. Returns false, changing nothing, when that position
    /// is no longer open (ml4t ignores updates for a flat asset).
    pub fn set_position_context(&mut self, asset: AssetId, serial: u64, key: ContextKey, value: Option<f64>) -> EngineResult<bool> {
        self.require_asset(asset)?;
        let open = self.portfolio.position(asset).map(|p| p.serial);
        self.note_rules();
        Ok(self.rules.memory.update_open_context(open, asset, serial, key, value))
    }

    /// Forgets the state of the stateful rule in `slot`.
    pub fn reset_rule_memory(&mut self, slot: MemorySlot) {
        self.note_rules();
        self.rules.memory.reset(slot);
    }

    // Borrow fees and margin calls (account/margin_call.rs).

    /// Charges the night's borrow fee of every open short (at the close of bar `b`).
    pub(crate) fn charge_borrow_fees(&mut self, b: BarIndex) -> EngineResult<()> {
        if !self.account.charges_borrow() || (b as usize) + 1 >= self.market.n_bars() {
            return Ok(());
        }
        let Some(sessions) = self.sessions.as_ref() else {
            return Err(Self::borrow_without_dates());
        };
        let nights = (sessions[b as usize + 1] - sessions[b as usize]) as f64;
        self.account.charge_borrow_fees(&mut self.portfolio, nights);
        Ok(())
    }

    pub(crate) fn borrow_without_dates() -> EngineError {
        EngineError::InvalidState("borrow_rate needs calendar dates: the feed's timestamps are not dates or datetimes".into())
    }

    /// At the close of bar `b`: the positions a margin call liquidates lose
    /// their pending orders (so none re-opens them) and are closed at the
    /// next open.
    pub(crate) fn enforce_maintenance_margin(&mut self, b: BarIndex) {
        for (asset, quantity) in self.account.margin_call(&self.portfolio, self.market.timestamp(b)) {
            self.cancel_pending_where(CancelReason::MarginCall, |o| o.asset == asset);
            self.rules.defer_margin_call(asset, quantity);
        }
    }

    pub fn margin_calls(&self) -> &[MarginCall] {
        self.account.margin_calls()
    }

    /// Borrow fees charged so far, per asset.
    pub fn borrow_fees(&self) -> &[f64] {
        self.account.borrow_fees()
    }
}
