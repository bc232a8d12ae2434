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
pub use refusal::{RejectionCode, Refusal};

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
/// trades), growing it four-fold when full while it holds less than 64 MB,
/// then doubling (as `Vec` does). Growing copies what the list holds into
/// new pages; four-fold steps copy a third of what doubling copies, and
/// capacity never written is only address space, not memory (the cap keeps
/// that address space within 4x of 64 MB, then 2x of what is held).
pub fn push_record<T>(records: &mut Vec<T>, record: T) {
    if records.len() == records.capacity() {
        let len = records.len().max(16);
        let small = len.saturating_mul(std::mem::size_of::<T>()) < (64 << 20);
        records.reserve(if small { len * 3 } else { len });
    }
    records.push(record);
}

#[cfg(test)]
mod tests {
    #[test]
    fn record_lists_grow_four_fold_then_double() {
        let mut small: Vec<u64> = Vec::new();
        super::push_record(&mut small, 1);
        assert!(small.capacity() >= 48);
        let full = small.capacity();
        while small.len() < full {
            super::push_record(&mut small, 2);
        }
        super::push_record(&mut small, 3);
        assert!(small.capacity() >= 4 * full);
        // Past 64 MB a full list only doubles: 8 MiB elements of 16 bytes.
        let mut big: Vec<[u64; 2]> = Vec::with_capacity(1 << 22);
        big.resize(1 << 22, [0, 0]);
        super::push_record(&mut big, [1, 1]);
        assert!(big.capacity() >= 1 << 23 && big.capacity() < 1 << 24);
    }
}
