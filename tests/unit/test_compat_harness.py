"""The ml4t-backtest compatibility job's harness (tests/compat/ml4t_suite.py) on
a tiny stand-in suite: the import hook answers ``ml4t.backtest`` with
nautilus_like, a test that kills the interpreter costs that one test and the
run goes on, and the comparison counts per file what passes on both sides."""

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "compat" / "ml4t_suite.py"


@pytest.fixture(scope="module")
def harness():
    spec = importlib.util.spec_from_file_location("ml4t_suite", HARNESS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _suite(root: Path) -> Path:
    tests = root / "tests"
    tests.mkdir(parents=True)
    (tests / "test_alias.py").write_text(textwrap.dedent("""
        import ml4t.backtest as bt
        from ml4t.backtest.types import OrderSide

        def test_the_package_is_ours():
            import nautilus_like
            assert bt is nautilus_like and OrderSide is nautilus_like.OrderSide
    """))
    (tests / "test_crash.py").write_text(textwrap.dedent("""
        import os, signal

        def test_before():
            pass

        def test_kills_the_interpreter():
            os.kill(os.getpid(), signal.SIGSEGV)

        def test_after():
            assert 1 + 1 == 2

        def test_fails():
            assert 1 + 1 == 3
    """))
    return root


def test_a_crash_costs_one_test_and_the_alias_maps_to_nautilus_like(harness, tmp_path):
    root = _suite(tmp_path / "suite")
    outcomes, errors, _ = harness.run_suite(root, "nautilus_like", tmp_path / "work", timeout=60, max_restarts=3)
    got = {nodeid: ev["outcome"] for nodeid, ev in outcomes.items()}
    assert got == {
        "tests/test_alias.py::test_the_package_is_ours": "passed",
        "tests/test_crash.py::test_before": "passed",
        "tests/test_crash.py::test_kills_the_interpreter": "crashed",
        "tests/test_crash.py::test_after": "passed",
        "tests/test_crash.py::test_fails": "failed",
    }
    assert errors == {}


def test_the_comparison_counts_what_passes_on_both_sides(harness):
    ev = lambda outcome: {"outcome": outcome, "message": "boom"}  # noqa: E731
    ref = {"tests/a.py::t1": ev("passed"), "tests/a.py::t2": ev("passed"), "tests/a.py::t3": ev("failed"),
           "tests/b.py::t1": ev("passed")}
    ours = {"tests/a.py::t1": ev("passed"), "tests/a.py::t2": ev("crashed"), "tests/a.py::t3": ev("passed")}
    per_file, rest, left_out = harness.compare(ref, ours, {"tests/b.py": "ImportError: no module named x"}, {})
    # a.py: t1 and t2 pass on ml4t (t3 does not count); only t1 passes here.
    assert dict(per_file) == {"tests/a.py": [2, 1], "tests/b.py": [1, 0]}
    assert rest == [("tests/a.py::t2", "crashed: boom"),
                    ("tests/b.py::t1", "not collected: ImportError: no module named x")]
    assert left_out == []


def test_listed_tests_are_left_out_with_their_reason_and_flagged_when_they_pass(harness, tmp_path):
    listing = tmp_path / "excluded.txt"
    listing.write_text("# header\ntests/test_broker.py::TestX::*  # reads broker._private\n"
                       "tests/test_core.py::t9  # reads _y\n")
    excluded = harness.read_excluded(listing)
    assert excluded == {"tests/test_broker.py::TestX::*": "reads broker._private", "tests/test_core.py::t9": "reads _y"}
    ev = lambda outcome: {"outcome": outcome, "message": "boom"}  # noqa: E731
    ref = {"tests/test_broker.py::TestX::t1": ev("passed"), "tests/test_broker.py::TestY::t1": ev("passed"),
           "tests/test_core.py::t9": ev("passed")}
    ours = {"tests/test_broker.py::TestX::t1": ev("failed"), "tests/test_broker.py::TestY::t1": ev("failed"),
            "tests/test_core.py::t9": ev("passed")}
    per_file, rest, left_out = harness.compare(ref, ours, {}, excluded)
    # The per-file table stays raw; only TestY's failure is a failure to fix.
    assert dict(per_file) == {"tests/test_broker.py": [2, 0], "tests/test_core.py": [1, 1]}
    assert rest == [("tests/test_broker.py::TestY::t1", "failed: boom")]
    assert left_out == [("tests/test_broker.py::TestX::t1", "reads broker._private", False),
                        ("tests/test_core.py::t9", "reads _y", True)]
    # Parameters in brackets are literal text.
    assert harness.excluded_reason("tests/a.py::t[-0.01-rate]", {"tests/a.py::t[-0.01-rate]": "why"}) == "why"
    assert harness.excluded_reason("tests/a.py::t[x]", {"tests/a.py::t[-0.01-rate]": "why"}) is None
    listing.write_text("tests/test_core.py::t9\n")
    with pytest.raises(SystemExit, match="no reason"):
        harness.read_excluded(listing)
    assert harness.in_scope("tests/accounting/test_policy.py") and harness.in_scope("tests/test_broker.py")
    assert not harness.in_scope("tests/futures/test_funding.py") and not harness.in_scope("tests/test_calendar.py")


@pytest.mark.skipif(sys.platform == "win32", reason="signals")
def test_every_loop_is_bounded(harness, tmp_path):
    root = tmp_path / "suite"
    (root / "tests").mkdir(parents=True)
    (root / "tests" / "test_many_crashes.py").write_text(textwrap.dedent("""
        import os, signal, pytest

        @pytest.mark.parametrize("i", range(3))
        def test_crash(i):
            os.kill(os.getpid(), signal.SIGSEGV)
    """))
    with pytest.raises(SystemExit, match="more than 1 crashes"):
        harness.run_suite(root, "nautilus_like", tmp_path / "work", timeout=60, max_restarts=1)


def test_the_shipped_list_names_only_in_scope_files_each_with_a_reason(harness):
    excluded = harness.read_excluded()
    assert excluded, "tests/compat/ml4t_excluded.txt is empty or missing"
    for pattern, reason in excluded.items():
        assert harness.in_scope(pattern.split("::", 1)[0]), pattern
        assert reason
