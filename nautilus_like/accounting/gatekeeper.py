"""The pre-fill check of an order against an account: the engine's own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nautilus_like._model import Order
from nautilus_like.accounting.account import AccountState
from nautilus_like.accounting.policy import UnifiedAccountPolicy, holdings
from nautilus_like.types import OrderSide


class Gatekeeper:
    """Checks an order against an account before it fills, as the engine
    does for every order: exits (reducing or closing) always pass; a reversal
    closes first and must afford its new side; an entry must fit the cash
    the policy leaves (less unsettled proceeds and `cash_buffer_pct`) or a
    margin account's buying power, commission included.

    >>> gatekeeper = Gatekeeper(AccountState(10_000.0, UnifiedAccountPolicy()), NoCommission())
    >>> gatekeeper.validate_order(Order(asset="AAPL", side=OrderSide.BUY, quantity=100), price=150.0)
    (False, 'Insufficient cash: need $15000.00, have $10000.00')
    """

    def __init__(
        self,
        account: AccountState,
        commission_model: Any,
        cash_buffer_pct: float = 0.0,
        settlement_reduces_buying_power: bool = True,
        multiplier_resolver: Callable[[str], float] | None = None,
    ):
        self.account = account
        self.commission_model = commission_model
        self.cash_buffer_pct = cash_buffer_pct
        self.settlement_reduces_buying_power = settlement_reduces_buying_power
        self.multiplier_resolver = multiplier_resolver or (lambda _asset: 1.0)

    def _refusal(self, order: Order, price: float) -> str | None:
        account = self.account
        policy = account.policy
        if not isinstance(policy, UnifiedAccountPolicy):
            raise TypeError(f"Gatekeeper: the account's policy must be a UnifiedAccountPolicy, got {policy!r}")
        multiplier = float(self.multiplier_resolver(order.asset))
        commission = self._commission(order, price)
        return policy._rules().order(
            order.asset, float(account.get_position_quantity(order.asset)), order.side == OrderSide.BUY,
            float(order.quantity), float(price), multiplier, commission, float(account.cash),
            float(account.free_cash), float(account.unsettled_cash), float(self.cash_buffer_pct),
            bool(self.settlement_reduces_buying_power), holdings(account.positions))

    def _commission(self, order: Order, price: float) -> float:
        """The commission an entry of `order` at `price` is checked with."""
        return float(self.commission_model.calculate(order.asset, order.quantity, price))

    def validate_order(self, order: Order, price: float) -> tuple[bool, str]:
        """`(True, "")` when the account allows `order` at `price`, else
        `(False, reason)` with the engine's refusal text."""
        refusal = self._refusal(order, price)
        return (True, "") if refusal is None else (False, refusal)

    def validate_order_with_code(self, order: Order, price: float) -> tuple[bool, str, str | None]:
        """As `validate_order`, plus a stable code for a refusal (see `classify_rejection`)."""
        refusal = self._refusal(order, price)
        if refusal is None:
            return True, "", None
        delta = order.quantity if order.side == OrderSide.BUY else -order.quantity
        return False, refusal, self.classify_rejection(self.account.get_position_quantity(order.asset) + delta)

    def classify_rejection(self, resulting_quantity: float) -> str:
        """The code of a refusal that would have left `resulting_quantity`
        (signed): "account_restriction" for a short the account may not hold,
        else "insufficient_buying_power" (margin) or "insufficient_cash"."""
        if resulting_quantity < 0 and not self.account.policy.allows_short_selling():
            return "account_restriction"
        if getattr(self.account.policy, "allow_leverage", False):
            return "insufficient_buying_power"
        return "insufficient_cash"


class BrokerGatekeeper(Gatekeeper):
    """`broker.gatekeeper`: the Gatekeeper over a broker's live account. Cash,
    free and unsettled cash and positions are the engine's; the commission
    model, `cash_buffer_pct` and `settlement_reduces_buying_power` are the
    broker's settings, so assigning one here assigns the broker's (which the
    engine applies to every later order), as ml4t-backtest's broker checks
    its orders through its gatekeeper.

    >>> broker = Broker(initial_cash=10_000.0, cash_buffer_pct=0.02)
    >>> broker.gatekeeper.cash_buffer_pct
    0.02
    """

    def __init__(self, broker: Any):
        from nautilus_like.accounting.account import BrokerAccount

        self._broker = broker
        self.account = BrokerAccount(broker)

    def multiplier_resolver(self, asset: str) -> float:
        """The broker's contract multiplier of `asset` (its ContractSpec's
        before the asset has joined, else 1.0)."""
        if asset in self._broker._state.asset_index:
            return float(self._broker.get_multiplier(asset))
        spec = self._broker.get_contract_spec(asset)
        return float(spec.multiplier) if spec is not None else 1.0

    def _commission(self, order: Order, price: float) -> float:
        # An order of this broker is quoted as the engine quotes its next
        # fill, counting what it already filled and paid (a per-order fee);
        # quoting never advances the model.
        if order._state is not None and order._state is self._broker._state:
            return self._broker._order_commission_quote(order, order.quantity, price)
        return super()._commission(order, price)

    @property
    def commission_model(self) -> Any:
        return self._broker.commission_model

    @commission_model.setter
    def commission_model(self, model: Any) -> None:
        self._broker.commission_model = model

    @property
    def cash_buffer_pct(self) -> float:
        return self._broker.cash_buffer_pct

    @cash_buffer_pct.setter
    def cash_buffer_pct(self, value: float) -> None:
        self._broker.cash_buffer_pct = value

    @property
    def settlement_reduces_buying_power(self) -> bool:
        return self._broker.settlement_reduces_buying_power

    @settlement_reduces_buying_power.setter
    def settlement_reduces_buying_power(self, value: bool) -> None:
        self._broker.settlement_reduces_buying_power = value

    def __repr__(self) -> str:
        return (f"Gatekeeper(commission_model={self.commission_model!r}, cash_buffer_pct={self.cash_buffer_pct!r}, "
                f"settlement_reduces_buying_power={self.settlement_reduces_buying_power!r})")


__all__ = ["BrokerGatekeeper", "Gatekeeper"]
