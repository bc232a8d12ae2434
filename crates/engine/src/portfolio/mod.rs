//! Cash, positions and round-trip trades, updated fill by fill.
//!
//! The arithmetic follows ml4t-backtest's operation order exactly (e.g. cash
//! moves by `(-signed_qty * price) - commission`), so results agree to the bit.

use std::collections::HashMap;

use nl_core::{push_record, AssetId, Fill, Position, Trade, TradeStatus};

/// Cash plus at most one position per asset.
#[derive(Debug, Clone)]
pub struct Portfolio {
    pub cash: f64,
    positions: Vec<Option<Position>>,
    /// Assets with an open position, in the order the positions were opened
    /// (a reversal keeps its slot). Equity sums positions in this order.
    open_order: Vec<AssetId>,
    trades: Vec<Trade>,
    /// Serial of the last opened position.
    last_serial: u64,
    /// By serial - 1: how many views of the position are held (see
    /// `keep_when_closed` and `release`).
    kept: Vec<u32>,
    /// The kept positions that were closed (or reversed), by serial, as each
    /// stood just before the fill that ended it (what a view of it keeps
    /// showing). Only while a view is held: a copy of every position would
    /// cost a Position per round trip.
    closed: HashMap<u64, Position>,
    /// Contract multiplier (point value) per asset: 1 for equities.
    multipliers: Vec<f64>,
}

/// True when `qty` is zero up to rounding noise of the quantities involved.
pub(crate) fn is_flat(qty: f64, scale: f64) -> bool {
    let ulp = |x: f64| f64::from_bits(x.abs().to_bits() + 1) - x.abs();
    qty.abs() <= (16.0 * ulp(scale)).max(1e-12)
}

/// Cash, positions and the trade count as a strategy callback found them
/// (kernel/savepoint.rs). Serials and position views are not rolled back:
/// a serial handed out stays used.
#[derive(Debug, Clone)]
pub(crate) struct PortfolioSavepoint {
    cash: f64,
    positions: Vec<Option<Position>>,
    open_order: Vec<AssetId>,
    trades_len: usize,
}

impl Portfolio {
    pub(crate) fn savepoint(&self) -> PortfolioSavepoint {
        PortfolioSavepoint {
            cash: self.cash,
            positions: self.positions.clone(),
            open_order: self.open_order.clone(),
            trades_len: self.trades.len(),
        }
    }

    pub(crate) fn restore(&mut self, sp: PortfolioSavepoint) {
        self.cash = sp.cash;
        self.positions = sp.positions;
        self.open_order = sp.open_order;
        self.trades.truncate(sp.trades_len);
    }
}

impl Portfolio {
    pub fn new(initial_cash: f64, n_assets: usize) -> Self {
        Self {
            cash: initial_cash,
            positions: vec![None; n_assets],
            open_order: Vec::new(),
            trades: Vec::new(),
            last_serial: 0,
            kept: Vec::new(),
            closed: HashMap::new(),
            multipliers: vec![1.0; n_assets],
        }
    }

    /// Makes room for `n` more assets (flat, multiplier 1).
    pub fn add_assets(&mut self, n: usize) {
        self.positions.resize(self.positions.len() + n, None);
        self.multipliers.resize(self.multipliers.len() + n, 1.0);
    }

    /// Sets `asset`'s contract multiplier (cash, P&L and values scale by it).
    pub fn set_multiplier(&mut self, asset: AssetId, multiplier: f64) {
        self.multipliers[asset as usize] = multiplier;
    }

    pub fn multiplier(&self, asset: AssetId) -> f64 {
        self.multipliers.get(asset as usize).copied().unwrap_or(1.0)
    }

    pub fn position(&self, asset: AssetId) -> Option<&Position> {
        self.positions.get(asset as usize).and_then(|p| p.as_ref())
    }

    /// Signed quantity held in `asset` (0 when flat).
    pub fn quantity(&self, asset: AssetId) -> f64 {
        self.position(asset).map_or(0.0, |p| p.quantity)
    }

    /// Open positions in the order they were opened.
    pub fn positions(&self) -> impl Iterator<Item = &Position> {
        self.open_order.iter().filter_map(|&a| self.positions[a as usize].as_ref())
    }

    pub fn trades(&self) -> &[Trade] {
        &self.trades
    }

    /// A closed or reversed position that was kept (`keep_when_closed`), as
    /// it was just before the fill that ended it.
    pub fn closed_position(&self, serial: u64) -> Option<&Position> {
        self.closed.get(&serial)
    }

    /// Keeps position `serial` for `closed_position` once it is closed or
    /// reversed, for one more view of it: the view then shows its last state.
    /// False when no position with that serial was opened yet.
    pub fn keep_when_closed(&mut self, serial: u64) -> bool {
        match serial.checked_sub(1).and_then(|i| self.kept.get_mut(i as usize)) {
            Some(views) => {
                *views += 1;
                true
            }
            None => false,
        }
    }

    /// One view of position `serial` is gone (`keep_when_closed` undone);
    /// with none left its closed copy is dropped. False when it was not kept.
    pub fn release(&mut self, serial: u64) -> bool {
        match serial.checked_sub(1).and_then(|i| self.kept.get_mut(i as usize)) {
            Some(views) if *views > 0 => {
                *views -= 1;
                if *views == 0 {
                    self.closed.remove(&serial);
                }
                true
            }
            _ => false,
        }
    }

    /// Net (signed) and gross (absolute) position value at `mark`, each summed in
    /// opening order: `cash + net` is `equity(mark)` to the bit.
    pub fn exposures(&self, mark: impl Fn(AssetId) -> f64) -> (f64, f64) {
        self.positions().fold((0.0, 0.0), |(net, gross), p| {
            let value = p.quantity * mark(p.asset) * self.multiplier(p.asset);
            (net + value, gross + value.abs())
        })
    }

    /// Cash plus every position's `quantity * mark(asset)`, summed in opening order.
    pub fn equity(&self, mark: impl Fn(AssetId) -> f64) -> f64 {
        let net: f64 = self.positions().fold(0.0, |acc, p| acc + p.quantity * mark(p.asset) * self.multiplier(p.asset));
        self.cash + net
    }

    /// `equity` summed the way ml4t-backtest's `get_account_value` does (each
    /// position added to the cash in turn; its recorded equity adds the
    /// positions' total instead). Sizing from it then rounds the same way.
    pub fn account_value(&self, mark: impl Fn(AssetId) -> f64) -> f64 {
        self.positions().fold(self.cash, |acc, p| acc + p.quantity * mark(p.asset) * self.multiplier(p.asset))
    }

    /// Whether a fill of `signed` (signed quantity) would close `asset`'s
    /// position and open the opposite one (a residue within rounding noise of
    /// zero closes it flat instead).
    pub fn reverses(&self, asset: AssetId, signed: f64) -> bool {
        match &self.positions[asset as usize] {
            Some(pos) => {
                let (old, new) = (pos.quantity, pos.quantity + signed);
                old * signed < 0.0 && new * old < 0.0 && !is_flat(new, old.abs().max(signed.abs()))
            }
            None => false,
        }
    }

    /// Applies a fill to cash and the position, recording a trade when it
    /// reduces, closes or reverses the position. `quoted` is the commission the model quoted; it equals
    /// `fill.commission` except for a reversal, where the fill pays the sum of
    /// the close and open shares split from `quoted` (ml4t-backtest's
    /// arithmetic, which can differ from `quoted` in the last bit).
    pub fn apply_fill(&mut self, fill: &Fill, quoted: f64) {
        let (p, c, s) = (fill.price, fill.commission, fill.slippage);
        let signed = fill.side.sign() * fill.quantity;
        let asset = fill.asset;
        let m = self.multiplier(asset);
        self.cash += (-signed * p * m) - c;
        let Some(pos) = self.positions[asset as usize].as_mut() else {
            self.last_serial += 1;
            self.kept.push(0);
            self.positions[asset as usize] = Some(new_position(fill, signed, c, c, m, self.last_serial));
            self.open_order.push(asset);
            return;
        };
        let old = pos.quantity;
        let new = old + signed;
        // A remainder within rounding noise of zero closes the position, even
        // when the fill adds to it (ml4t-backtest checks flat first).
        if is_flat(new, old.abs().max(fill.quantity)) {
            retire(&self.kept, &mut self.closed, pos);
            let fees = pos.entry_commission + c;
            let trade = closed_trade(pos, old, fill, fees, TradeStatus::Closed, m);
            push_record(&mut self.trades, trade);
            self.positions[asset as usize] = None;
            // Each asset is in `open_order` once; later ones keep their order.
            if let Some(i) = self.open_order.iter().position(|&a| a == asset) {
                self.open_order.remove(i);
            }
        } else if new * old > 0.0 && new.abs() == old.abs() {
            // The fill is below the position's float resolution: the size does
            // not change, and (as in ml4t-backtest) neither do its costs.
            pos.quantity = new;
            pos.current_price = p;
        } else if old * signed > 0.0 || old == 0.0 {
            // Adding (or filling a zero-size position a locked-collateral
            // reversal left, as ml4t does): average entry price and per-unit
            // entry slippage.
            pos.entry_price = (pos.entry_price * old.abs() + p * fill.quantity) / new.abs();
            pos.cost_basis = (pos.cost_basis * old.abs() + p * fill.quantity) / new.abs() + c / (new * m);
            pos.entry_slippage = (pos.entry_slippage * old.abs() + s * fill.quantity) / new.abs();
            pos.entry_commission += c;
            pos.quantity = new;
            // A fill marks the position at its price until the next mark.
            pos.current_price = p;
        } else if new * old > 0.0 {
            // Reducing: attribute the entry commission pro rata.
            let exited = old.abs() - new.abs();
            let alloc = pos.entry_commission * (exited / old.abs());
            pos.entry_commission -= alloc;
            let trade = closed_trade(pos, exited.copysign(old), fill, alloc + c, TradeStatus::Partial, m);
            pos.quantity = new;
            pos.cost_basis += c / (new * m);
            pos.current_price = p;
            push_record(&mut self.trades, trade);
        } else {
            // Reversal: one fill closes the old position and opens the opposite one;
            // its commission is split by the closed share of the fill.
            retire(&self.kept, &mut self.closed, pos);
            let (close_c, open_c) = reversal_split(quoted, old, fill.quantity);
            let fees = pos.entry_commission + close_c;
            let trade = closed_trade(pos, old, fill, fees, TradeStatus::Closed, m);
            push_record(&mut self.trades, trade);
            self.last_serial += 1;
            self.kept.push(0);
            // The reporting basis takes the whole reversal fee (ml4t's rule).
            *pos = new_position(fill, new, open_c, c, m, self.last_serial);
        }
    }

    /// Sets the size of the position a reversal just opened (locked short
    /// collateral can cap it below the fill's opening part).
    pub fn resize_reversed(&mut self, asset: AssetId, quantity: f64) {
        if let Some(pos) = self.positions[asset as usize].as_mut() {
            pos.quantity = quantity;
            pos.initial_quantity = quantity;
        }
    }

    /// Marks `asset`'s position (if any) at `price` without touching water marks.
    pub fn mark(&mut self, asset: AssetId, price: f64) {
        if let Some(pos) = self.positions[asset as usize].as_mut() {
            pos.current_price = price;
        }
    }

    /// Marks every open position whose asset `price` gives a price for.
    pub fn mark_open(&mut self, price: impl Fn(AssetId) -> Option<f64>) {
        for &asset in &self.open_order {
            if let (Some(p), Some(pos)) = (price(asset), self.positions[asset as usize].as_mut()) {
                pos.current_price = p;
            }
        }
    }

    /// `update_water_marks` of every open position `bar` gives a close (and
    /// maybe a range) for.
    pub fn update_open_water_marks(&mut self, bar: impl Fn(&Position) -> Option<(f64, Option<(f64, f64)>)>) {
        for i in 0..self.open_order.len() {
            let asset = self.open_order[i];
            let Some(pos) = self.positions[asset as usize].as_ref() else { continue };
            if let Some((close, range)) = bar(pos) {
                self.update_water_marks(asset, close, range);
            }
        }
    }

    /// End-of-bar update from the close: mark, water marks, excursions.
    pub fn update_water_marks(&mut self, asset: AssetId, close: f64, extremes: Option<(f64, f64)>) {
        if let Some(pos) = self.positions[asset as usize].as_mut() {
            // With `extremes` (high, low) the marks and excursions follow the
            // bar's range instead of its close (WaterMarkSource::BarExtreme).
            let (up, down) = extremes.unwrap_or((close, close));
            pos.update_water_marks(close, up, down);
        }
    }

    /// Sets a just-opened position's starting water marks.
    pub fn set_water_marks(&mut self, asset: AssetId, high: f64, low: f64) {
        if let Some(pos) = self.positions[asset as usize].as_mut() {
            pos.high_water_mark = high;
            pos.low_water_mark = low;
        }
    }

    /// Sets `asset`'s position to `pos` by hand, cash untouched (a standalone
    /// broker's `positions[asset] = Position(...)`, as ml4t-backtest allows).
    /// It is a new position (new serial); the one it replaces ends without a
    /// trade. A zero quantity leaves the asset flat.
    pub fn put_position(&mut self, asset: AssetId, mut pos: Position) {
        self.remove_position(asset);
        if pos.quantity == 0.0 {
            return;
        }
        self.last_serial += 1;
        self.kept.push(0);
        pos.serial = self.last_serial;
        pos.asset = asset;
        self.positions[asset as usize] = Some(pos);
        self.open_order.push(asset);
    }

    /// Drops `asset`'s position without a fill or a trade, cash untouched
    /// (a standalone broker's `del positions[asset]`). False when flat.
    pub fn remove_position(&mut self, asset: AssetId) -> bool {
        let Some(pos) = self.positions[asset as usize].take() else { return false };
        retire(&self.kept, &mut self.closed, &pos);
        if let Some(i) = self.open_order.iter().position(|&a| a == asset) {
            self.open_order.remove(i);
        }
        true
    }

    /// Counts one more bar held for every open position.
    pub fn age_positions(&mut self) {
        for &asset in &self.open_order {
            if let Some(p) = self.positions[asset as usize].as_mut() {
                p.bars_held += 1;
            }
        }
    }
}

/// Records `pos`, which a fill is about to close or reverse, when it was kept.
fn retire(kept: &[u32], closed: &mut HashMap<u64, Position>, pos: &Position) {
    if kept.get((pos.serial - 1) as usize).is_some_and(|&views| views > 0) {
        closed.insert(pos.serial, pos.clone());
    }
}

/// A position opened by `fill` for `signed` units: `commission` is its entry
/// commission, `basis_fee` the fee its reporting basis spreads (a reversal's
/// whole fee), `multiplier` the asset's.
fn new_position(fill: &Fill, signed: f64, commission: f64, basis_fee: f64, multiplier: f64, serial: u64) -> Position {
    Position {
        serial,
        asset: fill.asset,
        quantity: signed,
        entry_price: fill.price,
        entry_time: fill.timestamp,
        current_price: fill.price,
        entry_commission: commission,
        entry_slippage: fill.slippage,
        bars_held: 0,
        high_water_mark: fill.price,
        low_water_mark: fill.price,
        max_favorable_excursion: 0.0,
        max_adverse_excursion: 0.0,
        initial_quantity: signed,
        entry_available_size: fill.available_size,
        entry_quote: fill.quotes().quote(),
        signal_price: fill.signal_price,
        cost_basis: fill.price + basis_fee / (signed * multiplier),
    }
}

/// The price gain of `signed_quantity` bought at `entry_price` and sold at
/// `exit_price` (shorts: negative quantity), before fees: the exit notional
/// minus the entry notional, in that order, as the ledger books them (ml4t's
/// operation order, so trade PnL and cash agree to the last bit).
pub fn position_pnl(entry_price: f64, exit_price: f64, signed_quantity: f64, multiplier: f64) -> f64 {
    (exit_price * signed_quantity - entry_price * signed_quantity) * multiplier
}

/// The trade for `qty` (signed) of `pos` leaving at the fill's price.
fn closed_trade(pos: &Position, qty: f64, fill: &Fill, fees: f64, status: TradeStatus, multiplier: f64) -> Trade {
    let (e, x) = (pos.entry_price, fill.price);
    Trade {
        asset: pos.asset,
        entry_time: pos.entry_time,
        exit_time: fill.timestamp,
        entry_price: e,
        exit_price: x,
        quantity: qty,
        pnl: position_pnl(e, x, qty, multiplier) - fees,
        pnl_percent: pos.pnl_percent(x),
        bars_held: pos.bars_held,
        fees,
        entry_slippage: pos.entry_slippage,
        exit_slippage: fill.slippage,
        mfe: pos.max_favorable_excursion,
        mae: pos.max_adverse_excursion,
        status,
        entry_available_size: pos.entry_available_size,
        exit_available_size: fill.available_size,
        quotes: Trade::boxed_quotes(pos.entry_quote, fill.quotes().quote()),
        exit_reason: fill.exit_reason,
        exit_order: fill.order_id,
    }
}

/// A reversal's commission split: the closing share (by quantity) and the rest.
pub fn reversal_split(commission: f64, held: f64, fill_quantity: f64) -> (f64, f64) {
    let close = commission * held.abs() / fill_quantity;
    (close, commission - close)
}
