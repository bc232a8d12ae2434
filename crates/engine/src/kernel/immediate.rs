//! Immediate fills (`immediate_fill`, VectorBT's and LEAN's model): in
//! SAME_BAR mode a market order the strategy submits fills inside the submit
//! call at this bar's execution price, against the cash of that moment, so
//! the next order the strategy sends already sees it. Exits always fill;
//! an entry cash cannot pay for is REJECTED (partially filled first when
//! `partial_fills_allowed`), whatever `reject_on_insufficient_cash` says.
//! As in ml4t this covers the market orders the engine sends itself during
//! a bar (rule exits fill inside their submission, before pending orders);
//! limit, stop and the other order types queue as usual.
//!
//! (Run by the kernel for the simulated venue.)

use nl_core::Refusal;
use nl_core::{BarIndex, EngineResult, ExecutionMode, OrderId, OrderType};
use crate::kernel::{Engine, Phase};
use crate::venue::sim::triggers::{execution_price, MatchPoint};

impl Engine {
    /// Fills order `id`, just queued, at once if it qualifies.
    pub(crate) fn fill_now_if_immediate(&mut self, id: OrderId) -> EngineResult<()> {
        if self.execution_client.is_some() {
            return self.send_to_venue(id);
        }
        match self.immediate_bar(self.book[id].order_type) {
            Some(b) => self.fill_immediately(id, b),
            None => Ok(()),
        }
    }

    /// The bar an order of `order_type` submitted now fills on immediately, if any.
    pub(crate) fn immediate_bar(&self, order_type: OrderType) -> Option<BarIndex> {
        if !self.cfg.immediate_fill || self.cfg.execution_mode != ExecutionMode::SameBar
            || order_type != OrderType::Market {
            return None;
        }
        match self.phase {
            Phase::InBar(b) => Some(b),
            _ => None,
        }
    }

    /// Fills (or refuses) order `id` at once on bar `b`.
    fn fill_immediately(&mut self, id: OrderId, b: BarIndex) -> EngineResult<()> {
        if self.round_quantity(id) {
            let asset = self.book[id].asset;
            let priced = self.row_in_bar(b, asset).is_some_and(|row| {
                let o = &self.book[id];
                !execution_price(o, &self.market.bar_at(row), MatchPoint::Execution, self.cfg.price_sources_for(o.asset)).0.is_nan()
            });
            // No bar, or no price from the configured source (a bar without VWAP).
            if !priced {
                self.reject(id, Refusal::NoPrice);
            } else {
                self.filling_immediately = true;
                let outcome = self.try_fill(id, b, MatchPoint::Execution);
                self.filling_immediately = false;
                outcome?;
            }
        }
        self.close_pass(&[id]);
        Ok(())
    }
}
