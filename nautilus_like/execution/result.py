"""What a volume limit decides for one order on one bar (ml4t-backtest's
`execution.result.ExecutionResult`)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ExecutionResult"]


@dataclass
class ExecutionResult:
    """`fillable_quantity` fills on this bar, `remaining_quantity` waits;
    `participation_rate` is the filled share of the bar's volume.
    `adjusted_price` is the price given (impact is the impact model's, applied
    at the fill) and `impact_cost` is 0, as in ml4t.

    >>> VolumeParticipationLimit(0.10).calculate(2500.0, 10_000.0, 50.0)
    ExecutionResult(fillable_quantity=1000.0, remaining_quantity=1500.0, adjusted_price=50.0, impact_cost=0.0, participation_rate=0.1)
    """

    fillable_quantity: float
    remaining_quantity: float
    adjusted_price: float
    impact_cost: float = 0.0
    participation_rate: float = 0.0

    @property
    def is_partial(self) -> bool:
        """Something waits for a later bar."""
        return self.remaining_quantity > 0

    @property
    def is_full(self) -> bool:
        """The whole order fills on this bar."""
        return self.remaining_quantity == 0
