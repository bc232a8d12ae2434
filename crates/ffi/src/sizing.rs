//! The engine's pure P&L formulas (`nl_engine::sizing`) for the Cython layer,
//! which values positions outside a run step (the views handed to Python rules).

use nl_engine::sizing;

use crate::error::{guard, NlStatus};
use crate::handles::write;

/// A position's unrealized P&L and direction-aware return on entry at `price`
/// (`quantity` signed; ml4t-backtest's `unrealized_pnl` / `pnl_percent`).
///
/// # Safety
/// `out_pnl` and `out_return` must be valid for writing.
#[no_mangle]
pub unsafe extern "C" fn nl_position_unrealized(
    entry_price: f64,
    price: f64,
    quantity: f64,
    multiplier: f64,
    out_pnl: *mut f64,
    out_return: *mut f64,
) -> NlStatus {
    guard(|| {
        write(out_pnl, sizing::unrealized_pnl(entry_price, price, quantity, multiplier))?;
        write(out_return, sizing::return_on_entry(entry_price, price, quantity))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_a_position_through_the_c_entry_point() {
        let (mut q, mut v) = (f64::NAN, f64::NAN);
        // Short 10 from $100 to $90, multiplier 2: +$200, +10%.
        assert_eq!(unsafe { nl_position_unrealized(100.0, 90.0, -10.0, 2.0, &mut q, &mut v) }, NlStatus::Ok);
        assert_eq!((q, v), (200.0, 0.1));
    }
}
