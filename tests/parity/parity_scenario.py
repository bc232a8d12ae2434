"""Seeded random scenarios for the ml4t-backtest <-> nautilus_like differential tests.

A scenario is fully determined by its seed:

* `make_scenario(seed)` draws multi-asset OHLCV data (random walks, opens gapped
  from the previous close, some rows missing, occasional signals-only
  timestamps), a signals frame and a `BacktestConfig` description;
* `run_engine(lib, scenario)` runs it on one library (`ml4t.backtest` or
  `nautilus_like`) with the *same* strategy body, whose actions are drawn from
  a `random.Random` seeded from the scenario seed, and returns everything the
  comparison needs as plain Python values.

Every branch the strategy takes depends only on values both engines must agree
on (bar data, cash, positions, pending orders, what submit returned), so a
divergence in either engine shows up as a mismatch of the recorded values.

Only the public API of either library is used.
"""

from __future__ import annotations

import enum
import math
import random
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

ASSET_POOL = ["AAPL", "MSFT", "ZZZ", "BBB", "QQQ", "IBM", "XOM", "AMD", "CAT", "KO"]


# --------------------------------------------------------------------------- data


@dataclass
class Scenario:
    seed: int
    assets: list[str]  # sorted feed assets
    prices: pl.DataFrame
    signals: pl.DataFrame | None
    config: dict[str, Any]  # field -> enum *name* or number (built per library)
    n_timestamps: int
    # Engine keyword models: {"limits": (max_participation, min_volume), "impact": (kind, args...)}
    models: dict[str, Any] = field(default_factory=dict)
    # DataFeed keyword arguments (quote column names) when the prices carry quotes.
    feed_kw: dict[str, Any] = field(default_factory=dict)
    # External deposits (DataFeed capital_flows) and funding events (Engine funding_df).
    capital_flows: pl.DataFrame | None = None
    funding: pl.DataFrame | None = None

    def describe(self) -> str:
        return (f"seed={self.seed} assets={self.assets} rows={self.prices.height} "
                f"timestamps={self.n_timestamps} config={self.config} models={self.models} "
                f"feed={self.feed_kw} capital_flows={None if self.capital_flows is None else self.capital_flows.rows()} "
                f"funding={None if self.funding is None else self.funding.rows()}")


def _walk(rng: random.Random, n: int, start: float, vol: float, gap: float, cents: bool):
    """OHLC rows for one asset: open gapped from the previous close."""
    out = []
    prev_close = start
    for _ in range(n):
        o = prev_close * math.exp(rng.gauss(0.0, gap))
        c = o * math.exp(rng.gauss(0.0, vol))
        h = max(o, c) * (1.0 + abs(rng.gauss(0.0, vol / 2)))
        lo = min(o, c) * (1.0 - abs(rng.gauss(0.0, vol / 2)))
        if cents:
            o, c = round(o, 2), round(c, 2)
            h = max(round(h, 2), o, c)
            lo = min(round(lo, 2), o, c)
            o, c, lo = max(o, 0.01), max(c, 0.01), max(lo, 0.01)
        # Degenerate bars (o == h == l == c) happen now and then.
        if rng.random() < 0.03:
            h = lo = o = c
        out.append((o, h, lo, c))
        prev_close = c
    return out


def make_scenario(seed: int) -> Scenario:
    rng = random.Random(f"parity-data-{seed}")
    n_assets = rng.randint(2, 6)
    names = rng.sample(ASSET_POOL, n_assets)
    n_bars = rng.randint(20, 80)
    cents = rng.random() < 0.6
    int_volume = rng.random() < 0.2

    # Timeline: daily-ish with irregular gaps (CAGR uses calendar time).
    t = datetime(2019, 1, 1) + timedelta(days=rng.randint(0, 900))
    stamps = []
    for _ in range(n_bars):
        stamps.append(t)
        t += timedelta(days=rng.choice([1, 1, 1, 1, 2, 3]))

    # Per asset: start level spans cheap and expensive names so integer sizing
    # and insufficient cash both happen.
    rows = []
    missing_p = rng.choice([0.0, 0.05, 0.15])
    for name in names:
        start = rng.choice([rng.uniform(2, 20), rng.uniform(20, 150), rng.uniform(150, 900)])
        vol = rng.uniform(0.005, 0.04)
        gap = vol * rng.uniform(0.1, 0.8)
        bars = _walk(rng, n_bars, start, vol, gap, cents)
        first = rng.choice([0, 0, 0, rng.randint(1, n_bars // 3)])  # late listing
        last = rng.choice([n_bars, n_bars, n_bars, n_bars - rng.randint(1, n_bars // 4)])  # early delisting
        for i, (o, h, lo, c) in enumerate(bars):
            if i < first or i >= last or (0 < i and rng.random() < missing_p):
                continue
            vol_ = rng.randint(0, 50_000)
            rows.append({"timestamp": stamps[i], "asset": name, "open": o, "high": h, "low": lo,
                         "close": c, "volume": vol_ if int_volume else float(vol_), "_k": rng.random()})

    # Within a timestamp rows come in random order (on_data sees input order).
    prices = pl.DataFrame(rows).sort(["timestamp", "_k"]).drop("_k")
    if int_volume:
        prices = prices.with_columns(pl.col("volume").cast(pl.Int64))

    signals = None
    ts_with_prices = set(prices["timestamp"].to_list())
    n_ts = len(ts_with_prices)
    if rng.random() < 0.7:
        sig = prices.select("timestamp", "asset").with_columns(
            pl.Series("score", [round(rng.uniform(-1, 1), 4) for _ in range(prices.height)]))
        # A few signal rows are missing (asset gets {}), and a signals-only
        # timestamp (no price rows at all) now and then.
        keep = [rng.random() > 0.1 for _ in range(sig.height)]
        sig = sig.filter(pl.Series(keep))
        if rng.random() < 0.3:
            extra = stamps[-1] + timedelta(days=1) if rng.random() < 0.3 else None
            gaps = [s for s in stamps if s not in ts_with_prices]
            orphan = gaps[0] if gaps else (stamps[0] - timedelta(hours=12))
            orphans = [orphan] + ([extra] if extra else [])
            sig = pl.concat([sig, pl.DataFrame({
                "timestamp": orphans, "asset": [names[0]] * len(orphans), "score": [0.5] * len(orphans),
            }).with_columns(pl.col("timestamp").cast(sig["timestamp"].dtype))])
        signals = sig.sort("timestamp", maintain_order=True)

    feed_kw: dict[str, Any] = {}
    if rng.random() < 0.25:
        prices, feed_kw = _add_quotes(rng, prices)
    config = make_config(rng, prices)
    # Account kind from its own stream, so the other draws stay as they were.
    _draw_account(random.Random(f"parity-account-{seed}"), config, sorted(names))
    _draw_cash_models(random.Random(f"parity-cash-model-{seed}"), config)
    lock_mode_rng = random.Random(f"parity-lock-mode-{seed}")
    _draw_lock_notional_update_mode(lock_mode_rng, config)
    if rng.random() < 0.2:
        # A preset under the drawn settings: the fields the draw left alone keep the preset's values.
        preset = rng.choice(["default", "backtrader", "zipline", "zipline_strict", "realistic", "vectorbt",
                             "vectorbt_strict", "backtrader_strict", "lean"])
        # VectorBT OSS's variant of the strict preset (combined-order collateral updates), from its own stream.
        if preset == "vectorbt_strict" and lock_mode_rng.random() < 0.5:
            preset = "vectorbt_oss_strict"
        config = {"preset": preset, **{k: v for k, v in config.items()
                                         if k in ("initial_cash", "execution_mode", "share_type")}}
    if feed_kw and rng.random() < 0.7:
        quote_sources = ["BID", "ASK", "QUOTE_MID", "QUOTE_SIDE"] + (["VWAP"] if "vwap_col" in feed_kw else [])
        config["execution_price"] = rng.choice(quote_sources)
        if rng.random() < 0.5:
            config["mark_price"] = rng.choice(quote_sources + ["OPEN", "PRICE"])
    if signals is not None:
        n_ts = len(ts_with_prices | set(signals["timestamp"].to_list()))
    models: dict[str, Any] = {}
    # partial_fills_allowed with a volume limit is a deliberate difference (ml4t
    # keeps filling a cash-limited order after rejecting it and can overdraw a
    # cash account; see README): scenarios use one or the other (the vectorbt
    # presets allow partial fills).
    # Backtrader's open cash check with shorts is one too: once a volume limit
    # has partly filled an order, ml4t ignores the check's cut of a reversal to
    # its closing leg and fills up to the volume limit (it can overdraw a cash
    # account; README). The backtrader_strict preset turns the check on.
    simple_check_reversals = config.get("preset") == "backtrader_strict" or (
        config.get("next_bar_simple_cash_check") and config.get("allow_short_selling"))
    if rng.random() < 0.3 and not config.get("partial_fills_allowed") and not simple_check_reversals \
            and config.get("preset") not in ("vectorbt", "vectorbt_strict", "vectorbt_oss_strict"):
        # Volumes are 0..50,000 per bar: orders of up to 400 shares partially fill.
        models["limits"] = (rng.choice([0.001, 0.002, 0.01, 0.05]), rng.choice([0.0, 0.0, 100.0, 5000.0]))
    if rng.random() < 0.2:
        models["impact"] = rng.choice([("linear", round(rng.uniform(0.01, 0.3), 3)),
                                       ("sqrt", round(rng.uniform(0.1, 1.0), 3), 0.02, 1.0),
                                       ("power", 0.1, round(rng.uniform(0.3, 1.2), 2), rng.choice([0.0, 0.01]))])
    _draw_contracts(random.Random(f"parity-contract-{seed}"), names, models)
    flows, funding = _draw_cash_events(random.Random(f"parity-cash-events-{seed}"), prices, config, feed_kw)
    return Scenario(seed, sorted(names), prices, signals, config, n_ts, models, feed_kw, flows, funding)


def _draw_cash_events(rng: random.Random, prices: pl.DataFrame, config: dict[str, Any], feed_kw: dict[str, Any]
                      ) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """Deposits on timestamps where every asset has a row (a flow needs a
    current mark for whatever is held; the messages of that refusal differ
    by design), and funding rates or per-unit amounts on any price timestamp."""
    flows = funding = None
    n_assets = prices["asset"].n_unique()
    complete = (prices.group_by("timestamp").len().filter(pl.col("len") == n_assets)["timestamp"].sort().to_list())
    marks_at_close = not feed_kw or "mark_price" not in config
    if complete and marks_at_close and rng.random() < 0.3:
        cash = float(config.get("initial_cash", 100_000.0))
        chosen = sorted(rng.sample(complete, min(len(complete), rng.randint(1, 3))))
        flows = pl.DataFrame({"timestamp": chosen, "event_id": [f"deposit-{i}" for i in range(len(chosen))],
                              "kind": "delta",
                              "value": [round(cash * rng.choice([0.1, 0.25, 0.5, 1.0]), 2) for _ in chosen]})
    if rng.random() < 0.3:
        rows = prices.select("timestamp", "asset").sample(n=min(prices.height, rng.randint(2, 12)),
                                                          seed=rng.randrange(2**32)).sort("timestamp", "asset")
        per_unit = rng.random() < 0.3
        values = [round(rng.uniform(-0.001, 0.002), 6) if not per_unit else round(rng.uniform(-0.05, 0.1), 4)
                  for _ in range(rows.height)]
        funding = rows.with_columns(pl.Series("amount_per_unit" if per_unit else "rate", values, dtype=pl.Float64))
    return flows, funding


def _draw_contracts(rng: random.Random, names: list[str], models: dict[str, Any]) -> None:
    """Contract multipliers for one or two assets now and then (futures-style P&L)."""
    if rng.random() < 0.2:
        picked = rng.sample(sorted(names), rng.choice([1, 1, 2]))
        models["multipliers"] = {a: rng.choice([0.5, 2.0, 5.0, 10.0, 50.0]) for a in picked}


def _add_quotes(rng: random.Random, prices: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Bid/ask (some rows unquoted), maybe a VWAP (some rows without) and quote sizes."""
    n = prices.height
    half = [rng.uniform(0.0002, 0.004) for _ in range(n)]
    quoted = [rng.random() > 0.15 for _ in range(n)]
    close = prices["close"].to_list()
    cols = {
        "bid": [c * (1 - h) if q else None for c, h, q in zip(close, half, quoted)],
        "ask": [c * (1 + h * rng.uniform(0.5, 1.5)) if q else None for c, h, q in zip(close, half, quoted)],
        "bid_size": [float(rng.randint(0, 3000)) if q else None for q in quoted],
        "ask_size": [float(rng.randint(0, 3000)) if q else None for q in quoted],
    }
    feed_kw = {"bid_col": "bid", "ask_col": "ask", "bid_size_col": "bid_size", "ask_size_col": "ask_size"}
    if rng.random() < 0.6:
        hi, lo = prices["high"].to_list(), prices["low"].to_list()
        cols["vwap"] = [(h + lo_ + c) / 3 if rng.random() > 0.1 else None for h, lo_, c in zip(hi, lo, close)]
        feed_kw["vwap_col"] = "vwap"
    return prices.with_columns([pl.Series(k, v, dtype=pl.Float64) for k, v in cols.items()]), feed_kw


def build_models(lib: Any, models: dict[str, Any]) -> dict[str, Any]:
    """`Engine` keyword arguments of `lib` for the scenario's liquidity models."""
    if lib.__name__.startswith("ml4t"):
        from ml4t.backtest.execution import impact, limits

        ex = type("ex", (), {**vars(impact), **vars(limits)})
    else:
        from nautilus_like import execution as ex
    out = {}
    if "multipliers" in models:
        out["contract_specs"] = {a: lib.ContractSpec(a, lib.AssetClass.FUTURE, multiplier=m)
                                 for a, m in models["multipliers"].items()}
    if "limits" in models:
        out["execution_limits"] = ex.VolumeParticipationLimit(*models["limits"])
    if "impact" in models:
        kind, *args = models["impact"]
        cls = {"linear": ex.LinearImpact, "sqrt": ex.SquareRootImpact, "power": ex.PowerLawImpact}[kind]
        out["market_impact_model"] = cls(*args)
    return out


def make_config(rng: random.Random, prices: pl.DataFrame) -> dict[str, Any]:
    cfg: dict[str, Any] = {}
    cfg["execution_mode"] = rng.choice(["NEXT_BAR", "SAME_BAR"])
    # NEXT_BAR ignores execution_price for market orders; still vary it.
    cfg["execution_price"] = rng.choice(["OPEN", "CLOSE", "PRICE", "MID"])
    cfg["share_type"] = rng.choice(["INTEGER", "INTEGER", "FRACTIONAL"])
    com = rng.choice(["NONE", "PERCENTAGE", "PER_SHARE", "PER_TRADE", "INFER", "PER_ORDER",
                      "PER_ORDER_PER_SHARE", "TIERED"])
    if com == "PERCENTAGE":
        cfg["commission_type"] = "PERCENTAGE"
        cfg["commission_rate"] = rng.choice([0.001, 0.0005, round(rng.uniform(0.0001, 0.01), 5)])
    elif com == "PER_SHARE":
        cfg["commission_type"] = "PER_SHARE"
        cfg["commission_per_share"] = rng.choice([0.005, 0.01, round(rng.uniform(0.001, 0.05), 4)])
        cfg["commission_minimum"] = rng.choice([0.0, 1.0, round(rng.uniform(0.1, 3.0), 2)])
    elif com == "PER_TRADE":
        cfg["commission_type"] = "PER_TRADE"
        cfg["commission_per_trade"] = rng.choice([1.0, round(rng.uniform(0.1, 5.0), 2)])
    elif com == "PER_ORDER":
        cfg["commission_type"] = "PER_ORDER"
        cfg["commission_per_share"] = rng.choice([0.0, 0.005, round(rng.uniform(0.001, 0.05), 4)])
        cfg["commission_rate"] = rng.choice([0.0, 0.0005, round(rng.uniform(0.0001, 0.005), 5)])
        cfg["commission_per_trade"] = rng.choice([0.0, 1.0, round(rng.uniform(0.1, 3.0), 2)])
        cfg["commission_minimum"] = rng.choice([0.0, 1.0, round(rng.uniform(0.5, 5.0), 2)])
    elif com == "PER_ORDER_PER_SHARE":
        cfg["commission_type"] = "PER_ORDER_PER_SHARE"
        cfg["commission_per_share"] = rng.choice([0.005, round(rng.uniform(0.001, 0.05), 4)])
        cfg["commission_minimum"] = rng.choice([0.0, 1.0, round(rng.uniform(0.5, 5.0), 2)])
    elif com == "TIERED":
        cfg["commission_type"] = "TIERED"
        cfg["commission_rate"] = rng.choice([0.001, round(rng.uniform(0.0001, 0.01), 5)])
    elif com == "INFER":
        # commission_type NONE with a rate field set: the model is inferred.
        which = rng.choice(["commission_rate", "commission_per_share", "commission_per_trade"])
        cfg["commission_type"] = "NONE"
        cfg[which] = {"commission_rate": 0.002, "commission_per_share": 0.01,
                      "commission_per_trade": 2.0}[which]
        if which == "commission_per_share":
            cfg["commission_minimum"] = 1.0
    else:
        cfg["commission_type"] = "NONE"
    slip = rng.choice(["NONE", "NONE", "PERCENTAGE", "FIXED", "SPREAD", "VOLUME_BASED", "CUMULATIVE_VOLUME_SHARE"])
    cfg["slippage_type"] = slip
    if slip == "PERCENTAGE":
        cfg["slippage_rate"] = rng.choice([0.001, round(rng.uniform(0.0001, 0.01), 5)])
    elif slip == "FIXED":
        cfg["slippage_fixed"] = rng.choice([0.01, 0.05, round(rng.uniform(0.005, 0.25), 3)])
    elif slip == "SPREAD":
        cfg["slippage_spread"] = rng.choice([0.0, 0.02, round(rng.uniform(0.01, 0.5), 3)])
        assets = sorted(set(prices["asset"].to_list()))
        if cfg["slippage_spread"] == 0.0 or rng.random() < 0.4:
            picked = rng.sample(assets, rng.randint(1, len(assets)))
            cfg["slippage_spread_by_asset"] = {a: round(rng.uniform(0.01, 0.4), 3) for a in picked}
        cfg["slippage_spread_convention"] = rng.choice(["FULL_SPREAD", "HALF_SPREAD"])
    elif slip == "VOLUME_BASED":
        cfg["slippage_rate"] = rng.choice([0.1, round(rng.uniform(0.005, 0.3), 3)])
    elif slip == "CUMULATIVE_VOLUME_SHARE":
        cfg["slippage_rate"] = rng.choice([0.1, round(rng.uniform(0.01, 1.0), 3)])
    cfg["fill_ordering"] = rng.choice(["EXIT_FIRST", "EXIT_FIRST", "FIFO", "SEQUENTIAL", "PRIORITY"])
    if rng.random() < 0.5:
        cfg["entry_order_priority"] = rng.choice(
            ["SUBMISSION", "NOTIONAL_DESC", "NOTIONAL_ASC", "FREE_CASH_ASC", "ORDER_VALUE_ASC"])
    if rng.random() < 0.2:
        cfg["conditional_order_mode"] = "EXECUTION_PRICE"
    if rng.random() < 0.3:
        cfg["partial_fills_allowed"] = True
    if rng.random() < 0.4:
        cfg["stop_fill_mode"] = rng.choice(["STOP_PRICE", "CLOSE_PRICE", "BAR_EXTREME", "NEXT_BAR_OPEN"])
    if rng.random() < 0.2:
        cfg["stop_level_basis"] = "SIGNAL_PRICE"
    if rng.random() < 0.15:
        cfg["stop_slippage_rate"] = rng.choice([0.001, 0.005])
    if rng.random() < 0.3:
        cfg["trail_stop_timing"] = rng.choice(["LAGGED", "INTRABAR", "VBT_PRO"])
    if rng.random() < 0.15:
        cfg["cash_buffer_pct"] = rng.choice([0.02, 0.1])
    if rng.random() < 0.15:
        cfg["reject_on_insufficient_cash"] = False
    if rng.random() < 0.08:
        cfg["skip_cash_validation"] = True
    if rng.random() < 0.3:
        cfg["trail_hwm_source"] = "BAR_EXTREME"
        cfg["trail_include_entry_bar_extremes"] = rng.random() < 0.3
    if rng.random() < 0.3:
        cfg["initial_hwm_source"] = rng.choice(["FILL_PRICE", "BAR_CLOSE", "BAR_HIGH", "SIGNAL_PRICE"])
    cfg["allow_short_selling"] = rng.random() < 0.5
    # Small enough that some orders are rejected for insufficient cash.
    med = float(prices["close"].median())
    cfg["initial_cash"] = round(med * rng.uniform(8, 120), rng.choice([0, 2]))
    return cfg


def _draw_account(rng: random.Random, cfg: dict[str, Any], names: list[str]) -> None:
    """Margin accounts (with or without shorts, some assets on futures-style
    margin schedules), short proceeds held as collateral or locked, and T+N
    settlement of sale proceeds."""
    r = rng.random()
    if r < 0.25:
        cfg["allow_leverage"] = True
        cfg["allow_short_selling"] = rng.random() < 0.8
        im = rng.choice([0.5, 0.5, 0.25, 0.4, 1.0])
        cfg["initial_margin"] = im
        cfg["long_maintenance_margin"] = round(im * rng.choice([0.5, 0.6, 1.0]), 4)
        cfg["short_maintenance_margin"] = round(im * rng.choice([0.6, 0.75, 1.0]), 4)
        if rng.random() < 0.4:
            asset = rng.choice(names)
            if rng.random() < 0.5:
                initial = rng.choice([0.1, 0.2, 0.5])
                cfg["margin_pct_schedule"] = {asset: (initial, round(initial * 0.7, 4))}
            else:
                initial = rng.choice([20.0, 100.0, 400.0])
                cfg["fixed_margin_schedule"] = {asset: (initial, initial / 2)}
    elif r < 0.4 and cfg.get("allow_short_selling"):
        cfg["short_cash_policy"] = "CREDIT_PROCEEDS"
    elif r < 0.55 and cfg.get("allow_short_selling"):
        # VectorBT's locked collateral (short-enabled accounts without leverage).
        cfg["short_cash_policy"] = "LOCK_NOTIONAL"
    if rng.random() < 0.15:
        cfg["settlement_delay"] = rng.choice([1, 2, 3])
        cfg["settlement_reduces_buying_power"] = rng.random() < 0.8


def _draw_lock_notional_update_mode(rng: random.Random, cfg: dict[str, Any]) -> None:
    """Locked collateral settled per position leg (VectorBT PRO, the default)
    or per combined order (VectorBT OSS), half and half."""
    if cfg.get("short_cash_policy") == "LOCK_NOTIONAL" and rng.random() < 0.5:
        cfg["lock_notional_update_mode"] = "COMBINED_ORDER"


def _draw_cash_models(rng: random.Random, cfg: dict[str, Any]) -> None:
    """Backtrader's and LEAN's NEXT_BAR cash models (ml4t's flags), each on
    its own: orders checked against a shadow account at submission,
    Backtrader's open cash check, LEAN's shadow validation of the queue."""
    if rng.random() < 0.35:
        cfg["next_bar_submission_precheck"] = rng.random() < 0.7
        cfg["next_bar_simple_cash_check"] = rng.random() < 0.5
        # LEAN's queue validation with VectorBT's locked collateral is refused
        # (not built): nautilus_like raises for it.
        cfg["next_bar_queue_shadow_validation"] = rng.random() < 0.4 \
            and cfg.get("short_cash_policy") != "LOCK_NOTIONAL"


# ------------------------------------------------------------------------- config


def build_config(lib: Any, spec: dict[str, Any]):
    """A `BacktestConfig` of `lib` from the scenario's config description."""
    if lib.__name__.startswith("ml4t"):
        from ml4t.backtest import config as cfg_mod
    else:
        from nautilus_like import config as cfg_mod
    enums = {
        "execution_mode": lib.ExecutionMode,
        "execution_price": cfg_mod.ExecutionPrice,
        "mark_price": cfg_mod.ExecutionPrice,
        "next_bar_execution_price": cfg_mod.ExecutionPrice,
        "share_type": cfg_mod.ShareType,
        "commission_type": lib.CommissionType,
        "slippage_type": cfg_mod.SlippageType,
        "slippage_spread_convention": cfg_mod.SpreadConvention,
        "fill_ordering": cfg_mod.FillOrdering,
        "entry_order_priority": cfg_mod.EntryOrderPriority,
        "conditional_order_mode": cfg_mod.ConditionalOrderMode,
        "stop_fill_mode": lib.StopFillMode,
        "stop_level_basis": lib.StopLevelBasis,
        "trail_stop_timing": cfg_mod.TrailStopTiming,
        "trail_hwm_source": cfg_mod.WaterMarkSource,
        "initial_hwm_source": cfg_mod.InitialHwmSource,
        "short_cash_policy": cfg_mod.ShortCashPolicy,
        "lock_notional_update_mode": cfg_mod.LockNotionalUpdateMode,
    }
    kwargs = {k: (enums[k][v] if k in enums else v) for k, v in spec.items() if k != "preset"}
    if "preset" not in spec:
        return lib.BacktestConfig(**kwargs)
    # A framework preset, then the scenario's own fields on top.
    cfg = lib.BacktestConfig.from_preset(spec["preset"])
    for k, v in kwargs.items():
        setattr(cfg, k, v)
    return cfg


# ----------------------------------------------------------------------- strategy


def _num(x: Any) -> Any:
    return None if x is None else float(x)


def _python_rule(risk: Any, gain: float) -> Any:
    """A position rule written in Python, the same body on both libraries."""

    class HalfOnGain:
        def evaluate(self, state):
            if state.unrealized_return > gain and state.quantity >= 2:
                return risk.PositionAction.exit_partial(0.5, "take_profit_half")
            if state.bars_held >= 5 and state.unrealized_return < -gain:
                return risk.PositionAction.exit_full("giveback", fill_price=state.bar_low)
            return risk.PositionAction.hold()

    return HalfOnGain()


def _dynamic_rule(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """One of ml4t's dynamic position rules as (name, keyword arguments); the
    context rules read what `_position_context` attaches every bar."""
    kind = rng.choice(["tightening", "scaled", "vol_stop", "vol_trail", "signal"])
    if kind == "tightening":
        schedule = [(round(rng.uniform(-0.03, 0.08), 3), round(rng.uniform(0.005, 0.06), 4))
                    for _ in range(rng.randint(1, 3))]
        return "TighteningTrailingStop", {"schedule": schedule}
    if kind == "scaled":
        targets = [(round(rng.uniform(0.0, 0.08), 3), rng.choice([0.25, 0.5, 1.0, round(rng.uniform(0.1, 0.9), 2)]))
                   for _ in range(rng.randint(1, 3))]
        return "ScaledExit", {"targets": targets}
    if kind == "vol_stop":
        return "VolatilityStop", {"multiplier": round(rng.uniform(0.5, 3.0), 2), "use_entry_atr": rng.random() < 0.6}
    if kind == "vol_trail":
        return "VolatilityTrailingStop", {"multiplier": round(rng.uniform(0.5, 3.0), 2)}
    return "SignalExit", {"threshold": round(rng.uniform(0.2, 0.8), 2)}


def _position_context(bar: Any) -> dict[str, Any]:
    """What the strategy attaches to a held position every bar: the bar's range
    as its ATR and the score signal (when there is one) as its exit signal."""
    values = {"atr": bar["high"] - bar["low"]}
    score = bar["signals"].get("score")
    if score is not None:
        values["exit_signal"] = score
    return values


def _px(x: float) -> float:
    """A valid order price: 4 decimals, at least 0.0001."""
    return max(round(x, 4), 0.0001)


# Action mix of the strategy (kind -> relative weight).
ACTIONS = {
    "signed": 14, "buy": 6, "sell": 5, "close": 6, "cancel": 5, "cash_sized": 7, "reduce": 5,
    "reverse": 4, "double": 3, "side_kw": 2, "zero": 2, "dollars": 2, "signal": 4,
    "nonpositive_shares": 1, "dust": 2,
    # Order types (resting orders), brackets and order updates.
    "limit": 6, "stop": 4, "stop_limit": 3, "trailing": 3, "moc": 2, "bracket": 4, "update": 4,
    "protect": 3,
    # Position rules (global or per asset, replaced or cleared now and then).
    "rules": 2,
    # Sizing to a target value / percent of the account.
    "target": 3,
    # Risk helpers: flatten everything, reduce one position by a fraction.
    "flatten": 1, "reduce_frac": 2,
}
ACTION_KINDS = list(ACTIONS)
ACTION_WEIGHTS = list(ACTIONS.values())


def _rebalance_modes(lib: Any) -> Any:
    if lib.__name__.startswith("ml4t"):
        from ml4t.backtest.config import RebalanceMode
        return RebalanceMode
    return lib.RebalanceMode


def rebalance_config(rng: random.Random, modes: Any, next_bar: bool) -> dict[str, Any]:
    """A random `RebalanceConfig` (keyword arguments) for the rebalance action."""
    cfg: dict[str, Any] = {"rebalance_mode": modes[rng.choice(["SNAPSHOT", "INCREMENTAL", "HYBRID"])]}
    if rng.random() < 0.3:
        cfg["share_rounding"] = rng.choice(["nearest", "truncate"])
    if rng.random() < 0.3:
        cfg["allow_fractional"] = rng.choice([True, False])
    if rng.random() < 0.15:
        cfg["round_lots"], cfg["lot_size"] = True, rng.choice([1, 5, 10, 100])
    if rng.random() < 0.3:
        cfg["min_trade_value"] = rng.choice([50.0, 500.0, round(rng.uniform(1, 2000), 2)])
    if rng.random() < 0.3:
        cfg["min_weight_change"] = rng.choice([0.01, 0.05, round(rng.uniform(0.001, 0.1), 4)])
    if rng.random() < 0.3:
        cfg["max_single_weight"] = rng.choice([0.25, 0.5, round(rng.uniform(0.05, 1.0), 3)])
    if rng.random() < 0.3:
        cfg["max_gross_leverage"] = rng.choice([0.5, 1.0, round(rng.uniform(0.2, 1.5), 3)])
    if rng.random() < 0.5:
        cfg["allow_short"] = True
    # Not in NEXT_BAR mode with INCREMENTAL/HYBRID (a documented difference):
    # ml4t's matching between orders there fills earlier bars' working orders
    # a second time, at the price instead of the open.
    keeps_pending_matchable = next_bar and cfg["rebalance_mode"].name != "SNAPSHOT"
    if rng.random() < 0.3 and not keeps_pending_matchable:
        cfg["cancel_before_rebalance"] = False
        cfg["account_for_pending"] = rng.random() < 0.7
    return cfg


def make_strategy_class(lib: Any):
    """The test strategy, subclassing `lib.Strategy`. The body is identical for
    both libraries; only the base class and `lib.OrderSide` differ."""

    class RandomActions(lib.Strategy):
        def __init__(self, seed: int, assets: list[str], allow_short: bool, next_bar: bool = False,
                     rebalances: bool = True):
            self.rng = random.Random(f"parity-actions-{seed}")
            # Rebalances: their own stream; `next_bar` shapes their configs.
            self.rebalance_rng = random.Random(f"parity-rebalance-{seed}")
            self.rebalance_mode = _rebalance_modes(lib)
            self.next_bar = next_bar
            self.rebalances = rebalances
            self.assets = assets
            self.allow_short = allow_short
            self.bar = -1
            self.submitted: list[str] = []
            self.returned: list[Any] = []  # Order objects returned by the broker
            self.held_positions: dict[str, Any] = {}  # Position objects from the previous bar
            self.orders_snapshot: tuple[int, tuple] | None = None  # a get_orders() result kept
            # Recorded values, compared between engines.
            self.obs: list[tuple] = []  # cash / account value / positions / pending (decision inputs)
            self.detail: list[tuple] = []  # richer Position fields
            self.actions: list[tuple] = []  # what each call returned
            self.live: list[tuple] = []  # returned Order objects / held Positions read later

        # -- helpers ----------------------------------------------------------

        def _positions(self, broker) -> dict[str, float]:
            out = {}
            for a in self.assets:
                p = broker.get_position(a)
                if p is not None:
                    out[a] = float(p.quantity)
            return out

        def _do(self, kind, asset, qty, fn, *args, **kwargs):
            """Calls a broker order method; records the returned order (or None,
            or the exception: a raise is a difference, not a crash of the run)."""
            try:
                o = fn(*args, **kwargs)
            except Exception as exc:
                self.actions.append((self.bar, kind, asset, qty, "raised", type(exc).__name__, str(exc)))
                return None
            if o is not None:
                self.submitted.append(o.order_id)
                self.returned.append(o)
                self.actions.append((self.bar, kind, asset, qty, o.order_id, o.status.value,
                                     o.side.value, _num(o.quantity)))
            else:
                self.actions.append((self.bar, kind, asset, qty, None))
            return o

        def _submit(self, broker, kind, asset, qty, side=None):
            if side is None:
                return self._do(kind, asset, qty, broker.submit_order, asset, qty)
            return self._do(kind, asset, qty, broker.submit_order, asset, qty, side)

        def _qty(self) -> float:
            r = self.rng.random()
            if r < 0.45:
                return float(self.rng.randint(1, 40))
            if r < 0.75:
                return round(self.rng.uniform(0.5, 30.0), 1)  # e.g. 7.6
            if r < 0.85:
                return self.rng.choice([0.3, 0.9, 0.05, 1e-9, 0.0])  # round to zero / ignored
            return float(self.rng.randint(50, 400))  # large: often too expensive

        def _resting(self, broker, kind, in_bar, data):
            """A limit/stop/stop-limit/trailing/MOC order priced around this bar's close."""
            rng = self.rng
            if not in_bar:
                return
            a = rng.choice(in_bar)
            c = data[a]["close"]
            q = self._qty() * rng.choice([1, 1, -1])
            buy = q >= 0
            OT = lib.OrderType
            # Mostly resting (away from the market), sometimes marketable.
            away = rng.uniform(-0.01, 0.05)
            if kind == "limit":
                kw = {"order_type": OT.LIMIT, "limit_price": _px(c * (1 - away) if buy else c * (1 + away))}
            elif kind == "stop":
                kw = {"order_type": OT.STOP, "stop_price": _px(c * (1 + away) if buy else c * (1 - away))}
            elif kind == "stop_limit":
                stop = _px(c * (1 + away) if buy else c * (1 - away))
                slack = rng.uniform(-0.01, 0.03)
                kw = {"order_type": OT.STOP_LIMIT, "stop_price": stop,
                      "limit_price": _px(stop * (1 + slack) if buy else stop * (1 - slack))}
            elif kind == "trailing":
                kw = {"order_type": OT.TRAILING_STOP, "trail_amount": _px(c * rng.uniform(0.005, 0.05))}
            else:
                kw = {"order_type": OT.MOC}
            self._do(kind, a, q, broker.submit_order, a, q, **kw)

        def _bracket(self, broker, in_bar, data):
            rng = self.rng
            if not in_bar:
                return
            a = rng.choice(in_bar)
            c = data[a]["close"]
            q = self._qty() * (1 if rng.random() < 0.75 or not self.allow_short else -1)
            up, down = c * (1 + rng.uniform(0.005, 0.06)), c * (1 - rng.uniform(0.005, 0.06))
            tp, sl = (_px(up), _px(down)) if q >= 0 else (_px(down), _px(up))
            kw = {}
            if rng.random() < 0.3:
                kw = {"entry_type": lib.OrderType.LIMIT,
                      "entry_limit": _px(c * (1 + rng.uniform(-0.03, 0.01) * (1 if q >= 0 else -1)))}
            try:
                res = broker.submit_bracket(a, q, tp, sl, **kw)
            except Exception as exc:
                self.actions.append((self.bar, "bracket", a, q, "raised", type(exc).__name__, str(exc)))
                return
            if res is None:
                self.actions.append((self.bar, "bracket", a, q, None))
                return
            for o in res:
                self.submitted.append(o.order_id)
                self.returned.append(o)
            self.actions.append((self.bar, "bracket", a, q, tuple(
                (o.order_id, o.status.value, o.side.value, _num(o.quantity), _plain(o.order_type),
                 o.parent_id) for o in res)))

        def _set_rules(self, broker, asset):
            rng = self.rng
            if lib.__name__.startswith("ml4t"):
                import ml4t.backtest.risk as risk
            else:
                import nautilus_like.risk as risk
            leaves = []
            for _ in range(rng.randint(1, 3)):
                k = rng.choice(["sl", "tp", "time", "trail", "dynamic"])
                if k == "dynamic":
                    leaves.append(_dynamic_rule(rng))
                elif k == "sl":
                    leaves.append(("StopLoss", round(rng.uniform(0.003, 0.06), 4)))
                elif k == "tp":
                    leaves.append(("TakeProfit", round(rng.uniform(0.003, 0.08), 4)))
                elif k == "trail":
                    leaves.append(("TrailingStop", round(rng.uniform(0.005, 0.06), 4)))
                else:
                    leaves.append(("TimeExit", rng.randint(1, 8)))
            target = asset if rng.random() < 0.3 else None
            if rng.random() < 0.1:
                broker.set_position_rules(None, target)
                self.actions.append((self.bar, "rules", target, None))
                return
            rules = [getattr(risk, name)(**arg) if isinstance(arg, dict) else getattr(risk, name)(arg)
                     for name, arg in leaves]
            if rng.random() < 0.2:
                # A rule written in Python (the engine calls it back).
                rules.append(_python_rule(risk, rng.uniform(0.005, 0.04)))
            if len(rules) > 1 and rng.random() < 0.25:
                rules = [risk.AllOf(rules[:2])] + rules[2:]
            rule = rules[0] if len(rules) == 1 else risk.RuleChain(rules)
            broker.set_position_rules(rule, target)
            self.actions.append((self.bar, "rules", target, tuple(leaves)))

        def _update(self, broker):
            rng = self.rng
            live = broker.get_pending_orders()
            if live and rng.random() < 0.85:
                o = rng.choice(live[-5:])
            elif self.returned:
                o = rng.choice(self.returned)  # maybe no longer pending: False
            else:
                return
            t = _plain(o.order_type)
            choices = ["quantity"]
            if t in ("limit", "stop_limit"):
                choices.append("limit_price")
            if t in ("stop", "stop_limit"):
                choices.append("stop_price")
            if t == "trailing_stop":
                choices.append("trail_amount")
            field_ = rng.choice(choices)
            if field_ == "quantity":
                value = float(rng.randint(1, 40)) if rng.random() < 0.6 else round(rng.uniform(0.5, 30), 1)
            else:
                old = getattr(o, field_)
                if old is None:
                    return
                value = _px(old * (1 + rng.uniform(-0.03, 0.03)))
            try:
                ok = broker.update_order(o.order_id, **{field_: value})
            except Exception as exc:
                self.actions.append((self.bar, "update", o.order_id, field_, value, "raised",
                                     type(exc).__name__))
                return
            self.actions.append((self.bar, "update", o.order_id, field_, value, ok))

        # -- callbacks ---------------------------------------------------------

        def on_start(self, broker):
            self.obs.append(("start", broker.get_cash(), broker.get_account_value()))

        def on_data(self, timestamp, data, context, broker):
            self.bar += 1
            rng = self.rng
            in_bar = list(data.keys())
            cash = broker.get_cash()
            positions = self._positions(broker)
            pending = [o.order_id for o in broker.get_pending_orders()]
            self.obs.append((self.bar, timestamp, in_bar, cash, broker.get_account_value(),
                             positions, pending, list(broker.get_positions().keys()), dict(context)))
            bars = {a: (data[a]["open"], data[a]["high"], data[a]["low"], data[a]["close"],
                        data[a]["price"], data[a]["volume"], dict(data[a]["signals"])) for a in in_bar}
            self.obs.append((self.bar, "bars", bars))
            # A Position object kept from the previous bar (ml4t hands out live objects).
            for a, p in self.held_positions.items():
                self.live.append((self.bar, "held position", a, {
                    n: _attr(p, n) for n in ("quantity", "current_price", "bars_held")}))
            self.held_positions = {}
            for a in self.assets:
                p = broker.get_position(a)
                if p is not None:
                    self.held_positions[a] = p
                    self.detail.append((self.bar, a) + tuple(_attr(p, n) for n in POSITION_FIELDS)
                                       + (p.unrealized_pnl(),))

            for a in in_bar:
                if broker.get_position(a) is not None:
                    broker.update_position_context(a, _position_context(data[a]))
            if rng.random() < 0.1:
                # get_orders() returns copies in ml4t: read them again at the end.
                self.orders_snapshot = (self.bar, broker.get_orders())
            n_actions = rng.choice([0, 0, 1, 1, 1, 2, 2, 3, 4])
            for _ in range(n_actions):
                kind = rng.choices(ACTION_KINDS, weights=ACTION_WEIGHTS)[0]
                asset = rng.choice(self.assets)
                if kind == "signed":
                    q = self._qty() * rng.choice([1, 1, -1])
                    self._submit(broker, kind, asset, q)
                elif kind == "buy":
                    q = self._qty()
                    self._do(kind, asset, q, broker.buy, asset, shares=q)
                elif kind == "nonpositive_shares":
                    # ml4t's buy()/sell() return None for shares <= 0.
                    q = rng.choice([-3.0, -0.5, 0.0])
                    fn = broker.buy if rng.random() < 0.5 else broker.sell
                    self._do(kind, asset, q, fn, asset, shares=q)
                elif kind == "sell":
                    q = self._qty()
                    self._do(kind, asset, q, broker.sell, asset, shares=q)
                elif kind == "close":
                    held = sorted(positions)
                    a = rng.choice(held) if held and rng.random() < 0.8 else asset
                    self._do(kind, a, None, broker.close_position, a)
                elif kind == "cancel":
                    live = [o.order_id for o in broker.get_pending_orders()]
                    if live and rng.random() < 0.8:
                        target = rng.choice(live[-4:])  # a recent pending order
                    elif self.submitted:
                        target = rng.choice(self.submitted)  # maybe filled/rejected: False
                    else:
                        continue
                    self.actions.append((self.bar, kind, target, broker.cancel_order(target)))
                elif kind == "cash_sized":
                    if not in_bar:
                        continue
                    a = rng.choice(in_bar)
                    frac = rng.choice([0.25, 0.5, 0.9, 1.0, 1.05, round(rng.uniform(0.05, 1.3), 3)])
                    q = broker.get_cash() * frac / data[a]["close"]
                    if q > 0:
                        self._submit(broker, kind, a, q)
                    else:
                        self.actions.append((self.bar, kind, a, q, "skip"))
                elif kind == "reduce":
                    held = sorted(self._positions(broker).items())
                    if not held:
                        continue
                    a, qty = rng.choice(held)
                    frac = rng.choice([0.5, 0.25, 1.0, round(rng.uniform(0.1, 0.9), 3)])
                    self._submit(broker, kind, a, -qty * frac)
                elif kind == "reverse":
                    held = sorted(self._positions(broker).items())
                    if not held:
                        continue
                    a, qty = rng.choice(held)
                    self._submit(broker, kind, a, -qty * rng.choice([2.0, 1.5, 3.0]))
                elif kind == "double":
                    # Several orders for one asset in one bar (exit then re-entry, two exits...).
                    q1 = self._qty() * rng.choice([1, -1])
                    q2 = self._qty() * rng.choice([1, -1])
                    self._submit(broker, kind, asset, q1)
                    self._submit(broker, kind, asset, q2)
                elif kind == "side_kw":
                    side = rng.choice([lib.OrderSide.BUY, lib.OrderSide.SELL])
                    q = self._qty() * rng.choice([1, -1])  # sign ignored when side is given
                    self._submit(broker, kind, asset, q, side)
                elif kind == "zero":
                    self._submit(broker, kind, asset, rng.choice([0.0, 1e-9, -0.0]))
                elif kind == "dollars":
                    # Sized at this bar's price; ml4t returns None for an asset
                    # without a price this bar.
                    a = rng.choice(in_bar) if in_bar and rng.random() < 0.7 else asset
                    amount = round(rng.uniform(50, 5000), 2)
                    fn = broker.buy if rng.random() < 0.7 else broker.sell
                    self._do(kind, a, amount, fn, a, dollars=amount)
                elif kind == "dust":
                    # Float dust: 0.1 + 0.2 then an exit of round(qty, 1) (fractional accounts).
                    pos = broker.get_position(asset)
                    if pos is None:
                        self._submit(broker, kind, asset, 0.1)
                        self._submit(broker, kind, asset, 0.2)
                    else:
                        self._submit(broker, kind, asset, -round(float(pos.quantity), 1))
                elif kind in ("limit", "stop", "stop_limit", "trailing", "moc"):
                    self._resting(broker, kind, in_bar, data)
                elif kind == "bracket":
                    self._bracket(broker, in_bar, data)
                elif kind == "update":
                    self._update(broker)
                elif kind == "protect":
                    held = [(a, q) for a, q in sorted(self._positions(broker).items()) if a in in_bar]
                    if not held:
                        continue
                    a, qty = rng.choice(held)
                    c = data[a]["close"]
                    away = rng.uniform(0.005, 0.06)
                    kind2 = rng.choice(["STOP", "LIMIT", "TRAILING_STOP"])
                    px = _px(c * (1 - away) if (qty > 0) == (kind2 == "STOP") else c * (1 + away))
                    kw = ({"trail_amount": _px(c * away)} if kind2 == "TRAILING_STOP" else
                          {"stop_price": px} if kind2 == "STOP" else {"limit_price": px})
                    self._do(kind, a, -qty, broker.submit_order, a, -qty,
                             order_type=getattr(lib.OrderType, kind2), **kw)
                elif kind == "rules":
                    self._set_rules(broker, asset)
                elif kind == "flatten":
                    out = broker.flatten_all_positions("parity flatten")
                    self.actions.append((self.bar, kind, [o.order_id for o in out]))
                elif kind == "reduce_frac":
                    frac = rng.choice([0.25, 0.5, 1.0, round(rng.uniform(0.05, 0.95), 3)])
                    self._do(kind, asset, frac, broker.reduce_position, asset, frac)
                elif kind == "target":
                    if rng.random() < 0.5:
                        pct = rng.choice([0.0, 0.05, 0.2, round(rng.uniform(-0.3, 0.5), 3)])
                        self._do(kind, asset, pct, broker.order_target_percent, asset, pct)
                    else:
                        value = rng.choice([0.0, round(rng.uniform(-2000, 5000), 2)])
                        self._do(kind, asset, value, broker.order_target_value, asset, value)
                elif kind == "signal":
                    # Classic signal strategy: enter on a strong score, exit on a weak one.
                    for a in in_bar:
                        s = data[a]["signals"].get("score")
                        if s is None:
                            continue
                        pos = broker.get_position(a)
                        if s > 0.6 and pos is None:
                            self._submit(broker, kind, a, float(rng.randint(1, 25)))
                        elif s < -0.6 and pos is None and self.allow_short:
                            self._submit(broker, kind, a, -float(rng.randint(1, 25)))
                        elif abs(s) < 0.1 and pos is not None:
                            self._do(kind, a, None, broker.close_position, a)
            self._maybe_rebalance(broker, data)
            self.obs.append((self.bar, "buying power", broker.get_buying_power()))
            self.obs.append((self.bar, "after", broker.get_cash(),
                             [o.order_id for o in broker.get_pending_orders()]))

        def _maybe_rebalance(self, broker, data):
            """Now and then a target-weight rebalance (`rebalance_to_weights` or a
            `TargetWeightExecutor` with a random `RebalanceConfig`), drawn from
            its own stream so the other actions' draws stay as they were."""
            rng = self.rebalance_rng
            if rng.random() >= 0.12 or not self.rebalances:
                return
            picked = rng.sample(self.assets, rng.randint(0, len(self.assets)))
            low = -0.3 if self.allow_short else 0.0
            weights = {a: rng.choice([0.0, round(rng.uniform(low, 0.6), 3)]) for a in picked}
            if rng.random() < 0.4:
                self._record_rebalance("rebalance_to_weights", weights, None, broker.rebalance_to_weights, weights)
                return
            kwargs = rebalance_config(rng, self.rebalance_mode, self.next_bar)
            executor = lib.TargetWeightExecutor(lib.RebalanceConfig(**kwargs))
            # The config goes into the record (mode by name) so a difference shows it.
            shown = {k: getattr(v, "name", v) for k, v in kwargs.items()}
            self._record_rebalance("executor", weights, shown, executor.execute, weights, data, broker)

        def _record_rebalance(self, kind, weights, config, fn, *args):
            try:
                orders = fn(*args)
            except Exception as exc:
                self.actions.append((self.bar, kind, weights, "raised", type(exc).__name__, str(exc), config))
                return
            for o in orders:
                self.submitted.append(o.order_id)
                self.returned.append(o)
            self.actions.append((self.bar, kind, weights, [
                (o.order_id, o.asset, o.side.value, _num(o.quantity), o.status.value, o.rebalance_id)
                for o in orders], config))

        def on_end(self, broker):
            self.obs.append(("end", broker.get_cash(), broker.get_account_value(),
                             self._positions(broker), [o.order_id for o in broker.get_pending_orders()]))
            if self.orders_snapshot is not None:
                bar, orders = self.orders_snapshot
                self.live.append((bar, "get_orders() kept", type(orders).__name__,
                                  {o.order_id: _attr(o, "status") for o in orders}))
            # The Order objects submit_order returned, read at the end (live in ml4t).
            for o in self.returned:
                self.live.append(("end", "returned order", o.order_id, {
                    n: _attr(o, n) for n in ("status", "quantity", "filled_quantity", "filled_price",
                                             "rejection_reason")}))

    return RandomActions


# ----------------------------------------------------------------------- running


@dataclass
class RunOutput:
    lib: str
    error: str | None = None
    obs: list = field(default_factory=list)
    detail: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    live: list = field(default_factory=list)
    orders: list = field(default_factory=list)
    broker_fills: list = field(default_factory=list)
    broker_trades: list = field(default_factory=list)
    fills_df: pl.DataFrame | None = None
    trades_df: pl.DataFrame | None = None
    equity_df: pl.DataFrame | None = None
    equity_curve: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    result_fills: list = field(default_factory=list)  # result.fills as (attribute values)
    result_trades: list = field(default_factory=list)  # result.trades
    result_items: dict = field(default_factory=dict)  # result[key] for some keys
    result_keys: list = field(default_factory=list)
    # nautilus_like only: order id -> (cancellation_reason, cancelled_at).
    cancellations: dict = field(default_factory=dict)
    # result.trade_analyzer.to_dict() and broker.get_asset_stats(asset) per asset at the end.
    trade_stats: dict = field(default_factory=dict)


ORDER_FIELDS = ("order_id", "asset", "side", "quantity", "requested_quantity", "order_type", "status",
                "rejection_reason", "created_at", "filled_at", "filled_price", "filled_quantity",
                "commission_paid", "limit_price", "stop_price", "trail_amount", "parent_id")
FILL_FIELDS = ("order_id", "asset", "side", "quantity", "price", "timestamp", "commission", "slippage",
               "order_type", "price_source", "reference_price", "available_size", "exit_reason")
ASSET_STATS_FIELDS = ("total_realized_pnl", "total_trades", "total_wins", "recent_wins", "session_pnl",
                      "session_trades", "session_wins", "session_id", "win_rate", "recent_win_rate",
                      "recent_expectancy", "recent_total_pnl", "avg_pnl")
POSITION_FIELDS = ("quantity", "entry_price", "entry_time", "current_price", "bars_held",
                   "max_favorable_excursion", "max_adverse_excursion", "entry_commission",
                   "entry_slippage", "side", "market_value")
# `result[key]` (BacktestResult is dict-like in ml4t: metrics at the top level).
RESULT_ITEM_KEYS = ("final_value", "total_return", "sharpe", "max_drawdown", "num_trades", "num_fills",
                    "total_commission", "equity_curve")
TRADE_FIELDS = ("symbol", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "pnl",
                "pnl_percent", "bars_held", "fees", "exit_slippage", "entry_slippage", "mfe", "mae",
                "status", "exit_reason")
CAPITAL_CHANGE_FIELDS = ("timestamp", "event_id", "kind", "value", "cash_delta", "nav_before", "nav_after")
FUNDING_PAYMENT_FIELDS = ("timestamp", "asset", "quantity", "mark_price", "multiplier", "rate", "amount_per_unit",
                          "cash_delta")


MISSING = "<attribute missing>"


def _attr(obj: Any, name: str) -> Any:
    """`obj.name` with enums as their value; a missing attribute becomes MISSING
    (reported as a difference instead of aborting the run)."""
    try:
        return _plain(getattr(obj, name))
    except AttributeError:
        return MISSING


def _plain(v: Any) -> Any:
    """Enums as their value, everything else unchanged."""
    return v.value if isinstance(v, enum.Enum) else v


def run_engine(lib: Any, sc: Scenario) -> RunOutput:
    out = RunOutput(lib.__name__)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config = build_config(lib, sc.config)
        # A deliberate difference (README, Behaviour): a rebalance's entry in an
        # integer account that rejects unaffordable orders fills what cash
        # affords (as with partial_fills_allowed); once a volume limit has
        # partly filled it, ml4t fills the remainder whatever cash affords (it
        # overdraws a cash account). So no rebalances where a volume limit
        # meets that rule.
        rebalances = not ("limits" in sc.models and config.reject_on_insufficient_cash
                          and str(getattr(config.share_type, "value", config.share_type)).lower() == "integer")
        strat = make_strategy_class(lib)(sc.seed, sc.assets, bool(sc.config.get("allow_short_selling")),
                                         next_bar=sc.config["execution_mode"] == "NEXT_BAR", rebalances=rebalances)
        feed_kw = dict(sc.feed_kw) if sc.capital_flows is None else {**sc.feed_kw, "capital_flows": sc.capital_flows}
        feed = lib.DataFeed(prices_df=sc.prices, signals_df=sc.signals, **feed_kw)
        models = build_models(lib, sc.models)
        if sc.funding is not None:
            models["funding_df"] = sc.funding
        engine = lib.Engine(feed, strat, config, **models)
        try:
            result = engine.run()
        except Exception as exc:  # compared as a discrepancy, never hidden
            out.error = f"{type(exc).__name__}: {exc}"
            result = None
    out.obs, out.detail, out.actions, out.live = strat.obs, strat.detail, strat.actions, strat.live
    broker = engine.broker
    out.orders = [tuple(_attr(o, f) for f in ORDER_FIELDS) for o in broker.get_orders()]
    out.cancellations = {o.order_id: (o.cancellation_reason, o.cancelled_at) for o in broker.get_orders()
                         if getattr(o, "cancellation_reason", None) is not None}
    out.broker_fills = [tuple(_attr(f, n) for n in FILL_FIELDS) for f in broker.get_fills()]
    out.broker_trades = [tuple(_attr(t, n) for n in TRADE_FIELDS) for t in broker.get_trades()]
    out.trade_stats["assets"] = {a: {n: _attr(broker.get_asset_stats(a), n) for n in ASSET_STATS_FIELDS}
                                 for a in sc.assets}
    if result is not None:
        out.fills_df = result.to_fills_dataframe()
        out.trades_df = result.to_trades_dataframe()
        out.equity_df = result.to_equity_dataframe()
        out.equity_curve = [(ts, float(v)) for ts, v in result.equity_curve]
        out.metrics = dict(result.metrics)
        out.result_fills = [tuple(_attr(f, n) for n in FILL_FIELDS) for f in result.fills]
        out.result_trades = [tuple(_attr(t, n) for n in TRADE_FIELDS) for t in result.trades]
        out.result_keys = sorted(result.keys())
        out.trade_stats["analyzer"] = result.trade_analyzer.to_dict()
        for k in RESULT_ITEM_KEYS:
            try:
                out.result_items[k] = result[k]
            except KeyError:
                out.result_items[k] = "<KeyError>"
        out.result_items["capital_changes"] = [tuple(_attr(c, n) for n in CAPITAL_CHANGE_FIELDS)
                                               for c in result.capital_changes]
        out.result_items["funding_payments"] = [tuple(_attr(p, n) for n in FUNDING_PAYMENT_FIELDS)
                                                for p in result.funding_payments]
    return out


if __name__ == "__main__":
    import sys

    pl.Config.set_tbl_rows(-1)
    pl.Config.set_tbl_cols(-1)
    pl.Config.set_fmt_float("full")
    for arg in sys.argv[1:]:
        sc = make_scenario(int(arg))
        print(sc.describe())
        print(sc.prices)
        if sc.signals is not None:
            print(sc.signals)
