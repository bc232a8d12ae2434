//! The position rules as the engine holds them between bars: the global
//! rule and per-asset overrides, the rules' memory, exits deferred to the
//! next bar's open (rule exits in NEXT_BAR_OPEN mode, margin calls,
//! portfolio-limit cuts) and the bar each asset last had a full rule exit
//! sent on (no re-entry in that bar). Evaluating a position's rule on a bar
//! gives the exit to send; the kernel sends it.

use std::collections::HashMap;

use nl_core::{AssetId, BarIndex, EngineResult, ExitReason, Position, Timestamp};

use crate::market::Bar;
use crate::rules::memory::RuleMemory;
use crate::rules::{PositionRule, RuleAction, RuleSettings, RuleState};

/// An exit decided on one bar, to be sent at the next bar's open.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DeferredExit {
    pub asset: AssetId,
    pub reason: ExitReason,
    pub detail: String,
    /// The position's signed quantity when the exit was decided.
    pub quantity: f64,
    /// Sent by the engine's own enforcement (margin calls, portfolio
    /// limits), beyond ml4t: never refused by the submission precheck, and
    /// sized against the position as it is when sent.
    pub enforced: bool,
}

impl DeferredExit {
    /// The exit to send against the position `held` now: none when the
    /// position is gone; an enforced exit never sells more than is held,
    /// nor anything once the position changed side (it may have changed
    /// while the asset had no bar).
    pub(crate) fn fitted_to(mut self, held: f64) -> Option<Self> {
        if held == 0.0 {
            return None;
        }
        if self.enforced {
            if held * self.quantity <= 0.0 {
                return None;
            }
            self.quantity = self.quantity.abs().min(held.abs()).copysign(held);
        }
        Some(self)
    }
}

/// The exit a rule triggered on a position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RuleExit {
    pub reason: ExitReason,
    pub detail: String,
    /// The rule's fill price (before slippage), if it sets one.
    pub fill_price: Option<f64>,
    /// Sent at the next bar's open instead of now.
    pub defer: bool,
    /// Closes the whole position (blocks re-entry in this bar).
    pub full: bool,
    /// Signed quantity to close (the position's sign).
    pub quantity: f64,
}

impl RuleState {
    /// What a rule sees of `pos` on a bar with prices `bar` at `timestamp`;
    /// stops and targets measure from the signal price with `signal_basis`
    /// (when the position has one), else from the entry price.
    pub(crate) fn of(pos: &Position, bar: &Bar, timestamp: Timestamp, signal_basis: bool) -> Self {
        let use_signal = signal_basis && !pos.signal_price.is_nan();
        RuleState {
            asset: pos.asset,
            serial: pos.serial,
            timestamp,
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
            // ml4t's rules see the reference price (its `prices`), not the close.
            close: bar.price,
            unrealized_return: nl_core::return_on_entry(pos.entry_price, bar.price, pos.quantity),
            bars_held: pos.bars_held,
            high_water_mark: pos.high_water_mark,
            low_water_mark: pos.low_water_mark,
        }
    }
}

/// The position rules, their memory and their pending exits.
#[derive(Debug, Clone, Default)]
pub struct PositionRules {
    global: Option<PositionRule>,
    /// Per-asset overrides (an override of `None` disables rules for that asset).
    by_asset: HashMap<AssetId, Option<PositionRule>>,
    /// Position context values and stateful rules' memory.
    pub(crate) memory: RuleMemory,
    /// Exits waiting for the next bar's open, by asset in the order they
    /// were decided.
    deferred: Vec<DeferredExit>,
    /// Per asset: the bar a full rule exit was sent on.
    exited_on: Vec<BarIndex>,
}

impl PositionRules {
    pub fn new(n_assets: usize) -> Self {
        Self { exited_on: vec![BarIndex::MAX; n_assets], ..Self::default() }
    }

    /// Makes room for `n` more assets (a streamed feed's new assets, with no
    /// rule exit yet; `Engine::add_assets`).
    pub fn add_assets(&mut self, n: usize) {
        self.exited_on.resize(self.exited_on.len() + n, BarIndex::MAX);
    }

    /// Sets the rule of every asset (`asset = None`) or of one asset
    /// (`rule = None` disables rules there, overriding the global rule).
    pub(crate) fn set(&mut self, asset: Option<AssetId>, rule: Option<PositionRule>) {
        match asset {
            None => self.global = rule,
            Some(a) => {
                self.by_asset.insert(a, rule);
            }
        }
    }

    /// Whether no rule governs any asset.
    pub(crate) fn is_empty(&self) -> bool {
        self.global.is_none() && self.by_asset.is_empty()
    }

    /// Evaluates the rule governing the position `state` describes: the exit
    /// it triggers, if any. A partial exit closes its fraction of the
    /// position (ml4t: |qty| * pct); one that rounds to nothing is dropped.
    pub(crate) fn evaluate(&mut self, state: &RuleState, settings: RuleSettings) -> EngineResult<Option<RuleExit>> {
        // The rule governing the asset: its override (even `None`), else the
        // global rule.
        let Some(rule) = (match self.by_asset.get(&state.asset) {
            Some(over) => over.as_ref(),
            None => self.global.as_ref(),
        }) else {
            return Ok(None);
        };
        let RuleAction::Exit { reason, detail, fill_price, defer, fraction } = rule.evaluate(state, settings, &mut self.memory)?
        else {
            return Ok(None);
        };
        let held = state.quantity;
        let full = fraction.is_none();
        let quantity = match fraction {
            None => held,
            Some(f) => (held.abs() * f).copysign(held),
        };
        if !full && !(quantity.abs() > 0.0) {
            return Ok(None);
        }
        Ok(Some(RuleExit { reason, detail, fill_price, defer, full, quantity }))
    }

    /// Whether a full rule exit of `asset` was sent on bar `b` (no re-entry then).
    pub(crate) fn exited_on(&self, asset: AssetId, b: BarIndex) -> bool {
        self.exited_on[asset as usize] == b
    }

    /// Records that a full rule exit of `asset` was sent on bar `b`.
    pub(crate) fn mark_exited(&mut self, asset: AssetId, b: BarIndex) {
        self.exited_on[asset as usize] = b;
    }

    /// Defers a rule's exit to the next open; it replaces the asset's
    /// exit already waiting, if any.
    pub(crate) fn defer(&mut self, exit: DeferredExit) {
        match self.deferred.iter_mut().find(|e| e.asset == exit.asset) {
            Some(slot) => *slot = exit,
            None => self.deferred.push(exit),
        }
    }

    /// A margin call's liquidation of `quantity` (signed) of `asset` at the
    /// next open: it replaces whatever exit the asset had waiting.
    pub(crate) fn defer_margin_call(&mut self, asset: AssetId, quantity: f64) {
        self.deferred.retain(|e| e.asset != asset);
        self.deferred.push(DeferredExit {
            asset, quantity, reason: ExitReason::MarginCall, detail: "margin_call".into(), enforced: true,
        });
    }

    /// A portfolio limit's cut of `fraction` of the position `held` in
    /// `asset` at the next open (all of it from 1 up; whole shares rounded
    /// up when `whole_shares`, so the cut reaches the limit). An exit
    /// already waiting stays, unless a liquidation replaces a rule's exit.
    pub(crate) fn defer_limit_cut(&mut self, asset: AssetId, held: f64, fraction: f64, detail: &str, whole_shares: bool) {
        if fraction.is_nan() || fraction <= 0.0 {
            return;
        }
        let full = fraction >= 1.0;
        match self.deferred.iter().position(|e| e.asset == asset) {
            Some(k) if full && !matches!(self.deferred[k].reason, ExitReason::MarginCall | ExitReason::RiskLiquidation) => {
                self.deferred.remove(k);
            }
            Some(_) => return,
            None => {}
        }
        let mut quantity = if full { held.abs() } else { held.abs() * fraction };
        if whole_shares {
            quantity = (quantity - 1e-9).ceil().min(held.abs());
        }
        if quantity > 0.0 {
            self.deferred.push(DeferredExit {
                asset, reason: ExitReason::RiskLiquidation, detail: detail.to_string(), quantity: quantity.copysign(held),
                enforced: true,
            });
        }
    }

    pub(crate) fn has_deferred(&self) -> bool {
        !self.deferred.is_empty()
    }

    /// Takes every deferred exit (to send; `requeue` those that must wait).
    pub(crate) fn take_deferred(&mut self) -> Vec<DeferredExit> {
        std::mem::take(&mut self.deferred)
    }

    /// Puts back an exit that could not be sent yet (its asset had no bar).
    pub(crate) fn requeue(&mut self, exit: DeferredExit) {
        self.deferred.push(exit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nl_core::{StopFillMode, TrailStopTiming};

    fn state(quantity: f64, low: f64) -> RuleState {
        RuleState {
            asset: 0, serial: 1, timestamp: 0, is_long: quantity > 0.0, entry_price: 100.0, quantity,
            initial_quantity: quantity, entry_time: 0, max_favorable_excursion: 0.0, max_adverse_excursion: 0.0,
            base_price: 100.0, open: 100.0, high: 101.0, low, close: 100.0, unrealized_return: 0.0, bars_held: 1,
            high_water_mark: 100.0, low_water_mark: 100.0,
        }
    }

    fn exit(asset: AssetId, reason: ExitReason, quantity: f64, enforced: bool) -> DeferredExit {
        DeferredExit { asset, reason, detail: String::new(), quantity, enforced }
    }

    #[test]
    fn an_enforced_exit_is_fitted_to_what_is_held_when_sent() {
        let rule = exit(0, ExitReason::StopLoss, 10.0, false);
        assert_eq!(rule.clone().fitted_to(4.0), Some(rule.clone()));
        assert_eq!(rule.fitted_to(0.0), None);
        let cut = exit(0, ExitReason::RiskLiquidation, 10.0, true);
        // Long 10 cut, now long 4: sell 4; now short 3: nothing.
        assert_eq!(cut.clone().fitted_to(4.0).map(|e| e.quantity), Some(4.0));
        assert_eq!(cut.fitted_to(-3.0), None);
    }

    #[test]
    fn a_stop_loss_on_an_overridden_asset() {
        let settings = RuleSettings { fill_mode: StopFillMode::StopPrice, trail_timing: TrailStopTiming::Lagged };
        let mut rules = PositionRules::new(2);
        assert!(rules.is_empty());
        // A 5% stop everywhere; asset 1 has rules disabled.
        rules.set(None, Some(PositionRule::StopLoss { pct: 0.05 }));
        rules.set(Some(1), None);
        // Long 10 from 100, low 94: the stop at 95 fires for all 10.
        let hit = rules.evaluate(&state(10.0, 94.0), settings).unwrap().unwrap();
        assert_eq!((hit.reason, hit.full, hit.quantity, hit.fill_price), (ExitReason::StopLoss, true, 10.0, Some(95.0)));
        // Low 96: holds.
        assert_eq!(rules.evaluate(&state(10.0, 96.0), settings).unwrap(), None);
        // Asset 1: no rule.
        assert_eq!(rules.evaluate(&RuleState { asset: 1, ..state(10.0, 94.0) }, settings).unwrap(), None);
        rules.mark_exited(0, 7);
        assert!(rules.exited_on(0, 7) && !rules.exited_on(0, 8) && !rules.exited_on(1, 7));
        // A third asset joins: no exit on record.
        rules.add_assets(1);
        rules.mark_exited(2, 8);
        assert!(rules.exited_on(2, 8) && !rules.exited_on(2, 7));
    }

    #[test]
    fn waiting_exits_a_margin_call_or_a_limit_cut_replaces() {
        let mut rules = PositionRules::new(3);
        rules.defer(exit(0, ExitReason::TakeProfit, 10.0, false));
        rules.defer(exit(0, ExitReason::StopLoss, 10.0, false));
        rules.defer(exit(1, ExitReason::StopLoss, -5.0, false));
        // A later rule exit replaces the asset's earlier one in place.
        assert_eq!(rules.deferred.iter().map(|e| (e.asset, e.reason)).collect::<Vec<_>>(),
                   [(0, ExitReason::StopLoss), (1, ExitReason::StopLoss)]);
        // A liquidation replaces a rule exit; a partial cut leaves it waiting.
        rules.defer_limit_cut(0, 10.0, 1.0, "MaxDrawdownLimit", false);
        rules.defer_limit_cut(1, -5.0, 0.5, "GrossExposureLimit", false);
        // Integer account: a quarter of 7 rounds up to 2.
        rules.defer_limit_cut(2, 7.0, 0.25, "GrossExposureLimit", true);
        assert_eq!(rules.deferred.iter().map(|e| (e.asset, e.reason, e.quantity)).collect::<Vec<_>>(),
                   [(1, ExitReason::StopLoss, -5.0), (0, ExitReason::RiskLiquidation, 10.0), (2, ExitReason::RiskLiquidation, 2.0)]);
        // A margin call replaces whatever waits.
        rules.defer_margin_call(1, -5.0);
        let taken = rules.take_deferred();
        assert_eq!(taken.last().map(|e| (e.asset, e.reason, e.enforced)), Some((1, ExitReason::MarginCall, true)));
        assert!(!rules.has_deferred());
    }
}
