#!/usr/bin/env bash
# Usage: scripts/with-etcd.sh COMMAND [ARGS...]
#
# Starts a throwaway etcd (v2 API enabled) on free loopback ports with a
# temporary data dir, runs COMMAND with ETCDC_ENDPOINT set to its client URL,
# then stops that etcd (by its pid) and removes the data dir. Exits with
# COMMAND's status.
#
# ETCD_TLS=1: the client port speaks https only, with a throwaway CA made by
# `openssl` and etcd's --client-cert-auth; COMMAND also gets ETCDC_CA_FILE,
# ETCDC_CERT_FILE and ETCDC_KEY_FILE (a client certificate from that CA).
set -euo pipefail

etcd_bin="$("$(dirname "$0")/ensure-etcd.sh")"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
client_port=$(free_port)
peer_port=$(free_port)
while [ "$peer_port" = "$client_port" ]; do peer_port=$(free_port); done
dir=$(mktemp -d "${TMPDIR:-/tmp}/etcdc-etcd.XXXXXX")
scheme=http
tls_flags=()
if [ "${ETCD_TLS:-0}" = 1 ]; then
  command -v openssl >/dev/null || { echo "ETCD_TLS=1 needs the openssl command (Debian: apt-get install openssl)" >&2; exit 2; }
  pki="$dir/pki"
  mkdir -p "$pki"
  ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -keyout "$pki/ca.key" -out "$pki/ca.pem" -days 2 -subj /CN=etcdc-test-ca 2>/dev/null
  issue() { # name, extensions
    openssl req "${ec[@]}" -keyout "$pki/$1.key" -out "$pki/$1.csr" -subj "/CN=$1" 2>/dev/null
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
      -out "$pki/$1.pem" -days 2 -extfile <(printf '%s\n' "$2") 2>/dev/null
  }
  issue server "subjectAltName=IP:127.0.0.1"
  issue client "extendedKeyUsage=clientAuth"
  scheme=https
  tls_flags=(--cert-file "$pki/server.pem" --key-file "$pki/server.key"
             --trusted-ca-file "$pki/ca.pem" --client-cert-auth)
  export ETCDC_CA_FILE="$pki/ca.pem" ETCDC_CERT_FILE="$pki/client.pem" ETCDC_KEY_FILE="$pki/client.key"
fi
url="$scheme://127.0.0.1:$client_port"
peer="http://127.0.0.1:$peer_port"

"$etcd_bin" --enable-v2=true --name n1 --data-dir "$dir/data" \
  --listen-client-urls "$url" --advertise-client-urls "$url" \
  --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
  --initial-cluster "n1=$peer" "${tls_flags[@]}" >"$dir/etcd.log" 2>&1 &
etcd_pid=$!
cleanup() {
  kill "$etcd_pid" 2>/dev/null || true
  wait "$etcd_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 200); do
  if python3 - "$url" <<'PY' 2>/dev/null
import os, ssl, sys, urllib.request
ctx = None
if os.environ.get("ETCDC_CA_FILE"):
    ctx = ssl.create_default_context(cafile=os.environ["ETCDC_CA_FILE"])
    ctx.load_cert_chain(os.environ["ETCDC_CERT_FILE"], os.environ["ETCDC_KEY_FILE"])
urllib.request.urlopen(sys.argv[1] + "/v2/keys/", timeout=1, context=ctx)
PY
  then
    break
  fi
  if ! kill -0 "$etcd_pid" 2>/dev/null; then
    echo "etcd exited at start-up; its log:" >&2; cat "$dir/etcd.log" >&2; exit 1
  fi
  sleep 0.1
done

echo "etcd $("$etcd_bin" --version | head -n1 | awk '{print $3}') on $url (pid $etcd_pid)" >&2
status=0
ETCDC_ENDPOINT="$url" "$@" || status=$?
exit $status
