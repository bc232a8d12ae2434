//! Value structs of orders, fills, positions and trades that cross the ABI.

use nl_core::{
    Fill, Order, Position, Trade,
};

/// An absent time in the value structs (times are nanoseconds since the
/// epoch, UTC; a feed without dates numbers its bars 0, 1, 2, ...).
pub const NL_NO_TIME: i64 = i64::MIN;

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NlOrder {
    pub id: u64,
    pub asset: u32,
    pub side: u32,
    pub order_type: u32,
    pub status: u32,
    pub quantity: f64,
    pub requested_quantity: f64,
    /// NaN when the order has no such price.
    pub limit_price: f64,
    pub stop_price: f64,
    pub trail_amount: f64,
    /// `NL_NO_TIME` until a stop (or stop-limit) triggers.
    pub stop_triggered_at: i64,
    pub created_at: i64,
    /// `NL_NO_TIME` until the order fills completely.
    pub filled_at: i64,
    /// NaN until the order fills.
    pub filled_price: f64,
    pub filled_quantity: f64,
    pub commission: f64,
    pub has_rejection_reason: bool,
    /// The bracket entry's id, 0 when none.
    pub parent_id: u64,
    /// A `TimeInForce` code.
    pub time_in_force: u32,
    /// A `CancelReason` code, -1 unless cancelled.
    pub cancel_reason: i32,
    /// `NL_NO_TIME` unless cancelled once the first bar opened.
    pub cancelled_at: i64,
    /// An `ExitReason` code.
    pub exit_reason: u32,
    /// True when a position rule sent the order (see `nl_engine_order_exit_detail`).
    pub has_exit_detail: bool,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NlFill {
    pub order_id: u64,
    pub asset: u32,
    pub side: u32,
    pub quantity: f64,
    pub price: f64,
    pub timestamp: i64,
    pub commission: f64,
    /// Per unit.
    pub slippage: f64,
    /// An `ExecutionPrice` code.
    pub price_source: u32,
    pub reference_price: f64,
    pub available_size: f64,
    /// Quotes of the fill bar (NaN when the feed has none).
    pub bid: f64,
    pub ask: f64,
    pub quote_mid: f64,
    pub bid_size: f64,
    pub ask_size: f64,
    /// True when the fill reduced, closed or reversed a position.
    pub is_exit: bool,
    /// An `OrderType` code.
    pub order_type: u32,
    /// NaN when the order has no such price.
    pub limit_price: f64,
    pub stop_price: f64,
    /// -1 when no stop triggered.
    pub stop_triggered_at: i64,
    /// An `ExitReason` code (meaningful when `is_exit`).
    pub exit_reason: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NlPosition {
    /// Unique per opened position.
    pub serial: u64,
    pub asset: u32,
    pub quantity: f64,
    pub entry_price: f64,
    pub entry_time: i64,
    pub bars_held: u32,
    pub entry_commission: f64,
    /// Average per-unit entry slippage.
    pub entry_slippage: f64,
    pub high_water_mark: f64,
    pub low_water_mark: f64,
    pub max_favorable_excursion: f64,
    pub max_adverse_excursion: f64,
    pub initial_quantity: f64,
    pub entry_available_size: f64,
    /// The opening fill's quotes (NaN without quotes).
    pub entry_bid: f64,
    pub entry_ask: f64,
    pub entry_mid: f64,
    /// The position's latest mark.
    pub current_price: f64,
    /// Commission-adjusted reporting basis (ml4t's `commission_adjusted_cost_basis`).
    pub cost_basis: f64,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct NlTrade {
    pub asset: u32,
    pub entry_time: i64,
    pub exit_time: i64,
    pub entry_price: f64,
    pub exit_price: f64,
    pub quantity: f64,
    pub pnl: f64,
    pub pnl_percent: f64,
    pub bars_held: u32,
    pub fees: f64,
    pub entry_slippage: f64,
    pub exit_slippage: f64,
    pub mfe: f64,
    pub mae: f64,
    /// A `TradeStatus` code.
    pub status: u32,
    pub entry_available_size: f64,
    pub exit_available_size: f64,
    /// Entry and exit fills' quotes (NaN without quotes).
    pub entry_bid: f64,
    pub entry_ask: f64,
    pub entry_mid: f64,
    pub exit_bid: f64,
    pub exit_ask: f64,
    pub exit_mid: f64,
    /// An `ExitReason` code.
    pub exit_reason: u32,
    /// The order whose fill closed or reduced the position.
    pub exit_order_id: u64,
}

impl From<&Order> for NlOrder {
    fn from(o: &Order) -> Self {
        NlOrder {
            id: o.id,
            asset: o.asset,
            side: o.side as u32,
            order_type: o.order_type as u32,
            status: o.status as u32,
            quantity: o.quantity,
            requested_quantity: o.requested_quantity,
            limit_price: o.limit_price.or_nan(),
            stop_price: o.stop_price.or_nan(),
            trail_amount: o.extras().trail_amount.or_nan(),
            stop_triggered_at: o.stop_triggered_at.or_min(),
            created_at: o.created_at,
            filled_at: o.filled_at.or_min(),
            filled_price: o.filled_price.or_nan(),
            filled_quantity: o.filled_quantity,
            commission: o.commission,
            has_rejection_reason: o.rejection_reason.is_some(),
            parent_id: o.extras().parent_id.unwrap_or(0),
            time_in_force: o.time_in_force as u32,
            cancel_reason: o.cancel_reason.map_or(-1, |r| r as i32),
            cancelled_at: o.extras().cancelled_at.or_min(),
            exit_reason: o.exit_reason as u32,
            has_exit_detail: o.extras().exit_detail.is_some(),
        }
    }
}

impl From<&Fill> for NlFill {
    fn from(f: &Fill) -> Self {
        let (quotes, trigger) = (f.quotes(), f.trigger());
        NlFill {
            order_id: f.order_id,
            asset: f.asset,
            side: f.side as u32,
            quantity: f.quantity,
            price: f.price,
            timestamp: f.timestamp,
            commission: f.commission,
            slippage: f.slippage,
            price_source: f.price_source as u32,
            reference_price: f.reference_price,
            available_size: f.available_size,
            bid: quotes.bid,
            ask: quotes.ask,
            quote_mid: quotes.mid,
            bid_size: quotes.bid_size,
            ask_size: quotes.ask_size,
            is_exit: f.is_exit,
            order_type: f.order_type as u32,
            limit_price: trigger.limit_price.or_nan(),
            stop_price: trigger.stop_price.or_nan(),
            stop_triggered_at: trigger.stop_triggered_at.or_min(),
            exit_reason: f.exit_reason as u32,
        }
    }
}

impl From<&Trade> for NlTrade {
    fn from(t: &Trade) -> Self {
        let (entry, exit) = (t.entry_quote(), t.exit_quote());
        NlTrade {
            asset: t.asset,
            entry_time: t.entry_time,
            exit_time: t.exit_time,
            entry_price: t.entry_price,
            exit_price: t.exit_price,
            quantity: t.quantity,
            pnl: t.pnl,
            pnl_percent: t.pnl_percent,
            bars_held: t.bars_held,
            fees: t.fees,
            entry_slippage: t.entry_slippage,
            exit_slippage: t.exit_slippage,
            mfe: t.mfe,
            mae: t.mae,
            status: t.status as u32,
            entry_available_size: t.entry_available_size,
            entry_bid: entry.bid,
            entry_ask: entry.ask,
            entry_mid: entry.mid,
            exit_bid: exit.bid,
            exit_ask: exit.ask,
            exit_mid: exit.mid,
            exit_reason: t.exit_reason as u32,
            exit_order_id: t.exit_order,
            exit_available_size: t.exit_available_size,
        }
    }
}

pub(crate) fn position_struct(p: &Position) -> NlPosition {
    NlPosition {
        serial: p.serial,
        asset: p.asset,
        quantity: p.quantity,
        entry_price: p.entry_price,
        entry_time: p.entry_time,
        bars_held: p.bars_held,
        entry_commission: p.entry_commission,
        entry_slippage: p.entry_slippage,
        high_water_mark: p.high_water_mark,
        low_water_mark: p.low_water_mark,
        max_favorable_excursion: p.max_favorable_excursion,
        max_adverse_excursion: p.max_adverse_excursion,
        initial_quantity: p.initial_quantity,
        entry_available_size: p.entry_available_size,
        entry_bid: p.entry_quote.bid,
        entry_ask: p.entry_quote.ask,
        entry_mid: p.entry_quote.mid,
        current_price: p.current_price,
        cost_basis: p.cost_basis,
    }
}

/// What a position is worth, as ml4t-backtest's `Position` reports it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NlPositionValues {
    /// `quantity x price x multiplier` (negative for a short); with a
    /// variation basis, `quantity x (price - basis) x multiplier`.
    pub market_value: f64,
    /// `(price - entry_price) x quantity x multiplier`.
    pub unrealized_pnl: f64,
    /// Direction-aware return of `price` over the entry price (0 when the
    /// entry price is 0).
    pub pnl_percent: f64,
    /// `|quantity| x price x multiplier`.
    pub notional_value: f64,
}

/// The values of a position of `quantity` (signed) entered at `entry_price`
/// when marked at `price` (`variation_basis` NaN: none). The Python
/// `Position` (engine-backed or built by the user) reads them here, so the
/// formulas exist once.
///
/// # Safety
/// `out` must be valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_position_values(
    quantity: f64,
    entry_price: f64,
    price: f64,
    multiplier: f64,
    variation_basis: f64,
    out: *mut NlPositionValues,
) -> crate::error::NlStatus {
    crate::error::guard(|| {
        let marked = if variation_basis.is_nan() { price } else { price - variation_basis };
        crate::handles::write(out, NlPositionValues {
            market_value: quantity * marked * multiplier,
            unrealized_pnl: nl_engine::sizing::unrealized_pnl(entry_price, price, quantity, multiplier),
            pnl_percent: nl_core::return_on_entry(entry_price, price, quantity),
            notional_value: quantity.abs() * price * multiplier,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(quantity: f64, entry: f64, price: f64, multiplier: f64, basis: f64) -> NlPositionValues {
        let mut out = NlPositionValues::default();
        assert_eq!(unsafe { nl_position_values(quantity, entry, price, multiplier, basis, &mut out) }, crate::error::NlStatus::Ok);
        out
    }

    #[test]
    fn a_long_and_a_short_valued_by_hand() {
        // 100 AAPL bought at 150, now 155: worth 15,500, up 500 = +3.33%.
        let long = values(100.0, 150.0, 155.0, 1.0, f64::NAN);
        assert_eq!((long.market_value, long.unrealized_pnl, long.notional_value), (15_500.0, 500.0, 15_500.0));
        assert!((long.pnl_percent - 5.0 / 150.0).abs() < 1e-15);
        // 2 ES contracts short at 4000 (x50), now 3990: -399,000 value, +1,000.
        let short = values(-2.0, 4000.0, 3990.0, 50.0, f64::NAN);
        assert_eq!((short.market_value, short.unrealized_pnl, short.notional_value), (-399_000.0, 1_000.0, 399_000.0));
        assert!((short.pnl_percent - 10.0 / 4000.0).abs() < 1e-15);
        // With a variation basis of 3995 the short's market value is -2 x -5 x 50.
        assert_eq!(values(-2.0, 4000.0, 3990.0, 50.0, 3995.0).market_value, 500.0);
        assert_eq!(values(1.0, 0.0, 5.0, 1.0, f64::NAN).pnl_percent, 0.0);
    }
}
