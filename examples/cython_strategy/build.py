"""Compile `signal_strategy.pyx` into an importable extension module.

    >>> from build import build, load
    >>> so_path = build("/tmp/nl_strategy")        # -> /tmp/nl_strategy/signal_strategy.<abi>.so
    >>> SignalStrategy = load("/tmp/nl_strategy").SignalStrategy

or from a shell: `python examples/cython_strategy/build.py [TARGET_DIR]`.

The extension cimports `nautilus_like._strategy`/`_broker`/`_data`/`_ffi`, so it
needs the installed package's `.pxd` files and `nautilus_like.h`
(`nautilus_like.get_include()`); it is compiled with `-O2` against the
interpreter that runs this file. It calls the engine only through the Broker's
vtable, so it does not link against the Rust library.
"""

from __future__ import annotations

import importlib.util
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
MODULE = "signal_strategy"
SOURCE = HERE / f"{MODULE}.pyx"

CYTHON_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "initializedcheck": False,
    "cdivision": True,
}


def _include_dirs() -> list[str]:
    import nautilus_like

    header_dir = Path(nautilus_like.get_include())
    # The header's directory for the C compiler; its parent is the root under
    # which Cython finds `nautilus_like/*.pxd`.
    return [str(header_dir), str(header_dir.parent)]


def build(target_dir: str | Path, *, source: str | Path = SOURCE, force: bool = False,
          quiet: bool = True) -> Path:
    """Compiles `source` into `target_dir` and returns the extension's path.

    Generated C and object files go to `target_dir/build`. Import the result with
    `load(target_dir)` or by putting `target_dir` on `sys.path`. The module is
    rebuilt when `force` is set, the `.so` is missing, or it is older than the
    `.pyx` or any nautilus_like `.pxd`/header it compiles against.
    """
    target = Path(target_dir).resolve()
    target.mkdir(parents=True, exist_ok=True)
    source = Path(source).resolve()
    name = source.stem
    so_path = target / f"{name}{sysconfig.get_config_var('EXT_SUFFIX')}"
    include_dirs = _include_dirs()

    if so_path.exists() and not force:
        deps = [source, *(p for d in include_dirs for p in Path(d).glob("nautilus_like/*.pxd")),
                *(p for d in include_dirs for p in Path(d).glob("*.h"))]
        if all(so_path.stat().st_mtime >= p.stat().st_mtime for p in deps):
            return so_path

    # Imported only when compiling: a cached module loads without them.
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    build_temp = target / "build"
    build_temp.mkdir(exist_ok=True)
    ext = Extension(name, [str(source)], include_dirs=include_dirs,
                    extra_compile_args=["-O2", "-Wno-unused-function"])
    # Cython resolves `cimport nautilus_like...` through include_path (and sys.path).
    (ext,) = cythonize([ext], compiler_directives=CYTHON_DIRECTIVES, include_path=include_dirs,
                       build_dir=str(build_temp), force=True, quiet=quiet)
    dist = Distribution({"name": name, "ext_modules": [ext]})
    dist.script_args = []
    cmd = build_ext(dist)
    cmd.build_lib = str(target)
    cmd.build_temp = str(build_temp)
    cmd.inplace = False
    cmd.ensure_finalized()
    cmd.run()
    built = Path(cmd.get_ext_fullpath(name))
    if built != so_path:
        built.replace(so_path)
    return so_path


def load(target_dir: str | Path, **build_kwargs) -> ModuleType:
    """`build(target_dir)` and import the module (cached in `sys.modules`)."""
    so_path = build(target_dir, **build_kwargs)
    name = so_path.name.split(".", 1)[0]
    mod = sys.modules.get(name)
    if mod is not None and Path(getattr(mod, "__file__", "")).resolve() == so_path:
        return mod
    spec = importlib.util.spec_from_file_location(name, so_path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sys.modules[name] = mod
    return mod


if __name__ == "__main__":
    out = build(sys.argv[1] if len(sys.argv) > 1 else HERE / "_build", force=True, quiet=False)
    print(out)
