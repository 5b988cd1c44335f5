#!/usr/bin/env bash
# Usage: bindings/python/run-tests.sh [PYTEST ARGS...]
#
# Tests the Python binding against a throwaway etcd:
#   1. a venv in target/python-venv (created if missing, with python3 -m venv);
#   2. pip-installs ./bindings/python into it (and pytest, if missing);
#   3. builds the library: cargo build --release;
#   4. runs pytest with ETCDC_LIBRARY=target/release/libetcdc.so under
#      scripts/with-etcd.sh.
# Exits with pytest's status (0 only if every test passed).
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"

venv="$repo/target/python-venv"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  echo "creating $venv" >&2
  mkdir -p "$repo/target"
  "$python" -m venv "$venv"
fi
py="$venv/bin/python"

pip=("$py" -m pip --quiet --disable-pip-version-check)
# setuptools (the only build dependency; 70.1+ builds wheels on its own) and
# pytest come from PyPI once; the package is then built with the venv's
# setuptools, without network.
if ! "$py" -c 'import sys, setuptools; v = tuple(int(x) for x in setuptools.__version__.split(".")[:2]); sys.exit(v < (70, 1))' 2>/dev/null; then
  "${pip[@]}" install 'setuptools>=70.1'
fi
if ! "$py" -c 'import pytest' 2>/dev/null; then
  "${pip[@]}" install pytest
fi
"${pip[@]}" install --no-build-isolation --force-reinstall --no-deps ./bindings/python
# setuptools builds in the source tree: leave it clean.
rm -rf bindings/python/build bindings/python/etcdc.egg-info

cargo build --release

# pytest runs from the repository root, so `import etcdc` is the package
# installed in the venv (bindings/python itself is not on sys.path).
status=0
ETCDC_LIBRARY="$repo/target/release/libetcdc.so" \
  scripts/with-etcd.sh "$py" -m pytest -p no:cacheprovider \
  --rootdir "$repo/bindings/python" "$repo/bindings/python/tests" "$@" || status=$?
exit "$status"
