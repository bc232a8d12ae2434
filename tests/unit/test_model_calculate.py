"""ml4t's `calculate()` protocol on the native cost models: the engine's own
formulas, hand-computed here."""

import math

import pytest

from nautilus_like.models import (AssetCommission, AssetSlippage, CombinedCommission,
                                  CumulativeVolumeShareSlippage, FixedSlippage, NoCommission, PercentageCommission,
                                  PercentageSlippage, PerOrderCommission, PerShareCommission, SpreadSlippage,
                                  TieredCommission, VolumeShareSlippage)


def test_commissions():
    assert PercentageCommission(0.001).calculate("A", 100, 50.0) == pytest.approx(5.0)        # 5,000 x 0.1%
    assert PerShareCommission(0.005, 1.0).calculate("A", 100, 50.0) == 1.0                   # 0.50 -> minimum 1
    assert PerShareCommission(0.005, 1.0).calculate("A", -1000, 50.0) == 5.0                 # |qty| x 0.005
    assert CombinedCommission(0.001, 2.0).calculate("A", 100, 50.0) == pytest.approx(7.0)    # 5 + 2
    tiers = TieredCommission([(1000.0, 0.002), (float("inf"), 0.001)])
    assert tiers.calculate("A", 10, 50.0) == pytest.approx(1.0)       # 500 <= 1,000: 0.2%
    assert tiers.calculate("A", 100, 50.0) == pytest.approx(5.0)      # 5,000: 0.1%
    assert NoCommission().calculate("A", 100, 50.0) == 0.0
    routed = AssetCommission({"B": PercentageCommission(0.01)}, default=NoCommission())
    assert (routed.calculate("A", 10, 10.0), routed.calculate("B", 10, 10.0)) == (0.0, 1.0)
    with pytest.raises(TypeError, match="CommissionContext"):
        PerOrderCommission(per_trade=1.0).calculate("A", 10, 10.0)


def test_slippages():
    assert PercentageSlippage(0.001).calculate("A", 100, 50.0, None) == pytest.approx(0.05)
    assert FixedSlippage(0.02).calculate("A", 100, 50.0, None) == 0.02
    assert SpreadSlippage(0.10).calculate("A", 100, 50.0, None) == pytest.approx(0.05)   # half the full spread
    assert SpreadSlippage(0.10, {"B": 0.20}).calculate("B", 1, 50.0) == pytest.approx(0.10)
    # 50 x (100 / 1,000 x 0.1) = 0.5 per share; no volume known: 0.
    assert VolumeShareSlippage(0.1).calculate("A", 100, 50.0, 1000.0) == pytest.approx(0.5)
    assert VolumeShareSlippage(0.1).calculate("A", 100, 50.0, None) == 0.0
    routed = AssetSlippage({"B": FixedSlippage(1.0)}, default=FixedSlippage(0.5))
    assert (routed.calculate("A", 1, 10.0), routed.calculate("B", 1, 10.0)) == (0.5, 1.0)
    with pytest.raises(TypeError, match="SlippageContext"):
        CumulativeVolumeShareSlippage(0.1).calculate("A", 1, 10.0, 100.0)
    assert math.isfinite(PercentageSlippage(0.0).calculate("A", 0, 1.0))
