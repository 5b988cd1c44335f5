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
# against the etcd-client crate (tonic), and the binding's etcdc.etcd3
# against python-etcd3 0.12.0 (benches/bench_python_etcd3.py), with etcd's
# CPU per request and the targets of issue 22, on that etcd and on a
# throwaway etcd 3.5.1 (scripts/ensure-etcd35.sh), one etcd at a time. Exits
# non-zero if any contender fails or does a different number of requests
# than etcd counted.
#
# Installs what it needs when missing: etcd (scripts/ensure-etcd.sh), etcd
# 3.5.1 (scripts/ensure-etcd35.sh), Debian's wrk and, for etcd-client's build
# script, protobuf-compiler and libprotobuf-dev (apt-get, as root),
# python-etcd 0.4.5 in the venv target/bench-venv (pip; for the v2 table) and
# python-etcd3 0.12.0 in target/bench-venv3 (pip, pinned grpcio and protobuf
# 3.20.3; for the v3 table), each made only for the table that needs it,
# again when its pins change. The binding runs under the venv's python with
# PYTHONPATH=bindings/python (it has no dependency).
# Builds: the release library, benches/bench_c.c (target/bench/bench_c), the
# Rust bench (cargo bench --bench bench_rust), benches/etcd-client (its own
# cargo project and Cargo.lock, built in ~/.cache/etcdc/etcd-client-target, run
# from target/bench/bench-etcd-client). The Python
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
# Built in the project's cache (BENCH_TONIC_TARGET to choose another
# directory), so that a fresh clone does not compile tonic and its
# dependencies again (about 3 minutes of `make test` on 2 cores); cargo
# rebuilds what changed. The program is copied into target/bench, so that a
# build from another clone does not replace it during a run.
if [ -n "$want_v3" ] && protoc_ok; then
  tonic_target="${BENCH_TONIC_TARGET:-${XDG_CACHE_HOME:-$HOME/.cache}/etcdc/etcd-client-target}"
  CARGO_TARGET_DIR="$tonic_target" cargo build --release --locked --quiet \
    --manifest-path benches/etcd-client/Cargo.toml
  BENCH_TONIC="$repo/target/bench/bench-etcd-client"
  cp "$tonic_target/release/bench-etcd-client" "$BENCH_TONIC.new" && mv "$BENCH_TONIC.new" "$BENCH_TONIC" ||
    { say "could not build benches/etcd-client (in $tonic_target)"; exit 1; }
fi

# --- the Python venvs ----------------------------------------------------------
# venv_ok VENV PINS MODULE: VENV exists, was made with exactly PINS (its
# .pins) and imports MODULE. make_venv VENV PINS: makes it afresh (pip, from
# PyPI; python3-venv with apt-get when root and it is missing).
venv_ok() {
  [ -x "$1/bin/python" ] && [ "$(cat "$1/.pins" 2>/dev/null)" = "$2" ] &&
    "$1/bin/python" -c "import $3" 2>/dev/null
}
make_venv() {
  rm -rf "$1"
  if ! python3 -m venv "$1" >&2; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "python3 -m venv failed: installing python3-venv with apt-get..."
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2 || return 1
      rm -rf "$1"
      python3 -m venv "$1" >&2 || return 1
    else
      return 1
    fi
  fi
  "$1/bin/python" -m pip install --quiet --disable-pip-version-check --timeout 20 --retries 2 $2 >&2 || return 1
  echo "$2" > "$1/.pins"
}
# want_venv VAR VENV PINS MODULE WHAT PART: sets VAR to VENV's python once it
# is ready (made if need be). If it cannot be made: a smoke run leaves VAR
# "" and says that it skips WHAT; a full run stops, pointing at
# BENCH_PART=PART (the table that needs no such venv).
want_venv() {
  if venv_ok "$2" "$3" "$4" || { say "making $2 ($3)..."; make_venv "$2" "$3" && venv_ok "$2" "$3" "$4"; }; then
    printf -v "$1" %s "$repo/$2/bin/python"
  elif [ -n "$smoke" ]; then
    say "could not make $2 with $3: the smoke run skips $5"
    printf -v "$1" %s ""
  else
    say "could not make $2 with $3 (python3 -m venv, then pip from PyPI): see the messages above"
    say "  (BENCH_PART=$6 benches/run.sh: the table that needs no $2)"
    exit 1
  fi
}

# python-etcd 0.4.5 (2017), for the v2 rows, with the newest urllib3 and
# dnspython that were checked with it on Python 3.11; no shim is needed.
export BENCH_PYTHON=""
if [ -n "$want_v2" ]; then
  want_venv BENCH_PYTHON target/bench-venv "python-etcd==0.4.5 urllib3==2.8.0 dnspython==2.9.2" \
    etcd "python-etcd and the binding" v3
fi

# python-etcd3 0.12.0 (2020), for the v3 rows; etcdc.etcd3 (the binding,
# no dependency) runs under the same python with PYTHONPATH=bindings/python.
# Its generated *_pb2 modules predate protobuf 4, which refuses them
# ("Descriptors cannot be created directly") unless
# PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python; protobuf 3.20.3, the last
# 3.x, imports them as they are, no variable needed. It has no compiled
# wheel for Python 3.11, so python-etcd3 parses with pure-Python protobuf
# (as it would on protobuf 4 with that variable): as its users on 3.11 run
# it. grpcio, tenacity, six, typing_extensions: the newest, checked with it
# (every v3 mode, counts exact against etcd's).
export BENCH_PYTHON3="" BENCH_BINDING3=0
if [ -n "$want_v3" ]; then
  want_venv BENCH_PYTHON3 target/bench-venv3 \
    "etcd3==0.12.0 grpcio==1.85.3 protobuf==3.20.3 tenacity==9.2.1 six==1.17.0 typing_extensions==4.16.0" \
    etcd3 "python-etcd3 and the binding's etcd3 module" v2
  # The binding's etcd3 module (another part of the project): "1" when it imports.
  if [ -n "$BENCH_PYTHON3" ] && [ -f bindings/python/etcdc/etcd3/__init__.py ] &&
     ETCDC_LIBRARY="$repo/target/release/libetcdc.so" PYTHONPATH="$repo/bindings/python" \
     "$BENCH_PYTHON3" -c 'import etcdc.etcd3; etcdc.etcd3.client' >/dev/null 2>&1; then
    BENCH_BINDING3=1
  elif [ -n "$BENCH_PYTHON3" ]; then
    say "the binding's etcdc.etcd3 (bindings/python) is missing or does not import: its v3 column is n/a"
  fi
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
