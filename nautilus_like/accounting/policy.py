"""Account policies: what a cash, short-enabled ("crypto") or margin account allows.

`UnifiedAccountPolicy` holds ml4t-backtest's parameters; every answer comes
from the engine's Rust functions (`nautilus_like._rust.AccountPolicyRules`),
the ones the engine's own order checks call.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nautilus_like import _rust
from nautilus_like.config import CODES

if TYPE_CHECKING:
    from nautilus_like._model import Position
    from nautilus_like.config import BacktestConfig

_SHORT_CASH_POLICIES = ("credit", "credit_proceeds", "lock_notional")

# ml4t-backtest's words for the margin rates in its error messages.
_RATE_WORDS = {"initial_margin": "Initial margin", "long_maintenance_margin": "Long maintenance margin",
               "short_maintenance_margin": "Short maintenance margin"}


def holdings(positions: Mapping[str, Any]) -> list[tuple[str, float, float, float, float, float]]:
    """The engine's view of `positions` ({asset: Position}): (asset, signed
    quantity, entry price, mark, multiplier, market value) each."""
    out = []
    for asset, p in positions.items():
        mark = p.current_price if p.current_price is not None else p.entry_price
        out.append((asset, float(p.quantity), float(p.entry_price), float(mark), float(p.multiplier),
                    float(p.market_value)))
    return out


def _pct_schedule(schedule: Mapping[str, Any] | None) -> dict[str, tuple[float, float]]:
    """`margin_pct_schedule` as {asset: (initial, maintenance)}; the engine
    checks the fractions (0 < maintenance < initial <= 1)."""
    out: dict[str, tuple[float, float]] = {}
    for asset, value in (schedule or {}).items():
        try:
            initial, maintenance = value
        except (TypeError, ValueError) as exc:
            raise ValueError(f"margin_pct_schedule[{asset!r}] must be a two-item (initial, maintenance) "
                             f"sequence") from exc
        out[asset] = (float(initial), float(maintenance))
    return out


class AccountPolicy(ABC):
    """What an account type allows (ml4t-backtest's interface): buying power,
    short selling, spendable cash, and whether a new position, a position
    change or a reversal may go ahead. Each check returns `(allowed, reason)`
    with an empty reason when allowed."""

    allow_leverage: bool
    short_cash_policy: str

    @abstractmethod
    def calculate_buying_power(self, cash: float, positions: dict[str, Position]) -> float:
        """Dollars available for new long positions (never negative)."""

    @abstractmethod
    def allows_short_selling(self) -> bool:
        """Whether short positions are allowed."""

    @abstractmethod
    def get_spendable_cash(self, cash: float, positions: dict[str, Position]) -> float:
        """Cash new entries may spend after the policy's reserves."""

    @abstractmethod
    def validate_new_position(self, asset: str, quantity: float, price: float,
                              current_positions: dict[str, Position], cash: float, *,
                              multiplier: float = 1.0) -> tuple[bool, str]:
        """Whether `quantity` (signed) of `asset` at `price` may be opened."""

    @abstractmethod
    def handle_reversal(self, asset: str, current_quantity: float, order_quantity_delta: float, price: float,
                        current_positions: dict[str, Position], cash: float, commission: float, *,
                        multiplier: float = 1.0) -> tuple[bool, str]:
        """Whether a position may reverse (long to short or short to long)."""

    @abstractmethod
    def validate_position_change(self, asset: str, current_quantity: float, quantity_delta: float, price: float,
                                 current_positions: dict[str, Position], cash: float, *,
                                 multiplier: float = 1.0) -> tuple[bool, str]:
        """Whether a position may change by `quantity_delta` (signed)."""


def _verdict(refusal: str | None) -> tuple[bool, str]:
    return (True, "") if refusal is None else (False, refusal)


class UnifiedAccountPolicy(AccountPolicy):
    """One policy for the three account types, by two flags:

    - cash account: `UnifiedAccountPolicy()` (no shorts, no leverage);
    - short-enabled without leverage ("crypto"): `allow_short_selling=True`;
    - margin account: `allow_short_selling=True, allow_leverage=True`, with
      Reg T rates by default (50% initial, 25% long / 30% short maintenance)
      and per-asset futures margin (`fixed_margin_schedule`: dollars per
      contract; `margin_pct_schedule`: fractions of notional).

    `short_cash_policy` ("credit", "credit_proceeds", "lock_notional") says how
    short proceeds count toward spendable cash without leverage.

    >>> policy = UnifiedAccountPolicy(allow_short_selling=True, allow_leverage=True)
    >>> policy.validate_new_position("AAPL", 300, 100.0, {}, cash=10_000.0)
    (False, 'Insufficient buying power: need $30000.00, have $20000.00 (IM=50.0%)')
    """

    def __init__(
        self,
        allow_short_selling: bool = False,
        allow_leverage: bool = False,
        initial_margin: float = 0.5,
        long_maintenance_margin: float = 0.25,
        short_maintenance_margin: float = 0.30,
        fixed_margin_schedule: dict[str, tuple[float, float]] | None = None,
        margin_pct_schedule: dict[str, tuple[float, float]] | None = None,
        short_cash_policy: str = "credit",
        *,
        variation_assets: frozenset[str] | None = None,
    ) -> None:
        self.allow_short_selling = allow_short_selling
        self.allow_leverage = allow_leverage
        self.initial_margin = initial_margin
        self.long_maintenance_margin = long_maintenance_margin
        self.short_maintenance_margin = short_maintenance_margin
        self.fixed_margin_schedule = fixed_margin_schedule or {}
        self.margin_pct_schedule = _pct_schedule(margin_pct_schedule)
        if short_cash_policy not in _SHORT_CASH_POLICIES:
            raise ValueError("short_cash_policy must be 'credit', 'credit_proceeds', or "
                             f"'lock_notional', got {short_cash_policy}")
        self.short_cash_policy = short_cash_policy
        self.variation_assets = variation_assets or frozenset()
        both = sorted(set(self.fixed_margin_schedule) & set(self.margin_pct_schedule))
        if both:
            raise ValueError(f"fixed_margin_schedule and margin_pct_schedule cannot both define: {both}")
        if allow_leverage:
            error = _rust.margin_rate_error(float(initial_margin), float(long_maintenance_margin),
                                            float(short_maintenance_margin))
            if error is not None:
                kind, field, value, initial = error
                given = {"initial_margin": initial_margin, "long_maintenance_margin": long_maintenance_margin,
                         "short_maintenance_margin": short_maintenance_margin}[field]
                if kind == "range":
                    raise ValueError(f"{_RATE_WORDS[field]} must be in (0.0, 1.0], got {given}")
                raise ValueError(f"{_RATE_WORDS[field]} ({given}) must be <= initial margin ({initial_margin})")
        self._rules()  # per-contract schedules are checked here

    @classmethod
    def from_config(cls, config: BacktestConfig) -> UnifiedAccountPolicy:
        """The policy of `config`'s account settings.

        >>> UnifiedAccountPolicy.from_config(BacktestConfig(allow_short_selling=True)).allows_short_selling()
        True
        """
        allow_shorts, allow_leverage = config.allow_short_selling, config.allow_leverage
        return cls(
            allow_short_selling=allow_shorts,
            allow_leverage=allow_leverage,
            initial_margin=config.initial_margin,
            long_maintenance_margin=config.long_maintenance_margin,
            short_maintenance_margin=config.short_maintenance_margin,
            fixed_margin_schedule=config.fixed_margin_schedule,
            margin_pct_schedule=config.margin_pct_schedule,
            short_cash_policy=config.short_cash_policy.value,
        )

    def _rules(self) -> Any:
        """The engine's rules for the current parameters (rebuilt per call, so
        a parameter changed after construction takes effect)."""
        return _rust.AccountPolicyRules(
            bool(self.allow_short_selling), bool(self.allow_leverage), float(self.initial_margin),
            float(self.long_maintenance_margin), float(self.short_maintenance_margin),
            CODES[f"NL_SHORT_CASH_{self.short_cash_policy.upper()}"],
            {a: tuple(v) for a, v in self.fixed_margin_schedule.items()},
            {a: tuple(v) for a, v in self.margin_pct_schedule.items()},
            sorted(self.variation_assets))

    def allows_short_selling(self) -> bool:
        """Whether this policy allows short selling."""
        return self.allow_short_selling

    def get_spendable_cash(self, cash: float, positions: dict[str, Position]) -> float:
        """Cash available for new entries: without leverage, less the shorts'
        entry notional under "credit_proceeds", less twice it under "lock_notional"."""
        return self._rules().spendable_cash(float(cash), holdings(positions))

    def calculate_buying_power(self, cash: float, positions: dict[str, Position]) -> float:
        """Spendable cash (never negative) without leverage; with it, (net
        liquidation value - initial margin of the positions) / initial margin."""
        return self._rules().buying_power(float(cash), holdings(positions))

    def get_margin_requirement(self, asset: str, quantity: float, price: float, for_initial: bool = True, *,
                               multiplier: float = 1.0) -> float:
        """Margin in dollars `quantity` (signed) of `asset` at `price` requires:
        its schedule's (per contract or of notional), else the account's rate
        of notional (maintenance by direction).

        >>> UnifiedAccountPolicy().get_margin_requirement("AAPL", -100, 100.0, for_initial=False)
        3000.0
        """
        return self._rules().margin_requirement(asset, float(quantity), float(price), bool(for_initial),
                                                float(multiplier))

    def is_margin_call(self, cash: float, positions: dict[str, Position]) -> bool:
        """Whether a margin account's net liquidation value is below the
        positions' maintenance margin (never for other accounts or no positions)."""
        return self._rules().in_margin_call(float(cash), holdings(positions))

    def validate_new_position(self, asset: str, quantity: float, price: float,
                              current_positions: dict[str, Position], cash: float, *,
                              multiplier: float = 1.0) -> tuple[bool, str]:
        """Whether `quantity` (signed; negative is short) of `asset` may be opened at `price`."""
        return _verdict(self._rules().new_position(asset, float(quantity), float(price), float(multiplier),
                                                   float(cash), holdings(current_positions)))

    def validate_position_change(self, asset: str, current_quantity: float, quantity_delta: float, price: float,
                                 current_positions: dict[str, Position], cash: float, *,
                                 multiplier: float = 1.0) -> tuple[bool, str]:
        """Whether `current_quantity` may change by `quantity_delta`: reducing
        is free; adding (or a reversal's new side) must fit cash or buying power."""
        return _verdict(self._rules().position_change(asset, float(current_quantity), float(quantity_delta),
                                                      float(price), float(multiplier), float(cash),
                                                      holdings(current_positions)))

    def handle_reversal(self, asset: str, current_quantity: float, order_quantity_delta: float, price: float,
                        current_positions: dict[str, Position], cash: float, commission: float, *,
                        multiplier: float = 1.0) -> tuple[bool, str]:
        """Whether a reversal may go ahead: the old position closes first
        (its proceeds or cover cost, less `commission`), then the new side must fit."""
        return _verdict(self._rules().reversal(asset, float(current_quantity), float(order_quantity_delta),
                                               float(price), float(multiplier), float(cash), float(commission),
                                               holdings(current_positions)))


__all__ = ["AccountPolicy", "UnifiedAccountPolicy"]
