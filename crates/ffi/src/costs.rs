//! Commission, slippage, volume-limit and market-impact models across the
//! ABI: flat spec arrays (one entry per asset route plus the default) and C
//! callbacks for cost models written in Python.

use std::ffi::{c_char, c_void, CStr};
use std::sync::Arc;

use nl_core::EngineError;
use nl_engine::{
    Callback, CommissionCallback, CommissionModel, CommissionQuery, Commissions, ExecutionLimit, ImpactCallback,
    LimitAnswer,
    LimitCallback, LimitQuery, MarketImpact, PerAsset, SlippageCallback, SlippageModel, SlippageQuery, Slippages,
};

use crate::error::{guard, null_error, NlStatus};
use crate::handles::{engine, handle, write, CallbackScope, NlEngine};

/// `asset` of the default route in a spec array.
pub const NL_ALL_ASSETS: u32 = u32::MAX;

/// Commission kinds for [`NlCommissionSpec::kind`].
pub const NL_COMMISSION_NONE: u32 = 0;
pub const NL_COMMISSION_PERCENTAGE: u32 = 1;
pub const NL_COMMISSION_PER_SHARE: u32 = 2;
/// `per_trade` per fill plus `rate` of the notional.
pub const NL_COMMISSION_COMBINED: u32 = 3;
/// Cumulative per-order fee (`per_share`, `rate`, `per_trade`, `minimum`).
pub const NL_COMMISSION_PER_ORDER: u32 = 4;
/// `tiers_len` tiers starting at `tiers_start` of the tier arrays.
pub const NL_COMMISSION_TIERED: u32 = 5;
/// `callback(user_data, ...)`.
pub const NL_COMMISSION_CALLBACK: u32 = 6;
/// The largest of `per_trade`, `per_share` per contract (PySystemTrade's
/// per block) and `rate` of the contract notional.
pub const NL_COMMISSION_FUTURES: u32 = 7;
/// Kalshi's quadratic fee: `rate` is `M * 0.07 * maker factor`, `minimum`
/// the member's balance precision in micro-dollars (0: exact fees).
pub const NL_COMMISSION_KALSHI: u32 = 8;
/// ForecastEx: `per_share` per contract per side.
pub const NL_COMMISSION_FORECASTEX: u32 = 9;
/// Polymarket US taker fee: `rate` is the coefficient, `minimum` > 0 rounds
/// each fill to the cent.
pub const NL_COMMISSION_POLYMARKET_US: u32 = 10;

/// Slippage kinds for [`NlSlippageSpec::kind`].
pub const NL_SLIPPAGE_NONE: u32 = 0;
pub const NL_SLIPPAGE_PERCENTAGE: u32 = 1;
pub const NL_SLIPPAGE_FIXED: u32 = 2;
/// `amount` is the quoted spread (full, or half when `half_given`).
pub const NL_SLIPPAGE_SPREAD: u32 = 3;
pub const NL_SLIPPAGE_VOLUME_SHARE: u32 = 4;
pub const NL_SLIPPAGE_CUMULATIVE_VOLUME_SHARE: u32 = 5;
pub const NL_SLIPPAGE_CALLBACK: u32 = 6;
/// `amount` price points against the order (futures slippage points).
pub const NL_SLIPPAGE_FUTURES: u32 = 7;
/// ml4t's `VolatilityVolumeSlippage(eta=rate)` without statistics: 7.5bp of
/// the price on a bar with an observed positive high and low.
pub const NL_SLIPPAGE_VOLATILITY_VOLUME: u32 = 8;

/// A user commission model: writes the fee of a fill of `quantity` (unsigned)
/// of `asset` at `price` to `out` and returns 0, or returns non-zero when it
/// failed (the caller keeps its own error). `estimate` is 1 for a pre-trade
/// estimate (a stateful model must not advance on it), 0 for a fill's fee.
pub type NlCommissionFn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, asset: u32, quantity: f64, price: f64, estimate: u8, out: *mut f64) -> i32,
>;

/// A user slippage model: per-unit price adjustment; `volume` is NaN when the
/// feed has no volume. `estimate` is 1 for a pre-trade estimate (a stateful
/// model must not advance on it), 0 for the price of a fill.
pub type NlSlippageFn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, asset: u32, quantity: f64, price: f64, volume: f64, estimate: u8,
                         out: *mut f64) -> i32,
>;

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NlCommissionSpec {
    /// An asset index, or `NL_ALL_ASSETS` for the default.
    pub asset: u32,
    pub kind: u32,
    pub rate: f64,
    pub per_share: f64,
    pub per_trade: f64,
    pub minimum: f64,
    pub tiers_start: usize,
    pub tiers_len: usize,
    pub callback: NlCommissionFn,
    /// Passed back to `callback`; must outlive the engine.
    pub user_data: *mut c_void,
    /// The model's name for error messages (may be null).
    pub name: *const c_char,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NlSlippageSpec {
    /// An asset index, or `NL_ALL_ASSETS` for the default.
    pub asset: u32,
    pub kind: u32,
    pub rate: f64,
    pub amount: f64,
    pub half_given: bool,
    pub callback: NlSlippageFn,
    pub user_data: *mut c_void,
    pub name: *const c_char,
    /// The model fills only on bars with positive traded volume (ml4t's
    /// `requires_traded_volume`).
    pub requires_volume: bool,
}

struct ForeignCommission {
    f: unsafe extern "C" fn(*mut c_void, u32, f64, f64, u8, *mut f64) -> i32,
    user_data: *mut c_void,
    name: String,
    /// The engine handle's: marks "a commission model" as running while `f` runs.
    scope: Arc<CallbackScope>,
}

struct ForeignSlippage {
    f: unsafe extern "C" fn(*mut c_void, u32, f64, f64, f64, u8, *mut f64) -> i32,
    user_data: *mut c_void,
    name: String,
    scope: Arc<CallbackScope>,
}

// SAFETY: the callee (Cython) takes the GIL itself and `user_data` is a
// Python object the engine's owner keeps alive; an engine handle is used by
// one thread at a time.
unsafe impl Send for ForeignCommission {}
unsafe impl Sync for ForeignCommission {}
unsafe impl Send for ForeignSlippage {}
unsafe impl Sync for ForeignSlippage {}

impl CommissionCallback for ForeignCommission {
    fn commission(&self, q: &CommissionQuery) -> Result<f64, String> {
        let mut out = f64::NAN;
        // SAFETY: the function pointer and user data came from the caller of
        // `nl_engine_set_commission`, which promises they stay valid.
        let status = self.scope.running("a commission model", || unsafe {
            (self.f)(self.user_data, q.asset, q.quantity, q.price, u8::from(q.estimate), &mut out)
        });
        match status {
            0 => Ok(out),
            _ => Err(format!("commission model {} raised", self.name)),
        }
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

impl SlippageCallback for ForeignSlippage {
    fn slippage(&self, q: &SlippageQuery) -> Result<f64, String> {
        let mut out = f64::NAN;
        // SAFETY: as for ForeignCommission.
        let status = self.scope.running("a slippage model", || unsafe {
            (self.f)(self.user_data, q.asset, q.quantity, q.price, q.volume, u8::from(q.estimate), &mut out)
        });
        match status {
            0 => Ok(out),
            _ => Err(format!("slippage model {} raised", self.name)),
        }
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

/// # Safety
/// `name` must be null or a NUL-terminated string.
unsafe fn model_name(name: *const c_char, fallback: &str) -> String {
    if name.is_null() {
        fallback.to_string()
    } else {
        CStr::from_ptr(name).to_string_lossy().into_owned()
    }
}

/// # Safety
/// `p` must be valid for reading `n` elements (or `n == 0`).
unsafe fn slice<'a, T>(p: *const T, n: usize, what: &str) -> Result<&'a [T], EngineError> {
    if n == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(null_error(what));
    }
    Ok(std::slice::from_raw_parts(p, n))
}

/// Builds the per-asset routing table; exactly one default route.
fn routes<M>(entries: Vec<(u32, M)>, what: &str) -> Result<PerAsset<M>, EngineError> {
    let mut default = None;
    let mut by_asset = std::collections::HashMap::new();
    for (asset, model) in entries {
        let duplicate = if asset == NL_ALL_ASSETS {
            default.replace(model).is_some()
        } else {
            by_asset.insert(asset, model).is_some()
        };
        if duplicate {
            return Err(EngineError::InvalidArgument(format!("{what}: two models for the same route")));
        }
    }
    let default = default.ok_or_else(|| EngineError::InvalidArgument(format!("{what}: no default model")))?;
    Ok(PerAsset { default, by_asset })
}

/// The commission model of spec `s` (tiers index `thresholds`/`rates`). A
/// callback spec needs the engine's callback `scope`.
///
/// # Safety
/// `s.name` must be null or NUL-terminated.
unsafe fn commission_model(s: &NlCommissionSpec, thresholds: &[f64], rates: &[f64],
                           scope: Option<&Arc<CallbackScope>>) -> Result<CommissionModel, EngineError> {
    Ok(match s.kind {
        NL_COMMISSION_NONE => CommissionModel::None,
        NL_COMMISSION_PERCENTAGE => CommissionModel::Percentage { rate: s.rate },
        NL_COMMISSION_PER_SHARE => CommissionModel::PerShare { per_share: s.per_share, minimum: s.minimum },
        NL_COMMISSION_COMBINED => CommissionModel::Combined { percentage: s.rate, fixed: s.per_trade },
        NL_COMMISSION_PER_ORDER => CommissionModel::PerOrder {
            per_share: s.per_share,
            rate: s.rate,
            per_trade: s.per_trade,
            minimum: s.minimum,
        },
        NL_COMMISSION_TIERED => {
            let end = s.tiers_start.checked_add(s.tiers_len).filter(|&end| end <= thresholds.len().min(rates.len()));
            let end = end.ok_or_else(|| EngineError::InvalidArgument("tier range out of bounds".into()))?;
            CommissionModel::Tiered { tiers: (s.tiers_start..end).map(|i| (thresholds[i], rates[i])).collect() }
        }
        NL_COMMISSION_FUTURES => CommissionModel::Futures {
            per_trade: s.per_trade,
            per_block: s.per_share,
            percentage: s.rate,
        },
        NL_COMMISSION_KALSHI => CommissionModel::Kalshi { coefficient: s.rate, precision_micro: s.minimum },
        NL_COMMISSION_FORECASTEX => CommissionModel::ForecastEx { per_contract: s.per_share },
        NL_COMMISSION_POLYMARKET_US => CommissionModel::PolymarketUs { coefficient: s.rate, cent: s.minimum > 0.0 },
        NL_COMMISSION_CALLBACK => {
            let scope = scope.ok_or_else(|| EngineError::InvalidArgument(
                "a Python commission model computes its own fees".into()))?;
            let f = s.callback.ok_or_else(|| null_error("commission callback"))?;
            let name = model_name(s.name, "commission model");
            CommissionModel::Callback(Callback(Arc::new(ForeignCommission { f, user_data: s.user_data, name, scope: Arc::clone(scope) })))
        }
        other => return Err(EngineError::InvalidArgument(format!("invalid commission kind {other}"))),
    })
}

/// The slippage model of spec `s`; a callback spec needs the engine's `scope`.
///
/// # Safety
/// `s.name` must be null or NUL-terminated.
unsafe fn slippage_model(s: &NlSlippageSpec, scope: Option<&Arc<CallbackScope>>) -> Result<SlippageModel, EngineError> {
    let model = slippage_kind(s, scope)?;
    Ok(if s.requires_volume && !model.requires_volume() { SlippageModel::RequiresVolume(Box::new(model)) } else { model })
}

/// # Safety
/// As `slippage_model`.
unsafe fn slippage_kind(s: &NlSlippageSpec, scope: Option<&Arc<CallbackScope>>) -> Result<SlippageModel, EngineError> {
    Ok(match s.kind {
        NL_SLIPPAGE_NONE => SlippageModel::None,
        NL_SLIPPAGE_PERCENTAGE => SlippageModel::Percentage { rate: s.rate },
        NL_SLIPPAGE_FIXED => SlippageModel::Fixed { amount: s.amount },
        NL_SLIPPAGE_SPREAD => SlippageModel::Spread { spread: s.amount, half_given: s.half_given },
        NL_SLIPPAGE_VOLUME_SHARE => SlippageModel::VolumeShare { impact: s.rate },
        NL_SLIPPAGE_CUMULATIVE_VOLUME_SHARE => SlippageModel::CumulativeVolumeShare { impact: s.rate },
        NL_SLIPPAGE_FUTURES => SlippageModel::FuturesPoints { points: s.amount },
        NL_SLIPPAGE_VOLATILITY_VOLUME => SlippageModel::VolatilityVolume { eta: s.rate },
        NL_SLIPPAGE_CALLBACK => {
            let scope = scope.ok_or_else(|| EngineError::InvalidArgument(
                "a Python slippage model computes its own slippage".into()))?;
            let f = s.callback.ok_or_else(|| null_error("slippage callback"))?;
            let name = model_name(s.name, "slippage model");
            SlippageModel::Callback(Callback(Arc::new(ForeignSlippage { f, user_data: s.user_data, name, scope: Arc::clone(scope) })))
        }
        other => return Err(EngineError::InvalidArgument(format!("invalid slippage kind {other}"))),
    })
}

/// The fee model `spec` charges a first fill of `quantity` at `price` of a
/// contract worth `multiplier` per point (a model's `calculate(asset,
/// quantity, price)`; the engine's own formula).
///
/// # Safety
/// `spec` valid; the tier arrays valid for `n_tiers` reads; `out` for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_commission_quote(
    spec: *const NlCommissionSpec,
    tier_thresholds: *const f64,
    tier_rates: *const f64,
    n_tiers: usize,
    quantity: f64,
    price: f64,
    multiplier: f64,
    out: *mut f64,
) -> NlStatus {
    guard(|| {
        let s = spec.as_ref().ok_or_else(|| null_error("commission spec"))?;
        let thresholds = slice(tier_thresholds, n_tiers, "tier thresholds")?;
        let rates = slice(tier_rates, n_tiers, "tier rates")?;
        let model = commission_model(s, thresholds, rates, None)?;
        model.validate()?;
        check_multiplier(multiplier)?;
        let q = CommissionQuery { multiplier, ..CommissionQuery::first(0, quantity, price) };
        write(out, model.commission(&q)?)
    })
}

/// The per-unit slippage model `spec` adds to a fill of `quantity` at
/// `price` in a bar that traded `volume` (NaN: unknown), with nothing filled
/// before in that bar (a model's `calculate(asset, quantity, price, volume)`).
///
/// # Safety
/// `spec` valid; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_slippage_quote(spec: *const NlSlippageSpec, quantity: f64, price: f64, volume: f64,
                                           out: *mut f64) -> NlStatus {
    guard(|| {
        let s = spec.as_ref().ok_or_else(|| null_error("slippage spec"))?;
        let model = slippage_model(s, None)?;
        model.validate()?;
        let q = SlippageQuery { asset: 0, quantity, price, volume, available: volume, volume_consumed: 0.0,
                                high: f64::NAN, low: f64::NAN, estimate: false };
        write(out, model.per_share(&q)?)
    })
}

/// What the slippage of that fill costs in currency for a contract worth
/// `multiplier` per point: the per-unit adjustment times `|quantity| *
/// multiplier` (a futures slippage model's `calculate`).
///
/// # Safety
/// `spec` valid; `out` valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_slippage_cost_quote(spec: *const NlSlippageSpec, quantity: f64, price: f64, volume: f64,
                                                multiplier: f64, out: *mut f64) -> NlStatus {
    guard(|| {
        let s = spec.as_ref().ok_or_else(|| null_error("slippage spec"))?;
        let model = slippage_model(s, None)?;
        model.validate()?;
        check_multiplier(multiplier)?;
        let q = SlippageQuery { asset: 0, quantity, price, volume, available: volume, volume_consumed: 0.0,
                                high: f64::NAN, low: f64::NAN, estimate: false };
        write(out, model.fill_cost(&q, multiplier)?)
    })
}

fn check_multiplier(multiplier: f64) -> Result<(), EngineError> {
    if multiplier.is_finite() && multiplier > 0.0 {
        Ok(())
    } else {
        Err(EngineError::InvalidArgument(format!("multiplier must be a finite number > 0, got {multiplier}")))
    }
}

/// Sets the engine's commission models (at any time between engine calls;
/// later fills use them).
///
/// # Safety
/// `e` must be a live engine; `specs` valid for `n` entries; the tier arrays
/// valid for `n_tiers` entries; callbacks and user data valid for the
/// engine's life.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_commission(
    e: *mut NlEngine,
    specs: *const NlCommissionSpec,
    n: usize,
    tier_thresholds: *const f64,
    tier_rates: *const f64,
    n_tiers: usize,
) -> NlStatus {
    guard(|| {
        let scope = Arc::clone(&handle(e)?.scope);
        let specs = slice(specs, n, "commission specs")?;
        let thresholds = slice(tier_thresholds, n_tiers, "tier thresholds")?;
        let rates = slice(tier_rates, n_tiers, "tier rates")?;
        let mut entries = Vec::with_capacity(n);
        for s in specs {
            entries.push((s.asset, commission_model(s, thresholds, rates, Some(&scope))?));
        }
        let commissions: Commissions = routes(entries, "commission")?;
        Ok(engine(e, "setting the commission model")?.set_commission(commissions)?)
    })
}

/// Sets the engine's slippage models (at any time between engine calls).
///
/// # Safety
/// As `nl_engine_set_commission`.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_slippage(e: *mut NlEngine, specs: *const NlSlippageSpec, n: usize) -> NlStatus {
    guard(|| {
        let scope = Arc::clone(&handle(e)?.scope);
        let specs = slice(specs, n, "slippage specs")?;
        let mut entries = Vec::with_capacity(n);
        for s in specs {
            entries.push((s.asset, slippage_model(s, Some(&scope))?));
        }
        let slippages: Slippages = routes(entries, "slippage")?;
        Ok(engine(e, "setting the slippage model")?.set_slippage(slippages)?)
    })
}

/// Sets the assets' own fill bases (ml4t's `AssetSlippage(price_sources=...)`):
/// orders in `assets[i]` fill at the `sources[i]` price (an `EXECUTION_PRICE_*`
/// code) in every pass but a market-on-close order's, instead of the config's
/// execution price. Replaces the previous set (`n == 0` clears it), at any
/// time between engine calls.
///
/// # Safety
/// `e` must be a live engine; `assets` and `sources` valid for reading `n`
/// elements each (or `n == 0`).
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_asset_price_sources(e: *mut NlEngine, assets: *const u32,
                                                           sources: *const u32, n: usize) -> NlStatus {
    guard(|| {
        let assets = slice(assets, n, "price source assets")?;
        let codes = slice(sources, n, "price sources")?;
        let mut by_asset = std::collections::HashMap::with_capacity(n);
        for (&asset, &code) in assets.iter().zip(codes) {
            let source = nl_core::ExecutionPrice::try_from(code)?;
            if by_asset.insert(asset, source).is_some() {
                return Err(EngineError::InvalidArgument(format!("price sources: asset index {asset} given twice")).into());
            }
        }
        Ok(engine(e, "setting the price sources")?.set_asset_price_sources(by_asset)?)
    })
}

/// Execution-limit kinds for [`NlLimitSpec::kind`].
pub const NL_LIMIT_NONE: u32 = 0;
pub const NL_LIMIT_VOLUME_PARTICIPATION: u32 = 1;
pub const NL_LIMIT_POSITIVE_VOLUME: u32 = 2;
/// `max_participation` per order, `shared_participation` (NaN: the same) of
/// the bar's traded volume for all orders of an asset together.
pub const NL_LIMIT_SHARED_VOLUME_PARTICIPATION: u32 = 3;
pub const NL_LIMIT_ADAPTIVE_PARTICIPATION: u32 = 4;
/// `callback(user_data, ...)`.
pub const NL_LIMIT_CALLBACK: u32 = 5;

/// A user volume limit: writes the quantity of an order for `quantity` that a
/// bar fills to `out_fillable`, and the asset's shared capacity for the bar to
/// `out_capacity` (NaN: none); returns 0, or non-zero when it failed (the
/// caller keeps its own error). `volume` is the traded volume, `available`
/// the quoted size on the order's side or else the volume (NaN: none).
pub type NlLimitFn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, asset: u32, quantity: f64, volume: f64, available: f64, price: f64,
                         out_fillable: *mut f64, out_capacity: *mut f64) -> i32,
>;

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NlLimitSpec {
    /// An asset index, or `NL_ALL_ASSETS` for the default.
    pub asset: u32,
    pub kind: u32,
    /// Volume, shared-volume and adaptive (its cap) participation.
    pub max_participation: f64,
    pub min_volume: f64,
    /// Shared volume only; NaN: `max_participation`.
    pub shared_participation: f64,
    /// Adaptive only.
    pub base_participation: f64,
    pub volatility_factor: f64,
    pub min_participation: f64,
    pub avg_volatility: f64,
    pub callback: NlLimitFn,
    /// Passed back to `callback`; must outlive the engine.
    pub user_data: *mut c_void,
    /// The model's name for error messages (may be null).
    pub name: *const c_char,
}

type LimitFn = unsafe extern "C" fn(*mut c_void, u32, f64, f64, f64, f64, *mut f64, *mut f64) -> i32;

struct ForeignLimit {
    f: LimitFn,
    user_data: *mut c_void,
    name: String,
    scope: Arc<CallbackScope>,
}

// SAFETY: as for ForeignCommission.
unsafe impl Send for ForeignLimit {}
unsafe impl Sync for ForeignLimit {}

impl LimitCallback for ForeignLimit {
    fn answer(&self, q: &LimitQuery) -> Result<LimitAnswer, String> {
        let (mut fillable, mut capacity) = (f64::NAN, f64::NAN);
        // SAFETY: the function pointer and user data came from the caller of
        // `nl_engine_set_execution_limits`, which promises they stay valid.
        let status = self.scope.running("an execution limit", || unsafe {
            (self.f)(self.user_data, q.asset, q.quantity, q.volume, q.available, q.price, &mut fillable, &mut capacity)
        });
        match status {
            0 => Ok(LimitAnswer { fillable, capacity }),
            _ => Err(format!("execution limit {} raised", self.name)),
        }
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

/// The execution limit of spec `s`; a callback spec needs the engine's `scope`.
///
/// # Safety
/// `s.name` must be null or NUL-terminated.
unsafe fn execution_limit(s: &NlLimitSpec, scope: Option<&Arc<CallbackScope>>) -> Result<ExecutionLimit, EngineError> {
    Ok(match s.kind {
        NL_LIMIT_NONE => ExecutionLimit::None,
        NL_LIMIT_VOLUME_PARTICIPATION => ExecutionLimit::VolumeParticipation {
            max_participation: s.max_participation,
            min_volume: s.min_volume,
        },
        NL_LIMIT_POSITIVE_VOLUME => ExecutionLimit::PositiveVolume,
        NL_LIMIT_SHARED_VOLUME_PARTICIPATION => ExecutionLimit::SharedVolumeParticipation {
            max_participation: s.max_participation,
            min_volume: s.min_volume,
            shared_participation: s.shared_participation,
        },
        NL_LIMIT_ADAPTIVE_PARTICIPATION => ExecutionLimit::AdaptiveParticipation {
            base_participation: s.base_participation,
            volatility_factor: s.volatility_factor,
            max_participation: s.max_participation,
            min_participation: s.min_participation,
            avg_volatility: s.avg_volatility,
        },
        NL_LIMIT_CALLBACK => {
            let scope = scope.ok_or_else(|| EngineError::InvalidArgument(
                "a Python execution limit computes its own quantities".into()))?;
            let f = s.callback.ok_or_else(|| null_error("execution limit callback"))?;
            let name = model_name(s.name, "execution limit");
            ExecutionLimit::Callback(Callback(Arc::new(ForeignLimit { f, user_data: s.user_data, name, scope: Arc::clone(scope) })))
        }
        other => return Err(EngineError::InvalidArgument(format!("invalid execution limit kind {other}"))),
    })
}

/// Market-impact kinds for [`NlImpactSpec::kind`].
pub const NL_IMPACT_NONE: u32 = 0;
pub const NL_IMPACT_LINEAR: u32 = 1;
pub const NL_IMPACT_SQUARE_ROOT: u32 = 2;
pub const NL_IMPACT_POWER_LAW: u32 = 3;
/// `callback(user_data, ...)`.
pub const NL_IMPACT_CALLBACK: u32 = 4;

/// A user impact model: writes the signed price move of an order for
/// `quantity` of `asset` at `price` with `volume` available (NaN: none) to
/// `out` and returns 0, or non-zero when it failed (the caller keeps its own error).
pub type NlImpactFn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, asset: u32, quantity: f64, price: f64, volume: f64, is_buy: bool,
                         out: *mut f64) -> i32,
>;

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct NlImpactSpec {
    pub kind: u32,
    pub coefficient: f64,
    /// Square root only.
    pub volatility: f64,
    pub adv_factor: f64,
    /// Power law only.
    pub exponent: f64,
    pub min_impact: f64,
    pub callback: NlImpactFn,
    /// Passed back to `callback`; must outlive the engine.
    pub user_data: *mut c_void,
    /// The model's name for error messages (may be null).
    pub name: *const c_char,
}

struct ForeignImpact {
    f: unsafe extern "C" fn(*mut c_void, u32, f64, f64, f64, bool, *mut f64) -> i32,
    user_data: *mut c_void,
    name: String,
    scope: Arc<CallbackScope>,
}

// SAFETY: as for ForeignCommission.
unsafe impl Send for ForeignImpact {}
unsafe impl Sync for ForeignImpact {}

impl ImpactCallback for ForeignImpact {
    fn impact(&self, asset: u32, quantity: f64, price: f64, volume: f64, is_buy: bool) -> Result<f64, String> {
        let mut out = f64::NAN;
        // SAFETY: the function pointer and user data came from the caller of
        // `nl_engine_set_market_impact`, which promises they stay valid.
        let status = self.scope.running("a market impact model", || unsafe {
            (self.f)(self.user_data, asset, quantity, price, volume, is_buy, &mut out)
        });
        match status {
            0 => Ok(out),
            _ => Err(format!("market impact model {} raised", self.name)),
        }
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

/// Sets the volume participation limits (before the first bar).
///
/// # Safety
/// `e` must be a live engine; `specs` valid for `n` entries; callbacks and
/// user data valid for the engine's life.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_execution_limits(e: *mut NlEngine, specs: *const NlLimitSpec, n: usize) -> NlStatus {
    guard(|| {
        let scope = Arc::clone(&handle(e)?.scope);
        let mut entries = Vec::with_capacity(n);
        for s in slice(specs, n, "limit specs")? {
            entries.push((s.asset, execution_limit(s, Some(&scope))?));
        }
        let limits = routes(entries, "execution limits")?;
        Ok(engine(e, "setting execution limits")?.set_execution_limits(limits)?)
    })
}

/// Sets the market-impact model (before the first bar).
///
/// # Safety
/// `e` must be a live engine; `spec` valid for reading; a callback and its
/// user data valid for the engine's life.
#[no_mangle]
pub unsafe extern "C" fn nl_engine_set_market_impact(e: *mut NlEngine, spec: *const NlImpactSpec) -> NlStatus {
    guard(|| {
        let scope = Arc::clone(&handle(e)?.scope);
        let s = spec.as_ref().ok_or_else(|| null_error("impact spec"))?;
        let impact = match s.kind {
            NL_IMPACT_NONE => MarketImpact::None,
            NL_IMPACT_LINEAR => MarketImpact::Linear { coefficient: s.coefficient },
            NL_IMPACT_SQUARE_ROOT => MarketImpact::SquareRoot {
                coefficient: s.coefficient,
                volatility: s.volatility,
                adv_factor: s.adv_factor,
            },
            NL_IMPACT_POWER_LAW => MarketImpact::PowerLaw {
                coefficient: s.coefficient,
                exponent: s.exponent,
                min_impact: s.min_impact,
            },
            NL_IMPACT_CALLBACK => {
                let f = s.callback.ok_or_else(|| null_error("market impact callback"))?;
                let name = model_name(s.name, "market impact model");
                MarketImpact::Callback(Callback(Arc::new(ForeignImpact { f, user_data: s.user_data, name, scope })))
            }
            other => return Err(EngineError::InvalidArgument(format!("invalid market impact kind {other}")).into()),
        };
        Ok(engine(e, "setting the market impact model")?.set_market_impact(impact)?)
    })
}
