"""ml4t-backtest 0.2.0 and vectorbt vs nautilus_like on one deterministic workload.

    .venv312/bin/python benchmarks/compare_ml4t.py      # 2520 bars x 100 assets (W1), 3 interleaved rounds
    python benchmarks/compare_ml4t.py --bars 1000 --assets 10 --repeats 1

Workloads (``--workload``):

* ``signal`` (default, ML4T_REFERENCE.md section 14): market orders only;
* ``resting``: the same data, but entries rotate between a market order, a
  buy limit 1% below the close, a buy stop 1% above it and a bracket (limit
  entry 0.5% below, take-profit +4%, stop-loss -3%), so over half of all orders are
  limit/stop/bracket orders that rest for several bars; an exit cancels the
  asset's working orders, then closes. Python strategies only.

Data: weekday bars from 2000-01-03; per asset
a GBM random walk of closes (sigma = 1%/day), opens gapped from the previous close
by N(0, 0.2%), high/low wicks of |N(0, 0.3%)| beyond max/min(open, close), a
random volume and a U(-1, 1) signal, seed 20240521. Strategy: buy 10 shares when
signal > 0.5 and flat, close when signal < -0.5 and long. Config: NEXT_BAR at the
next open, integer shares, 0.1% commission, 10,000,000 initial cash.

Engines, each run in a fresh subprocess (so peak RSS is per engine and run):

* ``ml4t``         ml4t-backtest with a plain Python strategy (skipped if not importable)
* ``nl-python``    nautilus_like with the same plain Python strategy
* ``nl-cython``    nautilus_like with examples/cython_strategy (a ``cdef class``
                   using the public cimport API), compiled once by this script
* ``vectorbt``     vectorbt's ``Portfolio.from_signals`` (skipped if not importable;
                   ``pip install -e ".[bench]"``): the same rule as arrays. Entries
                   are ``signal > 0.5`` and exits ``signal < -0.5``, shifted one bar
                   and priced at that bar's open (= our next-bar open), 10 shares,
                   fees 0.1%, long only, no accumulation, one cash pool
                   (``group_by=True, cash_sharing=True``). Timed: the
                   ``from_signals`` call after a warm-up call on the same arrays
                   (numba compiles on the first call; that time is reported as
                   "feed s" together with the long-to-wide pivot). Its conventions
                   differ (orders instead of fills, its own record layout), so
                   it is compared by order count and final value only.

Only ``Engine.run()`` is timed; the feed build (``DataFeed(...)``) and the engine
construction are reported separately. Peak RSS is the child's
``ru_maxrss`` after the run (it includes the interpreter, imports and the
generated data, the same for every engine). Medians over ``--repeats`` runs.
Fills (asset, side, quantity, price, commission) must be identical across
engines and final equity equal within 1e-9 relative.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DIR = ROOT / "examples" / "cython_strategy"
SEED = 20240521
FILL_COLUMNS = ["asset", "side", "quantity", "price", "commission"]
ENGINES = ("ml4t", "nl-python", "nl-cython", "vectorbt")
LABELS = {
    "ml4t": "ml4t-backtest (Python strategy)",
    "nl-python": "nautilus_like (Python strategy)",
    "nl-cython": "nautilus_like (Cython cdef strategy)",
    "vectorbt": "vectorbt Portfolio.from_signals",
}


# --------------------------------------------------------------------------- workload

def make_workload(n_bars: int, n_assets: int, seed: int = SEED):
    """Long-format (prices, signals) polars frames, sorted by timestamp then asset."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    start = np.datetime64("2000-01-03")
    days = start + np.arange(n_bars * 7 // 5 + 14)
    days = days[np.is_busday(days)][:n_bars]
    shape = (n_bars, n_assets)
    sigma = 0.01
    log_close = np.log(100.0) + np.cumsum(rng.normal(-0.5 * sigma**2, sigma, shape), axis=0)
    prev_close = np.vstack([np.full((1, n_assets), np.log(100.0)), log_close[:-1]])
    log_open = prev_close + rng.normal(0.0, 0.002, shape)
    close = np.exp(log_close)
    open_ = np.exp(log_open)
    high = np.maximum(open_, close) * (1.0 + np.abs(rng.normal(0.0, 0.003, shape)))
    low = np.minimum(open_, close) * (1.0 - np.abs(rng.normal(0.0, 0.003, shape)))
    volume = rng.integers(100_000, 1_000_000, shape).astype(np.float64)
    signal = rng.uniform(-1.0, 1.0, shape)

    names = np.array([f"A{i:03d}" for i in range(n_assets)], dtype=object)
    ts = np.repeat(days.astype("datetime64[us]"), n_assets)
    asset = np.tile(names, n_bars)
    prices = pl.DataFrame({
        "timestamp": ts, "asset": pl.Series(asset, dtype=pl.String),
        "open": open_.ravel(), "high": high.ravel(), "low": low.ravel(),
        "close": close.ravel(), "volume": volume.ravel(),
    })
    signals = pl.DataFrame({"timestamp": ts, "asset": pl.Series(asset, dtype=pl.String),
                            "signal": signal.ravel()})
    return prices, signals


def python_strategy(base: type) -> type:
    """The benchmark rule as a plain Python subclass of `base` (either engine's Strategy);
    defined once, in examples/cython_strategy/python_rule.py."""
    if str(EXAMPLE_DIR) not in sys.path:
        sys.path.insert(0, str(EXAMPLE_DIR))
    from python_rule import python_strategy as rule

    return rule(base)


def resting_strategy(base: type, order_type: type) -> type:
    """The ``resting`` workload's rule on either library's Strategy/OrderType (one body)."""

    class RestingOrders(base):
        def __init__(self):
            self.working = {}  # asset -> orders this strategy placed that may still rest

        def _cancel_working(self, broker, asset):
            for o in self.working.pop(asset, ()):
                if o.status.value == "pending":
                    broker.cancel_order(o.order_id)

        def on_data(self, timestamp, data, context, broker):
            for asset, bar in data.items():
                signal = bar["signals"].get("signal", 0.0)
                if signal > 0.5:
                    if broker.get_position(asset) is not None:
                        continue
                    if any(o.status.value == "pending" for o in self.working.get(asset, ())):
                        continue
                    close = bar["close"]
                    kind = int(signal * 1_000_000) % 4
                    if kind == 0:
                        placed = [broker.submit_order(asset, 10)]
                    elif kind == 1:
                        placed = [broker.submit_order(asset, 10, order_type=order_type.LIMIT,
                                                      limit_price=round(close * 0.99, 2))]
                    elif kind == 2:
                        placed = [broker.submit_order(asset, 10, order_type=order_type.STOP,
                                                      stop_price=round(close * 1.01, 2))]
                    else:
                        placed = list(broker.submit_bracket(asset, 10, take_profit=round(close * 1.04, 2),
                                                            stop_loss=round(close * 0.97, 2),
                                                            entry_type=order_type.LIMIT,
                                                            entry_limit=round(close * 0.995, 2)))
                    self.working[asset] = placed
                elif signal < -0.5:
                    self._cancel_working(broker, asset)
                    pos = broker.get_position(asset)
                    if pos is not None and pos.quantity > 0:
                        broker.close_position(asset)

    return RestingOrders


def importable(module: str) -> bool:
    """Whether `import <module>` works, checked in a subprocess: importing it
    here would grow the parent (~120 MB), and every child's ru_maxrss starts from
    the parent's RSS at fork."""
    proc = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
    return proc.returncode == 0


def ml4t_available() -> bool:
    return importable("ml4t.backtest")


# ------------------------------------------------------------------------- child run

def _setup(engine: str, prices, signals, cython_dir: str | None, workload: str = "signal"):
    """(feed, strategy, config, Engine class) for one engine; returns feed build seconds too."""
    if engine == "ml4t":
        import ml4t.backtest as bt
        from ml4t.backtest.config import BacktestConfig, CommissionType, ExecutionMode

        cfg = BacktestConfig(commission_type=CommissionType.PERCENTAGE, commission_rate=0.001,
                             initial_cash=10_000_000.0, execution_mode=ExecutionMode.NEXT_BAR)
        if workload == "resting":
            strategy = resting_strategy(bt.Strategy, bt.OrderType)()
        else:
            strategy = python_strategy(bt.Strategy)()
        t0 = time.perf_counter()
        feed = bt.DataFeed(prices_df=prices, signals_df=signals)
        return feed, strategy, cfg, bt.Engine, time.perf_counter() - t0

    import nautilus_like as nl

    cfg = nl.BacktestConfig(commission_type=nl.CommissionType.PERCENTAGE, commission_rate=0.001,
                            initial_cash=10_000_000.0, execution_mode=nl.ExecutionMode.NEXT_BAR)
    if engine == "nl-python" and workload == "resting":
        strategy = resting_strategy(nl.Strategy, nl.OrderType)()
    elif engine == "nl-python":
        strategy = python_strategy(nl.Strategy)()
    elif engine == "nl-cython":
        # Compiled by the parent (examples/cython_strategy/build.py); import it
        # directly so that no build machinery is loaded into the measured process.
        sys.path.insert(0, cython_dir)
        import signal_strategy

        strategy = signal_strategy.SignalStrategy()
    else:
        raise ValueError(engine)
    t0 = time.perf_counter()
    feed = nl.DataFeed(prices_df=prices, signals_df=signals)
    return feed, strategy, cfg, nl.Engine, time.perf_counter() - t0


def _cpu_s() -> float:
    """This process's user + system CPU seconds: less sensitive than wall time to
    other processes competing for the cores (not to cache or SMT sharing)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _vm_hwm_mb() -> float | None:
    """This process's own peak RSS from /proc (VmHWM; reset at exec), as a cross-check."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def run_vectorbt_child(args) -> None:
    """The W1 rule through vectorbt's `Portfolio.from_signals` (see the module doc)."""
    import numpy as np
    import vectorbt as vbt

    prices, signals = make_workload(args.bars, args.assets)
    t0 = time.perf_counter()
    wide = {c: prices.pivot(on="asset", index="timestamp", values=c).drop("timestamp").to_numpy()
            for c in ("open", "close")}
    sig = signals.pivot(on="asset", index="timestamp", values="signal").drop("timestamp").to_numpy()
    # Decided on bar t, executed at bar t+1's open: shift the decisions one bar.
    entries = np.zeros_like(sig, dtype=bool)
    exits = np.zeros_like(sig, dtype=bool)
    entries[1:] = sig[:-1] > 0.5
    exits[1:] = sig[:-1] < -0.5
    kwargs = dict(close=wide["close"], entries=entries, exits=exits, price=wide["open"], size=10.0,
                  size_type="amount", fees=0.001, init_cash=10_000_000.0, direction="longonly",
                  accumulate=False, group_by=True, cash_sharing=True, freq="1D")
    vbt.Portfolio.from_signals(**kwargs)  # numba compiles here
    feed_s = time.perf_counter() - t0
    c0 = _cpu_s()
    t0 = time.perf_counter()
    pf = vbt.Portfolio.from_signals(**kwargs)
    run_s = time.perf_counter() - t0
    cpu_s = _cpu_s() - c0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    Path(args.out).write_text(json.dumps({
        "engine": args.child, "run_s": run_s, "cpu_s": cpu_s, "feed_s": feed_s, "init_s": 0.0,
        "rss_mb": rss_mb, "vm_hwm_mb": _vm_hwm_mb(), "fills": int(pf.orders.count()),
        "final_equity": float(pf.final_value()), "order_types": {"market": int(pf.orders.count())},
        "python": sys.version.split()[0],
    }))


def run_child(args) -> None:
    if args.child == "vectorbt":
        run_vectorbt_child(args)
        return
    prices, signals = make_workload(args.bars, args.assets)
    feed, strategy, cfg, engine_cls, feed_s = _setup(args.child, prices, signals, args.cython_dir, args.workload)
    t0 = time.perf_counter()
    engine = engine_cls(feed, strategy, cfg)
    init_s = time.perf_counter() - t0
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        t0 = time.perf_counter()
        result = prof.runcall(engine.run)
        run_s = time.perf_counter() - t0
        cpu_s = float("nan")
        prof.dump_stats(args.profile)
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    else:
        c0 = _cpu_s()
        t0 = time.perf_counter()
        result = engine.run()
        run_s = time.perf_counter() - t0
        cpu_s = _cpu_s() - c0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
    hwm_mb = _vm_hwm_mb()
    fills = result.to_fills_dataframe().select(FILL_COLUMNS)
    final_equity = float(result.metrics["final_value"])
    order_types: dict[str, int] = {}
    for o in engine.broker.get_orders():
        key = o.order_type.value
        order_types[key] = order_types.get(key, 0) + 1
    fills.write_parquet(args.out + ".fills.parquet")
    Path(args.out).write_text(json.dumps({
        "engine": args.child, "run_s": run_s, "cpu_s": cpu_s, "feed_s": feed_s, "init_s": init_s,
        "rss_mb": rss_mb, "vm_hwm_mb": hwm_mb, "fills": fills.height, "final_equity": final_equity,
        "order_types": order_types,
        "python": sys.version.split()[0],
    }))


# ------------------------------------------------------------------------ parent

def _spawn(engine: str, args, out: Path, cython_dir: str | None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", engine, "--workload", args.workload,
           "--bars", str(args.bars), "--assets", str(args.assets), "--out", str(out)]
    if cython_dir:
        cmd += ["--cython-dir", cython_dir]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"{engine}: child failed with exit code {proc.returncode}")
    return json.loads(out.read_text())


def _compare(ref_name: str, ref: dict, other_name: str, other: dict, tmp: Path) -> list[str]:
    import polars as pl

    problems = []
    if other_name == "vectorbt":
        # No fill table in our layout: its order count and final value must agree.
        if other["fills"] != ref["fills"]:
            problems.append(f"vectorbt: {other['fills']} orders vs {ref['fills']} fills for {ref_name}")
        ea, eb = ref["final_equity"], other["final_equity"]
        if abs(ea - eb) > 1e-9 * max(abs(ea), abs(eb)):
            problems.append(f"vectorbt: final value {eb!r} vs {ea!r} for {ref_name}")
        return problems
    a = pl.read_parquet(tmp / f"{ref_name}.0.json.fills.parquet")
    b = pl.read_parquet(tmp / f"{other_name}.0.json.fills.parquet")
    if a.height != b.height:
        problems.append(f"{other_name}: {b.height} fills vs {a.height} for {ref_name}")
    else:
        for col in FILL_COLUMNS:
            x, y = a[col], b[col]
            if x.dtype != y.dtype:
                y = y.cast(x.dtype)
            diff = (x != y) | (x.is_null() != y.is_null())
            n = int(diff.fill_null(True).sum())
            if n:
                i = int(diff.fill_null(True).arg_max())
                problems.append(f"{other_name}: column {col!r} differs from {ref_name} in {n} fills "
                                f"(first at fill {i}: {x[i]!r} vs {y[i]!r})")
    ea, eb = ref["final_equity"], other["final_equity"]
    if abs(ea - eb) > 1e-9 * max(abs(ea), abs(eb)):
        problems.append(f"{other_name}: final equity {eb!r} vs {ea!r} for {ref_name}")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bars", type=int, default=2520)
    ap.add_argument("--assets", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workload", choices=("signal", "resting"), default="signal")
    ap.add_argument("--engines", default=",".join(ENGINES),
                    help=f"comma-separated subset of {','.join(ENGINES)}")
    ap.add_argument("--cython-dir", default=None,
                    help="where to compile the Cython strategy (default: a cache dir under the system temp dir)")
    ap.add_argument("--json", default=None, help="also write the summary here")
    # Internal: one engine run in this (child) process.
    ap.add_argument("--child", choices=ENGINES, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--profile", default=None,
                    help="(with --child) run Engine.run() under cProfile and dump the stats here")
    args = ap.parse_args(argv)

    if args.child:
        run_child(args)
        return 0

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for e in engines:
        if e not in ENGINES:
            ap.error(f"unknown engine {e!r}")
    if args.workload == "resting":
        # The Cython example and the vectorbt arrays implement the signal rule only.
        engines = [e for e in engines if e not in ("nl-cython", "vectorbt")]
    if "vectorbt" in engines and not importable("vectorbt"):
        print("vectorbt is not importable (pip install -e \".[bench]\"): skipping it.\n")
        engines.remove("vectorbt")
    if "ml4t" in engines and not ml4t_available():
        print(f"ml4t-backtest is not importable with Python {sys.version.split()[0]} "
              f"(it needs >= 3.12): skipping it, running nautilus_like only.\n")
        engines.remove("ml4t")

    cython_dir = None
    if "nl-cython" in engines:
        cython_dir = args.cython_dir or str(Path(tempfile.gettempdir()) / f"nautilus_like_bench_{os.getuid()}")
        # Compile in a subprocess (examples/cython_strategy/build.py): Cython and
        # the C compiler driver would otherwise grow this parent process, and a
        # child's ru_maxrss starts from the parent's RSS at fork (Linux keeps
        # the high-water mark across fork and exec).
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, str(EXAMPLE_DIR / "build.py"), cython_dir],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            raise SystemExit("compiling the Cython strategy failed")
        so = Path(proc.stdout.strip().splitlines()[-1])
        print(f"compiled {so.name} into {cython_dir} in {time.perf_counter() - t0:.1f} s")

    events = args.bars * args.assets
    print(f"engines (interleaved per round): {', '.join(engines)}")
    print(f"workload {args.workload!r}: {args.bars} bars x {args.assets} assets = {events:,} events, seed {SEED}, "
          f"{args.repeats} repeat(s), Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")

    parent_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"(this parent's peak RSS, the floor of every child's ru_maxrss: {parent_rss:.1f} MB)")

    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="nl_bench_") as tmpdir:
        tmp = Path(tmpdir)
        # Interleave engines across repeats so background load affects them alike.
        for r in range(args.repeats):
            for e in engines:
                res = _spawn(e, args, tmp / f"{e}.{r}.json", cython_dir)
                runs.setdefault(e, []).append(res)
                print(f"  run {r + 1}/{args.repeats} {e:10s} run {res['run_s']:8.3f} s  cpu {res['cpu_s']:8.3f} s  feed {res['feed_s']:.3f} s  "
                      f"rss {res['rss_mb']:7.1f} MB (VmHWM {res['vm_hwm_mb'] or 0:.1f})  fills {res['fills']}  equity {res['final_equity']:.2f}",
                      flush=True)

        summary = {}
        for e in engines:
            rs = runs[e]
            summary[e] = {
                "run_s": statistics.median(x["run_s"] for x in rs),
                "run_s_all": [x["run_s"] for x in rs],
                "cpu_s": statistics.median(x["cpu_s"] for x in rs),
                "feed_s": statistics.median(x["feed_s"] for x in rs),
                "init_s": statistics.median(x["init_s"] for x in rs),
                "rss_mb": statistics.median(x["rss_mb"] for x in rs),
                "vm_hwm_mb": statistics.median(x["vm_hwm_mb"] or 0.0 for x in rs),
                "fills": rs[0]["fills"],
                "final_equity": rs[0]["final_equity"],
                "order_types": rs[0]["order_types"],
            }

        # Determinism within an engine, then identity across engines.
        problems = []
        for e in engines:
            for x in runs[e][1:]:
                if x["fills"] != runs[e][0]["fills"] or x["final_equity"] != runs[e][0]["final_equity"]:
                    problems.append(f"{e}: repeat differs ({x['fills']} fills, {x['final_equity']!r})")
        ref = engines[0]
        for e in engines[1:]:
            problems += _compare(ref, summary[ref], e, summary[e], tmp)

    base = summary.get("ml4t")
    header = (f"{'engine':38s} {'run s':>9s} {'cpu s':>8s} {'events/s':>12s} {'feed s':>7s} {'init s':>7s} "
              f"{'peak RSS MB':>11s} {'fills':>7s} {'final equity':>16s} {'speed vs ml4t':>13s} "
              f"{'(cpu)':>7s} {'RSS vs ml4t':>11s}")
    print()
    print(header)
    print("-" * len(header))
    for e in engines:
        s = summary[e]
        speed = f"{base['run_s'] / s['run_s']:.1f}x" if base else "n/a"
        cpu_speed = f"{base['cpu_s'] / s['cpu_s']:.1f}x" if base else "n/a"
        rss = f"{s['rss_mb'] / base['rss_mb']:.2f}" if base else "n/a"
        print(f"{LABELS[e]:38s} {s['run_s']:9.4f} {s['cpu_s']:8.4f} {events / s['run_s']:12,.0f} {s['feed_s']:7.3f} "
              f"{s['init_s']:7.3f} {s['rss_mb']:11.1f} {s['fills']:7d} {s['final_equity']:16,.2f} "
              f"{speed:>13s} {cpu_speed:>7s} {rss:>11s}")
    print("(run s, cpu s: medians of the interleaved rounds; speed from run s, (cpu) from cpu s;"
          " events = bars x assets)")
    print()
    for e in engines:
        types = summary[e]["order_types"]
        total = sum(types.values())
        resting = total - types.get("market", 0)
        print(f"{LABELS[e]:38s} orders {total:,}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(types.items()))
              + f" ({resting / max(total, 1):.0%} limit/stop/bracket legs)")
    print()
    identical = not problems
    if len(engines) > 1:
        exact = [e for e in engines if e != "vectorbt"]
        print(f"fills (asset, side, quantity, price, commission) and final equity identical across "
              f"{', '.join(exact)}" + (" (vectorbt: order count = fill count and final value equal)"
                                        if "vectorbt" in engines else "") + f": {'YES' if identical else 'NO'}")
    for p in problems:
        print("  MISMATCH:", p)

    targets = []
    if base:
        if "nl-python" in summary:
            sp = base["run_s"] / summary["nl-python"]["run_s"]
            cp = base["cpu_s"] / summary["nl-python"]["cpu_s"]
            targets.append((f"nl-python >= 45x faster than ml4t ({sp:.1f}x; by CPU time {cp:.1f}x)", sp >= 45))
        if "nl-cython" in summary:
            sp = base["run_s"] / summary["nl-cython"]["run_s"]
            cp = base["cpu_s"] / summary["nl-cython"]["cpu_s"]
            targets.append((f"nl-cython >= 200x faster than ml4t ({sp:.1f}x; by CPU time {cp:.1f}x)", sp >= 200))
        for e in engines[1:]:
            if e == "vectorbt":
                continue
            ratio = summary[e]["rss_mb"] / base["rss_mb"]
            targets.append((f"{e} peak RSS <= 0.5 x ml4t ({ratio:.2f})", ratio <= 0.5))
        targets.append(("identical fills and final equity", identical))
    if "nl-cython" in summary and "vectorbt" in summary:
        r = summary["nl-cython"]["run_s"] / summary["vectorbt"]["run_s"]
        rc = summary["nl-cython"]["cpu_s"] / summary["vectorbt"]["cpu_s"]
        targets.append((f"nl-cython not slower than vectorbt from_signals ({r:.2f}x its time; "
                        f"by CPU time {rc:.2f}x)", r <= 1.0))
    if targets:
        print("\ntargets:")
        for text, ok in targets:
            print(f"  [{'PASS' if ok else 'MISS'}] {text}")

    if args.json:
        Path(args.json).write_text(json.dumps({"bars": args.bars, "assets": args.assets,
                                               "repeats": args.repeats, "summary": summary,
                                               "problems": problems,
                                               "targets": [[t, ok] for t, ok in targets]}, indent=2))
    return 0 if identical and all(ok for _, ok in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
