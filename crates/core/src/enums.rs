//! Trading enums. Discriminants are stable: they cross the C ABI as integers.
//! The ones orders, fills and trades store are one byte (`repr(u8)`): a run
//! keeps one of those records per order and fill.
//! (Declared without macros so cbindgen can see them.)

use crate::error::EngineError;

/// Direction of an order or fill.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderSide {
    Buy = 1,
    Sell = 2,
}

/// How an order is priced and triggered.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderType {
    Market = 0,
    Limit = 1,
    Stop = 2,
    StopLimit = 3,
    TrailingStop = 4,
    MarketOnClose = 5,
}

/// Life cycle of an order: PENDING moves to exactly one of the other three.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Pending = 0,
    Filled = 1,
    Cancelled = 2,
    Rejected = 3,
}

/// When a market order submitted during a bar fills.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionMode {
    /// At this bar's execution price (the close by default).
    SameBar = 0,
    /// At the next bar's open (ml4t-backtest's default).
    NextBar = 1,
}

/// Which bar price an order fills at (also reported as a fill's price source).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionPrice {
    Open = 0,
    Close = 1,
    /// The feed's reference price column (the close unless configured otherwise).
    Price = 2,
    /// (high + low) / 2.
    Mid = 3,
    /// The bar's volume-weighted average price (no fill on a bar without one).
    Vwap = 4,
    /// The bid (else the reference price).
    Bid = 5,
    /// The ask (else the reference price).
    Ask = 6,
    /// The quote midpoint (else the reference price).
    QuoteMid = 7,
    /// Buys at the ask, sells at the bid (else the reference price).
    QuoteSide = 8,
}

/// Whether a round trip is fully closed or one reduction of a larger position.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TradeStatus {
    Closed = 0,
    Partial = 1,
}

/// What stop and limit triggers compare against.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConditionalOrderMode {
    /// The fill bar's high and low (ml4t-backtest's default).
    BarOhlc = 0,
    /// Only the execution price of the pass (Zipline style).
    ExecutionPrice = 1,
}

/// The price of a limit order whose bar opens already through its limit.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitGapFill {
    /// The limit price (ml4t-backtest's rule; can lie outside the bar's range).
    Limit = 0,
    /// The open: the price improvement a real venue gives.
    Open = 1,
}

/// Whether order quantities are floored to whole shares.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ShareType {
    Integer = 0,
    Fractional = 1,
}

/// The order in which one matching pass visits pending orders.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FillOrdering {
    /// Exits, then a mark, then entries (sorted by `EntryOrderPriority`).
    ExitFirst = 0,
    /// Submission order; positions are marked after every fill.
    Fifo = 1,
    /// Submission order, exits and entries interleaved (LEAN's model; the
    /// same as FIFO without submission-time buying-power reservation).
    Sequential = 2,
    /// Every order sorted by `EntryOrderPriority`, then as FIFO.
    Priority = 3,
}

/// How entries compete for cash within one pass.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryOrderPriority {
    Submission = 0,
    NotionalDesc = 1,
    NotionalAsc = 2,
    /// Estimated cash use: notional plus commission, minus what a covering
    /// or reducing leg frees.
    FreeCashAsc = 3,
    /// Signed order value: sells (negative) before buys, each ascending.
    OrderValueAsc = 4,
}

/// How long an unfilled order stays working.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeInForce {
    /// Until filled or cancelled (ml4t-backtest's only behaviour).
    Gtc = 0,
    /// Through the session (calendar date) of the first bar on which the
    /// order can execute; cancelled at that session's last bar.
    Day = 1,
    /// Immediate or cancel: what does not fill in the first pass in which
    /// the order can execute is cancelled.
    Ioc = 2,
    /// Fill or kill: the whole quantity in the first pass in which the order
    /// can execute, or nothing (cancelled).
    Fok = 3,
}

/// Why an order was cancelled.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CancelReason {
    /// `cancel_order` (or a bracket sibling cancelled by the user).
    User = 0,
    /// A fill reversed the position the order was sized for.
    PositionReversal = 1,
    /// A sibling exit of the same bracket filled (one-cancels-other).
    Oco = 2,
    /// A DAY order's session ended.
    DayExpired = 3,
    /// An IOC order's first pass ended.
    ImmediateOrCancel = 4,
    /// A FOK order could not fill completely in its first pass.
    FillOrKill = 5,
    /// Cash could not pay for it and `reject_on_insufficient_cash` is off.
    InsufficientCash = 6,
    /// The engine liquidated the asset on a margin call.
    MarginCall = 7,
    /// A portfolio limit liquidated or reduced the positions.
    PortfolioLimit = 8,
    /// `CancelPolicy.SESSION_END`: the exchange session it was submitted in closed.
    SessionEnd = 9,
}

/// Why a fill reduced or closed a position.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitReason {
    /// The strategy's own order.
    Signal = 0,
    StopLoss = 1,
    TakeProfit = 2,
    TrailingStop = 3,
    TimeStop = 4,
    RiskLiquidation = 5,
    EndOfData = 6,
    /// The engine liquidated it on a maintenance-margin breach.
    MarginCall = 7,
}

impl ExitReason {
    /// Of two reasons, the one ml4t's keyword precedence names first when a
    /// description mentions both (stop loss, take profit, trailing, time,
    /// liquidation, end of data; a plain signal last).
    pub fn strongest(self, other: ExitReason) -> ExitReason {
        fn rank(r: ExitReason) -> u8 {
            match r {
                ExitReason::StopLoss => 0,
                ExitReason::TakeProfit => 1,
                ExitReason::TrailingStop => 2,
                ExitReason::TimeStop => 3,
                ExitReason::RiskLiquidation => 4,
                ExitReason::EndOfData => 5,
                ExitReason::MarginCall => 6,
                ExitReason::Signal => 7,
            }
        }
        if rank(other) < rank(self) { other } else { self }
    }
}

/// The price a triggered stop or take-profit rule fills at.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopFillMode {
    /// The level (the open when the bar opened through it; the close when
    /// only the close reached it).
    StopPrice = 0,
    /// The bar's close.
    ClosePrice = 1,
    /// The bar's low (long stop, short target) or high.
    BarExtreme = 2,
    /// The next bar's open.
    NextBarOpen = 3,
}

/// What stop and take-profit levels are measured from.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopLevelBasis {
    /// The entry fill price.
    FillPrice = 0,
    /// The reference price when the entry order was submitted (Backtrader).
    SignalPrice = 1,
}

/// When a trailing stop's water mark includes the current bar.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrailStopTiming {
    /// The water mark up to the previous bar (ml4t-backtest's default).
    Lagged = 0,
    /// The water mark including this bar's extreme.
    Intrabar = 1,
    /// VectorBT Pro's two passes: the lagged mark against the bar's range,
    /// then the updated mark against the close only.
    VbtPro = 2,
}

/// What updates a position's water marks after its entry bar.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaterMarkSource {
    /// The close (ml4t-backtest's default).
    Close = 0,
    /// The bar's high (high-water mark) and low (low-water mark).
    BarExtreme = 1,
}

/// A new position's starting water marks.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InitialHwmSource {
    FillPrice = 0,
    BarClose = 1,
    /// The entry bar's high (and low for the low-water mark).
    BarHigh = 2,
    SignalPrice = 3,
}

/// Implements `TryFrom<u32>` so integer codes from C are checked, never transmuted.
macro_rules! try_from_code {
    ($name:ident { $($var:ident),+ }) => {
        impl TryFrom<u32> for $name {
            type Error = EngineError;
            fn try_from(v: u32) -> Result<Self, EngineError> {
                $(if v == $name::$var as u32 { return Ok($name::$var); })+
                Err(EngineError::InvalidArgument(format!("invalid {} code {}", stringify!($name), v)))
            }
        }
    };
}

try_from_code!(OrderSide { Buy, Sell });
try_from_code!(OrderType { Market, Limit, Stop, StopLimit, TrailingStop, MarketOnClose });
try_from_code!(OrderStatus { Pending, Filled, Cancelled, Rejected });
try_from_code!(ExecutionMode { SameBar, NextBar });
try_from_code!(ExecutionPrice { Open, Close, Price, Mid, Vwap, Bid, Ask, QuoteMid, QuoteSide });
try_from_code!(ShareType { Integer, Fractional });
try_from_code!(ConditionalOrderMode { BarOhlc, ExecutionPrice });
try_from_code!(LimitGapFill { Limit, Open });
try_from_code!(FillOrdering { ExitFirst, Fifo, Sequential, Priority });
try_from_code!(EntryOrderPriority { Submission, NotionalDesc, NotionalAsc, FreeCashAsc, OrderValueAsc });
try_from_code!(TimeInForce { Gtc, Day, Ioc, Fok });
try_from_code!(ExitReason { Signal, StopLoss, TakeProfit, TrailingStop, TimeStop, RiskLiquidation, EndOfData, MarginCall });
try_from_code!(StopFillMode { StopPrice, ClosePrice, BarExtreme, NextBarOpen });
try_from_code!(StopLevelBasis { FillPrice, SignalPrice });
try_from_code!(TrailStopTiming { Lagged, Intrabar, VbtPro });
try_from_code!(WaterMarkSource { Close, BarExtreme });
try_from_code!(InitialHwmSource { FillPrice, BarClose, BarHigh, SignalPrice });
try_from_code!(CancelReason { User, PositionReversal, Oco, DayExpired, ImmediateOrCancel, FillOrKill, InsufficientCash, MarginCall, PortfolioLimit, SessionEnd });

impl OrderSide {
    /// +1 for buys, -1 for sells.
    pub fn sign(self) -> f64 {
        match self {
            OrderSide::Buy => 1.0,
            OrderSide::Sell => -1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_bad_codes_are_errors() {
        assert_eq!(OrderSide::try_from(2).unwrap(), OrderSide::Sell);
        assert_eq!(OrderType::try_from(5).unwrap(), OrderType::MarketOnClose);
        assert!(OrderSide::try_from(0).is_err());
        assert!(ExecutionMode::try_from(7).is_err());
    }
}
