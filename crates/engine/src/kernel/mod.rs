//! The per-bar step: update marks, match pending orders, record equity.

mod cash_events;
mod execute;
mod exits;
mod external;
mod immediate;
mod matching;
mod rebalance;
mod savepoint;
mod settings;
mod stepped;

use std::collections::HashMap;
use std::sync::Arc;

use nl_core::{
    MaybeF64, MaybeTime, OrderExtras, AssetId, BarIndex, CancelReason, EngineError, EngineResult, ExecutionMode, ExecutionPrice, Fill,
    Order, OrderId, OrderSide, OrderStatus, OrderType, Position, Refusal, ShareType, TimeInForce, Timestamp, Trade,
    WaterMarkSource,
};

use crate::account::margin::{net_liquidation_value, MarginSchedule};
use crate::account::{Account, EntryCheck};
use crate::config::EngineConfig;
use crate::venue::sim::costs::{Commissions, PerAsset, Slippages};
use crate::venue::sim::liquidity::{ExecutionLimit, MarketImpact};
use crate::venue::sim::execute::Trigger;
use crate::venue::sim::triggers::{execution_price, mark_of, MatchPoint};
use crate::risk::prechecks::{set_holding, shadow_rejection, simple_cash_check, Holding, Prechecks};
use crate::risk::portfolio_limits::LimitMonitor;
use crate::market::{utc_day, MarketData};
use crate::portfolio::Portfolio;
use crate::rules::evaluation::PositionRules;
use crate::rules::PositionRule;
use crate::venue::{ExecutionClient, ExecutionReport};
use crate::orders::OrderBook;
pub use crate::orders::{OrderRequest, OrderUpdate, SubmitOutcome, MIN_ORDER_QUANTITY};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    BeforeFirstBar,
    InBar(BarIndex),
    AfterBar(BarIndex),
}

pub struct Engine {
    pub(crate) cfg: EngineConfig,
    pub(crate) market: Arc<MarketData>,
    pub(crate) phase: Phase,
    pub(crate) book: OrderBook,
    pub(crate) fills: Vec<Fill>,
    pub(crate) portfolio: Portfolio,
    /// Last known close per asset (NaN before the asset's first bar).
    pub(crate) last_price: Vec<f64>,
    /// Per asset: (bar, row) of its latest row, so matching finds this bar's
    /// row in O(1) without clearing a table every bar.
    pub(crate) latest_row: Vec<(u32, u32)>,
    /// Per asset: (bar, quantity filled in that bar), for volume-share costs.
    pub(crate) volume_consumed: Vec<(u32, f64)>,
    /// Position rules, their memory, deferred exits and re-entry blocks.
    pub(crate) rules: PositionRules,
    /// Session (trading day) number of every bar, for DAY orders.
    pub(crate) sessions: Option<Vec<i64>>,
    /// With `CancelPolicy.SESSION_END`: per bar, the close (ns) of its
    /// exchange session; pending orders are cancelled once the close of the
    /// session they were submitted in has passed.
    pub(crate) session_closes: Option<Vec<Timestamp>>,
    /// With `enforce_sessions`: per bar, whether it lies inside an exchange
    /// session; a bar outside is passed over (`begin_session_bar`).
    pub(crate) in_session: Option<Vec<bool>>,
    pub(crate) skipped_bars: usize,
    /// Scratch lists reused by every matching pass.
    pub(crate) scratch_eligible: Vec<OrderId>,
    pub(crate) scratch_exits: Vec<OrderId>,
    pub(crate) scratch_entries: Vec<OrderId>,
    /// Settlement, locked collateral, margin, borrow fees and margin calls.
    pub(crate) account: Account,
    /// True during an immediate fill (its refusals are always REJECTED).
    pub(crate) filling_immediately: bool,
    /// The current bar's close ran (`close_bar`) and its record waits for
    /// `end_bar`: account checks read the closed bar in between.
    bar_closed: bool,
    /// The next-bar cash models and the submission prechecks' shadow account.
    pub(crate) prechecks: Prechecks,
    /// Portfolio limits (none by default) and what they did.
    pub(crate) portfolio_limits: LimitMonitor,
    /// Equity and cash recorded at the end of every bar.
    pub(crate) equity: Vec<f64>,
    pub(crate) cash_curve: Vec<f64>,
    /// Number of open positions at the end of every bar.
    pub(crate) open_positions_curve: Vec<u32>,
    /// Gross and net position value at the end of every bar (ml4t's account
    /// observation's `gross_exposure` and `net_exposure`).
    pub(crate) gross_exposure_curve: Vec<f64>,
    pub(crate) net_exposure_curve: Vec<f64>,
    /// The venue orders go to when it is not the simulated one (external.rs).
    pub(crate) execution_client: Option<Box<dyn ExecutionClient>>,
    /// Reports polled from `execution_client`, reused between polls.
    pub(crate) polled_reports: Vec<ExecutionReport>,
    /// Cancels the kernel asked a venue for, with the kernel's reason.
    pub(crate) requested_cancels: HashMap<OrderId, CancelReason>,
    /// Driven step by step as a standalone broker (stepped.rs): assets may
    /// join inside a bar.
    pub(crate) stepped: bool,
    /// Between `begin_bar` and `end_bar`: the strategy's callback runs, and
    /// what it changes can be undone (savepoint.rs).
    pub(crate) callback_window: bool,
    pub(crate) savepoint: Option<Box<savepoint::Savepoint>>,
}

impl Engine {
    pub fn new(cfg: EngineConfig, market: Arc<MarketData>) -> EngineResult<Self> {
        cfg.validate()?;
        // Borrow fees are charged at a close for the nights until the next
        // bar, which a streamed feed does not know yet.
        if market.is_streamed() && cfg.borrow_rate > 0.0 {
            return Err(EngineError::InvalidArgument(
                "borrow_rate is not supported on a streamed feed (a close does not know the next bar's date)".into()));
        }
        let n_assets = market.n_assets();
        // A streamed feed's trading days are its bars' UTC calendar days.
        let sessions = market.is_streamed().then(|| market.timestamps().iter().map(|&t| utc_day(t)).collect());
        Ok(Self {
            portfolio: Portfolio::new(cfg.initial_cash, n_assets),
            account: Account::new(cfg.account_settings(), cfg.initial_cash, n_assets),
            prechecks: Prechecks::new(cfg.precheck_settings()),
            cfg,
            market,
            phase: Phase::BeforeFirstBar,
            book: OrderBook::default(),
            fills: Vec::new(),
            last_price: vec![f64::NAN; n_assets],
            latest_row: vec![(u32::MAX, 0); n_assets],
            volume_consumed: vec![(u32::MAX, 0.0); n_assets],
            sessions,
            session_closes: None,
            in_session: None,
            skipped_bars: 0,
            rules: PositionRules::new(n_assets),
            scratch_eligible: Vec::new(),
            scratch_exits: Vec::new(),
            scratch_entries: Vec::new(),
            filling_immediately: false,
            bar_closed: false,
            portfolio_limits: LimitMonitor::default(),
            equity: Vec::new(),
            cash_curve: Vec::new(),
            open_positions_curve: Vec::new(),
            gross_exposure_curve: Vec::new(),
            net_exposure_curve: Vec::new(),
            execution_client: None,
            polled_reports: Vec::new(),
            requested_cancels: HashMap::new(),
            stepped: false,
            callback_window: false,
            savepoint: None,
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    pub fn market(&self) -> &MarketData {
        &self.market
    }

    /// Replaces the commission models, at any time between engine calls (as
    /// ml4t-backtest lets `broker.commission_model = ...` be assigned mid-run):
    /// fills already made keep their commission, later ones use the new model.
    pub fn set_commission(&mut self, commission: Commissions) -> EngineResult<()> {
        commission.by_asset.keys().try_for_each(|&a| self.require_asset(a))?;
        commission.validate()?;
        self.cfg.commission = commission;
        Ok(())
    }

    /// Replaces the volume participation limits (before the first bar only).
    pub fn set_execution_limits(&mut self, limits: PerAsset<ExecutionLimit>) -> EngineResult<()> {
        self.check_costs_settable(limits.by_asset.keys())?;
        limits.models().try_for_each(ExecutionLimit::validate)?;
        self.cfg.limits = limits;
        Ok(())
    }

    /// Replaces the market-impact model (before the first bar only).
    pub fn set_market_impact(&mut self, impact: MarketImpact) -> EngineResult<()> {
        self.check_costs_settable(std::iter::empty())?;
        impact.validate()?;
        self.cfg.impact = impact;
        Ok(())
    }

    /// Replaces the slippage models, at any time between engine calls (see
    /// `set_commission`).
    pub fn set_slippage(&mut self, slippage: Slippages) -> EngineResult<()> {
        slippage.by_asset.keys().try_for_each(|&a| self.require_asset(a))?;
        slippage.validate()?;
        self.cfg.slippage = slippage;
        Ok(())
    }

    /// Replaces the assets' own fill bases (`EngineConfig::asset_price_sources`),
    /// as `set_slippage` its models: ml4t routes them with the slippage model.
    pub fn set_asset_price_sources(&mut self, sources: HashMap<AssetId, ExecutionPrice>) -> EngineResult<()> {
        sources.keys().try_for_each(|&a| self.require_asset(a))?;
        self.cfg.asset_price_sources = sources;
        Ok(())
    }

    /// Whether per-asset settings are fixed: once a backtest's first bar
    /// began. A standalone broker's assets join as they are first seen, each
    /// with its settings, so its engine never fixes them.
    fn settings_frozen(&self) -> bool {
        self.phase != Phase::BeforeFirstBar && !self.stepped
    }

    pub(crate) fn check_costs_settable<'a>(&self, mut assets: impl Iterator<Item = &'a AssetId>) -> EngineResult<()> {
        if self.settings_frozen() {
            return Err(EngineError::InvalidState("cost models can only be set before the first bar".into()));
        }
        assets.try_for_each(|&a| self.require_asset(a))
    }

    /// NotFound unless `asset` is one of the feed's (or a streamed feed's so far).
    pub(crate) fn require_asset(&self, asset: AssetId) -> EngineResult<()> {
        if (asset as usize) < self.market.n_assets() {
            Ok(())
        } else {
            Err(EngineError::NotFound(format!("asset index {asset} is not in the feed")))
        }
    }

    /// An engine over market data that arrives one bar at a time
    /// (`push_bar`): a live or streamed feed of `n_assets` assets. Its DAY
    /// orders live through the UTC calendar day of the bar they first can
    /// execute on.
    pub fn streamed(cfg: EngineConfig, n_assets: usize, quotes: bool) -> EngineResult<Self> {
        Self::new(cfg, Arc::new(MarketData::streamed(n_assets, quotes)))
    }

    /// Adds `n` assets to a streamed feed, between bars; returns the first
    /// new asset's id (they are numbered on from the existing ones).
    pub fn add_assets(&mut self, n: usize) -> EngineResult<AssetId> {
        if matches!(self.phase, Phase::InBar(_)) && !self.stepped {
            return Err(EngineError::InvalidState("assets can only be added between bars".into()));
        }
        let market = Arc::get_mut(&mut self.market).ok_or_else(|| {
            EngineError::InvalidState("the engine's market data is shared and cannot gain assets".into())
        })?;
        let first = market.n_assets();
        market.add_assets(n)?;
        self.portfolio.add_assets(n);
        self.account.add_assets(n);
        let total = first + n;
        self.last_price.resize(total, f64::NAN);
        self.latest_row.resize(total, (u32::MAX, 0));
        self.volume_consumed.resize(total, (u32::MAX, 0.0));
        self.rules.add_assets(n);
        Ok(first as AssetId)
    }

    /// Appends the next bar of a streamed feed (see `MarketData::push_bar`)
    /// and returns its index, to open with `begin_bar`. Only between bars.
    pub fn push_bar(&mut self, timestamp: i64, rows: &[(AssetId, crate::market::Bar)]) -> EngineResult<BarIndex> {
        if matches!(self.phase, Phase::InBar(_)) {
            return Err(EngineError::InvalidState("a bar can only be appended between bars".into()));
        }
        let market = Arc::get_mut(&mut self.market).ok_or_else(|| {
            EngineError::InvalidState("the engine's market data is shared and cannot be extended".into())
        })?;
        let b = market.push_bar(timestamp, rows)?;
        if let Some(sessions) = self.sessions.as_mut() {
            sessions.push(utc_day(timestamp));
        }
        // The previous bar's close could not know this bar's session: DAY
        // orders expire now, as of that bar (what end_bar does with a
        // historical feed).
        if let Phase::AfterBar(prev) = self.phase {
            self.expire_day_orders(prev);
        }
        Ok(b)
    }

    /// The timestamp (nanoseconds) of the bar the engine is in or just
    /// finished (None before the first bar).
    pub fn current_timestamp(&self) -> Option<Timestamp> {
        self.current_bar().map(|b| self.market.timestamp(b))
    }

    /// The time orders are stamped with: the current bar's, or before the
    /// first bar the first bar's (0 for a feed without bars yet).
    pub(crate) fn clock(&self) -> Timestamp {
        self.current_timestamp().unwrap_or_else(|| self.market.timestamps().first().copied().unwrap_or(0))
    }

    /// Gives every bar its session (trading day) number, non-decreasing;
    /// DAY orders need them.
    pub fn set_sessions(&mut self, sessions: Vec<i64>) -> EngineResult<()> {
        if self.market.is_streamed() {
            return Err(EngineError::InvalidState("a streamed feed's sessions come from its bar times".into()));
        }
        if sessions.len() != self.market.n_bars() {
            return Err(EngineError::InvalidArgument(format!(
                "sessions has {} entries for {} bars", sessions.len(), self.market.n_bars())));
        }
        if let Some(b) = sessions.windows(2).position(|w| w[1] < w[0]) {
            return Err(EngineError::InvalidArgument(format!("sessions decrease at bar {}", b + 1)));
        }
        self.sessions = Some(sessions);
        Ok(())
    }

    /// Turns on session-end cancellation (`CancelPolicy.SESSION_END`):
    /// `closes` holds, per bar, the close of its exchange session (ns; the
    /// sessions must be set first). An order is cancelled, at its session's close, when
    /// a bar starts after that close (or at it, in a later session), or when
    /// a bar at or after that close ends.
    pub fn set_session_closes(&mut self, closes: Vec<Timestamp>) -> EngineResult<()> {
        let Some(sessions) = self.sessions.as_ref() else {
            return Err(EngineError::InvalidState("session closes need the bars' sessions (set_sessions) first".into()));
        };
        if closes.len() != sessions.len() {
            return Err(EngineError::InvalidArgument(format!(
                "session closes has {} entries for {} bars", closes.len(), sessions.len())));
        }
        self.session_closes = Some(closes);
        Ok(())
    }

    /// Marks which bars lie inside an exchange session (`enforce_sessions`):
    /// `begin_session_bar` passes over the others.
    pub fn set_session_mask(&mut self, in_session: Vec<bool>) -> EngineResult<()> {
        if in_session.len() != self.market.n_bars() {
            return Err(EngineError::InvalidArgument(format!(
                "the session mask has {} entries for {} bars", in_session.len(), self.market.n_bars())));
        }
        self.in_session = Some(in_session);
        Ok(())
    }

    /// Opens bar `b` as `begin_bar` does and returns true, or, for a bar
    /// outside the exchange sessions (`set_session_mask`), passes over it
    /// and returns false: as if it were not in the data (no marks, no
    /// matching, no session-end cancels, no equity point; its caller skips
    /// the strategy and does not end it), as ml4t-backtest's
    /// `enforce_sessions` skips it.
    pub fn begin_session_bar(&mut self, b: BarIndex) -> EngineResult<bool> {
        let outside = self.in_session.as_ref().is_some_and(|m| !m.get(b as usize).copied().unwrap_or(true));
        if !outside {
            return self.begin_bar(b).map(|()| true);
        }
        self.check_next_bar(b)?;
        self.phase = Phase::AfterBar(b);
        self.skipped_bars += 1;
        Ok(false)
    }

    /// How many bars `begin_session_bar` passed over.
    pub fn skipped_bars(&self) -> usize {
        self.skipped_bars
    }

    fn check_next_bar(&self, b: BarIndex) -> EngineResult<()> {
        let expected = match self.phase {
            Phase::BeforeFirstBar => 0,
            Phase::AfterBar(p) => p + 1,
            Phase::InBar(p) => {
                return Err(EngineError::InvalidState(format!("bar {p} was not ended before bar {b}")))
            }
        };
        if b != expected || b as usize >= self.market.n_bars() {
            return Err(EngineError::InvalidState(format!(
                "expected bar {expected} of {}, got {b}", self.market.n_bars())));
        }
        Ok(())
    }

    /// The bar the engine is in (or just finished), if any.
    pub fn current_bar(&self) -> Option<BarIndex> {
        match self.phase {
            Phase::BeforeFirstBar => None,
            Phase::InBar(b) | Phase::AfterBar(b) => Some(b),
        }
    }

    /// Opens bar `b`: ages positions, updates last prices, then matches
    /// pending orders (at the open in NEXT_BAR mode, at the configured price
    /// in SAME_BAR mode).
    pub fn begin_bar(&mut self, b: BarIndex) -> EngineResult<()> {
        self.check_next_bar(b)?;
        // Refused before the strategy sees a bar, not at the first close.
        if b == 0 && self.cfg.borrow_rate > 0.0 && self.sessions.is_none() {
            return Err(Self::borrow_without_dates());
        }
        self.phase = Phase::InBar(b);
        self.account.settle(b);
        self.portfolio.age_positions();
        self.take_marks(b);
        // Deposits, withdrawals and funding move cash before any order fills.
        if self.account.cash_events.due(b) {
            self.apply_cash_events(b)?;
        }
        if self.session_closes.is_some() {
            self.cancel_at_session_end(b, true);
        }
        if self.execution_client.is_some() {
            self.trade_bar_at_venue(b)?;
        }
        self.release_deferred_exits(b)?;
        self.evaluate_position_rules(b)?;
        let point = match self.cfg.execution_mode {
            ExecutionMode::NextBar => MatchPoint::Open,
            ExecutionMode::SameBar => MatchPoint::Execution,
        };
        self.match_pending(b, point)?;
        self.open_callback_window();
        Ok(())
    }

    /// Sets the position rule for every asset (`asset = None`) or one asset;
    /// `rule = None` disables rules (for that asset, overriding the global one).
    pub fn set_position_rules(&mut self, asset: Option<AssetId>, rule: Option<PositionRule>) -> EngineResult<()> {
        if let Some(r) = &rule {
            r.validate()?;
        }
        if let Some(a) = asset {
            self.require_asset(a)?;
        }
        self.note_rules();
        self.rules.set(asset, rule);
        Ok(())
    }

    /// Closes the current bar and records it: `close_bar` (unless it ran
    /// already), then equity, cash and exposures are recorded.
    pub fn end_bar(&mut self) -> EngineResult<()> {
        let Phase::InBar(b) = self.phase else {
            return Err(EngineError::InvalidState("end_bar called outside a bar".into()));
        };
        if !self.bar_closed {
            self.close_bar()?;
        }
        self.bar_closed = false;
        self.record_bar(b);
        Ok(())
    }

    /// Closes the current bar without recording it yet: SAME_BAR orders fill,
    /// positions are marked at the close (water marks, excursions), fees and
    /// margin and portfolio limits are applied. What reads the account after
    /// the bar's fills (account controls) runs before `end_bar` records it, so
    /// a breach ends the run without the bar in the curves (ml4t's order).
    pub fn close_bar(&mut self) -> EngineResult<()> {
        let Phase::InBar(b) = self.phase else {
            return Err(EngineError::InvalidState("close_bar called outside a bar".into()));
        };
        if self.bar_closed {
            return Err(EngineError::InvalidState(format!("bar {b} was already closed")));
        }
        // The strategy's callback is over: what follows is not undone with it.
        self.close_callback_window();
        // What the venue confirmed during the bar (acceptances, cancels)
        // belongs to it.
        if self.execution_client.is_some() {
            self.process_reports()?;
        }
        // SAME_BAR: everything pending fills at this bar's price; NEXT_BAR:
        // only market-on-close orders (including this bar's) fill at the close.
        let point = match self.cfg.execution_mode {
            ExecutionMode::SameBar => MatchPoint::Execution,
            ExecutionMode::NextBar => MatchPoint::Close,
        };
        self.match_pending(b, point)?;
        self.expire_day_orders(b);
        if self.session_closes.is_some() {
            self.cancel_at_session_end(b, false);
        }
        self.update_water_marks(b);
        self.charge_borrow_fees(b)?;
        self.enforce_maintenance_margin(b);
        self.enforce_portfolio_limits(b);
        self.bar_closed = true;
        Ok(())
    }

    /// Bar `b`'s closes become the last prices, and its rows the ones
    /// matching finds for their assets.
    fn take_marks(&mut self, b: BarIndex) {
        let (assets, close) = (self.market.asset_column(), self.market.price_column());
        for row in self.market.rows(b) {
            let a = assets[row] as usize;
            self.last_price[a] = close[row];
            self.latest_row[a] = (b, row as u32);
        }
    }

    /// Moves the water marks and excursions of every position with a row in
    /// bar `b` by its close (or range), then marks it at the mark price.
    fn update_water_marks(&mut self, b: BarIndex) {
        // Only positions have water marks: the open positions with a row in
        // this bar, not every row (most rows hold none).
        let (close, high, low) = (self.market.price_column(), self.market.high_column(), self.market.low_column());
        let extremes = self.cfg.trail_hwm_source == WaterMarkSource::BarExtreme;
        let (entry_bar_too, now, latest_row) = (self.cfg.trail_include_entry_bar_extremes, self.market.timestamp(b), &self.latest_row);
        self.portfolio.update_open_water_marks(|pos| {
            let (bar, row) = latest_row[pos.asset as usize];
            if bar != b {
                return None;
            }
            let row = row as usize;
            // Bar extremes count from the bar after entry (unless configured).
            let use_range = extremes && (entry_bar_too || pos.entry_time != now);
            Some((close[row], use_range.then(|| (high[row], low[row]))))
        });
        // Water marks follow the reference price; the position's mark then
        // moves to the configured mark price (ml4t's order).
        if !self.marks_at_reference_price() {
            for row in self.market.rows(b) {
                self.mark_row(row, MatchPoint::Execution);
            }
        }
    }

    /// Records the end of bar `b`: equity, cash, exposures and open positions.
    fn record_bar(&mut self, b: BarIndex) {
        let (net, gross) = self.recorded_exposures();
        // Equity is `cash + net`: one walk gives the curve and the exposures.
        self.equity.push(self.portfolio.cash + net);
        self.gross_exposure_curve.push(gross);
        self.net_exposure_curve.push(net);
        self.cash_curve.push(self.portfolio.cash);
        self.open_positions_curve.push(self.portfolio.positions().count() as u32);
        self.phase = Phase::AfterBar(b);
    }

    /// Queues an order.
    ///
    /// Integer accounts floor the quantity when the order is processed (an
    /// order that floors to zero is then rejected), as ml4t-backtest does.
    /// With `immediate_fill` (SAME_BAR market orders from the strategy) the
    /// order fills or is refused before this returns.
    pub fn submit_order(&mut self, req: OrderRequest) -> EngineResult<SubmitOutcome> {
        let outcome = self.queue_order(req)?;
        if let SubmitOutcome::Accepted(id) = outcome {
            self.admit_order(id)?;
        }
        Ok(outcome)
    }

    /// `submit_order` without the immediate fill (the caller tags the order first).
    pub(crate) fn queue_order(&mut self, req: OrderRequest) -> EngineResult<SubmitOutcome> {
        self.require_asset(req.asset)?;
        req.validate()?;
        if let Some(parent) = req.parent_id {
            if self.order(parent).is_none() {
                return Err(EngineError::NotFound(format!("parent order {parent} does not exist")));
            }
        }
        if req.time_in_force == TimeInForce::Day && self.sessions.is_none() {
            return Err(EngineError::InvalidState("DAY orders need the bars' session dates".into()));
        }
        let OrderRequest { asset, quantity, side, order_type, .. } = req;
        if quantity <= MIN_ORDER_QUANTITY {
            return Ok(SubmitOutcome::Ignored);
        }
        // After a rule exit the asset cannot be re-entered in the same bar.
        if self.current_bar().is_some_and(|b| self.rules.exited_on(asset, b)) && self.portfolio.position(asset).is_none() {
            return Ok(SubmitOutcome::Ignored);
        }
        self.note_change();
        let id = self.book.next_id();
        self.book.insert(Order {
            limit_price: req.limit_price.into(),
            stop_price: req.stop_price.into(),
            extras: OrderExtras::of_new_order(req.trail_amount, req.parent_id),
            time_in_force: req.time_in_force,
            signal_price: self.current_price(asset),
            ..Order::new(id, asset, side, order_type, quantity, self.clock())
        });
        Ok(SubmitOutcome::Accepted(id))
    }

    /// Submits an entry with a take-profit LIMIT and a stop-loss STOP exit for
    /// the same quantity, both children of the entry: when either exit fills
    /// completely the other is cancelled. All three are validated before any
    /// is queued. Like ml4t-backtest, the exits are live from submission (not
    /// held until the entry fills). `None` if the quantity is (practically) 0.
    pub fn submit_bracket(
        &mut self,
        entry: OrderRequest,
        take_profit: f64,
        stop_loss: f64,
    ) -> EngineResult<Option<[OrderId; 3]>> {
        let exit_side = match entry.side {
            OrderSide::Buy => OrderSide::Sell,
            OrderSide::Sell => OrderSide::Buy,
        };
        let mut tp = OrderRequest::new(entry.asset, entry.quantity, exit_side, OrderType::Limit);
        tp.limit_price = Some(take_profit);
        let mut sl = OrderRequest::new(entry.asset, entry.quantity, exit_side, OrderType::Stop);
        sl.stop_price = Some(stop_loss);
        for (name, r) in [("entry", &entry), ("take_profit", &tp), ("stop_loss", &sl)] {
            r.validate().map_err(|e| EngineError::InvalidArgument(format!("bracket {name}: {e}")))?;
        }
        let SubmitOutcome::Accepted(parent) = self.submit_order(entry)? else { return Ok(None) };
        tp.parent_id = Some(parent);
        sl.parent_id = Some(parent);
        let (SubmitOutcome::Accepted(t), SubmitOutcome::Accepted(s)) = (self.submit_order(tp)?, self.submit_order(sl)?)
        else {
            unreachable!("bracket exits have the entry's validated quantity")
        };
        Ok(Some([parent, t, s]))
    }

    /// Orders `asset` toward a position worth `target_value` at this bar's
    /// price (negative: short): buys or sells the difference. `None` (no
    /// order) without a price this bar or when less than a cent is missing.
    /// `template` gives the order type and prices (its asset, quantity and
    /// side are replaced).
    pub fn order_target_value(&mut self, asset: AssetId, target_value: f64, template: OrderRequest) -> EngineResult<Option<SubmitOutcome>> {
        let Some(quantity) = self.target_value_quantity(asset, target_value)? else { return Ok(None) };
        let side = if quantity > 0.0 { OrderSide::Buy } else { OrderSide::Sell };
        let req = OrderRequest { asset, quantity: quantity.abs(), side, ..template };
        self.submit_order(req).map(Some)
    }

    /// `order_target_value` for `target_percent` of the account's value.
    pub fn order_target_percent(&mut self, asset: AssetId, target_percent: f64, template: OrderRequest) -> EngineResult<Option<SubmitOutcome>> {
        let Some(quantity) = self.target_percent_quantity(asset, target_percent)? else { return Ok(None) };
        let side = if quantity > 0.0 { OrderSide::Buy } else { OrderSide::Sell };
        let req = OrderRequest { asset, quantity: quantity.abs(), side, ..template };
        self.submit_order(req).map(Some)
    }

    /// The signed quantity `order_target_value(asset, target_value)` would
    /// order now, or `None` when it orders nothing (no price this bar, less
    /// than a cent missing). Submits nothing.
    pub fn target_value_quantity(&self, asset: AssetId, target_value: f64) -> EngineResult<Option<f64>> {
        self.require_asset(asset)?;
        if !target_value.is_finite() {
            return Err(EngineError::InvalidArgument(format!("target value must be finite, got {target_value}")));
        }
        let price = self.current_price(asset);
        if !(price > 0.0) {
            return Ok(None);
        }
        // Values are notional: a contract's unit is price * multiplier.
        let held = self.portfolio.quantity(asset);
        Ok(crate::sizing::order_toward_value(target_value, price, self.multiplier(asset), held).map(|(q, _)| q))
    }

    /// `target_value_quantity` for `target_percent` of the account's value.
    pub fn target_percent_quantity(&self, asset: AssetId, target_percent: f64) -> EngineResult<Option<f64>> {
        if !target_percent.is_finite() {
            return Err(EngineError::InvalidArgument(format!("target percent must be finite, got {target_percent}")));
        }
        let value = self.equity_now();
        if !(value > 0.0) {
            return Ok(None);
        }
        if !(self.current_price(asset) > 0.0) {
            return Ok(None);
        }
        self.target_value_quantity(asset, value * target_percent)
    }

    /// Changes a pending order. Returns false if it is not pending. A new
    /// stop price re-arms a triggered stop (ml4t-backtest's rule).
    pub fn update_order(&mut self, id: OrderId, update: OrderUpdate) -> EngineResult<bool> {
        if !self.book.is_pending(id) {
            return Ok(false);
        }
        let o = &self.book[id];
        if let Some(q) = update.quantity {
            if !(q.is_finite() && q > 0.0) {
                return Err(EngineError::InvalidArgument(format!(
                    "Updated remaining quantity must be finite and positive, got {q}")));
            }
        }
        let merged = OrderRequest {
            quantity: update.quantity.unwrap_or(o.quantity),
            limit_price: update.limit_price.or(o.limit_price.get()),
            stop_price: update.stop_price.or(o.stop_price.get()),
            trail_amount: update.trail_amount.or(o.extras().trail_amount.get()),
            ..OrderRequest::new(o.asset, o.quantity, o.side, o.order_type)
        };
        merged.validate()?;
        let mut changed = self.book[id].clone();
        if update.stop_price.is_some_and(|s| Some(s) != changed.stop_price.get()) {
            changed.stop_triggered_at = MaybeTime::NONE;
        }
        changed.quantity = merged.quantity;
        if changed.extras().partial_remainder.is_some() {
            changed.extras_mut().partial_remainder = MaybeF64::some(merged.quantity);
        }
        changed.limit_price = merged.limit_price.into();
        changed.stop_price = merged.stop_price.into();
        if merged.trail_amount.is_some() || changed.extras.is_some() {
            changed.extras_mut().trail_amount = merged.trail_amount.into();
        }
        // At a venue the change applies once it was sent (a send that fails
        // leaves the order as it was).
        if self.execution_client.is_some() {
            self.request_modify(&changed)?;
        }
        self.note_change();
        self.book[id] = changed;
        Ok(true)
    }

    /// Cancels a pending order; false if it is unknown or no longer pending.
    pub fn cancel_order(&mut self, id: OrderId) -> bool {
        // At a venue a cancel is a request: the order stays working until
        // the venue's report (a failure to send leaves it working too).
        if let Some(client) = self.execution_client.as_mut() {
            return self.book.is_pending(id) && client.cancel(id).is_ok();
        }
        if !self.book.is_pending(id) {
            return false;
        }
        self.note_change();
        self.book.remove_pending(id);
        self.mark_cancelled(id, CancelReason::User);
        true
    }

    pub(crate) fn mark_cancelled(&mut self, id: OrderId, reason: CancelReason) {
        let now = self.current_timestamp();
        self.book.mark_cancelled(id, reason, now);
    }

    pub fn order(&self, id: OrderId) -> Option<&Order> {
        self.book.get(id)
    }

    /// Puts order `id` into the one-cancels-other group `group` (None: out of
    /// any): when one order of a group fills completely, the group's other
    /// pending orders are cancelled. A bracket's exits are the group of their
    /// entry's id; ml4t-backtest lets a user group orders under any id
    /// (`order.parent_id = "bracket-1"`), which the caller numbers.
    pub fn set_order_group(&mut self, id: OrderId, group: Option<OrderId>) -> EngineResult<()> {
        if self.book.get(id).is_none() {
            return Err(EngineError::NotFound(format!("no order with id {id}")));
        }
        self.note_change();
        self.book[id].extras_mut().parent_id = group;
        Ok(())
    }

    pub fn orders(&self) -> &[Order] {
        self.book.all()
    }

    pub fn pending_orders(&self) -> impl Iterator<Item = &Order> {
        self.book.pending()
    }

    pub fn fills(&self) -> &[Fill] {
        &self.fills
    }

    pub fn trades(&self) -> &[Trade] {
        self.portfolio.trades()
    }

    pub fn position(&self, asset: AssetId) -> Option<&Position> {
        self.portfolio.position(asset)
    }

    /// A closed or reversed position by serial, as it was just before it
    /// ended, if it was kept (`keep_when_closed`).
    pub fn closed_position(&self, serial: u64) -> Option<&Position> {
        self.portfolio.closed_position(serial)
    }

    /// Keeps position `serial` for `closed_position` once it ends, for one
    /// more view of it. False if no such position was opened yet.
    pub fn keep_when_closed(&mut self, serial: u64) -> bool {
        self.portfolio.keep_when_closed(serial)
    }

    /// One view of position `serial` is gone (see `keep_when_closed`).
    pub fn release_position(&mut self, serial: u64) -> bool {
        self.portfolio.release(serial)
    }

    /// Open positions in the order they were opened.
    pub fn positions(&self) -> impl Iterator<Item = &Position> {
        self.portfolio.positions()
    }

    pub fn cash(&self) -> f64 {
        self.portfolio.cash
    }

    /// The asset's reference price (its close unless the feed names another
    /// price column) on the current bar, or NaN if it has no row in it.
    pub fn current_price(&self, asset: AssetId) -> f64 {
        match (self.current_bar(), self.latest_row.get(asset as usize)) {
            (Some(b), Some(&(bar, row))) if bar == b => self.market.price_column()[row as usize],
            _ => f64::NAN,
        }
    }

    /// The current bar's price of `asset` from `source` (ml4t's
    /// `get_price_for_source`): NaN when the asset has no row now or the
    /// source has no value (a bar without VWAP). `is_buy` picks QUOTE_SIDE's
    /// side (None: the quote mid); `use_open` asks as an open-time pass does
    /// (NEXT_BAR prices it at the open unless the source is a quote or VWAP).
    pub fn price_for_source(&self, asset: AssetId, source: ExecutionPrice, is_buy: Option<bool>, use_open: bool)
        -> EngineResult<f64> {
        self.require_asset(asset)?;
        let Some(b) = self.current_bar() else { return Ok(f64::NAN) };
        let Some(row) = self.row_in_bar(b, asset) else { return Ok(f64::NAN) };
        let bar = self.market.bar_at(row);
        let next_bar_open = use_open && self.cfg.execution_mode == ExecutionMode::NextBar;
        Ok(match (source, is_buy) {
            (ExecutionPrice::QuoteSide, None) => if bar.mid.is_nan() { bar.price } else { bar.mid },
            (ExecutionPrice::QuoteSide, Some(buy)) => mark_of(&bar, source, if buy { -1.0 } else { 1.0 }, false, use_open),
            _ => mark_of(&bar, source, 0.0, next_bar_open, false),
        })
    }

    pub fn last_price(&self, asset: AssetId) -> f64 {
        self.last_price.get(asset as usize).copied().unwrap_or(f64::NAN)
    }

    /// Cash plus open positions marked at their last known close (the
    /// account value a strategy sees).
    pub fn equity_now(&self) -> f64 {
        if self.marks_at_reference_price() {
            return self.portfolio.account_value(|a| self.last_price[a as usize]);
        }
        self.portfolio.account_value(|a| self.valuation_price(a))
    }

    /// Net and gross position value at the marks the equity curve records
    /// (the reference price or the valuation price, as ml4t records).
    fn recorded_exposures(&self) -> (f64, f64) {
        if self.marks_at_reference_price() {
            return self.portfolio.exposures(|a| self.last_price[a as usize]);
        }
        self.portfolio.exposures(|a| self.valuation_price(a))
    }

    /// The price an open position in `asset` is valued at now: the configured
    /// mark on the current bar, else the last known close (NaN before any).
    pub fn valuation_price(&self, asset: AssetId) -> f64 {
        let last = self.last_price(asset);
        if self.marks_at_reference_price() {
            return last;
        }
        let qty = self.portfolio.quantity(asset);
        self.current_bar()
            .and_then(|b| self.row_in_bar(b, asset))
            .map(|row| mark_of(&self.market.bar_at(row), self.cfg.mark_price, qty, false, false))
            .filter(|m| !m.is_nan())
            .unwrap_or(last)
    }

    /// Whether marks are the plain reference price (PRICE, or CLOSE while
    /// the feed's reference price is its close): the fast path.
    pub(crate) fn marks_at_reference_price(&self) -> bool {
        match self.cfg.mark_price {
            ExecutionPrice::Price => true,
            ExecutionPrice::Close => !self.market.reference_apart_from_close(),
            _ => false,
        }
    }

    pub fn equity_curve(&self) -> &[f64] {
        &self.equity
    }

    pub fn cash_curve(&self) -> &[f64] {
        &self.cash_curve
    }

    pub fn open_positions_curve(&self) -> &[u32] {
        &self.open_positions_curve
    }

    /// Gross (sum of absolute) position value at the end of every bar.
    pub fn gross_exposure_curve(&self) -> &[f64] {
        &self.gross_exposure_curve
    }

    /// Net (signed) position value at the end of every bar.
    pub fn net_exposure_curve(&self) -> &[f64] {
        &self.net_exposure_curve
    }

    // The account (account/): contract sizes, margin, buying power.

    /// Contract multiplier of `asset` (1 for equities).
    pub fn multiplier(&self, asset: AssetId) -> f64 {
        self.portfolio.multiplier(asset)
    }

    /// Sets `asset`'s contract multiplier (before the first bar only).
    pub fn set_multiplier(&mut self, asset: AssetId, multiplier: f64) -> EngineResult<()> {
        if self.settings_frozen() {
            return Err(EngineError::InvalidState("contract multipliers can only be set before the first bar".into()));
        }
        self.require_asset(asset)?;
        if !(multiplier.is_finite() && multiplier > 0.0) {
            return Err(EngineError::InvalidArgument(format!("multiplier must be finite and > 0, got {multiplier}")));
        }
        self.portfolio.set_multiplier(asset, multiplier);
        Ok(())
    }

    /// Sets `asset`'s margin schedule (before the first bar only). Entries
    /// in an asset with a schedule are checked against projected margin:
    /// the initial margin of every position after the fill against equity.
    pub fn set_margin_schedule(&mut self, asset: AssetId, schedule: MarginSchedule) -> EngineResult<()> {
        if self.settings_frozen() {
            return Err(EngineError::InvalidState("margin schedules can only be set before the first bar".into()));
        }
        self.account.margin.set_schedule(asset, schedule)
    }

    /// What a LOCK_NOTIONAL cash account may spend: cash less the notional
    /// its shorts lock (the locked-collateral ledger); other accounts' cash.
    pub fn free_cash(&self) -> f64 {
        if self.account.locks_short_notional() {
            self.account.locked_cash.free_cash()
        } else {
            self.portfolio.cash
        }
    }

    /// The commission the engine would charge the next fill of order `id`,
    /// `quantity` at `price`: a pre-trade estimate that counts what the
    /// order already filled and paid (per-order fees), as ml4t's gatekeeper
    /// quotes a pending order.
    pub fn order_commission_estimate(&self, id: OrderId, quantity: f64, price: f64) -> EngineResult<f64> {
        let o = self.book.get(id).ok_or_else(|| EngineError::NotFound(format!("no order with id {id}")))?;
        if !(quantity.is_finite() && quantity >= 0.0 && price.is_finite()) {
            return Err(EngineError::InvalidArgument(format!(
                "a commission quote needs a finite quantity >= 0 and a finite price, got {quantity} at {price}")));
        }
        self.cfg.commission.commission(&self.commission_query(o, quantity, price))
    }

    /// Sale proceeds not yet settled (`settlement_delay`).
    pub fn unsettled_cash(&self) -> f64 {
        self.account.settlement.unsettled()
    }

    /// What new long entries can spend (`broker.get_buying_power()`).
    pub fn buying_power(&self) -> f64 {
        self.account.buying_power(&self.portfolio)
    }

    /// Net liquidation value: cash plus the market value of open positions
    /// at their current marks.
    pub fn net_liquidation_value(&self) -> f64 {
        net_liquidation_value(&self.portfolio)
    }

    /// Maintenance margin the open positions require at their current marks.
    pub fn maintenance_requirement(&self) -> f64 {
        self.account.margin.maintenance_requirement(&self.portfolio)
    }

    // Submission prechecks and the next-bar cash models (risk/prechecks.rs
    // judges against its shadow account; the kernel rejects, floors and fills).

    /// What happens to order `id` right after it is queued: the submission
    /// precheck may reject it, an immediate fill may fill it.
    pub(crate) fn admit_order(&mut self, id: OrderId) -> EngineResult<()> {
        if self.execution_client.is_some() {
            return self.send_to_venue(id);
        }
        let order_type = self.book[id].order_type;
        if self.prechecks.checks_submission(order_type) {
            if let Some(reason) = self.submission_precheck(id)? {
                self.reject(id, reason);
                self.book.remove_pending(id);
                return Ok(());
            }
        }
        // An immediate fill is checked against real cash instead (as ml4t).
        if self.prechecks.reserves_buying_power(order_type) && self.immediate_bar(order_type).is_none() {
            if let Some(reason) = self.reserve_buying_power(id)? {
                self.reject(id, reason);
                self.book.remove_pending(id);
                return Ok(());
            }
        }
        self.fill_now_if_immediate(id)
    }

    /// LEAN's buying-power reservation of order `id`, just submitted: why it
    /// is refused, if it is (prechecks.rs). Quantities are floored in an
    /// integer account; the shadow is the day's, as the submission precheck's.
    fn reserve_buying_power(&mut self, id: OrderId) -> EngineResult<Option<Refusal>> {
        let price = match self.start_submission_check(id) {
            SubmissionCheck::Refused(reason) => return Ok(Some(reason)),
            SubmissionCheck::NoPrice => return Ok(None),
            SubmissionCheck::At(price) => price,
        };
        let o = &self.book[id];
        let commission = self.cfg.commission.commission(&self.commission_query(o, o.quantity, price))?;
        let (asset, size, multiplier) = (o.asset, o.side.sign() * o.quantity, self.multiplier(o.asset));
        Ok(self.prechecks.reserve(asset, size, price, multiplier, commission))
    }

    /// The shared start of the submission checks of order `id`: an integer
    /// account floors its quantity; without a price this bar the order stays
    /// eligible; the day's shadow is taken at the first check.
    fn start_submission_check(&mut self, id: OrderId) -> SubmissionCheck {
        if self.cfg.share_type == ShareType::Integer {
            let o = &mut self.book[id];
            o.quantity = o.quantity.trunc();
            if o.quantity <= 0.0 {
                return SubmissionCheck::Refused(Refusal::QuantityRoundsToZero);
            }
        }
        let price = self.book[id].signal_price;
        if price.is_nan() {
            return SubmissionCheck::NoPrice;
        }
        let Some(b) = self.current_bar() else { return SubmissionCheck::NoPrice };
        let (market, latest_row, mark_price) = (&self.market, &self.latest_row, self.cfg.mark_price);
        let mark = |asset: AssetId, quantity: f64| mark_in_bar(market, latest_row, mark_price, b, asset, quantity);
        let day = self.sessions.as_ref().map_or(i64::from(b), |s| s[b as usize]);
        self.prechecks.refresh_shadow(day, &self.portfolio, mark);
        SubmissionCheck::At(price)
    }

    /// Why order `id`, just submitted, is refused, if it is. An integer
    /// account's quantity is floored here already. The shadow is taken at
    /// the first checked submission of a trading day: cash, and the open
    /// positions at this bar's mark (else their last mark, else their entry).
    fn submission_precheck(&mut self, id: OrderId) -> EngineResult<Option<Refusal>> {
        let price = match self.start_submission_check(id) {
            SubmissionCheck::Refused(reason) => return Ok(Some(reason)),
            SubmissionCheck::NoPrice => return Ok(None),
            SubmissionCheck::At(price) => price,
        };
        let Some(b) = self.current_bar() else { return Ok(None) };
        let (market, latest_row, mark_price) = (&self.market, &self.latest_row, self.cfg.mark_price);
        let mark = |asset: AssetId, quantity: f64| mark_in_bar(market, latest_row, mark_price, b, asset, quantity);
        let o = &self.book[id];
        let commission = self.cfg.commission.commission(&self.commission_query(o, o.quantity, price))?;
        Ok(self.prechecks.check_submission(&self.account, &self.portfolio, o.asset, o.side, o.quantity, price, commission, mark))
    }

    /// Whether order `id` gets the simple cash check in a pass at `at`.
    pub(crate) fn uses_simple_cash_check(&self, id: OrderId, at: MatchPoint) -> bool {
        self.prechecks.uses_simple_cash_check(self.book[id].order_type, at == MatchPoint::Open)
    }

    /// Backtrader's open cash check of `quantity` of order `id` at `price`
    /// against the position `held`: the quantity that may fill, or `None`
    /// (refused). A reversal cash cannot pay for is cut to its closing leg.
    pub(crate) fn simple_cash_check(&mut self, id: OrderId, held: f64, quantity: f64, price: f64) -> EngineResult<Option<f64>> {
        let o = &self.book[id];
        let commission = || self.cfg.commission.commission(&self.commission_query(o, quantity, price));
        let allowed = simple_cash_check(held, o.side, quantity, price, self.multiplier(o.asset), self.portfolio.cash, commission)?;
        if let Some(cut) = allowed.filter(|&q| q != quantity) {
            self.book[id].quantity = cut;
        }
        Ok(allowed)
    }

    /// Whether a pass at `at` over all pending orders (`restricted`: only
    /// some) is LEAN's queue-validated open pass.
    pub(crate) fn validates_queue_in_shadow(&self, at: MatchPoint, restricted: bool) -> bool {
        self.prechecks.validates_queue(at == MatchPoint::Open, restricted)
    }

    /// LEAN's open pass: validates `eligible` in submission order against a
    /// shadow account at this bar's reference prices (whatever
    /// `fill_ordering` says), then fills the accepted orders in that order,
    /// marking positions at the open after each.
    pub(crate) fn match_queue_in_shadow(&mut self, eligible: &[OrderId], b: BarIndex) -> EngineResult<()> {
        let market = Arc::clone(&self.market);
        let close = market.price_column();
        let mark = |engine: &Self, asset: AssetId, fallback: f64| {
            engine.row_in_bar(b, asset).map_or(fallback, |row| close[row])
        };
        let mut cash = self.portfolio.cash;
        let mut holdings: Vec<Holding> =
            self.portfolio.positions().map(|p| (p.asset, p.quantity, mark(self, p.asset, p.current_price))).collect();
        let mut accepted: Vec<(OrderId, Trigger)> = Vec::new();
        for &id in eligible {
            let o = &self.book[id];
            let Some(row) = self.row_in_bar(b, o.asset) else { continue };
            if execution_price(o, &self.market.bar_at(row), MatchPoint::Open, self.cfg.price_sources_for(o.asset)).0.is_nan() {
                continue;
            }
            if !self.round_quantity(id) {
                continue;
            }
            let Some(trigger) = self.triggered_price(id, b, MatchPoint::Open) else { continue };
            let o = &self.book[id];
            let (asset, side, quantity) = (o.asset, o.side, o.quantity);
            // Validated at the bar's reference price, booked at the fill price.
            let reference = close[row];
            let commission = self.cfg.commission.commission(&self.commission_query(o, quantity, reference))?;
            let held = holdings.iter().find(|h| h.0 == asset).map_or(0.0, |h| h.1);
            let check = EntryCheck { held, side, quantity, price: reference, multiplier: self.multiplier(asset), commission };
            let allow_short = self.prechecks.allow_short_selling();
            if let Some(reason) = shadow_rejection(&self.account, &self.portfolio, allow_short, &check, asset, &holdings, cash) {
                self.reject(id, reason);
                continue;
            }
            let o = &self.book[id];
            let commission = self.cfg.commission.commission(&self.commission_query(o, quantity, trigger.base))?;
            let size = side.sign() * quantity;
            cash += -size * trigger.base * self.multiplier(asset) - commission;
            set_holding(&mut holdings, asset, held + size, reference, held.abs().max(size.abs()));
            accepted.push((id, trigger));
        }
        for (id, trigger) in accepted {
            // An earlier fill may have cancelled it (a reversal, one-cancels-other).
            // (ml4t fills it anyway; see README, Behaviour.)
            if self.book[id].status != OrderStatus::Pending {
                continue;
            }
            self.fill_at(id, b, MatchPoint::Open, trigger, true)?;
            self.mark_positions(b, MatchPoint::Open);
        }
        Ok(())
    }
}

/// `asset`'s configured mark (`mark_price`) on bar `b` when it has a row in
/// it (`latest_row`: each asset's latest (bar, row)); `None` without one or
/// without a price from the mark's source.
pub(crate) fn mark_in_bar(market: &MarketData, latest_row: &[(u32, u32)], mark_price: ExecutionPrice, b: BarIndex, asset: AssetId,
               quantity: f64) -> Option<f64> {
    let (bar, row) = latest_row[asset as usize];
    if bar != b {
        return None;
    }
    let mark = mark_of(&market.bar_at(row as usize), mark_price, quantity, false, false);
    (!mark.is_nan()).then_some(mark)
}

/// Where a submission check of an order stands after its shared start.
enum SubmissionCheck {
    /// Refused before any cash is looked at (an integer quantity floored to zero).
    Refused(Refusal),
    /// No price this bar: the order stays eligible unchecked.
    NoPrice,
    /// Check it at this (the submission bar's) price.
    At(f64),
}
