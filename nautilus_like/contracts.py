"""Contract specifications: how many currency units one point of price is worth.

`ContractSpec(symbol, asset_class, multiplier, ...)` has ml4t-backtest's fields.
A spec passed to `Engine(..., contract_specs={asset: spec})` scales cash flows,
market values, P&L, notional sizing (`order_target_value`, `buy(dollars=)`) and
the account checks of that asset by `multiplier` (e.g. 50 for an E-mini S&P
future): the "signed notional" accounting ml4t uses by default.

>>> es = ContractSpec("ES", AssetClass.FUTURE, multiplier=50.0, tick_size=0.25)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from nautilus_like._rust import codes


class AssetClass(Enum):
    EQUITY = "equity"
    FUTURE = "future"
    FOREX = "forex"


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


@dataclass
class ContractSpec:
    symbol: str
    asset_class: AssetClass = AssetClass.EQUITY
    multiplier: float = 1.0
    tick_size: float = 0.01
    # Per-contract initial margin (maintenance = half of it), or (initial,
    # maintenance) fractions of notional; used by margin accounts only.
    margin: float | None = None
    margin_pct: tuple[float, float] | None = None
    currency: str = "USD"
    accounting_method: Literal["signed_notional", "futures_variation"] = field(default="signed_notional", kw_only=True)
    settlement_policy: Literal["scheduled", "on_mark"] = field(default="scheduled", kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol:
            raise ValueError(f"symbol must be a non-empty string, got {self.symbol!r}")
        if not isinstance(self.asset_class, AssetClass):
            try:
                self.asset_class = AssetClass(self.asset_class)
            except ValueError:
                raise ValueError(f"asset_class must be one of {[c.value for c in AssetClass]}, "
                                 f"got {self.asset_class!r}") from None
        self.multiplier = _positive("multiplier", self.multiplier)
        self.tick_size = _positive("tick_size", self.tick_size)
        if self.margin is not None:
            self.margin = _positive("margin", self.margin)
        if self.margin_pct is not None:
            try:
                initial, maintenance = self.margin_pct
            except (TypeError, ValueError):
                raise ValueError(f"margin_pct must be (initial, maintenance), got {self.margin_pct!r}") from None
            if not (0 < maintenance < initial <= 1):
                raise ValueError(f"margin_pct must satisfy 0 < maintenance < initial <= 1, got {self.margin_pct!r}")
        if self.accounting_method not in ("signed_notional", "futures_variation"):
            raise ValueError(f"accounting_method must be 'signed_notional' or 'futures_variation', "
                             f"got {self.accounting_method!r}")
        if self.settlement_policy not in ("scheduled", "on_mark"):
            raise ValueError(f"settlement_policy must be 'scheduled' or 'on_mark', got {self.settlement_policy!r}")
        if self.accounting_method == "futures_variation" and self.asset_class is not AssetClass.FUTURE:
            raise ValueError("futures_variation requires a FUTURE instrument")


def resolve_multipliers(specs: dict[str, ContractSpec] | None, asset_index: dict[str, int]) -> dict[int, float]:
    """Asset index -> multiplier for the specs that change it; refuses what the
    engine cannot honour instead of running with different accounting."""
    if specs is None:
        return {}
    if not isinstance(specs, dict):
        raise TypeError(f"contract_specs must be a dict of asset -> ContractSpec, got {type(specs).__name__}")
    out = {}
    for asset, spec in specs.items():
        if not isinstance(spec, ContractSpec):
            raise TypeError(f"contract_specs[{asset!r}] must be a ContractSpec, got {type(spec).__name__}")
        if asset not in asset_index:
            raise ValueError(f"contract_specs names asset {asset!r}, which is not in the feed")
        if spec.accounting_method == "futures_variation":
            raise ValueError(f"contract_specs[{asset!r}]: accounting_method='futures_variation' (daily "
                             f"variation margin) is not supported by nautilus_like yet")
        if spec.multiplier != 1.0:
            out[asset_index[asset]] = spec.multiplier
    return out


# Margin schedule kinds of the C ABI (nl_engine_set_margin_schedule).
PER_CONTRACT, PERCENT_OF_NOTIONAL = codes()["NL_MARGIN_PER_CONTRACT"], codes()["NL_MARGIN_PERCENT_OF_NOTIONAL"]


def merged_margin_schedules(config: Any, specs: dict[str, ContractSpec] | None
                            ) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    """The (fixed, percentage) margin schedules by symbol: the config's, then
    the specs' `margin` (maintenance half of it) and `margin_pct` for symbols
    the config leaves out. One symbol with both raises ValueError (ml4t's rule)."""
    fixed = dict(config.fixed_margin_schedule or {})
    pct = dict(config.margin_pct_schedule or {})
    for symbol, spec in (specs or {}).items():
        if spec.margin is not None and symbol not in fixed:
            fixed[symbol] = (spec.margin, spec.margin * 0.5)
        if spec.margin_pct is not None and symbol not in pct:
            pct[symbol] = tuple(spec.margin_pct)
    both = sorted(set(fixed) & set(pct))
    if both:
        raise ValueError(f"fixed and percentage margin cannot both define {both} "
                         f"(config schedules and ContractSpec)")
    return fixed, pct


def resolve_margin_schedules(config: Any, specs: dict[str, ContractSpec] | None,
                             asset_index: dict[str, int]) -> dict[int, tuple[int, float, float]]:
    """Asset index -> (kind, initial, maintenance) of a margin account's
    futures-style margins: the config's schedules, then the specs' `margin`
    (maintenance half of it) and `margin_pct` for assets the config leaves out.
    Cash accounts have no margin: empty."""
    fixed, pct = merged_margin_schedules(config, specs)
    out = {}
    # Cash accounts have no margin: a spec's margin is contract metadata there.
    if not config.allow_leverage:
        return out
    for kind, schedule, field in ((PER_CONTRACT, fixed, "fixed_margin_schedule"),
                                  (PERCENT_OF_NOTIONAL, pct, "margin_pct_schedule")):
        for asset, (initial, maintenance) in schedule.items():
            if asset not in asset_index:
                raise ValueError(f"{field} names asset {asset!r}, which is not in the feed")
            out[asset_index[asset]] = (kind, float(initial), float(maintenance))
    return out
