//! Venues orders execute at, behind one seam.
//!
//! The kernel owns the order book, account and portfolio; a venue only
//! executes. `sim` holds the simulated venue's rules (triggers, prices,
//! costs, liquidity). A backtest runs them in-process so that every fill is
//! booked before the next candidate is sized (ml4t-backtest's sequential
//! semantics: the account, which no venue knows, decides each fill's size).
//! Every other venue implements [`ExecutionClient`] — `sim::paper::PaperVenue`
//! (the same rules, without the account), a FIX session, a broker's API: the
//! kernel hands it each bar, sends it commands and books the
//! [`ExecutionReport`]s it returns, through the same booking code the
//! in-process fills go through.

pub mod sim;

use nl_core::{AssetId, CancelReason, EngineResult, Order, OrderId, Refusal, Timestamp};

use crate::market::Bar;

/// What a venue says happened to an order. Timestamps are nanoseconds
/// since the epoch (UTC).
#[derive(Debug, Clone, PartialEq)]
pub enum ExecutionReport {
    /// The venue took the order; it is working there.
    Accepted { order_id: OrderId, timestamp: i64 },
    /// Part or all of the order executed. `commission` is what the venue
    /// charged for this execution.
    Filled { order_id: OrderId, timestamp: i64, quantity: f64, price: f64, commission: f64 },
    /// The venue refused the order (or the rest of it).
    Rejected { order_id: OrderId, timestamp: i64, reason: Refusal },
    /// The order (or the rest of it) was cancelled.
    Cancelled { order_id: OrderId, timestamp: i64, reason: CancelReason },
    /// The order's time in force ran out.
    Expired { order_id: OrderId, timestamp: i64 },
}

impl ExecutionReport {
    pub fn order_id(&self) -> OrderId {
        match self {
            ExecutionReport::Accepted { order_id, .. }
            | ExecutionReport::Filled { order_id, .. }
            | ExecutionReport::Rejected { order_id, .. }
            | ExecutionReport::Cancelled { order_id, .. }
            | ExecutionReport::Expired { order_id, .. } => *order_id,
        }
    }
}

/// A venue the kernel trades with: commands in, execution reports out.
///
/// Commands are requests: an order's state changes only when a report says
/// so (a cancel the venue has not confirmed leaves the order working). The
/// kernel calls `poll` when it processes events; an implementation queues
/// what its connection received since the last call, in the order received.
pub trait ExecutionClient: Send {
    /// Sends a new order (the book has it as PENDING).
    fn submit(&mut self, order: &Order) -> EngineResult<()>;
    /// Asks the venue to cancel a working order.
    fn cancel(&mut self, order_id: OrderId) -> EngineResult<()>;
    /// Sends the order's new quantity and prices.
    fn modify(&mut self, order: &Order) -> EngineResult<()>;
    /// Appends the reports received since the last call to `reports`.
    fn poll(&mut self, reports: &mut Vec<ExecutionReport>) -> EngineResult<()>;
    /// The market data the kernel just received: one bar, the rows of the
    /// assets that traded (the kernel polls right after). A venue that
    /// simulates executions prices them on it; a real venue has its own
    /// market and ignores it.
    fn on_bar(&mut self, _timestamp: Timestamp, _rows: &[(AssetId, Bar)]) -> EngineResult<()> {
        Ok(())
    }
}
