#!/usr/bin/env bash
# Makes sure the tools `make test` needs beside cargo are present: valgrind,
# a C and a C++ compiler, python3 (for free ports), dnsmasq (the DNS server of
# the SRV discovery tests). Installs them with apt-get when missing and
# possible; otherwise says what to install.
set -euo pipefail
missing=()
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v nm >/dev/null 2>&1 || missing+=(binutils)
# dnsmasq-base: the binary alone, no system service. In /usr/sbin, which is
# not on every user's PATH.
command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || missing+=(dnsmasq-base)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} with apt-get..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  exit 0
fi
echo "missing: ${missing[*]}; install them (e.g. sudo apt-get install ${missing[*]}) and re-run" >&2
exit 1
