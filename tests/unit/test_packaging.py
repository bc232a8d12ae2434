"""Every package of the source tree ships: `pip install .` (not only an
editable install) must carry each folder that has an `__init__.py`."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "nautilus_like").rglob("__init__.py")}
    assert on_disk - listed == set(), "packages missing from pyproject.toml's [tool.setuptools] packages"
    assert listed - on_disk == set(), "pyproject.toml lists packages that do not exist"
