//! The engine's behavioural settings, validated once at construction.

use std::collections::HashMap;

use nl_core::{
    AssetId, ConditionalOrderMode, EngineError, EngineResult, EntryOrderPriority, ExecutionMode, ExecutionPrice, FillOrdering,
    InitialHwmSource, LimitGapFill, ShareType, StopFillMode, StopLevelBasis, TrailStopTiming, WaterMarkSource,
};

use crate::account::policy::{check_margin_rates, MarginRateError};
use crate::account::{AccountRules, AccountSettings, LockNotionalUpdateMode, ShortCashPolicy};
use crate::risk::prechecks::PrecheckSettings;
use crate::venue::sim::costs::{CommissionModel, Commissions, PerAsset, SlippageModel, Slippages};
use crate::venue::sim::liquidity::{ExecutionLimit, MarketImpact};
use crate::venue::sim::paper::PaperVenueConfig;
use crate::venue::sim::triggers::{FillRules, PriceSources};

/// The longest settlement delay (T+5) a config may ask for.
pub const MAX_SETTLEMENT_DELAY: u32 = 5;

#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    pub initial_cash: f64,
    pub execution_mode: ExecutionMode,
    pub execution_price: ExecutionPrice,
    /// What positions are marked (and equity valued) at; PRICE = the close.
    pub mark_price: ExecutionPrice,
    /// The source of open-time passes instead of the open (None: the open,
    /// or the configured quote/VWAP source), e.g. CLOSE: NEXT_BAR orders
    /// fill at the next bar's close.
    pub next_bar_execution_price: Option<ExecutionPrice>,
    pub share_type: ShareType,
    pub commission: Commissions,
    pub slippage: Slippages,
    /// Volume participation limits per asset (none by default).
    pub limits: PerAsset<ExecutionLimit>,
    /// Price impact of the order itself (none by default).
    pub impact: MarketImpact,
    /// A cash account (false) rejects sales that would open a short position.
    pub allow_short_selling: bool,
    /// A margin account: entries are limited by buying power, not cash.
    pub allow_leverage: bool,
    /// Margin rates (fractions of notional) of a margin account.
    pub initial_margin: f64,
    pub long_maintenance_margin: f64,
    pub short_maintenance_margin: f64,
    /// How short proceeds count toward spendable cash (non-leveraged accounts).
    pub short_cash_policy: ShortCashPolicy,
    /// Operation order of LOCK_NOTIONAL's free-cash updates and of the
    /// fill sizes it allows (VectorBT PRO's position legs or OSS's combined order).
    pub lock_notional_update_mode: LockNotionalUpdateMode,
    /// Bars until sale proceeds may fund entries (0 = at once).
    pub settlement_delay: u32,
    /// Whether unsettled proceeds are withheld from entries.
    pub settlement_reduces_buying_power: bool,
    /// SAME_BAR market orders from the strategy fill inside the submit call.
    pub immediate_fill: bool,
    /// Beyond ml4t-backtest (off by default): when equity falls below the
    /// maintenance requirement at a bar's close, the engine liquidates
    /// positions (largest loss first) at the next opportunity.
    pub enforce_margin_calls: bool,
    /// Beyond ml4t-backtest (0 by default): annual borrow fee on the market
    /// value of short positions, accrued from cash at every bar's close for
    /// the calendar time since the previous bar (ACT/365).
    pub borrow_rate: f64,
    /// What limit and stop triggers compare against.
    pub conditional_order_mode: ConditionalOrderMode,
    /// How a limit order fills when the bar opens through its limit.
    pub limit_gap_fill: LimitGapFill,
    /// Fill what cash affords of an entry it cannot fully pay for (the rest
    /// is dropped), instead of rejecting it.
    pub partial_fills_allowed: bool,
    /// Keep this fraction of cash out of reach of new entries.
    pub cash_buffer_pct: f64,
    /// Refuse an unaffordable entry as REJECTED (true) or CANCELLED (false).
    pub reject_on_insufficient_cash: bool,
    /// No account checks at all (Zipline-style unconstrained fills).
    pub skip_cash_validation: bool,
    /// Where triggered stop/take-profit rules fill.
    pub stop_fill_mode: StopFillMode,
    /// What rule levels are measured from.
    pub stop_level_basis: StopLevelBasis,
    /// Extra adverse move (fraction of the price) on rule exits with a fill price.
    pub stop_slippage_rate: f64,
    /// Whether trailing stops see this bar's extreme in their water mark.
    pub trail_stop_timing: TrailStopTiming,
    /// What moves water marks (and excursions) after the entry bar.
    pub trail_hwm_source: WaterMarkSource,
    /// With BAR_EXTREME marks: whether the entry bar's range counts too.
    pub trail_include_entry_bar_extremes: bool,
    /// A new position's starting water marks.
    pub initial_hwm_source: InitialHwmSource,
    /// NEXT_BAR market/MOC orders are checked against a shadow account when
    /// submitted, at the submission bar's price (prechecks.rs).
    pub next_bar_submission_precheck: bool,
    /// Backtrader's cash model in NEXT_BAR mode: at the open, a market entry
    /// needs only cash after the fill >= 0 (prechecks.rs).
    pub next_bar_simple_cash_check: bool,
    /// LEAN's open pass: every order is validated in submission order against
    /// a shadow account before any fills (prechecks.rs).
    pub next_bar_queue_shadow_validation: bool,
    /// LEAN's buying-power reservation: market/MOC orders reserve their cost
    /// in a shadow account when submitted; a SEQUENTIAL pass then fills the
    /// entries without checking them again (prechecks.rs).
    pub buying_power_reservation: bool,
    /// Assets with a fill basis of their own instead of `execution_price`
    /// and `next_bar_execution_price` (none by default).
    pub asset_price_sources: HashMap<AssetId, ExecutionPrice>,
    /// The order in which a matching pass visits pending orders.
    pub fill_ordering: FillOrdering,
    /// How entries (EXIT_FIRST) or all orders (PRIORITY) are sorted.
    pub entry_order_priority: EntryOrderPriority,
}

impl Default for EngineConfig {
    /// ml4t-backtest's defaults: 100k cash, next-bar open, whole shares, no costs.
    fn default() -> Self {
        Self {
            initial_cash: 100_000.0,
            execution_mode: ExecutionMode::NextBar,
            execution_price: ExecutionPrice::Open,
            mark_price: ExecutionPrice::Price,
            next_bar_execution_price: None,
            share_type: ShareType::Integer,
            commission: CommissionModel::None.into(),
            slippage: SlippageModel::None.into(),
            limits: PerAsset::uniform(ExecutionLimit::None),
            impact: MarketImpact::None,
            allow_short_selling: false,
            allow_leverage: false,
            initial_margin: 0.5,
            long_maintenance_margin: 0.25,
            short_maintenance_margin: 0.30,
            short_cash_policy: ShortCashPolicy::Credit,
            lock_notional_update_mode: LockNotionalUpdateMode::PositionLegs,
            settlement_delay: 0,
            settlement_reduces_buying_power: true,
            immediate_fill: false,
            enforce_margin_calls: false,
            borrow_rate: 0.0,
            conditional_order_mode: ConditionalOrderMode::BarOhlc,
            limit_gap_fill: LimitGapFill::Limit,
            partial_fills_allowed: false,
            cash_buffer_pct: 0.0,
            reject_on_insufficient_cash: true,
            skip_cash_validation: false,
            stop_fill_mode: StopFillMode::StopPrice,
            stop_level_basis: StopLevelBasis::FillPrice,
            stop_slippage_rate: 0.0,
            trail_stop_timing: TrailStopTiming::Lagged,
            trail_hwm_source: WaterMarkSource::Close,
            trail_include_entry_bar_extremes: false,
            initial_hwm_source: InitialHwmSource::FillPrice,
            next_bar_submission_precheck: false,
            next_bar_simple_cash_check: false,
            next_bar_queue_shadow_validation: false,
            buying_power_reservation: false,
            asset_price_sources: HashMap::new(),
            fill_ordering: FillOrdering::ExitFirst,
            entry_order_priority: EntryOrderPriority::Submission,
        }
    }
}

impl EngineConfig {
    /// Checks every setting; the error names the field and its value (Python
    /// raises this text as it is, so it is worded for a `BacktestConfig` user).
    pub fn validate(&self) -> EngineResult<()> {
        let bad = |text: String| Err(EngineError::InvalidArgument(text));
        for (name, v) in [("initial_cash", self.initial_cash), ("stop_slippage_rate", self.stop_slippage_rate),
                          ("borrow_rate", self.borrow_rate)] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("{name} must be a finite number >= 0, got {v}"));
            }
        }
        if !(self.cash_buffer_pct.is_finite() && (0.0..1.0).contains(&self.cash_buffer_pct)) {
            return bad(format!("cash_buffer_pct must be in [0, 1), got {}", self.cash_buffer_pct));
        }
        match check_margin_rates(self.initial_margin, self.long_maintenance_margin, self.short_maintenance_margin) {
            Err(MarginRateError::OutOfRange { rate, value }) => {
                return bad(format!("{} must be a number in (0, 1], got {value}", rate.field()));
            }
            // Equal is allowed (ml4t's LEAN preset uses 0.5 / 0.5).
            Err(MarginRateError::AboveInitial { rate, value, initial }) => {
                return bad(format!("{} ({value}) must be <= initial_margin ({initial})", rate.field()));
            }
            Ok(()) => {}
        }
        if self.settlement_delay > MAX_SETTLEMENT_DELAY {
            return bad(format!("settlement_delay must be a whole number of bars from 0 to {MAX_SETTLEMENT_DELAY}, got {}",
                               self.settlement_delay));
        }
        if self.enforce_margin_calls && !self.allow_leverage {
            return bad("enforce_margin_calls=True needs a margin account (allow_leverage=True)".into());
        }
        if self.next_bar_queue_shadow_validation && self.short_cash_policy == ShortCashPolicy::LockNotional
            && !self.allow_leverage
        {
            return bad("next_bar_queue_shadow_validation with short_cash_policy=LOCK_NOTIONAL (LEAN's queue \
                        validation over VectorBT's locked collateral) is not supported by nautilus_like yet".into());
        }
        self.commission.validate()?;
        self.limits.models().try_for_each(ExecutionLimit::validate)?;
        self.impact.validate()?;
        self.slippage.validate()
    }

    /// A paper venue that fills as this configuration's simulated venue
    /// does at a bar's open (NEXT_BAR): same fill rules, price source and
    /// cost models; whole units for an integer account.
    pub fn paper_venue(&self) -> PaperVenueConfig {
        PaperVenueConfig {
            fill_rules: FillRules { mode: self.conditional_order_mode, limit_gap_fill: self.limit_gap_fill },
            price_sources: self.price_sources(),
            commission: self.commission.clone(),
            slippage: self.slippage.clone(),
            impact: self.impact.clone(),
            limits: self.limits.clone(),
            multipliers: Default::default(),
            whole_units: self.share_type == ShareType::Integer,
        }
    }

    /// Where the venue's passes take their execution prices from.
    pub fn price_sources(&self) -> PriceSources {
        PriceSources { configured: self.execution_price, open_pass: self.next_bar_execution_price, asset: None }
    }

    /// Where the venue's passes price an order in `asset` from: the config's
    /// sources, or the asset's own.
    #[inline]
    pub fn price_sources_for(&self, asset: AssetId) -> PriceSources {
        let own = if self.asset_price_sources.is_empty() { None } else { self.asset_price_sources.get(&asset).copied() };
        PriceSources { asset: own, ..self.price_sources() }
    }

    /// The account's entry rules.
    pub fn account_rules(&self) -> AccountRules {
        AccountRules {
            allow_short_selling: self.allow_short_selling,
            allow_leverage: self.allow_leverage,
            initial_margin: self.initial_margin,
            short_cash_policy: self.short_cash_policy,
        }
    }

    /// The account's section of the settings.
    pub fn account_settings(&self) -> AccountSettings {
        AccountSettings {
            rules: self.account_rules(),
            long_maintenance_margin: self.long_maintenance_margin,
            short_maintenance_margin: self.short_maintenance_margin,
            cash_buffer_pct: self.cash_buffer_pct,
            settlement_delay: self.settlement_delay,
            settlement_reduces_buying_power: self.settlement_reduces_buying_power,
            borrow_rate: self.borrow_rate,
            enforce_margin_calls: self.enforce_margin_calls,
            lock_notional_update_mode: self.lock_notional_update_mode,
        }
    }

    /// The next-bar cash models' section of the settings.
    pub(crate) fn precheck_settings(&self) -> PrecheckSettings {
        PrecheckSettings {
            next_bar: self.execution_mode == ExecutionMode::NextBar,
            submission_precheck: self.next_bar_submission_precheck,
            simple_cash_check: self.next_bar_simple_cash_check,
            queue_shadow_validation: self.next_bar_queue_shadow_validation,
            buying_power_reservation: self.buying_power_reservation,
            skip_cash_validation: self.skip_cash_validation,
            allow_leverage: self.allow_leverage,
            allow_short_selling: self.allow_short_selling,
            cash_buffer_pct: self.cash_buffer_pct,
        }
    }
}
