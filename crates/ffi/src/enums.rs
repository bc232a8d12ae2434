//! Enum codes for the generated header.

use nl_core::{
    CancelReason, ConditionalOrderMode, EntryOrderPriority, ExecutionMode, ExecutionPrice, ExitReason,
    FillOrdering, InitialHwmSource, StopFillMode, StopLevelBasis, TrailStopTiming, WaterMarkSource,
    LimitGapFill, OrderSide, OrderStatus, OrderType, ShareType, TimeInForce, TradeStatus,
};

// Exported only so cbindgen emits the enums' codes into the header.
#[no_mangle]
pub extern "C" fn nl_enum_codes(
    _a: OrderSide,
    _b: OrderType,
    _c: OrderStatus,
    _d: ExecutionMode,
    _e: ExecutionPrice,
    _f: ShareType,
    _g: TradeStatus,
    _h: ConditionalOrderMode,
    _i: LimitGapFill,
    _j: FillOrdering,
    _k: EntryOrderPriority,
    _l: TimeInForce,
    _m: CancelReason,
    _n: ExitReason,
    _o: StopFillMode,
    _p: StopLevelBasis,
    _q: TrailStopTiming,
    _r: WaterMarkSource,
    _s: InitialHwmSource,
) {
}
