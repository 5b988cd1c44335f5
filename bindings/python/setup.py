"""Builds libetcdc into the package.

setuptools-rust compiles the etcdc crate (the repository's Cargo.toml, two
directories up) as a cdylib with no Python binding, and the wheel carries it
as ``etcdc/libetcdc.so`` (soname libetcdc.so.1, exporting only etcdc_*),
which ``etcdc._lib`` loads first. The package calls it through ctypes, so the
wheel is for any Python 3 on its platform: tagged ``py3-none-<platform>``.

Cargo's target directory is the repository's ``target/`` (or
``$CARGO_TARGET_DIR``), so a build reuses what ``cargo build --release``
already compiled: after it, building the wheel compiles nothing.
"""

import os
import sys

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools_rust import Binding, RustExtension, build_rust

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(HERE, "..", "..", "Cargo.toml")


class BuildLibrary(build_rust):
    """Names the library libetcdc.so, not libetcdc.cpython-3XX-....so: it is
    not a Python extension module, and no Python version is in its name."""

    def get_dylib_ext_path(self, ext, target_fname):
        path = super().get_dylib_ext_path(ext, target_fname)
        if sys.platform.startswith("linux"):
            return os.path.join(os.path.dirname(path), "libetcdc.so")
        return path


class WheelForAnyPython(bdist_wheel):
    """py3-none-<platform>: the library is not tied to a Python ABI."""

    def get_tag(self):
        _python, _abi, platform = super().get_tag()
        return "py3", "none", platform


if not os.path.exists(MANIFEST):
    sys.exit(
        "etcdc: %s not found. This package is built from the etcdc repository "
        "(pip install ./bindings/python in a clone), with a Rust toolchain "
        "(cargo) on PATH." % os.path.normpath(MANIFEST)
    )

setup(
    rust_extensions=[
        RustExtension(
            "etcdc.libetcdc",
            path=os.path.relpath(MANIFEST),
            binding=Binding.NoBinding,
            debug=False,
            # The manifest's own [lib] crate-type, so that this is the very
            # build `cargo build --release` makes (fresh when it ran, and
            # not undone by it). setuptools-rust would otherwise ask for
            # cdylib alone: another build of the crate, which the next
            # `cargo build --release` redoes (~25 s each way). Of the
            # artifacts it takes the cdylib.
            args=["--crate-type", "rlib,cdylib,staticlib"],
        )
    ],
    cmdclass={"build_rust": BuildLibrary, "bdist_wheel": WheelForAnyPython},
)
