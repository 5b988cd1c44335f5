#!/usr/bin/env bash
# Usage: bindings/python/test-wheel.sh
#
# The wheel, as a user gets it:
#   1. pip wheel ./bindings/python -w target/python-wheel (pip's build
#      isolation: setuptools and setuptools-rust from PyPI; cargo builds the
#      crate in target/, so after `cargo build --release` nothing compiles);
#   2. checks its library: etcdc/libetcdc.so, soname libetcdc.so.1, exports
#      only etcdc_*;
#   3. installs it (--no-index: the wheel alone) into a fresh venv in a
#      temporary directory, with no ETCDC_LIBRARY and no cargo on PATH;
#   4. from that directory, runs python-etcd's README code
#      (tests/wheel_readme.py, copied there) in that venv, `python -I`,
#      against a throwaway etcd (scripts/with-etcd.sh);
#   5. likewise python-etcd3's README with etcdc.etcd3
#      (tests/etcd3_readme.py), where neither grpc nor google.protobuf can
#      be imported.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
python="${PYTHON:-python3}"
out="$CARGO_TARGET_DIR/python-wheel"
rm -rf "$out"
mkdir -p "$out"

"$python" -m pip wheel --quiet --disable-pip-version-check --no-deps ./bindings/python -w "$out"
# setuptools builds in the source tree: leave it clean.
rm -rf bindings/python/build bindings/python/etcdc.egg-info
wheels=("$out"/etcdc-*.whl)
[ "${#wheels[@]}" = 1 ] && [ -f "${wheels[0]}" ] || { echo "test-wheel: expected one wheel in $out" >&2; exit 1; }
wheel="${wheels[0]}"
echo "test-wheel: built $(basename "$wheel")"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/etcdc-wheel.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The library in the wheel.
"$python" -m zipfile -e "$wheel" "$tmp/unpacked"
so="$tmp/unpacked/etcdc/libetcdc.so"
[ -f "$so" ] || { echo "test-wheel: no etcdc/libetcdc.so in the wheel" >&2; exit 1; }
bad=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^etcdc_' || true)
[ -z "$bad" ] || { echo "test-wheel: the wheel's libetcdc.so exports more than etcdc_*:"; echo "$bad"; exit 1; } >&2
readelf -d "$so" | grep -q 'SONAME.*\[libetcdc\.so\.1\]' ||
  { echo "test-wheel: the wheel's libetcdc.so has no soname libetcdc.so.1" >&2; exit 1; }
echo "test-wheel: etcdc/libetcdc.so exports $(nm -D --defined-only "$so" | wc -l) symbols, all etcdc_*; soname libetcdc.so.1"

# A fresh venv with the wheel alone, used from a directory with nothing
# else in it, with neither ETCDC_LIBRARY nor cargo.
"$python" -m venv "$tmp/venv"
cp bindings/python/tests/wheel_readme.py bindings/python/tests/etcd3_readme.py "$tmp/"
clean_env=(env -u ETCDC_LIBRARY -u PYTHONPATH -u CARGO_TARGET_DIR PATH=/usr/bin:/bin)
(cd "$tmp" && "${clean_env[@]}" "$tmp/venv/bin/python" -m pip install --quiet \
   --disable-pip-version-check --no-index "$wheel")
cd "$tmp"
"$repo/scripts/with-etcd.sh" "${clean_env[@]}" "$tmp/venv/bin/python" -I wheel_readme.py
# etcdc.etcd3 needs neither grpcio nor protobuf: the venv has none.
"${clean_env[@]}" "$tmp/venv/bin/python" -I -c '
import importlib.util as u, sys
found = [m for m in ("grpc", "google.protobuf") if u.find_spec(m.split(".")[0]) and u.find_spec(m)]
sys.exit("test-wheel: %s importable in the fresh venv" % found if found else 0)'
"$repo/scripts/with-etcd.sh" "${clean_env[@]}" "$tmp/venv/bin/python" -I etcd3_readme.py
echo "test-wheel: passed"
