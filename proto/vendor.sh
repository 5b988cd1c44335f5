#!/usr/bin/env bash
# Usage: proto/vendor.sh ETCD_GIT GOGO_GIT GATEWAY_GIT
#
# Copies the .proto files etcdc is generated from, byte for byte, out of git
# clones of etcd-io/etcd, gogo/protobuf and grpc-ecosystem/grpc-gateway (any
# git dir: `git show TAG:PATH` is all it uses) into proto/, at the tags below.
# Then `make proto` regenerates src/v3/proto/. See proto/README.md.
set -euo pipefail

ETCD_TAG=v3.5.33       # etcd's v3.5 line
GOGO_TAG=v1.3.2        # what etcd v3.5 builds with (api/go.mod)
GATEWAY_TAG=v1.16.0    # what etcd v3.5 builds with (its third_party/googleapis)

[ $# = 3 ] || { sed -n '2,8p' "$0" >&2; exit 2; }
etcd=$1 gogo=$2 gateway=$3
here=$(cd "$(dirname "$0")" && pwd)

copy() { # git-dir tag source-path dest-path (under proto/)
  mkdir -p "$here/$(dirname "$4")"
  git -C "$1" show "$2:$3" >"$here/$4"
}

# etcd's files keep their path in the etcd repository under etcd/, the import
# root etcd's own scripts/genproto.sh uses ("etcd/api/mvccpb/kv.proto").
for p in api/etcdserverpb/rpc.proto api/mvccpb/kv.proto api/authpb/auth.proto \
         server/etcdserver/api/v3lock/v3lockpb/v3lock.proto \
         server/etcdserver/api/v3election/v3electionpb/v3election.proto LICENSE; do
  copy "$etcd" "$ETCD_TAG" "$p" "etcd/$p"
done
copy "$gogo" "$GOGO_TAG" gogoproto/gogo.proto gogoproto/gogo.proto
copy "$gogo" "$GOGO_TAG" LICENSE gogoproto/LICENSE
for p in google/api/annotations.proto google/api/http.proto LICENSE; do
  copy "$gateway" "$GATEWAY_TAG" "third_party/googleapis/$p" "google/${p#google/}"
done
mv "$here/google/LICENSE" "$here/google/api/LICENSE"

{
  echo "etcd-io/etcd $ETCD_TAG $(git -C "$etcd" rev-parse "$ETCD_TAG^{commit}")"
  echo "gogo/protobuf $GOGO_TAG $(git -C "$gogo" rev-parse "$GOGO_TAG^{commit}")"
  echo "grpc-ecosystem/grpc-gateway $GATEWAY_TAG $(git -C "$gateway" rev-parse "$GATEWAY_TAG^{commit}")"
  echo
  (cd "$here" && find etcd gogoproto google -type f | LC_ALL=C sort | xargs sha256sum)
} >"$here/SOURCES"
echo "proto/: vendored; now run: make proto" >&2
