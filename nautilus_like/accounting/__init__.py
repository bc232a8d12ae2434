"""Account rules as objects: ml4t-backtest's `accounting` package.

The engine applies these rules to every order of a backtest; the objects here
put the same Rust functions in a Python user's hands (ml4t-backtest's names):

- `UnifiedAccountPolicy`: a cash account (no shorts, no leverage; the
  default), a short-enabled "crypto" account (`allow_short_selling=True`) or a
  margin account (`allow_leverage=True`): buying power, margin requirements,
  whether a new position, a change or a reversal is allowed.
- `AccountState`: cash, positions and T+N settlement holds under a policy.
- `Gatekeeper`: the whole pre-fill check of an order against an account,
  commission included.

>>> from nautilus_like.accounting import UnifiedAccountPolicy
>>> policy = UnifiedAccountPolicy(allow_short_selling=True, allow_leverage=True)
>>> policy.calculate_buying_power(cash=10_000.0, positions={})
20000.0
"""

from nautilus_like._model import Position
from nautilus_like.accounting.account import AccountState
from nautilus_like.accounting.gatekeeper import Gatekeeper
from nautilus_like.accounting.policy import AccountPolicy, UnifiedAccountPolicy

__all__ = [
    "Position",
    "AccountPolicy",
    "UnifiedAccountPolicy",
    "AccountState",
    "Gatekeeper",
]
