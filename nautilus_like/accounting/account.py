"""Account state: cash, positions and unsettled sale proceeds under a policy."""

from __future__ import annotations

from typing import Any

from nautilus_like import _rust
from nautilus_like._model import Position
from nautilus_like.accounting.policy import AccountPolicy, holdings


class AccountState:
    """Cash, open positions ({asset: Position}) and a policy that judges them
    (ml4t-backtest's ledger). Sale proceeds can be held until they settle
    (T+N bars) with the engine's settlement ledger.

    >>> from nautilus_like.accounting import AccountState, UnifiedAccountPolicy
    >>> account = AccountState(initial_cash=100_000.0, policy=UnifiedAccountPolicy())
    >>> account.buying_power
    100000.0
    """

    def __init__(self, initial_cash: float, policy: AccountPolicy):
        self.cash = initial_cash
        self.positions: dict[str, Position] = {}
        self.policy = policy
        # Corporate-action receivables and futures settlement methods (set by
        # a broker that models them; none here).
        self.corporate: Any = None
        self.futures_methods: dict[str, str] | None = None
        # Free cash of a LOCK_NOTIONAL account: nothing books fills here, so
        # it stays the initial cash.
        self.free_cash = initial_cash
        self._settlement = _rust.SettlementLedger()

    @property
    def total_equity(self) -> float:
        """Net liquidation value: cash + the positions' market value (+ any
        recognised corporate-action receivable)."""
        receivable = getattr(self.corporate, "receivable_value", 0.0) if self.corporate is not None else 0.0
        return _rust.net_liquidation_value(float(self.cash), holdings(self.positions)) + receivable

    @property
    def buying_power(self) -> float:
        """The policy's buying power over this cash and these positions."""
        return self.policy.calculate_buying_power(self.cash, self.positions)

    def allows_short_selling(self) -> bool:
        """Whether the policy allows short selling."""
        return self.policy.allows_short_selling()

    def mark_to_market(self, current_prices: dict[str, float]) -> None:
        """Sets each held asset's `current_price` from `current_prices` (others keep theirs)."""
        for asset, position in self.positions.items():
            if asset in current_prices:
                position.current_price = current_prices[asset]

    def get_position(self, asset: str) -> Position | None:
        """The position in `asset`, or None."""
        return self.positions.get(asset)

    def get_position_quantity(self, asset: str) -> float:
        """The signed quantity held in `asset` (0.0 when flat)."""
        pos = self.positions.get(asset)
        return pos.quantity if pos else 0.0

    @property
    def unsettled_cash(self) -> float:
        """Sale proceeds held until they settle."""
        return self._settlement.unsettled

    def add_settlement_hold(self, bar_index: int, delay: int, amount: float) -> None:
        """Holds `amount` (a sale's proceeds) from bar `bar_index` for `delay`
        bars; nothing when either is not positive.

        >>> account.add_settlement_hold(bar_index=1, delay=2, amount=5_000.0)   # spendable from bar 3
        """
        self._settlement.hold(int(bar_index), int(delay), float(amount))

    def release_settled(self, current_bar: int) -> None:
        """Releases the holds that settle by bar `current_bar`."""
        self._settlement.release(int(current_bar))

    def __repr__(self) -> str:
        return (f"AccountState(cash=${self.cash:,.2f}, equity=${self.total_equity:,.2f}, "
                f"positions={len(self.positions)}, policy={type(self.policy).__name__})")


__all__ = ["AccountState"]


class BrokerAccount:
    """`broker.account`: a broker's account as ml4t's `AccountState` reads,
    live — cash, positions and equity are the engine's; `policy` is a
    `UnifiedAccountPolicy` of the broker's settings, with the margin
    schedules its contract specs fill in (ml4t's wiring)."""

    __slots__ = ("_broker",)

    def __init__(self, broker: Any):
        self._broker = broker

    @property
    def cash(self) -> float:
        return self._broker.get_cash()

    @property
    def positions(self) -> Any:
        """The broker's open positions (a standalone broker's mapping takes
        `positions[asset] = Position(...)`)."""
        return self._broker.positions

    @property
    def total_equity(self) -> float:
        return self._broker.get_account_value()

    @property
    def free_cash(self) -> float:
        """Cash less the notional a LOCK_NOTIONAL account locks for its shorts (the engine's)."""
        return self._broker._cash_detail()[0]

    @property
    def unsettled_cash(self) -> float:
        """Sale proceeds not yet settled (the engine's settlement ledger)."""
        return self._broker._cash_detail()[1]

    @property
    def buying_power(self) -> float:
        return self._broker.get_buying_power()

    @property
    def policy(self) -> AccountPolicy:
        from nautilus_like.accounting.policy import UnifiedAccountPolicy
        from nautilus_like.contracts import merged_margin_schedules

        config = self._broker._state.config
        fixed, pct = merged_margin_schedules(config, self._broker._state.contract_specs)
        return UnifiedAccountPolicy(
            allow_short_selling=config.allow_short_selling, allow_leverage=config.allow_leverage,
            initial_margin=config.initial_margin, long_maintenance_margin=config.long_maintenance_margin,
            short_maintenance_margin=config.short_maintenance_margin,
            fixed_margin_schedule=fixed or None, margin_pct_schedule=pct or None,
            short_cash_policy=getattr(config.short_cash_policy, "value", config.short_cash_policy))

    def get_position(self, asset: str) -> Position | None:
        return self._broker.get_position(asset)

    def get_position_quantity(self, asset: str) -> float:
        position = self._broker.get_position(asset)
        return position.quantity if position is not None else 0.0

    def allows_short_selling(self) -> bool:
        return bool(self._broker._state.config.allow_short_selling)

    def mark_to_market(self, current_prices: dict[str, float]) -> None:
        """ml4t's sync of position prices. The engine's positions carry its
        marks already, so prices equal to them change nothing; a different
        price for a held asset is refused (marks move with `_update_time`)."""
        for asset, position in dict(self._broker.positions).items():
            price = current_prices.get(asset)
            if price is not None and float(price) != position.current_price:
                raise NotImplementedError(
                    f"mark_to_market: {asset!r} at {price!r} differs from the engine's mark "
                    f"{position.current_price!r}; a broker's marks move with _update_time")

    def __repr__(self) -> str:
        return f"BrokerAccount(cash={self.cash:.2f}, positions={len(self.positions)})"
