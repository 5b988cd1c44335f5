#!/usr/bin/env bash
# Usage: benches/run.sh            the full benchmark (`make bench`), ~4 minutes
#        SMOKE=1 benches/run.sh    tiny counts, one run: checks that every
#                                  contender still works (part of `make test`)
#
# Puts etcdc (C API, Rust API, its Python binding) side by side with
# python-etcd 0.4.5 and wrk on ONE throwaway etcd, and prints one Markdown
# table: each figure the median of RUNS runs (default 5; 1 with SMOKE) with
# min and max, the targets of issue 9 and PASS/MISS for each (a MISS is a
# measurement, not a failure). Then the v3 (gRPC) table: etcdc's v3 API
# against the etcd-client crate (tonic), with etcd's CPU per request and the
# targets of issue 22, on that etcd and on a throwaway etcd 3.5.1
# (scripts/ensure-etcd35.sh), one etcd at a time. Exits non-zero if any
# contender fails or does a different number of requests than etcd counted.
#
# Installs what it needs when missing: etcd (scripts/ensure-etcd.sh), etcd
# 3.5.1 (scripts/ensure-etcd35.sh), Debian's wrk and, for etcd-client's build
# script, protobuf-compiler and libprotobuf-dev (apt-get, as root),
# python-etcd in the venv target/bench-venv (pip).
# Builds: the release library, benches/bench_c.c (target/bench/bench_c), the
# Rust bench (cargo bench --bench bench_rust), benches/etcd-client (its own
# cargo project and Cargo.lock, into target/bench/etcd-client). The Python
# binding's column is "n/a" when bindings/python is missing or does not import.
# Knobs (environment): RUNS, BENCH_GET_N, BENCH_PUT_N, ... (see benches/driver.py);
# BENCH_PIN=1 (default: etcd and the contender on separate CPUs in every row but
# the 8-thread one), BENCH_PIN=same (one CPU for both), BENCH_PIN=0 (unpinned);
# BENCH_PART=v2 or v3: only that table (default: both); BENCH_ETCD35=0: no
# etcd 3.5.1 rows.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
smoke="${SMOKE:-}"
[ "$smoke" = 0 ] && smoke=""
export SMOKE="$smoke"

say() { echo "bench: $*" >&2; }
part="${BENCH_PART:-all}"
case "$part" in all|v2|v3) ;; *) say "BENCH_PART=$part: all, v2 or v3"; exit 2;; esac
want_v2=""; [ "$part" = v3 ] || want_v2=1
want_v3=""; [ "$part" = v2 ] || want_v3=1

# --- etcd -------------------------------------------------------------------
scripts/ensure-etcd.sh >/dev/null

# --- wrk ----------------------------------------------------------------------
if [ -n "$want_v2" ] && ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "wrk not found: installing Debian's wrk with apt-get..."
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y -qq --no-install-recommends wrk || { apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk; }; } >&2
  elif [ -n "$smoke" ]; then
    say "wrk is not installed (and this is not root with apt-get): the smoke run skips it"
  else
    cat >&2 <<'MSG'
bench: wrk is not installed, and this script cannot install it (it needs root and apt-get).
  On Debian/Ubuntu: sudo apt-get install wrk   (then run this again)
MSG
    exit 1
  fi
fi
export BENCH_WRK="$(command -v wrk || true)"

# --- protoc (etcd-client's build script compiles etcd's .proto files) --------
protoc_ok() {
  local d; d=$(mktemp -d "${TMPDIR:-/tmp}/etcdc-protoc.XXXXXX")
  printf 'syntax = "proto3";\nimport "google/protobuf/descriptor.proto";\nimport "google/protobuf/struct.proto";\n' >"$d/t.proto"
  "${PROTOC:-protoc}" -I"$d" --descriptor_set_out=/dev/null "$d/t.proto" >/dev/null 2>&1
  local rc=$?; rm -rf "$d"; return $rc
}
export BENCH_TONIC=""
if [ -n "$want_v3" ] && ! protoc_ok; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "protoc (with Google's .proto files) not found: installing Debian's protobuf-compiler and libprotobuf-dev with apt-get..."
    export DEBIAN_FRONTEND=noninteractive
    pkgs="protobuf-compiler libprotobuf-dev"
    { apt-get install -y -qq --no-install-recommends $pkgs || { apt-get update -qq && apt-get install -y -qq --no-install-recommends $pkgs; }; } >&2
  fi
  if ! protoc_ok; then
    if [ -n "$smoke" ]; then
      say "protoc is not installed (and this is not root with apt-get): the smoke run skips etcd-client (tonic)"
    else
      cat >&2 <<'MSG'
bench: protoc (with google/protobuf/descriptor.proto) is not installed, and this script cannot
  install it (it needs root and apt-get). The etcd-client crate's build script needs it.
  On Debian/Ubuntu: sudo apt-get install protobuf-compiler libprotobuf-dev   (then run this again)
  Or: BENCH_PART=v2 benches/run.sh   (the v2 table only)
MSG
      exit 1
    fi
  fi
fi

# --- builds -------------------------------------------------------------------
say "building (release)..."
cargo build --release --quiet
mkdir -p target/bench
cc_bin=target/bench/bench_c
if [ ! -x "$cc_bin" ] || [ benches/bench_c.c -nt "$cc_bin" ] || [ target/release/libetcdc.a -nt "$cc_bin" ] \
   || [ include/etcdc.h -nt "$cc_bin" ]; then
  ${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -Werror -Iinclude -o "$cc_bin" benches/bench_c.c \
    target/release/libetcdc.a -lpthread -ldl -lm -lrt
fi
export BENCH_C="$repo/$cc_bin"
# The bench binary `cargo bench --bench bench_rust -- ARGS` runs, built once
# and then called directly (cargo would add its own start-up to every run).
cargo bench --bench bench_rust --no-run --quiet
rust_bin=$(cargo bench --bench bench_rust --no-run --message-format=json --quiet |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "bench_rust" and m.get("executable"):
        print(m["executable"])')
[ -x "$rust_bin" ] || { say "could not build the Rust bench (cargo bench --bench bench_rust --no-run)"; exit 1; }
export BENCH_RUST="$rust_bin"
# The etcd-client (tonic) contender of the v3 rows: its own cargo project
# (never part of etcdc's build), locked to benches/etcd-client/Cargo.lock.
if [ -n "$want_v3" ] && protoc_ok; then
  CARGO_TARGET_DIR="$repo/target/bench/etcd-client" cargo build --release --locked --quiet \
    --manifest-path benches/etcd-client/Cargo.toml
  BENCH_TONIC="$repo/target/bench/etcd-client/release/bench-etcd-client"
  [ -x "$BENCH_TONIC" ] || { say "could not build benches/etcd-client"; exit 1; }
fi

# --- python-etcd venv ---------------------------------------------------------
# python-etcd 0.4.5 (2017) with the newest urllib3 and dnspython that were
# checked with it on Python 3.11; no shim is needed.
pins="python-etcd==0.4.5 urllib3==2.8.0 dnspython==2.9.2"
venv=target/bench-venv
export BENCH_PYTHON=""
venv_ok() {
  [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.pins" 2>/dev/null)" = "$pins" ] &&
    "$venv/bin/python" -c 'import etcd' 2>/dev/null
}
make_venv() {
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >&2; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "python3 -m venv failed: installing python3-venv with apt-get..."
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2 || return 1
      rm -rf "$venv"
      python3 -m venv "$venv" >&2 || return 1
    else
      return 1
    fi
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --timeout 20 --retries 2 $pins >&2 || return 1
  echo "$pins" > "$venv/.pins"
}
if [ -z "$want_v2" ]; then
  :  # the v3 rows need no Python
elif venv_ok || { say "making $venv ($pins)..."; make_venv && venv_ok; }; then
  export BENCH_PYTHON="$repo/$venv/bin/python"
elif [ -n "$smoke" ]; then
  say "could not make $venv with $pins: the smoke run skips python-etcd and the binding"
else
  say "could not make $venv with $pins (python3 -m venv, then pip from PyPI): see the messages above"
  exit 1
fi

# --- the Python binding (another part of the project; may not exist yet) ------
export BENCH_BINDING=0
if [ -n "$BENCH_PYTHON" ] && [ -f bindings/python/etcdc/__init__.py ] &&
   ETCDC_LIBRARY="$repo/target/release/libetcdc.so" PYTHONPATH="$repo/bindings/python" \
   "$BENCH_PYTHON" -c 'import etcdc; etcdc.library_path(); etcdc.Client' >/dev/null 2>&1; then
  export BENCH_BINDING=1
elif [ -n "$want_v2" ]; then
  say "the Python binding (bindings/python) is missing or does not import: its column is n/a"
fi

# The file system etcd's throwaway data dir lives on: it decides PUT speed.
export BENCH_DATA_FS="$(stat -f -c %T "${TMPDIR:-/tmp}" 2>/dev/null || echo unknown)"

# --- the v3 rows on etcd 3.5.1 (first: the last run prints the whole table) ---
export BENCH_V3_MORE="" BENCH_V3_NOTE=""
if [ -n "$want_v3" ] && [ "${BENCH_ETCD35:-1}" != 0 ]; then
  if etcd35=$(scripts/ensure-etcd35.sh); then
    out35=target/bench/v3-etcd35.json
    rm -f "$out35"
    say "$([ -n "$smoke" ] && echo "SMOKE run" || echo "full run"): the v3 rows on a throwaway etcd 3.5.1"
    # Its own table goes to the log; its rows (and errors) into $out35, read
    # by the run below, which fails if they are missing.
    ETCD_BIN="$etcd35/etcd" BENCH_PART=v3 BENCH_V3_OUT="$repo/$out35" \
      scripts/with-etcd.sh python3 benches/driver.py >&2 || true
    BENCH_V3_MORE="$repo/$out35"
  else
    say "etcd 3.5.1 is not available (scripts/ensure-etcd35.sh, above): no v3 rows on it"
    export BENCH_V3_NOTE="etcd 3.5.1: no rows (scripts/ensure-etcd35.sh could not provide it)"
  fi
fi

say "$([ -n "$smoke" ] && echo "SMOKE run" || echo "full run"): starting a throwaway etcd"
exec scripts/with-etcd.sh python3 benches/driver.py
