"""Compile a Cython strategy (default: `signal_strategy.pyx`) into an importable module.

    >>> from build import build, load
    >>> so_path = build("/tmp/nl_strategy")        # -> /tmp/nl_strategy/signal_strategy.<abi>.so
    >>> SignalStrategy = load("/tmp/nl_strategy").SignalStrategy

or from a shell: `python examples/cython_strategy/build.py [TARGET_DIR [SOURCE.pyx]]`.

This is the plain recipe any Cython extension uses (what a `setup.py` with
`cythonize(Extension(..., include_dirs=[nautilus_like.get_include()]))` does):
the strategy cimports only `nautilus_like` (its `__init__.pxd`), the C
compiler finds `nautilus_like.h` in `nautilus_like.get_include()`, and the
module calls the engine only through the classes' vtables, so it does not
link against the Rust library.

One addition: Cython looks for `nautilus_like/*.pxd` on `sys.path`, which an
editable (`pip install -e`) install does not extend; `cython_include_path()`
then adds the package's parent directory.
"""

from __future__ import annotations

import importlib.util
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "signal_strategy.pyx"

CYTHON_DIRECTIVES = {"language_level": 3, "boundscheck": False, "wraparound": False,
                     "initializedcheck": False, "cdivision": True}


def cython_include_path() -> list[str]:
    """Where Cython should look for `nautilus_like/__init__.pxd` beyond `sys.path`:
    nothing for a regular install, the package's parent for an editable one."""
    import nautilus_like

    root = Path(nautilus_like.__file__).resolve().parent.parent
    on_path = any(Path(p or ".").resolve() == root for p in sys.path)
    return [] if on_path else [str(root)]


def build(target_dir: str | Path, *, source: str | Path = SOURCE, force: bool = False,
          quiet: bool = True) -> Path:
    """Compiles `source` into `target_dir` and returns the extension's path.

    Generated C and object files go to `target_dir/build`. Import the result with
    `load(target_dir)` or by putting `target_dir` on `sys.path`. The module is
    rebuilt when `force` is set, the `.so` is missing, or it is older than the
    `.pyx` or any nautilus_like `.pxd`/header it compiles against.
    """
    import nautilus_like

    target = Path(target_dir).resolve()
    target.mkdir(parents=True, exist_ok=True)
    source = Path(source).resolve()
    name = source.stem
    so_path = target / f"{name}{sysconfig.get_config_var('EXT_SUFFIX')}"
    include = Path(nautilus_like.get_include())

    if so_path.exists() and not force:
        deps = [source, *include.glob("*.pxd"), *include.glob("*.h")]
        if all(so_path.stat().st_mtime >= p.stat().st_mtime for p in deps):
            return so_path

    # Imported only when compiling: a cached module loads without them.
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    build_temp = target / "build"
    build_temp.mkdir(exist_ok=True)
    ext = Extension(name, [str(source)], include_dirs=[str(include)],
                    extra_compile_args=["-O2", "-Wno-unused-function"])
    (ext,) = cythonize([ext], compiler_directives=CYTHON_DIRECTIVES, include_path=cython_include_path(),
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
    target = sys.argv[1] if len(sys.argv) > 1 else HERE / "_build"
    src = sys.argv[2] if len(sys.argv) > 2 else SOURCE
    print(build(target, source=src, force=True, quiet=False))
