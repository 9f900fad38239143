#!/usr/bin/env bash
# Regenerates the committed gRPC stubs from proto/: Go into core-go/gen, Python
# into python/src/porthole/rpc. One protoc (grpcio-tools, pinned in
# python/requirements.lock) and the Go plugins pinned as tools in core-go/go.mod,
# so the output is the same on every machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py="$root/.venv/bin/python"
plugins="$root/.cache/protoc-plugins"
mkdir -p "$plugins"
(cd "$root/core-go" && go build -o "$plugins/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go \
  && go build -o "$plugins/protoc-gen-go-grpc" google.golang.org/grpc/cmd/protoc-gen-go-grpc)

protos=$(cd "$root/proto" && find . -name '*.proto' | sed 's|^\./||' | sort)

rm -rf "$root/core-go/gen" && mkdir -p "$root/core-go/gen"
(cd "$root/proto" && "$py" -m grpc_tools.protoc -I . \
  --plugin=protoc-gen-go="$plugins/protoc-gen-go" \
  --plugin=protoc-gen-go-grpc="$plugins/protoc-gen-go-grpc" \
  --go_out="$root/core-go/gen" --go_opt=module=porthole/core-go/gen \
  --go-grpc_out="$root/core-go/gen" --go-grpc_opt=module=porthole/core-go/gen \
  $protos)

out="$root/python/src"
rm -rf "$out/porthole/rpc"
(cd "$root/proto" && "$py" -m grpc_tools.protoc -I . \
  --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" $protos)
# Regular packages so setuptools ships them.
find "$out/porthole/rpc" -type d -exec sh -c 'printf "" > "$1/__init__.py"' _ {} \;
echo "generated: $(echo $protos)"
