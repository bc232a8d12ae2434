"""Portfolio limits the engine enforces: `Engine(..., portfolio_limits=[...])`.

ml4t-backtest has these classes (same names, parameters and defaults) in
`ml4t.backtest.risk.portfolio`, driven by the strategy through
`RiskManager.update(...)`. Here the Rust engine evaluates them every bar with no
Python call; none are set by default, so results match ml4t-backtest's.

>>> limits = [MaxDrawdownLimit(max_drawdown=0.20, action="liquidate"),
...           MaxPositionsLimit(max_positions=5, action="halt")]
>>> result = Engine(feed, strategy, config, portfolio_limits=limits).run()
>>> result.limit_events   # timestamp, limit, action, value, threshold, order_id

When: at every bar's close (after marks and margin calls) on the equity the
curve records, and, for limits whose action is "halt" or "liquidate", before
every entry fill (an order that opens, adds to or reverses a position; exits
are always allowed).

Actions (ml4t's names):
* "warn": records the breach in `result.limit_events`; changes nothing.
* "halt": refuses entries with a `rejection_reason` naming the limit. After a
  drawdown breach for the rest of the run (ml4t's halt lasts until a manual
  reset); after a daily-loss breach until the trading day ends; a count or
  exposure limit refuses each entry that would leave it breached and further
  from the limit (so a hedge that reduces net exposure is allowed).
* "reduce": cancels pending orders and sends market exits at the next open.
  MaxDrawdownLimit cuts every position by `reduction_pct`, once per breach;
  Gross/NetExposureLimit scale the positions (all of them; for net, the side
  past the limit) back to the limit at the close's marks, at every close the
  breach persists.
* "liquidate": as "halt", plus: cancels pending orders and closes every
  position at the next open, once per breach.
* "none": the limit is ignored (as in ml4t).

Exits carry `exit_reason="risk_liquidation"` (ml4t's value) and a detail such as
"MaxDrawdownLimit: drawdown 21.0% >= 20.0%"; cancelled orders show
`cancellation_reason="portfolio_limit"`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, ClassVar

from nautilus_like._rust import check_portfolio_limit, codes

__all__ = ["BetaLimit", "CVaRLimit", "DailyLossLimit", "FactorExposureLimit", "GrossExposureLimit", "LimitResult",
           "MaxDrawdownLimit", "MaxExposureLimit", "MaxPositionsLimit", "NetExposureLimit", "PortfolioLimit",
           "PortfolioState", "SectorExposureLimit", "VaRLimit"]

# Codes of the C ABI, from the generated header (nautilus_like.h).
_CODES = codes()
_KIND = {cls: _CODES[f"NL_PORTFOLIO_LIMIT_{kind}"] for cls, kind in (
    ("MaxDrawdownLimit", "MAX_DRAWDOWN"), ("DailyLossLimit", "DAILY_LOSS"), ("MaxPositionsLimit", "MAX_POSITIONS"),
    ("GrossExposureLimit", "GROSS_EXPOSURE"), ("NetExposureLimit", "NET_EXPOSURE"))}
_ACTION = {action: _CODES[f"NL_PORTFOLIO_LIMIT_{action.upper()}"] for action in ("warn", "halt", "reduce", "liquidate")}
KIND_NAMES = {code: name for name, code in _KIND.items()}
ACTION_NAMES = {code: name for name, code in _ACTION.items()}


def _number(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be a finite number, got {value!r}")
    return float(value)


@dataclass
class LimitResult:
    """A limit's judgement of a `PortfolioState` (ml4t's `LimitResult`): `breached`,
    the `action` the limit asks for, ml4t's `reason` text and, for "reduce", the
    fraction of every position to close."""

    breached: bool
    action: str = "none"
    reason: str = ""
    reduction_pct: float = 0.0

    @classmethod
    def ok(cls) -> LimitResult:
        return cls(breached=False)

    @classmethod
    def warn(cls, reason: str) -> LimitResult:
        return cls(breached=True, action="warn", reason=reason)

    @classmethod
    def reduce(cls, reason: str, pct: float) -> LimitResult:
        return cls(breached=True, action="reduce", reason=reason, reduction_pct=pct)

    @classmethod
    def halt(cls, reason: str) -> LimitResult:
        return cls(breached=True, action="halt", reason=reason)

    @classmethod
    def liquidate(cls, reason: str) -> LimitResult:
        return cls(breached=True, action="liquidate", reason=reason)


@dataclass
class PortfolioState:
    """A portfolio snapshot for `limit.check(state)` (ml4t's `PortfolioState`):
    `positions` maps asset -> signed market value; `current_drawdown` is a
    fraction of the high-water mark; `context` carries what the analytic
    limits read (a returns series, betas, sectors, factor loadings)."""

    equity: float
    initial_equity: float
    high_water_mark: float
    current_drawdown: float
    num_positions: int
    positions: dict[str, float]
    daily_pnl: float
    gross_exposure: float
    net_exposure: float
    timestamp: date | datetime | None = None
    context: dict[str, Any] = field(default_factory=dict)


class PortfolioLimit:
    """Base of the limits: validates `action` (and `reduction_pct`) on construction.

    `check(state)` judges a `PortfolioState` the strategy assembled, with the
    engine's code (crates/engine/src/risk/limit_checks.rs), as ml4t's
    `RiskManager` does; `Engine(..., portfolio_limits=[...])` has the engine
    enforce the drawdown, daily-loss, position-count and exposure limits on
    its own portfolio every bar.

    >>> MaxDrawdownLimit(max_drawdown=0.20).check(state)   # drawdown 0.21
    LimitResult(breached=True, action='liquidate', reason='drawdown 21.0% >= 20.0%', reduction_pct=0.0)
    """

    _actions: ClassVar[tuple[str, ...]] = ("none", "warn", "halt", "liquidate")

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        name = type(self).__name__
        action = getattr(self, "action", None)
        if action not in self._actions:
            hint = " (use 'halt' to block new entries)" if action == "block" else ""
            if action == "reduce":
                hint = f" ({name} does not support action='reduce')"
            raise ValueError(f"{name}: action must be one of {', '.join(map(repr, self._actions))}, "
                             f"got {action!r}{hint}")
        self._check_thresholds(name)

    def _check_thresholds(self, name: str) -> None:
        raise NotImplementedError

    def _context_data(self, state: PortfolioState, assets: list[str]) -> tuple[list[float], list[str]] | None:
        """What the limit reads from `state.context` (series, labels); None when
        it is missing, which leaves nothing to judge."""
        return [], []

    def check(self, state: PortfolioState) -> LimitResult:
        """This limit's judgement of `state` (see the class docstring)."""
        self._validate()
        assets = [str(a) for a in state.positions]
        data = self._context_data(state, assets)
        if data is None:
            return LimitResult.ok()
        series, labels = data
        name = next(c.__name__ for c in type(self).__mro__ if c.__name__ in _CHECKED)
        verdict = check_portfolio_limit(
            name, {f.name: getattr(self, f.name) for f in fields(self)}, float(state.equity),
            float(state.current_drawdown), int(state.num_positions), assets,
            [float(v) for v in state.positions.values()], float(state.daily_pnl), float(state.gross_exposure),
            float(state.net_exposure), series, labels)
        if verdict is None:
            return LimitResult.ok()
        warning, reason = verdict
        if warning:
            return LimitResult.warn(reason)
        if self.action == "reduce":
            return LimitResult.reduce(reason, self.reduction_pct)
        return LimitResult(breached=True, action=self.action, reason=reason)

    def _spec(self) -> dict[str, Any] | None:
        """What the engine enforces (None for action "none"); validated again,
        since fields may have been assigned after construction."""
        self._validate()
        if self.action == "none":
            return None
        return {"kind": _KIND[type(self).__name__], "action": _ACTION[self.action], **self._fields()}

    def _fields(self) -> dict[str, Any]:
        raise NotImplementedError


def _fraction(owner: str, name: str, value: Any) -> float:
    v = _number(owner, name, value)
    if not 0 < v <= 1:
        raise ValueError(f"{owner}: {name} must be in (0, 1], got {value!r}")
    return v


@dataclass
class MaxDrawdownLimit(PortfolioLimit):
    """Breached when equity is `max_drawdown` (0.20 = 20%) or more below its high-water
    mark (which starts at the initial cash); a drawdown of `warn_threshold` or more
    records a warning first. `action="reduce"` closes `reduction_pct` of every
    position. A halt (also after "liquidate") lasts for the rest of the run."""

    max_drawdown: float = 0.20
    action: str = "liquidate"
    warn_threshold: float | None = None
    reduction_pct: float = 0.0
    _actions: ClassVar[tuple[str, ...]] = ("none", "warn", "halt", "reduce", "liquidate")

    def _check_thresholds(self, name: str) -> None:
        _fraction(name, "max_drawdown", self.max_drawdown)
        if self.warn_threshold is not None:
            w = _number(name, "warn_threshold", self.warn_threshold)
            if not 0 < w < self.max_drawdown:
                raise ValueError(f"{name}: warn_threshold must be in (0, max_drawdown={self.max_drawdown}), "
                                 f"got {self.warn_threshold!r}")
        if self.action == "reduce":
            _fraction(name, "reduction_pct", self.reduction_pct)
        elif self.reduction_pct != 0.0:
            raise ValueError(f"{name}: reduction_pct requires action='reduce', got {self.reduction_pct!r}")

    def _fields(self) -> dict[str, Any]:
        return {"threshold": self.max_drawdown, "reduction_pct": float(self.reduction_pct),
                "warn_threshold": math.nan if self.warn_threshold is None else float(self.warn_threshold)}


@dataclass
class DailyLossLimit(PortfolioLimit):
    """Breached when the loss since the previous trading day's last close, as a
    fraction of current equity (ml4t's ratio), exceeds `max_daily_loss_pct`. A halt
    (also after "liquidate") lasts until the trading day ends. Needs date or
    datetime timestamps."""

    max_daily_loss_pct: float = 0.02
    action: str = "liquidate"

    def _check_thresholds(self, name: str) -> None:
        _fraction(name, "max_daily_loss_pct", self.max_daily_loss_pct)

    def _fields(self) -> dict[str, Any]:
        return {"threshold": self.max_daily_loss_pct}


@dataclass
class MaxPositionsLimit(PortfolioLimit):
    """At most `max_positions` open positions: with "halt", an entry that would open
    one more is rejected; with "warn", a close with more is recorded."""

    max_positions: int = 10
    action: str = "halt"
    _actions: ClassVar[tuple[str, ...]] = ("none", "warn", "halt")

    def _check_thresholds(self, name: str) -> None:
        v = self.max_positions
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**32:
            raise ValueError(f"{name}: max_positions must be an integer >= 0, got {v!r}")

    def _fields(self) -> dict[str, Any]:
        return {"max_positions": self.max_positions}


@dataclass
class GrossExposureLimit(PortfolioLimit):
    """Breached when the sum of |position market value| exceeds `max_gross_exposure`
    times equity (1.0 = fully invested, 2.0 = 2x leverage). "reduce" scales every
    position back to the limit."""

    max_gross_exposure: float = 1.0
    action: str = "halt"
    _actions: ClassVar[tuple[str, ...]] = ("none", "warn", "halt", "reduce", "liquidate")

    def _check_thresholds(self, name: str) -> None:
        if _number(name, "max_gross_exposure", self.max_gross_exposure) <= 0:
            raise ValueError(f"{name}: max_gross_exposure must be > 0, got {self.max_gross_exposure!r}")

    def _fields(self) -> dict[str, Any]:
        return {"threshold": self.max_gross_exposure}


@dataclass
class NetExposureLimit(PortfolioLimit):
    """Breached when the signed sum of position market values over equity leaves
    [`min_net_exposure`, `max_net_exposure`]. "reduce" scales the longs (above the
    max) or the shorts (below the min) back to the limit."""

    max_net_exposure: float = 1.0
    min_net_exposure: float = -1.0
    action: str = "warn"
    _actions: ClassVar[tuple[str, ...]] = ("none", "warn", "halt", "reduce", "liquidate")

    def _check_thresholds(self, name: str) -> None:
        hi = _number(name, "max_net_exposure", self.max_net_exposure)
        lo = _number(name, "min_net_exposure", self.min_net_exposure)
        if lo > hi:
            raise ValueError(f"{name}: min_net_exposure ({self.min_net_exposure!r}) must be <= "
                             f"max_net_exposure ({self.max_net_exposure!r})")

    def _fields(self) -> dict[str, Any]:
        return {"threshold": self.max_net_exposure, "lower": self.min_net_exposure}


def _finite(owner: str, name: str, value: Any, low: float = -math.inf, high: float = math.inf) -> float:
    v = _number(owner, name, value)
    if not low <= v <= high:
        raise ValueError(f"{owner}: {name} must be in [{low:g}, {high:g}], got {value!r}")
    return v


def _key(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{owner}: {name} must be a str (a key of state.context), got {value!r}")


def _per_position(state: PortfolioState, key: str, assets: list[str]) -> list[float] | None:
    """`state.context[key]` (asset -> number) for each position, NaN where absent."""
    table = state.context.get(key)
    if table is None:
        return None
    return [math.nan if table.get(a) is None else float(table[a]) for a in assets]


@dataclass
class MaxExposureLimit(PortfolioLimit):
    """Breached when one position's |market value| is more than `max_exposure_pct`
    of equity (judged with `check(state)`; the engine does not enforce it)."""

    max_exposure_pct: float = 0.10
    action: str = "warn"

    def _check_thresholds(self, name: str) -> None:
        _finite(name, "max_exposure_pct", self.max_exposure_pct, 0.0)


@dataclass
class VaRLimit(PortfolioLimit):
    """Breached when the historical Value at Risk of the last `lookback_days`
    returns in `state.context[returns_key]` (numpy's linear percentile at
    1 - `confidence_level`) exceeds `threshold`. Fewer returns: not judged."""

    threshold: float = 0.05
    confidence_level: float = 0.95
    lookback_days: int = 20
    action: str = "warn"
    returns_key: str = "historical_returns"

    def _check_thresholds(self, name: str) -> None:
        _finite(name, "threshold", self.threshold)
        _finite(name, "confidence_level", self.confidence_level, 0.0, 1.0)
        if isinstance(self.lookback_days, bool) or not isinstance(self.lookback_days, int) or self.lookback_days < 0:
            raise ValueError(f"{name}: lookback_days must be an integer >= 0, got {self.lookback_days!r}")
        _key(name, "returns_key", self.returns_key)

    def _context_data(self, state: PortfolioState, assets: list[str]) -> tuple[list[float], list[str]] | None:
        returns = state.context.get(self.returns_key)
        return None if returns is None else ([float(r) for r in returns], [])


@dataclass
class CVaRLimit(VaRLimit):
    """Breached when the historical expected shortfall (the mean of the returns at
    or below the VaR quantile) exceeds `threshold`; otherwise as `VaRLimit`."""

    threshold: float = 0.08


@dataclass
class BetaLimit(PortfolioLimit):
    """Breached when the portfolio beta, the sum of (value / equity) x beta with
    betas from `state.context[betas_key]` (1.0 for an asset without one), leaves
    [`min_beta`, `max_beta`]."""

    max_beta: float = 1.5
    min_beta: float = -0.5
    action: str = "warn"
    betas_key: str = "asset_betas"

    def _check_thresholds(self, name: str) -> None:
        _finite(name, "max_beta", self.max_beta)
        _finite(name, "min_beta", self.min_beta)
        _key(name, "betas_key", self.betas_key)

    def _context_data(self, state: PortfolioState, assets: list[str]) -> tuple[list[float], list[str]] | None:
        betas = _per_position(state, self.betas_key, assets)
        return None if betas is None else (betas, [])


@dataclass
class SectorExposureLimit(PortfolioLimit):
    """Breached when the |value| / equity of the positions in one sector (from
    `state.context[sectors_key]`, "Unknown" for an asset without one) exceeds
    `max_sector_exposure`."""

    max_sector_exposure: float = 0.30
    action: str = "warn"
    sectors_key: str = "asset_sectors"

    def _check_thresholds(self, name: str) -> None:
        _finite(name, "max_sector_exposure", self.max_sector_exposure, 0.0)
        _key(name, "sectors_key", self.sectors_key)

    def _context_data(self, state: PortfolioState, assets: list[str]) -> tuple[list[float], list[str]] | None:
        sectors = state.context.get(self.sectors_key)
        return None if sectors is None else ([], [str(sectors.get(a, "Unknown")) for a in assets])


@dataclass
class FactorExposureLimit(PortfolioLimit):
    """Breached when the exposure to `factor_name`, the sum of (value / equity) x
    loading with loadings from `state.context[factor_key]` (0 for an asset
    without one), leaves [`min_exposure`, `max_exposure`]."""

    factor_name: str = "factor"
    max_exposure: float = 1.0
    min_exposure: float = -1.0
    action: str = "warn"
    factor_key: str = "factor_loadings"

    def _check_thresholds(self, name: str) -> None:
        _finite(name, "max_exposure", self.max_exposure)
        _finite(name, "min_exposure", self.min_exposure)
        _key(name, "factor_key", self.factor_key)

    def _context_data(self, state: PortfolioState, assets: list[str]) -> tuple[list[float], list[str]] | None:
        loadings = _per_position(state, self.factor_key, assets)
        return None if loadings is None else (loadings, [])


# The classes `check` knows (a subclass is judged as the one it extends).
_CHECKED = {"MaxDrawdownLimit", "DailyLossLimit", "MaxPositionsLimit", "GrossExposureLimit", "NetExposureLimit",
            "MaxExposureLimit", "VaRLimit", "CVaRLimit", "BetaLimit", "SectorExposureLimit", "FactorExposureLimit"}


def limit_specs(limits: Any) -> list[dict[str, Any]]:
    """The engine's specs for `Engine(portfolio_limits=...)` (a list of limits or None)."""
    if limits is None:
        return []
    if isinstance(limits, PortfolioLimit) or not isinstance(limits, (list, tuple)):
        raise TypeError(f"portfolio_limits must be a list of limits, got {type(limits).__name__}")
    specs = []
    for limit in limits:
        if isinstance(limit, PortfolioLimit) and type(limit).__name__ not in _KIND:
            raise TypeError(f"{type(limit).__name__} is judged on request with check(state); the engine enforces "
                            f"{', '.join(_KIND)}")
        if not isinstance(limit, PortfolioLimit):
            raise TypeError(f"portfolio_limits takes nautilus_like.risk limits ({', '.join(_KIND)}), "
                            f"got {limit!r}")
        spec = limit._spec()
        if spec is not None:
            specs.append(spec)
    return specs
