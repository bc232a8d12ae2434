"""Data views made without the engine (`cls.__new__(cls)`) raise, never crash.

Each attempt runs in a fresh interpreter: a segmentation fault would show as
a negative return code there instead of killing the test run.
"""

import subprocess
import sys

import pytest

ATTEMPTS = [
    "BarData.__new__(BarData).items()", "BarData.__new__(BarData)['x']", "BarData.__new__(BarData).get('a')",
    "'a' in BarData.__new__(BarData)", "list(BarData.__new__(BarData))", "BarData.__new__(BarData).to_dict()",
    "repr(BarData.__new__(BarData))", "AssetBar.__new__(AssetBar)['close']", "AssetBar.__new__(AssetBar)['signals']",
    "AssetBar.__new__(AssetBar).get('bid')", "len(AssetBar.__new__(AssetBar))", "repr(AssetBar.__new__(AssetBar))",
    "Signals.__new__(Signals).get('x')", "Signals.__new__(Signals)['x']", "Signals.__new__(Signals).keys()",
    "len(Signals.__new__(Signals))", "'x' in Signals.__new__(Signals)", "MarketView.__new__(MarketView)",
]


@pytest.mark.parametrize("expr", ATTEMPTS)
def test_detached_view_raises_a_python_exception(expr):
    code = f"from nautilus_like._data import AssetBar, BarData, MarketView, Signals\nprint({expr})"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode in (0, 1), (proc.returncode, proc.stderr[-500:])
    if proc.returncode == 1:
        assert "Error" in proc.stderr.strip().splitlines()[-1]
