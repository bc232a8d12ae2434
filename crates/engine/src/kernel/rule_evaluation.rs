//! Position rules at the start of a bar: deferred (next-open) rule exits are
//! sent and filled first, then every rule-governed position is evaluated on
//! this bar's OHLC and triggered rules send market exits that fill in this
//! bar's first pass at the rule's price (ml4t-backtest's order of steps).

use nl_core::{AssetId, BarIndex, EngineResult, ExecutionMode, OrderSide, OrderType, StopLevelBasis};
use crate::kernel::{DeferredExit, Engine, OrderRequest, SubmitOutcome};
use crate::venue::sim::triggers::MatchPoint;
use crate::rules::{RuleAction, RuleSettings, RuleState};
use crate::rules::evaluation::*;

impl Engine {
    /// Sends the exits deferred to this bar's open and fills them at it.
    /// Exits whose position is gone are dropped; assets without a bar wait.
    pub(crate) fn release_deferred_exits(&mut self, b: BarIndex) -> EngineResult<()> {
        if self.deferred_exits.is_empty() {
            return Ok(());
        }
        let mut sent = Vec::new();
        let mut enforced_assets = Vec::new();
        let pending = std::mem::take(&mut self.deferred_exits);
        for mut exit in pending {
            let held = self.portfolio.quantity(exit.asset);
            if held == 0.0 {
                continue;
            }
            if exit.enforced {
                // The position may have changed while the asset had no bar: never
                // sell more than is held, nor anything once it changed side.
                if held * exit.quantity <= 0.0 {
                    continue;
                }
                exit.quantity = exit.quantity.abs().min(held.abs()).copysign(held);
            }
            let Some(row) = self.row_in_bar(b, exit.asset) else {
                self.deferred_exits.push(exit);
                continue;
            };
            let open = self.market.bar_at(row).open;
            if let Some(id) = self.submit_rule_exit(exit.asset, exit.quantity, exit.reason, exit.detail, Some(open), exit.enforced)? {
                sent.push(id);
                if exit.enforced {
                    enforced_assets.push(exit.asset);
                }
            }
        }
        if sent.is_empty() {
            return Ok(());
        }
        // ml4t matches them "at the open"; in SAME_BAR mode that pass prices and
        // labels like the bar's execution pass but marks as an open-time pass
        // (the fill price is the open either way).
        let at = match self.cfg.execution_mode {
            ExecutionMode::NextBar => MatchPoint::Open,
            ExecutionMode::SameBar => MatchPoint::SameBarOpen,
        };
        self.match_pending_among(b, at, Some(&sent))?;
        for asset in enforced_assets {
            self.fit_exits_to_position(asset);
        }
        Ok(())
    }

    /// After the engine cut `asset`'s position: its working exit orders
    /// (protective stops, targets) shrink to what is still held, so none can
    /// reverse the position; with nothing held they are cancelled.
    fn fit_exits_to_position(&mut self, asset: AssetId) {
        let held = self.portfolio.quantity(asset);
        let is_exit = |o: &nl_core::Order| o.asset == asset && o.side.sign() * held < 0.0;
        if held == 0.0 {
            return self.cancel_pending_where(nl_core::CancelReason::PortfolioLimit, |o| o.asset == asset);
        }
        for i in 0..self.book.pending_ids().len() {
            let id = self.book.pending_ids()[i];
            let o = &self.book[id];
            if o.status == nl_core::OrderStatus::Pending && is_exit(o) && o.quantity > held.abs() {
                if self.execution_client.is_some() {
                    // At a venue the smaller size is a request; a send that
                    // fails leaves the order as the venue has it.
                    let smaller = nl_core::Order { quantity: held.abs(), ..o.clone() };
                    if self.request_modify(&smaller).is_err() {
                        continue;
                    }
                }
                self.book[id].quantity = held.abs();
            }
        }
    }

    /// Evaluates the rules of every open position with a bar now (in the
    /// order positions were opened) and sends the exits they trigger.
    pub(crate) fn evaluate_position_rules(&mut self, b: BarIndex) -> EngineResult<()> {
        if self.rules.is_none() && self.rules_by_asset.is_empty() {
            return Ok(());
        }
        let settings = RuleSettings { fill_mode: self.cfg.stop_fill_mode, trail_timing: self.cfg.trail_stop_timing };
        let assets: Vec<AssetId> = self.portfolio.positions().map(|p| p.asset).collect();
        for asset in assets {
            let Some(row) = self.row_in_bar(b, asset) else { continue };
            let Some(pos) = self.portfolio.position(asset) else { continue };
            let bar = self.market.bar_at(row);
            let use_signal = self.cfg.stop_level_basis == StopLevelBasis::SignalPrice && !pos.signal_price.is_nan();
            let state = RuleState {
                asset,
                serial: pos.serial,
                timestamp: self.market.timestamp(b),
                is_long: pos.quantity > 0.0,
                entry_price: pos.entry_price,
                quantity: pos.quantity,
                initial_quantity: pos.initial_quantity,
                entry_time: pos.entry_time,
                max_favorable_excursion: pos.max_favorable_excursion,
                max_adverse_excursion: pos.max_adverse_excursion,
                base_price: if use_signal { pos.signal_price } else { pos.entry_price },
                open: bar.open,
                high: bar.high,
                low: bar.low,
                close: bar.close,
                bars_held: pos.bars_held,
                high_water_mark: pos.high_water_mark,
                low_water_mark: pos.low_water_mark,
            };
            let held = pos.quantity;
            // At a venue a rule's exit may still be working (its fill not yet
            // reported): the rule does not fire again meanwhile.
            if self.execution_client.is_some()
                && self.book.pending().any(|o| o.asset == asset && o.exit_reason != nl_core::ExitReason::Signal) {
                continue;
            }
            let Some(rule) = rule_for(&self.rules, &self.rules_by_asset, asset) else { continue };
            let RuleAction::Exit { reason, detail, fill_price, defer, fraction } =
                rule.evaluate(&state, settings, &mut self.rule_memory)?
            else {
                continue;
            };
            let full = fraction.is_none();
            // A partial exit closes `fraction` of the position (ml4t: |qty| * pct).
            let quantity = match fraction {
                None => held,
                Some(f) => (held.abs() * f).copysign(held),
            };
            if !full && !(quantity.abs() > 0.0) {
                continue;
            }
            if defer {
                let exit = DeferredExit { asset, reason, detail, quantity, enforced: false };
                match self.deferred_exits.iter_mut().find(|e| e.asset == asset) {
                    Some(slot) => *slot = exit,
                    None => self.deferred_exits.push(exit),
                }
            } else if self.submit_rule_exit(asset, quantity, reason, detail, fill_price, false)?.is_some() && full {
                self.stop_exit_bar[asset as usize] = b;
            }
        }
        Ok(())
    }

    /// Cancels every pending order, then sends a market order closing each
    /// open position (in the order they were opened), tagged
    /// `risk_liquidation` with `detail`. Returns the exit orders' ids.
    pub fn flatten_all_positions(&mut self, detail: &str) -> EngineResult<Vec<u64>> {
        for id in self.book.pending_ids().to_vec() {
            self.cancel_order(id);
        }
        let open: Vec<(AssetId, f64)> = self.portfolio.positions().map(|p| (p.asset, p.quantity)).collect();
        let mut ids = Vec::with_capacity(open.len());
        for (asset, quantity) in open {
            if let Some(id) = self.submit_rule_exit(asset, quantity, nl_core::ExitReason::RiskLiquidation, detail.to_string(), None, false)? {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// A market order closing `quantity` (signed position size) of `asset`,
    /// tagged with the rule's reason and fill price.
    fn submit_rule_exit(
        &mut self,
        asset: AssetId,
        quantity: f64,
        reason: nl_core::ExitReason,
        detail: String,
        fill_price: Option<f64>,
        enforced: bool,
    ) -> EngineResult<Option<u64>> {
        let side = if quantity > 0.0 { OrderSide::Sell } else { OrderSide::Buy };
        let SubmitOutcome::Accepted(id) = self.queue_order(OrderRequest::new(asset, quantity.abs(), side, OrderType::Market))?
        else {
            return Ok(None);
        };
        let o = &mut self.book[id];
        o.exit_reason = reason;
        o.exit_detail = Some(detail);
        o.risk_fill_price = fill_price;
        // Prechecked like any submission (the engine's own enforcement aside);
        // flatten_all_positions from the strategy fills at once with immediate_fill.
        if enforced {
            self.fill_now_if_immediate(id)?;
        } else {
            self.admit_order(id)?;
        }
        Ok(Some(id))
    }
}
