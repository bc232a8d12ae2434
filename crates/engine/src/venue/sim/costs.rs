//! Commission and slippage models, each routed per asset.
//!
//! Formulas are ml4t-backtest 0.2.0's. A model may also be a callback (a
//! user's Python object behind the FFI), evaluated only when a fill needs it.

use std::collections::HashMap;

use nl_core::{AssetId, EngineError, EngineResult, Order};

use super::prediction_fees;

/// What a commission model sees for one fill (or a pre-trade estimate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CommissionQuery {
    pub asset: AssetId,
    /// Unsigned quantity of this fill.
    pub quantity: f64,
    pub price: f64,
    /// The order's earlier fills: quantity, notional and commission paid.
    pub filled_quantity: f64,
    pub filled_notional: f64,
    pub commission_paid: f64,
    /// Contract multiplier (per-order notional fees count it).
    pub multiplier: f64,
    /// A pre-trade estimate (an affordability check, a precheck, a priority),
    /// not the fee of a fill: a stateful model (a callback) must not advance
    /// on it. ml4t-backtest asks a copy of the model for these.
    pub estimate: bool,
}

impl CommissionQuery {
    /// A query for a fill of an order with no earlier fills.
    pub fn first(asset: AssetId, quantity: f64, price: f64) -> Self {
        Self {
            asset, quantity, price, filled_quantity: 0.0, filled_notional: 0.0, commission_paid: 0.0, multiplier: 1.0,
            estimate: false,
        }
    }

    /// A query for the next fill of `order` (`quantity` at `price`), with
    /// what the order already filled and paid; `multiplier` is its asset's.
    pub fn next_fill(order: &Order, quantity: f64, price: f64, multiplier: f64) -> Self {
        Self {
            asset: order.asset,
            quantity,
            price,
            filled_quantity: order.filled_quantity,
            filled_notional: (order.filled_price.get().unwrap_or(0.0) * order.filled_quantity * multiplier).abs(),
            commission_paid: order.commission,
            multiplier,
            estimate: false,
        }
    }

    /// The same query as a pre-trade estimate.
    pub fn as_estimate(self) -> Self {
        Self { estimate: true, ..self }
    }
}

/// What a slippage model sees for one fill.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlippageQuery {
    pub asset: AssetId,
    /// Unsigned quantity of this fill.
    pub quantity: f64,
    /// The price before slippage.
    pub price: f64,
    /// The bar's traded volume.
    pub volume: f64,
    /// Size available to the order's side: the quoted ask (buys) or bid
    /// (sells) size when the feed has one, else the traded volume.
    pub available: f64,
    /// Quantity of this asset already filled in this bar.
    pub volume_consumed: f64,
    /// The bar's observed high and low (NaN when not known, e.g. a quote
    /// asked outside a bar).
    pub high: f64,
    pub low: f64,
    /// A pre-trade estimate (sizing, an affordability check), not the price
    /// of a fill: a stateful model (a callback) must not advance on it.
    pub estimate: bool,
}

/// A user-supplied model (a Python object behind the C ABI). `Err` means the
/// callee raised; its exception is kept on the other side of the ABI.
pub trait CommissionCallback: Send + Sync {
    fn commission(&self, q: &CommissionQuery) -> Result<f64, String>;
    fn name(&self) -> String;
}

pub trait SlippageCallback: Send + Sync {
    fn slippage(&self, q: &SlippageQuery) -> Result<f64, String>;
    fn name(&self) -> String;
}

pub use crate::callback::Callback;

#[derive(Debug, Clone, PartialEq)]
pub enum CommissionModel {
    None,
    /// `rate` times the fill's notional.
    Percentage { rate: f64 },
    /// `per_share` times the quantity, at least `minimum` per fill.
    PerShare { per_share: f64, minimum: f64 },
    /// `fixed` per fill plus `percentage` of the notional (PER_TRADE is
    /// `percentage = 0`).
    Combined { percentage: f64, fixed: f64 },
    /// One fee per order, however many fills it takes: `per_share * qty +
    /// rate * notional + per_trade`, at least `minimum`, over all of the
    /// order's fills; each fill pays what is still due.
    PerOrder { per_share: f64, rate: f64, per_trade: f64, minimum: f64 },
    /// `(threshold, rate)` sorted by threshold: the first tier whose
    /// threshold is >= the fill's notional sets the rate (else the last).
    Tiered { tiers: Vec<(f64, f64)> },
    Callback(Callback<dyn CommissionCallback>),
    /// PySystemTrade's futures fee: the largest of `per_trade` per fill,
    /// `per_block` per contract and `percentage` of the contract notional
    /// (`quantity * price * multiplier`).
    Futures { per_trade: f64, per_block: f64, percentage: f64 },
    /// Kalshi's quadratic fee (`prediction_fees::kalshi_fee`): `coefficient`
    /// is `M * 0.07 * maker factor`, `precision_micro` the member's balance
    /// precision (0: exact fees). Each fill is its own order; a positive
    /// quantity is a buy (engine fills pass unsigned quantities, as ml4t does).
    Kalshi { coefficient: f64, precision_micro: f64 },
    /// ForecastEx: `per_contract` per contract per side.
    ForecastEx { per_contract: f64 },
    /// Polymarket US taker fee `coefficient * C * p * (1 - p)`, to the cent
    /// (half-to-even) when `cent`.
    PolymarketUs { coefficient: f64, cent: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub enum SlippageModel {
    None,
    /// The price moves against the order by `rate` of itself.
    Percentage { rate: f64 },
    /// The price moves against the order by `amount` per share.
    Fixed { amount: f64 },
    /// Crossing a quoted spread: half of it (`half_given = false`, the
    /// spread is the full quoted spread) or all of it per side.
    Spread { spread: f64, half_given: bool },
    /// `price * impact * quantity / volume` (nothing without volume).
    VolumeShare { impact: f64 },
    /// `price * impact * ((consumed + quantity) / volume)^2`: impact grows
    /// with everything this bar already took from the asset. A bar without
    /// positive volume cannot fill.
    CumulativeVolumeShare { impact: f64 },
    Callback(Callback<dyn SlippageCallback>),
    /// PySystemTrade's futures slippage: the price moves against the order
    /// by `points` price points, so a fill costs `quantity * points *
    /// multiplier` in currency.
    FuturesPoints { points: f64 },
    /// The inner model, on bars with positive traded volume only (a model
    /// that declares `requires_traded_volume`, as ml4t's protocol allows).
    RequiresVolume(Box<SlippageModel>),
    /// ml4t's `VolatilityVolumeSlippage` without completed-history statistics
    /// (its insufficient-history convention): 7.5 basis points of the price,
    /// charged only on a bar whose positive high and low were observed
    /// (`eta` scales the square-root impact once statistics are given).
    VolatilityVolume { eta: f64 },
}

fn check_non_negative(name: &str, v: f64) -> EngineResult<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(EngineError::InvalidArgument(format!("{name} must be finite and >= 0, got {v}")))
    }
}

/// A model's result must be a finite amount >= 0 (ml4t's message).
fn checked_output(kind: &str, model: &str, v: f64) -> EngineResult<f64> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(EngineError::InvalidArgument(format!(
            "Invalid {kind} from {model}: expected a finite non-negative number, got {v}")))
    }
}

impl CommissionModel {
    pub fn validate(&self) -> EngineResult<()> {
        match self {
            CommissionModel::None | CommissionModel::Callback(_) => Ok(()),
            CommissionModel::Percentage { rate } => check_non_negative("commission_rate", *rate),
            CommissionModel::PerShare { per_share, minimum } => {
                check_non_negative("commission_per_share", *per_share)?;
                check_non_negative("commission_minimum", *minimum)
            }
            CommissionModel::Combined { percentage, fixed } => {
                check_non_negative("commission_rate", *percentage)?;
                check_non_negative("commission_per_trade", *fixed)
            }
            CommissionModel::PerOrder { per_share, rate, per_trade, minimum } => {
                check_non_negative("commission_per_share", *per_share)?;
                check_non_negative("commission_rate", *rate)?;
                check_non_negative("commission_per_trade", *per_trade)?;
                check_non_negative("commission_minimum", *minimum)
            }
            CommissionModel::Tiered { tiers } => {
                if tiers.is_empty() {
                    return Err(EngineError::InvalidArgument("tiers must not be empty".into()));
                }
                for (i, &(threshold, rate)) in tiers.iter().enumerate() {
                    if threshold.is_nan() || threshold < 0.0 {
                        return Err(EngineError::InvalidArgument(format!(
                            "tier {i} threshold must be >= 0 (inf allowed), got {threshold}")));
                    }
                    check_non_negative(&format!("tier {i} rate"), rate)?;
                    if i > 0 && tiers[i - 1].0 > threshold {
                        return Err(EngineError::InvalidArgument("tiers must be sorted by threshold".into()));
                    }
                }
                Ok(())
            }
            CommissionModel::Futures { per_trade, per_block, percentage } => {
                check_non_negative("per_trade", *per_trade)?;
                check_non_negative("per_block", *per_block)?;
                check_non_negative("percentage", *percentage)
            }
            CommissionModel::Kalshi { coefficient, precision_micro } => {
                check_non_negative("fee coefficient", *coefficient)?;
                check_non_negative("balance precision", *precision_micro)
            }
            CommissionModel::ForecastEx { per_contract } => {
                check_non_negative("exchange_fee + broker_commission", *per_contract)
            }
            CommissionModel::PolymarketUs { coefficient, .. } => check_non_negative("fee_coefficient", *coefficient),
        }
    }

    /// Commission for one fill.
    pub fn commission(&self, q: &CommissionQuery) -> EngineResult<f64> {
        Ok(match self {
            CommissionModel::None => 0.0,
            CommissionModel::Percentage { rate } => (q.quantity * q.price * rate).abs(),
            CommissionModel::PerShare { per_share, minimum } => (q.quantity.abs() * per_share).max(*minimum),
            CommissionModel::Combined { percentage, fixed } => (q.quantity * q.price).abs() * percentage + fixed,
            CommissionModel::PerOrder { per_share, rate, per_trade, minimum } => {
                let quantity = q.filled_quantity + q.quantity.abs();
                let notional = q.filled_notional + (q.quantity * q.price * q.multiplier).abs();
                let total = quantity * per_share + notional * rate + per_trade;
                (total.max(*minimum) - q.commission_paid).max(0.0)
            }
            CommissionModel::Tiered { tiers } => {
                let value = (q.quantity * q.price).abs();
                let rate = tiers.iter().find(|(t, _)| value <= *t).unwrap_or(&tiers[tiers.len() - 1]).1;
                value * rate
            }
            CommissionModel::Callback(cb) => {
                let v = cb.0.commission(q).map_err(EngineError::Callback)?;
                return checked_output("commission", &cb.0.name(), v);
            }
            CommissionModel::Futures { per_trade, per_block, percentage } => {
                let contracts = q.quantity.abs();
                per_trade.max(per_block * contracts).max(percentage * (contracts * q.price * q.multiplier))
            }
            CommissionModel::Kalshi { coefficient, precision_micro } => {
                prediction_fees::check_fill(q.price, q.quantity.abs())?;
                prediction_fees::kalshi_fee(*coefficient, q.quantity.abs(), q.price, q.quantity >= 0.0, *precision_micro)
            }
            CommissionModel::ForecastEx { per_contract } => {
                prediction_fees::check_fill(q.price, q.quantity.abs())?;
                prediction_fees::forecastex_fee(*per_contract, q.quantity.abs())
            }
            CommissionModel::PolymarketUs { coefficient, cent } => {
                prediction_fees::check_fill(q.price, q.quantity.abs())?;
                prediction_fees::polymarket_us_fee(*coefficient, q.quantity.abs(), q.price, *cent)
            }
        })
    }
}

/// ml4t's volatility-volume convention without usable history: 7.5 basis points.
const INSUFFICIENT_HISTORY_BPS: f64 = 7.5;

impl SlippageModel {
    pub fn validate(&self) -> EngineResult<()> {
        match self {
            SlippageModel::None | SlippageModel::Callback(_) => Ok(()),
            SlippageModel::RequiresVolume(inner) => inner.validate(),
            SlippageModel::Percentage { rate } => check_non_negative("slippage_rate", *rate),
            SlippageModel::Fixed { amount } => check_non_negative("slippage_fixed", *amount),
            SlippageModel::Spread { spread, .. } => check_non_negative("slippage_spread", *spread),
            SlippageModel::VolumeShare { impact } | SlippageModel::CumulativeVolumeShare { impact } => {
                check_non_negative("slippage_rate", *impact)
            }
            SlippageModel::FuturesPoints { points } => check_non_negative("slippage_points", *points),
            SlippageModel::VolatilityVolume { eta } => check_non_negative("eta", *eta),
        }
    }

    /// Whether the model prices a fill from the bar's observed high and low.
    pub fn reads_range(&self) -> bool {
        match self {
            SlippageModel::VolatilityVolume { .. } => true,
            SlippageModel::RequiresVolume(inner) => inner.reads_range(),
            _ => false,
        }
    }

    /// Whether a fill needs the bar's volume to be positive at all.
    pub fn requires_volume(&self) -> bool {
        matches!(self, SlippageModel::CumulativeVolumeShare { .. } | SlippageModel::RequiresVolume(_))
    }

    /// Per-share price adjustment (>= 0) that the order pays on top of the price.
    pub fn per_share(&self, q: &SlippageQuery) -> EngineResult<f64> {
        Ok(match self {
            SlippageModel::None => 0.0,
            SlippageModel::Percentage { rate } => q.price * rate,
            SlippageModel::Fixed { amount } => *amount,
            SlippageModel::Spread { spread, half_given } => {
                if *half_given {
                    *spread
                } else {
                    spread / 2.0
                }
            }
            SlippageModel::VolumeShare { impact } => {
                if q.available.is_nan() || q.available == 0.0 {
                    0.0
                } else {
                    q.price * (q.quantity.abs() / q.available * impact)
                }
            }
            SlippageModel::CumulativeVolumeShare { impact } => {
                let participation = (q.volume_consumed + q.quantity.abs()) / q.volume;
                q.price * impact * participation.powi(2)
            }
            SlippageModel::Callback(cb) => {
                let v = cb.0.slippage(q).map_err(EngineError::Callback)?;
                return checked_output("slippage", &cb.0.name(), v);
            }
            SlippageModel::FuturesPoints { points } => *points,
            SlippageModel::RequiresVolume(inner) => return inner.per_share(q),
            SlippageModel::VolatilityVolume { .. } => {
                let observed = |v: f64| v.is_finite() && v > 0.0;
                if !(observed(q.high) && observed(q.low)) {
                    return Err(EngineError::InvalidArgument(format!(
                        "Volatility-volume impact requires observed positive high and low, got high {} and low {}",
                        q.high, q.low)));
                }
                if q.high < q.low {
                    return Err(EngineError::InvalidArgument(format!(
                        "Observed high cannot be below low (high {}, low {})", q.high, q.low)));
                }
                q.price * INSUFFICIENT_HISTORY_BPS / 10_000.0
            }
        })
    }

    /// What the slippage of one fill costs in currency: the per-unit
    /// adjustment times the quantity and the contract `multiplier`.
    pub fn fill_cost(&self, q: &SlippageQuery, multiplier: f64) -> EngineResult<f64> {
        Ok(self.per_share(q)? * q.quantity.abs() * multiplier)
    }
}

/// A model per asset with a default for the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct PerAsset<M> {
    pub default: M,
    pub by_asset: HashMap<AssetId, M>,
}

impl<M> PerAsset<M> {
    pub fn uniform(default: M) -> Self {
        Self { default, by_asset: HashMap::new() }
    }

    pub fn for_asset(&self, asset: AssetId) -> &M {
        if self.by_asset.is_empty() {
            return &self.default;
        }
        self.by_asset.get(&asset).unwrap_or(&self.default)
    }

    pub fn models(&self) -> impl Iterator<Item = &M> {
        std::iter::once(&self.default).chain(self.by_asset.values())
    }
}

pub type Commissions = PerAsset<CommissionModel>;
pub type Slippages = PerAsset<SlippageModel>;

impl Commissions {
    pub fn commission(&self, q: &CommissionQuery) -> EngineResult<f64> {
        self.for_asset(q.asset).commission(q)
    }

    pub fn validate(&self) -> EngineResult<()> {
        self.models().try_for_each(CommissionModel::validate)
    }
}

impl Slippages {
    pub fn per_share(&self, q: &SlippageQuery) -> EngineResult<f64> {
        self.for_asset(q.asset).per_share(q)
    }

    /// Whether asset `asset`'s model prices fills from the bar's high and low.
    pub fn reads_range(&self, asset: AssetId) -> bool {
        self.for_asset(asset).reads_range()
    }

    pub fn validate(&self) -> EngineResult<()> {
        self.models().try_for_each(SlippageModel::validate)
    }
}

impl From<CommissionModel> for Commissions {
    fn from(m: CommissionModel) -> Self {
        Self::uniform(m)
    }
}

impl From<SlippageModel> for Slippages {
    fn from(m: SlippageModel) -> Self {
        Self::uniform(m)
    }
}
