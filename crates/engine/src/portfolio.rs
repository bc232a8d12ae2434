//! Cash, positions and round-trip trades, updated fill by fill.

use nl_core::{AssetId, BarIndex, Fill, Position, Trade, QTY_EPSILON};

/// Cash plus one optional position per asset.
#[derive(Debug, Clone)]
pub struct Portfolio {
    pub cash: f64,
    positions: Vec<Option<Position>>,
    trades: Vec<Trade>,
}

impl Portfolio {
    pub fn new(initial_cash: f64, n_assets: usize) -> Self {
        Self { cash: initial_cash, positions: vec![None; n_assets], trades: Vec::new() }
    }

    pub fn position(&self, asset: AssetId) -> Option<&Position> {
        self.positions.get(asset as usize).and_then(|p| p.as_ref())
    }

    /// Signed quantity held in `asset` (0 when flat).
    pub fn quantity(&self, asset: AssetId) -> f64 {
        self.position(asset).map_or(0.0, |p| p.quantity)
    }

    pub fn positions(&self) -> impl Iterator<Item = &Position> {
        self.positions.iter().flatten()
    }

    pub fn trades(&self) -> &[Trade] {
        &self.trades
    }

    /// Sum of signed quantity times `price(asset)` over open positions.
    pub fn market_value(&self, price: impl Fn(AssetId) -> f64) -> f64 {
        self.positions().map(|p| p.quantity * price(p.asset)).sum()
    }

    /// Applies a fill to cash and the position, closing trades where it reduces one.
    pub fn apply_fill(&mut self, fill: &Fill) {
        let signed = fill.side.sign() * fill.quantity;
        self.cash -= signed * fill.price + fill.commission;
        let slot = &mut self.positions[fill.asset as usize];
        let Some(pos) = slot.as_mut() else {
            *slot = Some(open_position(fill, signed, fill.quantity, fill.commission, fill.slippage));
            return;
        };
        if pos.quantity * signed > 0.0 {
            // Adding to the position: average the entry price, accumulate costs.
            let held = pos.quantity.abs();
            pos.entry_price = (held * pos.entry_price + fill.quantity * fill.price) / (held + fill.quantity);
            pos.quantity += signed;
            pos.entry_commission += fill.commission;
            pos.entry_slippage += fill.slippage;
            return;
        }
        // Reducing, closing or flipping.
        let held = pos.quantity.abs();
        let closed = fill.quantity.min(held);
        let close_share = closed / fill.quantity;
        let entry_share = closed / held;
        let direction = pos.quantity.signum();
        let entry_fees = pos.entry_commission * entry_share;
        let entry_slip = pos.entry_slippage * entry_share;
        let exit_fees = fill.commission * close_share;
        let gross = (fill.price - pos.entry_price) * closed * direction;
        let fees = entry_fees + exit_fees;
        self.trades.push(Trade {
            asset: fill.asset,
            entry_bar: pos.entry_bar,
            exit_bar: fill.bar,
            entry_price: pos.entry_price,
            exit_price: fill.price,
            quantity: closed * direction,
            pnl: gross - fees,
            pnl_percent: (fill.price - pos.entry_price) / pos.entry_price * direction,
            bars_held: pos.bars_held,
            fees,
            entry_slippage: entry_slip,
            exit_slippage: fill.slippage * close_share,
            mfe: pos.max_favorable_excursion,
            mae: pos.max_adverse_excursion,
        });
        let remaining = held - closed;
        if remaining > QTY_EPSILON {
            pos.quantity = remaining * direction;
            pos.entry_commission -= entry_fees;
            pos.entry_slippage -= entry_slip;
            return;
        }
        let flip = fill.quantity - closed;
        *slot = if flip > QTY_EPSILON {
            let share = flip / fill.quantity;
            Some(open_position(fill, -direction * flip, flip, fill.commission * share, fill.slippage * share))
        } else {
            None
        };
    }

    /// Updates water marks and excursions of every open position from a bar's prices.
    pub fn mark(&mut self, asset: AssetId, high: f64, low: f64) {
        if let Some(pos) = self.positions[asset as usize].as_mut() {
            pos.high_water_mark = pos.high_water_mark.max(high);
            pos.low_water_mark = pos.low_water_mark.min(low);
            let (fav, adv) = if pos.quantity > 0.0 { (high, low) } else { (low, high) };
            let dir = pos.quantity.signum();
            pos.max_favorable_excursion =
                pos.max_favorable_excursion.max((fav - pos.entry_price) / pos.entry_price * dir);
            pos.max_adverse_excursion =
                pos.max_adverse_excursion.min((adv - pos.entry_price) / pos.entry_price * dir);
        }
    }

    /// Counts one more bar held for every open position.
    pub fn age_positions(&mut self) {
        for p in self.positions.iter_mut().flatten() {
            p.bars_held += 1;
        }
    }
}

fn open_position(fill: &Fill, signed: f64, qty: f64, commission: f64, slippage: f64) -> Position {
    let _ = qty;
    Position {
        asset: fill.asset,
        quantity: signed,
        entry_price: fill.price,
        entry_bar: fill.bar as BarIndex,
        entry_commission: commission,
        entry_slippage: slippage,
        bars_held: 0,
        high_water_mark: fill.price,
        low_water_mark: fill.price,
        max_favorable_excursion: 0.0,
        max_adverse_excursion: 0.0,
        initial_quantity: signed,
    }
}
