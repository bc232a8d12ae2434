//! Pure sizing and return formulas, shared by the engine and (through the C
//! ABI) the Python rebalancing helpers and rule views, so each exists once.

/// Smaller value changes are not worth an order (ml4t-backtest's cent tolerance).
pub const MIN_ORDER_VALUE: f64 = 0.01;

/// The order that moves a holding of `held` units toward `target_value`:
/// `(signed quantity, value change)`, or `None` when less than a cent is
/// missing. A unit is worth `price * multiplier`; the value per unit comes
/// first, as ml4t-backtest sizes it (so `held * unit / unit` is exactly
/// `held` and closing 26 units sends 26, not 25.999...).
pub fn order_toward_value(target_value: f64, price: f64, multiplier: f64, held: f64) -> Option<(f64, f64)> {
    let unit = price * multiplier;
    let current_value = if held != 0.0 { held * unit } else { 0.0 };
    let delta = target_value - current_value;
    if delta.abs() < MIN_ORDER_VALUE {
        return None;
    }
    Some((delta / unit, delta))
}

pub use nl_core::return_on_entry;

/// Profit or loss of `quantity` units (signed) marked from `entry_price` to `price`.
pub fn unrealized_pnl(entry_price: f64, price: f64, quantity: f64, multiplier: f64) -> f64 {
    (price - entry_price) * quantity * multiplier
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buys_the_missing_value_in_units() {
        // Target $5,000 at $50 with 40 held ($2,000): buy $3,000 = 60 units.
        assert_eq!(order_toward_value(5_000.0, 50.0, 1.0, 40.0), Some((60.0, 3_000.0)));
        // A futures contract: $100 x 50 = $5,000 a unit; target -$10,000 from flat = sell 2.
        assert_eq!(order_toward_value(-10_000.0, 100.0, 50.0, 0.0), Some((-2.0, -10_000.0)));
    }

    #[test]
    fn closing_sends_exactly_the_held_quantity() {
        // 26 units at $0.1 + $0.2: value per unit first, so -26 and not -25.999...
        let (q, _) = order_toward_value(0.0, 0.1 + 0.2, 1.0, 26.0).unwrap();
        assert_eq!(q, -26.0);
    }

    #[test]
    fn less_than_a_cent_is_no_order() {
        assert_eq!(order_toward_value(1_000.005, 10.0, 1.0, 100.0), None);
        assert!(order_toward_value(1_000.02, 10.0, 1.0, 100.0).is_some());
    }

    #[test]
    fn returns_are_direction_aware() {
        assert_eq!(return_on_entry(100.0, 110.0, 5.0), 0.1);
        assert_eq!(return_on_entry(100.0, 110.0, -5.0), -0.1);
        assert_eq!(return_on_entry(0.0, 110.0, 5.0), 0.0);
        // Short 10 from $100 to $90 with multiplier 2: +$200.
        assert_eq!(unrealized_pnl(100.0, 90.0, -10.0, 2.0), 200.0);
    }
}
