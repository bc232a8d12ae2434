"""In-tree build backend for nautilus_like.

`pip install .` (and `pip install -e .`) call the PEP 517 hooks below, which are
setuptools' own with one addition: the `build_ext` step first runs
`cargo build --release` for the `nautilus_like._rust` shared library (the PyO3
module that also exports the C ABI), then compiles the Cython modules and links
them against that library with an `$ORIGIN` rpath, so every extension shares one
copy of the Rust state.

Developers can also run `python build.py build_ext --inplace`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.build_meta import _BuildMetaBackend
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
PACKAGE = "nautilus_like"
RUST_EXTENSION = f"{PACKAGE}._rust"
RUST_CRATE = "nautilus-like-python"
RUST_LIBRARY = "libnautilus_like_rust.so"
# One module per job: value views, broker, strategy base, data views, bar driver.
CYTHON_MODULES = ["_model", "_broker", "_strategy", "_data", "_driver", "_stepped"]


class BuildRustThenCython(build_ext):
    """Builds the Rust library before (and for) the Cython extensions."""

    def build_extensions(self) -> None:
        from Cython.Build import cythonize

        # Translate .pyx -> .c here, not at import: metadata hooks stay cheap.
        # (setuptools has already prepared these Extension objects, so only
        # their sources are swapped for the generated C files.)
        for ext in self.extensions:
            if ext.name != RUST_EXTENSION:
                ext.sources = cythonize([ext], compiler_directives=CYTHON_DIRECTIVES, quiet=True,
                                         force=bool(self.force))[0].sources
        # The Cython modules link against the Rust library, so it goes first.
        self.extensions.sort(key=lambda e: e.name != RUST_EXTENSION)
        super().build_extensions()

    def build_extension(self, ext: Extension) -> None:
        if ext.name == RUST_EXTENSION:
            self._build_rust(ext)
            return
        rust_path = Path(self.get_ext_fullpath(RUST_EXTENSION))
        ext.extra_link_args = [
            f"-L{rust_path.parent}",
            f"-l:{rust_path.name}",
            "-Wl,-rpath,$ORIGIN",
        ]
        super().build_extension(ext)

    def copy_file(self, infile, outfile, *args, **kwargs):  # noqa: ANN001, ANN201
        # In-place builds replace libraries by rename, never by rewriting the
        # file: a running interpreter that has the old one mapped keeps it.
        outfile = str(outfile)
        if os.path.isdir(outfile):
            outfile = os.path.join(outfile, os.path.basename(infile))
        tmp = outfile + ".tmp"
        shutil.copyfile(infile, tmp)
        shutil.copymode(infile, tmp)
        os.replace(tmp, outfile)
        return outfile, 1

    def _build_rust(self, ext: Extension) -> None:
        cargo = shutil.which("cargo")
        if cargo is None:
            raise RuntimeError(
                "nautilus_like needs a Rust toolchain to build: `cargo` was not found on PATH "
                "(install it from https://rustup.rs)."
            )
        target_dir = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
        env = dict(os.environ, PYO3_PYTHON=sys.executable)
        cmd = [cargo, "build", "--release", "-p", RUST_CRATE, "--target-dir", str(target_dir)]
        print("running", " ".join(cmd), flush=True)
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
        dest = Path(self.get_ext_fullpath(ext.name))
        dest.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(target_dir / "release" / RUST_LIBRARY, dest)


# Bounds checks and negative indexing stay on module-wide: Python-level code in
# these modules must never turn an index mistake into a segfault. The hot
# loops index raw C pointers, which these directives do not affect.
CYTHON_DIRECTIVES = {
    "language_level": 3,
    "cdivision": True,
    "embedsignature": True,
}


def _extensions() -> list[Extension]:
    cython_exts = [
        Extension(
            f"{PACKAGE}.{name}",
            [f"{PACKAGE}/{name}.pyx"],
            include_dirs=[PACKAGE],
            extra_compile_args=["-O2", "-Wno-unused-function"],
        )
        for name in CYTHON_MODULES
    ]
    # `sources` is empty: BuildRustThenCython builds it with cargo.
    return [Extension(RUST_EXTENSION, sources=[])] + cython_exts


def _setup() -> None:
    setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildRustThenCython})


class _Backend(_BuildMetaBackend):
    def run_setup(self, setup_script: str = "setup.py") -> None:  # noqa: ARG002
        # setuptools would exec a setup.py; our configuration lives here instead.
        _setup()


_backend = _Backend()
get_requires_for_build_wheel = _backend.get_requires_for_build_wheel
get_requires_for_build_sdist = _backend.get_requires_for_build_sdist
get_requires_for_build_editable = _backend.get_requires_for_build_editable
prepare_metadata_for_build_wheel = _backend.prepare_metadata_for_build_wheel
prepare_metadata_for_build_editable = _backend.prepare_metadata_for_build_editable
build_wheel = _backend.build_wheel
build_sdist = _backend.build_sdist
build_editable = _backend.build_editable

if __name__ == "__main__":
    _setup()
