"""Commission and slippage models: config types, model classes, per-asset routes
and Python models called back from Rust.

One market buy on bar 0 fills at bar 1's open: AAA 102, BBB 51; bar 1's volume is 2000.
"""

import math

import pytest

import nautilus_like as nl
from tests.conftest import run


def one_fill(qty=10, asset="AAA", config=None, **engine_kw):
    result, _ = run({0: [lambda b: b.submit_order(asset, qty)]}, config, **engine_kw)
    f = result.to_fills_dataframe()
    return f["price"][0], f["slippage"][0], f["commission"][0]


@pytest.mark.parametrize("config, expected", [
    (dict(commission_type="per_order", commission_per_share=0.01, commission_per_trade=1.0,
          commission_minimum=5.0), 5.0),                                       # 0.1 + 1 < 5
    (dict(commission_type="per_order", commission_per_share=0.01, commission_rate=0.001,
          commission_per_trade=1.0), 10 * 0.01 + 1020 * 0.001 + 1.0),
    (dict(commission_type="per_order_per_share", commission_per_share=0.01, commission_minimum=0.5), 0.5),
    (dict(commission_type="tiered", commission_rate=0.002), 1020 * 0.002),
    (dict(commission_type="per_trade", commission_per_trade=2.5), 2.5),
])
def test_config_commission_types(config, expected):
    assert one_fill(config=nl.BacktestConfig(**config))[2] == expected


@pytest.mark.parametrize("config, price", [
    (dict(slippage_type="spread", slippage_spread=0.2), 102.1),                     # half of the full spread
    (dict(slippage_spread=0.2, slippage_spread_convention="half_spread"), 102.2),   # inferred SPREAD
    (dict(slippage_spread=0.2, slippage_spread_by_asset={"AAA": 0.5}), 102.25),
    (dict(slippage_type="volume_based", slippage_rate=0.5), 102 + 102 * (10 / 2000 * 0.5)),
    (dict(slippage_type="cumulative_volume_share", slippage_rate=0.1), 102 + 102 * 0.1 * (10 / 2000) ** 2),
])
def test_config_slippage_types(config, price):
    assert one_fill(config=nl.BacktestConfig(**config))[0] == price


def test_model_classes():
    tiers = nl.TieredCommission([(float("inf"), 0.005), (1000, 0.01)])   # sorted by threshold
    assert one_fill(5, commission_model=tiers)[2] == 510 * 0.01
    assert one_fill(20, commission_model=tiers)[2] == 2040 * 0.005
    assert one_fill(commission_model=nl.CombinedCommission(0.001, 2.0))[2] == 1020 * 0.001 + 2.0
    routed = nl.AssetCommission({"BBB": nl.PerShareCommission(0.5)}, default=nl.PercentageCommission(0.01))
    assert one_fill(asset="BBB", commission_model=routed)[2] == 5.0
    assert one_fill(asset="AAA", commission_model=routed)[2] == 1020 * 0.01
    slip = nl.AssetSlippage({"AAA": nl.SpreadSlippage(0.4, asset_spreads={"AAA": 0.1})},
                            default=nl.FixedSlippage(0.05))
    assert one_fill(slippage_model=slip)[0] == 102.05          # AAA's own spread 0.1 -> half
    assert one_fill(asset="BBB", slippage_model=slip)[0] == 51.05


def test_model_arguments_are_validated():
    with pytest.raises(ValueError, match="rate"):
        nl.PercentageCommission(-0.1)
    with pytest.raises(ValueError, match="tiers must not be empty"):
        nl.TieredCommission([])
    with pytest.raises(ValueError, match="convention"):
        nl.SpreadSlippage(0.1, convention="quarter")
    with pytest.raises(TypeError, match="nest"):
        nl.AssetSlippage({"A": nl.AssetSlippage({}, default=nl.NoSlippage())}, default=nl.NoSlippage())
    with pytest.raises(ValueError, match="slippage_spread_by_asset"):
        nl.BacktestConfig(slippage_spread_by_asset={"AAA": -1})


class FlatFee:
    """A user's model in plain Python (ml4t's protocol)."""

    def __init__(self, fee):
        self.fee = fee
        self.calls = []

    def calculate(self, asset, quantity, price):
        self.calls.append((asset, quantity, price))
        return self.fee


class HalfTick:
    def calculate(self, asset, quantity, price, volume):
        return 0.005 if volume else 0.0


def test_python_models_are_called_back():
    fee = FlatFee(1.25)
    price, slip, commission = one_fill(commission_model=fee, slippage_model=HalfTick())
    assert (price, slip, commission) == (102.005, 0.005, 1.25)
    # The cash checks (at the open, again at the slipped price) ask copies of
    # the model; the model itself is asked once, for the fill (as ml4t).
    assert fee.calls == [("AAA", 10.0, 102.005)]


class Broken:
    def calculate(self, asset, quantity, price):
        raise ZeroDivisionError("model bug")


class Negative:
    def calculate(self, asset, quantity, price):
        return -1.0


class NotANumber:
    def calculate(self, asset, quantity, price):
        return "cheap"


def test_a_python_model_s_exception_propagates_unchanged():
    with pytest.raises(ZeroDivisionError, match="model bug"):
        one_fill(commission_model=Broken())


@pytest.mark.parametrize("model, match", [
    (Negative(), "Invalid commission from Negative: expected a finite non-negative number, got -1"),
    (NotANumber(), "Invalid commission from NotANumber"),
])
def test_bad_model_output_is_refused(model, match):
    with pytest.raises(ValueError, match=match):
        one_fill(commission_model=model)


def test_a_model_without_calculate_is_a_type_error():
    with pytest.raises(TypeError, match="calculate"):
        one_fill(commission_model=object())


def test_slippage_below_zero_price_stops_the_run():
    with pytest.raises(ValueError, match="Invalid execution price"):
        run({0: [lambda b: b.submit_order("BBB", -10)]},
            nl.BacktestConfig(slippage_fixed=60.0, allow_short_selling=True))


def test_cumulative_volume_share_waits_for_volume():
    # A bar with zero volume cannot fill under participation-priced slippage.
    from tests.conftest import fixture_prices
    import polars as pl

    prices = fixture_prices().with_columns(
        pl.when((pl.col("asset") == "AAA") & (pl.col("timestamp") == pl.col("timestamp").min().dt.offset_by("1d")))
        .then(0.0).otherwise(pl.col("volume")).alias("volume"))
    result, _ = run({0: [lambda b: b.submit_order("AAA", 10)]},
                    nl.BacktestConfig(slippage_type="cumulative_volume_share", slippage_rate=0.1), prices=prices)
    f = result.to_fills_dataframe()
    assert f["price"][0] == 104 + 104 * 0.1 * (10 / 3000) ** 2   # bar 2's open and volume
    assert math.isclose(f["slippage"][0], 104 * 0.1 * (10 / 3000) ** 2)


def test_asset_price_sources_set_each_assets_fill_basis():
    # NEXT_BAR at the open by default; AAA's own basis is the bar's midpoint
    # (H+L)/2, BBB keeps the open. Bar 1: AAA (104+101)/2 = 102.5, BBB open 51.
    slip = nl.AssetSlippage({"AAA": nl.FixedSlippage(0.5)}, default=nl.NoSlippage(),
                            price_sources={"AAA": nl.ExecutionPrice.MID})
    result, _ = run({0: [lambda b: b.submit_order("AAA", 10), lambda b: b.submit_order("BBB", 10)]},
                    slippage_model=slip)
    f = result.to_fills_dataframe().sort("asset")
    assert f["price"].to_list() == [102.5 + 0.5, 51.0]
    assert f["price_source"].to_list() == ["mid", "open"]
    # Cash: 100000 - 10*103 - 10*51 = 98460; marks stay at the close (bar 4: AAA 98, BBB 50).
    state = result.to_portfolio_state_dataframe()
    assert state["cash"][-1] == 98460.0
    assert state["equity"][-1] == 98460.0 + 10 * 98.0 + 10 * 50.0


def test_asset_price_source_overrides_next_bar_execution_price_but_not_a_moc_close():
    # next_bar_execution_price=CLOSE would fill at bar 1's close (103); AAA's
    # own basis (the open, "open" given as a string) wins. A MOC order keeps the close.
    slip = nl.AssetSlippage({}, default=nl.NoSlippage(), price_sources={"AAA": "open"})
    config = nl.BacktestConfig(next_bar_execution_price=nl.ExecutionPrice.CLOSE)
    result, _ = run({0: [lambda b: b.submit_order("AAA", 10)],
                     1: [lambda b: b.submit_order("AAA", 5, order_type=nl.OrderType.MOC)]},
                    config, slippage_model=slip)
    f = result.to_fills_dataframe()
    assert f["price"].to_list() == [102.0, 103.0]            # bar 1's open; bar 1's close (MOC, same bar)
    assert f["price_source"].to_list() == ["open", "close"]


def test_asset_price_sources_are_validated_and_replaced_with_the_model():
    with pytest.raises(ValueError, match=r"price_sources\['AAA'\] must be an ExecutionPrice, got 'median'"):
        nl.AssetSlippage({}, default=nl.NoSlippage(), price_sources={"AAA": "median"})
    with pytest.raises(ValueError, match="non-empty asset names"):
        nl.AssetSlippage({}, default=nl.NoSlippage(), price_sources={"": "mid"})
    slip = nl.AssetSlippage({}, default=nl.NoSlippage(), price_sources={"AAA": "mid"})
    assert dict(slip.price_sources) == {"AAA": nl.ExecutionPrice.MID}
    with pytest.raises(TypeError):
        slip.price_sources["BBB"] = nl.ExecutionPrice.MID  # read-only, as ml4t's

    # Assigning a plain model to the broker drops the asset's basis again.
    def swap(b):
        b.slippage_model = nl.NoSlippage()
        b.submit_order("AAA", 1)

    result, _ = run({0: [lambda b: b.submit_order("AAA", 1)], 1: [swap]}, slippage_model=slip)
    f = result.to_fills_dataframe()
    assert f["price"].to_list() == [102.5, 104.0]            # bar 1's mid; bar 2's open
