//! `OrderBook`: owns the orders and the pending set.

use std::ops::{Index, IndexMut};

use nl_core::{CancelReason, MaybeTime, Order, OrderId, OrderStatus, Refusal, Timestamp};

/// Orders by id (1, 2, 3, ... in submission order) and the ids still pending.
///
/// Ids index the book directly: `book[id]` is the order with that id, and an
/// id the book did not hand out is a bug of the caller (it panics, which the
/// FFI turns into a Python exception). Use [`OrderBook::get`] for ids that
/// come from outside.
#[derive(Debug, Clone, Default)]
pub struct OrderBook {
    orders: Vec<Order>,
    /// Pending ids in submission order. Orders cancelled or rejected during
    /// a matching pass stay listed until the pass calls `drop_closed`.
    pending: Vec<OrderId>,
}

impl OrderBook {
    /// The id the next inserted order gets.
    pub fn next_id(&self) -> OrderId {
        self.orders.len() as OrderId + 1
    }

    /// Adds `order` (whose id must be `next_id()`) as pending.
    pub fn insert(&mut self, order: Order) -> OrderId {
        assert_eq!(order.id, self.next_id(), "order ids are handed out in sequence");
        let id = order.id;
        nl_core::push_record(&mut self.orders, order);
        self.pending.push(id);
        id
    }

    /// The order with `id`, if the book has it.
    pub fn get(&self, id: OrderId) -> Option<&Order> {
        id.checked_sub(1).and_then(|i| self.orders.get(i as usize))
    }

    pub fn get_mut(&mut self, id: OrderId) -> Option<&mut Order> {
        id.checked_sub(1).and_then(|i| self.orders.get_mut(i as usize))
    }

    /// Every order of the run, oldest first.
    pub fn all(&self) -> &[Order] {
        &self.orders
    }

    /// Pending ids in submission order.
    pub fn pending_ids(&self) -> &[OrderId] {
        &self.pending
    }

    pub fn pending(&self) -> impl Iterator<Item = &Order> {
        self.pending.iter().map(move |&id| &self[id])
    }

    pub fn is_pending(&self, id: OrderId) -> bool {
        self.pending.contains(&id)
    }

    /// Takes `id` off the pending list; false if it was not on it.
    pub fn remove_pending(&mut self, id: OrderId) -> bool {
        match self.pending.iter().position(|&p| p == id) {
            Some(i) => {
                self.pending.remove(i);
                true
            }
            None => false,
        }
    }

    /// Drops orders that are no longer PENDING from the pending list (at the
    /// end of a pass, so a pass can iterate the list while it changes states).
    pub fn drop_closed(&mut self) {
        let orders = &self.orders;
        self.pending.retain(|&id| orders[(id - 1) as usize].status == OrderStatus::Pending);
    }

    /// Marks `id` cancelled for `reason` at time `at`.
    pub fn mark_cancelled(&mut self, id: OrderId, reason: CancelReason, at: Option<Timestamp>) {
        let o = &mut self[id];
        o.status = OrderStatus::Cancelled;
        o.cancel_reason = Some(reason);
        if let Some(at) = at {
            o.extras_mut().cancelled_at = MaybeTime::some(at);
        }
    }

    /// Cancels (for `reason`) every pending order `which` selects. They stay
    /// on the pending list until `drop_closed`.
    pub fn cancel_pending_where(&mut self, reason: CancelReason, at: Option<Timestamp>, which: impl Fn(&Order) -> bool) {
        for i in 0..self.pending.len() {
            let id = self.pending[i];
            let o = &self[id];
            if o.status == OrderStatus::Pending && which(o) {
                self.mark_cancelled(id, reason, at);
            }
        }
    }

    /// Marks `id` rejected for `reason`; an integer account's order shows the
    /// whole quantity it was checked with.
    pub fn mark_rejected(&mut self, id: OrderId, reason: Refusal, whole_shares: bool) {
        let o = &mut self[id];
        o.status = OrderStatus::Rejected;
        o.rejection_reason = Some(Box::new(reason));
        if whole_shares {
            o.quantity = o.quantity.trunc();
        }
    }
}

/// The book as a strategy callback found it (kernel/savepoint.rs): how many
/// orders it held, and the pending ones as they stood (only pending orders
/// change after they are created).
#[derive(Debug, Clone)]
pub(crate) struct BookSavepoint {
    len: usize,
    pending: Vec<OrderId>,
    pending_orders: Vec<Order>,
}

impl OrderBook {
    pub(crate) fn savepoint(&self) -> BookSavepoint {
        BookSavepoint {
            len: self.orders.len(),
            pending: self.pending.clone(),
            pending_orders: self.pending.iter().map(|&id| self[id].clone()).collect(),
        }
    }

    /// Back to `sp`: later orders are gone, pending ones are as they stood.
    pub(crate) fn restore(&mut self, sp: BookSavepoint) {
        self.orders.truncate(sp.len);
        for order in sp.pending_orders {
            let id = order.id;
            self[id] = order;
        }
        self.pending = sp.pending;
    }
}

impl Index<OrderId> for OrderBook {
    type Output = Order;

    fn index(&self, id: OrderId) -> &Order {
        self.get(id).unwrap_or_else(|| panic!("order {id} is not in the book"))
    }
}

impl IndexMut<OrderId> for OrderBook {
    fn index_mut(&mut self, id: OrderId) -> &mut Order {
        self.get_mut(id).unwrap_or_else(|| panic!("order {id} is not in the book"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nl_core::{OrderSide, OrderType};

    fn order(id: OrderId, asset: u32) -> Order {
        Order::new(id, asset, OrderSide::Buy, OrderType::Market, 10.7, 0)
    }

    #[test]
    fn ids_index_the_book_and_closed_orders_leave_the_pending_list_at_the_end_of_a_pass() {
        let mut book = OrderBook::default();
        for asset in 0..3 {
            let id = book.next_id();
            book.insert(order(id, asset));
        }
        assert_eq!(book.pending_ids(), &[1, 2, 3]);
        assert!(book.get(0).is_none() && book.get(4).is_none());
        book.cancel_pending_where(CancelReason::PositionReversal, Some(5), |o| o.asset != 1);
        // Still listed during the pass, cancelled in state.
        assert_eq!(book.pending_ids(), &[1, 2, 3]);
        assert_eq!(book[1].status, OrderStatus::Cancelled);
        assert_eq!(book[3].extras().cancelled_at.get(), Some(5));
        book.mark_rejected(2, Refusal::QuantityRoundsToZero, true);
        assert_eq!(book[2].quantity, 10.0);
        book.drop_closed();
        assert!(book.pending_ids().is_empty());
        assert_eq!(book[2].rejection_reason.as_ref().unwrap().to_string(), "Quantity rounds to zero (share_type=INTEGER)");
    }

    #[test]
    fn remove_pending_only_once() {
        let mut book = OrderBook::default();
        book.insert(order(1, 0));
        assert!(book.remove_pending(1));
        assert!(!book.remove_pending(1));
        assert!(!book.is_pending(1));
    }

    #[test]
    #[should_panic(expected = "order 7 is not in the book")]
    fn an_id_the_book_never_handed_out_is_a_bug() {
        let book = OrderBook::default();
        let _ = &book[7];
    }
}
