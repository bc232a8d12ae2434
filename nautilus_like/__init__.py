"""nautilus_like: event-driven backtesting with Rust kernels and ml4t-backtest's API.

>>> from nautilus_like import BacktestConfig, DataFeed, Engine, Strategy
>>> class Buy(Strategy):
...     def on_data(self, timestamp, data, context, broker):
...         for asset, bar in data.items():
...             if bar["signals"].get("score", 0) > 0.5 and broker.get_position(asset) is None:
...                 broker.submit_order(asset, 10)
>>> result = Engine(DataFeed(prices_df=prices, signals_df=signals), Buy()).run()
>>> result.metrics["total_return"], result.to_trades_dataframe()
"""

from pathlib import Path

from nautilus_like._broker import Broker
from nautilus_like._model import EngineError, Fill, Order, Position
from nautilus_like._strategy import Strategy
from nautilus_like.config import (
    BacktestConfig,
    CommissionType,
    EntryOrderPriority,
    ExecutionPrice,
    FillOrdering,
    MissingPricePolicy,
    RebalanceMode,
    ShareRounding,
    ShareType,
    SlippageType,
    SpreadConvention,
)
from nautilus_like.datafeed import DataFeed
from nautilus_like.engine import Engine, run_backtest
from nautilus_like.runtime import RuntimeServices
from nautilus_like.execution import (
    AssetExecutionLimits,
    LinearImpact,
    NoImpact,
    NoLimits,
    PowerLawImpact,
    SquareRootImpact,
    VolumeParticipationLimit,
)
from nautilus_like.models import (
    AssetCommission,
    AssetSlippage,
    CombinedCommission,
    CumulativeVolumeShareSlippage,
    FixedSlippage,
    NoCommission,
    NoSlippage,
    PercentageCommission,
    PercentageSlippage,
    PerOrderCommission,
    PerOrderPerShareCommission,
    PerShareCommission,
    SpreadSlippage,
    TieredCommission,
    VolumeShareSlippage,
)
from nautilus_like.contracts import AssetClass, ContractSpec
from nautilus_like.rebalance import RebalanceConfig, TargetWeightExecutor
from nautilus_like.execution.schedule import (
    RebalanceCadence,
    RebalanceSchedule,
    is_rebalance_timestamp,
    resolve_rebalance_timestamps,
)
from nautilus_like.result import (
    ArtifactError,
    ArtifactIncompleteError,
    ArtifactManifestError,
    ArtifactNotFoundError,
    ArtifactReadError,
    ArtifactWriteError,
    BacktestResult,
    UnsupportedArtifactVersionError,
)
from nautilus_like.risk import AllOf, AnyOf, CompositeRule, RuleChain, StopLoss, TakeProfit, TimeExit, TrailingStop
from nautilus_like.types import (
    ExecutionMode,
    ExitReason,
    StopFillMode,
    StopLevelBasis,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
    Trade,
)

__version__ = "0.1.0"

# ml4t's root API leaves the cost and liquidity models to their modules
# (nautilus_like.models, nautilus_like.execution); they stay importable here.
__all__ = [
    "AssetClass",
    "ContractSpec",
    "ArtifactError", "ArtifactIncompleteError", "ArtifactManifestError", "ArtifactNotFoundError", "ArtifactReadError",
    "ArtifactWriteError", "UnsupportedArtifactVersionError",
    "AllOf", "AnyOf", "AssetCommission", "AssetExecutionLimits", "AssetSlippage", "BacktestConfig", "BacktestResult", "Broker",
    "CombinedCommission", "CommissionType", "CompositeRule", "CumulativeVolumeShareSlippage", "DataFeed", "Engine",
    "EngineError", "EntryOrderPriority", "ExecutionMode", "ExecutionPrice", "ExitReason", "Fill",
    "FillOrdering", "FixedSlippage", "MissingPricePolicy", "RebalanceConfig", "RebalanceMode", "ShareRounding",
    "TargetWeightExecutor", "NoImpact", "NoLimits",
    "Order", "OrderSide", "OrderStatus", "OrderType", "PerOrderCommission", "PerOrderPerShareCommission",
    "Position", "PowerLawImpact", "RuleChain",
    "ShareType", "SlippageType", "SpreadConvention", "SpreadSlippage", "SquareRootImpact", "StopFillMode", "StopLevelBasis", "StopLoss", "Strategy",
    "TakeProfit", "TieredCommission", "TimeExit", "TimeInForce", "TrailingStop", "Trade", "VolumeShareSlippage",
    "get_include", "run_backtest",
    "RebalanceCadence", "RebalanceSchedule", "is_rebalance_timestamp", "resolve_rebalance_timestamps",
    "RuntimeServices",
]


def get_include() -> str:
    """Directory holding `nautilus_like.h` (and the `.pxd` files): add it to
    `include_dirs` when compiling a Cython strategy that cimports nautilus_like.
    Cython itself finds `nautilus_like/*.pxd` through `sys.path`."""
    return str(Path(__file__).resolve().parent)
