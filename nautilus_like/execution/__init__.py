"""Execution models (ml4t-backtest's `execution`): volume participation limits
(`execution.limits`), market impact (`execution.impact`) and target-weight
rebalancing (`execution.rebalancer`) and its schedules (`execution.schedule`).

>>> Engine(feed, strategy, execution_limits=VolumeParticipationLimit(0.05),
...        market_impact_model=SquareRootImpact(coefficient=0.5, volatility=0.02))
"""

from nautilus_like.execution.fill_executor import FillContext, FillExecutor
from nautilus_like.execution.impact import (
    LinearImpact,
    MarketImpactModel,
    NoImpact,
    PowerLawImpact,
    SquareRootImpact,
    impact_spec,
)
from nautilus_like.execution.limits import (
    AssetExecutionLimits,
    ExecutionLimits,
    NoLimits,
    PositiveVolumeLimit,
    SharedVolumeParticipationLimit,
    VolumeParticipationLimit,
    is_limited,
    limit_routes,
)
from nautilus_like.execution.rebalancer import RebalanceConfig, TargetWeightExecutor
from nautilus_like.execution.result import ExecutionResult
from nautilus_like.execution.schedule import (
    RebalanceCadence,
    RebalanceSchedule,
    is_rebalance_timestamp,
    resolve_rebalance_timestamps,
    session_date_for_timestamp,
)

__all__ = [
    "AssetExecutionLimits",
    "ExecutionLimits",
    "ExecutionResult",
    "FillContext",
    "FillExecutor",
    "LinearImpact",
    "MarketImpactModel",
    "NoImpact",
    "NoLimits",
    "PositiveVolumeLimit",
    "PowerLawImpact",
    "RebalanceConfig",
    "SharedVolumeParticipationLimit",
    "SquareRootImpact",
    "TargetWeightExecutor",
    "VolumeParticipationLimit",
    "RebalanceCadence",
    "RebalanceSchedule",
    "is_rebalance_timestamp",
    "resolve_rebalance_timestamps",
    "session_date_for_timestamp",
]
