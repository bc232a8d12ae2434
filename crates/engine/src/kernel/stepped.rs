//! A standalone broker's steps. ml4t-backtest's `Broker` can be driven by
//! hand, one step at a time: `_update_time` (new marks), `_process_orders`
//! (match now), `evaluate_position_rules`, `_update_water_marks`. Here each is
//! one call and none implies another, unlike `begin_bar`/`end_bar`, which run
//! a backtest bar's whole sequence.

use nl_core::{AssetId, BarIndex, EngineError, EngineResult, ExecutionMode, ExitReason, Order, OrderId, Position};

use super::{Engine, Phase};
use crate::config::EngineConfig;
use crate::market::{Bar, MarketData};
use crate::venue::sim::triggers::MatchPoint;

impl Engine {
    /// An engine for a standalone broker: no assets yet (`add_assets`, also
    /// inside a bar), marks pushed by `step_to`, any finite price accepted.
    pub fn stepped(cfg: EngineConfig, quotes: bool) -> EngineResult<Self> {
        let mut market = MarketData::streamed(0, quotes);
        market.accept_any_finite_marks()?;
        let mut engine = Self::new(cfg, std::sync::Arc::new(market))?;
        engine.stepped = true;
        Ok(engine)
    }

    /// Moves to a new bar at `timestamp` marked by `rows` (ml4t's
    /// `_update_time`): the bar before ends without matching (its equity is
    /// recorded), then settlement, position ages and last prices move on.
    /// Nothing fills and no rule runs until asked.
    pub fn step_to(&mut self, timestamp: i64, rows: &[(AssetId, Bar)]) -> EngineResult<BarIndex> {
        self.require_stepped("moving to a new bar")?;
        if let Phase::InBar(prev) = self.phase {
            self.record_bar(prev);
        }
        let b = self.push_bar(timestamp, rows)?;
        self.phase = Phase::InBar(b);
        self.account.settle(b);
        self.portfolio.age_positions();
        self.take_marks(b);
        Ok(b)
    }

    /// Matches the pending orders now (ml4t's `_process_orders`). `use_open`
    /// is an open-time pass: priced at the open in NEXT_BAR mode, at the
    /// configured source in SAME_BAR mode (as ml4t prices it); otherwise the
    /// configured execution price.
    pub fn step_process_orders(&mut self, use_open: bool) -> EngineResult<()> {
        let b = self.stepped_bar("processing orders")?;
        let at = match (use_open, self.cfg.execution_mode) {
            (false, _) => MatchPoint::Execution,
            (true, ExecutionMode::NextBar) => MatchPoint::Open,
            (true, ExecutionMode::SameBar) => MatchPoint::SameBarOpen,
        };
        // NEXT_BAR: what the strategy submitted since these marks waits for
        // the next ones (rule exits do not wait).
        if self.cfg.execution_mode == ExecutionMode::NextBar {
            let now = self.market.timestamp(b);
            let waits = |o: &Order| o.created_at == now && o.exit_reason == ExitReason::Signal;
            if self.book.pending().any(waits) {
                let ready: Vec<OrderId> = self.book.pending().filter(|o| !waits(o)).map(|o| o.id).collect();
                return self.match_pending_among(b, at, Some(&ready));
            }
        }
        self.match_pending(b, at)
    }

    /// Evaluates the position rules now, queueing their exits (deferred
    /// exits first, as a backtest bar does).
    pub fn step_position_rules(&mut self) -> EngineResult<()> {
        let b = self.stepped_bar("evaluating position rules")?;
        self.release_deferred_exits(b)?;
        self.evaluate_position_rules(b)
    }

    /// Moves water marks and excursions by this bar (ml4t's `_update_water_marks`).
    pub fn step_water_marks(&mut self) -> EngineResult<()> {
        let b = self.stepped_bar("updating water marks")?;
        self.update_water_marks(b);
        Ok(())
    }

    /// Sets `asset`'s position by hand (cash untouched); a zero quantity
    /// removes it. ml4t lets a test seed `broker.positions[asset]` this way.
    pub fn put_position(&mut self, asset: AssetId, position: Position) -> EngineResult<()> {
        self.require_stepped("setting a position by hand")?;
        self.require_asset(asset)?;
        for (name, v) in [("quantity", position.quantity), ("entry_price", position.entry_price)] {
            if !v.is_finite() {
                return Err(EngineError::InvalidArgument(format!("position {name} must be finite, got {v}")));
            }
        }
        self.portfolio.put_position(asset, position);
        Ok(())
    }

    /// Removes `asset`'s position by hand (no fill, no trade, cash untouched);
    /// false when it had none.
    pub fn remove_position(&mut self, asset: AssetId) -> EngineResult<bool> {
        self.require_stepped("removing a position by hand")?;
        self.require_asset(asset)?;
        Ok(self.portfolio.remove_position(asset))
    }

    /// Sets cash by hand (ml4t lets a test write `broker.cash`).
    pub fn set_cash(&mut self, cash: f64) -> EngineResult<()> {
        self.require_stepped("setting cash by hand")?;
        if !cash.is_finite() {
            return Err(EngineError::InvalidArgument(format!("cash must be finite, got {cash}")));
        }
        self.portfolio.cash = cash;
        Ok(())
    }

    fn require_stepped(&self, what: &str) -> EngineResult<()> {
        if self.stepped {
            Ok(())
        } else {
            Err(EngineError::InvalidState(format!("{what} is for a standalone broker's engine only")))
        }
    }

    /// The bar a step acts on: the one `step_to` opened.
    fn stepped_bar(&self, what: &str) -> EngineResult<BarIndex> {
        self.require_stepped(what)?;
        match self.phase {
            Phase::InBar(b) => Ok(b),
            _ => Err(EngineError::InvalidState(format!("{what} needs marks first (_update_time)"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nl_core::{OrderSide, OrderType};

    use crate::orders::{OrderRequest, SubmitOutcome};

    fn bar(price: f64) -> Bar {
        Bar { open: price, high: price, low: price, close: price, price, volume: 1e6, vwap: f64::NAN,
              bid: f64::NAN, ask: f64::NAN, mid: f64::NAN, bid_size: f64::NAN, ask_size: f64::NAN }
    }

    fn buy(asset: AssetId, quantity: f64) -> OrderRequest {
        OrderRequest::new(asset, quantity, OrderSide::Buy, OrderType::Market)
    }

    /// Marks, then a market buy of 100 at 150 filled when asked: cash
    /// 100,000 - 15,000 = 85,000; a new mark at 155 makes equity
    /// 85,000 + 15,500 = 100,500.
    fn same_bar() -> EngineConfig {
        EngineConfig { execution_mode: ExecutionMode::SameBar, ..EngineConfig::default() }
    }

    #[test]
    fn a_buy_fills_only_when_orders_are_processed() {
        let mut e = Engine::stepped(same_bar(), false).unwrap();
        assert_eq!(e.add_assets(1).unwrap(), 0);
        e.step_to(10, &[(0, bar(150.0))]).unwrap();
        let SubmitOutcome::Accepted(id) = e.submit_order(buy(0, 100.0)).unwrap() else { panic!() };
        assert!(e.order(id).unwrap().filled_quantity == 0.0);
        e.step_process_orders(false).unwrap();
        assert_eq!(e.cash(), 85_000.0);
        e.step_to(20, &[(0, bar(155.0))]).unwrap();
        assert_eq!(e.equity_now(), 100_500.0);
    }

    /// NEXT_BAR: an order submitted after these marks waits for the next
    /// ones, then fills at their open (101).
    #[test]
    fn next_bar_orders_wait_for_the_next_marks() {
        let mut e = Engine::stepped(EngineConfig::default(), false).unwrap();
        e.add_assets(1).unwrap();
        e.step_to(10, &[(0, bar(100.0))]).unwrap();
        e.submit_order(buy(0, 10.0)).unwrap();
        e.step_process_orders(true).unwrap();
        assert_eq!(e.cash(), 100_000.0);
        e.step_to(20, &[(0, Bar { open: 101.0, ..bar(105.0) })]).unwrap();
        e.step_process_orders(true).unwrap();
        assert_eq!(e.cash(), 100_000.0 - 1_010.0);
    }

    /// A seeded position of 100 @ 150 marked at 155: equity 100,000 + 15,500;
    /// zero and negative marks are accepted, a NaN one is refused.
    #[test]
    fn seeded_positions_and_hand_set_marks() {
        let mut e = Engine::stepped(EngineConfig::default(), false).unwrap();
        e.add_assets(1).unwrap();
        let mut p = Position {
            serial: 0, asset: 0, quantity: 100.0, entry_price: 150.0, entry_time: 0, current_price: 150.0,
            entry_commission: 0.0, entry_slippage: 0.0, bars_held: 0, high_water_mark: 150.0,
            low_water_mark: 150.0, max_favorable_excursion: 0.0, max_adverse_excursion: 0.0,
            initial_quantity: 100.0, entry_available_size: f64::NAN, entry_quote: nl_core::Quote::NONE,
            signal_price: f64::NAN, cost_basis: 150.0,
        };
        e.put_position(0, p.clone()).unwrap();
        e.step_to(5, &[(0, bar(155.0))]).unwrap();
        assert_eq!(e.equity_now(), 115_500.0);
        e.step_to(6, &[(0, bar(0.0))]).unwrap();
        e.step_to(7, &[(0, bar(-1.0))]).unwrap();
        assert_eq!(e.last_price(0), -1.0);
        assert!(e.step_to(8, &[(0, bar(f64::NAN))]).is_err());
        assert!(e.remove_position(0).unwrap());
        assert!(e.position(0).is_none());
        p.quantity = f64::NAN;
        assert!(e.put_position(0, p).is_err());
        e.set_cash(5.0).unwrap();
        assert_eq!(e.cash(), 5.0);
        assert!(e.set_cash(f64::INFINITY).is_err());
        // Assets join inside a bar; a backtest engine refuses the steps.
        assert_eq!(e.add_assets(2).unwrap(), 1);
        let mut backtest = Engine::streamed(EngineConfig::default(), 1, false).unwrap();
        assert!(backtest.step_to(1, &[]).is_err());
    }
}
