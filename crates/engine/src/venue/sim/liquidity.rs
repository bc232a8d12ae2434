//! Liquidity: how much of an order one bar can fill (volume participation
//! limits) and how far the order itself moves the price (market impact).
//! Formulas are ml4t-backtest 0.2.0's `execution/limits.py` and `impact.py`.

use nl_core::{EngineError, EngineResult};

/// How much of an order a bar can fill. With any limit, an order fills at
/// most once per bar; what is left stays pending for later bars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ExecutionLimit {
    None,
    /// At most `max_participation` of the bar's volume, nothing on a bar whose
    /// volume is below `min_volume`.
    VolumeParticipation { max_participation: f64, min_volume: f64 },
}

impl ExecutionLimit {
    pub fn validate(&self) -> EngineResult<()> {
        match *self {
            ExecutionLimit::None => Ok(()),
            ExecutionLimit::VolumeParticipation { max_participation, min_volume } => {
                if !(max_participation.is_finite() && max_participation >= 0.0) {
                    return Err(EngineError::InvalidArgument(format!(
                        "max_participation must be finite and >= 0, got {max_participation}")));
                }
                if !(min_volume.is_finite() && min_volume >= 0.0) {
                    return Err(EngineError::InvalidArgument(format!(
                        "min_volume must be finite and >= 0, got {min_volume}")));
                }
                Ok(())
            }
        }
    }

    pub fn is_limited(&self) -> bool {
        !matches!(self, ExecutionLimit::None)
    }

    /// The quantity of an order for `quantity` that a bar with `volume` fills.
    pub fn fillable(&self, quantity: f64, volume: f64) -> f64 {
        match *self {
            ExecutionLimit::None => quantity,
            ExecutionLimit::VolumeParticipation { max_participation, min_volume } => {
                if volume < min_volume {
                    0.0
                } else {
                    quantity.min(volume * max_participation)
                }
            }
        }
    }
}

/// Adverse price move caused by the order, added to the base price before
/// slippage (up for buys, down for sells). Nothing without volume, except a
/// power law's minimum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MarketImpact {
    None,
    /// `coefficient * (quantity / volume) * price`.
    Linear { coefficient: f64 },
    /// `coefficient * volatility * sqrt(quantity / (volume * adv_factor)) * price`.
    SquareRoot { coefficient: f64, volatility: f64, adv_factor: f64 },
    /// `max(coefficient * (quantity / volume)^exponent * price, min_impact)`.
    PowerLaw { coefficient: f64, exponent: f64, min_impact: f64 },
}

impl MarketImpact {
    pub fn validate(&self) -> EngineResult<()> {
        let fields: &[(&str, f64)] = match self {
            MarketImpact::None => &[],
            MarketImpact::Linear { coefficient } => &[("coefficient", *coefficient)],
            MarketImpact::SquareRoot { coefficient, volatility, adv_factor } => {
                &[("coefficient", *coefficient), ("volatility", *volatility), ("adv_factor", *adv_factor)]
            }
            MarketImpact::PowerLaw { coefficient, exponent, min_impact } => {
                &[("coefficient", *coefficient), ("exponent", *exponent), ("min_impact", *min_impact)]
            }
        };
        for &(name, v) in fields {
            if !(v.is_finite() && v >= 0.0) {
                return Err(EngineError::InvalidArgument(format!("{name} must be finite and >= 0, got {v}")));
            }
        }
        Ok(())
    }

    /// Signed impact in price units: >= 0 for buys, <= 0 for sells.
    pub fn impact(&self, quantity: f64, price: f64, volume: f64, is_buy: bool) -> f64 {
        let no_volume = volume.is_nan() || volume == 0.0;
        let magnitude = match *self {
            MarketImpact::None => return 0.0,
            MarketImpact::Linear { coefficient } => {
                if no_volume {
                    return 0.0;
                }
                coefficient * (quantity / volume) * price
            }
            MarketImpact::SquareRoot { coefficient, volatility, adv_factor } => {
                if no_volume {
                    return 0.0;
                }
                let participation = quantity / (volume * adv_factor);
                coefficient * volatility * participation.sqrt() * price
            }
            MarketImpact::PowerLaw { coefficient, exponent, min_impact } => {
                if no_volume {
                    min_impact
                } else {
                    (coefficient * (quantity / volume).powf(exponent) * price).max(min_impact)
                }
            }
        };
        if is_buy {
            magnitude
        } else {
            -magnitude
        }
    }
}
