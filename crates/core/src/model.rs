//! Orders, fills, positions and round-trip trades as plain values.

use crate::{AssetId, BarIndex, OrderId, OrderSide, OrderStatus, OrderType};

/// An order as the book holds it. `quantity` is unsigned; `side` gives direction.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: OrderId,
    pub asset: AssetId,
    pub side: OrderSide,
    pub order_type: OrderType,
    pub quantity: f64,
    pub limit_price: Option<f64>,
    pub stop_price: Option<f64>,
    pub status: OrderStatus,
    pub created_bar: BarIndex,
    pub filled_bar: Option<BarIndex>,
    pub filled_price: Option<f64>,
    pub filled_quantity: f64,
    pub commission: f64,
    pub rejection_reason: Option<String>,
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
    pub bar: BarIndex,
    pub commission: f64,
    /// Total slippage cost of this fill in currency (always >= 0).
    pub slippage: f64,
}

/// An open position. `quantity` is signed: positive long, negative short.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub asset: AssetId,
    pub quantity: f64,
    /// Quantity-weighted average entry price of the open quantity.
    pub entry_price: f64,
    pub entry_bar: BarIndex,
    /// Commission paid on entry fills not yet attributed to a closed trade.
    pub entry_commission: f64,
    /// Slippage cost of entry fills not yet attributed to a closed trade.
    pub entry_slippage: f64,
    /// Bars this position has been open (incremented once per bar the engine steps).
    pub bars_held: u32,
    pub high_water_mark: f64,
    pub low_water_mark: f64,
    /// Largest favourable / adverse price move since entry, as a return on entry price.
    pub max_favorable_excursion: f64,
    pub max_adverse_excursion: f64,
    pub initial_quantity: f64,
}

/// A closed (or partially closed) round trip.
#[derive(Debug, Clone, PartialEq)]
pub struct Trade {
    pub asset: AssetId,
    pub entry_bar: BarIndex,
    pub exit_bar: BarIndex,
    pub entry_price: f64,
    pub exit_price: f64,
    /// Signed: positive for a long round trip, negative for a short one.
    pub quantity: f64,
    /// Net P&L after entry and exit fees.
    pub pnl: f64,
    pub pnl_percent: f64,
    pub bars_held: u32,
    pub fees: f64,
    pub entry_slippage: f64,
    pub exit_slippage: f64,
    pub mfe: f64,
    pub mae: f64,
}
