"""Numeric tolerances shared by the cash and position accounting.

The engine applies these rules in Rust; the constants and the tolerance
formula are here so Python code (and ml4t-backtest users) can name them.

>>> quantity_zero_tolerance(-10_927.322882, 10_927.322882) == 16 * math.ulp(10_927.322882)
True
"""

from __future__ import annotations

import math

__all__ = ["CASH_TOLERANCE", "QUANTITY_ZERO_FLOOR", "QUANTITY_ZERO_ULPS", "quantity_zero_tolerance"]

# Cash comparisons forgive one cent of rounding in price * quantity arithmetic.
CASH_TOLERANCE: float = 0.01
# A quantity is zero when it is within the larger of this floor and
# QUANTITY_ZERO_ULPS units in the last place of the quantities that cancelled.
QUANTITY_ZERO_FLOOR: float = 1e-12
QUANTITY_ZERO_ULPS: int = 16


def quantity_zero_tolerance(*operands: float) -> float:
    """How close to zero a sum of `operands` must be to count as flat.

    Cancellation leaves a residue at the scale of the operands, so the
    tolerance is QUANTITY_ZERO_ULPS ulps of the largest finite operand (never
    below QUANTITY_ZERO_FLOOR); infinities and NaN do not widen it."""
    finite = [abs(v) for v in operands if math.isfinite(v)]
    scale = max(finite, default=0.0)
    return max(QUANTITY_ZERO_FLOOR, QUANTITY_ZERO_ULPS * math.ulp(scale)) if scale else QUANTITY_ZERO_FLOOR
