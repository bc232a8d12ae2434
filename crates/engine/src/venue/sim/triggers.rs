//! Fill-price rules: whether an order fills on a bar, and at what base
//! (pre-slippage) price. ml4t-backtest 0.2.0's OHLC rules:
//!
//! * MARKET / MOC fill at the pass's execution price.
//! * LIMIT: a buy fills if `low <= limit`, a sell if `high >= limit`, at the
//!   limit price (no improvement when the open gaps through it).
//! * STOP: a buy triggers if `high >= stop`, a sell if `low <= stop`; it fills
//!   at the stop, or at the open when the open is already through the stop.
//!   Once triggered it stays triggered and later fills at the execution price.
//! * STOP_LIMIT: the stop trigger turns it into a limit; on the trigger bar a
//!   limit better than the stop fills only if the open gapped through the stop
//!   or the close reached the limit (no unobservable intrabar reversal).
//! * TRAILING_STOP: the stop ratchets from the bar's high (sells) or low
//!   (buys) by `trail_amount`, then fills like a stop.
//!
//! With `ConditionalOrderMode::ExecutionPrice` triggers compare only the
//! execution price. With `LimitGapFill::Open`, a limit order whose bar opens
//! through the limit fills at the open instead (price improvement).

use nl_core::{ConditionalOrderMode, ExecutionPrice, LimitGapFill, MaybeF64, MaybeTime, Order, OrderSide, OrderType, Timestamp};

use crate::market::Bar;

/// When in the bar the engine is matching orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchPoint {
    /// At the bar's open: NEXT_BAR mode fills earlier bars' orders here,
    /// whatever `execution_price` says (MOC orders wait for the close).
    Open,
    /// At the configured execution price of the bar (SAME_BAR mode).
    Execution,
    /// At the close, for market-on-close orders only (NEXT_BAR mode).
    Close,
    /// SAME_BAR mode's pass for exits deferred to this bar's open: priced at
    /// the configured source, marked as an open-time pass.
    SameBarOpen,
}

/// Where passes take their execution price from (the config's
/// `execution_price` and `next_bar_execution_price`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceSources {
    /// The source of every pass, unless replaced below.
    pub configured: ExecutionPrice,
    /// Replaces the source of open-time passes (NEXT_BAR's open pass and
    /// SAME_BAR's pass for exits deferred to the open), quote sources
    /// included: e.g. CLOSE makes NEXT_BAR orders fill at the next bar's close.
    pub open_pass: Option<ExecutionPrice>,
    /// The order's asset's own fill basis (ml4t's `AssetSlippage(price_sources=...)`):
    /// replaces both of the above in every pass; only a market-on-close
    /// order keeps its close.
    pub asset: Option<ExecutionPrice>,
}

impl PriceSources {
    /// Sources with no open-pass override.
    pub fn configured(configured: ExecutionPrice) -> Self {
        Self { configured, open_pass: None, asset: None }
    }

    /// Whether some pass prices from `source`.
    pub fn uses(&self, source: ExecutionPrice) -> bool {
        match self.asset {
            Some(own) => own == source,
            None => self.configured == source || self.open_pass == Some(source),
        }
    }
}

/// The execution price of a pass for `order`, and its source. NaN when the
/// bar has no such price (a VWAP source on a bar without one): no fill then.
///
/// MOC orders use the close. An asset with its own source uses it in every
/// other pass. Open-time passes use `sources.open_pass` when set; otherwise
/// NEXT_BAR's open pass uses the open unless the configured source is a
/// quote or VWAP price (ml4t-backtest's rules).
pub fn execution_price(order: &Order, bar: &Bar, at: MatchPoint, sources: PriceSources) -> (f64, ExecutionPrice) {
    let open_time = matches!(at, MatchPoint::Open | MatchPoint::SameBarOpen);
    let source = match (order.order_type, at, sources.open_pass) {
        (OrderType::MarketOnClose, _, _) | (_, MatchPoint::Close, _) => ExecutionPrice::Close,
        _ if sources.asset.is_some() => sources.asset.unwrap_or(sources.configured),
        (_, _, Some(source)) if open_time => source,
        (_, MatchPoint::Open, _) if !is_quote_source(sources.configured) => ExecutionPrice::Open,
        // (SameBarOpen, Execution and quote sources at the open: as configured.)
        _ => sources.configured,
    };
    (price_of(bar, source, order.side == OrderSide::Buy), source)
}

/// Sources that NEXT_BAR's open pass does not replace by the open.
pub fn is_quote_source(source: ExecutionPrice) -> bool {
    matches!(
        source,
        ExecutionPrice::Vwap | ExecutionPrice::Bid | ExecutionPrice::Ask | ExecutionPrice::QuoteMid | ExecutionPrice::QuoteSide
    )
}

/// The bar's value for a price source; quotes fall back to the reference
/// price (PRICE: the close unless the feed names another column), VWAP does
/// not (NaN).
pub fn price_of(bar: &Bar, source: ExecutionPrice, is_buy: bool) -> f64 {
    let or_reference = |v: f64| if v.is_nan() { bar.price } else { v };
    match source {
        ExecutionPrice::Open => bar.open,
        ExecutionPrice::Close => bar.close,
        ExecutionPrice::Price => bar.price,
        ExecutionPrice::Mid => (bar.high + bar.low) / 2.0,
        ExecutionPrice::Vwap => bar.vwap,
        ExecutionPrice::Bid => or_reference(bar.bid),
        ExecutionPrice::Ask => or_reference(bar.ask),
        ExecutionPrice::QuoteMid => or_reference(bar.mid),
        ExecutionPrice::QuoteSide => or_reference(if is_buy { bar.ask } else { bar.bid }),
    }
}

/// A position's mark on `bar` from `source`: longs at the bid and shorts at
/// the ask for QUOTE_SIDE. `open_override`: NEXT_BAR's open pass, which marks
/// at the open unless the source is a quote; `use_open`: any open-time pass,
/// where a missing side quote falls back to the open (ml4t's rules). NaN when
/// unavailable (the mark then stays as it was).
pub fn mark_of(bar: &Bar, source: ExecutionPrice, quantity: f64, open_override: bool, use_open: bool) -> f64 {
    if open_override && !is_quote_source(source) {
        return bar.open;
    }
    let is_buy = quantity < 0.0;
    if use_open && source == ExecutionPrice::QuoteSide && (if is_buy { bar.ask } else { bar.bid }).is_nan() {
        return bar.open;
    }
    price_of(bar, source, is_buy)
}

/// The base fill price of `order` on `bar` given the pass's execution
/// `price`, or `None` if it does not fill. Records stop triggers and
/// trailing-stop ratchets on the order, as they persist across bars; `now`
/// is the bar's time.
pub fn check_fill(order: &mut Order, bar: &Bar, price: f64, rules: FillRules, now: Timestamp) -> Option<f64> {
    match order.order_type {
        OrderType::Market | OrderType::MarketOnClose => Some(price),
        OrderType::Limit => check_limit(order, bar, price, rules),
        OrderType::Stop => check_stop(order, bar, price, rules.mode, now),
        OrderType::StopLimit => check_stop_limit(order, bar, price, rules, now),
        OrderType::TrailingStop => check_trailing_stop(order, bar),
    }
}

/// The configurable parts of the fill rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillRules {
    pub mode: ConditionalOrderMode,
    pub limit_gap_fill: LimitGapFill,
}

fn is_buy(order: &Order) -> bool {
    order.side == OrderSide::Buy
}

/// The open, when it is already through the stop in the order's direction.
fn gap_through(side: OrderSide, stop: f64, open: f64) -> Option<f64> {
    let through = match side {
        OrderSide::Sell => open <= stop,
        OrderSide::Buy => open >= stop,
    };
    through.then_some(open)
}

fn check_limit(order: &Order, bar: &Bar, price: f64, rules: FillRules) -> Option<f64> {
    let limit = order.limit_price.get()?;
    match rules.mode {
        ConditionalOrderMode::ExecutionPrice => {
            let reached = if is_buy(order) { price <= limit } else { price >= limit };
            reached.then_some(price)
        }
        ConditionalOrderMode::BarOhlc => {
            let reached = if is_buy(order) { bar.low <= limit } else { bar.high >= limit };
            let opened_through = if is_buy(order) { bar.open <= limit } else { bar.open >= limit };
            match rules.limit_gap_fill {
                LimitGapFill::Open if reached && opened_through => Some(bar.open),
                _ => reached.then_some(limit),
            }
        }
    }
}

fn check_stop(order: &mut Order, bar: &Bar, price: f64, mode: ConditionalOrderMode, now: Timestamp) -> Option<f64> {
    let stop = order.stop_price.get()?;
    if order.stop_triggered_at.is_some() {
        return Some(price);
    }
    match mode {
        ConditionalOrderMode::ExecutionPrice => {
            let reached = if is_buy(order) { price >= stop } else { price <= stop };
            if !reached {
                return None;
            }
            order.stop_triggered_at = MaybeTime::some(now);
            Some(price)
        }
        ConditionalOrderMode::BarOhlc => {
            let reached = if is_buy(order) { bar.high >= stop } else { bar.low <= stop };
            if !reached {
                return None;
            }
            order.stop_triggered_at = MaybeTime::some(now);
            Some(gap_through(order.side, stop, bar.open).unwrap_or(stop))
        }
    }
}

fn check_stop_limit(order: &mut Order, bar: &Bar, price: f64, rules: FillRules, now: Timestamp) -> Option<f64> {
    let (limit, stop) = (order.limit_price.get()?, order.stop_price.get()?);
    if order.stop_triggered_at.is_none() {
        check_stop(order, bar, price, rules.mode, now)?;
        if rules.mode == ConditionalOrderMode::BarOhlc {
            let gapped = gap_through(order.side, stop, bar.open).is_some();
            let better_limit = if is_buy(order) { limit < stop } else { limit > stop };
            let reached_after = if is_buy(order) { bar.close <= limit } else { bar.close >= limit };
            if !gapped && better_limit && !reached_after {
                return None;
            }
        }
    }
    check_limit(order, bar, price, rules)
}

fn check_trailing_stop(order: &mut Order, bar: &Bar) -> Option<f64> {
    let trail = order.extras().trail_amount.get()?;
    let stop = if is_buy(order) {
        let candidate = bar.low + trail;
        let stop = order.stop_price.get().map_or(candidate, |s| s.min(candidate));
        order.stop_price = MaybeF64::some(stop);
        if bar.high < stop {
            return None;
        }
        stop
    } else {
        let candidate = bar.high - trail;
        let stop = order.stop_price.get().map_or(candidate, |s| s.max(candidate));
        order.stop_price = MaybeF64::some(stop);
        if bar.low > stop {
            return None;
        }
        stop
    };
    Some(gap_through(order.side, stop, bar.open).unwrap_or(stop))
}
