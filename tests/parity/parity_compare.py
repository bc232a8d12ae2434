"""Value-by-value comparison of two runs (ml4t-backtest vs nautilus_like).

Floats (and ints, numerically) must agree within
`math.isclose(rel_tol=1e-9, abs_tol=1e-9)`, with NaN == NaN and equal
infinities; an int on one side and a float on the other is reported (ml4t
returns int 0 for some empty sums). Everything else (strings, timestamps,
enums' values, None, container shapes and dict key order) must be equal, and
of the same type.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import polars as pl

REL_TOL = 1e-9
ABS_TOL = 1e-9
MAX_REPORTED = 6


def _is_num(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _is_int(x: Any) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def same_number(a: float, b: float) -> bool:
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def diff(ref: Any, got: Any, path: str = "", out: list[str] | None = None,
         check_num_type: bool = False) -> list[str]:
    """Differences between `ref` (ml4t) and `got` (nautilus_like), as strings."""
    if out is None:
        out = []
    if len(out) >= MAX_REPORTED:
        return out
    if _is_num(ref) and _is_num(got):
        if not same_number(ref, got):
            out.append(f"{path}: ml4t={ref!r} nautilus_like={got!r}")
        elif check_num_type and _is_int(ref) != _is_int(got):
            out.append(f"{path}: type ml4t={type(ref).__name__}({ref!r}) "
                       f"nautilus_like={type(got).__name__}({got!r})")
        return out
    if isinstance(ref, (list, tuple)) and isinstance(got, (list, tuple)):
        if type(ref) is not type(got):
            out.append(f"{path}: container ml4t={type(ref).__name__} nautilus_like={type(got).__name__}")
        if len(ref) != len(got):
            out.append(f"{path}: length ml4t={len(ref)} nautilus_like={len(got)}; "
                       f"ml4t={_short(ref)} nautilus_like={_short(got)}")
        for i, (x, y) in enumerate(zip(ref, got)):
            diff(x, y, f"{path}[{i}]", out, check_num_type)
            if len(out) >= MAX_REPORTED:
                break
        return out
    if isinstance(ref, dict) and isinstance(got, dict):
        if list(ref) != list(got):
            only_r = [k for k in ref if k not in got]
            only_g = [k for k in got if k not in ref]
            if only_r or only_g:
                out.append(f"{path}: keys only in ml4t={only_r} only in nautilus_like={only_g}")
            else:
                out.append(f"{path}: key order ml4t={list(ref)} nautilus_like={list(got)}")
        for k in ref:
            if k in got:
                diff(ref[k], got[k], f"{path}[{k!r}]", out, check_num_type)
        return out
    if type(ref) is not type(got) or ref != got:
        out.append(f"{path}: ml4t={ref!r} ({type(ref).__name__}) "
                   f"nautilus_like={got!r} ({type(got).__name__})")
    return out


def _short(seq: Any, n: int = 3) -> str:
    s = repr(list(seq)[:n])
    return s if len(seq) <= n else s[:-1] + ", ...]"


def diff_schema(name: str, ref: pl.DataFrame | None, got: pl.DataFrame | None) -> list[str]:
    if ref is None or got is None:
        return [] if ref is got else [f"{name}: frame missing on one side"]
    r = [(c, str(t)) for c, t in ref.schema.items()]
    g = [(c, str(t)) for c, t in got.schema.items()]
    if r == g:
        return []
    out = []
    rn, gn = [c for c, _ in r], [c for c, _ in g]
    if rn != gn:
        out.append(f"{name} columns: only ml4t={[c for c in rn if c not in gn]} "
                   f"only nautilus_like={[c for c in gn if c not in rn]} order_equal={sorted(rn) == sorted(gn) and rn == gn}")
    rd, gd = dict(r), dict(g)
    for c in rn:
        if c in gd and rd[c] != gd[c]:
            out.append(f"{name}.{c} dtype: ml4t={rd[c]} nautilus_like={gd[c]}")
    return out


def diff_frame(name: str, ref: pl.DataFrame | None, got: pl.DataFrame | None,
               columns: list[str] | None = None, key: str | None = None) -> list[str]:
    """Row-by-row values of the common (or given) columns."""
    if ref is None or got is None:
        return [] if ref is got else [f"{name}: frame missing on one side"]
    out: list[str] = []
    if ref.height != got.height:
        out.append(f"{name}: {ref.height} rows in ml4t, {got.height} in nautilus_like")
    cols = columns or [c for c in ref.columns if c in got.columns]
    n = min(ref.height, got.height)
    for c in cols:
        if c not in ref.columns or c not in got.columns:
            out.append(f"{name}.{c}: column missing (ml4t={c in ref.columns}, nautilus_like={c in got.columns})")
            continue
        rv, gv = ref[c].to_list()[:n], got[c].to_list()[:n]
        for i, (x, y) in enumerate(zip(rv, gv)):
            d = diff(x, y, f"{name}[row {i}{_key(ref, key, i)}].{c}")
            if d:
                out.extend(d[:1])
                break
        if len(out) >= 3 * MAX_REPORTED:
            break
    return out


def _key(df: pl.DataFrame, key: str | None, i: int) -> str:
    if key is None or key not in df.columns:
        return ""
    return f" {key}={df[key][i]}"


def diff_metrics(ref: dict[str, Any], got: dict[str, Any]) -> list[str]:
    """Every metric nautilus_like provides must exist in ml4t's dict and agree."""
    out = []
    for k, v in got.items():
        if k not in ref:
            out.append(f"metrics[{k!r}]: not an ml4t metric (nautilus_like={v!r})")
            continue
        out.extend(diff(ref[k], v, f"metrics[{k!r}]", check_num_type=True))
    return out
