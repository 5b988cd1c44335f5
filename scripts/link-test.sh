#!/usr/bin/env bash
# The path a user takes: `make install` into a temporary prefix, then build the
# C quick start and the C++ example with pkg-config, against the shared
# library and statically, and run all four against a throwaway etcd; finally
# `make uninstall` must leave nothing behind.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/etcdc-link.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
# The soname's number: [package.metadata.etcdc] abi in Cargo.toml (as the Makefile reads it).
abi=$(sed -n '/^\[package\.metadata\.etcdc\]/,/^\[/s/^abi *= *\([0-9][0-9]*\).*/\1/p' "$top/Cargo.toml")
[ -n "$abi" ] || { echo "Cargo.toml has no [package.metadata.etcdc] abi"; exit 1; }
soname="libetcdc.so.$abi"

make -s -C "$top" install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pc() { pkg-config "$@" etcdc; }
echo "pkg-config: etcdc $(pc --modversion): $(pc --cflags --libs)"

strict="-Wall -Wextra -Werror -pedantic"
static_libs="$(pc --libs-only-L) -Wl,-Bstatic -letcdc -Wl,-Bdynamic $(pc --static --libs-only-l | sed 's/-letcdc//')"
cc -std=c99 $strict "$top/examples-c/quickstart.c" $(pc --cflags --libs) -o "$work/c-shared"
c++ -std=c++11 $strict "$top/examples-c/quickstart.cpp" $(pc --cflags --libs) -o "$work/cxx-shared"
cc -std=c99 $strict "$top/examples-c/quickstart.c" $(pc --cflags) $static_libs -o "$work/c-static"
c++ -std=c++11 $strict "$top/examples-c/quickstart.cpp" $(pc --cflags) $static_libs -o "$work/cxx-static"

for p in c-shared cxx-shared; do
  LD_LIBRARY_PATH="$prefix/lib" ldd "$work/$p" | grep -q "$soname => $prefix/lib/" ||
    { echo "$p does not load $soname from the prefix"; exit 1; }
done
for p in c-static cxx-static; do
  if ldd "$work/$p" | grep -q libetcdc; then echo "$p is linked to libetcdc.so"; exit 1; fi
done

run_all() {
  for p in c-shared cxx-shared c-static cxx-static; do
    echo "== $p"
    LD_LIBRARY_PATH="$prefix/lib" "$work/$p" >"$work/$p.out" 2>&1 || { cat "$work/$p.out"; exit 1; }
    tail -n 1 "$work/$p.out"
  done
}
export -f run_all
export work prefix
"$top/scripts/with-etcd.sh" bash -c run_all

make -s -C "$top" uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" -type f -o -type l | wc -l)
[ "$left" = 0 ] || { echo "make uninstall left $left files:"; find "$prefix" -type f -o -type l; exit 1; }
echo "link test: installed, linked (C, C++; shared, static), ran, uninstalled"
