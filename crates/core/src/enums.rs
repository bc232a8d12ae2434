//! Trading enums. Discriminants are stable: they cross the C ABI as integers.

use crate::error::EngineError;

macro_rules! c_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $val:expr),+ $(,)? }) => {
        $(#[$m])*
        #[repr(C)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $var = $val),+ }

        impl TryFrom<u32> for $name {
            type Error = EngineError;
            fn try_from(v: u32) -> Result<Self, EngineError> {
                match v {
                    $($val => Ok($name::$var),)+
                    other => Err(EngineError::InvalidArgument(format!(
                        "invalid {} code {}", stringify!($name), other))),
                }
            }
        }
    };
}

c_enum!(
    /// Direction of an order or fill.
    OrderSide { Buy = 1, Sell = 2 }
);

c_enum!(
    /// How an order is priced and triggered.
    OrderType { Market = 0, Limit = 1, Stop = 2, StopLimit = 3, TrailingStop = 4, MarketOnClose = 5 }
);

c_enum!(
    /// Life cycle of an order: PENDING moves to exactly one of the other three.
    OrderStatus { Pending = 0, Filled = 1, Cancelled = 2, Rejected = 3 }
);

c_enum!(
    /// When a market order submitted during a bar fills.
    ExecutionMode {
        /// At this bar's execution price (the close by default).
        SameBar = 0,
        /// At the next bar's open (ml4t-backtest's default).
        NextBar = 1,
    }
);

c_enum!(
    /// Which bar price market orders fill at.
    ExecutionPrice { Open = 0, Close = 1 }
);

c_enum!(
    /// Whether order quantities are floored to whole shares.
    ShareType { Integer = 0, Fractional = 1 }
);

impl OrderSide {
    /// +1 for buys, -1 for sells.
    pub fn sign(self) -> f64 {
        match self {
            OrderSide::Buy => 1.0,
            OrderSide::Sell => -1.0,
        }
    }
}
