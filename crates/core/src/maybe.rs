//! Optional prices and times in 8 bytes instead of `Option`'s 16.
//!
//! A run keeps one `Order` per order and one `Fill` per fill, and every byte
//! of them is paged in and copied as the lists grow; their optional fields
//! use these. Read them with `get()` (an `Option`), write them with `some`,
//! `NONE` or `From<Option<_>>`.

use crate::Timestamp;

/// A price, quantity or notional that may be absent: NaN stands for none.
/// (The engine never stores a NaN one: a value of NaN reads back as none.)
#[derive(Debug, Clone, Copy)]
pub struct MaybeF64(f64);

impl MaybeF64 {
    pub const NONE: MaybeF64 = MaybeF64(f64::NAN);

    pub fn some(value: f64) -> Self {
        MaybeF64(value)
    }

    pub fn get(self) -> Option<f64> {
        (!self.0.is_nan()).then_some(self.0)
    }

    pub fn is_some(self) -> bool {
        !self.0.is_nan()
    }

    pub fn is_none(self) -> bool {
        self.0.is_nan()
    }

    /// The value, NaN when none (what the C ABI's value structs carry).
    pub fn or_nan(self) -> f64 {
        self.0
    }
}

impl Default for MaybeF64 {
    fn default() -> Self {
        Self::NONE
    }
}

impl From<Option<f64>> for MaybeF64 {
    fn from(value: Option<f64>) -> Self {
        value.map_or(Self::NONE, MaybeF64)
    }
}

impl PartialEq for MaybeF64 {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

/// A time that may be absent: `Timestamp::MIN` stands for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaybeTime(Timestamp);

impl MaybeTime {
    pub const NONE: MaybeTime = MaybeTime(Timestamp::MIN);

    pub fn some(t: Timestamp) -> Self {
        MaybeTime(t)
    }

    pub fn get(self) -> Option<Timestamp> {
        (self.0 != Timestamp::MIN).then_some(self.0)
    }

    pub fn is_some(self) -> bool {
        self.0 != Timestamp::MIN
    }

    pub fn is_none(self) -> bool {
        self.0 == Timestamp::MIN
    }

    /// The time, `Timestamp::MIN` when none (the C ABI's `NL_NO_TIME`).
    pub fn or_min(self) -> Timestamp {
        self.0
    }
}

impl Default for MaybeTime {
    fn default() -> Self {
        Self::NONE
    }
}

impl From<Option<Timestamp>> for MaybeTime {
    fn from(value: Option<Timestamp>) -> Self {
        value.map_or(Self::NONE, MaybeTime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_and_some_read_back_as_options() {
        assert_eq!(MaybeF64::NONE.get(), None);
        assert_eq!(MaybeF64::some(101.5).get(), Some(101.5));
        assert_eq!(MaybeF64::from(Some(-0.0)).get(), Some(-0.0));
        assert_eq!(MaybeF64::from(None), MaybeF64::NONE);
        assert!(MaybeF64::NONE.or_nan().is_nan());
        assert_eq!(MaybeTime::NONE.get(), None);
        assert_eq!(MaybeTime::some(0).get(), Some(0));
        assert_eq!(MaybeTime::from(Some(-5)).get(), Some(-5));
        assert_eq!(MaybeTime::NONE.or_min(), i64::MIN);
        assert_eq!(std::mem::size_of::<MaybeF64>(), 8);
        assert_eq!(std::mem::size_of::<MaybeTime>(), 8);
    }
}
