//! Commission and slippage models.

use nl_core::{EngineError, EngineResult};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CommissionModel {
    None,
    /// `rate` times the fill's notional.
    Percentage { rate: f64 },
    /// `per_share` times the quantity, at least `minimum` per fill.
    PerShare { per_share: f64, minimum: f64 },
    /// A flat `fee` per fill.
    PerTrade { fee: f64 },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SlippageModel {
    None,
    /// The price moves against the order by `rate` of itself.
    Percentage { rate: f64 },
    /// The price moves against the order by `amount` per share.
    Fixed { amount: f64 },
}

fn check_non_negative(name: &str, v: f64) -> EngineResult<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(EngineError::InvalidArgument(format!("{name} must be finite and >= 0, got {v}")))
    }
}

impl CommissionModel {
    pub fn validate(&self) -> EngineResult<()> {
        match *self {
            CommissionModel::None => Ok(()),
            CommissionModel::Percentage { rate } => check_non_negative("commission_rate", rate),
            CommissionModel::PerShare { per_share, minimum } => {
                check_non_negative("commission_per_share", per_share)?;
                check_non_negative("commission_minimum", minimum)
            }
            CommissionModel::PerTrade { fee } => check_non_negative("commission_per_trade", fee),
        }
    }

    /// Commission for one fill of `quantity` (unsigned) at `price`.
    pub fn commission(&self, quantity: f64, price: f64) -> f64 {
        match *self {
            CommissionModel::None => 0.0,
            CommissionModel::Percentage { rate } => quantity * price * rate,
            CommissionModel::PerShare { per_share, minimum } => (quantity * per_share).max(minimum),
            CommissionModel::PerTrade { fee } => fee,
        }
    }
}

impl SlippageModel {
    pub fn validate(&self) -> EngineResult<()> {
        match *self {
            SlippageModel::None => Ok(()),
            SlippageModel::Percentage { rate } => check_non_negative("slippage_rate", rate),
            SlippageModel::Fixed { amount } => check_non_negative("slippage_fixed", amount),
        }
    }

    /// Per-share price adjustment (>= 0) that the order pays on top of `price`.
    pub fn per_share(&self, price: f64) -> f64 {
        match *self {
            SlippageModel::None => 0.0,
            SlippageModel::Percentage { rate } => price * rate,
            SlippageModel::Fixed { amount } => amount,
        }
    }

}
