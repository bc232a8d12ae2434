//! Value types shared by every nautilus_like crate: enums, ids, orders, fills,
//! positions, trades and the error type. No I/O and no `unsafe` here.
#![forbid(unsafe_code)]

mod enums;
mod error;
mod maybe;
mod model;
mod refusal;

pub use enums::*;
pub use error::{EngineError, EngineResult};
pub use maybe::{MaybeF64, MaybeTime};
pub use model::*;
pub use refusal::Refusal;

/// Index of an asset in the feed's sorted asset list.
pub type AssetId = u32;
/// Index of a timestamp in the feed's sorted timestamp list. Only the
/// simulated venue's data access uses it; every value type carries time as
/// a [`Timestamp`].
pub type BarIndex = u32;
/// A point in time: nanoseconds since 1970-01-01 UTC (a feed without times
/// numbers its bars 0, 1, 2, ... nanoseconds).
pub type Timestamp = i64;
/// Orders are numbered 1, 2, 3, ... in submission order ("ORD-1" in Python).
pub type OrderId = u64;

/// Quantities at or below this are treated as zero (as ml4t-backtest does).
pub const QTY_EPSILON: f64 = 1e-9;

/// Appends `record` to a list that only grows during a run (orders, fills,
/// trades), growing it four-fold when full. Growing copies what the list
/// holds into new pages; four-fold steps copy a third of what doubling
/// copies, and capacity never written is only address space, not memory.
pub fn push_record<T>(records: &mut Vec<T>, record: T) {
    if records.len() == records.capacity() {
        records.reserve(records.len().max(16) * 3);
    }
    records.push(record);
}
