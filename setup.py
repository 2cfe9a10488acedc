"""Build script: compiles every ``ext/*.pyx`` into ``zkos_tw._ext.<name>``.

The extensions are optional by default (a failed compile falls back to the pure-Python twins),
required when ``ZKOS_REQUIRE_EXTENSIONS=1`` and skipped when ``ZKOS_NO_EXTENSIONS=1``.
``twisted/plugins`` is shipped as a plain directory so ``twistd zkos`` finds the plugin.
The data files (``zkos_tw.data.FILES``: genesis, dev genesis, the L1 state, the L1 artifacts)
are copied from the checkout into ``zkos_tw/data/`` of the build, so an installed node has them.
"""

import glob
import os
import shutil
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py
from setuptools.extension import Extension


def _flag(name):
    return os.environ.get(name, "") not in ("", "0")


NO_EXTENSIONS = _flag("ZKOS_NO_EXTENSIONS")
REQUIRE_EXTENSIONS = _flag("ZKOS_REQUIRE_EXTENSIONS")


class optional_build_ext(build_ext):
    """Build the extensions, but do not fail the install unless they are required."""

    def run(self):
        try:
            super().run()
        except Exception as e:  # noqa: BLE001 - any compiler failure
            self._report(e)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as e:  # noqa: BLE001
            self._report(e)

    def _report(self, e):
        if REQUIRE_EXTENSIONS:
            raise e
        sys.stderr.write(
            f"warning: zkos-tw C extensions not built ({e}); the pure-Python paths will be used\n"
        )


#: Mirrors ``zkos_tw.data.FILES`` (setup.py cannot import the package it builds).
DATA_FILES = {
    "genesis.json": "genesis.json",
    "dev-genesis.json": "dev-genesis.json",
    "zkos-l1-state.json": "zkos-l1-state.json",
    "l1-build": os.path.join("contracts", "l1", "build"),
}


class build_py_with_data(build_py):
    """``build_py``, then copy ``DATA_FILES`` into ``zkos_tw/data/`` of the build."""

    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "zkos_tw", "data")
        os.makedirs(target, exist_ok=True)
        for name, source in DATA_FILES.items():
            destination = os.path.join(target, name)
            if os.path.isdir(source):
                shutil.rmtree(destination, ignore_errors=True)
                shutil.copytree(source, destination)
            else:
                shutil.copyfile(source, destination)


def _extensions():
    if NO_EXTENSIONS:
        return []
    sources = sorted(glob.glob(os.path.join("ext", "*.pyx")))
    extensions = [
        Extension(
            "zkos_tw._ext." + os.path.splitext(os.path.basename(source))[0],
            [source],
            include_dirs=["ext"],
            extra_compile_args=["-O3"],
        )
        for source in sources
    ]
    try:
        from Cython.Build import cythonize
    except ImportError:
        if REQUIRE_EXTENSIONS:
            raise
        return []
    return cythonize(
        extensions,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
    )


setup(
    packages=[
        "zkos_tw",
        *[
            "zkos_tw." + os.path.relpath(d, "zkos_tw").replace(os.sep, ".")
            for d, _, files in os.walk("zkos_tw")
            if "__init__.py" in files and d != "zkos_tw"
        ],
        "twisted.plugins",
    ],
    # (This keyword wins over [options.package_data] in setup.cfg, so package data goes here.)
    package_data={
        "twisted.plugins": ["zkos.py", "zkos_nacl.py"],
        "zkos_tw.evmbench": ["contracts.json"],
    },
    ext_modules=_extensions(),
    cmdclass={"build_ext": optional_build_ext, "build_py": build_py_with_data},
)
