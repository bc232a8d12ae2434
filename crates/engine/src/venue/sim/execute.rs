//! What the simulated venue decides about one order on one bar: where it
//! triggers and at what base price (`Trigger`), how a fill is priced
//! (`FillPricing`), and whether a price respects the order's limit. The
//! kernel's `kernel/execute.rs` runs the stages and books the fill.

use nl_core::{
    AssetId, EngineError, EngineResult, ExecutionPrice, OrderSide,
};

use crate::market::Bar;
use crate::venue::sim::costs::{SlippageQuery, Slippages};
use crate::venue::sim::liquidity::MarketImpact;

/// Where an order executes on a bar: the bar's prices, the base price (before impact
/// and slippage) and where that price came from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trigger {
    /// The order's row's prices (read once for the trigger, reused by the fill).
    pub bar: Bar,
    pub base: f64,
    pub source: ExecutionPrice,
}

/// How one fill is priced: the inputs `fill_price` needs for any quantity.
pub(crate) struct FillPricing<'a> {
    pub(crate) asset: AssetId,
    pub(crate) side: OrderSide,
    pub(crate) base: f64,
    pub(crate) bar: &'a Bar,
    pub(crate) available: f64,
    pub(crate) consumed: f64,
}

/// The fill price (and per-unit slippage) of `quantity`: the base price
/// moved by market impact, then by slippage, against the order. A model
/// that gives no finite positive price is an error (ml4t's message).
/// `estimate`: a pre-trade estimate, not the price of a fill.
pub(crate) fn fill_price(impact: &MarketImpact, slippage: &Slippages, p: &FillPricing<'_>, quantity: f64,
    estimate: bool) -> EngineResult<(f64, f64)> {
    let is_buy = p.side == OrderSide::Buy;
    let impacted = p.base + impact.checked_impact(p.asset, quantity, p.base, p.available, is_buy)?;
    if !(impacted.is_finite() && impacted > 0.0) {
        return Err(EngineError::InvalidArgument(format!(
            "Invalid market-impact execution price: expected a finite positive number, got {impacted}")));
    }
    let slip = slippage.per_share(&SlippageQuery {
        asset: p.asset,
        quantity,
        price: impacted,
        volume: p.bar.volume,
        available: p.available,
        volume_consumed: p.consumed,
        high: p.bar.high,
        low: p.bar.low,
        estimate,
    })?;
    let price = if is_buy { impacted + slip } else { impacted - slip };
    if !(price.is_finite() && price > 0.0) {
        return Err(EngineError::InvalidArgument(format!(
            "Invalid execution price: expected a finite positive number, got {}", py_float(price))));
    }
    Ok((price, slip))
}

/// The largest whole number in 0..=floor(upper) that `ok` accepts (`ok` is
/// monotone: true up to some quantity, false beyond).
pub(crate) fn bisect_whole(upper: f64, ok: impl Fn(f64) -> EngineResult<bool>) -> EngineResult<f64> {
    let mut high = upper.trunc() as i64;
    if high <= 0 {
        return Ok(0.0);
    }
    if ok(high as f64)? {
        return Ok(high as f64);
    }
    let mut low = 0i64;
    while low < high {
        let mid = (low + high + 1) / 2;
        if ok(mid as f64)? {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    Ok(low as f64)
}

/// The largest quantity in [0, upper] that `ok` accepts, to 64 halvings
/// (`ok` is monotone).
pub(crate) fn bisect_fraction(upper: f64, ok: impl Fn(f64) -> EngineResult<bool>) -> EngineResult<f64> {
    let (mut low, mut high) = (0.0, upper);
    for _ in 0..64 {
        let mid = (low + high) / 2.0;
        if ok(mid)? {
            low = mid;
        } else {
            high = mid;
        }
    }
    Ok(low)
}

/// `x` as Python's `repr(float)` writes it (0.0, -1.5, nan, inf), so an
/// error message reads as ml4t-backtest's does.
pub(crate) fn py_float(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{x:?}")
    }
}

/// Whether `price` respects `limit` (buy at or below, sell at or above).
pub(crate) fn within_limit(side: OrderSide, limit: Option<f64>, price: f64) -> bool {
    match (limit, side) {
        (None, _) => true,
        (Some(l), OrderSide::Buy) => price <= l,
        (Some(l), OrderSide::Sell) => price >= l,
    }
}
