//! Trading fees of prediction-market venues (Kalshi, ForecastEx, Polymarket
//! US), as ml4t-backtest 0.2.0 models them.
//!
//! Prices are dollars per contract in `[0, 1]`; a contract pays 1.00 at
//! settlement. The quadratic formulas use `p * (1 - p)`, symmetric in YES
//! and NO, so a fee needs no YES/NO flag. Fees are computed in micro-dollars
//! where a venue rounds, so that exact decimal fees (1.75 for 100 contracts at
//! 0.50) are not bumped a micro-dollar by binary float noise.
//!
//! One formula serves both the engine's commission models
//! (`CommissionModel::Kalshi` and friends) and the vectorised research
//! functions of `nautilus_like.prediction_market_fees`.

use nl_core::{EngineError, EngineResult};

const MICRO: f64 = 1_000_000.0;

/// Kalshi's general trading fee rate: `round_up(M * 0.07 * C * P * (1 - P))`.
pub const KALSHI_TAKER_RATE: f64 = 0.07;

/// Balance precision of a Kalshi member, in micro-dollars: the balance
/// change of a fill is aligned down to it and the difference added to the fee.
pub const KALSHI_CENT_PRECISION_MICRO: f64 = 10_000.0;
pub const KALSHI_DIRECT_PRECISION_MICRO: f64 = 100.0;

/// A value that is an integer in exact arithmetic but carries float noise
/// (`0.07 * 100 * 0.25 * 1e6` is `1750000.0000000002`) is that integer:
/// within 1e-12 relative (floor 1e3 units) of the nearest integer.
fn snap(units: f64) -> f64 {
    let nearest = units.round_ties_even();
    let tolerance = 1e-12 * units.abs().max(1e3);
    if (units - nearest).abs() <= tolerance {
        nearest
    } else {
        units
    }
}

/// The price and contract count of one fill, checked as the venues' inputs.
pub fn check_fill(price: f64, contracts: f64) -> EngineResult<()> {
    if !price.is_finite() {
        return Err(EngineError::InvalidArgument(format!("price must be finite, got {price}")));
    }
    if !(0.0..=1.0).contains(&price) {
        return Err(EngineError::InvalidArgument(format!(
            "price must be in [0, 1] dollars per contract, got {price}")));
    }
    if !contracts.is_finite() {
        return Err(EngineError::InvalidArgument(format!("contracts must be finite, got {contracts}")));
    }
    if contracts < 0.0 {
        return Err(EngineError::InvalidArgument(format!(
            "contracts must be non-negative; pass the direction as side, got {contracts}")));
    }
    Ok(())
}

/// One Kalshi fill in micro-dollars: `(trade fee, rounding fee)`.
///
/// `coefficient` is `M * 0.07 * maker factor` (the factor is 1 for a taker),
/// multiplied in that order by the caller so the float result is the
/// venue formula's; `precision_micro` is 0 for exact fees (no balance
/// alignment), else the member's balance precision. A buy pays the
/// notional, a sell receives it: the alignment is of the balance change.
pub fn kalshi_fill_micro(coefficient: f64, contracts: f64, price: f64, buy: bool, precision_micro: f64) -> (f64, f64) {
    let trade = (snap(coefficient * contracts * price * (1.0 - price) * MICRO)).ceil();
    if precision_micro == 0.0 {
        return (trade, 0.0);
    }
    let notional = snap(price * contracts * MICRO);
    let revenue = if buy { -notional } else { notional };
    let before_alignment = revenue - trade;
    let aligned = snap(before_alignment / precision_micro).floor() * precision_micro;
    (trade, before_alignment - aligned)
}

/// Kalshi's fee of one fill treated as a one-fill order, in dollars.
pub fn kalshi_fee(coefficient: f64, contracts: f64, price: f64, buy: bool, precision_micro: f64) -> f64 {
    let (trade, rounding) = kalshi_fill_micro(coefficient, contracts, price, buy, precision_micro);
    (trade + rounding) / MICRO
}

/// Net fees of the fills of one Kalshi order, in execution order, in
/// dollars. Rounding overpayments accumulate over the order; whenever a whole
/// precision step has accumulated, whole steps are rebated on that fill,
/// never more than the fill's own charge.
pub fn kalshi_order_fees(fills_micro: &[(f64, f64)], precision_micro: f64) -> Vec<f64> {
    if precision_micro == 0.0 {
        return fills_micro.iter().map(|&(trade, _)| trade / MICRO).collect();
    }
    let mut accumulated = 0.0;
    fills_micro
        .iter()
        .map(|&(trade, overpayment)| {
            let charged = trade + overpayment;
            accumulated += overpayment;
            let steps = snap(accumulated / precision_micro).floor().min(snap(charged / precision_micro).floor());
            let rebate = steps * precision_micro;
            accumulated -= rebate;
            (charged - rebate) / MICRO
        })
        .collect()
}

/// ForecastEx: a flat fee per contract per side (exchange fee plus broker
/// commission), whatever the price.
pub fn forecastex_fee(per_contract: f64, contracts: f64) -> f64 {
    per_contract * contracts
}

/// Polymarket US: `coefficient * C * p * (1 - p)`, a negative coefficient
/// being a maker rebate. With `cent`, each fill rounds to 0.01
/// half-to-even, as the venue charges it.
pub fn polymarket_us_fee(coefficient: f64, contracts: f64, price: f64, cent: bool) -> f64 {
    let fee = coefficient * contracts * price * (1.0 - price);
    if cent {
        (snap(fee * 200.0) / 2.0).round_ties_even() / 100.0
    } else {
        fee
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kalshi_taker_fee_at_the_peak_is_exact() {
        // 0.07 * 100 * 0.5 * 0.5 = 1.75 exactly, not a micro-dollar more.
        assert_eq!(kalshi_fee(KALSHI_TAKER_RATE, 100.0, 0.5, true, 0.0), 1.75);
        // One contract: 0.0175; a cent member pays 0.02 (balance -0.5175 aligned down to -0.52).
        assert_eq!(kalshi_fee(KALSHI_TAKER_RATE, 1.0, 0.5, true, 0.0), 0.0175);
        assert_eq!(kalshi_fee(KALSHI_TAKER_RATE, 1.0, 0.5, true, KALSHI_CENT_PRECISION_MICRO), 0.02);
    }

    #[test]
    fn kalshi_sell_alignment_uses_the_received_notional() {
        // Sell 1 at 0.055: fee ceil(0.07*0.055*0.945 e6) = 3639 micro; balance +55000-3639 = 51361
        // aligned down to 50000 -> rounding 1361; total 5000 micro = 0.005.
        assert_eq!(kalshi_fee(KALSHI_TAKER_RATE, 1.0, 0.055, false, KALSHI_CENT_PRECISION_MICRO), 0.005);
    }

    #[test]
    fn kalshi_order_rebates_whole_steps_of_accumulated_overpayment() {
        // Three fills overpaying 4000 micro each on a 10000-micro fee: 14000, 14000, then
        // the accumulator holds 12000 -> one cent rebated on the third (2000 carried).
        let fills = [(10000.0, 4000.0), (10000.0, 4000.0), (10000.0, 4000.0)];
        let net = kalshi_order_fees(&fills, KALSHI_CENT_PRECISION_MICRO);
        assert_eq!(net, vec![0.014, 0.014, 0.004]);
        // A rebate never exceeds the fill's own charge in whole steps: a 6000-micro
        // charge (less than a cent) gets nothing back even with 12000 accumulated.
        let small = [(2000.0, 4000.0), (2000.0, 4000.0), (2000.0, 4000.0)];
        assert_eq!(kalshi_order_fees(&small, KALSHI_CENT_PRECISION_MICRO), vec![0.006, 0.006, 0.006]);
        assert_eq!(kalshi_order_fees(&small, 0.0), vec![0.002, 0.002, 0.002]);
    }

    #[test]
    fn polymarket_cent_rounding_is_half_to_even() {
        // 0.0695 * 1000 * 0.25 = 17.375 -> 17.38 (half-even on 1737.5 cents rounds to 1738).
        assert_eq!(polymarket_us_fee(0.0695, 1000.0, 0.5, true), 17.38);
        // 0.0125 rebate: -0.0125 * 1000 * 0.09 = -1.125 -> -1.12 (half to even).
        assert_eq!(polymarket_us_fee(-0.0125, 1000.0, 0.1, true), -1.12);
    }

    #[test]
    fn fills_outside_the_schedule_are_refused() {
        assert!(check_fill(1.01, 1.0).is_err());
        assert!(check_fill(f64::NAN, 1.0).is_err());
        assert!(check_fill(0.5, -1.0).is_err());
        assert!(check_fill(0.5, 3.0).is_ok());
        assert_eq!(forecastex_fee(0.01, 25.0), 0.25);
    }
}
