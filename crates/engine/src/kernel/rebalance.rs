//! What target-weight rebalancing needs from the engine beyond plain orders:
//! marking an order as a rebalance's (it then fills what cash affords, and
//! ranks by its sizing notional) and a matching pass in the middle of the
//! strategy callback (incremental rebalancing fills each order before sizing
//! the next).

use nl_core::{EngineError, EngineResult, ExecutionMode, FillOrdering, OrderId, OrderStatus, ShareType};

use crate::kernel::{Engine, Phase};
use crate::venue::sim::triggers::MatchPoint;

impl Engine {
    /// Marks pending order `id` as sent by a rebalance. In an integer account
    /// that rejects unaffordable entries it then fills the whole shares cash
    /// affords instead (as with `partial_fills_allowed`); `priority_notional`
    /// (the value change it was sized for) ranks it under the
    /// NOTIONAL_ASC/NOTIONAL_DESC/ORDER_VALUE_ASC entry priorities instead of
    /// quantity times the pass's price.
    pub fn mark_rebalance_order(&mut self, id: OrderId, priority_notional: Option<f64>) -> EngineResult<()> {
        if let Some(n) = priority_notional {
            if !(n.is_finite() && n >= 0.0) {
                return Err(EngineError::InvalidArgument(format!(
                    "priority notional must be a finite number >= 0, got {n}")));
            }
        }
        self.note_change();
        let Some(order) = self.book.get_mut(id) else {
            return Err(EngineError::NotFound(format!("order {id} does not exist")));
        };
        if order.status != OrderStatus::Pending {
            return Err(EngineError::InvalidState(format!("order {id} is no longer pending")));
        }
        order.rebalance = true;
        if priority_notional.is_some() || order.extras.is_some() {
            order.extras_mut().priority_notional = priority_notional.into();
        }
        Ok(())
    }

    /// Whether an entry cash cannot fully pay for fills the affordable part:
    /// with `partial_fills_allowed`, or for a rebalance's order in an integer
    /// account that rejects (not cancels) unaffordable orders.
    pub(crate) fn fills_what_cash_affords(&self, id: OrderId) -> bool {
        self.cfg.partial_fills_allowed
            || (self.book[id].rebalance
                && self.cfg.share_type == ShareType::Integer
                && self.cfg.reject_on_insufficient_cash)
    }

    /// Matches pending orders now, inside the current bar's strategy callback.
    ///
    /// SAME_BAR: every pending order gets the pass `end_bar` would give it (at
    /// the configured execution price). NEXT_BAR: no order fills; orders
    /// submitted this bar wait for the next open, and earlier orders were
    /// already matched against this bar when it began. An EXIT_FIRST pass
    /// still marks the positions between its (here empty) exits and entries,
    /// so they move from the open's marks to this bar's execution marks, as
    /// in ml4t (whose margin buying power reads those marks).
    pub fn match_pending_now(&mut self) -> EngineResult<()> {
        let Phase::InBar(b) = self.phase else {
            return Err(EngineError::InvalidState("orders can only be matched inside a bar".into()));
        };
        self.note_fill();
        match self.cfg.execution_mode {
            ExecutionMode::SameBar => self.match_pending(b, MatchPoint::Execution),
            ExecutionMode::NextBar => {
                if self.cfg.fill_ordering == FillOrdering::ExitFirst {
                    self.mark_positions(b, MatchPoint::Execution);
                }
                Ok(())
            }
        }
    }
}
