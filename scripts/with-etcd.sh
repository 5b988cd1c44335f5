#!/usr/bin/env bash
# Usage: scripts/with-etcd.sh COMMAND [ARGS...]
#
# Starts a throwaway etcd (v2 API enabled) on free loopback ports with a
# temporary data dir, runs COMMAND with ETCDC_ENDPOINT set to its client URL,
# then stops that etcd (by its pid) and removes the data dir. Exits with
# COMMAND's status.
set -euo pipefail

etcd_bin="$("$(dirname "$0")/ensure-etcd.sh")"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
client_port=$(free_port)
peer_port=$(free_port)
while [ "$peer_port" = "$client_port" ]; do peer_port=$(free_port); done
dir=$(mktemp -d "${TMPDIR:-/tmp}/etcdc-etcd.XXXXXX")
url="http://127.0.0.1:$client_port"
peer="http://127.0.0.1:$peer_port"

"$etcd_bin" --enable-v2=true --name n1 --data-dir "$dir/data" \
  --listen-client-urls "$url" --advertise-client-urls "$url" \
  --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
  --initial-cluster "n1=$peer" >"$dir/etcd.log" 2>&1 &
etcd_pid=$!
cleanup() {
  kill "$etcd_pid" 2>/dev/null || true
  wait "$etcd_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 200); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('$url/v2/keys/', timeout=1)" 2>/dev/null; then
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
