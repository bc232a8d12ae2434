"""pytest plugin for the ml4t-backtest compatibility job (tests/compat/ml4t_suite.py).

Loaded with ``-p ml4t_alias`` before any test module is imported. It does two
things, both driven by environment variables the runner sets:

* ``NL_COMPAT_TARGET=nautilus_like`` installs an import hook that answers every
  import of ``ml4t.backtest`` or ``ml4t.backtest.<sub>`` with ``nautilus_like``
  or ``nautilus_like.<sub>`` (the same module object, so patches and
  ``isinstance`` checks see ours). A submodule we do not have fails to import,
  as it would for a user.
* ``NL_COMPAT_RESULTS=<file>`` appends one JSON line per event: the test about
  to run (so a crash of the interpreter names its test), each test's outcome,
  and each collection error. ``NL_COMPAT_DESELECT=<file>`` lists node ids not
  to run again (those already done, and one that crashed), so the runner can
  resume after a crash.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import json
import os
import sys
import types

_PREFIX = "ml4t.backtest"


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module) -> None:  # the target module is already executed
        pass


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Maps ml4t.backtest[.x] to nautilus_like[.x]."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _PREFIX and not fullname.startswith(_PREFIX + "."):
            return None
        alias = "nautilus_like" + fullname[len(_PREFIX):]
        if importlib.util.find_spec(alias) is None:
            return None  # ImportError, as for any missing module
        return importlib.util.spec_from_loader(fullname, _AliasLoader(alias))


def _install_alias() -> None:
    for name in [m for m in sys.modules if m == _PREFIX or m.startswith(_PREFIX + ".")]:
        del sys.modules[name]
    if importlib.util.find_spec("ml4t") is None:
        # ml4t itself is not installed: a bare namespace parent is enough.
        parent = types.ModuleType("ml4t")
        parent.__path__ = []
        sys.modules["ml4t"] = parent
    sys.meta_path.insert(0, _AliasFinder())


if os.environ.get("NL_COMPAT_TARGET") == "nautilus_like":
    _install_alias()


_RESULTS = os.environ.get("NL_COMPAT_RESULTS")


def _emit(record: dict) -> None:
    if not _RESULTS:
        return
    with open(_RESULTS, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")
        out.flush()
        os.fsync(out.fileno())


def pytest_collection_modifyitems(config, items):
    path = os.environ.get("NL_COMPAT_DESELECT")
    if not path or not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        skip = {line.rstrip("\n") for line in f if line.strip()}
    keep = [item for item in items if item.nodeid not in skip]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.nodeid in skip])
        items[:] = keep


def pytest_runtest_logstart(nodeid, location):
    _emit({"event": "start", "nodeid": nodeid})


def pytest_runtest_logreport(report):
    # A test's outcome: failed if any phase failed, skipped if setup skipped,
    # else passed once its call phase passed.
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        message = crash.message if crash is not None else str(report.longrepr).strip().splitlines()[-1:]
        _emit({"event": "outcome", "nodeid": report.nodeid, "outcome": "failed", "when": report.when,
               "message": str(message)[:300]})
    elif report.skipped and report.when in ("setup", "call"):
        _emit({"event": "outcome", "nodeid": report.nodeid, "outcome": "skipped", "when": report.when})
    elif report.passed and report.when == "call":
        _emit({"event": "outcome", "nodeid": report.nodeid, "outcome": "passed", "when": report.when})


def pytest_collectreport(report):
    if report.failed:
        _emit({"event": "collect_error", "nodeid": report.nodeid, "text": str(report.longrepr)[-2000:]})
