//! Prediction-market venue fees over arrays of fills, for the vectorised
//! research functions of `nautilus_like.prediction_market_fees` (the engine's
//! commission models use the same formulas one fill at a time).

use nl_core::EngineError;
use nl_engine::prediction_fees::{check_fill, forecastex_fee, kalshi_fill_micro, kalshi_order_fees, polymarket_us_fee};

use crate::error::{guard, null_error, NlStatus};

/// Venues for [`nl_prediction_fees`].
pub const NL_VENUE_KALSHI: u32 = 0;
pub const NL_VENUE_FORECASTEX: u32 = 1;
pub const NL_VENUE_POLYMARKET_US: u32 = 2;

/// Writes the fee of each of `n` fills to `out` (dollars; a Polymarket maker
/// rebate is negative). Per fill: `price` in [0, 1], `contracts` >= 0,
/// `coefficient` (Kalshi: `M * 0.07 * maker factor`; ForecastEx: the fee per
/// contract; Polymarket US: the signed coefficient) and `buy` (Kalshi's
/// balance alignment; may be null for the other venues). `precision`:
/// Kalshi's balance precision in micro-dollars (0: exact), Polymarket US > 0
/// rounds each fill to the cent. `one_order`: the fills are one Kalshi
/// order, whose accumulated rounding overpayment is rebated in whole steps.
///
/// # Safety
/// Every array pointer must be valid for `n` elements (`buy` may be null
/// unless `venue` is Kalshi); `out` valid for writing `n` doubles.
#[no_mangle]
pub unsafe extern "C" fn nl_prediction_fees(
    venue: u32,
    n: usize,
    price: *const f64,
    contracts: *const f64,
    coefficient: *const f64,
    buy: *const u8,
    precision: f64,
    one_order: bool,
    out: *mut f64,
) -> NlStatus {
    guard(|| {
        if n == 0 {
            return Ok(());
        }
        if price.is_null() || contracts.is_null() || coefficient.is_null() || out.is_null() {
            return Err(null_error("fee arrays").into());
        }
        let price = std::slice::from_raw_parts(price, n);
        let contracts = std::slice::from_raw_parts(contracts, n);
        let coefficient = std::slice::from_raw_parts(coefficient, n);
        let out = std::slice::from_raw_parts_mut(out, n);
        for i in 0..n {
            check_fill(price[i], contracts[i])?;
        }
        match venue {
            NL_VENUE_KALSHI => {
                if buy.is_null() {
                    return Err(null_error("buy flags").into());
                }
                let buy = std::slice::from_raw_parts(buy, n);
                let fills: Vec<(f64, f64)> = (0..n)
                    .map(|i| kalshi_fill_micro(coefficient[i], contracts[i], price[i], buy[i] != 0, precision))
                    .collect();
                let fees = if one_order {
                    kalshi_order_fees(&fills, precision)
                } else {
                    fills.iter().map(|&(trade, rounding)| (trade + rounding) / 1_000_000.0).collect()
                };
                out.copy_from_slice(&fees);
            }
            NL_VENUE_FORECASTEX => {
                for i in 0..n {
                    out[i] = forecastex_fee(coefficient[i], contracts[i]);
                }
            }
            NL_VENUE_POLYMARKET_US => {
                for i in 0..n {
                    out[i] = polymarket_us_fee(coefficient[i], contracts[i], price[i], precision > 0.0);
                }
            }
            other => return Err(EngineError::InvalidArgument(format!("invalid prediction-market venue {other}")).into()),
        }
        Ok(())
    })
}
