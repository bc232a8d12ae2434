//! Liquidity: how much of an order one bar can fill (volume participation
//! limits) and how far the order itself moves the price (market impact).
//! Formulas are ml4t-backtest 0.2.0's `execution/limits.py` and `impact.py`.

use nl_core::{AssetId, EngineError, EngineResult};

use crate::callback::Callback;

/// How much of an order a bar can fill. With any limit, an order fills at
/// most once per bar; what is left stays pending for later bars.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecutionLimit {
    None,
    /// At most `max_participation` of the bar's volume, nothing on a bar whose
    /// volume is below `min_volume`.
    VolumeParticipation { max_participation: f64, min_volume: f64 },
    /// The whole order, but only on a bar that reports positive volume.
    PositiveVolume,
    /// Per order as `VolumeParticipation` on the bar's traded volume, and all
    /// orders of an asset together at most `shared_participation` (NaN: the
    /// same `max_participation`) of it per bar. Missing or non-finite volume
    /// has no capacity; a quoted size caps each fill as well.
    SharedVolumeParticipation { max_participation: f64, min_volume: f64, shared_participation: f64 },
    /// `base_participation`, lowered by `volatility_factor` per unit of
    /// volatility above `avg_volatility` (raised below it), clamped to
    /// `[min_participation, max_participation]`. The engine has no
    /// volatility, so there it is the clamped base rate.
    AdaptiveParticipation {
        base_participation: f64,
        volatility_factor: f64,
        max_participation: f64,
        min_participation: f64,
        avg_volatility: f64,
    },
    /// A user model (ml4t's `calculate(order_quantity, bar_volume, price)`
    /// protocol, optionally `bar_capacity(bar_volume, price)`).
    Callback(Callback<dyn LimitCallback>),
}

/// What a limit sees of one order on one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitQuery {
    pub asset: AssetId,
    /// What is left of the order (> 0).
    pub quantity: f64,
    /// The execution price before impact and slippage.
    pub price: f64,
    /// The bar's traded volume (NaN: not reported).
    pub volume: f64,
    /// The quoted size on the order's side, else the traded volume (NaN: neither).
    pub available: f64,
    /// Quantity of the asset already filled in this bar (all orders, both sides).
    pub consumed: f64,
}

/// A user's answer for one order: the quantity its `calculate` allows and,
/// for a model with `bar_capacity`, the asset's capacity for this bar (NaN:
/// the model shares no capacity).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitAnswer {
    pub fillable: f64,
    pub capacity: f64,
}

/// A user-supplied limit (a Python object behind the C ABI). `Err` means the
/// callee raised; its exception is kept on the other side of the ABI.
pub trait LimitCallback: Send + Sync {
    fn answer(&self, q: &LimitQuery) -> Result<LimitAnswer, String>;
    fn name(&self) -> String;
}

fn check(name: &str, v: f64, low: f64, high: f64) -> EngineResult<()> {
    if v.is_finite() && v >= low && v <= high {
        Ok(())
    } else if high.is_infinite() {
        Err(EngineError::InvalidArgument(format!("{name} must be finite and >= {low}, got {v}")))
    } else {
        Err(EngineError::InvalidArgument(format!("{name} must be finite and between {low} and {high}, got {v}")))
    }
}

impl ExecutionLimit {
    pub fn validate(&self) -> EngineResult<()> {
        match *self {
            ExecutionLimit::None | ExecutionLimit::PositiveVolume | ExecutionLimit::Callback(_) => Ok(()),
            ExecutionLimit::VolumeParticipation { max_participation, min_volume } => {
                check("max_participation", max_participation, 0.0, f64::INFINITY)?;
                check("min_volume", min_volume, 0.0, f64::INFINITY)
            }
            ExecutionLimit::SharedVolumeParticipation { max_participation, min_volume, shared_participation } => {
                check("max_participation", max_participation, 0.0, 1.0)?;
                check("min_volume", min_volume, 0.0, f64::INFINITY)?;
                if shared_participation.is_nan() {
                    Ok(())
                } else {
                    check("shared_participation", shared_participation, 0.0, 1.0)
                }
            }
            ExecutionLimit::AdaptiveParticipation {
                base_participation, volatility_factor, max_participation, min_participation, avg_volatility,
            } => {
                check("base_participation", base_participation, 0.0, f64::INFINITY)?;
                if !volatility_factor.is_finite() {
                    return Err(EngineError::InvalidArgument(format!(
                        "volatility_factor must be finite, got {volatility_factor}")));
                }
                check("max_participation", max_participation, 0.0, f64::INFINITY)?;
                check("min_participation", min_participation, 0.0, f64::INFINITY)?;
                check("avg_volatility", avg_volatility, 0.0, f64::INFINITY)
            }
        }
    }

    pub fn is_limited(&self) -> bool {
        !matches!(self, ExecutionLimit::None)
    }

    /// The quantity of an order for `quantity` that a bar with `volume` (NaN:
    /// not reported) fills, judging this order alone (a model's `calculate`).
    /// A user model is not called here: see [`ExecutionLimit::fill_now`].
    pub fn fillable(&self, quantity: f64, volume: f64) -> f64 {
        self.fillable_at_volatility(quantity, volume, f64::NAN)
    }

    /// As [`ExecutionLimit::fillable`], with the asset's current `volatility`
    /// (NaN: unknown) for the adaptive rate.
    pub fn fillable_at_volatility(&self, quantity: f64, volume: f64, volatility: f64) -> f64 {
        match *self {
            ExecutionLimit::None | ExecutionLimit::Callback(_) => quantity,
            ExecutionLimit::VolumeParticipation { max_participation, min_volume }
            | ExecutionLimit::SharedVolumeParticipation { max_participation, min_volume, .. } => {
                if volume < min_volume {
                    0.0
                } else {
                    // NaN volume (none reported): `min` keeps the quantity.
                    quantity.min(volume * max_participation)
                }
            }
            ExecutionLimit::PositiveVolume => {
                if volume > 0.0 {
                    quantity
                } else {
                    0.0
                }
            }
            ExecutionLimit::AdaptiveParticipation { .. } if volume.is_nan() => quantity,
            ExecutionLimit::AdaptiveParticipation { .. } => {
                quantity.min(volume * self.adaptive_participation(volatility))
            }
        }
    }

    /// The adaptive limit's participation rate at `volatility` (NaN: unknown);
    /// 0 for the other limits.
    pub fn adaptive_participation(&self, volatility: f64) -> f64 {
        let ExecutionLimit::AdaptiveParticipation {
            base_participation, volatility_factor, max_participation, min_participation, avg_volatility,
        } = *self else { return 0.0 };
        let mut rate = base_participation;
        if !volatility.is_nan() && avg_volatility > 0.0 {
            let adjustment = volatility_factor * (volatility / avg_volatility - 1.0);
            rate *= 1.0 - adjustment;
        }
        min_participation.max(max_participation.min(rate))
    }

    /// The quantity of an asset all orders together may fill in a bar that
    /// traded `volume` (NaN: not reported): `None` for a limit without a
    /// shared budget (a model's `bar_capacity`).
    pub fn bar_capacity(&self, volume: f64) -> Option<f64> {
        match *self {
            ExecutionLimit::SharedVolumeParticipation { max_participation, min_volume, shared_participation } => {
                if !volume.is_finite() || volume < min_volume {
                    return Some(0.0);
                }
                let rate = if shared_participation.is_nan() { max_participation } else { shared_participation };
                Some((volume * rate).max(0.0))
            }
            _ => None,
        }
    }

    /// What the engine fills now of the order in `q` (before whole units):
    /// a shared limit judges the order on the traded volume and then caps it
    /// by what the bar's capacity still holds and by the quoted size; the
    /// others judge it on the size available to its side. A user model's
    /// answers are checked: a quantity outside `[0, quantity]` or a capacity
    /// that is negative or not finite is an error (ml4t's messages).
    pub fn fill_now(&self, q: &LimitQuery) -> EngineResult<f64> {
        let (fillable, capacity) = match self {
            ExecutionLimit::Callback(cb) => {
                let answer = cb.0.answer(q).map_err(EngineError::Callback)?;
                let f = answer.fillable;
                if !f.is_finite() || f < 0.0 || f > q.quantity {
                    return Err(EngineError::InvalidArgument(format!(
                        "Invalid execution quantity from {}: got {f:?}, requested {:?}", cb.0.name(), q.quantity)));
                }
                (f, (!answer.capacity.is_nan()).then_some(answer.capacity))
            }
            ExecutionLimit::SharedVolumeParticipation { .. } => {
                (self.fillable(q.quantity, q.volume), self.bar_capacity(q.volume))
            }
            _ => return Ok(self.fillable(q.quantity, q.available)),
        };
        let Some(capacity) = capacity else { return Ok(fillable) };
        if !capacity.is_finite() || capacity < 0.0 {
            return Err(EngineError::InvalidArgument(format!(
                "Shared volume capacity must be finite and nonnegative, got {capacity:?}")));
        }
        let mut quantity = fillable.min((capacity - q.consumed).max(0.0));
        if !q.available.is_nan() {
            quantity = quantity.min(q.available.max(0.0));
        }
        Ok(quantity)
    }
}

/// Adverse price move caused by the order, added to the base price before
/// slippage (up for buys, down for sells). Nothing without volume, except a
/// power law's minimum.
#[derive(Debug, Clone, PartialEq)]
pub enum MarketImpact {
    None,
    /// `coefficient * (quantity / volume) * price`.
    Linear { coefficient: f64 },
    /// `coefficient * volatility * sqrt(quantity / (volume * adv_factor)) * price`.
    SquareRoot { coefficient: f64, volatility: f64, adv_factor: f64 },
    /// `max(coefficient * (quantity / volume)^exponent * price, min_impact)`.
    PowerLaw { coefficient: f64, exponent: f64, min_impact: f64 },
    /// A user model (ml4t's `calculate(quantity, price, volume, is_buy)`).
    Callback(Callback<dyn ImpactCallback>),
}

/// A user-supplied impact model (a Python object behind the C ABI): the
/// signed price move of an order for `quantity` at `price` with `volume`
/// available (NaN: none). `Err` means the callee raised.
pub trait ImpactCallback: Send + Sync {
    fn impact(&self, asset: AssetId, quantity: f64, price: f64, volume: f64, is_buy: bool) -> Result<f64, String>;
    fn name(&self) -> String;
}

impl MarketImpact {
    pub fn validate(&self) -> EngineResult<()> {
        let fields: &[(&str, f64)] = match self {
            MarketImpact::None | MarketImpact::Callback(_) => &[],
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

    /// The signed impact on `asset` as the engine applies it: a user model's
    /// answer must be finite and adverse (>= 0 for buys, <= 0 for sells;
    /// ml4t's messages name the model).
    pub fn checked_impact(&self, asset: AssetId, quantity: f64, price: f64, volume: f64, is_buy: bool)
        -> EngineResult<f64> {
        let MarketImpact::Callback(cb) = self else { return Ok(self.impact(quantity, price, volume, is_buy)) };
        let v = cb.0.impact(asset, quantity, price, volume, is_buy).map_err(EngineError::Callback)?;
        if !v.is_finite() {
            return Err(EngineError::InvalidArgument(format!(
                "Invalid market impact from {}: expected a finite adverse value, got {v:?}", cb.0.name())));
        }
        if (is_buy && v < 0.0) || (!is_buy && v > 0.0) {
            let expected = if is_buy { ">= 0 for buys" } else { "<= 0 for sells" };
            return Err(EngineError::InvalidArgument(format!(
                "Invalid market impact from {}: expected {expected}, got {v:?}", cb.0.name())));
        }
        Ok(v)
    }

    /// Signed impact in price units: >= 0 for buys, <= 0 for sells. A user
    /// model is not called here (0): see [`MarketImpact::checked_impact`].
    pub fn impact(&self, quantity: f64, price: f64, volume: f64, is_buy: bool) -> f64 {
        let no_volume = volume.is_nan() || volume == 0.0;
        let magnitude = match *self {
            MarketImpact::None | MarketImpact::Callback(_) => return 0.0,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn query(quantity: f64, volume: f64, available: f64, consumed: f64) -> LimitQuery {
        LimitQuery { asset: 0, quantity, price: 100.0, volume, available, consumed }
    }

    const SHARED_HALF: ExecutionLimit = ExecutionLimit::SharedVolumeParticipation {
        max_participation: 0.5, min_volume: 0.0, shared_participation: f64::NAN,
    };

    #[test]
    fn positive_volume_fills_whole_orders_only_on_bars_that_traded() {
        let l = ExecutionLimit::PositiveVolume;
        assert_eq!(l.fillable(500.0, 1.0), 500.0);
        assert_eq!(l.fillable(500.0, 0.0), 0.0);
        assert_eq!(l.fillable(500.0, f64::NAN), 0.0);
        assert_eq!(l.fillable(500.0, -3.0), 0.0);
    }

    #[test]
    fn shared_capacity_is_what_the_bar_traded_times_the_rate() {
        // 10 traded at 50%: 5 for all orders; a separate shared rate of 20%: 2.
        assert_eq!(SHARED_HALF.bar_capacity(10.0), Some(5.0));
        let separate = ExecutionLimit::SharedVolumeParticipation {
            max_participation: 0.5, min_volume: 0.0, shared_participation: 0.2 };
        assert_eq!(separate.bar_capacity(10.0), Some(2.0));
        // No volume, infinite volume, or below the minimum: no capacity.
        assert_eq!(SHARED_HALF.bar_capacity(f64::NAN), Some(0.0));
        assert_eq!(SHARED_HALF.bar_capacity(f64::INFINITY), Some(0.0));
        let min = ExecutionLimit::SharedVolumeParticipation {
            max_participation: 0.5, min_volume: 20.0, shared_participation: f64::NAN };
        assert_eq!(min.bar_capacity(10.0), Some(0.0));
        assert_eq!(ExecutionLimit::VolumeParticipation { max_participation: 0.5, min_volume: 0.0 }.bar_capacity(10.0),
                   None);
    }

    #[test]
    fn competing_orders_share_one_bar_capacity() {
        // Volume 10, 50%: the first order of 10 takes 5, the second finds 5
        // consumed and gets nothing.
        assert_eq!(SHARED_HALF.fill_now(&query(10.0, 10.0, 10.0, 0.0)).unwrap(), 5.0);
        assert_eq!(SHARED_HALF.fill_now(&query(10.0, 10.0, 10.0, 5.0)).unwrap(), 0.0);
        // 4 bought then a sale of 4: the sale finds 1 left.
        assert_eq!(SHARED_HALF.fill_now(&query(4.0, 10.0, 10.0, 4.0)).unwrap(), 1.0);
        // A quoted ask size of 1 caps a fill the traded volume (100 at 50%) allows.
        assert_eq!(SHARED_HALF.fill_now(&query(10.0, 100.0, 1.0, 0.0)).unwrap(), 1.0);
        // No traded volume: nothing, even with a quoted size.
        assert_eq!(SHARED_HALF.fill_now(&query(10.0, f64::NAN, 5.0, 0.0)).unwrap(), 0.0);
    }

    #[test]
    fn per_order_limits_read_the_available_size() {
        let l = ExecutionLimit::VolumeParticipation { max_participation: 0.5, min_volume: 0.0 };
        // Volume 100 but an ask size of 10: 5; other orders' fills do not count.
        assert_eq!(l.fill_now(&query(10.0, 100.0, 10.0, 50.0)).unwrap(), 5.0);
    }

    #[test]
    fn adaptive_rate_moves_against_volatility_within_bounds() {
        let l = ExecutionLimit::AdaptiveParticipation {
            base_participation: 0.10, volatility_factor: 0.5, max_participation: 0.25,
            min_participation: 0.02, avg_volatility: 0.02 };
        // No volatility: the base 10% of 10,000 = 1,000.
        assert_eq!(l.fillable(5_000.0, 10_000.0), 1_000.0);
        // Volatility 0.04 (twice average): 0.10 * (1 - 0.5 * 1) = 0.05 -> 500.
        assert!((l.fillable_at_volatility(5_000.0, 10_000.0, 0.04) - 500.0).abs() < 1e-9);
        // Volatility 0.01 (half): 0.10 * (1 + 0.25) = 0.125 -> 1,250.
        assert!((l.fillable_at_volatility(5_000.0, 10_000.0, 0.01) - 1_250.0).abs() < 1e-9);
        // Volatility 0.10 (five times): 0.10 * (1 - 2) < 0, floored at 2% -> 200.
        assert!((l.fillable_at_volatility(5_000.0, 10_000.0, 0.10) - 200.0).abs() < 1e-9);
        // Volatility 0: 0.10 * 1.5 = 0.15; a cap of 0.25 holds, a cap of 0.12 cuts.
        assert!((l.adaptive_participation(0.0) - 0.15).abs() < 1e-12);
        // No volume reported: all of it; zero volume: nothing.
        assert_eq!(l.fillable(5_000.0, f64::NAN), 5_000.0);
        assert_eq!(l.fillable(5_000.0, 0.0), 0.0);
    }

    struct Fixed(f64, f64);
    impl LimitCallback for Fixed {
        fn answer(&self, _q: &LimitQuery) -> Result<LimitAnswer, String> {
            Ok(LimitAnswer { fillable: self.0, capacity: self.1 })
        }
        fn name(&self) -> String {
            "Fixed".into()
        }
    }

    fn user(fillable: f64, capacity: f64) -> ExecutionLimit {
        ExecutionLimit::Callback(Callback(std::sync::Arc::new(Fixed(fillable, capacity))))
    }

    #[test]
    fn a_user_limit_outside_the_order_is_an_error_naming_it() {
        for bad in [-0.5, f64::NAN, f64::INFINITY, 11.0] {
            let err = user(bad, f64::NAN).fill_now(&query(10.0, 1e6, 1e6, 0.0)).unwrap_err().to_string();
            assert!(err.starts_with("Invalid execution quantity from Fixed: got "), "{err}");
            assert!(err.ends_with("requested 10.0"), "{err}");
        }
        assert_eq!(user(3.0, f64::NAN).fill_now(&query(10.0, 1e6, 1e6, 0.0)).unwrap(), 3.0);
    }

    #[test]
    fn a_user_limit_with_a_capacity_shares_it() {
        // It allows 8, the bar holds 6 and 4 are taken: 2.
        assert_eq!(user(8.0, 6.0).fill_now(&query(10.0, 100.0, f64::NAN, 4.0)).unwrap(), 2.0);
        let err = user(8.0, -1.0).fill_now(&query(10.0, 100.0, f64::NAN, 0.0)).unwrap_err().to_string();
        assert!(err.starts_with("Shared volume capacity must be finite and nonnegative"), "{err}");
    }

    #[test]
    fn shared_rates_above_one_are_refused() {
        let l = ExecutionLimit::SharedVolumeParticipation {
            max_participation: 1.5, min_volume: 0.0, shared_participation: f64::NAN };
        assert!(l.validate().unwrap_err().to_string().contains("max_participation"));
        let l = ExecutionLimit::SharedVolumeParticipation {
            max_participation: 0.5, min_volume: 0.0, shared_participation: 2.0 };
        assert!(l.validate().unwrap_err().to_string().contains("shared_participation"));
        assert!(SHARED_HALF.validate().is_ok());
    }

    struct Push(f64);
    impl ImpactCallback for Push {
        fn impact(&self, _: AssetId, _: f64, _: f64, _: f64, _: bool) -> Result<f64, String> {
            Ok(self.0)
        }
        fn name(&self) -> String {
            "Push".into()
        }
    }

    #[test]
    fn a_user_impact_must_be_finite_and_against_the_order() {
        let model = |v| MarketImpact::Callback(Callback(std::sync::Arc::new(Push(v))));
        assert_eq!(model(0.5).checked_impact(0, 10.0, 100.0, 1e6, true).unwrap(), 0.5);
        assert_eq!(model(-0.5).checked_impact(0, 10.0, 100.0, 1e6, false).unwrap(), -0.5);
        let err = model(-0.5).checked_impact(0, 10.0, 100.0, 1e6, true).unwrap_err().to_string();
        assert_eq!(err, "Invalid market impact from Push: expected >= 0 for buys, got -0.5");
        let err = model(f64::INFINITY).checked_impact(0, 10.0, 100.0, 1e6, true).unwrap_err().to_string();
        assert_eq!(err, "Invalid market impact from Push: expected a finite adverse value, got inf");
    }
}
