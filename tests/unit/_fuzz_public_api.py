"""The fuzz run of `test_fuzz_constructors.py`, executed in a child interpreter.

Every way of making and using the public classes that a user can type —
`cls.__new__(cls)`, constructors with no, ml4t's, or wrong-typed arguments,
every attribute and method, repr/str/eq/hash/len/iter/copy, objects kept from
inside `on_data` (the data views, orders, positions, fills, the broker) and
read after the run and after the engine is garbage-collected, a Python rule
and cost models calling back into the engine — must raise a Python exception
or work. A segfault or abort kills this process, which the parent test sees.

Usage: python _fuzz_public_api.py SEED BUDGET
Prints "attempts: N" on success. Before each attempt the candidate is written
to stderr, so the last line before a crash names it.
"""

from __future__ import annotations

import copy
import gc
import inspect
import math
import os
import pickle
import random
import sys
from datetime import datetime, timedelta
from enum import Enum

import polars as pl

import nautilus_like as nl
from nautilus_like import _broker, _data, _model, _strategy
from nautilus_like.risk import PositionAction

T0 = datetime(2024, 1, 1)

# Calls that would only slow the run down or block (never a crash risk we can
# learn from): reading stdin, sleeping, starting a live node.
SKIP_METHODS = {"input", "sleep", "serve", "wait", "run_forever"}
VERBOSE = bool(os.environ.get("NL_FUZZ_VERBOSE"))


class Fuzz:
    def __init__(self, seed: int, budget: int):
        self.rng = random.Random(seed)
        self.budget = budget
        self.attempts = 0
        self.kept: list = []  # engine-backed objects to read after the run
        self.phase_end = budget  # the current phase's last attempt

    # ------------------------------------------------------------------ values

    def values(self) -> list:
        return [
            None, "", "AAA", "BBB", "x" * 300, "ORD-1", "ORD-0", "ORD-99999999999999999999",
            0, 1, -1, 7, 2**31, 2**63, 2**64 + 1, 10**30, -(10**30),
            0.0, -0.0, 1.5, -2.5, 1e308, float("nan"), float("inf"), float("-inf"),
            True, False, object(), [], {}, (), [1, 2], {"a": 1}, b"bytes", T0,
            nl.OrderSide.BUY, nl.OrderSide.SELL, nl.OrderType.LIMIT, nl.OrderStatus.FILLED,
            int, lambda *a, **k: None, *self.kept[-5:],
        ]

    def value(self):
        return self.rng.choice(self.values())

    # ------------------------------------------------------------------ attempts

    def attempt(self, label: str, fn, *args, **kwargs):
        """Runs one candidate; Python exceptions are fine, a crash is not."""
        if self.attempts >= min(self.budget, self.phase_end):
            return None
        self.attempts += 1
        os.write(2, f"{self.attempts} {label}\n".encode("utf-8", "replace"))
        if os.environ.get("NL_FUZZ_INJECT_CRASH") == str(self.attempts):
            os.abort()  # the parent test's proof that a crash is detected
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if VERBOSE:
                os.write(2, f"   -> {type(exc).__name__}: {str(exc)[:200]}\n".encode("utf-8", "replace"))
            return None

    def probe(self, obj, label: str, depth: int = 0):
        """Reads every attribute, calls every method, and the dunder protocols."""
        for op, fn in (
            ("repr", repr), ("str", str), ("hash", hash), ("bool", bool), ("len", len),
            ("iter", lambda o: list(iter(o))[:50]), ("eq-self", lambda o: o == o),
            ("eq-other", lambda o: o == self.value()), ("ne", lambda o: o != object()),
            ("copy", copy.copy), ("deepcopy", copy.deepcopy), ("pickle", lambda o: pickle.loads(pickle.dumps(o))),
            ("getitem", lambda o: o[self.value()]), ("contains", lambda o: self.value() in o),
            ("unpickle-tampered", self.tampered_unpickle),
            ("setstate", lambda o: o.__setstate_cython__(self.value())),
        ):
            self.attempt(f"{label}: {op}", fn, obj)
        names = [n for n in dir(obj) if not (n.startswith("__") and n.endswith("__"))]
        self.rng.shuffle(names)
        for name in names:
            if name in SKIP_METHODS:
                continue
            attr = self.attempt(f"{label}.{name}", getattr, obj, name)
            if callable(attr) and not isinstance(attr, type):
                self.attempt(f"{label}.{name}()", attr)
                args = [self.value() for _ in range(self.rng.randint(1, 3))]
                self.attempt(f"{label}.{name}(*{args!r:.120})", attr, *args)
            elif (depth == 0 and attr is not None and not isinstance(attr, Enum)
                  and type(attr).__module__.startswith("nautilus_like")):
                self.probe(attr, f"{label}.{name}", depth + 1)

    def tampered(self, value):
        """`value` with its numbers and nested tuples swapped for random values."""
        if isinstance(value, tuple):
            return tuple(self.tampered(v) for v in value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return self.rng.choice([value, -1, 10**9, 2**62, 0, self.value()])
        return value

    def tampered_unpickle(self, obj):
        """Rebuilds `obj` from its pickle recipe with the numbers changed (a crafted pickle)."""
        recipe = obj.__reduce_ex__(2)
        fn, args = recipe[0], self.tampered(recipe[1])
        rebuilt = fn(*args)
        if len(recipe) > 2 and recipe[2] is not None and hasattr(rebuilt, "__setstate__"):
            rebuilt.__setstate__(self.tampered(recipe[2]))
        return repr(rebuilt), [getattr(rebuilt, n, None) for n in dir(rebuilt)[:40]]

    # ------------------------------------------------------------------ classes

    def public_classes(self) -> list[type]:
        modules = [nl, _model, _broker, _data, _strategy]
        for name in ("types", "risk", "models", "execution", "config", "result", "rebalance", "contracts",
                     "datafeed", "portfolio_limits", "presets", "engine", "_costs"):
            modules.append(__import__(f"nautilus_like.{name}", fromlist=["_"]))
        seen: dict[str, type] = {}
        for module in modules:
            for name in dir(module):
                obj = getattr(module, name)
                if isinstance(obj, type) and obj.__module__.startswith("nautilus_like"):
                    seen.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
        return [seen[k] for k in sorted(seen)]

    def ml4t_kwargs(self, cls: type) -> list[dict]:
        """ml4t-backtest 0.2.0's documented constructor arguments, right and wrong."""
        rows = {
            "Order": [dict(asset="AAA", side=nl.OrderSide.BUY, quantity=10.0),
                      dict(asset="AAA", side=nl.OrderSide.SELL, quantity=5, order_type=nl.OrderType.LIMIT,
                           limit_price=99.0, status=nl.OrderStatus.FILLED, filled_price=99.0,
                           filled_quantity=5.0, created_at=T0, commission_paid=1.0)],
            "Position": [dict(asset="AAPL", quantity=100.0, entry_price=150.0, current_price=155.0,
                              entry_time=T0),
                         dict(asset="ES", quantity=-2.0, entry_price=4000.0, entry_time=T0, multiplier=50.0,
                              context={"atr": 1.5}, variation_basis=3995.0)],
            "Fill": [dict(order_id="ORD-1", asset="AAA", side=nl.OrderSide.BUY, quantity=10.0, price=101.0,
                          timestamp=T0, commission=1.0)],
            "Trade": [dict(symbol="AAA", entry_time=T0, exit_time=T0 + timedelta(days=1), entry_price=100.0,
                           exit_price=101.0, quantity=10.0, pnl=10.0, pnl_percent=0.01, bars_held=1)],
            "Broker": [dict(initial_cash=100_000.0), dict(initial_cash=1e5, commission_model=nl.NoCommission())],
        }.get(cls.__name__, [])
        out = []
        for good in rows:
            out.append(good)
            for _ in range(6):  # one argument replaced by a wrong value
                bad = dict(good)
                bad[self.rng.choice(list(bad))] = self.value()
                out.append(bad)
        return out

    def construct(self, cls: type):
        label = cls.__qualname__
        made = []
        made.append(self.attempt(f"{label}.__new__", cls.__new__, cls))
        made.append(self.attempt(f"{label}()", cls))
        for kwargs in self.ml4t_kwargs(cls):
            made.append(self.attempt(f"{label}(**{kwargs!r:.150})", cls, **kwargs))
        # Probe the bare instance and the first one a constructor made (the
        # others were only made: probing each would spend the budget on a few classes).
        probed = [made[0]] + [m for m in made[1:] if m is not None][:1]
        try:
            params = [p for p in inspect.signature(cls).parameters.values()
                      if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        except (TypeError, ValueError):
            params = []
        for _ in range(4):
            args = [self.value() for _ in range(self.rng.randint(1, 4))]
            made.append(self.attempt(f"{label}(*{args!r:.150})", cls, *args))
            if params:
                kwargs = {p.name: self.value() for p in self.rng.sample(params, self.rng.randint(1, len(params)))}
                made.append(self.attempt(f"{label}(**{kwargs!r:.150})", cls, **kwargs))
        for obj in probed:
            if obj is not None and not isinstance(obj, type):
                self.probe(obj, f"{label} instance")

    # ------------------------------------------------------------------ a run

    def prices(self) -> pl.DataFrame:
        rows = []
        for i in range(6):
            for asset, base in (("AAA", 100.0), ("BBB", 50.0)):
                p = base + i
                rows.append({"timestamp": T0 + timedelta(days=i), "asset": asset, "open": p, "high": p + 2,
                             "low": p - 1, "close": p + 1, "volume": 1000.0})
        return pl.DataFrame(rows)

    def signals(self) -> pl.DataFrame:
        return pl.DataFrame([{"timestamp": T0 + timedelta(days=i), "asset": a, "signal": (i % 3) - 1.0}
                             for i in range(6) for a in ("AAA", "BBB")])

    def run_engine(self):
        fuzz = self
        box: dict = {}

        class ReenteringRule:
            """A Python rule that writes its position's context and calls the broker."""

            def evaluate(self, state):
                state.context["seen"] = 1.0
                fuzz.attempt("rule -> broker.get_cash()", lambda: box["broker"].get_cash())
                fuzz.attempt("rule -> broker.submit_order()", lambda: box["broker"].submit_order("AAA", 1))
                fuzz.attempt("rule -> kept Position.quantity", lambda: [p.quantity for p in box.get("positions", [])])
                return PositionAction.hold()

        class ReenteringCommission:
            def calculate(self, asset, quantity, price):
                fuzz.attempt("commission -> broker.get_cash()", lambda: box["broker"].get_cash())
                fuzz.attempt("commission -> broker.get_position()", lambda: box["broker"].get_position(asset))
                fuzz.attempt("commission -> kept Order.status", lambda: [o.status for o in box.get("orders", [])])
                fuzz.attempt("commission -> broker.cancel_order()", lambda: box["broker"].cancel_order("ORD-1"))
                return 0.001 * quantity * price

        class ReenteringSlippage:
            def calculate(self, asset, quantity, price, volume):
                fuzz.attempt("slippage -> broker.get_account_value()", lambda: box["broker"].get_account_value())
                fuzz.attempt("slippage -> broker.close_position()", lambda: box["broker"].close_position(asset))
                return 0.0

        class Keeper(nl.Strategy):
            def on_start(self, broker):
                box["broker"] = broker
                box["rule"] = ReenteringRule()

            def on_data(self, timestamp, data, context, broker):
                broker.set_position_rules(box["rule"])
                fuzz.kept.append(data)
                for asset, bar in data.items():
                    fuzz.kept.extend([bar, bar["signals"]])
                    signal = bar["signals"].get("signal", 0.0)
                    if signal > 0 and broker.get_position(asset) is None:
                        order = broker.submit_order(asset, 10)
                        box.setdefault("orders", []).append(order)
                        fuzz.kept.append(order)
                    elif signal < 0 and broker.get_position(asset) is not None:
                        fuzz.kept.append(broker.close_position(asset))
                positions = list(broker.get_positions().values())
                box["positions"] = positions
                fuzz.kept.extend(positions)
                fuzz.kept.extend(broker.get_fills()[-2:])
                fuzz.kept.extend(broker.get_trades()[-2:])
                for position in positions:
                    fuzz.kept.append(position.context)
                # The broker API with random arguments.
                methods = [n for n in dir(broker) if not n.startswith("_") and "position_rules" not in n]
                for _ in range(12):
                    name = fuzz.rng.choice(methods)
                    args = [fuzz.value() for _ in range(fuzz.rng.randint(0, 3))]
                    fuzz.attempt(f"broker.{name}(*{args!r:.120})", lambda: getattr(broker, name)(*args))

        feed = nl.DataFeed(prices_df=self.prices(), signals_df=self.signals())
        engine = nl.Engine(feed, Keeper(), commission_model=ReenteringCommission(),
                           slippage_model=ReenteringSlippage())
        result = self.attempt("Engine.run()", engine.run)
        self.kept.extend([engine, box.get("broker")])
        if result is not None:
            self.kept.append(result)
        return engine, result

    def sample_kept(self, per_type: int = 3) -> list:
        by_type: dict[type, list] = {}
        for obj in self.kept:
            if obj is not None:
                by_type.setdefault(type(obj), []).append(obj)
        return [o for objs in by_type.values() for o in self.rng.sample(objs, min(per_type, len(objs)))]

    def main(self) -> int:
        # A run whose callbacks call back in; its views kept from inside on_data
        # are read while the engine lives (a quarter of the budget), then after
        # it is gone (another quarter).
        self.phase_end = self.budget // 4
        engine, result = self.run_engine()
        for obj in self.sample_kept():
            self.probe(obj, f"kept {type(obj).__name__}")
        self.kept = [o for o in self.kept if not isinstance(o, (nl.Engine, nl.BacktestResult))]
        del engine, result
        gc.collect()
        self.phase_end = self.budget // 2
        for obj in self.sample_kept():
            self.probe(obj, f"after gc {type(obj).__name__}")
        # Every public class, made every way, for the rest.
        self.phase_end = self.budget
        classes = self.public_classes()
        self.rng.shuffle(classes)
        while self.attempts < self.budget:
            for cls in classes:
                # A share of what is left per class, so every class gets its turn.
                self.phase_end = min(self.budget, self.attempts + max(40, (self.budget - self.attempts) // 40))
                self.construct(cls)
            self.phase_end = self.budget
            self.attempt("filler", int)
        return self.attempts


if __name__ == "__main__":
    sys.setrecursionlimit(400)
    seed, budget = int(sys.argv[1]), int(sys.argv[2])
    fuzz = Fuzz(seed, budget)
    n = fuzz.main()
    # Free everything made (deallocators are candidates too) before reporting.
    del fuzz
    gc.collect()
    sys.stdout.write(f"attempts: {n}\n")
