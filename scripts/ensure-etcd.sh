#!/usr/bin/env bash
# Makes sure an etcd 3.x server binary is available, installing Debian's
# etcd-server when it is missing and we can. Prints the binary's path.
# Honours ETCD_BIN (a path to an etcd binary you already have).
set -euo pipefail

etcd_bin="${ETCD_BIN:-etcd}"
if command -v "$etcd_bin" >/dev/null 2>&1; then
  command -v "$etcd_bin"
  exit 0
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "etcd not found: installing Debian's etcd-server with apt-get..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends etcd-server >&2
  # The package may start a system etcd on 2379; our tests use their own ports,
  # but stop it so it does not hold resources or the default port.
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now etcd >/dev/null 2>&1 || true; fi
  command -v etcd
  exit 0
fi

cat >&2 <<'MSG'
etcd is not installed, and this script cannot install it (it needs root and apt-get).
Do one of:
  - on Debian/Ubuntu:  sudo apt-get install etcd-server
  - download an etcd 3.4/3.5 release binary and run:  make test ETCD_BIN=/path/to/etcd
MSG
exit 1
