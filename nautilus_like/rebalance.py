"""Former home of target-weight rebalancing, kept so old imports work: it
lives in `nautilus_like.execution.rebalancer` (ml4t-backtest's path)."""

from nautilus_like.execution.rebalancer import (  # noqa: F401
    RebalanceConfig,
    RebalanceMode,
    ShareRounding,
    TargetWeightExecutor,
    rebalance_to_weights,
)

__all__ = ["RebalanceConfig", "RebalanceMode", "ShareRounding", "TargetWeightExecutor", "rebalance_to_weights"]
