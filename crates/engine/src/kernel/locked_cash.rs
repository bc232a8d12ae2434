//! Locked short collateral (LOCK_NOTIONAL) as fills and checks use it.

use nl_core::Refusal;
use nl_core::{AssetId, EngineResult, Fill, OrderId, OrderSide, ShareType};
use crate::account::{OrderEffect, ShortCashPolicy};
use crate::kernel::Engine;

impl Engine {
    /// Whether the account locks short notional (LOCK_NOTIONAL without leverage).
    pub(crate) fn locks_short_notional(&self) -> bool {
        self.cfg.short_cash_policy == ShortCashPolicy::LockNotional && !self.cfg.allow_leverage
    }

    /// What a reversal of `held` in `asset` is checked against before its
    /// close: the cash, or with locked shorts the free cash plus the locked
    /// collateral of a short (twice its entry notional; the close then pays
    /// the cover as usual).
    pub(crate) fn reversal_cash(&self, asset: AssetId, held: f64) -> f64 {
        if !self.locks_short_notional() {
            return self.portfolio.cash;
        }
        let free = self.locked_cash.free_cash();
        match self.portfolio.position(asset) {
            Some(p) if held < 0.0 => free + 2.0 * held.abs() * p.entry_price * self.multiplier(asset),
            _ => free,
        }
    }

    /// With locked shorts and no commission or buffer for this order at
    /// `price`: the most it can fill, from free cash directly.
    pub(crate) fn locked_zero_cost_limit(&self, id: OrderId, held: f64, quantity: f64, price: f64) -> EngineResult<Option<f64>> {
        if !self.locks_short_notional() || self.cfg.cash_buffer_pct != 0.0 {
            return Ok(None);
        }
        let o = &self.book[id];
        if self.cfg.commission.commission(&self.commission_query(o, quantity, price))? != 0.0 {
            return Ok(None);
        }
        let unit_cost = price * self.multiplier(o.asset);
        Ok(Some(self.locked_cash.zero_cost_limit(o.asset, o.side, held, unit_cost)))
    }

    /// Whether order `id` covers (part of) a locked short.
    pub(crate) fn covers_locked_short(&self, id: OrderId, held: f64) -> bool {
        self.locks_short_notional() && held < 0.0 && self.book[id].side == OrderSide::Buy
    }

    /// Sizes order `id` (`quantity` against `held`, at `price`) by free cash
    /// before anything else checks it, as ml4t does under LOCK_NOTIONAL: a
    /// short cover (any cover when filling immediately) is cut to what free
    /// cash affords, and so is a reversal in a matching pass. Cut orders
    /// without `partial_fills_allowed` (or with nothing affordable) are
    /// REJECTED, whatever `reject_on_insufficient_cash` says. Returns the
    /// quantity to go on with, or `None` when the order was rejected.
    /// `effect` is the order's as it came to this pass (a reversal the open
    /// cash check cut to its closing leg is still sized as a reversal).
    pub(crate) fn size_by_locked_cash(&mut self, id: OrderId, held: f64, quantity: f64, price: f64,
                                      effect: OrderEffect) -> EngineResult<Option<f64>> {
        let reason = if self.covers_locked_short(id, held) && (effect == OrderEffect::Exit || self.filling_immediately) {
            Refusal::InsufficientCashToCoverShort
        } else if effect == OrderEffect::Reversal && !self.filling_immediately
            && self.cfg.short_cash_policy == ShortCashPolicy::LockNotional {
            Refusal::InsufficientLockedCashForReversal
        } else {
            return Ok(Some(quantity));
        };
        let mut affordable = self.max_affordable(id, held, quantity, price)?;
        if self.cfg.share_type == ShareType::Integer {
            affordable = affordable.trunc();
        }
        if affordable >= quantity {
            return Ok(Some(quantity));
        }
        if affordable <= 0.0 || !self.cfg.partial_fills_allowed {
            self.reject(id, reason);
            return Ok(None);
        }
        let o = &mut self.book[id];
        o.quantity = affordable;
        // The cut quantity is the whole order now (no remainder to restore).
        o.partial_remainder = None;
        Ok(Some(affordable))
    }

    /// Why order `id`, a locked-short cover of `quantity` that slippage or
    /// impact moved to `price`, cannot fill there, if it cannot.
    pub(crate) fn locked_cover_rejection(&self, id: OrderId, held: f64, quantity: f64, price: f64) -> EngineResult<Option<Refusal>> {
        if !self.covers_locked_short(id, held) || self.max_affordable(id, held, quantity, price)? >= quantity {
            return Ok(None);
        }
        Ok(Some(Refusal::InsufficientCashToCoverShortAtFinalPrice))
    }

    /// Books `fill` (which met the position `held`) in the free-cash ledger;
    /// `quoted` is the commission the model quoted for it. A fractional
    /// reversal that costs nothing opens only what free cash pays for after
    /// the close (ml4t sets the new position's size so; the fill and cash
    /// keep the order's quantity).
    pub(crate) fn book_locked_cash(&mut self, fill: &Fill, held: f64, quoted: f64) {
        if !self.locks_short_notional() {
            return;
        }
        let asset = fill.asset;
        let multiplier = self.multiplier(asset);
        let signed = fill.side.sign() * fill.quantity;
        let reversed = self.portfolio.position(asset).map(|p| p.quantity).filter(|&q| q * held < 0.0);
        let reversed_into = reversed.map(|q| match self.reversal_size(fill, held, quoted) {
            Some(size) => {
                self.portfolio.resize_reversed(asset, size);
                size
            }
            None => q,
        });
        self.locked_cash.book(asset, held, signed, fill.price, multiplier, reversed_into, fill.commission);
    }

    /// The size (signed) of the position a reversal opens, when free cash
    /// rather than the fill decides it: fractional shares, no commission,
    /// no buffer. The order's submitted size caps it.
    fn reversal_size(&self, fill: &Fill, held: f64, quoted: f64) -> Option<f64> {
        if self.cfg.share_type != ShareType::Fractional || self.cfg.cash_buffer_pct != 0.0 || quoted != 0.0 {
            return None;
        }
        let o = &self.book[fill.order_id];
        let unit_cost = fill.price * self.multiplier(fill.asset);
        let requested = if fill.quantity == o.quantity {
            if o.requested_quantity != 0.0 { o.requested_quantity } else { o.quantity }
        } else {
            fill.quantity
        };
        let wanted = requested.abs() - held.abs();
        let affordable = (self.locked_cash.free_after_close(fill.asset, held, unit_cost) / unit_cost).max(0.0);
        Some(wanted.min(affordable).copysign(fill.side.sign()))
    }

    /// The part of `asset`'s locked short basis a cover of `covered` out of
    /// `held` (< 0) releases (0 without locked shorts).
    pub(crate) fn released_short_basis(&self, asset: AssetId, covered: f64, held: f64) -> f64 {
        if held == 0.0 {
            return 0.0;
        }
        covered / held.abs() * self.locked_cash.short_basis(asset)
    }
}
