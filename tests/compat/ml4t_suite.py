"""ml4t-backtest 0.2.0's own test suite, run on ml4t and on nautilus_like.

    python tests/compat/ml4t_suite.py [--min-share 98] [--report compat.txt]

Needs Python 3.12 with ml4t-backtest 0.2.0 and nautilus_like installed
(`pip install -e ".[test,parity,compat]"`). It downloads ml4t-backtest's
sdist from PyPI (its tests are never copied into this repository), runs its
test suite once on ml4t itself and once with ``ml4t.backtest`` and its
submodules mapped to ``nautilus_like`` by an import hook (tests/compat/ml4t_alias.py),
and prints, per file and in total, how many of the tests that pass on ml4t
also pass on nautilus_like, then the list of the rest.

A test that crashes the interpreter or hangs (``--timeout`` seconds) counts
as failed and the run resumes after it: one crash costs one test, not the
run. ``--min-share`` makes the exit status 1 when the share over the files in
scope (``SCOPE``: what issue 10 covers) is below it.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from pathlib import Path

VERSION = "0.2.0"
HERE = Path(__file__).resolve().parent

# The files of issue 10's areas (paths inside the sdist). Everything else is
# reported too, but only these decide `--min-share`.
SCOPE = [
    "tests/accounting/*", "tests/execution/*", "tests/futures/*", "tests/risk/*", "tests/scenarios/*",
    "tests/oracle/*", "tests/property/*", "tests/regression/*",
    "tests/contracts/test_public_api_surface.py", "tests/contracts/test_execution_contracts.py",
    "tests/contracts/test_ledger_invariants.py", "tests/contracts/test_broker_state_ownership.py",
    "tests/contracts/test_profile_parity_basics.py",
    *(f"tests/{name}.py" for name in (
        "test_broker", "test_config_wiring", "test_core", "test_result", "test_analysis", "test_export",
        "test_equity_curve", "test_trading_stats", "test_trade_cost_decomposition", "test_trade_mfe_mae",
        "test_direction_matrix", "test_order_type_matrix", "test_order_type_moc", "test_bracket_lifecycle",
        "test_bracket_orders_short", "test_conditional_order_execution", "test_cost_validation",
        "test_asset_commission", "test_asset_execution_models", "test_commission_flip",
        "test_cumulative_slippage", "test_datafeed_memory", "test_deferred_exit_reentry",
        "test_execution_model_contracts", "test_extreme_conditions", "test_final_execution_affordability",
        "test_initial_capital", "test_oracle_differential", "test_order_context_costs",
        "test_order_request_count", "test_partial_close_accounting", "test_position_reporting_basis",
        "test_quantity_zero_tolerance", "test_rejected_order_results", "test_shared_volume",
        "test_vwap_execution_price")),
]
# Funding rates come with another issue.
OUT_OF_SCOPE = ["tests/futures/test_funding.py"]

# Tests inside SCOPE that we do not aim to pass, each with its reason
# (ml4t's private state, deliberate differences documented in the README):
# one node-id glob per line, "#" starts the reason. They are reported apart
# and leave both sides of the in-scope share.
EXCLUDED_FILE = HERE / "ml4t_excluded.txt"


def read_excluded(path: Path = EXCLUDED_FILE) -> dict[str, str]:
    """Node-id glob -> reason."""
    if not path.exists():
        return {}
    out = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        pattern, _, reason = raw.partition("#")
        pattern = pattern.strip()
        if pattern:
            if not reason.strip():
                raise SystemExit(f"{path.name}: {pattern!r} has no reason after '#'")
            out[pattern] = reason.strip()
    return out


def _literal_brackets(pattern: str) -> str:
    # Node ids carry parameters in brackets ("test_x[-0.01-rate]"): in the
    # list they are literal text, not fnmatch character classes; only * and ? glob.
    return "".join("[[]" if c == "[" else "[]]" if c == "]" else c for c in pattern)


def excluded_reason(nodeid: str, excluded: dict[str, str]) -> str | None:
    return next((why for pat, why in excluded.items() if fnmatch.fnmatchcase(nodeid, _literal_brackets(pat))), None)


# pytest exit codes that mean "the run finished" (0 all passed, 1 some failed).
FINISHED = (0, 1)


def in_scope(path: str) -> bool:
    if any(fnmatch.fnmatch(path, p) for p in OUT_OF_SCOPE):
        return False
    return any(fnmatch.fnmatch(path, p) for p in SCOPE)


def fetch_suite(cache: Path) -> Path:
    """The extracted sdist (downloaded once into `cache`)."""
    root = cache / f"ml4t_backtest-{VERSION}"
    if (root / "tests" / "conftest.py").exists():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps",
                    f"ml4t-backtest=={VERSION}", "-d", str(cache)], check=True)
    sdist = cache / f"ml4t_backtest-{VERSION}.tar.gz"
    with tarfile.open(sdist) as tar:
        tar.extractall(cache, filter="data")
    return root


def read_events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut short by a crash
            pass
    return events


def run_suite(root: Path, target: str, work: Path, timeout: int, max_restarts: int) -> tuple[dict, dict, float]:
    """Runs the suite against `target`; returns (outcome by node id, collection
    errors by path, seconds). Resumes after every crash or hang."""
    work.mkdir(parents=True, exist_ok=True)
    results = work / f"{target}.jsonl"
    deselect = work / f"{target}.deselect"
    results.unlink(missing_ok=True)
    deselect.unlink(missing_ok=True)
    env = dict(os.environ, NL_COMPAT_TARGET=target, NL_COMPAT_RESULTS=str(results), NL_COMPAT_DESELECT=str(deselect),
               PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    cmd = [sys.executable, "-m", "pytest", "tests", "-q", "-p", "ml4t_alias", "-p", "no:cacheprovider",
           "-o", "addopts=", "--ignore=tests/private", "--ignore=tests/validation", "--continue-on-collection-errors",
           "-W", "ignore::DeprecationWarning"]
    # A hung test is ended by pytest-timeout's thread method (the process
    # exits), which the loop below treats as a crash of that test.
    if importlib.util.find_spec("pytest_timeout") is not None:
        cmd += [f"--timeout={timeout}", "--timeout-method=thread"]
    outcomes: dict[str, dict] = {}
    started = time.monotonic()
    for attempt in range(max_restarts + 1):
        proc = subprocess.run(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        events = read_events(results)
        outcomes = {}
        for ev in events:
            if ev["event"] in ("outcome", "crashed"):
                prev = outcomes.get(ev["nodeid"])
                # The worst phase wins (a teardown failure fails a passed test).
                if prev is None or prev["outcome"] == "passed" or ev["event"] == "crashed":
                    outcomes[ev["nodeid"]] = ev
        if proc.returncode in FINISHED:
            break
        if proc.returncode == 5:
            raise SystemExit(f"{target}: pytest collected no tests:\n{proc.stdout[-3000:]}")
        # Crashed or hung: the test that started last fails; resume after it.
        crashed = next((ev["nodeid"] for ev in reversed(events) if ev["event"] == "start"), None)
        if crashed is None:
            raise SystemExit(f"{target}: pytest ended with status {proc.returncode} before any test:\n"
                             f"{proc.stdout[-3000:]}")
        print(f"  {target}: {crashed} ended the interpreter (status {proc.returncode}); resuming after it",
              flush=True)
        with results.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"event": "crashed", "nodeid": crashed, "outcome": "crashed",
                                  "message": f"interpreter ended with status {proc.returncode}"}) + "\n")
        done = {ev["nodeid"] for ev in read_events(results) if ev["event"] in ("outcome", "crashed")}
        deselect.write_text("\n".join(sorted(done)) + "\n", encoding="utf-8")
    else:
        raise SystemExit(f"{target}: more than {max_restarts} crashes; giving up")
    errors = {ev["nodeid"]: ev.get("text", "") for ev in read_events(results) if ev["event"] == "collect_error"}
    return outcomes, errors, time.monotonic() - started


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def compare(ref: dict, ours: dict, errors: dict, excluded: dict[str, str]) -> tuple[dict, list, list]:
    """Per file: (passing on ml4t, also passing on ours); the rest; and the
    in-scope tests left out by `excluded` as (node id, reason, passes here)."""
    per_file: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    rest, left_out = [], []
    for nodeid, ev in sorted(ref.items()):
        if ev["outcome"] != "passed":
            continue
        f = file_of(nodeid)
        per_file[f][0] += 1
        mine = ours.get(nodeid)
        passes = mine is not None and mine["outcome"] == "passed"
        per_file[f][1] += passes
        reason = excluded_reason(nodeid, excluded) if in_scope(f) else None
        if reason is not None:
            left_out.append((nodeid, reason, passes))
            continue
        if passes:
            continue
        if mine is None:
            why = "not collected: " + (errors.get(f, "").strip().splitlines() or ["?"])[-1][:200]
        else:
            why = f"{mine['outcome']}: {mine.get('message', '')}"
        rest.append((nodeid, why))
    return per_file, rest, left_out


def share(passed: int, total: int) -> float:
    return 100.0 * passed / total if total else 100.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "nl_ml4t_suite",
                    help="where the sdist is downloaded and the runs write their records")
    ap.add_argument("--min-share", type=float, default=None,
                    help="fail when less than this percentage of the in-scope tests passing on ml4t pass here")
    ap.add_argument("--timeout", type=int, default=120, help="seconds one test may take before it counts as hung")
    ap.add_argument("--max-restarts", type=int, default=200)
    ap.add_argument("--report", type=Path, default=None, help="also write the table and the full list here")
    args = ap.parse_args(argv)

    root = fetch_suite(args.cache)
    work = args.cache / "runs"
    work.mkdir(parents=True, exist_ok=True)
    print(f"ml4t-backtest {VERSION} test suite from its sdist ({root})", flush=True)
    ref, ref_errors, t_ref = run_suite(root, "ml4t", work, args.timeout, args.max_restarts)
    n_ref = sum(ev["outcome"] == "passed" for ev in ref.values())
    print(f"  on ml4t:          {n_ref} passed of {len(ref)} run ({t_ref:.0f} s)", flush=True)
    if n_ref == 0:
        print("no test passed on ml4t itself: the reference run is broken", file=sys.stderr)
        return 2
    ours, errors, t_ours = run_suite(root, "nautilus_like", work, args.timeout, args.max_restarts)
    print(f"  on nautilus_like: {sum(ev['outcome'] == 'passed' for ev in ours.values())} passed of "
          f"{len(ours)} run ({t_ours:.0f} s)", flush=True)

    per_file, rest, left_out = compare(ref, ours, errors, read_excluded())
    lines = [f"{'file':<62} {'ml4t':>5} {'nl':>5} {'share':>7}  scope"]
    totals = {True: [0, 0], False: [0, 0]}
    for f in sorted(per_file):
        total, ok = per_file[f]
        scoped = in_scope(f)
        totals[scoped][0] += total
        totals[scoped][1] += ok
        lines.append(f"{f:<62} {total:>5} {ok:>5} {share(ok, total):>6.1f}%  {'yes' if scoped else ''}")
    all_total, all_ok = totals[True][0] + totals[False][0], totals[True][1] + totals[False][1]
    # The share that decides --min-share leaves the listed tests out of both sides.
    s_total = totals[True][0] - len(left_out)
    s_ok = totals[True][1] - sum(passes for _, _, passes in left_out)
    lines.append("")
    lines.append(f"in scope (issue 10's files): {s_ok} of {s_total} ({share(s_ok, s_total):.1f}%)"
                 f" — {len(left_out)} more left out with a reason ({EXCLUDED_FILE.name});"
                 f" with them: {totals[True][1]} of {totals[True][0]} ({share(totals[True][1], totals[True][0]):.1f}%)")
    lines.append(f"whole suite:                 {all_ok} of {all_total} ({share(all_ok, all_total):.1f}%)")
    table = "\n".join(lines)
    print(table)
    print(f"\nin-scope tests left out, with the reason ({len(left_out)}):")
    for nodeid, why, passes in left_out:
        print(f"  {nodeid}  [{why}]{'  (passes here: drop it from the list)' if passes else ''}")
    scoped_rest = [(n, why) for n, why in rest if in_scope(file_of(n))]
    print(f"\nin-scope tests passing on ml4t but not here ({len(scoped_rest)}):")
    for nodeid, why in scoped_rest:
        print(f"  {nodeid}  [{why}]")
    if args.report:
        args.report.write_text(table + "\n\nall tests passing on ml4t but not here:\n"
                               + "\n".join(f"{n}  [{why}]" for n, why in rest) + "\n", encoding="utf-8")
        print(f"\nfull list ({len(rest)} tests) in {args.report}")
    if args.min_share is not None and share(s_ok, s_total) < args.min_share:
        print(f"\nFAIL: in-scope share {share(s_ok, s_total):.1f}% is below {args.min_share}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
