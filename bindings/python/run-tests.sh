#!/usr/bin/env bash
# Usage: bindings/python/run-tests.sh [PYTEST ARGS...]
#
# Tests the Python binding against a throwaway etcd:
#   1. builds the library: cargo build --release;
#   2. a venv in target/python-venv (created if missing, with python3 -m venv);
#   3. pip-installs ./bindings/python into it (setuptools-rust puts
#      target/release/libetcdc.so in the package: step 1 compiled it), and
#      pytest, if missing;
#   4. runs pytest with ETCDC_LIBRARY=target/release/libetcdc.so under
#      scripts/with-etcd.sh.
# Exits with pytest's status (0 only if every test passed).
# The wheel, installed where nothing else is: bindings/python/test-wheel.sh.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
# The package's build (setup.py) uses this target directory: after step 1
# it compiles nothing.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

cargo build --release

venv="$repo/target/python-venv"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  echo "creating $venv" >&2
  mkdir -p "$repo/target"
  "$python" -m venv "$venv"
fi
py="$venv/bin/python"

pip=("$py" -m pip --quiet --disable-pip-version-check)
# The build dependencies (setuptools 70.1+, setuptools-rust) and pytest
# come from PyPI once; the package is then built with the venv's own,
# without network.
if ! "$py" -c 'import sys, setuptools, setuptools_rust; v = tuple(int(x) for x in setuptools.__version__.split(".")[:2]); sys.exit(v < (70, 1))' 2>/dev/null; then
  "${pip[@]}" install 'setuptools>=70.1' 'setuptools-rust>=1.9,<2'
fi
if ! "$py" -c 'import pytest' 2>/dev/null; then
  "${pip[@]}" install pytest
fi
"${pip[@]}" install --no-build-isolation --force-reinstall --no-deps ./bindings/python
# setuptools builds in the source tree: leave it clean.
rm -rf bindings/python/build bindings/python/etcdc.egg-info

# pytest runs from the repository root, so `import etcdc` is the package
# installed in the venv (bindings/python itself is not on sys.path).
status=0
ETCDC_LIBRARY="$CARGO_TARGET_DIR/release/libetcdc.so" \
  scripts/with-etcd.sh "$py" -m pytest -p no:cacheprovider \
  --rootdir "$repo/bindings/python" "$repo/bindings/python/tests" "$@" || status=$?
exit "$status"
