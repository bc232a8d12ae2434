//! The order book: every order of the run by id, the pending set in
//! submission order, and the state changes an order goes through (pending ->
//! filled, cancelled or rejected). Knows nothing of prices or accounts.

mod book;
mod request;

pub use book::OrderBook;
pub(crate) use book::BookSavepoint;
pub use request::{OrderRequest, OrderUpdate, SubmitOutcome, MIN_ORDER_QUANTITY};
