//! Orders, fills, positions and round-trip trades as plain values.

use crate::{
    MaybeF64, MaybeTime, Refusal,
    AssetId, CancelReason, ExecutionPrice, ExitReason, OrderId, OrderSide, OrderStatus, OrderType, TimeInForce,
    TradeStatus, Timestamp,
};

/// An order as the book holds it. `quantity` is unsigned; `side` gives direction.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: OrderId,
    pub asset: AssetId,
    pub side: OrderSide,
    pub order_type: OrderType,
    /// Quantity to fill (whole shares in an integer account once processed).
    pub quantity: f64,
    /// The quantity as submitted, before any rounding.
    pub requested_quantity: f64,
    pub limit_price: MaybeF64,
    /// For a trailing stop: the current (ratcheted) stop level, once known.
    pub stop_price: MaybeF64,
    /// When a stop or stop-limit's stop was reached (it stays triggered).
    pub stop_triggered_at: MaybeTime,
    pub status: OrderStatus,
    /// When the order was submitted, and when it filled completely.
    pub created_at: Timestamp,
    pub filled_at: MaybeTime,
    /// Quantity-weighted average fill price.
    pub filled_price: MaybeF64,
    pub filled_quantity: f64,
    pub commission: f64,
    /// Boxed: most orders are never refused, and the order table stays small.
    pub rejection_reason: Option<Box<Refusal>>,
    pub time_in_force: TimeInForce,
    pub cancel_reason: Option<CancelReason>,
    /// Time of the latest (possibly partial) fill: under a volume limit an
    /// order fills at most once per bar.
    pub last_fill_at: MaybeTime,
    /// The reference price (close) of the asset when the order was submitted
    /// (NaN without a bar then).
    pub signal_price: f64,
    /// Why the order exits a position (a position rule's exits say which).
    pub exit_reason: ExitReason,
    /// Sent by a target-weight rebalance: in an integer account an entry
    /// cash cannot fully pay for fills what it affords instead of being
    /// rejected (ml4t-backtest's rule).
    pub rebalance: bool,
    /// What few orders have (read with `extras()`, change with
    /// `extras_mut()`): boxed on first use, so a plain order carries 8 bytes
    /// for them instead of 56.
    pub extras: Option<Box<OrderExtras>>,
}

/// The fields of an order that only some orders set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrderExtras {
    /// Price distance of a trailing stop from the bar extreme.
    pub trail_amount: MaybeF64,
    /// The bracket entry this exit belongs to: when one order of a bracket
    /// fills completely, the pending orders with the same parent are cancelled.
    pub parent_id: Option<OrderId>,
    /// When the order was cancelled (once the first bar opened).
    pub cancelled_at: MaybeTime,
    /// A position rule's own description of its exit, e.g. "stop_loss_5.0%".
    pub exit_detail: Option<Box<str>>,
    /// A position rule's exit fills at this price (before slippage).
    pub risk_fill_price: MaybeF64,
    /// After a partial fill: the remainder as last set (by the fill or an
    /// update), before whole-share rounding; an attempt that fills nothing
    /// shows it again (ml4t-backtest keeps it apart from the rounded quantity).
    pub partial_remainder: MaybeF64,
    /// The notional a rebalance sized this order at (its target's value
    /// change); notional entry priorities rank it by this instead of
    /// quantity times the pass's price (ml4t-backtest's rule).
    pub priority_notional: MaybeF64,
}

static NO_EXTRAS: OrderExtras = OrderExtras {
    trail_amount: MaybeF64::NONE,
    parent_id: None,
    cancelled_at: MaybeTime::NONE,
    exit_detail: None,
    risk_fill_price: MaybeF64::NONE,
    partial_remainder: MaybeF64::NONE,
    priority_notional: MaybeF64::NONE,
};

impl OrderExtras {
    /// The extras of a new order with `trail_amount` and `parent_id` (none
    /// without either).
    pub fn of_new_order(trail_amount: Option<f64>, parent_id: Option<OrderId>) -> Option<Box<OrderExtras>> {
        (trail_amount.is_some() || parent_id.is_some())
            .then(|| Box::new(OrderExtras { trail_amount: trail_amount.into(), parent_id, ..OrderExtras::default() }))
    }
}

impl Order {
    /// The fields few orders set (all none when this one set none).
    pub fn extras(&self) -> &OrderExtras {
        self.extras.as_deref().unwrap_or(&NO_EXTRAS)
    }

    /// The fields few orders set, to change (boxed on first use).
    pub fn extras_mut(&mut self) -> &mut OrderExtras {
        self.extras.get_or_insert_with(Box::default)
    }

    /// Clears the partial-fill remainder (boxing nothing when there is none).
    pub fn clear_partial_remainder(&mut self) {
        if let Some(extras) = self.extras.as_deref_mut() {
            extras.partial_remainder = MaybeF64::NONE;
        }
    }
}

impl Order {
    /// A new PENDING GTC order submitted at `created_at`: nothing filled,
    /// no prices, no parent, a strategy's own (signal) order.
    pub fn new(id: OrderId, asset: AssetId, side: OrderSide, order_type: OrderType, quantity: f64, created_at: Timestamp) -> Self {
        Self {
            id,
            asset,
            side,
            order_type,
            quantity,
            requested_quantity: quantity,
            limit_price: MaybeF64::NONE,
            stop_price: MaybeF64::NONE,
            stop_triggered_at: MaybeTime::NONE,
            status: OrderStatus::Pending,
            created_at,
            filled_at: MaybeTime::NONE,
            filled_price: MaybeF64::NONE,
            filled_quantity: 0.0,
            commission: 0.0,
            rejection_reason: None,
            time_in_force: TimeInForce::Gtc,
            cancel_reason: None,
            last_fill_at: MaybeTime::NONE,
            signal_price: f64::NAN,
            exit_reason: ExitReason::Signal,
            rebalance: false,
            extras: None,
        }
    }
}

impl Order {
    /// Adds an execution of `quantity` at `price` costing `commission` at
    /// time `at`: filled quantity, quantity-weighted average price and
    /// commission so far. (Status and what is left are the caller's: a
    /// book and a venue decide them by their own rules.)
    pub fn record_fill(&mut self, quantity: f64, price: f64, commission: f64, at: Timestamp) {
        let filled = self.filled_quantity + quantity;
        self.filled_price = MaybeF64::some((self.filled_price.get().unwrap_or(0.0) * self.filled_quantity + price * quantity) / filled);
        self.filled_quantity = filled;
        self.commission += commission;
        self.last_fill_at = MaybeTime::some(at);
    }
}

/// One execution against one order.
#[derive(Debug, Clone, PartialEq)]
pub struct Fill {
    pub order_id: OrderId,
    pub asset: AssetId,
    pub side: OrderSide,
    pub quantity: f64,
    /// Execution price including slippage.
    pub price: f64,
    /// When it executed (the fill bar's time in a backtest).
    pub timestamp: Timestamp,
    pub commission: f64,
    /// Slippage per unit (price moved against the order by this much).
    pub slippage: f64,
    /// Which bar price the fill was based on.
    pub price_source: ExecutionPrice,
    /// The asset's reference price (close) on the fill bar.
    pub reference_price: f64,
    /// Size available to the order's side on the fill bar (the quoted ask or
    /// bid size when the feed has it, else the bar's volume).
    pub available_size: f64,
    /// The fill bar's quotes; `None` when the feed has none (read them with
    /// `quotes()`: all NaN then). Out of line: most feeds have no quotes.
    pub quotes: Option<Box<FillQuotes>>,
    /// True when the fill reduced, closed or reversed an existing position.
    pub is_exit: bool,
    pub order_type: OrderType,
    /// The order's limit and stop prices at the fill (a trailing stop's
    /// ratcheted level) and when its stop triggered; `None` for an order with
    /// none of them (read them with `trigger()`). Out of line: most orders
    /// are market orders.
    pub trigger: Option<Box<FillTrigger>>,
    /// The order's exit reason (meaningful when `is_exit`).
    pub exit_reason: ExitReason,
    /// The order's signal price (a position it opens measures stops from it
    /// with `StopLevelBasis::SignalPrice`).
    pub signal_price: f64,
}

/// A conditional order's prices at a fill of it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FillTrigger {
    pub limit_price: MaybeF64,
    pub stop_price: MaybeF64,
    pub stop_triggered_at: MaybeTime,
}

impl FillTrigger {
    /// What a fill keeps: nothing when the order has no limit, stop or trigger time.
    pub fn boxed(self) -> Option<Box<FillTrigger>> {
        let none = self.limit_price.is_none() && self.stop_price.is_none() && self.stop_triggered_at.is_none();
        (!none).then(|| Box::new(self))
    }
}

impl Fill {
    /// The order's limit and stop prices and stop trigger time at the fill
    /// (none for a plain market order).
    pub fn trigger(&self) -> FillTrigger {
        self.trigger.as_deref().copied().unwrap_or_default()
    }

    /// The fill bar's quotes (NaN where the feed has none).
    pub fn quotes(&self) -> FillQuotes {
        self.quotes.as_deref().copied().unwrap_or(FillQuotes::NONE)
    }
}

/// Bid and ask with their sizes, and the midpoint, of a fill's bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FillQuotes {
    pub bid: f64,
    pub ask: f64,
    pub mid: f64,
    pub bid_size: f64,
    pub ask_size: f64,
}

impl FillQuotes {
    pub const NONE: FillQuotes =
        FillQuotes { bid: f64::NAN, ask: f64::NAN, mid: f64::NAN, bid_size: f64::NAN, ask_size: f64::NAN };

    /// The bid, ask and midpoint.
    pub fn quote(&self) -> Quote {
        Quote { bid: self.bid, ask: self.ask, mid: self.mid }
    }

    /// What a fill keeps: nothing when every field is NaN (no quotes).
    pub fn boxed(self) -> Option<Box<FillQuotes>> {
        let none = [self.bid, self.ask, self.mid, self.bid_size, self.ask_size].iter().all(|v| v.is_nan());
        (!none).then(|| Box::new(self))
    }
}

/// An open position. `quantity` is signed: positive long, negative short.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Position {
    /// Unique per opened position (a reversal opens a new one), so a Python
    /// view can tell "still the same position" from "closed and reopened".
    pub serial: u64,
    pub asset: AssetId,
    pub quantity: f64,
    /// Quantity-weighted average entry price (includes slippage, never commission).
    pub entry_price: f64,
    /// When the opening fill executed.
    pub entry_time: Timestamp,
    /// The latest mark (fill price, the open, or the close, depending on the step).
    pub current_price: f64,
    /// Entry commission not yet attributed to a closed or partial trade.
    pub entry_commission: f64,
    /// Average per-unit slippage of the entry fills.
    pub entry_slippage: f64,
    /// Feed bars since the entry fill.
    pub bars_held: u32,
    pub high_water_mark: f64,
    pub low_water_mark: f64,
    /// Best and worst direction-aware return on entry price seen at bar closes.
    pub max_favorable_excursion: f64,
    pub max_adverse_excursion: f64,
    pub initial_quantity: f64,
    /// Volume of the bar the position was opened on.
    pub entry_available_size: f64,
    /// Quotes of the opening fill's bar (NaN without quotes).
    pub entry_quote: Quote,
    /// The opening order's signal price (NaN when it had none).
    pub signal_price: f64,
    /// Reporting basis with each fill's fee spread over the remaining signed
    /// units (ml4t's `commission_adjusted_cost_basis`): reductions keep the
    /// price basis before their fee, reversals restart at the fill price.
    /// Never used for P&L or cash.
    pub cost_basis: f64,
}

/// Bid, ask and midpoint of a bar (NaN where the feed has none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quote {
    pub bid: f64,
    pub ask: f64,
    pub mid: f64,
}

impl Quote {
    pub const NONE: Quote = Quote { bid: f64::NAN, ask: f64::NAN, mid: f64::NAN };
}

impl Default for Quote {
    /// No quote (NaN everywhere), as a bar without quote columns has.
    fn default() -> Self {
        Quote::NONE
    }
}

impl Position {
    /// Direction-aware return of `price` over the entry price (gross).
    pub fn pnl_percent(&self, price: f64) -> f64 {
        return_on_entry(self.entry_price, price, self.quantity)
    }

    /// Marks the position at `close` and moves its water marks and
    /// excursions by `up` (what may raise the high mark: the close, or the
    /// bar's high) and `down` (the close, or the bar's low). The one copy of
    /// this rule: the engine's end of bar and a detached Position's
    /// `update_water_marks` both use it.
    pub fn update_water_marks(&mut self, close: f64, up: f64, down: f64) {
        self.current_price = close;
        if up > self.high_water_mark {
            self.high_water_mark = up;
        }
        if down < self.low_water_mark {
            self.low_water_mark = down;
        }
        let (favorable, adverse) = if self.quantity > 0.0 { (up, down) } else { (down, up) };
        let best = self.pnl_percent(favorable);
        let worst = self.pnl_percent(adverse);
        if best > self.max_favorable_excursion {
            self.max_favorable_excursion = best;
        }
        if worst < self.max_adverse_excursion {
            self.max_adverse_excursion = worst;
        }
    }
}

/// Direction-aware return of `price` over `entry_price` for a position of
/// `quantity` (signed; gross, 0 without an entry price): ml4t-backtest's
/// `Position.pnl_percent`. The one copy of this formula.
pub fn return_on_entry(entry_price: f64, price: f64, quantity: f64) -> f64 {
    if entry_price == 0.0 {
        return 0.0;
    }
    let raw = (price - entry_price) / entry_price;
    if quantity >= 0.0 {
        raw
    } else {
        -raw
    }
}

/// A closed or partially closed round trip.
#[derive(Debug, Clone, PartialEq)]
pub struct Trade {
    pub asset: AssetId,
    /// When the position was opened, and when this fill closed (or reduced) it.
    pub entry_time: Timestamp,
    pub exit_time: Timestamp,
    pub entry_price: f64,
    pub exit_price: f64,
    /// Signed: positive for a long round trip, negative for a short one.
    pub quantity: f64,
    /// Net P&L after the entry and exit fees attributed to this trade.
    pub pnl: f64,
    /// Gross direction-aware return on the entry price.
    pub pnl_percent: f64,
    pub bars_held: u32,
    pub fees: f64,
    /// Per-unit slippage of the entry (average) and of the exit fill.
    pub entry_slippage: f64,
    pub exit_slippage: f64,
    pub mfe: f64,
    pub mae: f64,
    pub status: TradeStatus,
    /// Volume of the entry and exit fill bars.
    pub entry_available_size: f64,
    pub exit_available_size: f64,
    /// Entry and exit quotes; `None` when both are all NaN (read them with
    /// `entry_quote()` and `exit_quote()`). Out of line: most feeds have none.
    pub quotes: Option<Box<[Quote; 2]>>,
    pub exit_reason: ExitReason,
    /// The order whose fill closed (or reduced) the position.
    pub exit_order: OrderId,
}

impl Trade {
    /// What a trade keeps of its entry and exit quotes: nothing when all are NaN.
    pub fn boxed_quotes(entry: Quote, exit: Quote) -> Option<Box<[Quote; 2]>> {
        let none = [entry.bid, entry.ask, entry.mid, exit.bid, exit.ask, exit.mid].iter().all(|v| v.is_nan());
        (!none).then(|| Box::new([entry, exit]))
    }

    pub fn entry_quote(&self) -> Quote {
        self.quotes.as_deref().map_or(Quote::NONE, |q| q[0])
    }

    pub fn exit_quote(&self) -> Quote {
        self.quotes.as_deref().map_or(Quote::NONE, |q| q[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run keeps one Order per order and one Fill per fill (63,001 of
    /// each in the W1 benchmark): every byte here is paged in per record.
    #[test]
    fn record_sizes() {
        let sizes = [
            ("Order", std::mem::size_of::<Order>()),
            ("Fill", std::mem::size_of::<Fill>()),
            ("Trade", std::mem::size_of::<Trade>()),
            ("Position", std::mem::size_of::<Position>()),
        ];
        eprintln!("{sizes:?}");
    }
}
