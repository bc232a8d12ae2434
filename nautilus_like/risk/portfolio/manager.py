"""`RiskManager`: portfolio limits driven by the strategy (ml4t-backtest's
`risk.portfolio.manager`), as opposed to `Engine(..., portfolio_limits=[...])`
where the engine enforces them on its own every bar.

The strategy reports equity and position values each bar; the manager keeps
the high-water mark and the day's starting equity, asks every limit for its
judgement (`limit.check(state)`, the engine's code), and acts through the
broker's public API as a strategy would: "liquidate" flattens every position
once per breach (`broker.flatten_all_positions`), "halt" and "liquidate" make
`can_open_position()` false until `reset_halt()`, "warn" is listed in
`warnings`.

>>> manager = RiskManager(limits=[MaxDrawdownLimit(max_drawdown=0.20), MaxPositionsLimit(max_positions=10)])
>>> manager.initialize(initial_equity=broker.get_account_value())
>>> manager.update(equity=broker.get_account_value(),               # in on_data
...                positions={a: p.market_value for a, p in broker.positions.items()},
...                timestamp=timestamp, broker=broker)
>>> if manager.can_open_position(): broker.submit_order("AAPL", 10)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from nautilus_like.risk.portfolio.limits import LimitResult, PortfolioLimit, PortfolioState

__all__ = ["RiskManager"]


@dataclass
class RiskManager:
    """Strategy-driven portfolio limits (see the module docstring)."""

    limits: list[PortfolioLimit] = field(default_factory=list)
    _initial_equity: float = 0.0
    _high_water_mark: float = 0.0
    _daily_start_equity: float = 0.0
    _last_equity: float = 0.0
    _last_date: date | None = None
    _halted: bool = False
    _halt_reason: str = ""
    _warnings: list[str] = field(default_factory=list)
    _liquidation_applied: bool = False
    _reduction_applied: set[int] = field(default_factory=set)

    def initialize(self, initial_equity: float, timestamp: datetime | None = None) -> None:
        """Starts tracking from `initial_equity` (the high-water mark and the day's start)."""
        self._initial_equity = self._high_water_mark = self._daily_start_equity = self._last_equity = initial_equity
        self._last_date = timestamp.date() if timestamp else None
        self._halted = False
        self._halt_reason = ""
        self._warnings = []
        self._liquidation_applied = False
        self._reduction_applied.clear()

    def update(self, equity: float, positions: dict[str, float], timestamp: datetime | None = None,
               context: dict[str, Any] | None = None, broker: Any = None) -> list[LimitResult]:
        """Judges the portfolio now and acts on the breaches; returns them.

        Nothing changes in the manager when acting fails (a reduction without
        a broker raises ValueError first)."""
        high_water_mark = max(self._high_water_mark, equity)
        daily_start_equity = self._daily_start_equity
        last_date = self._last_date
        if timestamp is not None:
            today = timestamp.date() if isinstance(timestamp, datetime) else timestamp
            if last_date is not None and today != last_date:
                daily_start_equity = equity
            last_date = today
        state = self._build_state(equity, positions, timestamp, context or {}, high_water_mark=high_water_mark,
                                  daily_start_equity=daily_start_equity)
        results: list[LimitResult] = []
        reductions: dict[int, LimitResult] = {}
        liquidations: list[str] = []
        warned: list[str] = []
        halted, halt_reason = self._halted, self._halt_reason
        for index, limit in enumerate(self.limits):
            result = limit.check(state)
            if not result.breached:
                continue
            results.append(result)
            if result.action in ("halt", "liquidate"):
                halted, halt_reason = True, result.reason
                if result.action == "liquidate":
                    liquidations.append(result.reason)
            elif result.action == "warn":
                warned.append(result.reason)
            elif result.action == "reduce":
                pct = result.reduction_pct
                if isinstance(pct, bool) or not isinstance(pct, (int, float)) or not math.isfinite(pct) \
                        or not 0 < pct <= 1:
                    raise ValueError(f"reduce action requires a finite reduction_pct in (0, 1], got {pct!r}")
                reductions[index] = result
            elif result.action != "none":
                raise ValueError(f"unsupported portfolio-limit action: {result.action!r}")
        new_reductions = set(reductions) - self._reduction_applied
        has_exposure = bool(positions) or (broker is not None and bool(broker.positions))
        reduce_now = bool(new_reductions and has_exposure and not liquidations)
        if reduce_now:
            if broker is None:
                raise ValueError("broker is required to apply action='reduce'")
            if not broker.positions:
                raise ValueError("broker has no positions to reduce")
            if not callable(getattr(broker, "reduce_all_positions", None)):
                raise TypeError("action='reduce' needs broker.reduce_all_positions(fraction, reason), which this "
                                "Broker does not have; use Engine(..., portfolio_limits=[...]) for engine-side "
                                "reductions")
        liquidation_applied = self._liquidation_applied
        if liquidations and not liquidation_applied:
            reason = "; ".join(dict.fromkeys(liquidations))
            if broker is not None:
                broker.flatten_all_positions(reason=reason)
                liquidation_applied = True
            else:
                warnings.warn("RiskManager.update() produced action='liquidate' but no broker was provided. Pass "
                              "broker=... or explicitly call broker.flatten_all_positions(...).", UserWarning,
                              stacklevel=2)
        elif reduce_now:
            reason = "; ".join(dict.fromkeys(reductions[i].reason for i in sorted(new_reductions)))
            broker.reduce_all_positions(fraction=max(reductions[i].reduction_pct for i in new_reductions),
                                        reason=reason)
        self._last_equity = equity
        self._high_water_mark = high_water_mark
        self._daily_start_equity = daily_start_equity
        self._last_date = last_date
        self._warnings = warned
        self._halted, self._halt_reason = halted, halt_reason
        self._liquidation_applied = liquidation_applied
        # A reduction acts once per continuous breach: a limit that recovered may reduce again.
        self._reduction_applied.intersection_update(reductions)
        if reduce_now:
            self._reduction_applied.update(new_reductions)
        return results

    def _build_state(self, equity: float, positions: dict[str, float], timestamp: date | datetime | None,
                     context: dict[str, Any] | None = None, *, high_water_mark: float | None = None,
                     daily_start_equity: float | None = None) -> PortfolioState:
        hwm = self._high_water_mark if high_water_mark is None else high_water_mark
        start = self._daily_start_equity if daily_start_equity is None else daily_start_equity
        drawdown = (hwm - equity) / hwm if hwm > 0 else 0.0
        return PortfolioState(
            equity=equity, initial_equity=self._initial_equity, high_water_mark=hwm,
            current_drawdown=max(0, drawdown), num_positions=len(positions), positions=positions,
            daily_pnl=equity - start, gross_exposure=sum(abs(v) for v in positions.values()),
            net_exposure=sum(positions.values()), timestamp=timestamp, context=context or {})

    def can_open_position(self) -> bool:
        """False while a "halt" or "liquidate" breach stands (until `reset_halt()`)."""
        return not self._halted

    def can_increase_position(self, asset: str, amount: float) -> tuple[bool, str]:
        """(allowed, reason): refused while halted."""
        return (False, self._halt_reason) if self._halted else (True, "")

    @property
    def is_halted(self) -> bool:
        return self._halted

    @property
    def halt_reason(self) -> str:
        return self._halt_reason

    @property
    def warnings(self) -> list[str]:
        """The warnings of the last `update`."""
        return self._warnings

    @property
    def current_drawdown(self) -> float:
        """Drawdown of the last reported equity from the high-water mark (0 to 1)."""
        if self._high_water_mark > 0:
            return max(0.0, (self._high_water_mark - self._last_equity) / self._high_water_mark)
        return 0.0

    def reset_halt(self) -> None:
        """Allows entries again (and a later liquidation)."""
        self._halted = False
        self._halt_reason = ""
        self._liquidation_applied = False

    def get_state(self, equity: float, positions: dict[str, float],
                  context: dict[str, Any] | None = None) -> PortfolioState:
        """The `PortfolioState` the limits would judge, without acting."""
        return self._build_state(equity, positions, self._last_date, context)
